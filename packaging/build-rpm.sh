#!/usr/bin/env bash
# Builds the source RPM and the RPM from source, as an RPM distribution's
# builder would: Source0 is the release tarball (git archive of HEAD),
# Source1 every crate vendored at Cargo.lock's versions; %build is offline
# and %check runs the unit tests.
#
#   packaging/build-rpm.sh   -> target/rpm/SRPMS/*.src.rpm, target/rpm/RPMS/*/*.rpm
#
# This machine is Debian: rpm's build dependencies cannot be checked
# (--nodeps) and Fedora's systemd macros are stood in for by
# packaging/rpm/macros.debian-host. Installing the RPM on an RPM
# distribution cannot be done from here.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^Version: *//p' packaging/rpm/dhrotate.spec)
packaging/rpm/bundled.py --check
top=$PWD/target/rpm
rm -rf "$top"; mkdir -p "$top/SOURCES"
git archive --format=tar.gz --prefix="dhrotate-$version/" -o "$top/SOURCES/dhrotate-$version.tar.gz" HEAD
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cargo vendor --locked --versioned-dirs --quiet "$work/vendor" > /dev/null
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$work" -cJf "$top/SOURCES/dhrotate-$version-vendor.tar.xz" vendor
rpmbuild -ba --nodeps packaging/rpm/dhrotate.spec \
  --define "_topdir $top" \
  --load packaging/rpm/macros.debian-host
