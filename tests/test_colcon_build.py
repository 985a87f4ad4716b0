"""`colcon build` of the workspace (interface package + ament_cargo package) works in the set-up environment and
installs what `ros2 run` / `ros2 launch` need: the ament index entry, lib/<pkg>/<executables>, share files."""
import os
import signal
import subprocess

# The `colcon_install` fixture (one colcon build per test session) is in conftest.py.


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
