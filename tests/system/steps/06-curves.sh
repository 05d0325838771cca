# Step 6: `dhrotate curves` reads this Postfix's lists and sets the
# policies this OpenSSL supports.
step_curves() {
  local ossl=$1 out rc=0
  local major minor
  IFS=. read -r major minor _ <<< "$ossl"
  out=$(ct dhrotate curves 2>&1) || rc=$?
  echo "$out" | sed 's/^/         | /' | head -n 8
  check "6 dhrotate curves reads the default lists, no valid name called unknown (exit $rc)" \
    bash -c "[ $rc -eq 0 ] && ! grep -qi unknown <<< \"\$1\"" _ "$out"
  # Postfix 3.11's default list already offers the hybrid (?X25519MLKEM768:DEFAULT).
  if grep -q '^tls_eecdh_auto_curves = .*X25519MLKEM768' <<< "$out"; then
    check "6 no advice to add X25519MLKEM768 to a list that has it" \
      bash -c '! grep -q "offers it first" <<< "$1"' _ "$out"
  fi
  rc=0
  out=$(ct dhrotate curves --set pq-hybrid 2>&1) || rc=$?
  if [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 5 ]; }; then
    check "6 curves --set pq-hybrid (OpenSSL $ossl has ML-KEM)" test "$rc" -eq 0
    [ "$rc" -eq 0 ] || note "$out"
    local neg
    neg=$(negotiated_only X25519MLKEM768)
    note "s_client offering only X25519MLKEM768: $neg"
    check "6 a client offering only X25519MLKEM768 negotiates it" grep -q X25519MLKEM768 <<< "$neg"
    rc=0
    out=$(ct dhrotate probe 127.0.0.1:25 --json 2>&1) || rc=$?
    local group
    group=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tls13"]["group"])' "$out" 2>/dev/null || echo "?")
    note "dhrotate probe: exit $rc, tls13 group $group"
    check "6 dhrotate probe reports X25519MLKEM768 by name, exit 0" bash -c "[ $rc -eq 0 ] && [ '$group' = X25519MLKEM768 ]"
  else
    note "$out"
    check "6 curves --set pq-hybrid refused where OpenSSL $ossl lacks ML-KEM (exit 2, says why)" \
      bash -c "[ $rc -eq 2 ] && grep -q 'OpenSSL >= 3.5' <<< \"\$1\"" _ "$out"
  fi
}
