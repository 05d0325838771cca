# Step 1 of the real-systems scenario (tests/system/run.sh): the package
# installs with its dependencies and enables the timer, not the daemon.
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
