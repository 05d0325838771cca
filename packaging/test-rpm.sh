#!/usr/bin/env bash
# Builds the source RPM and the RPM from source (packaging/build-rpm.sh),
# runs rpmlint (Debian's package) on the spec, the SRPM and the RPM with
# packaging/rpm/dhrotate.rpmlintrc, and checks with rpm -qp that the RPM
# carries the binary, the units, the disabling preset, the configuration,
# the man pages and the completions, and the systemd scriptlets.
#
#   packaging/test-rpm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/build-rpm.sh > target/rpmbuild.log 2>&1 || { tail -n 40 target/rpmbuild.log; exit 1; }
grep -E '^test result' target/rpmbuild.log | sed 's/^/%check: /'
srpm=$(ls target/rpm/SRPMS/dhrotate-*.src.rpm | tail -n 1)
rpm=$(ls target/rpm/RPMS/*/dhrotate-*.rpm | tail -n 1)
echo "== rpmlint $(rpmlint --version)"
rpmlint -r packaging/rpm/dhrotate.rpmlintrc packaging/rpm/dhrotate.spec "$srpm" "$rpm" | tee target/rpm/rpmlint.txt
grep -qE ' 0 errors, 0 warnings' target/rpm/rpmlint.txt || { echo "rpmlint: errors or warnings (above)"; exit 1; }
echo "== rpm -qpl $rpm"
rpm -qpl "$rpm" | tee target/rpm/files.txt
for want in /usr/bin/dhrotate /etc/dhrotate/dhrotate.toml \
            /usr/lib/systemd/system/dhrotate.service /usr/lib/systemd/system/dhrotate.timer \
            /usr/lib/systemd/system/dhrotate-daemon.service \
            /usr/lib/systemd/system-preset/80-dhrotate.preset \
            /usr/share/bash-completion/completions/dhrotate \
            /usr/share/zsh/site-functions/_dhrotate \
            /usr/share/fish/vendor_completions.d/dhrotate.fish /var/lib/dhrotate; do
  grep -qx "$want" target/rpm/files.txt || { echo "missing from the RPM: $want"; exit 1; }
done
grep -qE '^/usr/share/man/man8/dhrotate-now\.8(\.gz|\.bz2|\.xz|\.zst)?$' target/rpm/files.txt \
  || { echo "missing from the RPM: dhrotate-now(8)"; exit 1; }
rpm -qpc "$rpm" | grep -qx /etc/dhrotate/dhrotate.toml || { echo "config not marked %config"; exit 1; }
rpm -qp --scripts "$rpm" | grep -q "preset dhrotate.timer" || { echo "no systemd scriptlet"; exit 1; }
preset=$(rpm2cpio "$rpm" | cpio -i --quiet --to-stdout ./usr/lib/systemd/system-preset/80-dhrotate.preset)
echo "== preset"; grep -v '^#' <<< "$preset"
grep -qx 'disable dhrotate.timer' <<< "$preset" || { echo "the preset must disable the timer (Fedora)"; exit 1; }
echo "rpm: built from source, rpmlint clean, $(wc -l < target/rpm/files.txt) paths, all expected ones present"
