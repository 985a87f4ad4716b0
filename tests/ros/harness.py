"""Helpers for tests over real DDS: start our executables, drive them from an rclpy node, wait on conditions."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, HistoryPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Joy
from std_msgs.msg import Header

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("ISC_BIN_DIR", REPO / "target" / "debug"))
# The parameters the executables are started with; ISC_PARAMS_FILE points binaries of another revision at their own.
PARAMS_FILE = Path(os.environ.get("ISC_PARAMS_FILE", REPO / "config" / "params.yaml"))


def node_section(data: dict, node: str) -> dict:
    """A node's section of a params file read with yaml (`/**/<node>` in the shipped file, or a bare name)."""
    return data[f"/**/{node}"] if f"/**/{node}" in data else data[node]

COMMAND_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
SENSOR_QOS = qos_profile_sensor_data


class ProcessHandle:
    """A node process with its own log file; stopped with SIGINT like `ros2 launch` does."""

    def __init__(self, exe: Path, ros_args: list[str], log_path: Path, env: dict | None = None):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        cmd = [str(exe)]
        if ros_args:
            cmd += ["--ros-args", *ros_args]
        full_env = dict(os.environ)
        full_env.setdefault("RUST_LOG", "info")
        full_env.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=full_env,
                                     start_new_session=True)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def interrupt(self, timeout: float = 10.0) -> int:
        """SIGINT, then wait for a clean exit; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


class Peer:
    """An rclpy node that publishes inputs and records outputs."""

    def __init__(self, name: str = "test_peer"):
        if not rclpy.ok():
            rclpy.init()
        self.node: Node = rclpy.create_node(name)
        self.received: dict[str, list] = {}
        self._subs = []
        self._timers = []
        self.clients = {}

    def now_msg(self):
        return self.node.get_clock().now().to_msg()

    def subscribe(self, msg_type, topic: str, qos=COMMAND_QOS) -> list:
        buf = self.received.setdefault(topic, [])
        self._subs.append(self.node.create_subscription(msg_type, topic, buf.append, qos))
        return buf

    def publisher(self, msg_type, topic: str, qos=SENSOR_QOS):
        return self.node.create_publisher(msg_type, topic, qos)

    def every(self, period: float, fn: Callable[[], None]):
        """Calls fn every period seconds while the peer spins; returns the timer (cancel() to stop)."""
        t = self.node.create_timer(period, fn)
        self._timers.append(t)
        return t

    def spin_until(self, predicate: Callable[[], bool], timeout: float, what: str):
        """Spins until predicate() is true; fails with `what` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rclpy.spin_once(self.node, timeout_sec=0.02)
            if predicate():
                return
        raise AssertionError(f"timed out after {timeout:.1f} s waiting for: {what}")

    def wait_matched(self, publishers=(), subscribed_topics=(), timeout: float = 15.0):
        """Waits until DDS discovery matched our publishers and the node publishes our subscribed topics."""
        def matched():
            return all(p.get_subscription_count() > 0 for p in publishers) and all(
                self.node.count_publishers(t) > 0 for t in subscribed_topics)
        self.spin_until(matched, timeout, "DDS discovery to match the node under test")

    def close(self):
        self.node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


def twist_is_zero(t) -> bool:
    return all(v == 0.0 for v in (t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z))


def twist_is_finite(t) -> bool:
    return all(math.isfinite(v) for v in (t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z))


def stamp_s(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def call(peer: "Peer", srv_type, name: str, request, timeout: float = 10.0):
    """Calls a service from the peer and returns the reply; fails after `timeout`.

    Clients are kept per service, and a request whose reply does not come within a second is sent again: a
    server can see a new client's request before DDS discovery has matched the reply path back to it, and then
    the first reply is lost (queries are idempotent; transitions are only re-sent if no reply came at all)."""
    key = (srv_type, name)
    client = peer.clients.get(key)
    if client is None:
        client = peer.clients[key] = peer.node.create_client(srv_type, name)
    deadline = time.monotonic() + timeout
    peer.spin_until(lambda: client.service_is_ready(), timeout, f"service {name}")
    while True:
        fut = client.call_async(request)
        resend_at = min(time.monotonic() + 1.0, deadline)
        while time.monotonic() < resend_at and not fut.done():
            rclpy.spin_once(peer.node, timeout_sec=0.02)
        if fut.done():
            return fut.result()
        client.remove_pending_request(fut)
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for: reply from {name}")


def latest_status(diags, name):
    """The newest DiagnosticStatus called `name` in a list of received DiagnosticArray messages, or None."""
    for arr in reversed(diags):
        for s in arr.status:
            if s.name == name:
                return s
    return None


# Default joystick map of shared_control (config/params.yaml `teleop`): axis 1 forward, axis 0 yaw, button 4 the
# deadman (enable), button 5 turbo.
DEADMAN_BUTTON = 4
TURBO_BUTTON = 5


def joy_msg(stamp, axes=(0.0, 0.0), deadman=False, turbo=False, n_buttons=8) -> Joy:
    """A Joy in the default map, stamped `stamp` (builtin_interfaces/Time)."""
    buttons = [0] * n_buttons
    buttons[DEADMAN_BUTTON] = 1 if deadman else 0
    if turbo:
        buttons[TURBO_BUTTON] = 1
    return Joy(header=Header(stamp=stamp), axes=[float(a) for a in axes], buttons=buttons)


def pump(peer: "Peer", period: float, publish: Callable[[], None], until: Callable[[], bool], timeout: float, what: str):
    """Calls publish() every `period` seconds while spinning the peer, until until() is true; fails after
    `timeout` seconds with `what`."""
    deadline = time.monotonic() + timeout
    next_at = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_at:
            publish()
            next_at = max(next_at + period, now)
        if until():
            return
        if now >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for: {what}")
        rclpy.spin_once(peer.node, timeout_sec=max(0.0, min(0.005, next_at - time.monotonic())))


def arm(peer: "Peer", joy_pub, status: list, axes=(0.0, 0.0), turbo=False, stamp=None, released_for: float = 0.2,
        rate: float = 50.0, timeout: float = 20.0):
    """Arms shared_control for motion, as an operator does after a fault or a (re)start: Joys with the deadman
    released at `rate` until the node reports one seen with no fault (a status in MODE_IDLE naming
    `deadman_released`, received after this call began), then released for `released_for` seconds more, then
    one Joy with the deadman pressed (`axes`, `turbo`). `status` is the caller's list of received
    SharedControlStatus messages; `stamp` returns the header stamp to use (the peer's clock by default).

    The caller pauses its own Joy stream for the call and resumes it (deadman held) right after, so that the
    press is followed by a steady stream. Fails after `timeout` seconds, naming the node's last mode and reasons."""
    stamp = stamp or peer.now_msg
    start = len(status)
    released = {"n": 0, "since": None, "first": None}

    def send_released():
        msg = joy_msg(stamp(), axes=(0.0, 0.0), deadman=False)
        joy_pub.publish(msg)
        if released["first"] is None:
            released["first"] = stamp_s(msg.header.stamp)
        if released["since"] is not None:
            released["n"] += 1

    def ready():
        if released["since"] is None:
            # a decision made after the first released Joy was sent (MODE_IDLE: no fault, deadman released)
            if any(s.mode == 0 and "deadman_released" in s.reasons and stamp_s(s.header.stamp) >= released["first"]
                   for s in status[start:]):
                released["since"] = time.monotonic()
            return False
        return released["n"] >= int(round(released_for * rate)) and time.monotonic() - released["since"] >= released_for

    try:
        pump(peer, 1.0 / rate, send_released, ready, timeout, "the node to report the released deadman with no fault")
    except AssertionError as e:
        last = status[-1] if status else None
        seen = f"mode {last.mode}, reasons {list(last.reasons)}" if last is not None else "no status at all"
        raise AssertionError(f"{e} (last status: {seen})") from None
    joy_pub.publish(joy_msg(stamp(), axes=axes, deadman=True, turbo=turbo))
