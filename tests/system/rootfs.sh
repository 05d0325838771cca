#!/usr/bin/env bash
# Builds (once) a minimal Debian root filesystem per release for the
# real-systems harness: debootstrap --variant=minbase, then systemd as init,
# dbus, Dovecot (core and IMAP), Postfix (preseeded "Internet Site", all protocols: the main.cf a real
# installation has), OpenSSL and CA certificates. The mirror is read at run time from this machine's own
# apt sources; nothing names a package host.
#
#   tests/system/rootfs.sh SUITE [CACHE_DIR]   -> prints the rootfs path
#
# A finished tree carries .dhrotate-rootfs-ok; a half-built one (a run that
# was killed) is removed and rebuilt.
set -euo pipefail
suite=${1:?usage: rootfs.sh SUITE [CACHE_DIR]}
cache=${2:-${DHROTATE_ROOTFS_CACHE:-/var/lib/machines}}
root="$cache/dhrotate-$suite"
stamp="$root/.dhrotate-rootfs-ok"
# Bump when the package list below changes, so cached trees are rebuilt.
recipe=5

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ]; then
  echo "$root"
  exit 0
fi

url=$("$(dirname "$0")/../../packaging/mirror.sh" main)
mkdir -p "$cache"
rm -rf "$root"
echo "rootfs.sh: debootstrap $suite from $url into $root" >&2
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates,openssl \
  "$suite" "$root" "$url" >&2 \
  || { echo "rootfs.sh: debootstrap $suite failed (see above)" >&2; tail -n 30 "$root/debootstrap/debootstrap.log" >&2 || true; exit 1; }

# Postfix's maintainer scripts (systemd-tmpfiles on unstable) need /proc.
mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
# Daemons must not start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
in_root debconf-set-selections <<SEL
postfix postfix/main_mailer_type select Internet Site
postfix postfix/mailname string mx.example.test
postfix postfix/protocols select all
SEL
echo "mx.example.test" > "$root/etc/hostname"
# Dovecot (IMAP) reads the same group as Postfix in the hooks step.
in_root apt-get install -y -qq --no-install-recommends postfix dovecot-core dovecot-imapd >&2
rm -f "$root/usr/sbin/policy-rc.d"
# Autologin-free console and no getty noise; the harness talks through nsenter.
in_root systemctl mask console-getty.service getty@tty1.service >&2 || true
in_root apt-get clean
umount "$root/proc"
trap - EXIT
echo "$recipe" > "$stamp"
echo "$root"
