#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone: set-up, Rust unit/property/integration tests, and the
# integration tests over real DDS with rclpy as the peer (plus the colcon build of the workspace).
#
#   scripts/test.sh                 everything (what CI runs)
#   PYTEST_ARGS="-k lifecycle" scripts/test.sh   pass extra arguments to pytest
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SECONDS=0
step() { printf '\n== [%4ds] %s\n' "$SECONDS" "$*"; }

step "set-up"
bash scripts/setup.sh

step "core crate without any ROS environment"
# The core must build and test with no ROS at all, and must not depend on r2r or tokio.
env -u AMENT_PREFIX_PATH -u ROS_DISTRO -u CMAKE_PREFIX_PATH cargo test -q -p intent_shared_control_core
if cargo tree -q -p intent_shared_control_core -e normal --prefix none | grep -E '^(r2r|tokio)( |$)'; then
  echo "intent_shared_control_core depends on r2r/tokio: the core must stay free of ROS and async runtimes" >&2
  exit 1
fi

# shellcheck disable=SC1091
. .setup/env.sh

step "format, lints and docs"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --workspace

step "build (workspace, all targets)"
cargo build --workspace --all-targets

step "Rust tests (workspace)"
cargo test --workspace

step "integration tests over real DDS (pytest + rclpy)"
# shellcheck disable=SC2086
python3 -m pytest tests -p no:cacheprovider -rs ${PYTEST_ARGS:-}

step "all tests passed in ${SECONDS} s"
