#!/usr/bin/env bash
# The real-systems harness: for each Debian release, boot a throwaway
# Debian with systemd as PID 1, journald and its own Postfix, install the
# dhrotate package built for that release (packaging/build-release.sh, in
# the release's own build root) there and use it only through what the
# package ships (/usr/bin/dhrotate, its units, its default configuration).
#
#   tests/system/run.sh [SUITE...]   (default: bullseye bookworm trixie sid)
#
# Each release takes target/packages/SUITE/dhrotate_*.deb, built first if
# missing; DHROTATE_DEB=path installs that one package everywhere instead;
# DHROTATE_ROOTFS_CACHE=dir keeps the root filesystems elsewhere than
# /var/lib/machines. Prints, per release, the Postfix and OpenSSL versions
# and each step's outcome; exits 1 if any step failed. It never skips: a
# container that cannot be built or booted is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/system
. "$here/lib.sh"
. "$here/checks.sh"
# One file per step, each defining step_NAME (the order is scenario's).
for step in "$here"/steps/*.sh; do . "$step"; done

[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (systemd-nspawn, debootstrap)" >&2; exit 1; }
for tool in debootstrap systemd-nspawn nsenter python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/test.sh installs it)" >&2; exit 1; }
done

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bullseye bookworm trixie sid)

# The package a release installs: its own build, made now if missing.
package_for() {
  local suite=$1
  if [ -n "${DHROTATE_DEB:-}" ]; then
    readlink -f "$DHROTATE_DEB"
    return
  fi
  packaging/package-for.sh "$suite"
}

scenario() {
  local suite=$1 work=$2 rootfs ver_pf ver_ssl ver_dv deb
  current=$suite
  echo "== $suite"
  if ! deb=$(package_for "$suite"); then
    fail "the $suite package could not be built (packaging/build-release.sh $suite)"
    return
  fi
  echo "  package: $deb"
  if ! rootfs=$("$here/rootfs.sh" "$suite"); then
    fail "root filesystem for $suite could not be built"
    return
  fi
  ct_prepare "$rootfs" "$work" "$deb" || { fail "preparing the $suite container"; return; }
  if ! ct_boot "dhr-$suite" "$work"; then
    fail "booting $suite with systemd as PID 1"
    return
  fi
  ver_pf=$(ct postconf -h mail_version)
  ver_ssl=$(ct openssl version | awk '{print $2}')
  ver_dv=$(ct dovecot --version | awk '{print $1}')
  echo "  $suite: Postfix $ver_pf, OpenSSL $ver_ssl, Dovecot $ver_dv, $(ct systemctl --version | head -n 1)"
  summary+=("$suite  ----  Postfix $ver_pf, OpenSSL $ver_ssl, Dovecot $ver_dv, $(basename "$deb")")
  setup_postfix "$ver_pf"

  step_install
  step_default_run "$ver_pf"
  step_explicit
  step_daemon
  step_curves "$ver_ssl"
  step_curve_policy "$ver_ssl" "$ver_pf"
  step_posture "$ver_pf"
  step_dhe_policy
  step_metrics
  step_hooks "$ver_pf"
  step_instances
  step_purge
}

started=$(date +%s)
for suite in "${suites[@]}"; do
  work=/var/tmp/dhrotate-harness-$suite-$$
  STEP_FAILED=0
  scenario "$suite" "$work" || fail "$suite: the scenario stopped early"
  if [ "$STEP_FAILED" -ne 0 ] && [ -n "${CT_PID:-}" ]; then
    echo "  --- journal of $suite (dhrotate units, last lines)"
    ct journalctl -b --no-pager -u 'dhrotate*' | tail -n 30 || true
  fi
  ct_halt "$work"
done

echo
echo "== real systems: summary ($(( $(date +%s) - started )) s)"
printf '%s\n' "${summary[@]}"
exit "$failed"
