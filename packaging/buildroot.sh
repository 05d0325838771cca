#!/usr/bin/env bash
# Builds (once) a clean build root per Debian release for
# packaging/build-release.sh: debootstrap --variant=minbase, then
# build-essential, debhelper, libssl-dev, pkgconf, lintian and the
# release's own Rust compiler where it has one that builds dhrotate
# (trixie and later: rustc; bookworm: rustc-web from its updates; bullseye:
# none, the build mounts a toolchain in). The mirror is read from this
# machine's apt sources.
#
#   packaging/buildroot.sh SUITE [CACHE_DIR]   -> prints the root's path
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: buildroot.sh SUITE [CACHE_DIR]}
cache=${2:-${DHROTATE_ROOTFS_CACHE:-/var/lib/machines}}
root="$cache/dhrotate-build-$suite"
stamp="$root/.dhrotate-buildroot-ok"
# Bump when the package list below changes, so cached roots are rebuilt.
recipe=2

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ]; then
  echo "$root"
  exit 0
fi
case "$suite" in
  bullseye) compiler=() ;;
  bookworm) compiler=(rustc-web cargo-web) ;;
  *) compiler=(rustc cargo) ;;
esac
url=$(packaging/mirror.sh main)
security=$(packaging/mirror.sh security 2>/dev/null || true)
mkdir -p "$cache"
rm -rf "$root"
echo "buildroot.sh: debootstrap $suite from $url into $root" >&2
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$url" >&2 \
  || { echo "buildroot.sh: debootstrap $suite failed" >&2; tail -n 30 "$root/debootstrap/debootstrap.log" >&2 || true; exit 1; }
{
  echo "deb $url $suite main"
  case "$suite" in
    sid|unstable) ;;
    *) echo "deb $url $suite-updates main"
       [ -n "$security" ] && echo "deb $security $suite-security main" ;;
  esac
} > "$root/etc/apt/sources.list"
# An unstable mirror may serve a Release file past its Valid-Until; the
# signatures are still checked.
echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/50dhrotate-valid-until"
echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/50dhrotate-no-recommends"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get -qq -o Acquire::Retries=3 update >&2
in_root apt-get install -y -qq build-essential debhelper dpkg-dev libssl-dev pkgconf lintian "${compiler[@]}" >&2
case "$suite" in
  sid|unstable)
    # Debian's crates, ahead of the build (which checks them again): the
    # download then overlaps other work.
    mkdir -p "$root/tmp/dhrotate-bd/debian"
    cp packaging/debian/control "$root/tmp/dhrotate-bd/debian/"
    in_root apt-get build-dep -y -qq /tmp/dhrotate-bd >&2
    rm -rf "$root/tmp/dhrotate-bd" ;;
esac
in_root apt-get clean
echo "$recipe" > "$stamp"
echo "$root"
