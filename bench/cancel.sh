#!/usr/bin/env bash
# How fast SIGTERM / SIGINT stop a running safe-prime search: start
# `dhrotate generate --bits 8192` (minutes of work), signal it after a
# second, and time from the signal to the process's exit. Also checks that
# nothing was left in the output directory. Prints each latency and the median.
#
#   bench/cancel.sh [RUNS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
cargo build --release --quiet
bin=target/release/dhrotate
dir=target/bench/cancel
rm -rf "$dir"; mkdir -p "$dir"
for i in $(seq "$runs"); do
  sig=TERM; [ $((i % 2)) -eq 0 ] && sig=INT
  "$bin" generate --bits 8192 --out "$dir/out.pem" 2>/dev/null &
  pid=$!
  sleep 1
  s=$(date +%s.%N)
  kill -s "$sig" "$pid"
  wait "$pid" || true
  e=$(date +%s.%N)
  ms=$(echo "($e - $s) * 1000" | bc -l)
  printf 'SIG%-4s stopped after %6.1f ms\n' "$sig" "$ms"
  echo "$ms" >> "$dir/.lat"
done
left=$(find "$dir" -type f ! -name '.lat' | wc -l)
sort -n "$dir/.lat" | awk '{a[NR]=$1} END {printf "median %.1f ms, max %.1f ms (n=%d)\n", a[int((NR+1)/2)], a[NR], NR}'
echo "files left behind: $left"
