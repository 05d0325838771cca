# Step 9b: [policy] dhe = "off" as a drop-in: the timer's service stops DHE for TLS
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
