#!/usr/bin/env bash
# Hostile inputs against the release binary, one row each: exit code, the
# first line of the message, whether the Postfix config dir is
# byte-identical afterwards, wall time and peak memory (GNU time). The
# tests assert these behaviours; this prints the numbers for the record.
# Needs root (files chowned to nobody), Postfix's postconf, GNU time.
#
#   sudo bench/hostile-table.sh
#   sudo DHROTATE_BIN=/path/to/older/dhrotate SKIP_AUDIT=1 bench/hostile-table.sh
#       (the same rows against another build, e.g. an older release, for a
#       before/after comparison; every command is cut off after 120 s)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
cargo build --release --quiet
bin=${DHROTATE_BIN:-$PWD/target/release/dhrotate}
w=/var/tmp/dhrotate-hostile-table
rm -rf "$w"; mkdir -p "$w"; chmod 755 "$w"

# A Postfix configuration to edit (the machine's own main.cf/master.cf plus
# a submission listener), and a `postfix` whose check passes, whose status
# says stopped: these rows are about dhrotate, not a running Postfix.
fresh() {
  rm -rf "$w/etc" "$w/state" "$w/conf.d" "$w/dhrotate.toml" "$w/postfix" "$w/postconf" "$w/open"
  mkdir -p "$w/etc"
  cp /etc/postfix/main.cf "$w/etc/main.cf"
  { cat /etc/postfix/master.cf; printf '%s\n' "submission inet n - y - - smtpd" \
      "  -o smtpd_tls_security_level=encrypt"; } > "$w/etc/master.cf"
  cat > "$w/postfix" <<'SH'
#!/bin/sh
case "$3" in check|reload) exit 0 ;; esac
exit 1
SH
  chmod 755 "$w/postfix"
  cat > "$w/dhrotate.toml" <<EOF
mode = "explicit"
postfix_config_dir = "$w/etc"
state_dir = "$w/state"
min_bits = 1024
lock_wait = "0s"

[postfix]
postfix = "$w/postfix"
timeout = "3s"

[[group]]
name = "main"
bits = 1024
file = "dh1024.pem"
use = ["main.cf"]

[[group]]
name = "submission"
bits = 1024
file = "dh1024-sub.pem"
use = ["submission/inet"]

[pool]
size = 0
EOF
  chmod 644 "$w/dhrotate.toml"
}
snap() { (cd "$w/etc" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }

printf '| # | hostile input | exit | message (first line) | files unchanged | time s | peak RSS MB |\n|---|---|---|---|---|---|---|\n'
n=0
# row NAME CMD...: CMD runs with $w set up by the caller; stdin from $STDIN.
row() {
  local name=$1; shift
  n=$((n + 1))
  local before after out code t rss msg
  before=$(snap)
  set +e
  /usr/bin/time -o "$w/time" -f '%e %M' timeout 120 "$@" < "${STDIN:-/dev/null}" > "$w/out" 2>&1
  code=$?
  set -e
  after=$(snap)
  read -r t rss < <(tail -n 1 "$w/time")
  msg=$(grep -v '^Command exited\|^Command terminated' "$w/out" | grep -m1 -iE 'error|refus|interrupt|cut off|limit|skipped|killed|not tested|installed|wrote|edited|lines:' \
        | cut -c1-150 | sed 's/|/\\|/g' || true)
  printf '| %d | %s | %s | %s | %s | %s | %.1f |\n' "$n" "$name" "$code" "${msg:-(none)}" \
    "$([ "$before" = "$after" ] && echo yes || echo "no (rotated)")" "$t" "$(echo "$rss / 1024" | bc -l)"
}
cfg() { echo "--config" "$w/dhrotate.toml"; }
edit_master() { python3 - "$w/etc/master.cf" "$1" "$2" <<'PY'
import sys
p, old, new = sys.argv[1:]
s = open(p).read()
assert old in s
open(p, 'w').write(s.replace(old, new))
PY
}

# Spellings of -o in the listener the submission group edits.
for spelling in '-o{ smtpd_tls_security_level = encrypt }' '-o{smtpd_tls_security_level=encrypt}' \
                '-osmtpd_tls_security_level=encrypt' '-o { smtpd_tls_security_level = encrypt }'; do
  fresh; edit_master '  -o smtpd_tls_security_level=encrypt' "  $spelling"
  row "master.cf override spelled \`$spelling\`" "$bin" $(cfg) now --no-refill
done
fresh; edit_master '  -o smtpd_tls_security_level=encrypt' '  -vo smtpd_tls_security_level=encrypt'
row 'combined flags `-vo name=value`' "$bin" $(cfg) now --no-refill
fresh; edit_master '  -o smtpd_tls_security_level=encrypt' '  -o { smtpd_tls_security_level = encrypt'
row 'unclosed brace `-o { name = value`' "$bin" $(cfg) now --no-refill
fresh
row 'injected misedit: drops mandatory TLS behind the reader (debug build)' \
  env DHROTATE_MISEDIT='smtpd_tls_security_level=encrypt=>smtpd_tls_security_level=may' \
  "$PWD/target/debug/dhrotate" $(cfg) now --no-refill

# Owners and modes.
fresh; chown nobody "$w/dhrotate.toml"
row 'config owned by nobody, mode 0644' "$bin" $(cfg) now --no-refill
fresh; mkdir -p "$w/conf.d"; chown nobody "$w/conf.d"
row 'conf.d owned by nobody' "$bin" $(cfg) now --no-refill
fresh; mkdir -p "$w/conf.d"; chmod 777 "$w/conf.d"
row 'conf.d mode 0777' "$bin" $(cfg) now --no-refill
fresh; chmod 664 "$w/dhrotate.toml"
row 'config mode 0664' "$bin" $(cfg) now --no-refill
fresh; chown nobody "$w/postfix"
row '[postfix] postfix owned by nobody' "$bin" $(cfg) now --no-refill
fresh; mkdir -p "$w/open"; chmod 777 "$w/open"; cp "$w/postfix" "$w/open/postfix"
sed -i "s|postfix = \"$w/postfix\"|postfix = \"$w/open/postfix\"|" "$w/dhrotate.toml"
row 'postfix in a 0777 directory' "$bin" $(cfg) now --no-refill

# Huge and odd PEM files (check reads untrusted files).
python3 - "$w" <<'PY'
import base64, random, sys
w = sys.argv[1]
def der_len(l):
    if l < 128: return bytes([l])
    b = l.to_bytes((l.bit_length() + 7) // 8, 'big'); return bytes([0x80 | len(b)]) + b
def der_int(n):
    b = n.to_bytes((n.bit_length() + 8) // 8, 'big'); return b'\x02' + der_len(len(b)) + b
def pem(p):
    body = der_int(p) + der_int(2); der = b'\x30' + der_len(len(body)) + body
    s = base64.b64encode(der).decode()
    return "-----BEGIN DH PARAMETERS-----\n" + "\n".join(s[i:i+64] for i in range(0, len(s), 64)) + "\n-----END DH PARAMETERS-----\n"
random.seed(1)
small = [p for p in range(3, 5000) if all(p % q for q in range(2, int(p ** 0.5) + 1))]
for bits in (16382, 20000, 65536):
    while True:
        n = random.getrandbits(bits) | (1 << (bits - 1)) | 1
        if all(n % q for q in small): break
    open(f"{w}/p{bits}.pem", "w").write(pem(n))
open(f"{w}/garbage.pem", "wb").write(b"x" * (64 << 20))
open(f"{w}/two.pem", "w").write(pem(random.getrandbits(1024) | 1) * 2)
PY
fresh
row '16382-bit composite without small factors' "$bin" check "$w/p16382.pem"
row '20000-bit PEM' "$bin" check "$w/p20000.pem"
row '65536-bit PEM (11 KB)' "$bin" check "$w/p65536.pem"
row '64 MiB of garbage named .pem' "$bin" check "$w/garbage.pem"
row 'two DH PARAMETERS blocks' "$bin" check "$w/two.pem"

# Endless logs.
if [ -z "${SKIP_AUDIT:-}" ]; then
head -c 1G /dev/zero | tr '\0' a > "$w/nonl.log"
STDIN=$w/nonl.log row 'audit: 1 GiB without a newline on stdin' "$bin" audit -
gzip -1 -c "$w/nonl.log" > "$w/nonl.log.gz"; rm -f "$w/nonl.log"
row 'audit: 1 GiB without a newline, gzip' "$bin" audit "$w/nonl.log.gz"
python3 -c "
import sys
out = sys.stdout
out.write('Received: from d.example (d.example [192.0.2.4])\n')
block = '\t(a fold that never ends, padding padding padding)\n' * 1000
for _ in range((1 << 30) // len(block)): out.write(block)
" > "$w/folds.log"
STDIN=$w/folds.log row 'audit: 1 GiB of one endlessly folded Received: header' "$bin" audit -
rm -f "$w/folds.log" "$w/nonl.log.gz"
python3 -c "
for i in range(2_000_000):
    print(f'Nov 29 10:00:00 mx postfix/smtpd[1]: Anonymous TLS connection established from p{i}.example[192.0.2.1]: TLSv1.2 with cipher AES256-SHA (256/256 bits)')
" > "$w/peers.log"
row 'audit: 2 million distinct peers without forward secrecy' "$bin" audit "$w/peers.log"
rm -f "$w/peers.log"
fi

# Hanging and forking children ([postfix] timeout = 3s).
fresh
cat > "$w/postfix" <<'SH'
#!/bin/sh
case "$3" in
  check) exit 0 ;;
  status) (sleep 300 &); (sleep 300 &); exec sleep 300 ;;
esac
exit 1
SH
row '`postfix status` hangs and forks' "$bin" $(cfg) now --no-refill
left=$(pgrep -f 'sleep 300' | wc -l || true); echo "   (processes left by that row: $left)"
pkill -f 'sleep 300' || true
fresh
printf '#!/bin/sh\ncase "$3" in check) exec sleep 300 ;; esac\nexit 1\n' > "$w/postfix"
row '`postfix check` hangs' "$bin" $(cfg) now --no-refill
pkill -f 'sleep 300' || true
fresh
printf '#!/bin/sh\nexec sleep 300\n' > "$w/postconf"; chmod 755 "$w/postconf"
sed -i "s|\[postfix\]|[postfix]\npostconf = \"$w/postconf\"|" "$w/dhrotate.toml"
row '`postconf` hangs' "$bin" $(cfg) now --no-refill
pkill -f 'sleep 300' || true

# Signals at each phase.
fresh
sed -i 's/bits = 1024/bits = 8192/; s/min_bits = 1024/min_bits = 8192/' "$w/dhrotate.toml"
signal_row() {
  local name=$1 delay=$2 count=$3
  n=$((n + 1))
  local before after s e code
  before=$(snap)
  "$bin" $(cfg) now --no-refill > "$w/out" 2>&1 &
  local pid=$!
  sleep "$delay"
  s=$(date +%s.%N)
  for _ in $(seq "$count"); do kill -TERM "$pid" 2>/dev/null || true; sleep 0.3; done
  set +e; wait "$pid"; code=$?; set -e
  e=$(date +%s.%N)
  after=$(snap)
  printf '| %d | %s | %s | %s | %s | %.2f after the signal | - |\n' "$n" "$name" "$code" \
    "$(grep -m1 -iE 'error|interrupt' "$w/out" | cut -c1-150 || true)" \
    "$([ "$before" = "$after" ] && echo yes || echo no)" "$(echo "$e - $s" | bc -l)"
}
signal_row 'SIGTERM during an 8192-bit search' 2 1
fresh
printf '#!/bin/sh\ncase "$3" in check) exit 0 ;; status) exit 0 ;; reload) exec sleep 30 ;; esac\nexit 1\n' > "$w/postfix"
sed -i 's/timeout = "3s"/timeout = "60s"/' "$w/dhrotate.toml"
"$bin" $(cfg) pool fill --bits 1024 --count 2 > /dev/null 2>&1
signal_row 'two SIGTERMs 1.5 s into a run (reload would hang)' 1.5 2
pkill -f 'sleep 30' || true

# Durations.
fresh; sed -i 's/timeout = "3s"/timeout = "0s"/' "$w/dhrotate.toml"
row 'timeout = "0s"' "$bin" $(cfg) now --no-refill
fresh; sed -i 's/lock_wait = "0s"/lock_wait = "1000000d"/' "$w/dhrotate.toml"
row 'lock_wait = "1000000d"' "$bin" $(cfg) now --no-refill
rm -rf "$w"
