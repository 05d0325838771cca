#!/usr/bin/env bash
# Builds dhrotate's package for one Debian release in that release's own
# clean build root, offline, from the source package, and checks it with
# that release's lintian:
#
#   packaging/build-release.sh SUITE      -> target/packages/SUITE/*.deb
#
#   sid, unstable  Debian's rustc and cargo, Debian's crates (librust-*-dev,
#                  /usr/share/cargo/registry) and the vendor component: the
#                  archive's way; version as in debian/changelog
#   trixie         trixie's own rustc (1.85), every crate vendored at
#                  Cargo.lock's versions (build profile pkg.dhrotate.vendored);
#                  version ~deb13
#   bookworm       bookworm's rustc-web and cargo-web (its rustc, 1.63, is too
#                  old for edition 2024), vendored; ~deb12
#   bullseye       no Debian compiler there builds edition 2024 (rustc 1.48,
#                  rustc-web 1.78): the project's pinned toolchain (this
#                  machine's rustup one, `rustc --print sysroot`) is mounted
#                  in read-only; bullseye's glibc, libssl1.1 and headers;
#                  vendored; ~deb11. RHEL 8/9-era builds would go this way.
#
# DHROTATE_BUILD_DIR=/path builds in that directory inside the root and
# DHROTATE_OUT=dir writes there instead (the reproducibility test builds
# twice); DHROTATE_NOCHECK=1 skips the unit tests; DHROTATE_NOLINT=1 skips
# lintian (a second build of a package lintian already checked). Needs root,
# debootstrap, systemd-nspawn, dpkg-dev, debhelper and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
suite=${1:?usage: build-release.sh SUITE}
case "$suite" in
  sid|unstable) tag=""; profile=""; rel="unstable" ;;
  trixie) tag="~deb13"; profile=pkg.dhrotate.vendored; rel="Debian 13 (trixie)" ;;
  bookworm) tag="~deb12"; profile=pkg.dhrotate.vendored; rel="Debian 12 (bookworm)" ;;
  bullseye) tag="~deb11"; profile=pkg.dhrotate.vendored; rel="Debian 11 (bullseye)" ;;
  *) echo "build-release.sh: unknown suite $suite (bullseye, bookworm, trixie, sid)" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "build-release.sh: needs root (debootstrap, systemd-nspawn)" >&2; exit 1; }

dsc=$(packaging/build-source.sh)
srcdir=$(dirname "$dsc")
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
upstream=${version%-*}
root=$(packaging/buildroot.sh "$suite")
out=$(readlink -m "${DHROTATE_OUT:-$top/target/packages/$suite}")
work=/var/tmp/dhrotate-build-$suite-$$
build=${DHROTATE_BUILD_DIR:-/build/dhrotate-$upstream}
trap 'rm -rf "$work"' EXIT
rm -rf "$work"; mkdir -p "$work"
cp -a --reflink=auto "$root" "$work/root"
mkdir -p "$work/root/build/src" "$(dirname "$work/root$build")"
cp "$srcdir"/* "$work/root/build/src/"

in_root() { chroot "$work/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root dpkg-source -x "/build/src/$(basename "$dsc")" "$build" > /dev/null

if [ -n "$profile" ]; then
  # Every crate at Cargo.lock's version, vendored (cargo vendor, cached by
  # the lock file's hash), in place of the source's vendor component.
  key=$(sha256sum Cargo.lock | cut -c1-16)
  full=$top/target/vendor-full-$key
  if [ ! -d "$full" ]; then
    rm -rf "$full.tmp"
    cargo vendor --locked --versioned-dirs --quiet "$full.tmp" > /dev/null
    mv "$full.tmp" "$full"
  fi
  rm -rf "$work/root$build/vendor"
  cp -a "$full" "$work/root$build/vendor"
  # The release's own version, below the next release's and unstable's.
  entry=$(mktemp)
  {
    echo "dhrotate ($version$tag) $suite; urgency=medium"
    echo
    echo "  * Build for $rel."
    echo
    dpkg-parsechangelog -l packaging/debian/changelog -S Maintainer | sed 's/^/ -- /' | tr -d '\n'
    # One second after the entry it follows: a changelog entry must be newer
    # (lintian), and the build stays dated by the changelog alone.
    echo "  $(date -u -R -d "@$(( $(dpkg-parsechangelog -l packaging/debian/changelog -S Timestamp) + 1 ))")"
    echo
    cat "$work/root$build/debian/changelog"
  } > "$entry"
  mv "$entry" "$work/root$build/debian/changelog"
fi
# The build dependencies debian/control names for this profile, from the
# release's archive: the only step with network.
in_root apt-get -qq -o Acquire::Retries=3 update >&2
in_root apt-get -y -qq ${profile:+-P "$profile"} build-dep "$build" >&2

nspawn=(systemd-nspawn --quiet --register=no --keep-unit --private-network -D "$work/root" --chdir="$build")
path=/usr/sbin:/usr/bin:/sbin:/bin
case "$suite" in
  bullseye)
    sysroot=$(rustc --print sysroot)
    nspawn+=(--bind-ro="$sysroot:/opt/rust")
    path=/opt/rust/bin:$path ;;
  bookworm)
    # rustc-web installs its compiler beside the archive's under another name.
    path=$(in_root sh -c 'dirname "$(dpkg -L cargo-web | grep -E "/bin/cargo$" | head -n 1)"'):$path ;;
esac
export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
rm -rf "$out"; mkdir -p "$out"
log=$out/build.log
echo "== $suite: building $version$tag in a clean $suite root, offline (log: $log)"
if ! "${nspawn[@]}" env -i PATH="$path" LC_ALL=C.UTF-8 HOME=/nonexistent \
    DEB_BUILD_PROFILES="$profile" DEB_BUILD_OPTIONS="parallel=$(nproc)${DHROTATE_NOCHECK:+ nocheck}" \
    dpkg-buildpackage -b -us -uc > "$log" 2>&1; then
  tail -n 60 "$log"
  echo "build-release.sh: the $suite build failed (log: $log)" >&2
  exit 1
fi
grep -E '^(rustc|cargo) [0-9]' "$log" | sed "s/^/   $suite compiler: /"
(
  cd "$work/root$(dirname "$build")"
  cp ./*.deb ./*.changes ./*.buildinfo "$out/"
  cp ./*.ddeb "$out/" 2>/dev/null || true
)
if [ -z "${DHROTATE_NOLINT:-}" ]; then
  echo "== $suite: lintian (the release's own, $(in_root lintian --version))"
  cp "$srcdir"/* "$work/root/build/src/"
  lint=(/build/src/"$(basename "$out"/*.changes)")
  cp "$out"/*.changes "$out"/*.buildinfo "$out"/*.deb "$work/root/build/src/"
  cp "$out"/*.ddeb "$work/root/build/src/" 2>/dev/null || true
  if [ -z "$profile" ]; then
    lint+=("/build/src/$(basename "$dsc")" "/build/src/$(basename "${dsc%.dsc}")_source.changes")
  fi
  if ! "${nspawn[@]}" --chdir=/build/src lintian --info --display-info --fail-on error,warning "${lint[@]}" > "$out/lintian.txt" 2>&1; then
    cat "$out/lintian.txt"
    echo "build-release.sh: lintian found errors or warnings in the $suite build" >&2
    exit 1
  fi
  sed 's/^/   /' "$out/lintian.txt"
fi
for f in "$out"/*.deb; do echo "   $(sha256sum "$f" | sed "s|$out/||")"; done
