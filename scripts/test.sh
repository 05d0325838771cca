#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with the Rust toolchain,
# as root. Installs what the tests need (Postfix, OpenSSL headers,
# e2fsprogs for chattr, dpkg-dev/debhelper/rpm/rpmlint/man-db for the
# packages, debootstrap and systemd-container for the build roots and the
# real systems, prometheus and prometheus-node-exporter for the metrics
# tests, python3-venv and python3-apt for ansible-core from PyPI), then
# runs formatting, lints, every test, the packages (the source package;
# each release's package built in its own clean root, offline, lintian
# clean, and built twice to show it reproducible; the host's package
# installed, used and purged; the Ansible role installing it; the RPM from
# source, rpmlint clean), the real-systems harness (each release's package on
# booted Debian 11, 12, 13 and unstable, tests/system/run.sh) and the
# upgrades (the last published version, from a signed apt repository, to
# this one, on each release: tests/system/upgrade.sh; piuparts; the
# autopkgtest; apt-utils, gpg and piuparts for them). The
# end-to-end tests start private Postfix instances and packages are
# installed, so this runs as root (sudo if needed).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
[ -x /usr/sbin/postfix ] || need+=(postfix)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v openssl >/dev/null || need+=(openssl)
command -v chattr >/dev/null || need+=(e2fsprogs)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v lintian >/dev/null || need+=(lintian)
command -v dpkg-buildpackage >/dev/null || need+=(dpkg-dev)
command -v dh >/dev/null || need+=(debhelper)
command -v rpmbuild >/dev/null || need+=(rpm)
# The signed apt repository (apt-ftparchive, gpg) and piuparts.
command -v apt-ftparchive >/dev/null || need+=(apt-utils)
command -v gpg >/dev/null || need+=(gpg)
command -v piuparts >/dev/null || need+=(piuparts)
command -v rpmlint >/dev/null || need+=(rpmlint)
command -v cpio >/dev/null || need+=(cpio)
command -v man >/dev/null || need+=(man-db)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
# Prometheus's promtool (rules, metrics lint) and node_exporter (a real
# scrape of the textfile), tests/metrics.rs.
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
# ansible-core's venv (tests/ansible.rs) and its apt module.
dpkg -s python3-venv >/dev/null 2>&1 || need+=(python3-venv)
dpkg -s python3-apt >/dev/null 2>&1 || need+=(python3-apt)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  echo "postfix postfix/main_mailer_type select Local only" | $SUDO debconf-set-selections
  echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# What each part costs, for the record: the phases' times, and the
# machine's CPU use every 30 s (target/cpu.log: seconds, % busy, load),
# summed up per 10 minutes at the end. A run that keeps both cores busy is
# shortened only by doing less work; idle minutes can be filled.
phase() { echo "== [$(( SECONDS / 60 ))m$(( SECONDS % 60 ))s] done: $*"; }
mkdir -p target
cpu_record() {
  local t0=$SECONDS _c a b c d e f g h total idle pt pi
  read -r _c a b c d e f g h _ < /proc/stat; pt=$((a+b+c+d+e+f+g+h)); pi=$((d+e))
  while sleep 30; do
    read -r _c a b c d e f g h _ < /proc/stat; total=$((a+b+c+d+e+f+g+h)); idle=$((d+e))
    echo "$(( SECONDS - t0 )) $(( 100 - 100 * (idle - pi) / (total - pt) )) $(cut -d' ' -f1 /proc/loadavg)"
    pt=$total; pi=$idle
  done
}
cpu_summary() {
  awk '{ b = int($1 / 600); s[b] += $2; n[b]++; all += $2; k++ }
       END { printf "== CPU busy per 10 minutes (%%):"; for (i = 0; i in n; i++) printf " %d", s[i] / n[i];
             if (k) printf "; over the run %d%%", all / k; print "" }' target/cpu.log
}
cpu_record > target/cpu.log &
cpu_pid=$!
trap 'kill "$cpu_pid" 2>/dev/null || true' EXIT
suites=(bullseye bookworm trixie sid)
host=$(. /etc/os-release && echo "$VERSION_CODENAME")

# The packages, in the background from the start: build roots (debootstrap,
# cached in /var/lib/machines), the source package, each release's package
# built in its own clean root (offline, lintian clean), each release's real
# system booted as soon as its package exists (the harness mostly waits on
# booting, Postfix and handshakes), the published version built and the
# upgrade from it run likewise, then a second build for the
# reproducibility check and the RPM from source. The compilers share two
# cores with cargo test, whose end-to-end tests mostly wait on Postfix. Unit tests run inside the
# bullseye (OpenSSL 1.1.1) and sid (Debian's crates) builds and the RPM's
# %check; the bookworm and trixie builds skip them (DEB_BUILD_OPTIONS=nocheck):
# same code and crates as the host's cargo test, and each costs minutes.
packages() {
  local suite rc=0
  # Each root is waited for by what needs it, not all by the first build:
  # on a fresh machine the eight debootstraps take minutes, and bullseye's
  # build root (no compiler in it) is ready long before the others.
  rm -rf target/roots; mkdir -p target/roots
  for suite in "${suites[@]}"; do
    ($SUDO tests/system/rootfs.sh "$suite" > "target/rootfs-$suite.log" 2>&1 || true
     touch "target/roots/rootfs-$suite") &
    ($SUDO packaging/buildroot.sh "$suite" > "target/buildroot-$suite.log" 2>&1 || true
     touch "target/roots/build-$suite") &
  done
  packaging/build-source.sh
  # Per release: its package, then (in the background) the harness on it;
  # the last published version built from its own source (once: cached by
  # commit; one build per OpenSSL ABI, bullseye's and bookworm's), then (in
  # the background) the upgrade from it through the signed repository;
  # piuparts on bookworm and trixie, the autopkgtest on trixie, in the
  # background too. Whatever boots a release waits for its root.
  local background=() logs=()
  for suite in "${suites[@]}"; do
    local nocheck=""
    case "$suite" in bookworm|trixie) nocheck=1 ;; esac
    # A failed root is built again by build-release.sh or run.sh, and reported.
    root_ready "build-$suite"
    phase "build root for $suite"
    $SUDO env "PATH=$PATH" DHROTATE_NOCHECK="$nocheck" packaging/build-release.sh "$suite" || return 1
    phase "package for $suite"
    booted "$suite" tests/system/run.sh "$suite" > "target/harness-$suite.log" 2>&1 &
    background+=($!); logs+=("target/harness-$suite.log")
    $SUDO env "PATH=$PATH" packaging/build-published.sh "$suite" > /dev/null || rc=1
    phase "published version for $suite"
    # test-deb.sh upgrades this machine's release's published version too.
    [ "$suite" = "$host" ] && touch target/host-package.ready
    booted "$suite" tests/system/upgrade.sh "$suite" > "target/upgrade-$suite.log" 2>&1 &
    background+=($!); logs+=("target/upgrade-$suite.log")
    case "$suite" in
      bookworm|trixie)
        $SUDO env "PATH=$PATH" packaging/test-piuparts.sh "$suite" > "target/piuparts-$suite.out" 2>&1 &
        background+=($!); logs+=("target/piuparts-$suite.out") ;;
    esac
    if [ "$suite" = trixie ]; then
      booted trixie packaging/test-autopkgtest.sh trixie > target/autopkgtest-trixie.out 2>&1 &
      background+=($!); logs+=(target/autopkgtest-trixie.out)
    fi
  done
  # Two builds of one source, in different directories at different times
  # (the second one now): bullseye's, the quickest.
  $SUDO env "PATH=$PATH" packaging/test-reproducible.sh bullseye || rc=1
  phase "reproducibility (a second bullseye build)"
  packaging/test-rpm.sh || rc=1
  phase "RPM from source"
  local i
  for i in "${!background[@]}"; do
    wait "${background[$i]}" || rc=1
    cat "${logs[$i]}"
  done
  phase "real systems, upgrades, piuparts, autopkgtest"
  return "$rc"
}
# root_ready NAME: waits until the root job NAME (build-SUITE, rootfs-SUITE)
# has ended, well or not.
root_ready() { until [ -e "target/roots/$1" ]; do sleep 5; done; }
# booted SUITE COMMAND...: COMMAND as root once SUITE's real-system root is
# ready (two debootstraps into one tree would wreck it).
booted() {
  local suite=$1; shift
  root_ready "rootfs-$suite"
  $SUDO env "PATH=$PATH" "$@"
}
rm -f target/host-package.ready
packages > target/packages.log 2>&1 &
packages_pid=$!

cargo fmt --all -- --check
# The hardened unit's exposure, for the record (tests assert <= 3.0).
for unit in dhrotate.service dhrotate-daemon.service; do
  systemd-analyze security --offline=true "systemd/$unit" | tail -n 1
done
cargo clippy --all-targets --locked -- -D warnings
rm -rf target/tmp/reports
if [ "$(id -u)" -ne 0 ]; then
  # Private Postfix instances need root: build as you, test as root.
  cargo test --locked --no-run
  $SUDO env "PATH=$PATH" cargo test --locked
else
  cargo test --locked
fi
# What the harness tests measured (cargo test hides passing tests' output).
cat target/tmp/reports/*.txt
phase "fmt, clippy, cargo test"
# This machine's release's package: installed, used and purged; then the
# example Ansible role with ansible-core from PyPI in a venv of Debian's
# Python (which has python3-apt for the apt module) installs it
# (tests/ansible.rs).
while [ ! -e target/host-package.ready ]; do
  kill -0 "$packages_pid" 2>/dev/null || break
  sleep 5
done
if [ -e target/host-package.ready ]; then
  host_deb=$(ls target/packages/"$host"/dhrotate_*.deb | head -n 1)
  $SUDO env "PATH=$PATH" packaging/test-deb.sh
  if [ ! -x target/ansible-venv/bin/ansible-playbook ]; then
    /usr/bin/python3 -m venv target/ansible-venv
    target/ansible-venv/bin/pip install --quiet ansible-core
  fi
  $SUDO env "PATH=$PATH" DHROTATE_DEB="$host_deb" \
    DHROTATE_ANSIBLE_PLAYBOOK="$PWD/target/ansible-venv/bin/ansible-playbook" \
    cargo test --locked --test ansible -- --ignored
  cat target/tmp/reports/ansible-*.txt
  phase ".deb on this machine, Ansible"
fi
packages_rc=0
wait "$packages_pid" || packages_rc=$?
cat target/packages.log
[ -e target/host-package.ready ] || { echo "scripts/test.sh: no package for $host was built (above)"; exit 1; }
phase "packages and real systems (beside the rest)"
cpu_summary
exit "$packages_rc"
