"""Diagnostics content, rejection counters and the /metrics + /health endpoints of the running system."""
import re
import urllib.error
import urllib.request

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Point
from intent_shared_control_msgs.msg import HumanSkeleton, HumanSkeletonArray
from lifecycle_msgs.srv import GetState
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Joy
from std_msgs.msg import Header

from ros.harness import PARAMS_FILE, call, latest_status

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


def http(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_diagnostics_metrics_and_health(peer, launch):
    diags = peer.subscribe(DiagnosticArray, "/diagnostics", RELIABLE)
    proc = launch("shared_control_system", "--params-file", str(PARAMS_FILE), "-p", "metrics_port:=0")
    peer.spin_until(lambda: re.search(r"http://127\.0\.0\.1:(\d+)/metrics", proc.log()), 20.0, "the metrics endpoint")
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)/metrics", proc.log()).group(1))

    def state(node):
        return call(peer, GetState, f"/{node}/get_state", GetState.Request(), timeout=5.0).current_state.label

    peer.spin_until(lambda: state("shared_control") == "active" and state("intent_predictor") == "active", 40.0,
                    "system active")
    peer.spin_until(lambda: http(port, "/health/ready")[0] == 200, 10.0, "/health/ready = 200")
    assert http(port, "/health/live")[0] == 200

    # a flood of malformed skeleton arrays (wrong keypoint count) and oversized joy messages: counted, not used
    skel_pub = peer.publisher(HumanSkeletonArray, "humans/skeletons")
    joy_pub = peer.publisher(Joy, "joy")
    bad = HumanSkeletonArray(header=Header(frame_id="base_link"),
                             humans=[HumanSkeleton(id=1, keypoints=[Point()] * 5, confidence=[1.0] * 5)])

    def flood():
        bad.header.stamp = peer.now_msg()
        skel_pub.publish(bad)
        joy_pub.publish(Joy(header=Header(stamp=peer.now_msg()), axes=[0.0] * 100, buttons=[1] * 100))

    peer.every(0.01, flood)
    peer.spin_until(lambda: (s := latest_status(diags, "/intent_predictor: inference")) is not None and any(
        v.key == "rejected_keypoint_count" and int(v.value) > 10 for v in s.values), 15.0,
        "intent_predictor diagnostics counting keypoint_count rejections")
    peer.spin_until(lambda: (s := latest_status(diags, "/shared_control: safety counters")) is not None and any(
        v.key == "rejected_oversized_joy" and int(v.value) > 10 for v in s.values), 15.0,
        "shared_control diagnostics counting oversized_joy rejections")

    # every diagnostics status carries the documented keys
    lc = latest_status(diags, "/shared_control: lifecycle")
    assert lc.level == DiagnosticStatus.OK and lc.message == "active"
    model = latest_status(diags, "/intent_predictor: model")
    assert {v.key for v in model.values} >= {"model_version", "execution_provider"}
    decision = latest_status(diags, "/shared_control: decision")
    assert {v.key for v in decision.values} >= {"decision_latency_p50_us", "decision_latency_p99_us", "alpha"}
    peer.spin_until(lambda: (s := latest_status(diags, "/supervisor: system")) is not None and s.level == DiagnosticStatus.OK,
                    10.0, "supervisor system status OK")

    code, text = http(port, "/metrics")
    assert code == 200
    assert re.search(r'intent_shared_control_rejections_total\{reason="keypoint_count"\} [1-9]', text), text[:2000]
    assert re.search(r'intent_shared_control_rejections_total\{reason="oversized_joy"\} [1-9]', text)
    assert 'intent_shared_control_lifecycle_state{node="shared_control"} 3' in text
    assert "intent_shared_control_decision_latency_seconds_bucket" in text
    assert "intent_shared_control_inference_latency_seconds_count" in text
    assert http(port, "/nope")[0] == 404


def _interventions_total(text: str) -> int:
    return sum(int(float(v)) for v in re.findall(r'intent_shared_control_safety_interventions_total\{[^}]*\} (\S+)', text))


def test_idle_is_not_a_fault_names_carry_the_namespace_and_logs_reach_rosout(peer, launch):
    """No joystick and no skeletons on a robot in namespace /robot7: idle, not a fault (decision OK, inputs at
    most WARN, intervention counters still); status names and hardware id carry the node's fully qualified name;
    the nodes' log records are on /rosout under their ROS logger names."""
    from rcl_interfaces.msg import Log
    diags = peer.subscribe(DiagnosticArray, "/diagnostics", RELIABLE)
    from rclpy.qos import DurabilityPolicy
    rosout = peer.subscribe(Log, "/rosout", QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                                                       durability=DurabilityPolicy.TRANSIENT_LOCAL))
    proc = launch("shared_control_system", "--params-file", str(PARAMS_FILE), "-p", "metrics_port:=0",
                  "-r", "__ns:=/robot7")
    peer.spin_until(lambda: re.search(r"http://127\.0\.0\.1:(\d+)/metrics", proc.log()), 20.0, "the metrics endpoint")
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)/metrics", proc.log()).group(1))
    peer.spin_until(lambda: (s := latest_status(diags, "/robot7/supervisor: system")) is not None
                    and s.level == DiagnosticStatus.OK, 40.0, "all nodes active (supervisor system OK)")
    peer.spin_until(lambda: (s := latest_status(diags, "/robot7/shared_control: decision")) is not None
                    and "Idle" in s.message, 10.0, "a decision status")
    decision = latest_status(diags, "/robot7/shared_control: decision")
    assert decision.level == DiagnosticStatus.OK, (decision.message, decision.values)
    assert decision.hardware_id == "/robot7/shared_control"
    inputs = latest_status(diags, "/robot7/shared_control: inputs")
    assert inputs.level <= DiagnosticStatus.WARN, inputs.message
    assert "joy none (idle)" in inputs.message, inputs.message
    peer.spin_until(lambda: latest_status(diags, "/robot7/intent_predictor: inference") is not None, 10.0,
                    "the predictor's inference status")
    inference = latest_status(diags, "/robot7/intent_predictor: inference")
    assert inference.level <= DiagnosticStatus.WARN, inference.message
    assert not [s for d in diags for s in d.status if s.name.startswith("shared_control:")], "a name without namespace"
    first = _interventions_total(http(port, "/metrics")[1])
    t0 = peer.node.get_clock().now()
    peer.spin_until(lambda: (peer.node.get_clock().now() - t0).nanoseconds > 2e9, 5.0, "2 s idle")
    assert _interventions_total(http(port, "/metrics")[1]) == first, "interventions counted per idle cycle"
    peer.spin_until(lambda: any(m.name == "robot7.shared_control" and "activated" in m.msg for m in rosout), 10.0,
                    "shared_control's log records on /rosout")
    assert any(m.name == "robot7.supervisor" for m in rosout)
