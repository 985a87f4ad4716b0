#!/usr/bin/env python3
"""Baseline for the latency probe: the shared-control pipeline written with rclpy + onnxruntime-python.

Same inputs, outputs, QoS and model as the Rust nodes (one process, like the composed executable):
`humans/skeletons` + `joy` in, `cmd_vel` (TwistStamped, stamped with the decision time) out. Per skeleton
capture: window per human -> one ONNX Runtime call for all humans -> intent + predicted torso/wrists -> teleop map ->
assist (back off from an approaching human) -> confidence-weighted blend -> speed and separation check -> velocity
clamp -> publish. See README.md next to this file for what is the same as the Rust pipeline and what is simplified.
"""
from __future__ import annotations

import argparse
import json
import math
from collections import deque
from pathlib import Path

import numpy as np
import onnxruntime as ort
import rclpy
from geometry_msgs.msg import TwistStamped
from intent_shared_control_msgs.msg import HumanSkeletonArray
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Joy

WINDOW = 30            # frames per model window
RATE_HZ = 30.0         # model rate
HISTORY_S = 1.2        # raw history kept per human [s]
HIPS = (11, 12)        # COCO-17 hip indices
MIN_CONF = 0.3         # keypoint confidence below this is missing
LABELS = ("idle", "pass_by", "approach_robot", "reach_handover", "retreat")

# Parameters as in config/params.yaml (defaults).
DEADMAN, DEADZONE, JOY_TIMEOUT_S = 4, 0.05, 0.5
AXES = {"linear_x": (1, 0.5), "angular_z": (0, 1.0)}
ALPHA_MAX, CONF_FLOOR, CONF_FULL = 0.9, 0.5, 0.9
BACKOFF_DISTANCE, BACKOFF_SPEED = 2.0, 0.3
ROBOT_RADIUS, REACTION_S, BRAKING, INTRUSION, UNCERTAINTY = 0.3, 0.1, 1.5, 0.1, 0.1
HUMAN_SPEED_FAR, STOP_DISTANCE, SLOWDOWN_DISTANCE, SLOWDOWN_SPEED = 1.6, 0.3, 1.0, 0.3
MAX_LINEAR, MAX_ANGULAR = 1.0, 1.5


class Track:
    """Raw history of one human: stamps [ns], points [n,17,3], observed [n,17]."""

    def __init__(self):
        self.stamps: deque[int] = deque()
        self.points: deque[np.ndarray] = deque()
        self.observed: deque[np.ndarray] = deque()

    def push(self, stamp: int, pts: np.ndarray, obs: np.ndarray):
        if self.stamps and stamp <= self.stamps[-1]:
            return
        self.stamps.append(stamp)
        self.points.append(pts)
        self.observed.append(obs)
        while self.stamps and stamp - self.stamps[0] > HISTORY_S * 1e9:
            self.stamps.popleft()
            self.points.popleft()
            self.observed.popleft()

    def window(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """[30, 71] features (torso-centred, bearing-aligned), torso point c and bearing; None without hips."""
        stamps = np.fromiter(self.stamps, dtype=np.int64)
        newest = stamps[-1]
        times = newest - ((WINDOW - 1 - np.arange(WINDOW)) * (1e9 / RATE_HZ)).astype(np.int64)
        # Sample-and-hold of the newest raw skeleton at or before each frame time (the Rust core interpolates).
        idx = np.clip(np.searchsorted(stamps, times, side="right") - 1, 0, len(stamps) - 1)
        pts = np.stack(self.points)[idx]            # [30,17,3]
        obs = np.stack(self.observed)[idx]          # [30,17]
        hips = obs[:, HIPS]
        if not hips[-1].any():
            return None
        w = hips[..., None].astype(np.float64)
        torso = (pts[:, HIPS] * w).sum(1) / np.maximum(w.sum(1), 1.0)   # [30,3]
        torso[~hips.any(1)] = torso[-1]
        pts = np.where(obs[..., None], pts, torso[:, None, :])          # missing -> torso point
        c = torso[-1].copy()
        theta = math.atan2(c[1], c[0])
        s, co = math.sin(-theta), math.cos(-theta)
        rot = np.array([[co, -s, 0.0], [s, co, 0.0], [0.0, 0.0, 1.0]])
        kp = (pts - c) @ rot.T
        tr = torso @ rot.T
        feats = np.concatenate([kp.reshape(WINDOW, 51), tr, obs.astype(np.float64)], axis=1).astype(np.float32)
        return feats, c, theta


class Baseline(Node):
    def __init__(self, model: Path, card: Path):
        super().__init__("python_baseline")
        meta = json.loads(card.read_text())
        self.temperature = float(meta.get("temperature", 1.0))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
        self.session.run(None, {"pose_window": np.zeros((1, WINDOW, 71), np.float32)})  # warm-up
        self.tracks: dict[int, Track] = {}
        self.current: dict[int, np.ndarray] = {}
        self.predictions: dict[int, tuple[np.ndarray, float, np.ndarray]] = {}
        self.joy: Joy | None = None
        self.joy_ns = 0
        cmd_qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
        self.pub = self.create_publisher(TwistStamped, "cmd_vel", cmd_qos)
        self.create_subscription(HumanSkeletonArray, "humans/skeletons", self.on_skeletons, qos_profile_sensor_data)
        self.create_subscription(Joy, "joy", self.on_joy, qos_profile_sensor_data)
        self.create_timer(1.0 / 50.0, self.decide)

    def on_joy(self, msg: Joy):
        self.joy = msg
        self.joy_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self.decide()

    def on_skeletons(self, msg: HumanSkeletonArray):
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        if msg.header.frame_id != "base_link" or len(msg.humans) > 64:
            return
        self.current = {}
        rows, metas = [], []
        for h in msg.humans:
            if len(h.keypoints) != 17 or len(h.confidence) != 17:
                continue
            pts = np.array([[p.x, p.y, p.z] for p in h.keypoints])
            conf = np.asarray(h.confidence, dtype=np.float64)
            obs = (conf >= MIN_CONF) & np.isfinite(pts).all(1)
            track = self.tracks.setdefault(h.id, Track())
            track.push(stamp, pts, obs)
            self.current[h.id] = pts[obs]
            w = track.window()
            if w is not None:
                rows.append(w[0])
                metas.append((h.id, w[1], w[2]))
        for hid in [k for k, t in self.tracks.items() if stamp - t.stamps[-1] > 1e9]:
            del self.tracks[hid]
        self.predictions = {}
        if rows:
            logits, future = self.session.run(None, {"pose_window": np.stack(rows)})
            z = logits / self.temperature
            probs = np.exp(z - z.max(1, keepdims=True))
            probs /= probs.sum(1, keepdims=True)
            for (hid, c, theta), p, f in zip(metas, probs, future):
                s, co = math.sin(theta), math.cos(theta)
                rot = np.array([[co, -s, 0.0], [s, co, 0.0], [0.0, 0.0, 1.0]])
                self.predictions[hid] = (p, float(p.max()), f.reshape(-1, 3).astype(np.float64) @ rot.T + c)
        self.decide()

    def user_twist(self, now_ns: int) -> np.ndarray:
        u = np.zeros(6)
        j = self.joy
        if j is None or now_ns - self.joy_ns > JOY_TIMEOUT_S * 1e9 or len(j.buttons) <= DEADMAN or not j.buttons[DEADMAN]:
            return u
        for i, (name, (axis, scale)) in enumerate(AXES.items()):
            v = j.axes[axis] if axis < len(j.axes) else 0.0
            v = v if abs(v) >= DEADZONE and math.isfinite(v) else 0.0
            u[0 if name == "linear_x" else 5] = v * scale
        return u

    def decide(self):
        now = self.get_clock().now()
        now_ns = now.nanoseconds
        user = self.user_twist(now_ns)
        assist, alpha = np.zeros(6), 0.0
        # Assist: back off from the most confident human predicted to approach within the back-off distance.
        for hid, (p, conf, fut) in self.predictions.items():
            torso_now = fut[0]
            d = math.hypot(torso_now[0], torso_now[1])
            if LABELS[int(p.argmax())] == "approach_robot" and conf >= 0.5 and d < BACKOFF_DISTANCE and d > 1e-6:
                a = min(ALPHA_MAX, max(0.0, (conf - CONF_FLOOR) / (CONF_FULL - CONF_FLOOR)) * ALPHA_MAX)
                if a > alpha:
                    alpha = a
                    assist = np.zeros(6)
                    assist[0], assist[1] = -BACKOFF_SPEED * torso_now[0] / d, -BACKOFF_SPEED * torso_now[1] / d
        out = alpha * assist + (1.0 - alpha) * user
        # Speed and separation (ISO/TS 15066 form, simplified): current and predicted points, disc robot.
        pts = [v for v in self.current.values() if len(v)] + [f for (_, _, f) in self.predictions.values()]
        if pts:
            allp = np.concatenate(pts)
            dist = float(np.min(np.hypot(allp[:, 0], allp[:, 1]))) - ROBOT_RADIUS
            v_r = math.hypot(out[0], out[1])
            s_p = HUMAN_SPEED_FAR * (REACTION_S + v_r / BRAKING) + v_r * REACTION_S + v_r ** 2 / (2 * BRAKING) + INTRUSION + UNCERTAINTY
            if dist < STOP_DISTANCE or dist < s_p:
                out[:] = 0.0
            elif dist < SLOWDOWN_DISTANCE and v_r > SLOWDOWN_SPEED:
                out[:3] *= SLOWDOWN_SPEED / v_r
        out[:3] = np.clip(out[:3], -MAX_LINEAR, MAX_LINEAR)
        out[3:] = np.clip(out[3:], -MAX_ANGULAR, MAX_ANGULAR)
        msg = TwistStamped()
        msg.header.stamp = now.to_msg()
        msg.header.frame_id = "base_link"
        msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z = (float(v) for v in out[:3])
        msg.twist.angular.x, msg.twist.angular.y, msg.twist.angular.z = (float(v) for v in out[3:])
        self.pub.publish(msg)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/intent_model.onnx", type=Path)
    ap.add_argument("--card", default=None, type=Path, help="model card (default: next to the model)")
    args, _ = ap.parse_known_args()
    card = args.card or args.model.with_name(args.model.stem + ".card.json")
    rclpy.init()
    node = Baseline(args.model, card)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == "__main__":
    main()
