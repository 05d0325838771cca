# Functions of the real-systems harness (sourced by tests/system/run.sh):
# boot a throwaway copy of a cached root filesystem with systemd as PID 1,
# run commands inside it, tear it down. Needs root, systemd-nspawn and
# nsenter (packages systemd-container, util-linux).

# ct_prepare ROOTFS WORKDIR DEB: copies ROOTFS to WORKDIR/root, puts DEB at
# /root/dhrotate.deb and downloads (not installs) what it depends on, from
# the release's own archive: the container has no network, and
# `apt-get install ./dhrotate.deb` there must still resolve the
# dependencies itself. CT_DOWNLOAD="pkg..." downloads those packages too.
ct_prepare() {
  local rootfs=$1 work=$2 deb=$3
  rm -rf "$work"
  mkdir -p "$work"
  cp -a --reflink=auto "$rootfs" "$work/root"
  cp "$deb" "$work/root/root/dhrotate.deb"
  cp /etc/resolv.conf "$work/root/etc/resolv.conf" 2>/dev/null || true
  local in_root=(chroot "$work/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive)
  # Valid-Until is not checked: a mirror may serve unstable's Release file
  # past its expiry (a frozen or lagging mirror), which is no reason to fail
  # a test of dhrotate; the signatures are still checked.
  "${in_root[@]}" apt-get -qq -o Acquire::Retries=3 -o Acquire::Check-Valid-Until=false update >&2 \
    && "${in_root[@]}" apt-get -qq --download-only -y install /root/dhrotate.deb ${CT_DOWNLOAD:-} >&2
}

ct_boot() {
  local name=$1 work=$2 i
  # Unified cgroup hierarchy: unstable's systemd does not boot on the
  # host's hybrid one. No host systemd here, hence --register=no and
  # --keep-unit; no network but loopback inside. With --keep-unit nspawn
  # puts itself in <its cgroup>/supervisor and the container in
  # <its cgroup>/payload: started from one cgroup, two containers would
  # share one payload tree, and each one's systemd would manage (and kill)
  # the other's units of the same name (seen as 219/CGROUP and "Failed to
  # spawn executor"). So each container starts from a cgroup of its own.
  local mnt
  mnt=$(findmnt -t cgroup2 -n -o TARGET | head -n 1)
  CT_CGROUP=$mnt/dhrotate-$name-$$
  mkdir -p "$CT_CGROUP"
  SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CT_CGROUP" \
    systemd-nspawn --quiet --boot --register=no --keep-unit \
    --private-network --machine="$name" -D "$work/root" \
    > "$work/console.log" 2>&1 < /dev/null &
  CT_NSPAWN=$!
  CT_PID=""
  for i in $(seq 1 200); do
    CT_PID=$(ps -o pid= --ppid "$CT_NSPAWN" 2>/dev/null | head -n 1 | tr -d ' ')
    if [ -n "$CT_PID" ] && [ "$(cat "/proc/$CT_PID/comm" 2>/dev/null)" = systemd ]; then
      break
    fi
    CT_PID=""
    kill -0 "$CT_NSPAWN" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$CT_PID" ]; then
    echo "could not boot $name: systemd-nspawn said:" >&2
    tail -n 40 "$work/console.log" >&2
    return 1
  fi
  # Wait for the boot to finish (degraded is fine: minbase lacks units
  # some services want; the harness checks what it needs itself).
  # systemctl answers only once PID 1 has its private socket up.
  local state=""
  for i in $(seq 1 240); do
    state=$(ct systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) return 0 ;; esac
    sleep 0.5
  done
  echo "could not boot $name: after 120 s systemd says '$state'" >&2
  tail -n 40 "$work/console.log" >&2
  return 1
}

# ct CMD...: runs CMD inside the container, in all its namespaces, with a
# clean environment (what a root shell there would have).
ct() {
  nsenter -t "$CT_PID" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LC_ALL=C.UTF-8 HOME=/root TERM=dumb "$@"
}

# ct_halt WORKDIR: powers the container off and removes its copy.
ct_halt() {
  local work=$1 i
  if [ -n "${CT_PID:-}" ] && kill -0 "$CT_PID" 2>/dev/null; then
    ct systemctl poweroff --no-block >/dev/null 2>&1 || true
    for i in $(seq 1 100); do kill -0 "$CT_NSPAWN" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$CT_NSPAWN" 2>/dev/null || true
    wait "$CT_NSPAWN" 2>/dev/null || true
  elif [ -n "${CT_NSPAWN:-}" ] && kill -0 "$CT_NSPAWN" 2>/dev/null; then
    # A container that never finished booting.
    kill -9 "$CT_NSPAWN" 2>/dev/null || true
    wait "$CT_NSPAWN" 2>/dev/null || true
  fi
  CT_PID=""
  CT_NSPAWN=""
  # The container's cgroups, deepest first, once it is gone.
  if [ -n "${CT_CGROUP:-}" ] && [ -d "$CT_CGROUP" ]; then
    find "$CT_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || true
  fi
  CT_CGROUP=""
  rm -rf "$work"
}
