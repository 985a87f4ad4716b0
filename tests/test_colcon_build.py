"""`colcon build` of the workspace (interface package + ament_cargo package) works in the set-up environment and
installs what `ros2 run` / `ros2 launch` need: the ament index entry, lib/<pkg>/<executables>, share files."""
import hashlib
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def idl_filter() -> str:
    text = (REPO / ".cargo" / "config.toml").read_text()
    m = re.search(r'IDL_PACKAGE_FILTER\s*=\s*"([^"]+)"', text)
    assert m, ".cargo/config.toml must set IDL_PACKAGE_FILTER"
    return m.group(1)


def interfaces_digest() -> str:
    h = hashlib.sha256(idl_filter().encode())
    for f in sorted((REPO / "msg").rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(REPO)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
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


def test_colcon_installs_package_layout(colcon_install):
    pkg = colcon_install / "intent_shared_control"
    assert (pkg / "share/ament_index/resource_index/packages/intent_shared_control").is_file()
    assert (pkg / "share/intent_shared_control/package.xml").is_file()
    assert (pkg / "share/intent_shared_control/launch/bringup.launch.py").is_file()
    assert (pkg / "share/intent_shared_control/config/params.yaml").is_file()
    exe = pkg / "lib/intent_shared_control/shared_control"
    assert exe.is_file() and os.access(exe, os.X_OK)
    msgs = colcon_install / "intent_shared_control_msgs"
    assert (msgs / "share/intent_shared_control_msgs/msg/SharedControlStatus.msg").is_file()


def test_installed_executable_starts_and_stops_cleanly(colcon_install, tmp_path):
    exe = colcon_install / "intent_shared_control/lib/intent_shared_control/shared_control"
    params = colcon_install / "intent_shared_control/share/intent_shared_control/config/params.yaml"
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}  # must run without a hand-set path
    log = tmp_path / "node.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(exe), "--ros-args", "--params-file", str(params), "-p", "autostart:=true"], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
        try:
            deadline_hit = True
            for _ in range(200):  # up to 20 s for the node to configure and activate itself
                if "inactive -> active" in log.read_text(errors="replace"):
                    deadline_hit = False
                    break
                try:
                    proc.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    pass
            assert not deadline_hit and proc.poll() is None, log.read_text(errors="replace")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0, log.read_text(errors="replace")
        finally:
            if proc.poll() is None:
                proc.kill()
