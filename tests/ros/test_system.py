"""The whole system over real DDS with the shipped model: composed (one process, in-memory hand-off) and as
separate processes, driven by rclpy with a human walking toward the robot and an operator driving."""
import math

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, TwistStamped
from intent_shared_control_msgs.msg import (HumanSkeleton, HumanSkeletonArray, IntentPrediction,
                                            IntentPredictionArray, SharedControlStatus)
from lifecycle_msgs.srv import GetState
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Joy
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from ros.harness import PARAMS_FILE, REPO, SENSOR_QOS, arm, call, twist_is_finite

RELIABLE = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
# Standing pose offsets (x forward, y left, z up) of the COCO-17 keypoints around the hip midpoint.
POSE = [(0.0, 0.0, 0.65), (0.0, 0.03, 0.7), (0.0, -0.03, 0.7), (0.0, 0.07, 0.68), (0.0, -0.07, 0.68),
        (0.0, 0.2, 0.5), (0.0, -0.2, 0.5), (0.0, 0.25, 0.25), (0.0, -0.25, 0.25), (0.0, 0.27, 0.0),
        (0.0, -0.27, 0.0), (0.0, 0.1, 0.0), (0.0, -0.1, 0.0), (0.0, 0.1, -0.45), (0.0, -0.1, -0.45),
        (0.0, 0.1, -0.85), (0.0, -0.1, -0.85)]


def human(human_id, x, y, nan=False):
    pts = [Point(x=(math.nan if nan else x + dx), y=y + dy, z=0.95 + dz) for dx, dy, dz in POSE]
    return HumanSkeleton(id=human_id, keypoints=pts, confidence=[0.95] * 17)


class Driver:
    """rclpy peer: a human walking toward the robot at 1 m/s from 5 m, an operator holding the deadman."""

    def __init__(self, peer):
        self.peer = peer
        self.t = 0.0
        self.nan = False
        self.skel_pub = peer.publisher(HumanSkeletonArray, "humans/skeletons")
        self.joy_pub = peer.publisher(Joy, "joy")
        self.cmds = peer.subscribe(TwistStamped, "cmd_vel", RELIABLE)
        self.status = peer.subscribe(SharedControlStatus, "shared_control/status", RELIABLE)
        self.intents = peer.subscribe(IntentPredictionArray, "humans/intent", SENSOR_QOS)
        self.markers = peer.subscribe(MarkerArray, "shared_control/markers", RELIABLE)
        self.diags = peer.subscribe(DiagnosticArray, "/diagnostics", RELIABLE)
        self.joy_on = True
        peer.every(1.0 / 30.0, self._skeletons)
        peer.every(0.05, self._joy)

    def _joy(self):
        if self.joy_on:
            self.joy_pub.publish(Joy(header=Header(stamp=self.peer.now_msg()), axes=[0.0, 0.6],
                                     buttons=[0, 0, 0, 0, 1, 0, 0, 0]))

    def arm(self):
        """The operator arms shared_control after its activation (deadman released, then pressed; see
        harness.arm) and goes on holding the deadman."""
        self.joy_on = False
        arm(self.peer, self.joy_pub, self.status, axes=(0.0, 0.6))
        self.joy_on = True

    def _skeletons(self):
        self.t += 1.0 / 30.0
        x = max(5.0 - (self.t % 8.0), 1.2)
        msg = HumanSkeletonArray(header=Header(stamp=self.peer.now_msg(), frame_id="base_link"),
                                 humans=[human(3, x, 0.2, nan=self.nan)])
        self.skel_pub.publish(msg)


def active(peer, node):
    return call(peer, GetState, f"/{node}/get_state", GetState.Request(), timeout=5.0).current_state.label == "active"


def check_running_system(peer, drv):
    peer.spin_until(lambda: active(peer, "shared_control") and active(peer, "intent_predictor"), 40.0,
                    "supervisor to activate intent_predictor and shared_control")
    drv.arm()
    # predictions from the real model for the walking human, in the skeletons' frame and stamp
    peer.spin_until(lambda: any(p.predictions for p in drv.intents), 20.0, "intent predictions")
    arr = next(p for p in drv.intents if p.predictions)
    pred = arr.predictions[0]
    assert pred.human_id == 3 and pred.source == IntentPrediction.SOURCE_MODEL
    assert len(pred.probabilities) == 5 and abs(sum(pred.probabilities) - 1.0) < 1e-3
    assert list(pred.predicted_keypoints) == [IntentPrediction.KEYPOINT_TORSO, 9, 10]
    assert len(pred.future_positions) == 30 and arr.header.frame_id == "base_link"
    assert arr.execution_provider == "cpu" and arr.model_version.startswith("intent_gru")
    # decisions use the predictions, and every command is finite and within the configured speed limit
    peer.spin_until(lambda: any(s.predictions_used > 0 and s.humans_seen == 1 for s in drv.status), 20.0,
                    "status using predictions")
    wanted = {"skeletons", "keypoints", "predicted_paths", "intent_labels", "separation", "commands"}
    peer.spin_until(lambda: any({m.ns for m in a.markers} >= wanted for a in drv.markers), 10.0,
                    "rviz markers with skeletons, predicted paths, labels, separation ring and command arrows")
    assert all(twist_is_finite(c.twist) and abs(c.twist.linear.x) <= 1.0 + 1e-9 for c in drv.cmds)
    # the diagnostics report the model and its provider
    peer.spin_until(lambda: any(s.name == "/intent_predictor: model" for d in drv.diags for s in d.status), 10.0,
                    "intent_predictor model diagnostics")
    st = next(s for d in drv.diags for s in d.status if s.name == "/intent_predictor: model")
    kv = {v.key: v.value for v in st.values}
    assert kv["execution_provider"] == "cpu" and "intent_gru" in kv["model_version"]
    # a NaN flood never reaches cmd_vel and is not mistaken for a person-free scene
    drv.nan = True
    n = len(drv.cmds)
    peer.spin_until(lambda: len(drv.cmds) > n + 30, 10.0, "commands during the NaN flood")
    assert all(twist_is_finite(c.twist) for c in drv.cmds[n:])


@pytest.fixture
def drv(peer):
    return Driver(peer)


def test_composed_system(peer, launch, drv):
    proc = launch("shared_control_system", "--params-file", str(PARAMS_FILE))
    check_running_system(peer, drv)
    # Ctrl-C as ros2 launch delivers it (SIGINT twice): clean exit, last command zero
    n = len(drv.cmds)
    proc.proc.send_signal(2)
    proc.proc.send_signal(2)
    peer.spin_until(lambda: proc.proc.poll() is not None, 15.0, "the composed process to exit")
    assert proc.proc.returncode == 0, proc.log()[-3000:]
    peer.spin_until(lambda: len(drv.cmds) > n and all(v == 0.0 for v in (
        drv.cmds[-1].twist.linear.x, drv.cmds[-1].twist.angular.z)), 5.0, "a final zero command")


def test_separate_processes(peer, launch, drv):
    for exe in ("intent_predictor", "shared_control", "supervisor"):
        launch(exe, "--params-file", str(PARAMS_FILE))
    check_running_system(peer, drv)
