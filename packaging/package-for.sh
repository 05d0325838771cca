#!/usr/bin/env bash
# Prints the path of this tree's package for one Debian release,
# target/packages/SUITE/dhrotate_*.deb, built first
# (packaging/build-release.sh, its output on stderr) when it is missing.
#
#   packaging/package-for.sh SUITE
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: package-for.sh SUITE}
deb=$(ls target/packages/"$suite"/dhrotate_*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
  packaging/build-release.sh "$suite" >&2
  deb=$(ls target/packages/"$suite"/dhrotate_*.deb | head -n 1)
fi
readlink -f "$deb"
