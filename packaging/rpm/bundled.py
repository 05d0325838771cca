#!/usr/bin/env python3
"""Writes the crates statically linked into dhrotate into the RPM spec,
between its '# bundled crates: begin' and '# bundled crates: end' lines:
one `Provides: bundled(crate(NAME)) = VERSION` each, and the License
expression covering dhrotate and every one of them (what Fedora's
%cargo_license_summary gives). The list is what `cargo tree` says the
Linux binary links (no build scripts, no proc macros, no dev-deps), at
Cargo.lock's versions.

    packaging/rpm/bundled.py [--check]   (--check: fail if the spec is stale)
"""
import re
import subprocess
import sys

SPEC = "packaging/rpm/dhrotate.spec"
OWN = "MIT OR Apache-2.0"


def crates():
    out = subprocess.run(
        ["cargo", "tree", "--locked", "--offline", "-e", "no-build,no-dev,no-proc-macro",
         "--target", "x86_64-unknown-linux-gnu", "--prefix", "none", "-f", "{p}\t{l}"],
        check=True, capture_output=True, text=True).stdout
    seen = {}
    for line in out.splitlines():
        if not line.strip() or line.endswith("(*)"):
            continue
        pkg, _, lic = line.partition("\t")
        name, version = pkg.split()[0], pkg.split()[1].lstrip("v")
        if name != "dhrotate":
            seen[(name, version)] = lic.strip().replace("/", " OR ")
    return sorted(seen.items())


def block(items):
    licenses = sorted({lic for _, lic in items if lic and lic != OWN})
    expr = " AND ".join([f"({OWN})"] + [f"({l})" if " OR " in l else l for l in licenses])
    lines = ["# bundled crates: begin (packaging/rpm/bundled.py writes this part)",
             f"License:        {expr}"]
    lines += [f"Provides:       bundled(crate({n})) = {v}" for (n, v), _ in items]
    lines.append("# bundled crates: end")
    return "\n".join(lines)


def main():
    spec = open(SPEC).read()
    pattern = re.compile(r"# bundled crates: begin.*?# bundled crates: end", re.S)
    new = pattern.sub(lambda _: block(crates()), spec)
    if "--check" in sys.argv:
        if new != spec:
            sys.exit(f"{SPEC}: the bundled crates are stale; run packaging/rpm/bundled.py")
        return
    open(SPEC, "w").write(new)


main()
