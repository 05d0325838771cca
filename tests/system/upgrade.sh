#!/usr/bin/env bash
# The upgrade scenario on real systems: for each Debian release, boot a
# throwaway Debian with systemd as PID 1 and its own Postfix, add dhrotate's
# signed apt repository the way the README says (its .sources file and its
# keyring, nothing [trusted=yes]), install the last published version N
# from it, configure it as an administrator of N would (editing N's
# /etc/dhrotate/dhrotate.toml, its conffile), let a rotation run, start a
# long one (an 8192-bit search), and upgrade to this tree's version N+1
# with `apt-get -y upgrade` while it runs, without --force-conf*. Once with
# the timer (then remove and purge), once with the daemon, each in a
# container of its own. A tampered InRelease is tried before each upgrade.
#
#   tests/system/upgrade.sh [SUITE...]   (default: bullseye bookworm trixie sid)
#
# N: packaging/build-published.sh SUITE (built once, cached by commit; the
# bookworm build of N serves trixie and unstable too: libssl3).
# N+1: packaging/package-for.sh SUITE (this tree's, built if missing). The repository is signed with a throwaway key made here.
# Prints N and N+1 and each check; exits 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/system
. "$here/lib.sh"
. "$here/checks.sh"

[ "$(id -u)" -eq 0 ] || { echo "upgrade.sh: needs root (systemd-nspawn)" >&2; exit 1; }
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bullseye bookworm trixie sid)

# The repository as the container sees it, and the administrator's
# configuration change: RFC 7919's ffdhe2048 in a file of their naming
# instead of the default.
REPO_URL=file:///srv/dhrotate-apt
CONF=/etc/dhrotate/dhrotate.toml
GROUP_FILE=/etc/postfix/ffdhe2048.pem

# make_repos WORK SUITE OLD NEW: a throwaway signing key, the repository
# with N alone (WORK/repo-old) and with N and N+1 (WORK/repo-new).
make_repos() {
  local work=$1 suite=$2 old=$3 new=$4
  export DHROTATE_REPO_GNUPGHOME=$work/gnupg
  DHROTATE_REPO_KEY=$(packaging/throwaway-key.sh "$DHROTATE_REPO_GNUPGHOME")
  export DHROTATE_REPO_KEY
  packaging/apt-repo.sh "$work/repo-old" "$REPO_URL" "$suite=$old" > /dev/null
  packaging/apt-repo.sh "$work/repo-new" "$REPO_URL" "$suite=$old,$new" > /dev/null
}

# publish DIR: what the web server would serve from now on.
publish() {
  rm -rf "$CT_ROOT/srv/dhrotate-apt"
  cp -a "$1" "$CT_ROOT/srv/dhrotate-apt"
}

# The container has no network: `apt-get update` reads dhrotate's source
# only and keeps the release's own lists, fetched when it was prepared.
apt_update() {
  ct apt-get update -o Dir::Etc::SourceList=/dev/null -o APT::Get::List-Cleanup=false 2>&1
}
candidate() { ct apt-cache policy dhrotate | awk '/Candidate:/ { print $2 }'; }
installed() { ct dpkg-query -W -f='${Version}' dhrotate 2>/dev/null || true; }

# The files an upgrade must leave as they were: the administrator's
# configuration and the group file, byte for byte; the state directory's
# files and the pool's groups (the daemon may add to them, never lose one).
kept_files() { ct sha256sum "$CONF" "$GROUP_FILE"; }
state_files() { ct find /var/lib/dhrotate -type f -not -name '*.lock' | sort; }
# Whether 127.0.0.1:25 serves RFC 7919's ffdhe2048 (a named group's file
# holds only the group's name, no prime to compare with).
serves_ffdhe2048() { wait_served_named 25 20 rfc7919-ffdhe2048; }

step_repository() {
  local suite=$1 old_ver=$2 out
  ct mkdir -p /usr/share/keyrings /etc/apt/sources.list.d
  cp "$CT_ROOT/srv/dhrotate-apt/dhrotate-$suite.sources" "$CT_ROOT/etc/apt/sources.list.d/dhrotate.sources"
  cp "$CT_ROOT/srv/dhrotate-apt/dhrotate-archive-keyring.pgp" "$CT_ROOT/usr/share/keyrings/"
  check "U1 no apt source of the test is [trusted=yes]" \
    bash -c '! grep -rqi trusted "$1/etc/apt/sources.list" "$1/etc/apt/sources.list.d"' _ "$CT_ROOT"
  out=$(apt_update) || { echo "$out" | tail -n 5; fail "U1 apt-get update with dhrotate.sources"; return 1; }
  note "$(grep dhrotate-apt <<< "$out" | head -n 1)"
  check "U1 apt-get update: the signed repository is read (Signed-By)" grep -qE "dhrotate-apt $suite InRelease" <<< "$out"
  if out=$(ct apt-get install -y dhrotate dhrotate-archive-keyring 2>&1); then
    pass "U1 apt-get install dhrotate dhrotate-archive-keyring from the repository"
  else
    echo "$out" | tail -n 15
    fail "U1 apt-get install dhrotate from the repository"
    return 1
  fi
  check "U1 installed N = $old_ver" test "$(installed)" = "$old_ver"
  check "U1 the keyring package now owns the key file" \
    test "$(ct dpkg -S /usr/share/keyrings/dhrotate-archive-keyring.pgp 2>/dev/null | cut -d: -f1)" = dhrotate-archive-keyring
}

# The administrator's change, in the file N told them to edit.
# A pool of one: each rotation N runs fills the pool with custom groups of
# every configured size, though named mode never takes one (N+1 fills only
# for explicit mode); the upgrade must keep the pool, not a full one. With two 3072-bit
# groups, N's rotations and pool fills took 281 of this test's 438
# CPU-seconds on bookworm; with one 2048-bit group, 38 of 114.
step_configure() {
  local file
  file=$(basename "$GROUP_FILE")
  ct sed -i -e 's/^mode = "detect"/mode = "named"/' \
    -e "s|^file = \"dh2048.pem\"\$|file = \"$file\"|" \
    -e 's/^# \[pool\]$/[pool]/' -e 's/^# size = 2$/size = 1/' "$CONF"
  check "U2 $CONF edited (mode named, main group in $file, a pool of one)" \
    ct sh -c "grep -qx 'mode = \"named\"' $CONF && grep -qx 'file = \"$file\"' $CONF && grep -qx 'size = 1' $CONF"
  check "U2 a rotation applies it (systemctl start dhrotate.service)" start_unit dhrotate.service
  check "U2 127.0.0.1:25 serves RFC 7919's ffdhe2048, from $GROUP_FILE" serves_ffdhe2048
}

# The units either of which runs the long search; step_settled takes their
# one-core drop-ins away again.
LONG_UNITS=(dhrotate.service dhrotate-daemon.service)

# An 8192-bit search, which takes minutes: the upgrade happens during it.
# The test needs it long, not fast: it runs on one core (CPUAffinity, which
# it reads as its thread count), and `in_background` below makes it yield
# that core to anything else that wants it (on CI, the next release's
# package build).
long_dropin() {
  ct sh -c 'mkdir -p /etc/dhrotate/conf.d && cat > /etc/dhrotate/conf.d/90-long.toml' <<'TOML'
mode = "explicit"

[[group]]
name = "main"
bits = 8192
file = "dh8192.pem"
TOML
  local unit
  for unit in "${LONG_UNITS[@]}"; do
    ct sh -c "mkdir -p /etc/systemd/system/$unit.d && printf '[Service]\nCPUAffinity=0\n' > /etc/systemd/system/$unit.d/90-one-core.conf"
  done
  ct systemctl daemon-reload
}


# in_background UNIT: the unit's running process (and the search threads it
# starts) gets the CPU only when nothing else wants it. systemd starts each
# service in a session of its own, which the kernel schedules as one group
# (autogroup) beside every other session: a nice value inside it, or
# SCHED_IDLE, would only rank it within that group. The group's own nice
# does it, and needs no cgroup controller (the containers here have none).
in_background() {
  local unit=$1
  note "$unit: $(ct sh -c 'p=$(systemctl show -p MainPID --value "$1"); echo 19 > /proc/$p/autogroup && cat /proc/$p/autogroup' _ "$unit" 2>&1)"
}

# step_tampered SUITE OLD_VER: N+1 offered by an InRelease altered after
# signing: apt must refuse it and keep offering N.
step_tampered() {
  local suite=$1 old_ver=$2 out
  publish "$WORK/repo-new"
  ct sed -i 's/^Date: .*/Date: Thu, 01 Jan 2099 00:00:00 +0000/' "/srv/dhrotate-apt/dists/$suite/InRelease"
  ct rm -f "/srv/dhrotate-apt/dists/$suite/Release.gpg"
  out=$(apt_update || true)
  note "$(grep -iE 'signature|BADSIG|not signed|invalid|manipulated' <<< "$out" | head -n 2 | tr '\n' ' ')"
  # gpgv (apt 2.x) says BADSIG, sqv (apt 3.x) "manipulated".
  check "U3 a tampered InRelease is refused by apt (signature error)" \
    grep -qiE 'BADSIG|signatures (were|couldn.t be) (invalid|verified)|bad signature|not signed|has been manipulated|signature verification failed' <<< "$out"
  check "U3 ... and apt still offers N ($old_ver), not the tampered repository's N+1" \
    test "$(candidate)" = "$old_ver"
}

# step_upgrade NEW_VER: the upgrade itself; sets UPGRADE_SINCE/UPGRADE_UNTIL.
step_upgrade() {
  local new_ver=$1 out rc=0
  publish "$WORK/repo-new"
  out=$(apt_update) || { echo "$out" | tail -n 5; fail "U4 apt-get update"; return 1; }
  check "U4 apt offers N+1 = $new_ver" test "$(candidate)" = "$new_ver"
  UPGRADE_SINCE=$(ct date '+%Y-%m-%d %H:%M:%S')
  # stdin is /dev/null: a conffile prompt would fail the upgrade, not hang.
  out=$(ct env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -y upgrade < /dev/null 2>&1) || rc=$?
  sleep 1
  UPGRADE_UNTIL=$(ct date '+%Y-%m-%d %H:%M:%S')
  echo "$out" | grep -E '^(Unpacking|Setting up|Preparing)' | sed 's/^/         | /'
  check "U4 DEBIAN_FRONTEND=noninteractive apt-get -y upgrade, no --force-conf*: exit 0 (got $rc)" test "$rc" -eq 0
  check "U4 no configuration file prompt" bash -c '! grep -qiE "configuration file|conffile|\*\*\* .* \(Y/I/N/O/D/Z\)" <<< "$1"' _ "$out"
  check "U4 installed N+1 = $new_ver" test "$(installed)" = "$new_ver"
  note "dpkg's conffiles of dhrotate now: $(ct dpkg-query -W -f='${Conffiles}' dhrotate | tr '\n' ' ')"
}

step_after_upgrade() {
  local before_files=$1 master_before=$2 state_before=$3 out units u lost
  check "U5 the administrator's $CONF and $GROUP_FILE kept, byte for byte" \
    test "$(kept_files)" = "$before_files"
  lost=$(comm -23 <(echo "$state_before") <(state_files))
  note "state directory: $(echo "$state_before" | wc -l) files before, $(state_files | wc -l) after${lost:+; lost: $lost}"
  check "U5 every file of the state directory (state, backups, pool) kept" test -z "$lost"
  units="dhrotate.service dhrotate.timer dhrotate-daemon.service"
  out=$(for u in $units; do echo "$u $(ct systemctl show -p NeedDaemonReload --value "$u")"; done)
  note "NeedDaemonReload: $(echo "$out" | tr '\n' ' ')"
  check "U5 no unit needs a daemon reload" bash -c '! grep -q " yes$" <<< "$1"' _ "$out"
  local reloads='postfix/(postfix-script|master)\[[0-9]+\]: (reload|refreshing)' seen
  # The journal does record Postfix's reloads (the rotation of U2 made
  # one), so finding none during the upgrade means there was none.
  seen=$(ct journalctl -b --no-pager 2>/dev/null | grep -cE "$reloads" || true)
  note "Postfix reloads in the journal since boot: $seen"
  check "U5 the journal records Postfix reloads (the rotations' own)" test "$seen" -gt 0
  out=$(ct journalctl --since "$UPGRADE_SINCE" --until "$UPGRADE_UNTIL" --no-pager 2>/dev/null | grep -E "$reloads" || true)
  [ -z "$out" ] || note "$out"
  check "U5 Postfix was not reloaded by the upgrade (journal, master pid unchanged)" \
    bash -c '[ -z "$1" ] && [ "$2" = "$3" ]' _ "$out" "$master_before" "$(master_pid)"
}
# quietly CMD...: its output only when it fails.
quietly() {
  local out
  out=$("$@" 2>&1) && return 0
  echo "$out" | tail -n 15 | sed 's/^/         | /'
  return 1
}
master_pid() { ct sh -c 'cat /var/spool/postfix/pid/master.pid 2>/dev/null | tr -d " "'; }

# After the long search ends: main.cf whole, the served group one of the
# two, the administrator's values in effect, status healthy.
step_settled() {
  local status rc=0 param unit
  ct rm -f /etc/dhrotate/conf.d/90-long.toml
  for unit in "${LONG_UNITS[@]}"; do
    ct rm -f "/etc/systemd/system/$unit.d/90-one-core.conf"
    ct rmdir --ignore-fail-on-non-empty "/etc/systemd/system/$unit.d"
  done
  ct systemctl daemon-reload
  check "U6 postfix check passes (main.cf and master.cf whole)" ct postfix check
  param=$(ct postconf -h smtpd_tls_dh1024_param_file)
  check "U6 main.cf names $GROUP_FILE (the search was interrupted, nothing written)" test "$param" = "$GROUP_FILE"
  check "U6 127.0.0.1:25 serves the group of the file main.cf names (ffdhe2048)" serves_ffdhe2048
  status=$(ct dhrotate status 2>&1) || rc=$?
  echo "$status" | sed 's/^/         | /' | head -n 8
  check "U6 dhrotate status healthy (exit $rc): the administrator's named group in effect" \
    bash -c '[ "$1" -eq 0 ] && grep -q "mode: Named" <<< "$2" && grep -qF "2048 bits -> $3" <<< "$2"' _ "$rc" "$status" "$GROUP_FILE"
  check "U6 no temp files left" test -z "$(ct find /etc/postfix /var/lib/dhrotate -name '*.tmp' -o -name '.dhrotate-*')"
}

variant_timer() {
  local suite=$1 old_ver=$2 new_ver=$3 files pid_before pid_after master state
  step_repository "$suite" "$old_ver" || return
  step_configure
  long_dropin
  local since
  since=$(ct date '+%Y-%m-%d %H:%M:%S')
  ct systemctl start --no-block dhrotate.service
  check "U3 a rotation with an 8192-bit search is running (dhrotate.service)" wait_search dhrotate.service "$since"
  pid_before=$(ct systemctl show -p MainPID --value dhrotate.service)
  note "$(ct taskset -cp "$pid_before" 2>&1)"
  in_background dhrotate.service
  step_tampered "$suite" "$old_ver"
  files=$(kept_files); master=$(master_pid); state=$(state_files)
  step_upgrade "$new_ver" || return
  pid_after=$(ct systemctl show -p MainPID --value dhrotate.service)
  check "U5 the rotation in progress was not stopped or restarted by the upgrade (pid $pid_before)" \
    test "$pid_before" = "$pid_after" -a "$pid_before" != 0
  check "U5 dhrotate.timer enabled and active" \
    ct sh -c 'systemctl is-enabled dhrotate.timer >/dev/null && systemctl is-active dhrotate.timer >/dev/null'
  step_after_upgrade "$files" "$master" "$state"
  # The administrator (or a shutdown) stops the long search.
  check "U6 systemctl stop dhrotate.service ends the search" quietly ct timeout 100 systemctl stop dhrotate.service
  step_settled
  step_remove
}

variant_daemon() {
  local suite=$1 old_ver=$2 new_ver=$3 files master state inv_before inv_after restarts
  step_repository "$suite" "$old_ver" || return
  step_configure
  ct systemctl disable --now dhrotate.timer > /dev/null 2>&1
  long_dropin
  ct sh -c 'cat > /etc/dhrotate/conf.d/60-schedule.toml' <<'TOML'
[schedule]
cron = "*/10 * * * * *"
jitter = "0s"
catch_up = false
TOML
  local since
  since=$(ct date '+%Y-%m-%d %H:%M:%S')
  check "U3 systemctl enable --now dhrotate-daemon" ct systemctl enable --now dhrotate-daemon.service
  check "U3 the daemon's rotation with an 8192-bit search is running" wait_search dhrotate-daemon.service "$since"
  in_background dhrotate-daemon.service
  inv_before=$(ct systemctl show -p InvocationID --value dhrotate-daemon.service)
  step_tampered "$suite" "$old_ver"
  files=$(kept_files); master=$(master_pid); state=$(state_files)
  step_upgrade "$new_ver" || return
  # N+1's daemon, in a session of its own, takes up the search again.
  in_background dhrotate-daemon.service
  inv_after=$(ct systemctl show -p InvocationID --value dhrotate-daemon.service)
  restarts=$(ct journalctl -u dhrotate-daemon.service --since "$UPGRADE_SINCE" --until "$UPGRADE_UNTIL" --no-pager | grep -c 'systemd\[1\]: Stopped' || true)
  check "U5 dhrotate-daemon restarted once by the upgrade (stops: $restarts)" \
    bash -c '[ "$1" != "$2" ] && [ "$3" -eq 1 ]' _ "$inv_before" "$inv_after" "$restarts"
  check "U5 the daemon runs N+1's program (not the deleted old one)" \
    ct sh -c 'p=$(systemctl show -p MainPID --value dhrotate-daemon.service); [ "$p" != 0 ] && [ "$(readlink /proc/$p/exe)" = /usr/bin/dhrotate ]'
  check "U5 dhrotate.timer still disabled and inactive (the daemon's alternative)" \
    ct sh -c '! systemctl is-enabled dhrotate.timer >/dev/null 2>&1 && ! systemctl is-active dhrotate.timer >/dev/null 2>&1'
  check "U5 the interrupted search wrote nothing: main.cf still names $GROUP_FILE" \
    test "$(ct postconf -h smtpd_tls_dh1024_param_file)" = "$GROUP_FILE"
  step_after_upgrade "$files" "$master" "$state"
  ct rm -f /etc/dhrotate/conf.d/60-schedule.toml
  check "U6 systemctl stop dhrotate-daemon" ct timeout 100 systemctl stop dhrotate-daemon.service
  step_settled
}

# apt-get remove keeps the configuration and stops everything; purge
# removes what is left; Postfix keeps serving and starting throughout.
step_remove() {
  local served left
  served=$(served_prime 25 || true)
  check "U7 apt-get remove dhrotate" quietly ct env DEBIAN_FRONTEND=noninteractive apt-get -y remove dhrotate
  check "U7 after remove: $CONF kept" ct test -f "$CONF"
  local timer
  timer=$(ct systemctl show -p LoadState -p ActiveState dhrotate.timer | sort | tr '\n' ' ')
  note "dhrotate.timer after remove: $timer"
  # Bullseye's debhelper also masks a removed package's units until purge.
  check "U7 after remove: the timer is gone (unit file not found or masked, inactive)" \
    bash -c '[[ "$1" == "ActiveState=inactive LoadState=not-found " || "$1" == "ActiveState=inactive LoadState=masked " ]]' _ "$timer"
  check "U7 after remove: Postfix serves the same group" test "$(served_prime 25 || true)" = "$served"
  check "U7 apt-get purge dhrotate" quietly ct env DEBIAN_FRONTEND=noninteractive apt-get -y purge dhrotate
  left=$(ct sh -c 'ls -d /etc/dhrotate /var/lib/dhrotate /usr/bin/dhrotate /etc/systemd/system/*/dhrotate* 2>/dev/null; dpkg-query -W -f="\${Status}" dhrotate 2>/dev/null | grep -v "not-installed"; true')
  [ -z "$left" ] || note "left behind: $left"
  check "U7 after purge: nothing of dhrotate left" test -z "$left"
  check "U7 after purge: Postfix restarts and serves DHE" ct systemctl restart postfix
  check "U7 ... on 127.0.0.1:25" wait_served 25 20 "$served"
}

scenario() {
  local suite=$1 old new old_ver new_ver rootfs variant
  current=$suite
  echo "== $suite: upgrade"
  WORK=/var/tmp/dhrotate-upgrade-$suite-$$
  rm -rf "$WORK"; mkdir -p "$WORK"
  if ! old=$(packaging/build-published.sh "$suite"); then
    fail "the published version for $suite could not be built (packaging/build-published.sh $suite)"
    return
  fi
  if ! new=$(packaging/package-for.sh "$suite"); then
    fail "the $suite package could not be built (packaging/build-release.sh $suite)"
    return
  fi
  old_ver=$(dpkg-deb -f "$old" Version); new_ver=$(dpkg-deb -f "$new" Version)
  echo "  N = $old_ver ($(basename "$old")), N+1 = $new_ver ($(basename "$new"))"
  summary+=("$suite  ----  upgrade $old_ver -> $new_ver")
  check "U0 N+1 sorts above N (dpkg --compare-versions)" dpkg --compare-versions "$new_ver" gt "$old_ver"
  make_repos "$WORK" "$suite" "$old" "$new" || { fail "building the signed repositories"; return; }
  rootfs=$("$here/rootfs.sh" "$suite") || { fail "root filesystem for $suite"; return; }
  for variant in timer daemon; do
    echo "  -- $variant"
    ct_prepare "$rootfs" "$WORK/$variant" "$old" || { fail "preparing the $suite container"; continue; }
    CT_ROOT=$WORK/$variant/root
    mkdir -p "$CT_ROOT/srv"
    publish "$WORK/repo-old"
    if ! ct_boot "dhu-$suite-$variant" "$WORK/$variant"; then
      fail "booting $suite with systemd as PID 1"
      continue
    fi
    setup_postfix "$(ct postconf -h mail_version)"
    STEP_FAILED=0
    "variant_$variant" "$suite" "$old_ver" "$new_ver"
    if [ "$STEP_FAILED" -ne 0 ]; then
      echo "  --- journal of $suite (dhrotate units, last lines)"
      ct journalctl -b --no-pager -u 'dhrotate*' | tail -n 30 || true
    fi
    ct_halt "$WORK/$variant"
  done
  rm -rf "$WORK"
}

started=$(date +%s)
for suite in "${suites[@]}"; do
  scenario "$suite" || fail "$suite: the upgrade scenario stopped early"
done
echo
echo "== upgrades: summary ($(( $(date +%s) - started )) s)"
printf '%s\n' "${summary[@]}"
exit "$failed"
