#!/usr/bin/env bash
# The main job on the shipped defaults: set-up, release build, then the composed system (intent_predictor +
# shared_control + supervisor, shipped model and params) with simulated humans (the scenario generator) and a
# scripted operator talking real DDS; prints what the system decides (live one-line summary + final report).
#
#   scripts/demo.sh [--duration SECONDS] [--seed N]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
# shellcheck disable=SC1091
. .setup/env.sh
echo "[demo] building (release)"
cargo build --release --bins -q

# Keep the demo on this machine and off other ROS systems' domains.
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$(( (RANDOM % 80) + 20 ))}
LOG_DIR=$(mktemp -d)
BIN=$ROOT/target/release
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "[demo] ROS_DOMAIN_ID=$ROS_DOMAIN_ID, node logs in $LOG_DIR"
"$BIN/shared_control_system" --ros-args --params-file "$ROOT/config/params.yaml" >"$LOG_DIR/system.log" 2>&1 &
pids+=($!)
"$BIN/demo_driver" "$@"
