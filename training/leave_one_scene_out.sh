#!/usr/bin/env bash
# Leave-one-scene-out training on real + synthetic data, the shipped model's recipe (training/recipe.sh, shared
# with training/run_all.sh): for each ETH/UCY scene S, train a model on the synthetic export plus the real
# windows of S's fold (the train / val parts of every other recording; export_real_data
# --fold S), then judge it with evaluate_real; training/loso_summary.py then keeps each fold's held-out scene and
# writes reports/real_data_loso.{json,md} (with LOSO_COMPARE=<evaluate_real JSON> [LOSO_COMPARE_LABEL=...] another
# model's results beside them; LOSO_PREVIOUS=<an earlier summary JSON> [LOSO_PREVIOUS_LABEL=...] an earlier
# recipe's folds). Uses training/.venv and training/data/{train,val} as made by training/run_all.sh
# (run that, or its export steps, first); training/plot_loso.py then draws reports/real_data_loso_*.svg. See
# training/README.md. With --walkers, the candidate recipe of training/run_all.sh --walkers (its walker scenes,
# training/data/walkers_{train,val}, in training and validation; models named <version>-walkers-loso-S; measured
# as 0.4.0 on 0.3.0's recipe) instead, its summary written to DIR/real_data_loso.{json,md} (the tracked report
# stays the shipped recipe's).
#
#   training/leave_one_scene_out.sh [--walkers] [--jobs N] [--max-minutes M] [--stride K] [--out DIR] [SCENE ...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=training/recipe.sh
. "$ROOT/training/recipe.sh"
JOBS=2 MAX_MIN=90 STRIDE=$REAL_STRIDE OUT=out/loso WALKERS=0
SCENES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) JOBS=$2; shift 2 ;;
    --max-minutes) MAX_MIN=$2; shift 2 ;;
    --stride) STRIDE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --walkers) WALKERS=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) SCENES+=("$1"); shift ;;
  esac
done
ALL_SCENES=(eth hotel univ zara1 zara2)
[ ${#SCENES[@]} -gt 0 ] || SCENES=("${ALL_SCENES[@]}")
for s in "${SCENES[@]}"; do
  [[ " ${ALL_SCENES[*]} " == *" $s "* ]] || { echo "leave_one_scene_out: unknown scene or option '$s' (scenes: ${ALL_SCENES[*]})" >&2; exit 2; }
done
PY="$ROOT/training/.venv/bin/python"
[ -x "$PY" ] || { echo "leave_one_scene_out: no training/.venv; run training/run_all.sh first" >&2; exit 1; }
NEEDED=(training/data/train training/data/val)
EXTRA_TRAIN=() EXTRA_VAL=() VERSION=$MODEL_VERSION REPORT=reports/real_data_loso
if [ "$WALKERS" = 1 ]; then
  # The candidate's summary stays beside its folds: the tracked report is the shipped recipe's.
  NEEDED+=(training/data/walkers_train training/data/walkers_val)
  EXTRA_TRAIN=(training/data/walkers_train) EXTRA_VAL=(training/data/walkers_val) VERSION=$MODEL_VERSION-walkers REPORT=$OUT/real_data_loso
fi
for d in "${NEEDED[@]}"; do
  [ -f "$d/inputs.npy" ] || { echo "leave_one_scene_out: no $d; run training/run_all.sh$([ "$WALKERS" = 0 ] || echo ' --walkers') (its export steps) first" >&2; exit 1; }
done
if [ -z "${ISC_ORT_LIB:-}" ]; then
  ISC_ORT_LIB=$(ls "$("$PY" -c 'import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))')"/capi/libonnxruntime.so.1.* | head -n 1)
  export ISC_ORT_LIB
fi
T=${CARGO_TARGET_DIR:-target}/release
cargo build --release -q -p intent_shared_control_tools --bin export_real_data --bin evaluate_real

fold() {
  local s=$1 dir="$OUT/$1"
  mkdir -p "$dir"
  "$T/export_real_data" --fold "$s" --stride "$STRIDE" --out "training/data/real_$s" >"$dir/export.log" 2>&1
  OMP_NUM_THREADS=1 "$PY" training/train.py --train training/data/train --val training/data/val \
    --extra-train "training/data/real_$s/train" "${EXTRA_TRAIN[@]}" \
    --extra-val "training/data/real_$s/val" "${EXTRA_VAL[@]}" --out-dir "$dir" \
    --seed 0 --epochs "$EPOCHS" --patience "$PATIENCE" --max-minutes "$MAX_MIN" --version "$VERSION-loso-$s" \
    "${MODEL_ARGS[@]}" >"$dir/train.log" 2>&1
  "$T/evaluate_real" --card "$dir/intent_model.card.json" --out-dir "$dir" --stem real_data >"$dir/evaluate.log" 2>&1
  echo "fold $s done: $(tail -n 1 "$dir/train.log")"
}

running=0
for s in "${SCENES[@]}"; do
  fold "$s" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait
COMPARE=()
[ -z "${LOSO_COMPARE:-}" ] || COMPARE=(--compare "$LOSO_COMPARE" --compare-label "${LOSO_COMPARE_LABEL:-other model}")
[ -z "${LOSO_PREVIOUS:-}" ] || COMPARE+=(--previous "$LOSO_PREVIOUS" --previous-label "${LOSO_PREVIOUS_LABEL:-previous recipe}")
"$PY" training/loso_summary.py --out-dir "$OUT" --report "$REPORT" "${COMPARE[@]}" "${SCENES[@]}"
# Plots beside the report (matplotlib of .setup/venv, made by scripts/setup.sh).
if [ -x .setup/venv/bin/python ]; then
  .setup/venv/bin/python training/plot_loso.py "$REPORT.json"
else
  echo "leave_one_scene_out: no .setup/venv (scripts/setup.sh): plots skipped" >&2
fi
