#!/usr/bin/env bash
# Builds target/rpm/RPMS/<arch>/dhrotate-*.rpm with rpmbuild from the spec
# file (package `rpm` on Debian), after packaging/assets.sh.
#
#   packaging/build-rpm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/assets.sh
top=$PWD/target/rpm
rm -rf "$top"; mkdir -p "$top"
# Debian's rpm has no systemd macro file: give the paths the spec uses.
rpmbuild -bb packaging/rpm/dhrotate.spec \
  --define "_topdir $top" \
  --define "_sourcedir $PWD" \
  --define "_unitdir /usr/lib/systemd/system" \
  --define "_presetdir /usr/lib/systemd/system-preset" \
  --define "_licensedir /usr/share/licenses"
