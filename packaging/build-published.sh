#!/usr/bin/env bash
# Builds the last published version of dhrotate (packaging/published-versions)
# for one Debian release, from its own source: a git worktree of its commit,
# built by that commit's own packaging/build-release.sh. Built once: the
# packages are cached by commit, so CI does not build them again.
#
#   packaging/build-published.sh SUITE   -> prints the path of its .deb
#
# One build per OpenSSL ABI, not per release: bullseye's (libssl1.1) and
# bookworm's (libssl3), which trixie and unstable install as they are
# (their libssl3t64 provides libssl3 on 64-bit architectures). N's
# maintainer scripts and units are the same in every build, and they are
# what an upgrade test exercises; each release's own N+1 still comes from
# its own build root. This halves what a fresh machine builds before its
# first upgrade test (each build of N costs about as much as N+1's).
#
# DHROTATE_PUBLISHED_CACHE=dir keeps the cache elsewhere than
# /var/cache/dhrotate-tests/published. Needs what build-release.sh needs,
# and the published commit in this clone (git fetch --tags).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: build-published.sh SUITE}
case "$suite" in
  bullseye) ;;
  bookworm|trixie|sid|unstable) suite=bookworm ;;
  *) echo "build-published.sh: unknown suite $suite (bullseye, bookworm, trixie, sid)" >&2; exit 2 ;;
esac
read -r version commit < <(grep -v '^#' packaging/published-versions | awk 'NF == 2' | tail -n 1)
[ -n "${commit:-}" ] || { echo "build-published.sh: no version in packaging/published-versions" >&2; exit 1; }
out=${DHROTATE_PUBLISHED_CACHE:-/var/cache/dhrotate-tests/published}/$commit/$suite

if [ -e "$out/.complete" ]; then
  ls "$out"/dhrotate_*.deb
  exit 0
fi
git cat-file -e "$commit^{commit}" 2>/dev/null \
  || { echo "build-published.sh: commit $commit of $version is not in this clone (git fetch --tags)" >&2; exit 1; }
tree=/var/tmp/dhrotate-published-$commit
# Two releases' builds share the worktree (its target/source): one at a time.
exec 9> "$tree.lock"
flock 9
if [ ! -e "$tree/.git" ]; then
  rm -rf "$tree"
  git worktree prune
  git worktree add --detach "$tree" "$commit" >&2
fi
echo "== building the published $version (commit ${commit:0:12}) for $suite from its own source" >&2
# Its unit tests ran when it was published; its lintian run stays.
(cd "$tree" && DHROTATE_NOCHECK=1 DHROTATE_OUT="$out" packaging/build-release.sh "$suite") >&2
touch "$out/.complete"
ls "$out"/dhrotate_*.deb
