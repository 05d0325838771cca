# Step 9: the posture under each guideline of what this release serves by default
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
