#!/usr/bin/env bash
# Idle cost of `dhrotate daemon`: resident memory and CPU over a quiet
# period (no run due), after one rotation so the numbers include what a
# rotation leaves behind. Targets (issue #6): under 15 MB RSS, under 0.1% CPU.
#
#   bench/daemon-idle.sh [SECONDS=60]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
cargo build --release --quiet
bin=$PWD/target/release/dhrotate
work=$PWD/target/bench/daemon
rm -rf "$work"; mkdir -p "$work/pf" "$work/state"; chmod 700 "$work/state"
cp examples/demo/main.cf examples/demo/master.cf "$work/pf/"
cat > "$work/dhrotate.toml" <<TOML
mode = "explicit"
postfix_config_dir = "$work/pf"
state_dir = "$work/state"
[reload]
enabled = false
[pool]
size = 1
[schedule]
cron = "0 30 3 * * *"
jitter = "0s"
catch_up = true
TOML
# One group ready, so the catch-up rotation at start takes it from the pool
# (what a warm daemon does) and the refill child does the searching.
"$bin" --config "$work/dhrotate.toml" -q pool fill
"$bin" -v --config "$work/dhrotate.toml" daemon 2> "$work/daemon.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
# Wait for the catch-up rotation and the refill child to finish.
for _ in $(seq 600); do
  grep -q "rotation finished" "$work/daemon.log" && ! pgrep -P $pid > /dev/null && break
  sleep 0.5
done
grep -q "rotation finished" "$work/daemon.log" || { cat "$work/daemon.log"; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
t0=$(ticks); r0=$(rss); s=$(date +%s.%N)
samples=()
for _ in $(seq "$SECS"); do sleep 1; samples+=("$(rss)"); done
t1=$(ticks); e=$(date +%s.%N)
sorted=$(printf '%s\n' "${samples[@]}" | sort -n)
printf 'daemon idle %ds after one rotation (pid %d)\n' "$SECS" "$pid"
printf 'RSS: start %d KiB, median %d KiB, min %d, max %d (target < 15360 KiB)\n' "$r0" \
  "$(echo "$sorted" | sed -n "$(( (SECS + 1) / 2 ))p")" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)"
echo "$t0 $t1 $hz $s $e" | awk '{cpu = ($2 - $1) / $3; wall = $5 - $4;
  printf "CPU: %.3f s in %.1f s = %.4f%% of one core (target < 0.1%%)\n", cpu, wall, 100 * cpu / wall}'
kill -TERM $pid; wait $pid && echo "stopped cleanly on SIGTERM"
