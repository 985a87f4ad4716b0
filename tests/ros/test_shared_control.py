"""shared_control over real DDS: rclpy publishes joy and skeletons, checks cmd_vel and status."""
import math

import pytest
from geometry_msgs.msg import Point, TwistStamped
from sensor_msgs.msg import Joy
from intent_shared_control_msgs.msg import HumanSkeleton, HumanSkeletonArray, SharedControlStatus

from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters

from ros.harness import PARAMS_FILE, arm, call, stamp_s, twist_is_finite, twist_is_zero

DEADMAN = 4
JOY_TIMEOUT = 0.5
CONTROL_RATE = 50.0


def joy_msg(peer, axes, deadman, held=()):
    buttons = [0] * 8
    buttons[DEADMAN] = 1 if deadman else 0
    for b in held:
        buttons[b] = 1
    return Joy(header=peer_header(peer), axes=[float(a) for a in axes], buttons=buttons)


def peer_header(peer, frame="base_link"):
    from std_msgs.msg import Header
    return Header(stamp=peer.now_msg(), frame_id=frame)


def skeleton(human_id, x, y):
    """A standing human whose keypoints surround (x, y)."""
    pts = [Point(x=x + 0.01 * (k % 3), y=y + 0.01 * (k % 2), z=0.1 * (17 - k)) for k in range(17)]
    return HumanSkeleton(id=human_id, keypoints=pts, confidence=[0.9] * 17)


class Rig:
    """shared_control under test plus an rclpy peer publishing joy at 20 Hz."""

    def __init__(self, peer, launch, *extra):
        self.peer = peer
        self.node = launch("shared_control", "--params-file", str(PARAMS_FILE), "-p", "autostart:=true",
                           "-p", f"teleop.timeout:={JOY_TIMEOUT}", "-p", f"control_rate:={CONTROL_RATE}", *extra)
        self.joy_pub = peer.publisher(Joy, "joy")
        self.skel_pub = peer.publisher(HumanSkeletonArray, "humans/skeletons")
        self.cmds = peer.subscribe(TwistStamped, "cmd_vel")
        self.status = peer.subscribe(SharedControlStatus, "shared_control/status")
        self.axes, self.deadman, self.sending = [0.0, 0.0], False, True
        self.held = []  # other buttons held besides the deadman
        self.last_joy_stamp = None
        self.humans = []  # nobody in view, but the tracker is alive (the safety chain stops without skeletons)
        peer.every(0.05, self._send_joy)
        peer.every(0.05, self._send_skeletons)
        peer.wait_matched(publishers=[self.joy_pub, self.skel_pub],
                          subscribed_topics=["cmd_vel", "shared_control/status"])

    def _send_joy(self):
        if self.sending:
            msg = joy_msg(self.peer, self.axes, self.deadman, self.held)
            self.last_joy_stamp = stamp_s(msg.header.stamp)
            self.joy_pub.publish(msg)

    def _send_skeletons(self):
        self.skel_pub.publish(HumanSkeletonArray(header=peer_header(self.peer), humans=self.humans))

    def arm(self, axes):
        """Arms the node as an operator does after a (re)start or a fault (deadman released, then pressed; see
        harness.arm) and goes on holding the deadman with `axes`."""
        self.sending = False
        arm(self.peer, self.joy_pub, self.status, axes=axes)
        self.axes, self.deadman, self.sending = list(axes), True, True

    def wait_cmd(self, pred, what, timeout=10.0):
        start = len(self.cmds)
        self.peer.spin_until(lambda: any(pred(m.twist) for m in self.cmds[start:]), timeout, what)
        return next(m for m in self.cmds[start:] if pred(m.twist))


@pytest.fixture
def rig(peer, launch):
    return Rig(peer, launch)


def test_deadman_held_maps_axes_to_twist(rig):
    rig.arm([0.5, 1.0])
    expected_wz = (0.5 - 0.05) / 0.95 * 1.0  # default map: axis 0 -> yaw, 1.0 rad/s, deadzone 0.05
    cmd = rig.wait_cmd(lambda t: abs(t.linear.x - 0.5) < 1e-6 and abs(t.angular.z - expected_wz) < 1e-6,
                       "cmd_vel with the mapped twist")
    assert cmd.header.frame_id == "base_link"
    rig.peer.spin_until(lambda: any(s.mode == SharedControlStatus.MODE_MANUAL for s in rig.status), 5.0,
                        "status MODE_MANUAL")


def test_deadman_released_gives_explicit_zero(rig):
    rig.arm([0.5, 1.0])
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "a moving command first")
    rig.deadman = False
    rig.wait_cmd(twist_is_zero, "zero twist after releasing the deadman")
    start = len(rig.status)
    rig.peer.spin_until(
        lambda: any(s.mode == SharedControlStatus.MODE_IDLE and "deadman_released" in s.reasons for s in rig.status[start:]),
        5.0, "status IDLE with reason deadman_released")


def test_joy_silence_gives_zero_within_timeout(rig):
    rig.arm([0.0, 1.0])
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "a moving command first")
    rig.sending = False
    last_joy = rig.last_joy_stamp
    zero = rig.wait_cmd(twist_is_zero, "zero twist after the joystick went silent", timeout=JOY_TIMEOUT + 5.0)
    # Judged on stamps: the first zero comes no later than the timeout plus one control period after the last joy.
    delay = stamp_s(zero.header.stamp) - last_joy
    assert delay <= JOY_TIMEOUT + 2.0 / CONTROL_RATE, f"zero came {delay:.3f} s after the last joy"
    # ...and the node keeps publishing zeros (explicit zero, not silence).
    n = len(rig.cmds)
    rig.peer.spin_until(lambda: len(rig.cmds) >= n + 5, 5.0, "further periodic zero commands")
    assert all(twist_is_zero(m.twist) for m in rig.cmds[n:])
    assert any("joy_stale" in s.reasons for s in rig.status)


def test_skeletons_show_up_in_status(rig):
    rig.humans = [skeleton(7, 2.0, 0.0), skeleton(9, 4.0, 1.0)]
    rig.peer.spin_until(lambda: any(s.humans_seen == 2 for s in rig.status), 10.0, "status with humans_seen == 2")
    s = next(s for s in rig.status if s.humans_seen == 2)
    assert s.human_in_view and s.nearest_human_id == 7
    # distance from the robot's surface (default: a disc of 0.3 m) to the nearest keypoint
    assert 1.6 < s.min_separation < 2.1, s.min_separation


def test_nan_axes_never_reach_cmd_vel(rig):
    rig.axes, rig.deadman = [float("nan"), float("inf")], True
    n = len(rig.cmds)
    rig.peer.spin_until(lambda: any("joy_invalid" in s.reasons for s in rig.status), 10.0, "status reason joy_invalid")
    rig.peer.spin_until(lambda: len(rig.cmds) >= n + 10, 5.0, "commands while the joystick sends NaN")
    assert all(twist_is_finite(m.twist) and twist_is_zero(m.twist) for m in rig.cmds[n:])


def test_malformed_skeletons_are_rejected_not_forwarded(rig):
    bad = HumanSkeletonArray(header=peer_header(rig.peer), humans=[HumanSkeleton(id=1, keypoints=[Point()] * 3, confidence=[1.0] * 3)])
    rig.peer.every(0.05, lambda: rig.skel_pub.publish(bad))
    rig.arm([0.0, 1.0])
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "node still commands after a malformed skeleton array")
    rig.humans = []
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "node still commands after a malformed skeleton array")
    assert all(s.humans_seen == 0 for s in rig.status)
    rig.peer.spin_until(lambda: "skeletons rejected" in rig.node.log(), 5.0, "a logged rejection")


def test_sigint_publishes_final_zero_and_exits_cleanly(rig):
    rig.arm([0.0, 1.0])
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "a moving command first")
    rig.sending = False
    n = len(rig.cmds)
    rig.node.proc.send_signal(2)
    rig.node.proc.send_signal(2)  # ros2 launch sends SIGINT twice on Ctrl-C
    rig.peer.spin_until(lambda: rig.node.proc.poll() is not None, 10.0, "the node to exit")
    rig.peer.spin_until(lambda: len(rig.cmds) > n, 2.0, "the final command")
    assert twist_is_zero(rig.cmds[-1].twist)
    assert rig.node.proc.returncode == 0, rig.node.log()


@pytest.mark.parametrize("mode", ["steady", "event"])
def test_cmd_vel_at_a_steady_rate_under_a_skeleton_flood(peer, launch, mode):
    """Steady output (the default): cmd_vel comes at control_rate however fast inputs arrive (here skeletons at
    ~1 kHz), as velocity smoothers expect; a decision to stop is not held back (the person stepping in front).
    The event mode (an option) publishes a command per input: well above control_rate under the same flood."""
    rig = Rig(peer, launch, *([] if mode == "steady" else ["-p", "output_mode:=event"]))
    rig.arm([0.0, 1.0])
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "driving")
    flood = rig.peer.every(0.002, lambda: [rig._send_skeletons() for _ in range(2)])
    t0, n0 = rig.peer.node.get_clock().now(), len(rig.cmds)
    rig.peer.spin_until(lambda: (rig.peer.node.get_clock().now() - t0).nanoseconds > 2e9, 5.0, "2 s of flood")
    window = (rig.peer.node.get_clock().now() - t0).nanoseconds * 1e-9
    rate = (len(rig.cmds) - n0) / window
    flood.cancel()
    print(f"[{mode}] cmd_vel {rate:.1f} Hz under the flood (control_rate {CONTROL_RATE} Hz)")
    if mode == "steady":
        assert 0.5 * CONTROL_RATE < rate < 1.5 * CONTROL_RATE, f"cmd_vel at {rate:.1f} Hz"
    else:
        assert rate > 2 * CONTROL_RATE, f"cmd_vel at {rate:.1f} Hz: the flood did not arrive"
    rig.humans = [skeleton(3, 0.5, 0.0)]
    rig.wait_cmd(twist_is_zero, "the stop for a person right in front")


def test_an_assist_publisher_cannot_keep_the_robot_from_an_operator_turning_against_it(rig):
    """An assist command on assist/cmd_vel (fixed confidence 0.8: alpha 0.675) turns the robot right at 1 rad/s.
    The operator turning left at 60 % of the stick's yaw range takes the robot back entirely, as pushing back at
    60 % of its forward range does against a back-off (arbitration.authority_full_push 0.3 m/s,
    angular_length 0.5 m/rad); at 30 % the assist keeps half its weight."""
    peer = rig.peer
    assist_pub = peer.publisher(TwistStamped, "assist/cmd_vel")

    def send_assist():
        msg = TwistStamped(header=peer_header(peer))
        msg.twist.angular.z = -1.0
        assist_pub.publish(msg)

    peer.every(0.05, send_assist)
    peer.wait_matched(publishers=[assist_pub])

    def yaw(axis):  # the default map: axis 0 -> yaw, 1.0 rad/s, deadzone 0.05
        return (axis - 0.05) / 0.95 * 1.0

    rig.arm([0.0, 0.0])
    # Hands off the stick (deadman held): the assist turns the robot at its weight.
    rig.wait_cmd(lambda t: abs(t.angular.z + 0.675) < 0.01, "the assist turning the robot at alpha 0.675")
    # 60 % against it: alpha 0, the operator's own turn.
    rig.axes = [0.05 + 0.6 * 0.95 + 0.03, 0.0]
    w = yaw(rig.axes[0])
    rig.wait_cmd(lambda t: abs(t.angular.z - w) < 0.01, f"the operator's {w:.2f} rad/s left")
    start = len(rig.status)
    peer.spin_until(lambda: any(s.alpha == 0.0 and "operator_override" in s.reasons for s in rig.status[start:]),
                    5.0, "status alpha 0 with operator_override")
    # 30 % against it: half the weight, the blend still turns right.
    rig.axes = [0.05 + 0.3 * 0.95, 0.0]
    w = yaw(rig.axes[0])
    alpha = 0.675 * (1.0 - w * 0.5 / 0.3)
    rig.wait_cmd(lambda t: abs(t.angular.z - ((1.0 - alpha) * w - alpha)) < 0.01,
                 f"the blend at alpha {alpha:.3f}")


def _set_param(peer, name, value):
    if isinstance(value, int):
        v = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
    else:
        v = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value)
    req = SetParameters.Request(parameters=[Parameter(name=name, value=v)])
    res = call(peer, SetParameters, "/shared_control/set_parameters", req).results[0]
    assert res.successful, res.reason


def _set_alpha_max(peer, value):
    _set_param(peer, "arbitration.alpha_max", value)


def test_a_new_deadman_button_stops_the_robot_until_the_operator_re_arms_with_it(rig):
    """The operator drives holding the deadman (button 4) and button 6; the deadman is moved to button 6
    (`ros2 param set`). The arming was made with the old button: the robot stops and waits for button 6 to be
    released and pressed again."""
    rig.arm([0.0, 1.0])
    rig.held = [6]
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "driving")
    _set_param(rig.peer, "teleop.deadman_button", 6)
    rig.wait_cmd(twist_is_zero, "a zero after the new deadman button")
    start = len(rig.status)
    rig.peer.spin_until(lambda: any("awaiting_rearm" in s.reasons for s in rig.status[start:]), 5.0,
                        "status awaiting_rearm")
    start = len(rig.cmds)
    rig.peer.spin_until(lambda: len(rig.cmds) >= start + 25, 5.0, "half a second of commands")
    assert all(twist_is_zero(m.twist) for m in rig.cmds[start:]), "moved with the new button never re-armed"
    # Release button 6, then press it again: the robot drives.
    rig.held = []
    rig.peer.spin_until(lambda: len(rig.cmds) >= start + 40, 5.0, "the release seen")
    rig.held = [6]
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "driving after the re-arm with button 6")


def test_a_parameter_change_forgets_no_one_the_chain_remembers(peer, launch):
    """Someone 1.5 m ahead holds the robot back, then drops out of view (occlusion memory 3 s), and a parameter
    is changed: the robot must not drive on as if they had gone."""
    rig = Rig(peer, launch, "-p", "safety.occlusion_memory:=3.0")
    rig.humans = [skeleton(7, 1.5, 0.0)]
    rig.arm([0.0, 1.0])
    rig.peer.spin_until(lambda: any(s.humans_seen == 1 for s in rig.status), 10.0, "the person seen")
    rig.wait_cmd(lambda t: t.linear.x < 0.2, "held back by the person ahead")
    rig.humans = []
    rig.peer.spin_until(lambda: any("occluded_human_remembered" in s.reasons for s in rig.status[-5:]), 5.0,
                        "the person out of view, remembered")
    start = len(rig.cmds)
    _set_alpha_max(peer, 0.5)
    rig.peer.spin_until(lambda: len(rig.cmds) >= start + 50, 5.0, "commands after the change")
    fastest = max(m.twist.linear.x for m in rig.cmds[start:])
    assert fastest < 0.2, f"drove on at {fastest:.3f} m/s toward the remembered person"


def test_a_parameter_change_while_driving_is_no_restart(rig):
    """`ros2 param set` while the robot drives at 0.5 m/s: the commands go on from the last one (the chain keeps
    the joystick, the people it remembers and its motion state), no jolt to a standstill and no new ramp up."""
    rig.arm([0.0, 1.0])
    rig.wait_cmd(lambda t: abs(t.linear.x - 0.5) < 1e-6, "driving at 0.5 m/s")
    start = len(rig.cmds)
    _set_alpha_max(rig.peer, 0.5)
    # A second of commands after the change (50 at the control rate).
    rig.peer.spin_until(lambda: len(rig.cmds) >= start + 50, 5.0, "commands after the change")
    slowest = min(m.twist.linear.x for m in rig.cmds[start:])
    assert slowest > 0.49, f"the robot slowed to {slowest:.3f} m/s on a parameter change"


def test_use_sim_time_cannot_switch_under_a_running_node(rig):
    """`use_sim_time` is set at start. Switched at run time, the node's control loop stopped deciding: cmd_vel went
    silent with its last command still moving (0.48 m/s), with or without /clock. A change is refused (read-only,
    as `control_rate`); its current value is accepted; the robot goes on deciding at the control rate."""
    rig.arm([0.0, 1.0])
    rig.wait_cmd(lambda t: t.linear.x > 0.4, "driving")
    value = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=True)
    req = SetParameters.Request(parameters=[Parameter(name="use_sim_time", value=value)])
    res = call(rig.peer, SetParameters, "/shared_control/set_parameters", req).results[0]
    assert not res.successful and "read-only" in res.reason, res.reason
    value = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=False)
    req = SetParameters.Request(parameters=[Parameter(name="use_sim_time", value=value)])
    assert call(rig.peer, SetParameters, "/shared_control/set_parameters", req).results[0].successful
    start = len(rig.cmds)
    rig.peer.spin_until(lambda: len(rig.cmds) >= start + 50, 5.0, "a second of commands after the request")
