# Step 10: a [metrics] textfile written by the hardened timer service into
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
