"""Shared fixtures for the integration tests: real processes talking real DDS, rclpy as the peer.

Each pytest process uses its own ROS_DOMAIN_ID and localhost-only discovery, so parallel runs and other ROS
systems on the machine do not interfere. Tests wait on conditions with deadlines, never on fixed sleeps.
"""
import hashlib
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

# Must be set before rclpy initialises its context.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(30, 99)))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

import pytest  # noqa: E402

from ros.harness import BIN_DIR, Peer, ProcessHandle  # noqa: E402


@pytest.fixture(scope="session")
def bin_dir():
    missing = [b for b in ("shared_control",) if not (BIN_DIR / b).is_file()]
    if missing:
        pytest.fail(f"executables {missing} not found in {BIN_DIR}: run `cargo build` first (scripts/test.sh does)")
    return BIN_DIR


@pytest.fixture
def peer():
    p = Peer()
    yield p
    p.close()


@pytest.fixture
def launch(tmp_path, bin_dir):
    """Starts executables from the build directory; stops them (SIGINT, then SIGKILL) after the test."""
    handles = []

    def _launch(executable, *ros_args, name=None, env=None):
        h = ProcessHandle(bin_dir / executable, list(ros_args), tmp_path / f"{name or executable}.log", env=env)
        handles.append(h)
        return h

    yield _launch
    for h in handles:
        h.stop()


REPO = Path(__file__).resolve().parents[1]


def idl_filter() -> str:
    text = (REPO / ".cargo" / "config.toml").read_text()
    m = re.search(r'IDL_PACKAGE_FILTER\s*=\s*"([^"]+)"', text)
    assert m, ".cargo/config.toml must set IDL_PACKAGE_FILTER"
    return m.group(1)


# r2r's build script (0.9.7) caches its bindings per environment and, when it runs again for an environment it
# has cached, does not emit the `r2r__<pkg>__msg__<Msg>` cfgs (e.g. the one that enables `Node::get_time_source`):
# a build dir reused under another environment breaks. The environment it watches is part of the digest, so a
# changed environment starts the cached build over.
R2R_WATCHED_ENV = ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH", "CMAKE_IDL_PACKAGES", "ROS_DISTRO")


def interfaces_digest() -> str:
    h = hashlib.sha256(idl_filter().encode())
    for var in R2R_WATCHED_ENV:
        h.update(f"{var}={os.environ.get(var, '')}".encode())
    for f in sorted((REPO / "msg").rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(REPO)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="session")
def colcon_install(tmp_path_factory):
    if shutil.which("colcon") is None or shutil.which("cargo-ament-build") is None:
        pytest.fail("colcon / cargo-ament-build not on PATH: source .setup/env.sh (scripts/setup.sh installs them)")
    ws = tmp_path_factory.mktemp("colcon_ws")
    # Build and install directories are kept under .setup so repeated runs are incremental (CMake caches the
    # install prefix in its build directory, so the two must stay together).
    base = Path(os.environ.get("ISC_SETUP_DIR", REPO / ".setup")) / "colcon_test"
    # r2r's build script caches its generated message bindings and does not notice a changed .msg file: start
    # over whenever the interface definitions (or the filter) differ from those of the cached build.
    stamp = base / "interfaces.sha256"
    digest = interfaces_digest()
    if base.exists() and (not stamp.is_file() or stamp.read_text() != digest):
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)
    build_base, install = base / "build", base / "install"
    env = dict(os.environ, IDL_PACKAGE_FILTER=idl_filter())
    cmd = ["colcon", "--log-base", str(ws / "log"), "build", "--base-paths", str(REPO / "msg"), str(REPO),
           "--build-base", str(build_base), "--install-base", str(install)]
    # colcon-ros-cargo writes .cargo/config.toml into the working directory: run it from the workspace.
    res = subprocess.run(cmd, cwd=ws, env=env, capture_output=True, text=True, timeout=1500)
    assert res.returncode == 0, f"colcon build failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    assert "intent_shared_control_msgs" in res.stdout and "intent_shared_control" in res.stdout
    return install
