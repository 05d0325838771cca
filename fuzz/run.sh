#!/usr/bin/env bash
# Runs every fuzz target of examples/fuzz.rs for SECONDS each (two at a
# time on this 2-core machine) and prints executions and failures per
# target. Failing inputs land in fuzz/crashes/; replay one with
# `target/release/examples/fuzz TARGET 0 FILE`.
#
#   fuzz/run.sh [SECONDS=600] [TARGETS...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-600}; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(maincf mastercf pem logline config)
cargo build --release --quiet --example fuzz
mkdir -p target/fuzz
status=0
run_pair() {
  local pids=()
  for t in "$@"; do
    target/release/examples/fuzz "$t" "$SECS" > "target/fuzz/$t.out" 2> "target/fuzz/$t.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  for t in "$@"; do cat "target/fuzz/$t.out"; head -n 5 "target/fuzz/$t.err"; done
}
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run_pair "${targets[@]:i:2}"
done
exit $status
