# Step 11: Dovecot beside Postfix, reading the main group (ssl_dh on 2.3,
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
