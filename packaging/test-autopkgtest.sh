#!/usr/bin/env bash
# Runs the package's autopkgtest (debian/tests) against one release's
# package, in a booted throwaway Debian of that release (systemd as PID 1,
# no network; tests/system/lib.sh), with autopkgtest's null runner inside
# it: the container is the disposable testbed.
#
#   packaging/test-autopkgtest.sh SUITE   -> target/autopkgtest/SUITE/
#
# Needs root, systemd-nspawn and the release's root filesystem
# (tests/system/rootfs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/system/lib.sh
suite=${1:?usage: test-autopkgtest.sh SUITE}
[ "$(id -u)" -eq 0 ] || { echo "test-autopkgtest.sh: needs root" >&2; exit 1; }
deb=$(packaging/package-for.sh "$suite")
rootfs=$(tests/system/rootfs.sh "$suite")
work=/var/tmp/dhrotate-autopkgtest-$suite-$$
out=$PWD/target/autopkgtest/$suite
trap 'ct_halt "$work"' EXIT
# autopkgtest, and dpkg-dev, with which it reads the source tree.
CT_DOWNLOAD="autopkgtest dpkg-dev" ct_prepare "$rootfs" "$work" "$deb"
mkdir -p "$work/root/root/src"
cp -a packaging/debian "$work/root/root/src/debian"
ct_boot "dha-$suite-$$" "$work" || { echo "test-autopkgtest.sh: could not boot $suite (above)" >&2; exit 1; }
ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq autopkgtest dpkg-dev > /dev/null
echo "== autopkgtest $(ct dpkg-query -W -f='${Version}' autopkgtest) on $suite: $(basename "$deb")"
rc=0
ct autopkgtest --output-dir /root/out /root/dhrotate.deb /root/src/ -- null || rc=$?
rm -rf "$out"; mkdir -p "$(dirname "$out")"
cp -a "$work/root/root/out" "$out"
sed 's/^/   /' "$out/summary"
# 0: all passed; 2: some skipped; anything else failed.
[ "$rc" -eq 0 ] || { tail -n 40 "$out/log"; echo "test-autopkgtest.sh: autopkgtest failed on $suite (exit $rc, log: $out/log)" >&2; exit 1; }
echo "autopkgtest ($suite): all tests passed"
