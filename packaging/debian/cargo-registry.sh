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
    # Registry entries by the name and version in their Cargo.toml (a
    # Debian directory may be called e.g. heck-0.5.0-1+really0.5.0).
    index=$(for d in "$reg"/*/; do
        awk -v dir="${d%/}" '/^\[/ { pkg = ($0 == "[package]") } pkg && /^name *=/ { gsub(/[" ]/, "", $0); sub(/^name=/, ""); n = $0 }
             pkg && /^version *=/ { gsub(/[" ]/, "", $0); sub(/^version=/, ""); v = $0 }
             END { print n "-" v " " dir }' "$d/Cargo.toml"
    done)
    used=$(awk '/^\[\[package\]\]/ { pkg = 1; next }
                pkg && /^name = / { n = $3 }
                pkg && /^version = / { v = $3; gsub(/"/, "", n); gsub(/"/, "", v)
                                      if (n != "dhrotate") print n "-" v; pkg = 0 }' Cargo.lock)
    sbu=""
    echo "crates used by this build (name-version: origin):"
    for c in $used; do
        dir=$(echo "$index" | awk -v c="$c" '$1 == c { print $2; exit }')
        if [ -z "$dir" ]; then
            echo "  $c: NOT FOUND in $reg" >&2
            exit 1
        fi
        real=$(readlink -f "$dir")
        case "$real" in
        "$PWD"/vendor/*)
            echo "  $c: vendored" ;;
        *)
            pkg=$(dpkg -S "$real" 2>/dev/null | head -n 1 | cut -d: -f1)
            ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
            if [ -z "$pkg" ] || [ -z "$ver" ]; then
                echo "  $c: $real belongs to no installed package" >&2
                exit 1
            fi
            echo "  $c: /usr/share/cargo/registry ($pkg $ver)"
            case ",$sbu," in *",$pkg (= $ver),"*) ;; *) sbu="${sbu:+$sbu, }$pkg (= $ver)" ;; esac ;;
        esac
    done
    # dh_prep empties debian/*.substvars before the binary step: rules
    # hands this to dh_gencontrol then.
    echo "cargo:Static-Built-Using=$sbu" > debian/cargo-static-built-using
    ;;
clean)
    rm -rf "$reg" debian/cargo-home debian/cargo-static-built-using
    if [ -f debian/Cargo.lock.upstream ]; then mv debian/Cargo.lock.upstream Cargo.lock; fi
    ;;
*)
    echo "usage: $0 debian|vendored|report|clean" >&2
    exit 2
    ;;
esac
