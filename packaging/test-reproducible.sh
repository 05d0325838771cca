#!/usr/bin/env bash
# Builds one release's package twice from the same source package, in two
# different build directories at two different times, and compares the
# .debs byte for byte (SOURCE_DATE_EPOCH comes from debian/changelog, build
# paths are remapped). The first build is the one in target/packages/SUITE
# (made if missing); the second skips the unit tests (nocheck), which do
# not change what is packaged, and lintian, which checked the first.
#
#   packaging/test-reproducible.sh [SUITE]     (default: sid)
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-sid}
if ! ls target/packages/"$suite"/dhrotate_*.deb > /dev/null 2>&1; then
  packaging/build-release.sh "$suite"
fi
first=target/repro/first
rm -rf target/repro; mkdir -p "$first"
cp target/packages/"$suite"/*.deb "$first/"
DHROTATE_BUILD_DIR=/build/elsewhere/a-longer-path/dhrotate DHROTATE_NOCHECK=1 DHROTATE_NOLINT=1 \
  DHROTATE_OUT=target/repro/second packaging/build-release.sh "$suite" > target/repro/second.log 2>&1 \
  || { tail -n 40 target/repro/second.log; exit 1; }
status=0
for f in "$first"/*.deb; do
  g=target/repro/second/$(basename "$f")
  a=$(sha256sum < "$f" | cut -d' ' -f1)
  b=$(sha256sum < "$g" | cut -d' ' -f1)
  echo "$(basename "$f")"
  echo "  first build:  $a"
  echo "  second build: $b"
  if [ "$a" != "$b" ]; then
    status=1
    echo "  DIFFERENT: the two builds do not match"
    if command -v diffoscope > /dev/null; then diffoscope "$f" "$g" | head -n 60 || true; fi
  fi
done
[ "$status" -eq 0 ] && echo "reproducible: the $suite .debs of two builds are byte-identical"
exit "$status"
