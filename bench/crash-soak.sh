#!/usr/bin/env bash
# The crash harness of tests/crash.rs with more kills than CI runs.
#
#   bench/crash-soak.sh [KILLS=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
DHROTATE_CRASH_KILLS=${1:-2000} cargo test --test crash killed_runs -- --nocapture 2>&1 \
  | grep -E "crash harness|test result|panicked|after run"
