#!/usr/bin/env bash
# End to end, reproducibly: build the exporter -> export train/validation data -> train -> ONNX + model card
# -> parity fixtures -> real-data calibration of the card's temperature -> Rust evaluation on held-out seeds, which
# writes the card's metrics block.
# Run from anywhere; paths are relative to the repository root. See `training/run_all.sh --help`.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: training/run_all.sh [--check | --walkers] [--out DIR] [--preflight] [-h|--help]

  (no option)   the whole pipeline; overwrites the tracked models/intent_model.{onnx,card.json},
                tests/fixtures/intent_parity.* and reports/intent_evaluation.{json,md}
  --check       the same pipeline, but the model, card, parity fixture and evaluation report are written to a
                scratch directory (default out/reproduction, git-ignored, emptied first) in the repository's
                layout; training/check_reproduction.py then compares them with the shipped files, prints a
                PASS/FAIL table and the script exits non-zero on a mismatch. No tracked file is written.
  --walkers     the candidate recipe with walker scenes in training and validation (export_training_data
                --walkers: 200 + 40 scenes of people who walk at, past and across a standing robot and keep
                walking; model named <version>-walkers), measured in reports/walker_training_experiment.md (on 0.3.0's
                recipe, as 0.4.0) and not shipped:
                the model, card, parity fixture and evaluation reports go to the scratch directory (default
                out/walkers) as with --check, compared with nothing. No tracked file is written.
  --out DIR     the scratch directory of --check or --walkers: inside the repository and git-ignored
  --preflight   only the checks the pipeline runs first (cargo and Rust, Python 3.12 and its packages, the ONNX
                Runtime library, disk, memory), then exit; installs and writes nothing
  -h, --help    this help

Before any long step the pipeline creates training/.venv from a Python 3.12 and installs
training/requirements.txt into it (skipped while the requirements and the interpreter are unchanged), then checks
every prerequisite, so a missing piece fails in seconds, not after the ~13 minutes of training. The exported data
go to training/data (git-ignored) in every mode.

Environment:
  PYTHON=/path/to/python   run the Python steps with this interpreter as it is (Python 3.12 with the pinned
                           packages); training/.venv is then neither created nor changed
  ISC_PYTHON=/path/to/python3.12
                           the interpreter training/.venv is created from (the same knob as scripts/setup.sh);
                           otherwise the first working Python 3.12 (with venv) of: python3.12 on PATH, pyenv's
                           3.12.x, /usr/bin/python3.12, /usr/local/bin/python3.12, python3 on PATH
  ISC_ORT_LIB=/path/to/libonnxruntime.so.1.31.x
                           ONNX Runtime library of the Rust evaluation; otherwise the one shipped in the training
                           interpreter's onnxruntime wheel (site-packages/onnxruntime/capi/), then
                           .setup/onnxruntime/lib (scripts/setup.sh)
  CARGO_TARGET_DIR         honoured
EOF
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CHECK=0
WALKERS=0
PREFLIGHT_ONLY=0
REPRO=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check) CHECK=1 ;;
    --walkers) WALKERS=1 ;;
    --out)
      [ $# -ge 2 ] || { printf 'run_all.sh: --out needs a directory\n' >&2; exit 2; }
      REPRO=$2
      shift
      ;;
    --out=*) REPRO=${1#--out=} ;;
    --preflight) PREFLIGHT_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'run_all.sh: unknown argument: %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

[ "$CHECK$WALKERS" != 11 ] || { printf 'run_all.sh: --check reproduces the shipped recipe; --walkers is another one\n' >&2; exit 2; }
# Both modes write only to a git-ignored scratch directory.
SCRATCH=$((CHECK | WALKERS))
if [ -z "$REPRO" ]; then
  if [ "$WALKERS" = 1 ]; then REPRO="out/walkers"; else REPRO="out/reproduction"; fi
fi
# shellcheck source=training/recipe.sh
. "$ROOT/training/recipe.sh"
VERSION=$MODEL_VERSION
[ "$WALKERS" = 0 ] || VERSION=$MODEL_VERSION-walkers

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DATA="training/data"
VENV="$ROOT/training/.venv"
REQ="$ROOT/training/requirements.txt"
STAMP="$VENV/.requirements.sha256"
MIN_FREE_GB=9  # ~2.6 GB of exported data, ~5.5 GB of venv when it is not installed yet, the Rust build
MIN_MEM_GB=7   # peak of the training step (~6.5 GB with the real windows)
MIN_RUST_MINOR=92

TRAIN_SEED=1
TRAIN_SCENARIOS=900
VAL_SEED=2
VAL_SCENARIOS=150
STRIDE=3
# --walkers only: walker scene seeds 101000000 + i, apart from the simulator's (1..1000) and the bags' (7)
WALKER_TRAIN_SEED=101
WALKER_TRAIN_SCENES=200
WALKER_VAL_SEED=102
WALKER_VAL_SCENES=40
TRAIN_RANDOM_SEED=0
EVAL_SEED=3
EVAL_SCENARIOS=2000

SECONDS=0
log() { printf '[run_all %4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[run_all] ERROR: %s\n' "$*" >&2; exit 1; }
FAILS=0
ok() { printf '[preflight] ok    %s\n' "$*" >&2; }
warn() { printf '[preflight] WARN  %s\n' "$*" >&2; }
fail() { printf '[preflight] FAIL  %s\n' "$*" >&2; FAILS=$((FAILS + 1)); }

# ------------------------------------------------------------------------------------------------ Python 3.12
py_is_312() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' >/dev/null 2>&1; }
py_can_venv() { "$1" -c 'import venv, ensurepip' >/dev/null 2>&1; }
py_version() { "$1" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo '?'; }

# The interpreter training/.venv is created from (the candidates of scripts/setup.sh, then python3). A pyenv
# shim or a python3.12 of another minor version is skipped: each candidate must run and report 3.12.
find_python() {
  local c
  local candidates=()
  if [ -n "${ISC_PYTHON:-}" ]; then
    candidates=("$ISC_PYTHON")  # explicit: that one or none
  else
    command -v python3.12 >/dev/null 2>&1 && candidates+=("$(command -v python3.12)")
    for c in "${PYENV_ROOT:-${HOME:-/nonexistent}/.pyenv}"/versions/3.12*/bin/python3.12; do
      [ -x "$c" ] && candidates+=("$c")
    done
    candidates+=(/usr/bin/python3.12 /usr/local/bin/python3.12)
    command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")
  fi
  for c in "${candidates[@]}"; do
    if [ -x "$c" ] && py_is_312 "$c" && py_can_venv "$c"; then
      "$c" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}

# Hash of what training/.venv was installed from: the requirements and the exact interpreter version.
venv_hash() { { cat "$REQ"; py_version "$VENV/bin/python"; } | sha256sum | cut -d' ' -f1; }
venv_current() {
  [ -x "$VENV/bin/python" ] && py_is_312 "$VENV/bin/python" && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(venv_hash)" ]
}

ensure_venv() {
  if ! { [ -x "$VENV/bin/python" ] && py_is_312 "$VENV/bin/python"; }; then
    [ -e "$VENV" ] && log "training/.venv is not a working Python 3.12 environment: recreating it"
    rm -rf "$VENV"
    log "creating training/.venv from $BASE_PY ($(py_version "$BASE_PY"))"
    "$BASE_PY" -m venv "$VENV" || die "$BASE_PY -m venv failed (Debian/Ubuntu: apt-get install python3.12-venv)"
  fi
  if venv_current; then
    log "training/.venv is up to date with training/requirements.txt"
  else
    log "installing training/requirements.txt into training/.venv (~5.5 GB: torch's CUDA wheel and nvidia-*)"
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install -q -r "$REQ" || die "pip install -r training/requirements.txt failed (see above)"
    venv_hash >"$STAMP"
  fi
}

# Installed versions against the == pins of training/requirements.txt (metadata only: nothing is imported).
check_packages() {
  "$1" - "$REQ" <<'EOF'
import re, sys
from importlib import metadata
found, bad = [], []
for line in open(sys.argv[1]):
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.split("#", 1)[0].strip())
    if not m:
        continue
    name, want = m.groups()
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    good = have is not None and have.split("+")[0] == want
    (found if good else bad).append(f"{name} {have or 'missing'}" + ("" if good else f" (pinned {want})"))
print(", ".join(bad) if bad else ", ".join(found))
sys.exit(1 if bad else 0)
EOF
}

# ------------------------------------------------------------------------------------------------ ONNX Runtime
# The Rust side loads ONNX Runtime dynamically with the `ort` crate's api-NN feature: it needs a 1.NN.x library.
ORT_API=$(sed -nE 's/.*"api-([0-9]+)".*/\1/p' crates/intent_shared_control_inference/Cargo.toml | head -n 1)
ORT_WANT="1.${ORT_API:-?}"
ORT_LIB=""

# Loads the library (dlopen) and prints its version (OrtGetApiBase()->GetVersionString()).
ort_version() {
  "$1" - "$2" <<'EOF'
import ctypes, sys
try:
    lib = ctypes.CDLL(sys.argv[1])
    class ApiBase(ctypes.Structure):
        _fields_ = [("GetApi", ctypes.c_void_p), ("GetVersionString", ctypes.CFUNCTYPE(ctypes.c_char_p))]
    lib.OrtGetApiBase.restype = ctypes.POINTER(ApiBase)
    print(lib.OrtGetApiBase().contents.GetVersionString().decode())
except Exception as e:  # noqa: BLE001 - any failure means the library is unusable
    print(f"{type(e).__name__}: {e}")
    sys.exit(1)
EOF
}

first_file() {
  local f
  for f in "$@"; do [ -f "$f" ] && { printf '%s\n' "$f"; return 0; }; done
  return 1
}

# Sets ORT_LIB: $ISC_ORT_LIB, else the training interpreter's onnxruntime wheel, else .setup/onnxruntime.
# $1: the training interpreter when it is installed, else empty.
resolve_ort_lib() {
  local py=$1 site="" from
  ORT_LIB=""
  if [ -n "${ISC_ORT_LIB:-}" ]; then
    ORT_LIB=$ISC_ORT_LIB from="ISC_ORT_LIB"
  else
    if [ -n "$py" ]; then
      site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)
      if [ -n "$site" ] && ORT_LIB=$(first_file "$site"/onnxruntime/capi/libonnxruntime.so."$ORT_WANT".*); then
        from="the training environment's onnxruntime wheel"
      fi
    fi
    if [ -z "$ORT_LIB" ] && ORT_LIB=$(first_file "$ROOT"/.setup/onnxruntime/lib/libonnxruntime.so."$ORT_WANT".*); then
      from="scripts/setup.sh (.setup/onnxruntime)"
    fi
  fi
  if [ -z "$ORT_LIB" ]; then
    if [ -z "$py" ]; then
      warn "ONNX Runtime library: none yet; the onnxruntime wheel of training/.venv provides it once installed"
    else
      fail "ONNX Runtime $ORT_WANT.x library not found: set ISC_ORT_LIB, or install onnxruntime" \
        "(training/requirements.txt) into $py"
    fi
    return 0
  fi
  local version
  if [ ! -f "$ORT_LIB" ]; then
    fail "ONNX Runtime library $ORT_LIB (from $from): no such file"
  elif ! version=$(ort_version "${py:-${BASE_PY:-python3}}" "$ORT_LIB"); then
    fail "ONNX Runtime library $ORT_LIB (from $from) cannot be loaded: $version"
  elif [[ $version != "$ORT_WANT".* ]]; then
    fail "ONNX Runtime library $ORT_LIB (from $from) is $version; the Rust side (ort, api-$ORT_API) needs $ORT_WANT.x"
  else
    ok "ONNX Runtime $version: $ORT_LIB (from $from; loads)"
  fi
}

# ------------------------------------------------------------------------------------------------ checks
# Everything that needs no training environment: run before the (multi-GB) venv set-up.
preflight_static() {
  local rustc_minor avail_kb mem_kb
  if command -v cargo >/dev/null 2>&1 && command -v rustc >/dev/null 2>&1; then
    rustc_minor=$(rustc --version | sed -nE 's/^rustc 1\.([0-9]+).*/\1/p')
    if [ "${rustc_minor:-0}" -ge "$MIN_RUST_MINOR" ]; then
      ok "cargo: $(cargo --version)"
    else
      fail "Rust >= 1.$MIN_RUST_MINOR is needed (ort 2.0.0-rc.15); found $(rustc --version). Run: rustup update stable"
    fi
  else
    fail "cargo/rustc not found: install Rust >= 1.$MIN_RUST_MINOR (https://rustup.rs)"
  fi

  if [ -z "$ORT_API" ]; then
    fail "cannot read the ort api-NN feature from crates/intent_shared_control_inference/Cargo.toml"
  elif ! grep -qE "^onnxruntime==${ORT_WANT//./\\.}\." "$REQ"; then
    fail "training/requirements.txt does not pin onnxruntime $ORT_WANT.x, the version the Rust side" \
      "(api-$ORT_API) loads"
  fi

  BASE_PY=""
  if [ -n "${PYTHON:-}" ]; then
    if [ -x "$PYTHON" ] || command -v "$PYTHON" >/dev/null 2>&1; then
      if py_is_312 "$PYTHON"; then
        ok "Python: PYTHON=$PYTHON ($(py_version "$PYTHON"); used as it is, training/.venv untouched)"
      else
        fail "PYTHON=$PYTHON is Python $(py_version "$PYTHON"), not 3.12"
      fi
    else
      fail "PYTHON=$PYTHON: not an executable"
    fi
  elif BASE_PY=$(find_python); then
    if venv_current; then
      ok "Python: training/.venv ($(py_version "$VENV/bin/python"), requirements installed)"
    elif [ -x "$VENV/bin/python" ] && py_is_312 "$VENV/bin/python"; then
      ok "Python: training/.venv ($(py_version "$VENV/bin/python")); training/requirements.txt not installed yet" \
        "or changed: the pipeline installs it"
    else
      ok "Python: $BASE_PY ($(py_version "$BASE_PY")); the pipeline creates training/.venv from it (~5.5 GB)"
    fi
  elif [ -n "${ISC_PYTHON:-}" ]; then
    fail "ISC_PYTHON=$ISC_PYTHON is not a Python 3.12 with the venv module ($(py_version "$ISC_PYTHON"))"
  else
    fail "no Python 3.12 (with the venv module) found; python3.12 on PATH, pyenv 3.12.x, /usr/bin/python3.12,
    /usr/local/bin/python3.12 and python3 were tried.
      Debian/Ubuntu 24.04: sudo apt-get install -y python3.12 python3.12-venv
      pyenv:               pyenv install 3.12
    or point ISC_PYTHON at a Python 3.12 (PYTHON at a ready environment)."
  fi

  # An explicit library needs no training environment: check it now, before a venv install.
  [ -n "${ISC_ORT_LIB:-}" ] && resolve_ort_lib ""

  avail_kb=$(df -Pk "$ROOT/training" | awk 'NR == 2 { print $4 }')
  if [ "${avail_kb:-0}" -lt $((MIN_FREE_GB * 1024 * 1024)) ]; then
    warn "disk: $((avail_kb / 1024 / 1024)) GB free under training/ (< $MIN_FREE_GB GB: ~2.6 GB data," \
      "~5.5 GB venv if not installed yet)"
  else
    ok "disk: $((avail_kb / 1024 / 1024)) GB free under training/"
  fi
  mem_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo 2>/dev/null || true)
  if [ -n "$mem_kb" ] && [ "$mem_kb" -lt $((MIN_MEM_GB * 1024 * 1024)) ]; then
    warn "memory: $((mem_kb / 1024 / 1024)) GB available (< $MIN_MEM_GB GB, the training peak)"
  elif [ -n "$mem_kb" ]; then
    ok "memory: $((mem_kb / 1024 / 1024)) GB available"
  fi

  if [ "$SCRATCH" = 1 ]; then
    case "$REPRO" in
      /*) REPRO=${REPRO#"$ROOT"/} ;;
    esac
    REPRO=${REPRO%/}
    if [[ $REPRO == /* || $REPRO == "" || $REPRO == "." || /$REPRO/ == */../* ]]; then
      fail "--out $REPRO: must be a directory inside the repository"
    elif ! git -C "$ROOT" check-ignore -q "$REPRO/models/intent_model.onnx" 2>/dev/null; then
      fail "--out $REPRO: not git-ignored (or git unavailable); --check and --walkers write only to an ignored directory"
    else
      ok "scratch mode: the model, card, fixture and reports go to $REPRO/ (git-ignored)"
    fi
  fi
}

# What needs the training environment: run after the venv set-up (or on what exists, for --preflight).
preflight_env() {
  local py="" versions
  if [ -n "${PYTHON:-}" ]; then
    py_is_312 "$PYTHON" && py=$PYTHON
  elif [ -n "$BASE_PY" ] && venv_current; then
    py=$VENV/bin/python
  elif [ -n "$BASE_PY" ] && [ "$PREFLIGHT_ONLY" = 0 ]; then
    fail "training/.venv is not set up"
  fi
  if [ -n "$py" ]; then
    if versions=$(check_packages "$py"); then
      ok "packages: $versions"
    else
      fail "packages of $py differ from training/requirements.txt: $versions"
    fi
  elif [ "$PREFLIGHT_ONLY" = 1 ] && [ -z "${PYTHON:-}" ]; then
    warn "packages: training/.venv not installed yet (the pipeline installs training/requirements.txt)"
  fi
  [ -n "${ISC_ORT_LIB:-}" ] || resolve_ort_lib "$py"
  TRAIN_PY=$py
}

# ------------------------------------------------------------------------------------------------ pipeline
if [ "$CHECK" = 1 ]; then log "preflight (check mode)"; elif [ "$WALKERS" = 1 ]; then log "preflight (walkers candidate)"; else log "preflight"; fi
preflight_static
[ "$FAILS" = 0 ] || die "$FAILS preflight check(s) failed (see above); nothing was run"
if [ "$PREFLIGHT_ONLY" = 0 ] && [ -z "${PYTHON:-}" ]; then
  ensure_venv
fi
preflight_env
[ "$FAILS" = 0 ] || die "$FAILS preflight check(s) failed (see above); nothing was run"
if [ "$PREFLIGHT_ONLY" = 1 ]; then
  log "preflight passed"
  exit 0
fi
PY=$TRAIN_PY
export ISC_ORT_LIB="$ORT_LIB"

if [ "$SCRATCH" = 1 ]; then
  OUT_MODELS="$REPRO/models"
  OUT_REPORTS="$REPRO/reports"
  OUT_FIXTURES="$REPRO/tests/fixtures"
  rm -rf "${ROOT:?}/$REPRO"
  mkdir -p "$OUT_MODELS" "$OUT_REPORTS" "$OUT_FIXTURES"
else
  OUT_MODELS="models"
  OUT_REPORTS="reports"
  OUT_FIXTURES="tests/fixtures"
fi
MODEL="$OUT_MODELS/intent_model.onnx"
CARD="$OUT_MODELS/intent_model.card.json"

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

log "export: training and validation data -> $DATA"
cargo build --release -p intent_shared_control_tools --bin export_training_data
EXPORT="$TARGET/release/export_training_data"
"$EXPORT" --seed "$TRAIN_SEED" --scenarios "$TRAIN_SCENARIOS" --stride "$STRIDE" --out "$DATA/train"
"$EXPORT" --seed "$VAL_SEED" --scenarios "$VAL_SCENARIOS" --stride "$STRIDE" --out "$DATA/val"

# Real people: windows from the train / val parts of every ETH/UCY recording, walked with real motion-capture gait
# and seen through the generator's sensor model (export_real_data; leave-one-scene-out results of this recipe:
# training/leave_one_scene_out.sh, reports/real_data_loso.md).
log "export: real training and validation windows -> $DATA/real_all"
cargo build --release -p intent_shared_control_tools --bin export_real_data
"$TARGET/release/export_real_data" --all --stride "$REAL_STRIDE" --out "$DATA/real_all"

EXTRA_TRAIN=("$DATA/real_all/train")
EXTRA_VAL=("$DATA/real_all/val")
if [ "$WALKERS" = 1 ]; then
  # Walkers (--walkers only): people who walk at, past and across a standing robot and keep walking (the
  # generator's approaches all stop in front of it); labels from geometry as on real tracks.
  log "export: walker scenes -> $DATA/walkers_train, $DATA/walkers_val"
  "$EXPORT" --walkers --seed "$WALKER_TRAIN_SEED" --scenarios "$WALKER_TRAIN_SCENES" --stride "$STRIDE" \
      --scenario-config training/walkers.yaml --out "$DATA/walkers_train"
  "$EXPORT" --walkers --seed "$WALKER_VAL_SEED" --scenarios "$WALKER_VAL_SCENES" --stride "$STRIDE" \
      --scenario-config training/walkers.yaml --out "$DATA/walkers_val"
  EXTRA_TRAIN+=("$DATA/walkers_train")
  EXTRA_VAL+=("$DATA/walkers_val")
fi

log "training (~25 min on 2 cores) -> $OUT_MODELS"
"$PY" training/train.py --train "$DATA/train" --val "$DATA/val" \
    --extra-train "${EXTRA_TRAIN[@]}" --extra-val "${EXTRA_VAL[@]}" --out-dir "$OUT_MODELS" \
    --seed "$TRAIN_RANDOM_SEED" --epochs "$EPOCHS" --patience "$PATIENCE" --max-minutes 90 --version "$VERSION" \
    "${MODEL_ARGS[@]}"
log "parity fixture -> $OUT_FIXTURES"
"$PY" crates/intent_shared_control_inference/fixtures/make_parity_fixture.py --data "$DATA/val" \
    --model "$MODEL" --card "$CARD" --name intent_parity --out "$OUT_FIXTURES"

# Real-data calibration: the card's temperature times the factor fitted on the validation part of every ETH/UCY
# recording (data/ethucy) against the intents geometry shows, and the forecast error bound (training block);
# <reports>/real_data_model.{json,md,*.svg} judge the calibrated card on each held-out scene.
log "real-data calibration and evaluation -> $CARD, $OUT_REPORTS"
cargo build --release -p intent_shared_control_tools --bin evaluate_real
"$TARGET/release/evaluate_real" --card "$CARD" --data data/ethucy --mocap data/mocap --out-dir "$OUT_REPORTS" \
    --stem real_data_model --update-card

# Held-out evaluation (base seed 3): <reports>/intent_evaluation.{json,md} and the card's `metrics` block (the
# card's sha256 is that of the ONNX file, which this does not touch).
log "Rust evaluation -> $OUT_REPORTS (ONNX Runtime: $ISC_ORT_LIB)"
cargo build --release -p intent_shared_control_tools --bin evaluate_intent
"$TARGET/release/evaluate_intent" --model "$MODEL" --card "$CARD" \
    --provider cpu --seed "$EVAL_SEED" --scenarios "$EVAL_SCENARIOS" --eval-every 3 --stable-s 0.3 --ece-bins 10 \
    --out "$OUT_REPORTS" --stem intent_evaluation --update-card "$CARD"

if [ "$CHECK" = 1 ]; then
  log "comparing $REPRO/ with the shipped files"
  rc=0
  "$PY" training/check_reproduction.py --shipped . --reproduced "$REPRO" || rc=$?
  log "done ($((SECONDS / 60)) min $((SECONDS % 60)) s)"
  exit "$rc"
fi
log "done ($((SECONDS / 60)) min $((SECONDS % 60)) s)"
