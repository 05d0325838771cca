#!/usr/bin/env bash
# Builds target/debian/dhrotate_*.deb with cargo-deb (installed if missing).
#
#   packaging/build-deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb > /dev/null || cargo install cargo-deb --locked
packaging/assets.sh
cargo deb --no-build --locked
