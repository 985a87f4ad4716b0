#!/usr/bin/env bash
# End to end, reproducibly: build the exporter -> export train/validation data -> train -> ONNX + model card
# -> parity fixtures -> Rust evaluation on held-out seeds, which writes the card's metrics block. Run from anywhere; paths are relative to the repository root.
#
#   training/run_all.sh            # uses training/.venv (see training/README.md to create it)
#   PYTHON=/path/to/python training/run_all.sh
# The evaluation needs the ONNX Runtime library: ISC_ORT_LIB, else .setup/onnxruntime/lib/libonnxruntime.so.1.31.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-training/.venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DATA="training/data"

TRAIN_SEED=1
TRAIN_SCENARIOS=900
VAL_SEED=2
VAL_SCENARIOS=150
STRIDE=3
TRAIN_RANDOM_SEED=0
EVAL_SEED=3
EVAL_SCENARIOS=2000

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

cargo build --release -p intent_shared_control_tools --bin export_training_data
EXPORT="$TARGET/release/export_training_data"
"$EXPORT" --seed "$TRAIN_SEED" --scenarios "$TRAIN_SCENARIOS" --stride "$STRIDE" --out "$DATA/train"
"$EXPORT" --seed "$VAL_SEED" --scenarios "$VAL_SCENARIOS" --stride "$STRIDE" --out "$DATA/val"

"$PYTHON" training/train.py --train "$DATA/train" --val "$DATA/val" --out-dir models --seed "$TRAIN_RANDOM_SEED" \
    --epochs 80 --patience 8 --max-minutes 30 --version 0.2.0
"$PYTHON" crates/intent_shared_control_inference/fixtures/make_parity_fixture.py --data "$DATA/val" \
    --model models/intent_model.onnx --card models/intent_model.card.json --name intent_parity

# Held-out evaluation (base seed 3): reports/intent_evaluation.{json,md} and the card's `metrics` block (the
# card's sha256 is that of the ONNX file, which this does not touch).
export ISC_ORT_LIB="${ISC_ORT_LIB:-$ROOT/.setup/onnxruntime/lib/libonnxruntime.so.1.31.1}"
cargo build --release -p intent_shared_control_inference --bin evaluate_intent
"$TARGET/release/evaluate_intent" --model models/intent_model.onnx --card models/intent_model.card.json \
    --provider cpu --seed "$EVAL_SEED" --scenarios "$EVAL_SCENARIOS" --eval-every 3 --stable-s 0.3 --ece-bins 10 \
    --out reports --stem intent_evaluation --update-card models/intent_model.card.json
