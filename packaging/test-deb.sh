#!/usr/bin/env bash
# Installs the package built for this machine's own Debian release
# (packaging/build-release.sh, made if missing) with dpkg, uses the
# installed binary (version, man page, a demo rotation against a private
# Postfix), then purges it and checks that nothing is left. Lintian ran on
# it when it was built. Needs root. Run by scripts/test.sh (and so by CI).
#
#   packaging/test-deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-sid}")
deb=$(packaging/package-for.sh "$suite")
trap 'dpkg --purge dhrotate > /dev/null 2>&1 || true' EXIT
# First the upgrade of an untouched installation of the last published
# version, whose dhrotate.toml was a conffile: the file goes (it only
# restated the defaults), nothing is asked, nothing is left beside it.
old=$(packaging/build-published.sh "$suite")
conf=/etc/dhrotate/dhrotate.toml
echo "== dpkg -i $old, then $deb"
dpkg -i "$old" > /dev/null
test -f "$conf" || { echo "$old did not install $conf"; exit 1; }
dpkg -i "$deb" < /dev/null
for p in /etc/dhrotate "$conf" "$conf.dpkg-remove" "$conf.dpkg-bak" "$conf.dpkg-old" "$conf.dpkg-dist"; do
  if [ -e "$p" ]; then echo "after the upgrade of an unedited installation: $p exists"; exit 1; fi
done
echo "upgrade of an unedited $(dpkg-deb -f "$old" Version): $conf removed, no prompt"
dpkg --purge dhrotate > /dev/null
echo "== dpkg -i $deb"
dpkg -i "$deb"
/usr/bin/dhrotate --version
man -w dhrotate
man -w dhrotate-now
test -s /usr/share/doc/dhrotate/prometheus/dhrotate-rules.yml
test -s /usr/share/bash-completion/completions/dhrotate
test -L /etc/systemd/system/timers.target.wants/dhrotate.timer \
  || { echo "dhrotate.timer was not enabled on install"; exit 1; }
test ! -e /etc/systemd/system/multi-user.target.wants/dhrotate-daemon.service \
  || { echo "dhrotate-daemon.service must not be enabled beside the timer"; exit 1; }
# No conffile: the defaults are built in, /etc/dhrotate is the
# administrator's (an upgrade can never ask about it).
conffiles=$(dpkg-query -W -f='${Conffiles}' dhrotate)
[ -z "$conffiles" ] || { echo "the package has conffiles: $conffiles"; exit 1; }
test ! -e /etc/dhrotate/dhrotate.toml || { echo "the package installed /etc/dhrotate/dhrotate.toml"; exit 1; }
# The documented example loads, and means the defaults.
example=/usr/share/doc/dhrotate/examples/dhrotate.toml
/usr/bin/dhrotate --config "$example" pool status
/usr/bin/dhrotate pool status
echo "== demo rotation with the installed binary"
(cd "$(mktemp -d)" && /usr/bin/dhrotate now --demo)
echo "== dpkg --purge"
dpkg --purge dhrotate
trap - EXIT
for p in /usr/bin/dhrotate /etc/dhrotate /var/lib/dhrotate \
         /usr/share/man/man8/dhrotate.8.gz /lib/systemd/system/dhrotate.timer \
         /usr/lib/systemd/system/dhrotate.timer \
         /etc/systemd/system/timers.target.wants/dhrotate.timer; do
  if [ -e "$p" ] || [ -L "$p" ]; then echo "left after purge: $p"; exit 1; fi
done
echo "deb ($suite): installed, used and purged"
