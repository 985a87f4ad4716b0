#!/usr/bin/env python3
"""Plays a rosbag2 bag (MCAP or sqlite3) into the running system in bag time order, in real time or at a
rate factor, optionally publishing /clock (for nodes started with use_sim_time:=true).

    python3 scripts/bag_play.py BAG [--rate 1.0] [--clock 100] [--all] [--topics ...] [--namespace /robot1]

By default the recorded outputs (cmd_vel, shared_control/status) are not published, so the live system's
outputs are not mixed with the recorded ones (--all plays everything). Messages are published as the
recorded CDR bytes. On a robot the real tool does the same: `ros2 bag play BAG --clock 100 -r 1.0
--exclude-topics /cmd_vel /shared_control/status` (Jazzy).
"""
import argparse
import signal
import sys
import time
from pathlib import Path

import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.rosbag2 import Reader

OUTPUTS = ("cmd_vel", "shared_control/status")
RELIABLE_TYPES = ("geometry_msgs/msg/TwistStamped", "intent_shared_control_msgs/msg/SharedControlStatus")


def msg_class(type_name: str):
    pkg, _, name = type_name.split("/")
    return getattr(__import__(f"{pkg}.msg", fromlist=[name]), name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bag", type=Path)
    ap.add_argument("--rate", type=float, default=1.0, help="rate factor (2 = twice as fast)")
    ap.add_argument("--clock", type=float, default=0.0, help="publish /clock at this rate [Hz] (0 = off)")
    ap.add_argument("--all", action="store_true", help="also play the recorded outputs")
    ap.add_argument("--topics", nargs="*", help="play only these topics")
    ap.add_argument("--namespace", default="", help="prefix added to every played topic")
    a = ap.parse_args()
    if a.rate <= 0:
        ap.error("--rate must be > 0")

    stop = {"flag": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(flag=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    rclpy.init(args=None, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = rclpy.create_node("bag_player")
    from rosgraph_msgs.msg import Clock
    from builtin_interfaces.msg import Time
    clock_pub = node.create_publisher(Clock, "/clock", 10) if a.clock > 0 else None
    played = 0
    with Reader(a.bag) as reader:
        conns = [c for c in reader.connections
                 if (a.all or not any(c.topic.endswith(o) for o in OUTPUTS))
                 and (not a.topics or c.topic in a.topics)
                 and not (clock_pub is not None and c.topic == "/clock")]
        pubs = {}
        for c in conns:
            qos = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST,
                             reliability=ReliabilityPolicy.RELIABLE if c.msgtype in RELIABLE_TYPES
                             else ReliabilityPolicy.BEST_EFFORT)
            pubs[c.id] = node.create_publisher(msg_class(c.msgtype), a.namespace.rstrip("/") + c.topic, qos)
        start_wall = time.monotonic()
        start_bag = None
        next_clock = 0.0
        for conn, t_ns, raw in reader.messages(connections=conns):
            if stop["flag"]:
                break
            start_bag = t_ns if start_bag is None else start_bag
            due = start_wall + (t_ns - start_bag) * 1e-9 / a.rate
            while not stop["flag"]:
                now = time.monotonic()
                if clock_pub is not None and now >= next_clock:
                    bag_now = start_bag + int((now - start_wall) * a.rate * 1e9)
                    clock_pub.publish(Clock(clock=Time(sec=bag_now // 1_000_000_000, nanosec=bag_now % 1_000_000_000)))
                    next_clock = now + 1.0 / a.clock
                if now >= due:
                    break
                time.sleep(min(due - now, 1.0 / a.clock if a.clock > 0 else 0.01, 0.01))
            pubs[conn.id].publish(raw)
            played += 1
    node.destroy_node()
    rclpy.shutdown()
    print(f"played {played} messages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
