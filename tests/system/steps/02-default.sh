# Steps 2 and 5: the shipped unit with the default configuration rotates
# and leaves Postfix's defaults alone, warning-free on this Postfix.
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
