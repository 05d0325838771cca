#!/usr/bin/env bash
# piuparts on one release's package: the install/purge test, and the
# upgrade from the last published version N (from dhrotate's signed apt
# repository, given to piuparts as an extra repository) to this tree's N+1.
# piuparts builds its own chroot and never runs systemd there, so this
# covers the maintainer scripts' path without systemd.
#
#   packaging/test-piuparts.sh SUITE   -> target/piuparts/SUITE.log
#
# The chroot piuparts starts from is cached for a week in
# /var/cache/dhrotate-tests/piuparts (DHROTATE_PIUPARTS_CACHE). The mirror
# is this machine's own (packaging/mirror.sh). Needs root and piuparts.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: test-piuparts.sh SUITE}
[ "$(id -u)" -eq 0 ] || { echo "test-piuparts.sh: needs root" >&2; exit 1; }
command -v piuparts >/dev/null || { echo "test-piuparts.sh: piuparts is missing (scripts/test.sh installs it)" >&2; exit 1; }

new=$(packaging/package-for.sh "$suite")
old=$(packaging/build-published.sh "$suite")
mirror=$(packaging/mirror.sh main)
mkdir -p target/piuparts
log=$PWD/target/piuparts/$suite.log

# N in a signed repository, as users get it; the key is a throwaway one.
work=$(mktemp -d /var/tmp/dhrotate-piuparts-XXXXXX)
trap 'rm -rf "$work"' EXIT
export DHROTATE_REPO_GNUPGHOME=$work/gnupg
DHROTATE_REPO_KEY=$(packaging/throwaway-key.sh "$DHROTATE_REPO_GNUPGHOME")
export DHROTATE_REPO_KEY
packaging/apt-repo.sh "$work/repo" "file://$work/repo" "$suite=$old" > /dev/null

cache=${DHROTATE_PIUPARTS_CACHE:-/var/cache/dhrotate-tests/piuparts}
base=$cache/$suite.tar.gz
mkdir -p "$cache"
basearg=(-b "$base")
if [ ! -s "$base" ] || [ -n "$(find "$base" -mtime +7)" ]; then
  rm -f "$base"
  basearg=(-s "$base")
fi

# Leftovers after purge fail the test. The one path ignored is debconf's:
# trixie's debconf leaves its empty /var/cache/debconf/tmp.ci/ behind after
# the dependencies are purged, owned by no package, dhrotate or other.
echo "== piuparts $(piuparts --version 2>/dev/null | awk '{print $2}') on $suite: install/purge of $(basename "$new"), upgrade from $(dpkg-deb -f "$old" Version) (log: $log)"
rc=0
rm -f "$log"  # piuparts appends to its log
piuparts -d "$suite" -m "$mirror" "${basearg[@]}" \
  --bindmount="$work/repo" \
  --extra-repo="deb [signed-by=$work/repo/dhrotate-archive-keyring.pgp] file://$work/repo $suite main" \
  -i /var/cache/debconf/tmp.ci/ \
  -l "$log" "$new" > /dev/null 2>&1 || rc=$?
grep -E '^[0-9ms.]+ (INFO|ERROR|FAIL|WARN)' "$log" \
  | grep -E 'PASS|FAIL|ERROR|WARN|Installation of|apt-cache|Setting up dhrotate|Running adequate' \
  | sed 's/^/   /' | head -n 40
grep -E '^  (Setting up|Unpacking) dhrotate ' "$log" | sed 's/^/   /' | head -n 8
[ "$rc" -eq 0 ] || { tail -n 40 "$log"; echo "test-piuparts.sh: piuparts failed on $suite (log: $log)" >&2; exit 1; }
grep -q 'PASS: All tests' "$log" || { echo "test-piuparts.sh: piuparts did not report PASS (log: $log)" >&2; exit 1; }
grep -q "Unpacking dhrotate ($(dpkg-deb -f "$old" Version))" "$log" \
  || { echo "test-piuparts.sh: the upgrade test did not install $(dpkg-deb -f "$old" Version) from the repository first" >&2; exit 1; }
echo "piuparts ($suite): PASS"
