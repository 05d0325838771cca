# Step 8: a [curves] policy held by the timer's service: applied, drift reported by
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
