#!/usr/bin/env bash
# The release binary plus what it generates for packages: man pages
# (section 8, gzipped) and bash/zsh/fish completions, under target/packaging.
# Used by build-deb.sh and build-rpm.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
out=target/packaging
rm -rf "$out"; mkdir -p "$out/man" "$out/completions"
target/release/dhrotate man "$out/man" > /dev/null
gzip -9n "$out"/man/*.8
target/release/dhrotate completions bash > "$out/completions/dhrotate.bash"
target/release/dhrotate completions zsh > "$out/completions/_dhrotate"
target/release/dhrotate completions fish > "$out/completions/dhrotate.fish"
