#!/usr/bin/env python3
"""Records the shared-control system's inputs and outputs to a rosbag2 MCAP bag (rosbags writer, CDR as
received), bounded by duration and/or message count; Ctrl-C (SIGINT) or SIGTERM closes the bag cleanly.

    python3 scripts/bag_record.py -o BAG_DIR [--duration 20] [--max-messages N] [--namespace /robot1]
                                  [--use-sim-time] [--topics /joy /cmd_vel ...]

The bag is a rosbag2 directory (metadata.yaml + .mcap) that `ros2 bag info` / `ros2 bag play` accept; the
package's types are registered from msg/msg/*.msg. The log time is the recorder's clock at reception (sim
time with --use-sim-time). Inputs are subscribed best effort (matches both kinds of publisher), outputs
reliable. On a robot with rosbag2 installed, `ros2 bag record -s mcap <topics>` records the same bag.
"""
import argparse
import signal
import sys
import time
from pathlib import Path

import rclpy
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, DurabilityPolicy
from rosbags.rosbag2 import StoragePlugin, Writer

from bag_types_gen import typestore  # scripts/ is on sys.path when run as a script


# (relative topic, type, reliable?)
TOPICS = [
    ("joy", "sensor_msgs/msg/Joy", False),
    ("humans/skeletons", "intent_shared_control_msgs/msg/HumanSkeletonArray", False),
    ("humans/intent", "intent_shared_control_msgs/msg/IntentPredictionArray", False),
    ("assist/cmd_vel", "geometry_msgs/msg/TwistStamped", False),
    ("cmd_vel", "geometry_msgs/msg/TwistStamped", True),
    ("shared_control/status", "intent_shared_control_msgs/msg/SharedControlStatus", True),
    ("odom", "nav_msgs/msg/Odometry", False),
    ("/clock", "rosgraph_msgs/msg/Clock", False),
]


def msg_class(type_name: str):
    pkg, _, name = type_name.split("/")
    module = __import__(f"{pkg}.msg", fromlist=[name])
    return getattr(module, name)


def resolve(ns: str, topic: str) -> str:
    if topic.startswith("/"):
        return topic
    return f"{ns.rstrip('/')}/{topic}" if ns else f"/{topic}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, required=True, help="bag directory to create")
    ap.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = until SIGINT)")
    ap.add_argument("--max-messages", type=int, default=0, help="stop after this many messages (0 = no limit)")
    ap.add_argument("--namespace", default="", help="namespace of the system, e.g. /robot1")
    ap.add_argument("--use-sim-time", action="store_true", help="log time from /clock")
    ap.add_argument("--topics", nargs="*", help="record only these (resolved) topics")
    ap.add_argument("--ready-file", type=Path, help="touch this file once subscribed (for scripts and tests)")
    a = ap.parse_args()

    ts = typestore()
    stop = {"flag": False}

    def on_signal(_sig, _frame):
        stop["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    rclpy.init(args=None, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = rclpy.create_node("bag_recorder", parameter_overrides=[Parameter("use_sim_time", value=a.use_sim_time)])
    count = {"n": 0}
    a.output.parent.mkdir(parents=True, exist_ok=True)
    writer = Writer(a.output, version=9, storage_plugin=StoragePlugin.MCAP)
    writer.open()
    subs = []
    try:
        for rel, type_name, reliable in TOPICS:
            topic = resolve(a.namespace, rel)
            if a.topics and topic not in a.topics:
                continue
            conn = writer.add_connection(topic, type_name, typestore=ts)
            qos = QoSProfile(depth=1000, history=HistoryPolicy.KEEP_LAST,
                             reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                             durability=DurabilityPolicy.VOLATILE)

            def cb(raw, conn=conn):
                if stop["flag"]:
                    return
                writer.write(conn, node.get_clock().now().nanoseconds, raw)
                count["n"] += 1
                if a.max_messages and count["n"] >= a.max_messages:
                    stop["flag"] = True

            subs.append(node.create_subscription(msg_class(type_name), topic, cb, qos, raw=True))
        if a.ready_file:
            a.ready_file.write_text("ready\n")
        deadline = time.monotonic() + a.duration if a.duration > 0 else None
        while not stop["flag"] and (deadline is None or time.monotonic() < deadline):
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        writer.close()
        node.destroy_node()
        rclpy.shutdown()
    print(f"{a.output}: {count['n']} messages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
