#!/usr/bin/env bash
# Benchmark: `dhrotate audit` against `grep -c 'TLS connection established'`
# and pflogsumm on the same generated log, in one run. Prints median and
# spread (min..max) of RUNS timed runs each, throughput, the ratios, and the
# peak RSS of dhrotate on a small and the large file (flat memory means the
# two are about equal).
#
#   bench/audit.sh [SIZE_MB=1024] [RUNS=7]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
runs=${2:-7}
dir=target/bench
mkdir -p "$dir"
log=$dir/audit-${size}m.log
small=$dir/audit-64m.log

command -v pflogsumm >/dev/null || { echo "installing pflogsumm"; apt-get install -y -qq pflogsumm >/dev/null; }
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
cargo build --release --quiet
bin=target/release/dhrotate
[ -s "$log" ] || python3 bench/genlog.py "$size" "$log"
[ -s "$small" ] || python3 bench/genlog.py 64 "$small"
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null # warm the page cache for every tool alike

# time_runs NAME N CMD...: prints the sorted wall times, one per line.
time_runs() {
  local n=$1; shift
  for _ in $(seq "$n"); do
    local s e
    # Output to a file, not /dev/null: GNU grep stops at the first match
    # when it sees its output is /dev/null.
    s=$(date +%s.%N); "$@" > "$dir/.out" 2>&1; e=$(date +%s.%N)
    echo "$e - $s" | bc
  done | sort -n
}
median() { awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stats() { # name, times...
  local name=$1 times=$2
  local med min max
  med=$(echo "$times" | median); min=$(echo "$times" | head -1); max=$(echo "$times" | tail -1)
  printf '%-10s median %7.3f s  (min %.3f, max %.3f, n=%d)  %8.1f MB/s\n' \
    "$name" "$med" "$min" "$max" "$(echo "$times" | wc -l)" "$(echo "$bytes / 1048576 / $med" | bc -l)"
  echo "$med" > "$dir/.median-$name"
}

echo "file: $log ($((bytes / 1048576)) MiB, $(nproc) cores)"
stats grep "$(time_runs "$runs" grep -c 'TLS connection established' "$log")"
stats dhrotate "$(time_runs "$runs" "$bin" audit "$log")"
stats pflogsumm "$(time_runs 1 pflogsumm "$log")"
g=$(cat "$dir/.median-grep"); d=$(cat "$dir/.median-dhrotate"); p=$(cat "$dir/.median-pflogsumm")
printf 'throughput ratio dhrotate/grep -c:    %.2f  (goal >= 0.5)\n' "$(echo "$g / $d" | bc -l)"
printf 'throughput ratio dhrotate/pflogsumm:  %.1f\n' "$(echo "$p / $d" | bc -l)"
rss_small=$(/usr/bin/time -f %M "$bin" audit "$small" 2>&1 >/dev/null | tail -1)
rss_large=$(/usr/bin/time -f %M "$bin" audit "$log" 2>&1 >/dev/null | tail -1)
echo "peak RSS: ${rss_small} KiB on 64 MiB, ${rss_large} KiB on $((bytes / 1048576)) MiB"
echo "sessions found: $("$bin" audit --json "$log" | grep -m1 '"sessions"')  grep -c: $(grep -c 'TLS connection established' "$log")"
