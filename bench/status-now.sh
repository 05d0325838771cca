#!/usr/bin/env bash
# `status` (two groups, two listeners; with and without a guideline) and
# `now` (named mode, and explicit with a warm pool) on a private Postfix,
# each beside what it cannot avoid in the same run (the postconf and
# postfix calls, one TLS handshake per listener with `openssl s_client`),
# as a ratio; median and spread over RUNS runs (default 11). With REV,
# the release build of that revision is timed the same way, in the same
# run (e.g. the commit before the verdict cache: 81933a4).
#
#   bench/status-now.sh [REV]      (as root, Postfix installed)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
  rev=$(git rev-parse --verify "$1^{commit}")
  tree=/var/tmp/dhrotate-bench-$rev
  [ -d "$tree" ] || git worktree add --detach "$tree" "$rev" > /dev/null
  (cd "$tree" && cargo build --release --quiet)
  export BEFORE=$tree/target/release/dhrotate
fi
cargo test --release --quiet --test bench_paths -- --ignored --nocapture 2>&1 |
  grep -v '^running\|^test \|^$'
