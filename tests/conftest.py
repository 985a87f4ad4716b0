"""Shared fixtures for the integration tests: real processes talking real DDS, rclpy as the peer.

Each pytest process uses its own ROS_DOMAIN_ID and localhost-only discovery, so parallel runs and other ROS
systems on the machine do not interfere. Tests wait on conditions with deadlines, never on fixed sleeps.
"""
import os
import random

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
