"""Fault injection over real DDS: stalled processes (SIGSTOP), a missing or corrupt model, CUDA without a GPU,
a flood of never-repeating human ids, huge and malformed messages, and simulated time running backwards.

Every test also checks what reached cmd_vel: every TwistStamped finite, zero where the fault demands it, and
never a motion command computed from stale inputs. Real processes, rclpy as the peer, conditions with
deadlines (the only waits on time are the fault windows themselves, expressed as conditions too).
"""
import hashlib
import json
import signal
import subprocess
import time

import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Point, TwistStamped
from intent_shared_control_msgs.msg import HumanSkeleton, HumanSkeletonArray, SharedControlStatus
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Joy
from std_msgs.msg import Header

from ros.harness import PARAMS_FILE, REPO, arm, call, latest_status, stamp_s, twist_is_finite, twist_is_zero
from ros.test_system import human

RELIABLE = QoSProfile(depth=5000, reliability=ReliabilityPolicy.RELIABLE)
DEADMAN = [0, 0, 0, 0, 1, 0, 0, 0]
RELEASED = [0] * 8
MAX_LINEAR = 1.0  # safety.limits.max_velocity[vx] in config/params.yaml
LIVENESS_TIMEOUT = 0.5
LIVENESS_PERIOD = 0.1
PREDICTION_TIMEOUT = 0.3  # safety.validation.prediction_timeout
MODEL_CARD = REPO / "models" / "intent_model.card.json"
MODEL = REPO / "models" / "intent_model.onnx"


def state(peer, node):
    return call(peer, GetState, f"/{node}/get_state", GetState.Request(), timeout=5.0).current_state.label


def kv(status):
    return {v.key: v.value for v in status.values} if status is not None else {}


def counter(diags, name, key):
    return int(kv(latest_status(diags, name)).get(key, "0"))


def assert_safe(cmds, limit=MAX_LINEAR):
    """Every command finite and within the configured speed limit."""
    for c in cmds:
        assert twist_is_finite(c.twist), c
        assert abs(c.twist.linear.x) <= limit + 1e-9 and abs(c.twist.angular.z) <= 1.5 + 1e-9, c


def vmrss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


class Operator:
    """Joy at 20 Hz (deadman and axes switchable, can go silent) and skeleton arrays at 30 Hz (a list of humans,
    or a callable returning the array to send), stamped by `clock` (the peer's ROS clock unless given)."""

    def __init__(self, peer, axes=(0.0, 1.0), clock=None):
        self.peer = peer
        self.clock = clock or peer.now_msg
        self.axes, self.buttons, self.joy_on = list(axes), DEADMAN, True
        self.humans = []
        self.skeletons = None  # callable overriding the array sent
        self.skel_on = True
        self.joy_pub = peer.publisher(Joy, "joy")
        self.skel_pub = peer.publisher(HumanSkeletonArray, "humans/skeletons")
        self.cmds = peer.subscribe(TwistStamped, "cmd_vel", RELIABLE)
        self.status = peer.subscribe(SharedControlStatus, "shared_control/status", RELIABLE)
        self.diags = peer.subscribe(DiagnosticArray, "/diagnostics", RELIABLE)
        self.joy_override = None  # callable returning the Joy to send instead
        peer.every(0.05, self._joy)
        peer.every(1.0 / 30.0, self._skel)

    def _joy(self):
        if not self.joy_on:
            return
        if self.joy_override is not None:
            self.joy_pub.publish(self.joy_override())
            return
        self.joy_pub.publish(Joy(header=Header(stamp=self.clock()), axes=list(self.axes), buttons=list(self.buttons)))

    def _skel(self):
        if not self.skel_on:
            return
        if self.skeletons is not None:
            self.skel_pub.publish(self.skeletons())
            return
        self.skel_pub.publish(HumanSkeletonArray(header=Header(stamp=self.clock(), frame_id="base_link"),
                                                 humans=list(self.humans)))

    def arm(self):
        """Arms shared_control as an operator does after a (re)start or a fault (deadman released, then pressed;
        see harness.arm) and goes on holding the deadman."""
        self.joy_on = False
        arm(self.peer, self.joy_pub, self.status, axes=self.axes, stamp=self.clock)
        self.buttons, self.joy_on = DEADMAN, True

    def wait_motion(self, what, timeout=10.0, above=0.4):
        n = len(self.cmds)
        self.peer.spin_until(lambda: any(c.twist.linear.x > above for c in self.cmds[n:]), timeout, what)


# --- 1. shared_control stalled (SIGSTOP) under the supervisor ---------------------------------------------------

def test_sigstop_shared_control_supervisor_stops_robot_and_resumed_node_uses_no_stale_input(peer, launch, tmp_path):
    from ros.test_supervisor import Joystick, from_supervisor, params_file
    op = Operator(peer)
    op.joy_on = False  # the joystick below arms at 50 Hz: released first, then held
    joy = Joystick(peer, axes=(0.0, 1.0))
    params = params_file(tmp_path, supervisor={"managed_nodes": ["shared_control"], "critical_nodes": ["shared_control"]})
    # (supervisor first: processes are stopped in launch order)
    launch("supervisor", "--params-file", str(params))
    node = launch("shared_control", "--params-file", str(params), name="shared_control_stalled")
    peer.spin_until(lambda: state(peer, "shared_control") == "active", 30.0, "supervisor to activate shared_control")
    active_stamp = stamp_s(peer.now_msg())
    joy.arm(op.status)
    op.wait_motion("motion commands before the stall")
    peer.spin_until(lambda: (s := latest_status(op.diags, "/supervisor: system")) is not None and s.level == DiagnosticStatus.OK,
                    10.0, "supervisor diagnostics OK")
    # one writer: while shared_control is active the supervisor publishes nothing on cmd_vel
    assert not [c for c in op.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > active_stamp]

    # Stall the node mid-motion. The joystick goes silent for the stall too: whatever the node had received
    # before the stall must not move the robot after it.
    n = len(op.cmds)
    joy.on = False
    stop_stamp = stamp_s(peer.now_msg())  # commands stamped later were decided after the stall began
    node.proc.send_signal(signal.SIGSTOP)
    try:
        peer.spin_until(lambda: any(from_supervisor(c) for c in op.cmds[n:]), 5.0, "zero on cmd_vel from the supervisor")
        first_zero = next(i for i in range(n, len(op.cmds)) if from_supervisor(op.cmds[i]))
        # judged on stamps (the supervisor stamps its zero with its clock), not on when the peer got to read it
        zero_latency = stamp_s(op.cmds[first_zero].header.stamp) - stop_stamp
        peer.spin_until(lambda: (s := latest_status(op.diags, "/supervisor: system")) is not None
                        and s.level == DiagnosticStatus.ERROR and "shared_control" in s.message, 5.0,
                        "supervisor diagnostics ERROR naming shared_control")
        # hold the stall well past the joystick timeout (0.5 s) while the supervisor keeps the robot stopped
        peer.spin_until(lambda: len(op.cmds) >= first_zero + 25, 5.0, "repeated zero commands during the stall")
        # (a pre-stall command that DDS delivers late is stamped before the stall; nothing after it may move)
        assert all(twist_is_zero(c.twist) for c in op.cmds[first_zero:] if stamp_s(c.header.stamp) > stop_stamp), \
            "motion on cmd_vel while shared_control stalled"
    finally:
        node.proc.send_signal(signal.SIGCONT)
    cont_stamp = stamp_s(peer.now_msg())
    print(f"\n[sigstop shared_control] first zero on cmd_vel {zero_latency * 1000:.0f} ms after SIGSTOP")
    assert zero_latency <= LIVENESS_TIMEOUT + 2 * LIVENESS_PERIOD + 0.3, f"zero came {zero_latency:.2f} s after SIGSTOP"

    # Resumed: answers again as active, diagnostics recover, the supervisor leaves cmd_vel to it, and its own
    # decisions are zero (stale joystick).
    k, ks = len(op.cmds), len(op.status)
    peer.spin_until(lambda: state(peer, "shared_control") == "active", 10.0, "the resumed node answering as active")
    peer.spin_until(lambda: (s := latest_status(op.diags, "/supervisor: system")) is not None and s.level == DiagnosticStatus.OK,
                    10.0, "supervisor diagnostics OK after SIGCONT")
    peer.spin_until(lambda: len(op.status) >= ks + 20, 5.0, "decisions of the resumed node")
    resumed = [s for s in op.status[ks:] if stamp_s(s.header.stamp) > stop_stamp]
    assert len(resumed) >= 15 and all(twist_is_zero(s.output_cmd) for s in resumed), "resumed node moved on pre-stall input"
    assert resumed[0].mode == SharedControlStatus.MODE_FAULT and "joy_stale" in resumed[0].reasons, resumed[0]
    assert any("cycle_gap" in s.reasons for s in resumed[:5]), [list(s.reasons) for s in resumed[:5]]
    assert all(twist_is_zero(c.twist) for c in op.cmds[k:] if stamp_s(c.header.stamp) > stop_stamp), \
        "motion on cmd_vel after SIGCONT without a fresh joystick"
    late = [stamp_s(c.header.stamp) - cont_stamp for c in op.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > cont_stamp]
    assert max(late, default=0.0) <= 0.5, f"supervisor zeros up to {max(late):.2f} s after SIGCONT"
    assert_safe(op.cmds)

    # A fresh joystick, released and then pressed, brings motion back, starting from rest.
    m = len(op.cmds)
    joy.arm(op.status)
    op.wait_motion("motion after a fresh joystick")
    first_moving = next(c for c in op.cmds[m:] if not twist_is_zero(c.twist))
    assert 0.0 < first_moving.twist.linear.x <= 0.1, f"restart not from rest: {first_moving.twist.linear.x}"
    assert not [c for c in op.cmds[m:] if from_supervisor(c)], "supervisor zeros interleaved with motion"
    assert_safe(op.cmds)


# --- 2. intent_predictor stalled (SIGSTOP): conservative human speed ------------------------------------------

class WalkingHuman:
    """A human walking toward the robot from 5 m (1 m/s) and stopping at 1.5 m, like test_system."""

    def __init__(self, op):
        self.op, self.t = op, 0.0
        op.skeletons = self._array

    def _array(self):
        self.t += 1.0 / 30.0
        x = max(5.0 - (self.t % 8.0), 1.5)
        return HumanSkeletonArray(header=Header(stamp=self.op.clock(), frame_id="base_link"), humans=[human(3, x, 0.2)])


def test_sigstop_intent_predictor_falls_back_to_conservative_human_speed(peer, launch, tmp_path):
    from ros.test_supervisor import Joystick, from_supervisor, params_file
    op = Operator(peer, axes=(0.0, 0.6))
    op.joy_on = False  # the joystick below arms at 50 Hz: released first, then held
    joy = Joystick(peer, axes=(0.0, 0.6))
    WalkingHuman(op)
    params = params_file(tmp_path)
    # both nodes under the supervisor (supervisor first: processes are stopped in launch order)
    sup = launch("supervisor", "--params-file", str(params))
    predictor = launch("intent_predictor", "--params-file", str(params))
    launch("shared_control", "--params-file", str(params))
    peer.spin_until(lambda: state(peer, "shared_control") == "active" and state(peer, "intent_predictor") == "active",
                    40.0, "supervisor to activate intent_predictor and shared_control")
    active_stamp = stamp_s(peer.now_msg())
    joy.arm(op.status)
    peer.spin_until(lambda: any(s.predictions_used > 0 and s.humans_seen == 1 for s in op.status), 30.0,
                    "shared_control using the model's predictions")

    # Judged on the node's stamps: the newest prediction is stamped with a skeleton stamp from before the stall,
    # so no decision stamped later than stall + prediction_timeout (+ one control period) may use one.
    n = len(op.status)
    log_at = len(sup.log())
    stop_stamp = stamp_s(peer.now_msg())
    predictor.proc.send_signal(signal.SIGSTOP)
    stale_after = stop_stamp + PREDICTION_TIMEOUT + 0.02
    try:
        peer.spin_until(lambda: any(stamp_s(s.header.stamp) > stale_after + 1.0 for s in op.status[n:]), 5.0,
                        "decisions for a second after the predictions went stale")
        # the supervisor reports the predictor lost and forces no stop: shared_control goes on by itself
        peer.spin_until(lambda: (s := latest_status(op.diags, "/supervisor: node intent_predictor")) is not None
                        and s.level == DiagnosticStatus.ERROR, 5.0, "supervisor diagnostics ERROR for intent_predictor")
        after = [s for s in op.status[n:] if stamp_s(s.header.stamp) > stale_after]
        assert len(after) >= 20, f"only {len(after)} decisions while the predictor was stalled"
        assert all(s.predictions_used == 0 for s in after), "stale predictions used"
        assert all("ssm_conservative_human_speed" in s.reasons for s in after if s.humans_seen > 0)
        assert any(s.humans_seen == 1 for s in after) and any("prediction_stale" in s.reasons for s in after)
        assert any(not twist_is_zero(s.output_cmd) for s in after), "shared_control stopped driving"
        stalled_cmds = [c for c in op.cmds if stamp_s(c.header.stamp) > stop_stamp]
        assert stalled_cmds and not [c for c in stalled_cmds if from_supervisor(c)], "supervisor zeros on cmd_vel"
        assert "publishing zero on cmd_vel" not in sup.log()[log_at:]
    finally:
        predictor.proc.send_signal(signal.SIGCONT)
    last_use = max((stamp_s(s.header.stamp) for s in op.status[n:] if s.predictions_used > 0
                    and stamp_s(s.header.stamp) < stale_after + 1.0), default=stop_stamp)
    print(f"\n[sigstop intent_predictor] predictions last used by a decision stamped "
          f"{(last_use - stop_stamp) * 1000:.0f} ms after SIGSTOP (bound {(stale_after - stop_stamp) * 1000:.0f} ms)")
    # the operator commands 0.6 * 0.5 m/s; nothing faster or non-finite ever reaches cmd_vel
    assert_safe(op.cmds, limit=0.3)
    assert any(not twist_is_zero(c.twist) for c in op.cmds), "never moved"

    m = len(op.status)
    peer.spin_until(lambda: any(s.predictions_used > 0 for s in op.status[m:]), 10.0, "predictions used again after SIGCONT")
    assert_safe(op.cmds, limit=0.3)
    assert not [c for c in op.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > active_stamp]


# --- 3. model missing or corrupt ---------------------------------------------------------------------------------

def _predictor_refuses(peer, proc, node, must_name):
    peer.spin_until(lambda: "cannot configure" in proc.log(), 20.0, f"{node}: the configure error in the log")
    line = next(l for l in proc.log().splitlines() if "cannot configure" in l)
    for what in must_name:
        assert what in line, f"{node}: error does not name {what!r}: {line}"
    assert state(peer, node) == "unconfigured"
    assert proc.proc.poll() is None, f"{node} exited: {proc.log()[-2000:]}"
    return line


def test_missing_or_corrupt_model_refuses_to_configure(peer, launch, tmp_path):
    missing = tmp_path / "removed.onnx"
    corrupt = tmp_path / "corrupt.onnx"
    data = bytearray(MODEL.read_bytes())
    data[len(data) // 3: len(data) // 3 + 4096] = bytes((i * 131 + 7) % 256 for i in range(4096))
    corrupt.write_bytes(bytes(data))
    # A corrupt file that a (wrongly updated) card vouches for: ONNX Runtime itself has to refuse it.
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07garbage, not a protobuf" * 100)
    card = json.loads(MODEL_CARD.read_text())
    card.update(onnx_file=garbage.name, sha256=hashlib.sha256(garbage.read_bytes()).hexdigest())
    bad_card = tmp_path / "garbage.card.json"
    bad_card.write_text(json.dumps(card))

    # the removed model under the supervisor, with shared_control running on without predictions
    op = Operator(peer, axes=(0.0, 1.0))
    op.humans = [human(5, 1.45, 0.3)]
    # (supervisor first: processes are stopped in launch order, and a supervisor waiting for a transition reply
    # from an already stopped node would only exit after transition_timeout)
    launch("supervisor", "--params-file", str(PARAMS_FILE))
    p_missing = launch("intent_predictor", "--params-file", str(PARAMS_FILE), "-p", f"model_path:={missing}",
                       name="predictor_missing")
    launch("shared_control", "--params-file", str(PARAMS_FILE))
    p_corrupt = launch("intent_predictor", "-r", "__node:=predictor_corrupt", "-p", "autostart:=true",
                       "-p", f"model_path:={corrupt}", name="predictor_corrupt")
    p_garbage = launch("intent_predictor", "-r", "__node:=predictor_garbage", "-p", "autostart:=true",
                       "-p", f"model_card:={bad_card}", name="predictor_garbage")

    line = _predictor_refuses(peer, p_missing, "intent_predictor", [str(missing)])
    assert "No such file" in line or "not found" in line, line
    _predictor_refuses(peer, p_corrupt, "predictor_corrupt", [str(corrupt), "sha256"])
    _predictor_refuses(peer, p_garbage, "predictor_garbage", [str(garbage)])
    # asked again over ~/change_state (as `ros2 lifecycle set` does): refused, and the reply says so
    reply = call(peer, ChangeState, "/predictor_corrupt/change_state",
                 ChangeState.Request(transition=Transition(id=Transition.TRANSITION_CONFIGURE)))
    assert not reply.success, "a failed configure answered success"
    assert state(peer, "predictor_corrupt") == "unconfigured"

    # the supervisor brings shared_control up, keeps trying the predictor and reports it
    peer.spin_until(lambda: state(peer, "shared_control") == "active", 30.0, "shared_control active without the predictor")
    peer.spin_until(lambda: (s := latest_status(op.diags, "/supervisor: node intent_predictor")) is not None
                    and s.level == DiagnosticStatus.ERROR, 10.0, "diagnostics ERROR for intent_predictor")
    sysst = latest_status(op.diags, "/supervisor: system")
    assert sysst.level == DiagnosticStatus.ERROR and "intent_predictor" in sysst.message, sysst
    assert state(peer, "intent_predictor") == "unconfigured"

    # shared_control alone: a human ahead, operator pushing at 0.5 m/s: the conservative (ISO 13855) human
    # speed limits the approach, and no command closes in faster than the protective separation allows
    op.arm()
    peer.spin_until(lambda: any("ssm_slowdown" in s.reasons and not twist_is_zero(s.output_cmd) for s in op.status),
                    10.0, "speed and separation monitoring limiting the approach of a moving robot")
    seen = [s for s in op.status if s.humans_seen == 1]
    assert all(s.predictions_used == 0 and "ssm_conservative_human_speed" in s.reasons for s in seen)
    moving = [s for s in seen if not twist_is_zero(s.output_cmd)]
    assert moving and all(s.min_separation >= s.required_separation - 1e-3 for s in moving)
    assert_safe(op.cmds, limit=0.5)


# --- 4. CUDA requested on a machine without a GPU ----------------------------------------------------------------

def _has_gpu():
    try:
        return subprocess.run(["nvidia-smi"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(_has_gpu(), reason="a GPU is present: CUDA may load")
def test_cuda_without_gpu_refuses_to_configure_naming_cuda(peer, launch):
    proc = launch("intent_predictor", "-r", "__node:=predictor_cuda", "-p", "autostart:=true",
                  "-p", "execution_provider:=cuda", name="predictor_cuda")
    line = _predictor_refuses(peer, proc, "predictor_cuda", [])
    assert "cuda" in line.lower(), line
    assert "model loaded" not in proc.log(), "fell back to another provider instead of failing"


# --- 5. 10 000 never-repeating human ids ---------------------------------------------------------------------

def test_ten_thousand_fake_human_ids_keep_memory_bounded(peer, launch):
    op = Operator(peer, axes=(0.0, 0.6))
    op.humans = [human(1, 4.0, 0.0)]
    proc = launch("shared_control_system", "--params-file", str(PARAMS_FILE))
    peer.spin_until(lambda: state(peer, "shared_control") == "active" and state(peer, "intent_predictor") == "active",
                    40.0, "system active")
    peer.spin_until(lambda: any(s.predictions_used > 0 for s in op.status), 20.0, "predictions for the normal human")
    rss_before = vmrss_kb(proc.proc.pid)

    # 16 humans per frame with fresh ids, spread 3-6 m ahead; ids never repeat
    per_frame, total = 16, 10_000
    templates = [human(0, 3.0 + 0.2 * (i % 16), -2.0 + 0.25 * i) for i in range(per_frame)]
    sent = {"ids": 0, "frames": 0}
    arr = HumanSkeletonArray(header=Header(frame_id="base_link"), humans=templates)

    def flood():
        if sent["ids"] >= total:
            return
        for h in templates:
            h.id = 1000 + sent["ids"]
            sent["ids"] += 1
        arr.header.stamp = peer.now_msg()
        op.skel_pub.publish(arr)
        sent["frames"] += 1

    op.skel_on = False  # the flood replaces the normal stream
    n_status, n_cmds = len(op.status), len(op.cmds)
    started = time.monotonic()
    timer = peer.every(0.005, flood)
    peer.spin_until(lambda: sent["ids"] >= total, 60.0, "10 000 ids sent")
    flood_s = time.monotonic() - started
    timer.cancel()
    rss_peak = vmrss_kb(proc.proc.pid)

    # back to normal: the node still decides at its rate (the peer, busy publishing, reads the flood-time
    # statuses only now: the reader queue kept them)
    op.skel_on = True
    k = len(op.status)
    peer.spin_until(lambda: len(op.status) >= k + 100, 10.0, "status keeps coming after the flood")
    since = op.status[n_status:]
    assert max(s.humans_seen for s in since) >= 8, "the flood did not reach shared_control"
    tracked = max((int(kv(s).get("tracked_humans", "0")) for a in op.diags for s in a.status
                   if s.name == "/intent_predictor: inference"), default=0)
    stamps = [stamp_s(s.header.stamp) for s in since]
    max_gap = max(b - a for a, b in zip(stamps, stamps[1:]))
    # eviction (1 s) and occlusion memory (1 s) have passed: the flood's humans are forgotten
    peer.spin_until(lambda: stamps[-1] + 1.5 < stamp_s(op.status[-1].header.stamp), 5.0, "eviction time")
    rss_after = vmrss_kb(proc.proc.pid)
    assert proc.proc.poll() is None, proc.log()[-3000:]
    assert all(s.humans_seen <= 1 for s in op.status[-20:])
    growth_mb = (rss_after - rss_before) / 1024
    print(f"\n[10k ids] {sent['frames']} frames in {flood_s:.1f} s ({sent['frames'] / flood_s:.0f} Hz); "
          f"VmRSS before {rss_before / 1024:.1f} MB, right after the flood {rss_peak / 1024:.1f} MB, "
          f"after eviction {rss_after / 1024:.1f} MB (growth {growth_mb:+.1f} MB); "
          f"max status gap {max_gap * 1000:.0f} ms; predictor tracked at most {tracked} humans")
    assert growth_mb < 30.0, f"VmRSS grew by {growth_mb:.1f} MB"
    assert (rss_peak - rss_before) / 1024 < 60.0, f"VmRSS peaked {(rss_peak - rss_before) / 1024:.1f} MB above the start"
    # no decision pause longer than the supervisor's liveness timeout (the last command would stand meanwhile)
    assert max_gap < LIVENESS_TIMEOUT, f"shared_control stalled for {max_gap:.2f} s"
    assert_safe(op.cmds[n_cmds:], limit=0.3)


# --- 6. huge and malformed messages at system level ---------------------------------------------------------

def test_huge_and_malformed_messages_are_counted_and_stop_the_robot(peer, launch):
    op = Operator(peer, axes=(0.0, 1.0))
    op.humans = [human(1, 4.0, 1.5)]
    launch("shared_control_system", "--params-file", str(PARAMS_FILE))
    peer.spin_until(lambda: state(peer, "shared_control") == "active" and state(peer, "intent_predictor") == "active",
                    40.0, "system active")
    op.arm()
    op.wait_motion("motion with valid inputs", timeout=15.0)

    # Joystick: thousands of axes and buttons instead of the real pad -> rejected, counted, the last valid
    # joystick goes stale -> explicit zero.
    huge_joy = Joy(axes=[1.0] * 5000, buttons=[1] * 5000)

    def send_huge_joy():
        huge_joy.header.stamp = peer.now_msg()
        return huge_joy

    op.joy_override = send_huge_joy
    n = len(op.status)
    peer.spin_until(lambda: any("joy_stale" in s.reasons for s in op.status[n:]), 5.0, "joy_stale after the huge joys")
    z = next(i for i in range(n, len(op.status)) if "joy_stale" in op.status[i].reasons)
    peer.spin_until(lambda: counter(op.diags, "/shared_control: safety counters", "rejected_oversized_joy") >= 5, 5.0,
                    "oversized joys counted")
    peer.spin_until(lambda: len(op.status) >= z + 20, 5.0, "decisions with only huge joys")
    assert all(twist_is_zero(s.output_cmd) for s in op.status[z:])
    op.joy_override = None
    op.arm()  # the stale joystick was a fault: the operator re-arms
    op.wait_motion("motion again with a valid joystick")

    # Skeletons: only structurally invalid arrays (too many humans, a huge one, 20 000 keypoints, confidences
    # not matching) -> all rejected and counted by the predictor; the last valid capture goes stale -> zero.
    many = HumanSkeletonArray(header=Header(frame_id="base_link"), humans=[human(i, 4.0, 0.0) for i in range(65)])
    huge = HumanSkeletonArray(header=Header(frame_id="base_link"), humans=[human(i, 4.0, 0.0) for i in range(2000)])
    kp = HumanSkeletonArray(header=Header(frame_id="base_link"), humans=[HumanSkeleton(
        id=1, keypoints=[Point(x=4.0, y=0.0, z=1.0)] * 20000, confidence=[0.9] * 20000)])
    conf = HumanSkeletonArray(header=Header(frame_id="base_link"),
                              humans=[HumanSkeleton(id=1, keypoints=human(1, 4.0, 0.0).keypoints, confidence=[0.9] * 3)])
    bad = [many, huge, kp, conf]
    i = {"n": 0}

    def send_bad():
        msg = bad[i["n"] % len(bad)]
        i["n"] += 1
        msg.header.stamp = peer.now_msg()
        return msg

    op.skeletons = send_bad
    n = len(op.status)
    peer.spin_until(lambda: any("skeletons_stale" in s.reasons for s in op.status[n:]), 5.0,
                    "skeletons_stale after only invalid arrays")
    z = next(i for i in range(n, len(op.status)) if "skeletons_stale" in op.status[i].reasons)
    name = "/intent_predictor: inference"
    peer.spin_until(lambda: all(counter(op.diags, name, f"rejected_{r}") >= 2 for r in (
        "too_many_humans", "keypoint_count", "confidence_count")), 10.0, "invalid skeleton arrays counted by reason")
    peer.spin_until(lambda: len(op.status) >= z + 20, 5.0, "decisions with only invalid skeleton arrays")
    assert all(twist_is_zero(s.output_cmd) and s.humans_seen <= 1 for s in op.status[z:])
    op.skeletons = None
    op.arm()  # stale skeletons were a fault: the operator re-arms
    op.wait_motion("motion again with valid skeletons")
    assert_safe(op.cmds, limit=0.5)


# --- 7. simulated time jumping backwards ------------------------------------------------------------------

class SimClock:
    """/clock from the peer at 100 Hz, advancing at real rate from 1000 s; the test moves `t` to jump it."""

    def __init__(self, peer):
        self.t = 1000.0
        self.last = time.monotonic()
        self.pub = peer.publisher(Clock, "/clock", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        peer.every(0.01, self._tick)

    def _tick(self):
        now = time.monotonic()
        self.t += now - self.last
        self.last = now
        self.pub.publish(Clock(clock=self.msg()))

    def msg(self):
        # stamps always from the clock's current value (advanced to now), like a simulator would
        now = time.monotonic()
        t = self.t + (now - self.last)
        return Time(sec=int(t), nanosec=int((t - int(t)) * 1e9))

    def now(self):
        return self.t + (time.monotonic() - self.last)


def test_sim_time_jumping_backwards_stops_and_never_uses_pre_jump_inputs(peer, launch):
    clock = SimClock(peer)
    op = Operator(peer, axes=(0.0, 1.0), clock=clock.msg)
    proc = launch("shared_control", "--params-file", str(PARAMS_FILE), "-p", "autostart:=true",
                  "-p", "use_sim_time:=true", name="shared_control_sim")
    op.arm()
    op.wait_motion("motion on sim time", timeout=15.0)
    assert abs(stamp_s(op.cmds[-1].header.stamp) - clock.now()) < 1.0, "cmd_vel not stamped with sim time"

    # Jump 3 s back. From now on the operator has released the deadman (fresh inputs say: stop). Any motion
    # after the jump can only come from inputs received before it.
    jump = 3.0
    pre_jump = clock.now()
    n, ns = len(op.cmds), len(op.status)
    op.buttons = RELEASED
    clock.t -= jump
    peer.spin_until(lambda: any(twist_is_zero(c.twist) for c in op.cmds[n:]), 2.0, "zero after the jump")
    peer.spin_until(lambda: any("clock_backwards" in s.reasons for s in op.status[ns:]), 2.0, "clock_backwards reported")
    jumped = next(s for s in op.status[ns:] if "clock_backwards" in s.reasons)
    assert jumped.mode == SharedControlStatus.MODE_FAULT and twist_is_zero(jumped.output_cmd)
    # run until sim time is well past the pre-jump time (every pre-jump input would look fresh again there)
    peer.spin_until(lambda: clock.now() > pre_jump + 1.0, jump + 5.0, "sim time past the pre-jump time")
    peer.spin_until(lambda: len(op.cmds) > n + 10, 2.0, "commands")
    first_zero = next(i for i in range(n, len(op.cmds)) if twist_is_zero(op.cmds[i].twist))
    moving = [(stamp_s(c.header.stamp), c.twist.linear.x) for c in op.cmds[first_zero:] if not twist_is_zero(c.twist)]
    assert not moving, f"motion from pre-jump inputs after the clock jumped back: {moving[:5]}"
    assert first_zero - n <= 6, "motion kept going after the jump"
    assert_safe(op.cmds)

    # Fresh inputs with the deadman held again: motion resumes, on the new time line
    op.buttons = DEADMAN
    op.wait_motion("motion again with fresh inputs after the jump", timeout=10.0)
    assert abs(stamp_s(op.cmds[-1].header.stamp) - clock.now()) < 1.0
    assert_safe(op.cmds)
    assert proc.proc.poll() is None
