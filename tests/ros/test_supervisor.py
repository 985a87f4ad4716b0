"""supervisor over real DDS: brings shared_control up, stops the robot while shared_control cannot (killed,
stalled, respawned and not yet active), and stays off cmd_vel otherwise: a predictor that is down or never
came up is reported, not answered with a stop, so cmd_vel carries one consistent stream.

The supervisor's zero commands are told apart from shared_control's by their frame: the tests give the
supervisor its own `cmd_frame_id` (a label only; it changes nothing else). Every test arms the joystick the
way an operator does after an activation: deadman released first, then held.
"""
import signal
import time

import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import TwistStamped
from intent_shared_control_msgs.msg import HumanSkeletonArray, SharedControlStatus
from lifecycle_msgs.srv import GetState
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Joy
from std_msgs.msg import Header

from ros.harness import PARAMS_FILE, arm, call, latest_status, node_section, stamp_s, twist_is_zero
from ros.test_system import human

LIVENESS_TIMEOUT = 0.5
LIVENESS_PERIOD = 0.1
STOP_RATE = 20.0  # supervisor.stop_rate in config/params.yaml
RETRY_PERIOD = 1.0  # supervisor_node::RETRY_PERIOD
PREDICTION_TIMEOUT = 0.3  # safety.validation.prediction_timeout
SUPERVISOR_FRAME = "base_link_supervisor_stop"
WINDOW = 3.0  # seconds of cmd_vel judged for a consistent stream
RELIABLE = QoSProfile(depth=5000, reliability=ReliabilityPolicy.RELIABLE)
DEADMAN = [0, 0, 0, 0, 1, 0, 0, 0]
RELEASED = [0] * 8


def params_file(tmp_path, supervisor=None, predictor=None):
    """The shipped parameters with the supervisor's zero commands labelled by their frame, plus overrides per
    node (a params file applies per node, also in the composed process)."""
    data = yaml.safe_load(PARAMS_FILE.read_text())
    node_section(data, "supervisor")["ros__parameters"].update(cmd_frame_id=SUPERVISOR_FRAME, liveness_timeout=LIVENESS_TIMEOUT,
                                                 liveness_period=LIVENESS_PERIOD, **(supervisor or {}))
    node_section(data, "intent_predictor")["ros__parameters"].update(predictor or {})
    path = tmp_path / "params_supervisor_test.yaml"
    path.write_text(yaml.safe_dump(data, default_flow_style=None, sort_keys=False))
    return path


def from_supervisor(cmd):
    return cmd.header.frame_id == SUPERVISOR_FRAME


def flips(cmds):
    """Transitions between zero and non-zero commands in a sequence of TwistStamped."""
    zeros = [twist_is_zero(c.twist) for c in cmds]
    return sum(1 for a, b in zip(zeros, zeros[1:]) if a != b)


def state(peer, node):
    return call(peer, GetState, f"/{node}/get_state", GetState.Request(), timeout=5.0).current_state.label


def system_level(diags):
    """Level of the supervisor's system status in the newest /diagnostics message that has it."""
    s = latest_status(diags, "/supervisor: system")
    return None if s is None else s.level


def node_level(diags, node):
    s = latest_status(diags, f"/supervisor: node {node}")
    return None if s is None else s.level


def kv(status):
    return {v.key: v.value for v in status.values} if status is not None else {}


def log_lines(proc, *words, since=0):
    """Lines of the process's log (from character offset `since`) that contain every one of `words`."""
    return [line for line in proc.log()[since:].splitlines() if all(w in line for w in words)]


class Joystick:
    """Joy at 50 Hz; `held` switches the deadman, `on` silences the joystick."""

    def __init__(self, peer, axes=(0.0, 1.0)):
        self.peer, self.axes = peer, list(axes)
        self.held, self.on, self.sent = False, True, 0
        self.pub = peer.publisher(Joy, "joy")
        peer.every(0.02, self._joy)

    def _joy(self):
        if self.on:
            self.pub.publish(Joy(header=Header(stamp=self.peer.now_msg()), axes=list(self.axes),
                                 buttons=list(DEADMAN if self.held else RELEASED)))
            self.sent += 1

    def arm(self, status, timeout=20.0):
        """Arms shared_control as an operator does after an activation or a stall (harness.arm: the deadman
        released at 50 Hz until the node reports it, 0.2 s more, then pressed), then keeps it held."""
        self.on = False
        try:
            arm(self.peer, self.pub, status, axes=self.axes, timeout=timeout)
        finally:
            self.held, self.on = True, True


class Drive:
    """An operator arming and holding the deadman (50 Hz), one person standing far off (6 m ahead, 4 m to the
    left; 30 Hz), and what the system publishes."""

    def __init__(self, peer, axes=(0.0, 1.0)):
        self.peer = peer
        self.joy = Joystick(peer, axes)
        self.skel_pub = peer.publisher(HumanSkeletonArray, "humans/skeletons")
        self.cmds = peer.subscribe(TwistStamped, "cmd_vel", RELIABLE)
        self.status = peer.subscribe(SharedControlStatus, "shared_control/status", RELIABLE)
        self.diags = peer.subscribe(DiagnosticArray, "/diagnostics", RELIABLE)
        peer.every(1.0 / 30.0, lambda: self.skel_pub.publish(HumanSkeletonArray(
            header=Header(stamp=peer.now_msg(), frame_id="base_link"), humans=[human(7, 6.0, 4.0)])))

    def wait_motion(self, what, timeout=15.0, above=0.4):
        n = len(self.cmds)
        self.peer.spin_until(lambda: any(c.twist.linear.x > above for c in self.cmds[n:]), timeout, what)

    def wait_stamped_after(self, t, what, timeout=None):
        """Spins until a command stamped after `t` (ROS time, seconds) arrived."""
        self.peer.spin_until(lambda: any(stamp_s(c.header.stamp) > t for c in self.cmds[-5:]),
                             timeout if timeout is not None else max(5.0, t - stamp_s(self.peer.now_msg()) + 5.0), what)


def test_kill_restart_cycle(peer, launch, tmp_path):
    params = params_file(tmp_path, supervisor={"managed_nodes": ["shared_control"]})
    drive = Drive(peer)
    sup = launch("supervisor", "--params-file", str(params))
    node = launch("shared_control", "--params-file", str(params), name="shared_control_1")

    peer.spin_until(lambda: state(peer, "shared_control") == "active", 30.0, "supervisor to bring shared_control to active")
    active_at = stamp_s(peer.now_msg())
    drive.joy.arm(drive.status)
    drive.wait_motion("motion commands")
    peer.spin_until(lambda: system_level(drive.diags) == DiagnosticStatus.OK, 10.0, "diagnostics OK")
    assert not [c for c in drive.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > active_at], \
        "supervisor wrote on cmd_vel while shared_control was active"

    log_at = len(sup.log())
    node.proc.kill()  # kill -9: no chance to publish a last zero itself
    killed_at = time.monotonic()
    n = len(drive.cmds)
    peer.spin_until(lambda: any(from_supervisor(m) for m in drive.cmds[n:]), 5.0, "zero on cmd_vel from the supervisor")
    elapsed = time.monotonic() - killed_at
    # the supervisor notices within the liveness timeout (+ one probe period), DDS adds milliseconds
    assert elapsed <= LIVENESS_TIMEOUT + 2 * LIVENESS_PERIOD + 0.3, f"zero came {elapsed:.2f} s after the kill"
    peer.spin_until(lambda: system_level(drive.diags) == DiagnosticStatus.ERROR, 5.0, "diagnostics ERROR")
    # zeros keep coming while the node is gone
    m = len(drive.cmds)
    peer.spin_until(lambda: len(drive.cmds) >= m + 5, 5.0, "repeated zero commands")
    assert all(twist_is_zero(c.twist) and from_supervisor(c) for c in drive.cmds[m:])

    # respawned: unconfigured, the supervisor keeps the robot stopped until it is active again, then goes quiet
    launch("shared_control", "--params-file", str(params), name="shared_control_2")
    peer.spin_until(lambda: state(peer, "shared_control") == "active", 30.0, "respawned shared_control brought back to active")
    back_at = stamp_s(peer.now_msg())
    peer.spin_until(lambda: system_level(drive.diags) == DiagnosticStatus.OK, 10.0, "diagnostics OK again")
    drive.joy.arm(drive.status)
    drive.wait_motion("motion again after recovery")
    late = [stamp_s(c.header.stamp) - back_at for c in drive.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > back_at]
    assert not late, f"supervisor zeros after the respawned node was active: {late[:5]}"
    # each action logged once: the loss, the start and the end of the zero commands, the two transitions
    for words in (("node lost", "shared_control"), ("publishing zero on cmd_vel at",), ("stopped publishing zero",),
                  ("configure succeeded", "shared_control"), ("activate succeeded", "shared_control")):
        assert len(log_lines(sup, *words, since=log_at)) == 1, (words, sup.log()[log_at:])


def _one_writer_while_predictor_down(peer, drive, sup, fault_stamp, label, log_at):
    """Judges cmd_vel over WINDOW seconds from `fault_stamp`: one stream from shared_control, no supervisor
    zero, at most one zero <-> motion transition, and decisions on conservative human speeds."""
    drive.wait_stamped_after(fault_stamp + WINDOW, f"{WINDOW:.0f} s of commands with the predictor down")
    window = [c for c in drive.cmds if fault_stamp < stamp_s(c.header.stamp) <= fault_stamp + WINDOW]
    by_supervisor = [c for c in window if from_supervisor(c)]
    moving = [c for c in window if not twist_is_zero(c.twist)]
    n_flips = flips(window)
    print(f"\n[{label}] {len(window)} commands in {WINDOW:.0f} s: {len(window) - len(by_supervisor)} from "
          f"shared_control ({len(moving)} moving), {len(by_supervisor)} from the supervisor, "
          f"{n_flips} zero<->motion transitions")
    assert not by_supervisor, f"supervisor wrote {len(by_supervisor)} commands while shared_control was active"
    assert n_flips <= 1, f"{n_flips} zero<->motion transitions in {WINDOW:.0f} s"
    assert len(moving) >= 0.8 * len(window) and len(window) >= 50, "shared_control did not keep driving"
    decided = [s for s in drive.status if fault_stamp + PREDICTION_TIMEOUT + 0.05 < stamp_s(s.header.stamp) <= fault_stamp + WINDOW]
    assert decided and all(s.predictions_used == 0 for s in decided), "predictions used while the predictor is down"
    assert all("ssm_conservative_human_speed" in s.reasons for s in decided if s.humans_seen > 0)
    # reported: ERROR for the predictor, and the system status says nobody forces a stop
    peer.spin_until(lambda: node_level(drive.diags, "intent_predictor") == DiagnosticStatus.ERROR, 5.0,
                    "diagnostics ERROR for intent_predictor")
    sysst = latest_status(drive.diags, "/supervisor: system")
    assert sysst.level == DiagnosticStatus.ERROR and "intent_predictor" in sysst.message, sysst
    assert kv(sysst).get("publishing_stop") == "false", sysst
    assert not log_lines(sup, "publishing zero on cmd_vel", since=log_at), "the supervisor stopped the robot"


def _start_separate(launch, params):
    # (supervisor first: processes are stopped in launch order)
    sup = launch("supervisor", "--params-file", str(params))
    predictor = launch("intent_predictor", "--params-file", str(params))
    launch("shared_control", "--params-file", str(params))
    return sup, predictor


def _drive_with_predictor_up(peer, drive):
    peer.spin_until(lambda: state(peer, "shared_control") == "active" and state(peer, "intent_predictor") == "active",
                    40.0, "supervisor to activate intent_predictor and shared_control")
    active_at = stamp_s(peer.now_msg())
    drive.joy.arm(drive.status)
    drive.wait_motion("motion commands")
    peer.spin_until(lambda: any(s.predictions_used > 0 for s in drive.status), 20.0, "decisions using predictions")
    return active_at


def test_predictor_killed_shared_control_drives_on_alone(peer, launch, tmp_path):
    params = params_file(tmp_path)
    drive = Drive(peer)
    sup, predictor = _start_separate(launch, params)
    active_at = _drive_with_predictor_up(peer, drive)

    fault, log_at = stamp_s(peer.now_msg()), len(sup.log())
    predictor.proc.kill()
    _one_writer_while_predictor_down(peer, drive, sup, fault, "intent_predictor SIGKILL", log_at)
    assert len(log_lines(sup, "node lost", "intent_predictor", since=log_at)) == 1, sup.log()[log_at:]

    # respawned: the supervisor brings it back, its forecasts are used again, and it never wrote on cmd_vel
    launch("intent_predictor", "--params-file", str(params), name="intent_predictor_2")
    peer.spin_until(lambda: node_level(drive.diags, "intent_predictor") == DiagnosticStatus.OK, 30.0,
                    "respawned intent_predictor active")
    m = len(drive.status)
    peer.spin_until(lambda: any(s.predictions_used > 0 for s in drive.status[m:]), 20.0, "predictions used again")
    assert not [c for c in drive.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > active_at]


def test_predictor_stopped_shared_control_drives_on_alone(peer, launch, tmp_path):
    params = params_file(tmp_path)
    drive = Drive(peer)
    sup, predictor = _start_separate(launch, params)
    active_at = _drive_with_predictor_up(peer, drive)

    fault, log_at = stamp_s(peer.now_msg()), len(sup.log())
    predictor.proc.send_signal(signal.SIGSTOP)
    try:
        _one_writer_while_predictor_down(peer, drive, sup, fault, "intent_predictor SIGSTOP", log_at)
        assert len(log_lines(sup, "node lost", "intent_predictor", since=log_at)) == 1, sup.log()[log_at:]
    finally:
        predictor.proc.send_signal(signal.SIGCONT)
    peer.spin_until(lambda: node_level(drive.diags, "intent_predictor") == DiagnosticStatus.OK, 10.0,
                    "intent_predictor answering again")
    m = len(drive.status)
    peer.spin_until(lambda: any(s.predictions_used > 0 for s in drive.status[m:]), 20.0, "predictions used again")
    assert len(log_lines(sup, "node answers again", "intent_predictor", since=log_at)) == 1, sup.log()[log_at:]
    assert not [c for c in drive.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > active_at]


def _never_up(peer, drive, sup, label):
    """The predictor refuses to configure (its model card does not exist): shared_control comes up and drives
    alone, the supervisor asks the predictor again at most once per RETRY_PERIOD, then less and less often
    (1, 2, 4, ... s), and logs the failure once."""
    peer.spin_until(lambda: state(peer, "shared_control") == "active", 40.0, "shared_control active without the predictor")
    active_at = stamp_s(peer.now_msg())
    drive.joy.arm(drive.status)
    drive.wait_motion("motion commands without the predictor")
    started = time.monotonic()
    attempts0 = int(kv(latest_status(drive.diags, "/supervisor: node intent_predictor")).get("failed_attempts", "0"))
    _one_writer_while_predictor_down(peer, drive, sup, stamp_s(peer.now_msg()), label, len(sup.log()))
    assert state(peer, "intent_predictor") == "unconfigured"
    peer.spin_until(lambda: int(kv(latest_status(drive.diags, "/supervisor: node intent_predictor")).get(
        "failed_attempts", "0")) >= attempts0 + 1, 40.0, "the supervisor asking the predictor again")
    attempts = int(kv(latest_status(drive.diags, "/supervisor: node intent_predictor"))["failed_attempts"]) - attempts0
    elapsed = time.monotonic() - started
    print(f"[{label}] {attempts} further configure attempts in {elapsed:.1f} s")
    assert attempts <= elapsed / RETRY_PERIOD + 2, f"{attempts} attempts in {elapsed:.1f} s"
    assert len(log_lines(sup, "configure failed", "intent_predictor")) == 1, sup.log()[-3000:]
    assert not [c for c in drive.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > active_at]


def test_predictor_never_up_separate(peer, launch, tmp_path):
    params = params_file(tmp_path, predictor={"model_card": str(tmp_path / "no_such_model.card.json")})
    drive = Drive(peer)
    sup, _ = _start_separate(launch, params)
    _never_up(peer, drive, sup, "intent_predictor never up, separate")


def test_predictor_never_up_composed(peer, launch, tmp_path):
    params = params_file(tmp_path, predictor={"model_card": str(tmp_path / "no_such_model.card.json")})
    drive = Drive(peer)
    proc = launch("shared_control_system", "--params-file", str(params))
    _never_up(peer, drive, proc, "intent_predictor never up, composed")


def test_shared_control_stalled_zeros_at_stop_rate_and_no_motion_without_rearm(peer, launch, tmp_path):
    params = params_file(tmp_path, supervisor={"managed_nodes": ["shared_control"]})
    drive = Drive(peer)
    sup = launch("supervisor", "--params-file", str(params))
    node = launch("shared_control", "--params-file", str(params))
    peer.spin_until(lambda: state(peer, "shared_control") == "active", 30.0, "supervisor to activate shared_control")
    drive.joy.arm(drive.status)
    drive.wait_motion("motion before the stall")

    # The joystick keeps sending the deadman held throughout: only a release and a press may restart motion.
    stop_stamp, log_at = stamp_s(peer.now_msg()), len(sup.log())
    node.proc.send_signal(signal.SIGSTOP)
    try:
        peer.spin_until(lambda: any(from_supervisor(c) for c in drive.cmds[-5:]), 5.0, "zero from the supervisor")
        first = next(c for c in drive.cmds if from_supervisor(c) and stamp_s(c.header.stamp) > stop_stamp)
        first_s = stamp_s(first.header.stamp)
        drive.wait_stamped_after(first_s + 2.0, "two seconds of zero commands during the stall")
        zeros = [c for c in drive.cmds if from_supervisor(c) and first_s <= stamp_s(c.header.stamp) <= first_s + 2.0]
        stamps = [stamp_s(c.header.stamp) for c in zeros]
        rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
        stalled = [c for c in drive.cmds if stamp_s(c.header.stamp) > first_s]
        assert all(twist_is_zero(c.twist) for c in stalled), "motion on cmd_vel while shared_control stalled"
    finally:
        node.proc.send_signal(signal.SIGCONT)
    cont_stamp = stamp_s(peer.now_msg())
    print(f"\n[sigstop shared_control] first zero {1000 * (first_s - stop_stamp):.0f} ms after SIGSTOP; "
          f"{len(zeros)} zeros in 2 s: {rate:.1f} Hz (stop_rate {STOP_RATE:.0f} Hz)")
    # A generous bound (the machine running the tests is shared): the point is that zeros come after the loss.
    assert first_s - stop_stamp <= LIVENESS_TIMEOUT + 2 * LIVENESS_PERIOD + 1.5
    assert abs(rate - STOP_RATE) <= 0.3 * STOP_RATE, f"zero commands at {rate:.1f} Hz, stop_rate {STOP_RATE} Hz"

    # Resumed with the deadman still held: the node answers as active, the supervisor goes quiet, and the
    # node's own commands stay zero until the operator re-arms.
    # (This part needs shared_control's re-arm after a cycle gap: zero until the deadman is released and
    # pressed again.)
    peer.spin_until(lambda: state(peer, "shared_control") == "active", 10.0, "the resumed node answering as active")
    peer.spin_until(lambda: system_level(drive.diags) == DiagnosticStatus.OK, 10.0, "supervisor diagnostics OK")
    drive.wait_stamped_after(cont_stamp + 1.5, "commands of the resumed node")
    resumed = [c for c in drive.cmds if stamp_s(c.header.stamp) > cont_stamp]
    late = [stamp_s(c.header.stamp) - cont_stamp for c in resumed if from_supervisor(c)]
    own = [c for c in resumed if not from_supervisor(c)]
    print(f"[sigstop shared_control] after SIGCONT: {len(late)} supervisor zeros (last "
          f"{1000 * max(late, default=0.0):.0f} ms after), {len(own)} commands of shared_control, "
          f"{sum(1 for c in own if not twist_is_zero(c.twist))} moving")
    assert max(late, default=0.0) <= 0.5, f"supervisor zeros up to {max(late):.2f} s after SIGCONT"
    assert len(own) >= 25
    moving = [c.twist.linear.x for c in own if not twist_is_zero(c.twist)]
    assert not moving, f"motion after the stall without a re-arm (deadman held throughout): {moving[:5]}"

    # A release and a press bring motion back, from rest.
    m = len(drive.cmds)
    drive.joy.arm(drive.status)
    drive.wait_motion("motion after re-arming")
    first_moving = next(c for c in drive.cmds[m:] if not twist_is_zero(c.twist))
    assert 0.0 < first_moving.twist.linear.x <= 0.1, f"restart not from rest: {first_moving.twist.linear.x}"
    for words in (("node lost", "shared_control"), ("node answers again", "shared_control"),
                  ("publishing zero on cmd_vel at",), ("stopped publishing zero",)):
        assert len(log_lines(sup, *words, since=log_at)) == 1, (words, sup.log()[log_at:])


def test_outside_deactivate_is_held_not_undone_and_activate_hands_back(peer, launch, tmp_path):
    """`ros2 lifecycle set /shared_control deactivate` (here the same service call from the peer) is the operator's
    intent: the supervisor logs it once, reports it, keeps the node inactive and the robot stopped (its zero
    commands), and manages the node again once the operator activates it."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState
    params = params_file(tmp_path)
    drive = Drive(peer)
    sup = launch("shared_control_system", "--params-file", str(params))
    peer.spin_until(lambda: state(peer, "shared_control") == "active" and state(peer, "intent_predictor") == "active",
                    40.0, "system active")
    drive.joy.arm(drive.status)
    drive.wait_motion("motion commands")
    reply = call(peer, ChangeState, "/shared_control/change_state",
                 ChangeState.Request(transition=Transition(id=Transition.TRANSITION_DEACTIVATE)))
    assert reply.success
    held_at = time.monotonic()
    peer.spin_until(lambda: (s := latest_status(drive.diags, "/supervisor: node shared_control")) is not None
                    and kv(s).get("held_by_request") == "true", 5.0, "the supervisor reporting the hold")
    m = len(drive.cmds)
    # Ten liveness timeouts later the node is still inactive: not re-activated behind the operator's back.
    peer.spin_until(lambda: time.monotonic() - held_at > 10 * LIVENESS_TIMEOUT, 10.0, "ten liveness timeouts")
    assert state(peer, "shared_control") == "inactive"
    assert system_level(drive.diags) == DiagnosticStatus.WARN, latest_status(drive.diags, "/supervisor: system")
    assert "held by an outside request" in latest_status(drive.diags, "/supervisor: system").message
    late = drive.cmds[m:]
    assert late and all(from_supervisor(c) and twist_is_zero(c.twist) for c in late), "robot not held stopped"
    assert len(log_lines(sup, "from outside", "shared_control")) == 1, sup.log()[-3000:]
    reply = call(peer, ChangeState, "/shared_control/change_state",
                 ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVATE)))
    assert reply.success
    peer.spin_until(lambda: (s := latest_status(drive.diags, "/supervisor: node shared_control")) is not None
                    and kv(s).get("held_by_request") == "false" and system_level(drive.diags) == DiagnosticStatus.OK,
                    5.0, "the node managed again")
    drive.joy.arm(drive.status)
    drive.wait_motion("motion after the operator activated it again")
