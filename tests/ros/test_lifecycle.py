"""Managed-node behaviour of shared_control over real DDS, with the standard lifecycle_msgs and rcl_interfaces
services exactly as `ros2 lifecycle` and `ros2 param` use them."""
import pytest
from geometry_msgs.msg import TwistStamped
from intent_shared_control_msgs.msg import HumanSkeletonArray, SharedControlStatus
from lifecycle_msgs.msg import State, Transition, TransitionEvent
from lifecycle_msgs.srv import ChangeState, GetAvailableStates, GetAvailableTransitions, GetState
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import DescribeParameters, GetParameters, ListParameters, SetParameters
from sensor_msgs.msg import Joy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from ros.harness import PARAMS_FILE, arm, call, twist_is_zero

NODE = "/shared_control"
EVENT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def get_state(peer):
    return call(peer, GetState, f"{NODE}/get_state", GetState.Request()).current_state


def change(peer, transition_id=0, label=""):
    return call(peer, ChangeState, f"{NODE}/change_state",
                ChangeState.Request(transition=Transition(id=transition_id, label=label))).success


def available(peer):
    res = call(peer, GetAvailableTransitions, f"{NODE}/get_available_transitions", GetAvailableTransitions.Request())
    return sorted((t.transition.id, t.transition.label, t.start_state.label, t.goal_state.label) for t in res.available_transitions)


@pytest.fixture
def node(launch):
    return launch("shared_control", "--params-file", str(PARAMS_FILE))


def test_lifecycle_services_and_transitions(peer, node):
    events = peer.subscribe(TransitionEvent, f"{NODE}/transition_event", EVENT_QOS)
    peer.wait_matched(subscribed_topics=[f"{NODE}/transition_event"])
    assert get_state(peer).id == State.PRIMARY_STATE_UNCONFIGURED
    assert available(peer) == [(1, "configure", "unconfigured", "configuring"), (5, "shutdown", "unconfigured", "shuttingdown")]
    states = call(peer, GetAvailableStates, f"{NODE}/get_available_states", GetAvailableStates.Request()).available_states
    assert {s.label for s in states} >= {"unconfigured", "inactive", "active", "finalized", "configuring", "errorprocessing"}
    graph = call(peer, GetAvailableTransitions, f"{NODE}/get_transition_graph", GetAvailableTransitions.Request())
    assert len(graph.available_transitions) == 25

    # invalid transitions are refused and change nothing
    assert not change(peer, Transition.TRANSITION_ACTIVATE)
    assert not change(peer, label="deactivate")
    assert get_state(peer).id == State.PRIMARY_STATE_UNCONFIGURED

    assert change(peer, label="configure")
    assert get_state(peer).label == "inactive"
    assert available(peer) == [(2, "cleanup", "inactive", "cleaningup"), (3, "activate", "inactive", "activating"),
                               (6, "shutdown", "inactive", "shuttingdown")]
    assert change(peer, Transition.TRANSITION_ACTIVATE)
    assert get_state(peer).label == "active"
    assert available(peer) == [(4, "deactivate", "active", "deactivating"), (7, "shutdown", "active", "shuttingdown")]
    assert not change(peer, Transition.TRANSITION_CONFIGURE)
    peer.spin_until(lambda: len(events) >= 4, 5.0, "transition events")
    assert [(e.start_state.label, e.goal_state.label) for e in events[:4]] == [
        ("unconfigured", "configuring"), ("configuring", "inactive"), ("inactive", "activating"), ("activating", "active")]

    assert change(peer, Transition.TRANSITION_DEACTIVATE)
    assert change(peer, Transition.TRANSITION_CLEANUP)
    assert get_state(peer).label == "unconfigured"
    assert change(peer, label="shutdown")
    assert get_state(peer).label == "finalized"
    assert available(peer) == []


def test_outputs_only_while_active_and_deactivate_publishes_one_zero(peer, node):
    cmds = peer.subscribe(TwistStamped, "cmd_vel")
    status = peer.subscribe(SharedControlStatus, "shared_control/status", EVENT_QOS)
    joy_pub = peer.publisher(Joy, "joy")
    joy_on = [True]
    peer.every(0.05, lambda: joy_on[0] and joy_pub.publish(Joy(header=Header(stamp=peer.now_msg()), axes=[0.0, 1.0],
                                                                   buttons=[0, 0, 0, 0, 1, 0, 0, 0])))
    skel_pub = peer.publisher(HumanSkeletonArray, "humans/skeletons")
    peer.every(0.05, lambda: skel_pub.publish(HumanSkeletonArray(header=Header(stamp=peer.now_msg(), frame_id="base_link"))))
    assert change(peer, label="configure")
    peer.wait_matched(publishers=[joy_pub, skel_pub], subscribed_topics=["cmd_vel"])
    # Inactive: nothing on cmd_vel even though the joystick commands motion.
    n0 = len(cmds)
    peer.spin_until(lambda: joy_pub.get_subscription_count() > 0, 5.0, "joy matched")
    for _ in range(20):
        peer.spin_until(lambda: True, 0.05, "spin")
    assert len(cmds) == n0
    assert change(peer, label="activate")
    # an activation is a (re)start: the operator releases the deadman, then presses it again
    joy_on[0] = False
    arm(peer, joy_pub, status, axes=(0.0, 1.0))
    joy_on[0] = True
    peer.spin_until(lambda: any(m.twist.linear.x > 0.4 for m in cmds), 10.0, "motion while active")
    assert change(peer, label="deactivate")
    peer.spin_until(lambda: twist_is_zero(cmds[-1].twist), 5.0, "the zero published on deactivate")
    # after the deactivation zero, silence: exactly one zero, no further messages
    n = len(cmds)
    for _ in range(20):
        peer.spin_until(lambda: True, 0.05, "spin")
    assert len(cmds) == n
    last_moving = max(i for i, m in enumerate(cmds) if not twist_is_zero(m.twist))
    assert len(cmds) - last_moving - 1 == 1, "exactly one zero after the last moving command"


def _value(v):
    if isinstance(v, float):
        return ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=v)
    if isinstance(v, int):
        return ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=v)
    return ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=v)


def set_param(peer, name, value):
    req = SetParameters.Request(parameters=[Parameter(name=name, value=_value(value))])
    return call(peer, SetParameters, f"{NODE}/set_parameters", req).results[0]


def get_param(peer, name):
    return call(peer, GetParameters, f"{NODE}/get_parameters", GetParameters.Request(names=[name])).values[0]


def test_unsafe_parameter_change_is_rejected_and_old_value_stays(peer, node):
    assert change(peer, label="configure")
    res = set_param(peer, "teleop.timeout", -1.0)
    assert not res.successful and "teleop.timeout" in res.reason and "allowed" in res.reason, res.reason
    assert get_param(peer, "teleop.timeout").double_value == 0.5
    res = set_param(peer, "teleop.timeout", "fast")
    assert not res.successful and "double" in res.reason
    res = set_param(peer, "nonexistent", 1.0)
    assert not res.successful
    res = set_param(peer, "teleop.timeout", 0.3)
    assert res.successful, res.reason
    assert get_param(peer, "teleop.timeout").double_value == 0.3
    names = call(peer, ListParameters, f"{NODE}/list_parameters", ListParameters.Request()).result.names
    assert "teleop.deadman_button" in names and "control_rate" in names
    desc = call(peer, DescribeParameters, f"{NODE}/describe_parameters", DescribeParameters.Request(names=["control_rate"])).descriptors[0]
    assert "[Hz]" in desc.description and desc.floating_point_range[0].to_value == 1000.0


def test_invalid_params_file_leaves_node_unconfigured_with_error(peer, launch, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("shared_control:\n  ros__parameters:\n    control_rate: 5000.0\n    teleop:\n      timout: 1.0\n")
    proc = launch("shared_control", "--params-file", str(bad), "-p", "autostart:=true", name="bad_params")
    peer.spin_until(lambda: "cannot configure" in proc.log(), 15.0, "the configure error in the log")
    log = proc.log()
    assert "unknown parameter `teleop.timout`" in log and "`control_rate` must be in [1, 1000]" in log, log
    assert get_state(peer).label == "unconfigured"
