#!/usr/bin/env bash
# Builds the RPM and checks with `rpm -qpl` that it carries the binary, the
# units, the configuration, the man pages and the completions, and with
# `rpm -qp --scripts` that the systemd scriptlets are there.
#
#   packaging/test-rpm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/build-rpm.sh > target/rpmbuild.log 2>&1 || { tail -n 40 target/rpmbuild.log; exit 1; }
rpm=$(ls target/rpm/RPMS/*/dhrotate-*.rpm | tail -n 1)
echo "== rpm -qpl $rpm"
rpm -qpl "$rpm" | tee target/rpm/files.txt
for want in /usr/bin/dhrotate /etc/dhrotate/dhrotate.toml \
            /usr/lib/systemd/system/dhrotate.service /usr/lib/systemd/system/dhrotate.timer \
            /usr/lib/systemd/system/dhrotate-daemon.service \
            /usr/share/man/man8/dhrotate.8.gz /usr/share/man/man8/dhrotate-now.8.gz \
            /usr/share/bash-completion/completions/dhrotate \
            /usr/share/zsh/site-functions/_dhrotate \
            /usr/share/fish/vendor_completions.d/dhrotate.fish /var/lib/dhrotate; do
  grep -qx "$want" target/rpm/files.txt || { echo "missing from the RPM: $want"; exit 1; }
done
rpm -qpc "$rpm" | grep -qx /etc/dhrotate/dhrotate.toml || { echo "config not marked %config"; exit 1; }
rpm -qp --scripts "$rpm" | grep -q "preset dhrotate.timer" || { echo "no systemd scriptlet"; exit 1; }
echo "rpm: $(wc -l < target/rpm/files.txt) paths, all expected ones present"
