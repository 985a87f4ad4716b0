#!/usr/bin/env bash
# Benchmarks over real DDS (reports, not tests): release build, then latency_probe, which starts every system
# under test itself on its own ROS_DOMAIN_ID (LOCALHOST discovery) and writes reports/<mode>.{json,md}.
#
#   scripts/bench.sh                      # latency: relay, composed, separate processes, python baseline at 200 Hz
#   scripts/bench.sh latency --duration 60
#   scripts/bench.sh load                 # composed system at 1 kHz for 60 s: backlog, RSS, CPU
#   scripts/bench.sh load --duration 900 --out reports/load_15min  # the 15 min profile
#   scripts/bench.sh fuzz                 # the fuzz tests with 1 000 000 cases each (long)
#
# Needs scripts/setup.sh to have run once (it is not run from here). Other arguments go to latency_probe
# (`target/release/latency_probe --help`).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [[ ! -f .setup/env.sh ]]; then
  echo "scripts/bench.sh: run scripts/setup.sh first" >&2
  exit 1
fi
# shellcheck disable=SC1091
. .setup/env.sh
mode=${1:-latency}
[[ $# -gt 0 ]] && shift
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$mode" in
  latency|load)
    echo "[bench] building (release)"
    cargo build --release -q --bin latency_probe --bin latency_relay --bin intent_predictor --bin shared_control \
      --bin supervisor --bin shared_control_system
    cmd="scripts/bench.sh $mode"; for a in "$@"; do cmd+=" $(printf %q "$a")"; done
    exec "$TARGET/release/latency_probe" --mode "$mode" --repo "$ROOT" --command-line "$cmd" "$@"
    ;;
  fuzz)
    PROPTEST_CASES=${PROPTEST_CASES:-1000000} exec cargo test --release --test fuzz_convert --test fuzz_config "$@"
    ;;
  *)
    echo "usage: scripts/bench.sh [latency|load|fuzz] [latency_probe arguments]" >&2
    exit 2
    ;;
esac
