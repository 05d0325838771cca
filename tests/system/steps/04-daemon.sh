# Step 4: dhrotate-daemon (Type=notify) rotates on its schedule.
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
