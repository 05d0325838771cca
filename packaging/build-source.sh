#!/usr/bin/env bash
# Builds the Debian source package (3.0 (quilt)) from the committed tree:
#
#   packaging/build-source.sh        -> target/source/dhrotate_VERSION.dsc
#
# dhrotate_UPSTREAM.orig.tar.xz         git archive of HEAD (what upstream
#                                       would publish as its release tarball)
# dhrotate_UPSTREAM.orig-vendor.tar.xz  the crates Debian lacks
#                                       (packaging/debian/vendored-crates), at
#                                       Cargo.lock's versions
# dhrotate_VERSION.debian.tar.xz        packaging/debian/
#
# debian/ lives in packaging/debian/, not at the top: the upstream tarball
# then carries no debian/ of its own to clash with a Debian maintainer's
# (Debian's advice to upstreams), and the same tree serves the RPM spec.
# Everything is dated from debian/changelog (SOURCE_DATE_EPOCH), so two runs
# on the same commit give byte-identical files. Needs git, cargo (to vendor,
# with network or a filled cargo cache), dpkg-dev and debhelper.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
upstream=${version%-*}
cargo_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
if [ "$upstream" != "$cargo_version" ]; then
  echo "build-source.sh: packaging/debian/changelog is at $upstream, Cargo.toml at $cargo_version; add a changelog entry" >&2
  exit 2
fi
export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l packaging/debian/changelog -S Timestamp)
if ! git diff --quiet HEAD -- . 2>/dev/null; then
  echo "build-source.sh: note: uncommitted changes are not in the source package (git archive HEAD)" >&2
fi

out=$top/target/source
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarxz() { # tarxz OUT DIR-IN-CWD: a tarball that depends only on the files
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
      --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
      -cf - "$2" | xz -6 -T1 > "$1"
}

git archive --format=tar --prefix="dhrotate-$upstream/" HEAD | xz -6 -T1 \
  > "$work/dhrotate_$upstream.orig.tar.xz"

# The vendor component: cargo vendor of Cargo.lock, then only the listed crates.
cargo vendor --locked --versioned-dirs --quiet "$work/all-crates" > /dev/null
mkdir -p "$work/v/vendor"
while read -r name; do
  case "$name" in ''|'#'*) continue ;; esac
  found=0
  for d in "$work/all-crates/$name"-[0-9]*; do
    [ -d "$d" ] || continue
    cp -a "$d" "$work/v/vendor/"
    found=1
  done
  [ "$found" = 1 ] || { echo "build-source.sh: $name (packaging/debian/vendored-crates) is not in Cargo.lock" >&2; exit 2; }
done < packaging/debian/vendored-crates
(cd "$work/v" && tarxz "$work/dhrotate_$upstream.orig-vendor.tar.xz" vendor)

# Unpack the way dpkg-source will, add debian/, build the source package.
mkdir -p "$work/dhrotate-$upstream"
tar -xJf "$work/dhrotate_$upstream.orig.tar.xz" -C "$work"
cp -a "$work/v/vendor" "$work/dhrotate-$upstream/vendor"
cp -a packaging/debian "$work/dhrotate-$upstream/debian"
(cd "$work/dhrotate-$upstream" && dpkg-buildpackage -S -d -us -uc -nc --source-option=--tar-ignore=.git > "$work/build.log" 2>&1) \
  || { cat "$work/build.log" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
cp "$work"/dhrotate_"$upstream".orig*.tar.xz "$work"/dhrotate_"$version".debian.tar.xz \
   "$work"/dhrotate_"$version".dsc "$work"/dhrotate_"$version"_source.changes \
   "$work"/dhrotate_"$version"_source.buildinfo "$out/"
echo "$out/dhrotate_$version.dsc"
echo "vendored: $(cd "$work/v/vendor" && echo *)" >&2
