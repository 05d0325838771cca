#!/usr/bin/env bash
# The real-systems harness: for each Debian release, boot a throwaway
# Debian with systemd as PID 1, journald and its own Postfix, install the
# dhrotate package built for that release (packaging/build-release.sh, in
# the release's own build root) there and use it only through what the
# package ships (/usr/bin/dhrotate, its units, its default configuration).
#
#   tests/system/run.sh [SUITE...]   (default: bullseye bookworm trixie sid)
#
# Each release takes target/packages/SUITE/dhrotate_*.deb, built first if
# missing; DHROTATE_DEB=path installs that one package everywhere instead;
# DHROTATE_ROOTFS_CACHE=dir keeps the root filesystems elsewhere than
# /var/lib/machines. Prints, per release, the Postfix and OpenSSL versions
# and each step's outcome; exits 1 if any step failed. It never skips: a
# container that cannot be built or booted is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/system
. "$here/lib.sh"
. "$here/checks.sh"

[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (systemd-nspawn, debootstrap)" >&2; exit 1; }
for tool in debootstrap systemd-nspawn nsenter python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/test.sh installs it)" >&2; exit 1; }
done

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bullseye bookworm trixie sid)

# The package a release installs: its own build, made now if missing.
package_for() {
  local suite=$1
  if [ -n "${DHROTATE_DEB:-}" ]; then
    readlink -f "$DHROTATE_DEB"
    return
  fi
  packaging/package-for.sh "$suite"
}

# What a TLS 1.3 client offering only group $1 negotiates on port 25, as
# OpenSSL's s_client in the container prints it.
negotiated_only() {
  ct openssl s_client -connect 127.0.0.1:25 -starttls smtp -tls1_3 -groups "$1" < /dev/null 2>&1 \
    | grep -E 'Negotiated TLS1.3 group|Server Temp Key|Peer Temp Key' | head -n 1
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

scenario() {
  local suite=$1 work=$2 rootfs ver_pf ver_ssl ver_dv deb
  current=$suite
  echo "== $suite"
  if ! deb=$(package_for "$suite"); then
    fail "the $suite package could not be built (packaging/build-release.sh $suite)"
    return
  fi
  echo "  package: $deb"
  if ! rootfs=$("$here/rootfs.sh" "$suite"); then
    fail "root filesystem for $suite could not be built"
    return
  fi
  ct_prepare "$rootfs" "$work" "$deb" || { fail "preparing the $suite container"; return; }
  if ! ct_boot "dhr-$suite" "$work"; then
    fail "booting $suite with systemd as PID 1"
    return
  fi
  ver_pf=$(ct postconf -h mail_version)
  ver_ssl=$(ct openssl version | awk '{print $2}')
  ver_dv=$(ct dovecot --version | awk '{print $1}')
  echo "  $suite: Postfix $ver_pf, OpenSSL $ver_ssl, Dovecot $ver_dv, $(ct systemctl --version | head -n 1)"
  summary+=("$suite  ----  Postfix $ver_pf, OpenSSL $ver_ssl, Dovecot $ver_dv, $(basename "$deb")")
  setup_postfix "$ver_pf"

  step_install
  step_default_run "$ver_pf"
  step_explicit
  step_daemon
  step_curves "$ver_ssl"
  step_curve_policy "$ver_ssl" "$ver_pf"
  step_posture "$ver_pf"
  step_dhe_policy
  step_metrics
  step_hooks "$ver_pf"
  step_instances
  step_purge
}

step_install() {
  local out
  if out=$(ct apt-get install -y /root/dhrotate.deb 2>&1); then
    note "$(echo "$out" | grep -E '^(Setting up|The following NEW)' | tr '\n' ' ')"
    pass "1 apt-get install ./dhrotate.deb resolved its dependencies"
  else
    echo "$out" | tail -n 20
    fail "1 apt-get install ./dhrotate.deb"
    return
  fi
  check "1 dhrotate.timer enabled and active" \
    ct sh -c 'systemctl is-enabled dhrotate.timer >/dev/null && systemctl is-active dhrotate.timer >/dev/null'
  local timers
  timers=$(ct systemctl list-timers --all --no-legend dhrotate.timer)
  note "list-timers: $timers"
  check "1 systemctl list-timers shows dhrotate.timer" grep -q dhrotate.timer <<< "$timers"
  check "1 dhrotate-daemon.service installed, not enabled" \
    ct sh -c '! systemctl is-enabled dhrotate-daemon.service >/dev/null 2>&1 && systemctl cat dhrotate-daemon.service >/dev/null'
}

step_default_run() {
  local pf=$1 warnings
  ct journalctl --rotate >/dev/null 2>&1 || true
  check "2 systemctl start dhrotate.service (default config, shipped hardening)" start_unit dhrotate.service
  warnings=$(ct sh -c 'postconf -n 2>&1 >/dev/null; postconf -P 2>&1 >/dev/null' | grep -iE 'will be removed|deprecat' || true)
  local major minor
  IFS=. read -r major minor _ <<< "$pf"
  if older_than "$pf" 3 7; then
    step_default_named "$pf"
    return
  fi
  if [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 9 ]; }; then
    check "5 Postfix $pf: no deprecation warning from postconf -n / -P" test -z "$warnings"
    [ -z "$warnings" ] || note "$warnings"
    check "5 Postfix $pf: smtpd_tls_dh1024_param_file and smtpd_tls_eecdh_grade left at default" \
      ct sh -c '! postconf -n | grep -qE "^(smtpd|tlsproxy)_tls_(dh1024_param_file|eecdh_grade) ="'
  else
    check "5 Postfix $pf: smtpd_tls_dh1024_param_file = auto" \
      test "$(ct postconf -h smtpd_tls_dh1024_param_file)" = auto
  fi
  local p name
  p=$(served_prime 25 || true)
  name=$(catalog_name "$p")
  if [ -n "$name" ]; then
    pass "5 served DHE group is OpenSSL's own: $name ($(( ${#p} * 4 )) bits)"
  else
    fail "5 served DHE group is OpenSSL's own (got ${p:0:24}..., not in the catalog)"
  fi
  local status rc=0
  status=$(ct dhrotate status 2>&1) || rc=$?
  echo "$status" | sed 's/^/         | /' | head -n 12
  check "5 dhrotate status healthy (exit 0) and names the mode" \
    bash -c "[ $rc -eq 0 ] && grep -q 'mode: Auto' <<< \"\$1\"" _ "$status"
}

# Below Postfix 3.7 OpenSSL cannot be handed the choice: detect takes what
# [policy] prefer says (named by default), and says so; the listener serves
# RFC 7919's group of the configured size, from the file main.cf names.
step_default_named() {
  local pf=$1 p name status rc=0 param
  param=$(ct postconf -h smtpd_tls_dh1024_param_file)
  check "5 Postfix $pf: smtpd_tls_dh1024_param_file = /etc/postfix/dh2048.pem (the group file)" \
    test "$param" = /etc/postfix/dh2048.pem
  check "5 Postfix $pf: smtpd_tls_eecdh_grade left as the administrator set it (strong)" \
    test "$(ct postconf -h smtpd_tls_eecdh_grade)" = strong
  wait_served_named 25 10 rfc7919-ffdhe2048 || true
  p=$(served_prime 25 || true)
  name=$(catalog_name "$p")
  check "5 127.0.0.1:25 serves RFC 7919's ffdhe2048 by catalog name (got ${name:-custom}, $(( ${#p} * 4 )) bits)" \
    test "${name%%|*}" = rfc7919-ffdhe2048
  check "5 the file main.cf names holds that prime" test "$(file_prime /etc/postfix/dh2048.pem)" = "$p"
  status=$(ct dhrotate status 2>&1) || rc=$?
  echo "$status" | sed 's/^/         | /' | head -n 12
  check "5 dhrotate status healthy (exit $rc) and says detect chose named by [policy] prefer" \
    bash -c "[ $rc -eq 0 ] && grep -q 'mode: Named' <<< \"\$1\" && grep -q 'prefer = \"named\"' <<< \"\$1\"" _ "$status"
}

step_explicit() {
  ct sh -c 'mkdir -p /etc/dhrotate/conf.d && cat > /etc/dhrotate/conf.d/50-explicit.toml' <<'TOML'
mode = "explicit"

[[group]]
name = "main"
bits = 2048
file = "dh2048.pem"
use = ["main.cf"]

[[group]]
name = "submission"
bits = 1024
file = "dh1024-submission.pem"
use = ["submission/inet"]

[pool]
size = 1
TOML
  local since
  since=$(ct date '+%Y-%m-%d %H:%M:%S')
  check "3 systemctl start dhrotate.service (explicit drop-in)" start_unit dhrotate.service
  local want
  want=$(file_prime /etc/postfix/dh2048.pem)
  check "3 127.0.0.1:25 serves the prime of /etc/postfix/dh2048.pem" wait_served 25 20 "$want"
  want=$(file_prime /etc/postfix/dh1024-submission.pem)
  check "3 127.0.0.1:587 serves the prime of /etc/postfix/dh1024-submission.pem" wait_served 587 20 "$want"
  local records
  records=$(ct journalctl -u dhrotate.service --since "$since" OUTCOME=installed -o json --no-pager)
  note "$(python3 - "$records" <<'PY'
import json, sys
for line in sys.argv[1].splitlines():
    r = json.loads(line)
    print("journal:", " ".join(f"{k}={r.get(k)}" for k in ("GROUP", "BITS", "FINGERPRINT", "SOURCE")))
PY
)"
  check "3 journalctl -u dhrotate OUTCOME=installed has GROUP, BITS, FINGERPRINT, SOURCE for both groups" \
    python3 - "$records" <<'PY'
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
groups = {r.get("GROUP") for r in recs if all(r.get(k) for k in ("GROUP", "BITS", "FINGERPRINT", "SOURCE"))}
sys.exit(0 if {"main", "submission"} <= groups else 1)
PY
  local pool
  pool=$(ct dhrotate pool status)
  note "$(echo "$pool" | tr '\n' ';')"
  check "3 ExecStartPost pool fill left the pool full" \
    bash -c '! grep -vE "^[0-9]+ bits: ([1-9][0-9]*) ready \(pool size 1\)$" <<< "$1" | grep -q .' _ "$pool"
}

step_daemon() {
  ct systemctl disable --now dhrotate.timer >/dev/null 2>&1
  ct sh -c 'cat > /etc/dhrotate/conf.d/60-schedule.toml' <<'TOML'
[schedule]
cron = "*/15 * * * * *"
jitter = "0s"
catch_up = false
TOML
  local before
  before=$(served_prime 25 || true)
  check "4 systemctl start dhrotate-daemon (Type=notify)" start_unit dhrotate-daemon.service
  local status_text
  status_text=$(ct systemctl show -p StatusText --value dhrotate-daemon.service)
  note "StatusText: $status_text"
  check "4 StatusText set by the daemon" test -n "$status_text"
  local i now=""
  for i in $(seq 1 60); do
    now=$(served_prime 25 || true)
    [ -n "$now" ] && [ "$now" != "$before" ] && break
    sleep 1
  done
  check "4 a scheduled rotation changed the served group" bash -c '[ -n "$1" ] && [ "$1" != "$2" ]' _ "$now" "$before"
  check "4 systemctl reload dhrotate-daemon" ct systemctl reload dhrotate-daemon.service
  check "4 the daemon re-read its configuration" \
    bash -c 'ct() { nsenter -t "$0" -a "$@"; }; ct journalctl -u dhrotate-daemon -b --no-pager | grep -q "configuration re-read"' "$CT_PID"
  # A generation that takes minutes, then a stop in the middle of it.
  ct sh -c 'cat > /etc/dhrotate/conf.d/70-large.toml' <<'TOML'
[[group]]
name = "main"
bits = 8192
TOML
  local main_before since_large
  main_before=$(ct sha256sum /etc/postfix/main.cf /etc/postfix/master.cf)
  since_large=$(ct date '+%Y-%m-%d %H:%M:%S')
  ct systemctl reload dhrotate-daemon.service
  check "4 the daemon's next rotation is searching for an 8192-bit group" \
    wait_search dhrotate-daemon.service "$since_large"
  local t0 t1
  t0=$(date +%s.%N)
  ct systemctl stop dhrotate-daemon.service
  t1=$(date +%s.%N)
  local took
  took=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
  note "systemctl stop during an 8192-bit search took $took s (TimeoutStopSec=$(ct systemctl show -p TimeoutStopUSec --value dhrotate-daemon.service))"
  check "4 systemctl stop during a large generation finished within 10 s" python3 -c "import sys; sys.exit(0 if $took < 10 else 1)"
  check "4 stop left main.cf/master.cf untouched and no temp files" \
    bash -c '[ "$1" = "$2" ] && [ -z "$3" ]' _ "$main_before" "$(ct sha256sum /etc/postfix/main.cf /etc/postfix/master.cf)" \
    "$(ct find /etc/postfix /var/lib/dhrotate -name '*.tmp' -o -name '.dhrotate-*')"
  ct rm -f /etc/dhrotate/conf.d/70-large.toml /etc/dhrotate/conf.d/60-schedule.toml
}

step_curves() {
  local ossl=$1 out rc=0
  local major minor
  IFS=. read -r major minor _ <<< "$ossl"
  out=$(ct dhrotate curves 2>&1) || rc=$?
  echo "$out" | sed 's/^/         | /' | head -n 8
  check "6 dhrotate curves reads the default lists, no valid name called unknown (exit $rc)" \
    bash -c "[ $rc -eq 0 ] && ! grep -qi unknown <<< \"\$1\"" _ "$out"
  # Postfix 3.11's default list already offers the hybrid (?X25519MLKEM768:DEFAULT).
  if grep -q '^tls_eecdh_auto_curves = .*X25519MLKEM768' <<< "$out"; then
    check "6 no advice to add X25519MLKEM768 to a list that has it" \
      bash -c '! grep -q "offers it first" <<< "$1"' _ "$out"
  fi
  rc=0
  out=$(ct dhrotate curves --set pq-hybrid 2>&1) || rc=$?
  if [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 5 ]; }; then
    check "6 curves --set pq-hybrid (OpenSSL $ossl has ML-KEM)" test "$rc" -eq 0
    [ "$rc" -eq 0 ] || note "$out"
    local neg
    neg=$(negotiated_only X25519MLKEM768)
    note "s_client offering only X25519MLKEM768: $neg"
    check "6 a client offering only X25519MLKEM768 negotiates it" grep -q X25519MLKEM768 <<< "$neg"
    rc=0
    out=$(ct dhrotate probe 127.0.0.1:25 --json 2>&1) || rc=$?
    local group
    group=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tls13"]["group"])' "$out" 2>/dev/null || echo "?")
    note "dhrotate probe: exit $rc, tls13 group $group"
    check "6 dhrotate probe reports X25519MLKEM768 by name, exit 0" bash -c "[ $rc -eq 0 ] && [ '$group' = X25519MLKEM768 ]"
  else
    note "$out"
    check "6 curves --set pq-hybrid refused where OpenSSL $ossl lacks ML-KEM (exit 2, says why)" \
      bash -c "[ $rc -eq 2 ] && grep -q 'OpenSSL >= 3.5' <<< \"\$1\"" _ "$out"
  fi
}

# [curves] policy held by the timer's service: applied, drift reported by
# status, undone by the next run; pq-hybrid as a policy where OpenSSL has
# ML-KEM (a client offering only the hybrid gets it) and refused where not.
step_curve_policy() {
  local ossl=$1 major minor out rc=0 modern="X25519 X448 prime256v1 secp384r1"
  IFS=. read -r major minor _ <<< "$ossl"
  curves_now() { ct postconf -h tls_eecdh_auto_curves | tr -s ' \t,' ' ' | sed 's/ *$//'; }
  ct sh -c 'cat > /etc/dhrotate/conf.d/80-curves.toml' <<'TOML'
[curves]
policy = "modern"
TOML
  check "8 systemctl start dhrotate.service ([curves] policy = \"modern\" drop-in)" start_unit dhrotate.service
  out=$(curves_now)
  note "tls_eecdh_auto_curves = $out"
  check "8 the policy is in main.cf" test "$out" = "$modern"
  ct postconf -e 'tls_eecdh_auto_curves = prime256v1'
  out=$(ct dhrotate status 2>&1) || rc=$?
  grep 'curves' <<< "$out" | sed 's/^/         | /' | head -n 3
  check "8 a hand edit is drift: status exit 6 names it (exit $rc)" \
    bash -c "[ $rc -eq 6 ] && grep -q 'policy = \"modern\" is not in effect' <<< \"\$1\"" _ "$out"
  check "8 the next run of dhrotate.service undoes it" start_unit dhrotate.service
  out=$(curves_now)
  check "8 the policy is back in main.cf" test "$out" = "$modern"
  rc=0
  out=$(ct dhrotate status 2>&1) || rc=$?
  check "8 status no longer reports drift" bash -c '! grep -q "is not in effect" <<< "$1"' _ "$out"
  ct sh -c 'cat > /etc/dhrotate/conf.d/80-curves.toml' <<'TOML'
[curves]
policy = "pq-hybrid"
TOML
  if [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 5 ]; }; then
    check "8 systemctl start dhrotate.service (policy pq-hybrid, OpenSSL $ossl)" start_unit dhrotate.service
    local neg
    neg=$(negotiated_only X25519MLKEM768)
    note "s_client offering only X25519MLKEM768: $neg"
    check "8 a client offering only X25519MLKEM768 negotiates it" grep -q X25519MLKEM768 <<< "$neg"
  else
    refused_start
    check "8 dhrotate.service fails with policy pq-hybrid on OpenSSL $ossl" test "$REFUSED_RC" -ne 0
    grep -m1 'pq-hybrid' <<< "$REFUSED_LOG" | sed 's/^/         | /'
    check "8 the journal says why (OpenSSL >= 3.5) and main.cf/master.cf are unchanged" \
      bash -c 'grep -q "OpenSSL >= 3.5" <<< "$1" && [ "$2" = yes ]' _ "$REFUSED_LOG" "$REFUSED_SAME"
  fi
  # "openssl": both lists empty, OpenSSL's configuration chooses; Postfix
  # defers to it from 3.6.17/3.7.13/3.8.8/3.9.2/3.10 (postconf(5)), and
  # before that an empty list turns ECDHE off, so dhrotate refuses.
  ct sh -c 'cat > /etc/dhrotate/conf.d/80-curves.toml' <<'TOML'
[curves]
policy = "openssl"
TOML
  local pmajor pminor pf=$2
  IFS=. read -r pmajor pminor _ <<< "$pf"
  if [ "$pmajor" -gt 3 ] || { [ "$pmajor" -eq 3 ] && [ "$pminor" -ge 10 ]; }; then
    check "8 systemctl start dhrotate.service (policy openssl, Postfix $pf)" start_unit dhrotate.service
    out=$(ct postconf tls_eecdh_auto_curves tls_ffdhe_auto_groups)
    note "$(tr '\n' ';' <<< "$out")"
    check "8 both lists are empty in main.cf" \
      bash -c 'grep -qx "tls_eecdh_auto_curves =" <<< "$1" && grep -qx "tls_ffdhe_auto_groups =" <<< "$1"' _ "$out"
    local neg
    neg=$(negotiated_only X25519)
    note "s_client offering only X25519: $neg"
    check "8 OpenSSL's defaults still give a client offering only X25519 its group" grep -q X25519 <<< "$neg"
  else
    refused_start
    grep -m1 'turns ECDHE off' <<< "$REFUSED_LOG" | sed 's/^/         | /'
    check "8 policy openssl refused on Postfix $pf (service fails, says why, files unchanged)" \
      bash -c '[ "$1" -ne 0 ] && grep -q "turns ECDHE off" <<< "$2" && [ "$3" = yes ]' _ "$REFUSED_RC" "$REFUSED_LOG" "$REFUSED_SAME"
  fi
  ct rm -f /etc/dhrotate/conf.d/80-curves.toml
  ct systemctl start dhrotate.service >/dev/null 2>&1 || true
}

# The posture under each guideline of what this release serves by default
# (detect: auto on every supported Debian), rated by `status --json` and
# held against data/tls-guidelines.tsv for what s_client saw itself.
step_posture() {
  local pf=$1 p name bits t13 g json rc i
  # The setup judged: auto where Postfix can hand OpenSSL the choice (3.7
  # and later); below that, the explicit groups of step 3.
  if older_than "$pf" 3 7; then
    check "9 systemctl start dhrotate.service (explicit groups, Postfix $pf)" start_unit dhrotate.service
  else
    ct sh -c 'cat > /etc/dhrotate/conf.d/90-auto.toml' <<'TOML'
mode = "auto"
TOML
    check "9 systemctl start dhrotate.service (mode = \"auto\" drop-in)" start_unit dhrotate.service
  fi
  for i in $(seq 1 50); do
    name=$(catalog_name "$(served_prime 25 || true)")
    [ -n "$name" ] && break
    sleep 0.2
  done
  p=$(served_prime 25 || true)
  name=$(catalog_name "$p")
  bits=$(( ${#p} * 4 ))
  t13=$(ct openssl s_client -connect 127.0.0.1:25 -starttls smtp -tls1_3 < /dev/null 2>&1 \
    | sed -nE 's/^(Negotiated TLS1.3 group|Server Temp Key): ([A-Za-z0-9-]+).*/\2/p' | head -n 1)
  note "s_client: DHE ${name:-custom} ($bits bits), TLS 1.3 group $t13"
  json=$(mktemp)
  for g in ncsc-nl ncsc-nl-2021 bsi mozilla-intermediate mozilla-intermediate-5.7 mozilla-modern; do
    rc=0
    ct dhrotate status --json --guideline "$g" > "$json" 2>/dev/null || rc=$?
    local line
    line=$(python3 "$here/posture.py" "$g" "$json" "$name" "$bits" "$t13" 2>&1) || rc=99
    note "$line"
    check "9 status --json --guideline $g rates what is served as the table says" test "$rc" -ne 99
  done
  rm -f "$json"
  ct rm -f /etc/dhrotate/conf.d/90-auto.toml
}

# The cipher a TLS 1.2 client offering only $1 (OpenSSL cipher string) gets
# on port 25, inside the container; empty when the handshake fails.
tls12_cipher() {
  ct openssl s_client -connect 127.0.0.1:25 -starttls smtp -tls1_2 -cipher "$1" < /dev/null 2>/dev/null \
    | sed -n 's/.*Cipher is //p' | grep -v '^(NONE)' | head -n 1
}

# [policy] dhe = "off" as a drop-in: the timer's service stops DHE for TLS
# 1.2 through the same edit, check and reload; ECDHE and TLS 1.3 still
# work; a hand edit is drift; dhe = "on" undoes it.
step_dhe_policy() {
  local out rc=0 dhe ecdhe t13 exclude
  exclude() { ct postconf -h smtpd_tls_exclude_ciphers; }
  ct sh -c 'cat > /etc/dhrotate/conf.d/85-dhe.toml' <<'TOML'
[policy]
dhe = "off"
TOML
  check "9b systemctl start dhrotate.service ([policy] dhe = \"off\" drop-in)" start_unit dhrotate.service
  note "smtpd_tls_exclude_ciphers = $(exclude)"
  check "9b main.cf excludes kDHE" bash -c 'grep -qw kDHE <<< "$1"' _ "$(exclude)"
  dhe=$(tls12_cipher 'kEDH:@SECLEVEL=0'); ecdhe=$(tls12_cipher ECDHE)
  t13=$(ct openssl s_client -connect 127.0.0.1:25 -starttls smtp -tls1_3 < /dev/null 2>/dev/null \
    | sed -n 's/.*Cipher is //p' | head -n 1)
  note "s_client TLS 1.2 DHE only: ${dhe:-refused}; TLS 1.2 ECDHE: ${ecdhe:-refused}; TLS 1.3: ${t13:-refused}"
  check "9b a DHE-only TLS 1.2 client is refused" test -z "$dhe"
  check "9b ECDHE (TLS 1.2) and TLS 1.3 still work" bash -c '[[ "$1" == ECDHE-* && "$2" == TLS_* ]]' _ "$ecdhe" "$t13"
  out=$(ct dhrotate status 2>&1) || rc=$?
  check "9b status is healthy with DHE off (exit $rc)" test "$rc" -eq 0
  ct postconf -e 'smtpd_tls_exclude_ciphers ='
  rc=0; out=$(ct dhrotate status 2>&1) || rc=$?
  grep 'policy\] dhe' <<< "$out" | sed 's/^/         | /' | head -n 2
  check "9b a hand edit is drift: status exit 6 names it (exit $rc)" \
    bash -c "[ $rc -eq 6 ] && grep -q 'dhe = \"off\" is not in effect' <<< \"\$1\"" _ "$out"
  check "9b the next run restores it" start_unit dhrotate.service
  check "9b main.cf excludes kDHE again" bash -c 'grep -qw kDHE <<< "$1"' _ "$(exclude)"
  ct sh -c 'cat > /etc/dhrotate/conf.d/85-dhe.toml' <<'TOML'
[policy]
dhe = "on"
TOML
  check "9b systemctl start dhrotate.service (dhe = \"on\": undone)" start_unit dhrotate.service
  dhe=$(tls12_cipher 'kEDH:@SECLEVEL=0')
  note "smtpd_tls_exclude_ciphers = $(exclude); s_client TLS 1.2 DHE only: ${dhe:-refused}"
  check "9b kDHE is gone and a DHE-only client completes again" \
    bash -c '! grep -qw kDHE <<< "$1" && [[ "$2" == DHE-* ]]' _ "$(exclude)" "$dhe"
  ct rm -f /etc/dhrotate/conf.d/85-dhe.toml
}

# [metrics] textfile written by the hardened timer service into
# prometheus-node-exporter's directory, and `now --if-due --json` as the
# service runs it: nothing due right after a rotation.
step_metrics() {
  local out prom=/var/lib/prometheus/node-exporter/dhrotate.prom
  ct mkdir -p /var/lib/prometheus/node-exporter
  ct sh -c 'cat > /etc/dhrotate/conf.d/95-metrics.toml' <<TOML
[metrics]
textfile = "$prom"
TOML
  check "10 systemctl start dhrotate.service ([metrics] textfile drop-in)" start_unit dhrotate.service
  out=$(ct cat "$prom" 2>&1 || true)
  note "$(grep -E '^dhrotate_(last_run_success|problems|info)' <<< "$out" | tr '\n' ';')"
  check "10 the hardened service wrote $prom (last run ok)" grep -qx 'dhrotate_last_run_success 1' <<< "$out"
  out=$(ct dhrotate now --if-due --json 2>/dev/null || true)
  check "10 now --if-due --json right after: outcome unchanged" \
    python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["outcome"] == "unchanged" else 1)' "$out"
  ct rm -f /etc/dhrotate/conf.d/95-metrics.toml
}

# Dovecot beside Postfix, reading the main group (ssl_dh on 2.3,
# ssl_server_dh_file on 2.4) on IMAPS 127.0.0.1:993; a [[hook]] that does
# nothing is caught by its verification, `systemctl reload dovecot` (run by
# the hardened timer service) makes Dovecot serve the new prime.
step_hooks() {
  local dv conf old new rc
  dv=$(ct dovecot --version | awk '{print $1}')
  if [[ "$dv" == 2.3* ]]; then
    conf='ssl = required
ssl_cert = </etc/postfix/tls-cert.pem
ssl_key = </etc/postfix/tls-key.pem
ssl_dh = </etc/postfix/dh2048.pem
ssl_min_protocol = TLSv1.2'
  else
    conf='ssl = required
ssl_server_cert_file = /etc/postfix/tls-cert.pem
ssl_server_key_file = /etc/postfix/tls-key.pem
ssl_server_dh_file = /etc/postfix/dh2048.pem
ssl_min_protocol = TLSv1.2'
  fi
  ct sh -c 'cat > /etc/dovecot/conf.d/99-dhrotate.conf' <<< "$conf"
  ct systemctl restart dovecot.service
  local i
  for i in $(seq 1 50); do served_prime 993 > /dev/null 2>&1 && break; sleep 0.2; done
  old=$(file_prime /etc/postfix/dh2048.pem)
  note "Dovecot $dv on 127.0.0.1:993 reads /etc/postfix/dh2048.pem"
  check "11 Dovecot $dv serves the prime of /etc/postfix/dh2048.pem (DHE-only TLS 1.2 on 993)" \
    test "$(served_prime 993 || true)" = "$old"
  # A hook that does nothing: Dovecot keeps the old group, the hook's
  # verification says so, Postfix keeps its new one.
  ct sh -c 'cat > /etc/dhrotate/conf.d/96-hooks.toml' <<'TOML'
[[hook]]
name = "dovecot"
command = ["/bin/true"]
verify = "127.0.0.1:993 tls"
TOML
  ct touch -d '10 days ago' /etc/postfix/dh2048.pem
  refused_start
  new=$(file_prime /etc/postfix/dh2048.pem)
  grep -m1 'hook "dovecot"' <<< "$REFUSED_LOG" | sed 's/^/         | /'
  check "11 a hook that does not reload Dovecot: the service fails (exit 13) and says Dovecot serves the old group" \
    bash -c '[ "$1" -ne 0 ] && grep -q "status=13/" <<< "$2" && grep -q "does not serve the new group" <<< "$2"' _ "$REFUSED_RC" "$REFUSED_LOG"
  check "11 ... and Postfix was not rolled back: 127.0.0.1:25 serves the new file" wait_served 25 20 "$new"
  local dv_now
  dv_now=$(served_prime 993 || true)
  check "11 ... while Dovecot still serves the old prime" bash -c '[ "$1" != "$2" ] && [ "$3" = "$1" ]' _ "$old" "$new" "$dv_now"
  ct sh -c 'cat > /etc/dhrotate/conf.d/96-hooks.toml' <<'TOML'
[[hook]]
name = "dovecot"
command = ["/usr/bin/systemctl", "reload", "dovecot.service"]
timeout = "30s"
verify = "127.0.0.1:993 tls"
TOML
  ct touch -d '10 days ago' /etc/postfix/dh2048.pem
  check "11 systemctl start dhrotate.service with the Dovecot hook" start_unit dhrotate.service
  new=$(file_prime /etc/postfix/dh2048.pem)
  check "11 Dovecot now serves the new prime of /etc/postfix/dh2048.pem" wait_served 993 10 "$new"
  local out
  out=$(ct journalctl -u dhrotate.service -n 200 --no-pager -o cat | grep -m1 'hook "dovecot" ok' || true)
  note "$out"
  check "11 the journal has the hook's verified outcome" grep -q 'serves group "main"' <<< "$out"
  rc=0
  out=$(ct dhrotate now --dry-run 2>&1) || rc=$?
  check "11 now --dry-run lists the hook it would run" \
    bash -c '[ "$1" -eq 0 ] && grep -q "would run hook \"dovecot\": /usr/bin/systemctl reload dovecot.service" <<< "$2"' _ "$rc" "$out"
  ct rm -f /etc/dhrotate/conf.d/96-hooks.toml
}

# Postfix multi-instance as MULTI_INSTANCE_README sets it up: postmulti -e
# init, a secondary postfix-out (group mta) listening on 127.0.0.1:2525
# with TLS. instances = "all" rotates both, shared file then one file per
# instance; a `postfix check` that fails in the second instance only
# (a wrapper as [postfix] postfix) restores both.
step_instances() {
  local out rc
  ct postmulti -e init
  ct postmulti -I postfix-out -G mta -e create
  ct postconf -c /etc/postfix-out -e 'master_service_disable =' 'inet_interfaces = 127.0.0.1' \
    'smtpd_tls_security_level = may' 'smtpd_tls_cert_file = /etc/postfix/tls-cert.pem' \
    'smtpd_tls_key_file = /etc/postfix/tls-key.pem'
  ct postconf -c /etc/postfix-out -M# smtp/inet
  ct postconf -c /etc/postfix-out -Me '127.0.0.1:2525/inet = 127.0.0.1:2525 inet n - y - - smtpd'
  ct postmulti -i postfix-out -e enable
  ct postmulti -i postfix-out -p start >/dev/null 2>&1 || true
  local i
  for i in $(seq 1 50); do served_prime 2525 > /dev/null 2>&1 && break; sleep 0.2; done
  out=$(ct postmulti -l)
  note "$(tr -s ' ' <<< "$out" | tr '\n' ';')"
  check "12 postmulti lists postfix-out enabled, and it serves DHE on 127.0.0.1:2525" \
    bash -c 'grep -qE "^postfix-out +mta +y +/etc/postfix-out" <<< "$1" && [ -n "$2" ]' _ "$out" "$(served_prime 2525 || true)"
  ct sh -c 'cat > /etc/dhrotate/conf.d/97-instances.toml' <<'TOML'
instances = "all"
TOML
  ct touch -d '10 days ago' /etc/postfix/dh2048.pem
  local since12
  since12=$(ct date '+%Y-%m-%d %H:%M:%S')
  local out_before out_after
  out_before=$(ct sha256sum /etc/postfix-out/main.cf /etc/postfix-out/master.cf /etc/postfix/dh2048.pem)
  refused_start
  out_after=$(ct sha256sum /etc/postfix-out/main.cf /etc/postfix-out/master.cf /etc/postfix/dh2048.pem)
  grep -m1 'ReadWritePaths' <<< "$REFUSED_LOG" | cut -c1-240 | sed 's/^/         | /'
  check "12 under the shipped hardening the secondary is refused (exit 2), naming the ReadWritePaths drop-in, files unchanged" \
    bash -c 'grep -q "status=2/" <<< "$1" && grep -q "ReadWritePaths=/etc/postfix-out" <<< "$1" && [ "$2" = yes ] && [ "$3" = "$4" ]' _ "$REFUSED_LOG" "$REFUSED_SAME" "$out_before" "$out_after"
  ct mkdir -p /etc/systemd/system/dhrotate.service.d
  ct sh -c 'cat > /etc/systemd/system/dhrotate.service.d/instances.conf' <<'UNIT'
[Service]
ReadWritePaths=/etc/postfix-out /var/spool/postfix-out /var/lib/postfix-out
UNIT
  ct systemctl daemon-reload
  check "12 instances = \"all\", shared file: systemctl start dhrotate.service" start_unit dhrotate.service
  local p25 p2525
  p25=$(file_prime /etc/postfix/dh2048.pem)
  check "12 shared: 127.0.0.1:25 serves /etc/postfix/dh2048.pem" wait_served 25 20 "$p25"
  check "12 shared: postfix-out on 127.0.0.1:2525 serves the same file" wait_served 2525 20 "$p25"
  check "12 shared: postfix-out's main.cf points at /etc/postfix/dh2048.pem" \
    test "$(ct postconf -c /etc/postfix-out -h smtpd_tls_dh1024_param_file)" = /etc/postfix/dh2048.pem
  out=$(ct dhrotate status 2>&1 || true)
  check "12 status shows the instance" grep -q '^== instance postfix-out (/etc/postfix-out)' <<< "$out"
  # postmulti -j -l (JSON) on Postfix >= 3.11, the columns before; an older
  # postmulti asked for -j would log a fatal usage error.
  local pmlog
  pmlog=$(ct journalctl --since "$since12" --no-pager 2>&1 | grep -E 'postmulti\[[0-9]+\]: .*(fatal|Usage)' | head -n 2 || true)
  [ -z "$pmlog" ] || note "$pmlog"
  check "12 postmulti was asked only what this Postfix supports (no usage error in the journal)" test -z "$pmlog"
  ct sh -c 'cat >> /etc/dhrotate/conf.d/97-instances.toml' <<'TOML'
instance_files = "per-instance"
TOML
  ct touch -d '10 days ago' /etc/postfix/dh2048.pem
  check "12 instance_files = \"per-instance\": systemctl start dhrotate.service" start_unit dhrotate.service
  p25=$(file_prime /etc/postfix/dh2048.pem)
  p2525=$(file_prime /etc/postfix-out/dh2048.pem)
  check "12 per-instance: two different primes" bash -c '[ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]' _ "$p25" "$p2525"
  check "12 per-instance: 127.0.0.1:25 serves /etc/postfix/dh2048.pem" wait_served 25 20 "$p25"
  check "12 per-instance: 127.0.0.1:2525 serves /etc/postfix-out/dh2048.pem" wait_served 2525 20 "$p2525"
  # postfix check fails in postfix-out once its main.cf names a DH file.
  ct sh -c 'cat > /usr/local/sbin/postfix-inject && chmod 755 /usr/local/sbin/postfix-inject' <<'SH'
#!/bin/sh
if [ "$1" = -c ] && [ "$2" = /etc/postfix-out ] && [ "$3" = check ] \
   && grep -q 'dh1024_param_file *= */etc/postfix-out/dh2048.pem' /etc/postfix-out/main.cf \
   && [ "$(stat -c %Y /etc/postfix-out/dh2048.pem)" -gt "$(cat /run/inject-after)" ]; then
  echo "postfix/postfix-script: fatal: injected check failure in postfix-out" >&2
  exit 1
fi
exec /usr/sbin/postfix "$@"
SH
  ct sh -c 'date +%s > /run/inject-after'
  ct sh -c 'cat > /etc/dhrotate/conf.d/98-inject.toml' <<'TOML'
[postfix]
postfix = "/usr/local/sbin/postfix-inject"
TOML
  ct touch -d '10 days ago' /etc/postfix/dh2048.pem /etc/postfix-out/dh2048.pem
  local before after
  before=$(ct sh -c 'cat /etc/postfix/main.cf /etc/postfix/master.cf /etc/postfix/dh2048.pem /etc/postfix-out/main.cf /etc/postfix-out/master.cf /etc/postfix-out/dh2048.pem | sha256sum')
  refused_start
  after=$(ct sh -c 'cat /etc/postfix/main.cf /etc/postfix/master.cf /etc/postfix/dh2048.pem /etc/postfix-out/main.cf /etc/postfix-out/master.cf /etc/postfix-out/dh2048.pem | sha256sum')
  grep -m1 'injected' <<< "$REFUSED_LOG" | cut -c1-240 | sed 's/^/         | /'
  check "12 postfix check failing in postfix-out: the service fails with exit 4" \
    bash -c 'grep -q "status=4/" <<< "$1" && grep -q "in instance postfix-out" <<< "$1"' _ "$REFUSED_LOG"
  check "12 ... and both instances' main.cf, master.cf and group files are byte-identical" test "$before" = "$after"
  check "12 ... 127.0.0.1:25 still serves its old group" wait_served 25 5 "$p25"
  check "12 ... 127.0.0.1:2525 still serves its old group" wait_served 2525 5 "$p2525"
  ct rm -f /etc/dhrotate/conf.d/98-inject.toml
  # A disabled instance is edited and checked, not reloaded.
  ct postmulti -i postfix-out -p stop >/dev/null 2>&1 || true
  ct postmulti -i postfix-out -e disable
  ct touch -d '10 days ago' /etc/postfix/dh2048.pem /etc/postfix-out/dh2048.pem
  rc=0
  out=$(ct dhrotate now --if-due --json 2>/dev/null) || rc=$?
  check "12 disabled postfix-out: run ok, its file rotated, reload says instance-disabled" \
    python3 -c '
import json, sys
d = json.loads(sys.argv[1]); i = d["instances"][0]
ok = sys.argv[2] == "0" and i["name"] == "postfix-out" and not i["enabled"] and i["reload"] == "instance-disabled" and i["written"]
sys.exit(0 if ok else 1)' "$out" "$rc"
  ct rm -f /etc/dhrotate/conf.d/97-instances.toml /etc/systemd/system/dhrotate.service.d/instances.conf
  ct systemctl daemon-reload
}

step_purge() {
  local files left
  files=$(ct dpkg-query -L dhrotate | grep -v '^/\.$')
  check "7 dpkg --purge dhrotate" ct dpkg --purge dhrotate
  # Directories may be shared with other packages (systemd ships zsh
  # completions too): dpkg keeps those, and /lib is a link to usr/lib on a
  # merged-/usr system (bullseye, bookworm lists units under it); every
  # file must go, and dhrotate's own directories.
  left=$(ct sh -c 'for p in "$@"; do [ -d "$p" ] && continue; [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done; ls -d /etc/dhrotate /var/lib/dhrotate /etc/systemd/system/*/dhrotate* 2>/dev/null; true' _ $files)
  [ -z "$left" ] || note "left behind: $left"
  check "7 nothing of the package left behind" test -z "$left"
}

started=$(date +%s)
for suite in "${suites[@]}"; do
  work=/var/tmp/dhrotate-harness-$suite-$$
  STEP_FAILED=0
  scenario "$suite" "$work" || fail "$suite: the scenario stopped early"
  if [ "$STEP_FAILED" -ne 0 ] && [ -n "${CT_PID:-}" ]; then
    echo "  --- journal of $suite (dhrotate units, last lines)"
    ct journalctl -b --no-pager -u 'dhrotate*' | tail -n 30 || true
  fi
  ct_halt "$work"
done

echo
echo "== real systems: summary ($(( $(date +%s) - started )) s)"
printf '%s\n' "${summary[@]}"
exit "$failed"
