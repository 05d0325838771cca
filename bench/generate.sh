#!/usr/bin/env bash
# Benchmarks for group generation, validation and `dhrotate now`, each
# against the obvious alternative in the same run:
#   1. K groups of 1024 and 2048 bits: `openssl dhparam` vs `dhrotate
#      generate` on all cores and on one thread (totals, median, spread, ratio);
#   2. `openssl dhparam -check` vs `dhrotate check` on the same 2048-bit files;
#   3. `dhrotate now --no-reload` with a warm pool, with an empty pool, and the
#      README recipe `openssl dhparam -out dh.tmp 2048 && mv dh.tmp dh2048.pem`.
# Generation time is random (a search for a rare number): use enough groups.
#
#   bench/generate.sh [K=6] [RUNS=5]      (BITS="2048" for one size only)
set -euo pipefail
cd "$(dirname "$0")/.."
K=${1:-6}
RUNS=${2:-5}
cargo build --release --quiet
bin=$PWD/target/release/dhrotate
work=$PWD/target/bench/gen
rm -rf "$work"; mkdir -p "$work"

now() { date +%s.%N; }
# summary NAME FILE: FILE holds one duration per line.
summary() {
  sort -n "$2" > "$2.sorted"
  awk -v name="$1" '{a[NR]=$1; t+=$1} END {
    printf "%-28s total %8.2f s  median %7.3f s  min %7.3f  max %7.3f  (n=%d)\n",
      name, t, a[int((NR+1)/2)], a[1], a[NR], NR }' "$2.sorted"
}
total() { awk '{t+=$1} END {print t}' "$1"; }
# timed FILE CMD...: appends the wall time of CMD to FILE.
timed() {
  local out=$1; shift
  local s; s=$(now); "$@" > /dev/null 2>&1; echo "$(now) - $s" | bc >> "$out"
}

# counted FILE LOG CMD...: like timed, and keeps stderr in LOG. openssl
# prints a dot per candidate that survives its trial division (each costs a
# Miller-Rabin round); dhrotate -v logs `tested=N`, the candidates that
# reached an exponentiation. Those counts do not depend on machine noise.
counted() {
  local out=$1 log=$2; shift 2
  local s; s=$(now); "$@" > /dev/null 2> "$log"; echo "$(now) - $s" | bc >> "$out"
}
dots() { cat "$@" | tr -cd . | wc -c; }
tested() { sed 's/\x1b\[[0-9;]*m//g' "$@" | grep -o 'tested=[0-9]*' | cut -d= -f2 | awk '{t+=$1} END {print t+0}'; }

echo "== generation: $K groups per engine and size ($(nproc) cores)"
for bits in ${BITS:-1024 2048}; do
  for i in $(seq "$K"); do
    counted "$work/openssl-$bits" "$work/o$bits-$i.err" openssl dhparam -out "$work/o$bits-$i.pem" "$bits"
    counted "$work/all-$bits" "$work/d$bits-$i.err" "$bin" -v generate --bits "$bits" --out "$work/d$bits-$i.pem"
    counted "$work/one-$bits" "$work/s$bits-$i.err" "$bin" -v generate --bits "$bits" --threads 1 --out "$work/s$bits-$i.pem"
  done
  summary "openssl dhparam $bits" "$work/openssl-$bits"
  summary "dhrotate $bits, all cores" "$work/all-$bits"
  summary "dhrotate $bits, 1 thread" "$work/one-$bits"
  o=$(total "$work/openssl-$bits")
  printf 'ratio openssl/dhrotate %s: all cores %.1fx, 1 thread %.1fx\n' "$bits" \
    "$(echo "$o / $(total "$work/all-$bits")" | bc -l)" "$(echo "$o / $(total "$work/one-$bits")" | bc -l)"
  od=$(dots "$work"/o"$bits"-*.err); st=$(tested "$work"/s"$bits"-*.err); at=$(tested "$work"/d"$bits"-*.err)
  printf 'candidates tested per group %s: openssl %d, dhrotate 1 thread %d, all cores %d (openssl/dhrotate %.1fx)\n' \
    "$bits" $((od / K)) $((st / K)) $((at / K)) "$(echo "$od / $st" | bc -l)"
done

echo "== validation: the same 2048-bit files, $RUNS runs each"
for r in $(seq "$RUNS"); do
  for f in "$work"/o2048-*.pem; do
    timed "$work/check-openssl" openssl dhparam -check -noout -in "$f"
    timed "$work/check-dhrotate" "$bin" check --bits 2048 "$f"
  done
done
summary "openssl dhparam -check" "$work/check-openssl"
summary "dhrotate check" "$work/check-dhrotate"
printf 'ratio dhrotate/openssl (time): %.2f\n' \
  "$(echo "$(total "$work/check-dhrotate") / $(total "$work/check-openssl")" | bc -l)"

echo "== dhrotate now --no-reload (one 2048-bit group for main.cf), $RUNS runs each"
pf=$work/postfix; st=$work/state
mkdir -p "$pf" "$st"; chmod 755 "$pf"; chmod 700 "$st"
cp /etc/postfix/main.cf /etc/postfix/master.cf "$pf/"
cat > "$work/dhrotate.toml" <<TOML
mode = "explicit"
postfix_config_dir = "$pf"
state_dir = "$st"
[pool]
size = 0
TOML
"$bin" --config "$work/dhrotate.toml" pool fill --bits 2048 --count "$RUNS" > /dev/null
for r in $(seq "$RUNS"); do timed "$work/now-warm" "$bin" --config "$work/dhrotate.toml" now --no-reload; done
for r in $(seq "$RUNS"); do timed "$work/now-empty" "$bin" --config "$work/dhrotate.toml" now --no-reload; done
recipe() { openssl dhparam -out "$pf/dh.tmp" 2048 && mv "$pf/dh.tmp" "$pf/dh2048.pem"; }
for r in $(seq "$RUNS"); do timed "$work/now-recipe" recipe; done
summary "now, warm pool" "$work/now-warm"
summary "now, empty pool" "$work/now-empty"
summary "README recipe (dhparam && mv)" "$work/now-recipe"
