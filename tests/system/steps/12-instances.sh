# Step 12: Postfix multi-instance as MULTI_INSTANCE_README sets it up: postmulti -e
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
