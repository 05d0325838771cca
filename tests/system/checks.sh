# Checks shared by the real-systems scenarios (sourced by tests/system/run.sh
# and tests/system/upgrade.sh after lib.sh): one line per step, what
# OpenSSL's s_client in the container sees served, starting a unit.

summary=()
failed=0
current=""
STEP_FAILED=0

# pass/fail record one line per step; a failed step does not stop the
# release's later steps (they say what they can), but fails the run.
pass() { echo "  [ok]   $*"; summary+=("$current  ok    $*"); }
fail() { echo "  [FAIL] $*"; summary+=("$current  FAIL  $*"); failed=1; STEP_FAILED=1; }
# check DESCRIPTION CMD...: runs CMD on the host side, which itself uses ct.
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
note() { echo "         $*"; }

# The served DHE prime (hex) of a listener, seen by OpenSSL's s_client
# inside the container: a TLS 1.2 handshake that offers only DHE.
served_prime() {
  local port=$1 starttls=(-starttls smtp)
  # Ports of implicit TLS (IMAPS): no STARTTLS.
  [ "$port" = 993 ] && starttls=()
  ct openssl s_client -connect "127.0.0.1:$port" "${starttls[@]}" -tls1_2 \
    -cipher 'kEDH:@SECLEVEL=0' -msg < /dev/null 2>&1 | python3 "$here/ske.py"
}
# The prime of a PEM file in the container, hex, as openssl prints it.
file_prime() {
  ct openssl pkeyparam -in "$1" -noout -text 2>/dev/null \
    | awk '/^ *(P|prime):/ { on = 1; next } on && /^ *[0-9a-f][0-9a-f](:|$)/ { gsub(/[: ]/, ""); printf "%s", $0; next } on { exit }' \
    | sed 's/^00//'
}
# Waits up to $2 seconds for the listener on port $1 to serve prime $3.
wait_served() {
  local port=$1 secs=$2 want=$3 got="" i
  for i in $(seq 1 "$secs"); do
    got=$(served_prime "$port" || true)
    [ "$got" = "$want" ] && return 0
    sleep 1
  done
  note "127.0.0.1:$port serves ${got:0:24}..., expected ${want:0:24}..."
  return 1
}
# Starts a unit and reports; on failure shows its journal.
start_unit() {
  local unit=$1 since
  since=$(ct date '+%Y-%m-%d %H:%M:%S')
  if ct systemctl start "$unit"; then
    return 0
  fi
  # Unstable's systemd in the container sometimes cannot spawn a unit's
  # ExecStartPost ("Failed to spawn executor: No such file or directory",
  # result 'resources') under load, after dhrotate's own run succeeded
  # (seen twice on 2026-12-03, each time in another step, never on the
  # other releases). That is systemd's, not dhrotate's: said, and the
  # start tried once more; any other failure fails the step.
  if ct journalctl -u "$unit" --since "$since" --no-pager | grep -q 'Failed to spawn executor'; then
    note "systemd could not spawn $unit's executor (not dhrotate's failure); starting it once more"
    ct systemctl start "$unit" && return 0
  fi
  ct systemctl status --no-pager "$unit" | tail -n 5 || true
  ct journalctl -u "$unit" -b --no-pager | tail -n 25
  return 1
}

# wait_served_named PORT SECS NAME: waits up to SECS seconds for the
# listener on PORT to serve the catalog's group NAME (its first name).
wait_served_named() {
  local port=$1 secs=$2 want=$3 i name=""
  for i in $(seq 1 "$secs"); do
    name=$(catalog_name "$(served_prime "$port" || true)")
    [ "${name%%|*}" = "$want" ] && return 0
    sleep 1
  done
  note "127.0.0.1:$port serves ${name:-a group not in the catalog}, expected $want"
  return 1
}

# wait_search UNIT SINCE: waits up to 30 s for UNIT's run, since SINCE,
# to start searching for a group (and still run).
wait_search() {
  local unit=$1 since=$2 i
  for i in $(seq 1 60); do
    if ct journalctl -u "$unit" --since "$since" --no-pager | grep -q "getting a fresh group"; then
      ct systemctl is-active --quiet "$unit" || [ "$(ct systemctl show -p ActiveState --value "$unit")" = activating ]
      return
    fi
    sleep 0.5
  done
  return 1
}

# older_than VERSION MAJOR MINOR: true when VERSION is below MAJOR.MINOR.
older_than() {
  local major minor
  IFS=. read -r major minor _ <<< "$1"
  [ "$major" -lt "$2" ] || { [ "$major" -eq "$2" ] && [ "$minor" -lt "$3" ]; }
}
# A Postfix as years of following FORWARD_SECRECY_README leave it: a
# self-signed certificate, TLS on, a hand-made DH file and a pinned curve
# grade; and a submission listener. Below Postfix 3.7 (Debian 11, RHEL 8/9)
# the hand-made file is the 2048-bit one the README's later editions ask
# for, at the path dhrotate's default group also uses.
setup_postfix() {
  local pf=$1 hand=/etc/postfix/dh1024.pem bits=1024
  if older_than "$pf" 3 7; then hand=/etc/postfix/dh2048.pem; bits=2048; fi
  ct openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test \
    -keyout /etc/postfix/tls-key.pem -out /etc/postfix/tls-cert.pem 2>/dev/null
  ct openssl dhparam -out "$hand" "$bits" 2>/dev/null
  ct postconf -e smtpd_tls_security_level=may smtpd_tls_cert_file=/etc/postfix/tls-cert.pem \
    smtpd_tls_key_file=/etc/postfix/tls-key.pem smtpd_tls_dh1024_param_file="$hand" \
    smtpd_tls_eecdh_grade=strong 2>/dev/null
  ct sh -c 'printf "%s\n" "submission inet n       -       y       -       -       smtpd" \
    "  -o syslog_name=postfix/submission" "  -o smtpd_tls_security_level=encrypt" >> /etc/postfix/master.cf'
  ct systemctl restart postfix
  local i
  for i in $(seq 1 50); do served_prime 587 > /dev/null 2>&1 && break; sleep 0.2; done
  if [ -n "$(served_prime 25 || true)" ] && [ -n "$(served_prime 587 || true)" ]; then
    note "Postfix serves DHE on 25 and 587 (hand-made $bits-bit $hand, eecdh_grade strong)"
  else
    fail "setting up Postfix with TLS on 25 and 587"
  fi
}

# The catalog names of a prime (hex), rfc7919-ffdhe2048|exim-... (every
# name it goes by), empty for one not in data/known-dh-groups.tsv.
catalog_name() {
  awk -F'\t' -v p="$1" '!/^#/ && tolower($6) == p { print $1; exit }' data/known-dh-groups.tsv
}

# Starts dhrotate.service expecting a refusal: REFUSED_RC (its exit),
# REFUSED_LOG (its journal since the start) and REFUSED_SAME (yes when
# main.cf and master.cf are byte-identical afterwards).
refused_start() {
  local since before after
  REFUSED_RC=0
  since=$(ct date '+%Y-%m-%d %H:%M:%S')
  before=$(ct sha256sum /etc/postfix/main.cf /etc/postfix/master.cf)
  ct systemctl start dhrotate.service >/dev/null 2>&1 || REFUSED_RC=$?
  after=$(ct sha256sum /etc/postfix/main.cf /etc/postfix/master.cf)
  REFUSED_LOG=$(ct journalctl -u dhrotate.service --since "$since" --no-pager 2>&1)
  REFUSED_SAME=no
  [ "$before" = "$after" ] && REFUSED_SAME=yes
  return 0
}

# What a TLS 1.3 client offering only group $1 negotiates on port 25, as
# OpenSSL's s_client in the container prints it.
negotiated_only() {
  ct openssl s_client -connect 127.0.0.1:25 -starttls smtp -tls1_3 -groups "$1" < /dev/null 2>&1 \
    | grep -E 'Negotiated TLS1.3 group|Server Temp Key|Peer Temp Key' | head -n 1
}

# The cipher a TLS 1.2 client offering only $1 (OpenSSL cipher string) gets
# on port 25, inside the container; empty when the handshake fails.
tls12_cipher() {
  ct openssl s_client -connect 127.0.0.1:25 -starttls smtp -tls1_2 -cipher "$1" < /dev/null 2>/dev/null \
    | sed -n 's/.*Cipher is //p' | grep -v '^(NONE)' | head -n 1
}
