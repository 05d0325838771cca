#!/bin/sh
# The crate source of the offline build (called by debian/rules).
#
#   debian  a directory registry of Debian's crates (/usr/share/cargo/registry)
#           plus vendor/, Cargo.lock set aside (its versions are crates.io's)
#   vendored  vendor/ alone, Cargo.lock kept (the build is --locked)
#   report  lists each crate the build used: from Debian (with its package)
#           or vendored; writes the Static-Built-Using substitution
#   clean   undoes the above
set -eu
reg=debian/cargo-registry

# The semver series of name-version: name-MAJOR, or name-0.MINOR.
series() {
    echo "$1" | sed -E 's/^(.*)-(0\.[0-9]+|[1-9][0-9]*)\.[0-9].*$/\1-\2/'
}
replaced_by_vendor() {
    s=$(series "$1")
    for v in vendor/*/; do
        v=$(basename "$v")
        if [ "$(series "$v")" = "$s" ]; then echo "$v"; return; fi
    done
}
case "$1" in
debian|vendored)
    rm -rf "$reg" debian/cargo-home
    mkdir -p "$reg" debian/cargo-home
    if [ "$1" = debian ]; then
        # A vendored crate stands in for Debian's of the same semver series
        # (name-MAJOR.* or name-0.MINOR.*), which cargo would otherwise prefer
        # as the higher version.
        for d in /usr/share/cargo/registry/*/; do
            c=$(basename "$d")
            if [ -n "$(replaced_by_vendor "$c")" ]; then
                echo "Debian's $c: replaced by vendor/$(replaced_by_vendor "$c")"
                continue
            fi
            ln -s "${d%/}" "$reg/"
        done
        if [ -f Cargo.lock ]; then mv Cargo.lock debian/Cargo.lock.upstream; fi
    fi
    for d in vendor/*/; do
        [ -d "$d" ] || continue
        ln -s "$PWD/${d%/}" "$reg/"
    done
    cat > debian/cargo-home/config.toml <<TOML
[source.crates-io]
replace-with = "dhrotate-offline"

[source.dhrotate-offline]
directory = "$PWD/$reg"

[net]
offline = true
TOML
    ;;
report)
    used=$(awk '/^\[\[package\]\]/ { pkg = 1; next }
                pkg && /^name = / { n = $3 }
                pkg && /^version = / { v = $3; gsub(/"/, "", n); gsub(/"/, "", v)
                                      if (n != "dhrotate") print n "-" v; pkg = 0 }' Cargo.lock)
    sbu=""
    echo "crates used by this build (name-version: origin):"
    for c in $used; do
        if [ -d "vendor/$c" ]; then
            echo "  $c: vendored"
        elif [ -e "$reg/$c" ]; then
            pkg=$(dpkg -S "$(readlink -f "$reg/$c")" 2>/dev/null | head -n 1 | cut -d: -f1)
            ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
            echo "  $c: /usr/share/cargo/registry ($pkg $ver)"
            case ",$sbu," in *",$pkg (= $ver),"*) ;; *) sbu="${sbu:+$sbu, }$pkg (= $ver)" ;; esac
        else
            echo "  $c: NOT FOUND" >&2
            exit 1
        fi
    done
    echo "cargo:Static-Built-Using=$sbu" >> debian/dhrotate.substvars
    ;;
clean)
    rm -rf "$reg" debian/cargo-home
    if [ -f debian/Cargo.lock.upstream ]; then mv debian/Cargo.lock.upstream Cargo.lock; fi
    ;;
*)
    echo "usage: $0 debian|vendored|report|clean" >&2
    exit 2
    ;;
esac
