"""supervisor over real DDS: brings shared_control up, forces a stop when it dies, brings a respawned one back."""
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import TwistStamped
from intent_shared_control_msgs.msg import HumanSkeletonArray
from lifecycle_msgs.srv import GetState
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Joy
from std_msgs.msg import Header

from ros.harness import PARAMS_FILE, call, twist_is_zero

LIVENESS_TIMEOUT = 0.5
LIVENESS_PERIOD = 0.1


def supervisor_args():
    return ["--params-file", str(PARAMS_FILE), "-p", "managed_nodes:=[shared_control]",
            "-p", "critical_nodes:=[shared_control]", "-p", f"liveness_timeout:={LIVENESS_TIMEOUT}",
            "-p", f"liveness_period:={LIVENESS_PERIOD}"]


def system_level(diags):
    """Level of the supervisor's system status in the newest /diagnostics message that has it."""
    for arr in reversed(diags):
        for s in arr.status:
            if s.name == "supervisor: system":
                return s.level
    return None


def test_kill_restart_cycle(peer, launch):
    diags = peer.subscribe(DiagnosticArray, "/diagnostics", QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    cmds = peer.subscribe(TwistStamped, "cmd_vel", QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    joy_pub = peer.publisher(Joy, "joy")
    peer.every(0.05, lambda: joy_pub.publish(Joy(header=Header(stamp=peer.now_msg()), axes=[0.0, 1.0],
                                                 buttons=[0, 0, 0, 0, 1, 0, 0, 0])))
    skel_pub = peer.publisher(HumanSkeletonArray, "humans/skeletons")
    peer.every(0.05, lambda: skel_pub.publish(HumanSkeletonArray(header=Header(stamp=peer.now_msg(), frame_id="base_link"))))
    node = launch("shared_control", "--params-file", str(PARAMS_FILE), name="shared_control_1")
    launch("supervisor", *supervisor_args())

    def state():
        return call(peer, GetState, "/shared_control/get_state", GetState.Request(), timeout=5.0).current_state.label

    peer.spin_until(lambda: state() == "active", 30.0, "supervisor to bring shared_control to active")
    peer.spin_until(lambda: len(cmds) > 0 and cmds[-1].twist.linear.x > 0.4, 15.0, "motion commands")
    peer.spin_until(lambda: system_level(diags) == DiagnosticStatus.OK, 10.0, "diagnostics OK")

    node.proc.kill()  # kill -9: no chance to publish a last zero itself
    killed_at = time.monotonic()
    n = len(cmds)
    peer.spin_until(lambda: any(twist_is_zero(m.twist) for m in cmds[n:]), 5.0, "zero on cmd_vel from the supervisor")
    elapsed = time.monotonic() - killed_at
    # the supervisor notices within the liveness timeout (+ one probe period), DDS adds milliseconds
    assert elapsed <= LIVENESS_TIMEOUT + 2 * LIVENESS_PERIOD + 0.3, f"zero came {elapsed:.2f} s after the kill"
    peer.spin_until(lambda: system_level(diags) == DiagnosticStatus.ERROR, 5.0, "diagnostics ERROR")
    # zeros keep coming while the node is gone
    m = len(cmds)
    peer.spin_until(lambda: len(cmds) >= m + 5, 5.0, "repeated zero commands")
    assert all(twist_is_zero(c.twist) for c in cmds[m:])

    launch("shared_control", "--params-file", str(PARAMS_FILE), name="shared_control_2")
    peer.spin_until(lambda: state() == "active", 30.0, "respawned shared_control brought back to active")
    peer.spin_until(lambda: system_level(diags) == DiagnosticStatus.OK, 10.0, "diagnostics OK again")
    k = len(cmds)
    peer.spin_until(lambda: any(c.twist.linear.x > 0.4 for c in cmds[k:]), 10.0, "motion again after recovery")
