# Step 3: an explicit drop-in; each listener serves the group file it names.
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
  local since watch
  since=$(ct date '+%Y-%m-%d %H:%M:%S')
  # With the pool emptied, the ExecStartPost fill searches for seconds:
  # watch its scheduling group (systemd starts it in a session of its own,
  # which it lowers) until it shows nice 19 or the unit's start is over.
  # ExecStartPost is the unit's control process.
  ct rm -rf /var/lib/dhrotate/pool
  watch=$(mktemp)
  ct sh -c 'seen=; went=; for i in $(seq 1800); do
      eval "$(systemctl show -p ActiveState -p ControlPID dhrotate.service)"
      case "$ActiveState" in activating) went=1 ;; *) [ -n "$went" ] && break ;; esac
      if [ "${ControlPID:-0}" != 0 ]; then
        seen=$(cat "/proc/$ControlPID/autogroup" 2>/dev/null) || seen=
        case "$seen" in *"nice 19") echo "$seen"; exit 0 ;; esac
      fi
      sleep 0.1; done; echo "last seen: ${seen:-no fill}"' > "$watch" &
  local watcher=$!
  check "3 systemctl start dhrotate.service (explicit drop-in)" start_unit dhrotate.service
  wait "$watcher" || true
  note "the ExecStartPost pool fill's scheduling group: $(cat "$watch")"
  check "3 the ExecStartPost pool fill lowered its session's scheduling group to nice 19" \
    grep -qE '^/autogroup-[0-9]+ nice 19$' "$watch"
  rm -f "$watch"
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
