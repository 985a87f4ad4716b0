#!/usr/bin/env python3
"""Trains the intent model on data exported by `export_training_data` and writes the ONNX model + card.

Reproducible: fixed seeds, one CPU thread, deterministic algorithms. The ONNX graph is assembled with the `onnx`
helper API from the trained weights (no exporter tracing), so the contract (names, shapes, opset 17, IR 9, GRU in
time-major layout) is explicit:

    pose_window [batch,30,71] -> Transpose [30,batch,71] -> GRU(hidden) -> Y_h
    -> Squeeze -> Gemm+Relu -> Gemm -> intent_logits [batch,5]
                             -> Gemm -> Reshape -> future_positions [batch,10,3,3]

The input standardisation (x - mean) * inv_std of training is folded into the GRU's input weights and bias
(W' = W diag(inv_std), b' = b - W' mean): the same function with two fewer graph nodes per call.

Usage: python training/train.py --train DIR --val DIR --out-dir models [--epochs N] [--seed S]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from cv_skip import FEATURES, HORIZON, POINTS, WINDOW, kalman_skip, line_fit_skip

LABELS = ["idle", "pass_by", "approach_robot", "reach_handover", "retreat"]
# COCO-17 left/right pairs, for mirror augmentation (y -> -y).
FLIP_PAIRS = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]


def load(dir_: Path) -> dict[str, np.ndarray]:
    names = ["inputs", "labels", "futures", "scenario", "human", "episode_intent", "time_since_onset_s",
             "time_since_episode_onset_s"]
    data = {n: np.load(dir_ / f"{n}.npy") for n in names}
    data["meta"] = json.loads((dir_ / "meta.json").read_text())
    return data


def skip_description(args: argparse.Namespace) -> str:
    """The architecture string's part for the future head's skip (empty without one)."""
    if args.cv_skip_kalman:
        q, r = args.cv_skip_kalman
        return (f"; future head = correction added to a constant-velocity forecast (torso: a constant-velocity Kalman "
                f"filter over the window, q {q:g} m²/s³, r {r:g} m; wrists: that plus their mean offset from the "
                f"torso over the last {args.cv_skip_s} s; a fixed linear skip, training/cv_skip.py)")
    if args.cv_skip_s > 0:
        return (f"; future head = correction added to a constant-velocity forecast over the last {args.cv_skip_s} s "
                f"(torso: least-squares line; wrists: that plus their mean offset from the torso; a fixed linear "
                f"skip, training/cv_skip.py)")
    return ""


def flip_index() -> tuple[np.ndarray, np.ndarray]:
    """Feature permutation and sign vector that mirror a window about the bearing axis (y -> -y)."""
    kp = list(range(17))
    for a, b in FLIP_PAIRS:
        kp[a], kp[b] = b, a
    perm = []
    for k in kp:
        perm += [3 * k, 3 * k + 1, 3 * k + 2]
    perm += [51, 52, 53]
    perm += [54 + k for k in kp]
    sign = np.ones(FEATURES, dtype=np.float32)
    for k in range(17):
        sign[3 * k + 1] = -1.0
    sign[52] = -1.0
    # Targets: points (torso, left wrist, right wrist) -> (torso, right wrist, left wrist), y negated.
    return np.array(perm), sign


class IntentNet(nn.Module):
    def __init__(self, mean: np.ndarray, std: np.ndarray, hidden: int, skip: np.ndarray | None = None):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("inv_std", torch.tensor(1.0 / std, dtype=torch.float32))
        self.gru = nn.GRU(FEATURES, hidden, batch_first=True)
        self.trunk = nn.Linear(hidden, hidden)
        self.logits = nn.Linear(hidden, len(LABELS))
        self.future = nn.Linear(hidden, HORIZON * POINTS * 3)
        if skip is not None:
            # The future head learns a correction to a constant-velocity forecast, starting from none.
            self.register_buffer("skip", torch.tensor(skip, dtype=torch.float32))
            nn.init.zeros_(self.future.weight)
            nn.init.zeros_(self.future.bias)
        else:
            self.skip = None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = x
        x = (x - self.mean) * self.inv_std
        _, h = self.gru(x)
        z = torch.relu(self.trunk(h[0]))
        future = self.future(z)
        if self.skip is not None:
            future = future + raw.reshape(-1, WINDOW * FEATURES) @ self.skip
        return self.logits(z), future.view(-1, HORIZON, POINTS, 3)


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def macro_f1(pred: np.ndarray, labels: np.ndarray) -> tuple[float, list[float]]:
    f1s = []
    for c in range(len(LABELS)):
        tp = np.sum((pred == c) & (labels == c))
        fp = np.sum((pred == c) & (labels != c))
        fn = np.sum((pred != c) & (labels == c))
        f1s.append(float(2 * tp / max(2 * tp + fp + fn, 1)))
    return float(np.mean(f1s)), f1s


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def predict(model: IntentNet, x: np.ndarray, batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    logits, futures = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            lo, fu = model(torch.from_numpy(x[i:i + batch]))
            logits.append(lo.numpy())
            futures.append(fu.numpy())
    return np.concatenate(logits), np.concatenate(futures)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising the validation NLL (1-D search on log T; deterministic)."""
    z = torch.from_numpy(logits).double()
    y = torch.from_numpy(labels)
    best_t, best_nll = 1.0, math.inf
    for log_t in np.linspace(math.log(0.25), math.log(8.0), 401):
        t = math.exp(log_t)
        nll = float(nn.functional.cross_entropy(z / t, y))
        if nll < best_nll:
            best_t, best_nll = t, nll
    return best_t


def early_recognition(pred: np.ndarray, data: dict, stride_s: float) -> dict:
    """Per non-idle episode: time from the motion onset to the first window (at or after the onset, while the
    label is still the episode's intent) whose prediction is the episode's intent."""
    latencies, missed = [], 0
    keys = data["scenario"] * 1000 + data["human"]
    for key in np.unique(keys):
        m = (keys == key) & (data["episode_intent"] > 0) & (data["labels"] == data["episode_intent"])
        if not m.any():
            continue
        t = data["time_since_episode_onset_s"][m]
        ok = pred[m] == data["episode_intent"][m]
        order = np.argsort(t)
        t, ok = t[order], ok[order]
        hit = np.nonzero(ok)[0]
        if len(hit) == 0:
            missed += 1
        else:
            latencies.append(float(t[hit[0]]))
    lat = np.array(latencies) if latencies else np.array([math.nan])
    return {
        "episodes": len(latencies) + missed,
        "missed": missed,
        "latency_p50_s": float(np.median(lat)),
        "latency_p90_s": float(np.percentile(lat, 90)),
        "resolution_s": stride_s,
    }


def ade_fde(pred_f: np.ndarray, true_f: np.ndarray) -> dict:
    err = np.linalg.norm(pred_f - true_f, axis=-1)  # [n, 10, 3]
    return {
        "ade_1s_m": float(err.mean()),
        "fde_1s_m": float(err[:, -1].mean()),
        "ade_1s_torso_m": float(err[:, :, 0].mean()),
        "ade_1s_wrists_m": float(err[:, :, 1:].mean()),
    }


def constant_velocity_baseline(x: np.ndarray) -> np.ndarray:
    """Constant velocity of each predicted point over the last 0.2 s of the window, in the model frame."""
    idx = [(11, 12), (9, 9), (10, 10)]
    out = np.zeros((len(x), HORIZON, POINTS, 3), dtype=np.float32)
    for j, (a, b) in enumerate(idx):
        now = (x[:, -1, 3 * a:3 * a + 3] + x[:, -1, 3 * b:3 * b + 3]) / 2
        then = (x[:, -7, 3 * a:3 * a + 3] + x[:, -7, 3 * b:3 * b + 3]) / 2
        # Window positions are relative to the newest torso point c; the model frame of the targets is too.
        vel = (now - then) / 0.2
        for s in range(HORIZON):
            out[:, s, j] = now + vel * 0.1 * (s + 1)
    return out


def build_onnx(model: IntentNet, path: Path) -> None:
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    h = model.gru.hidden_size

    def zrn(w: np.ndarray) -> np.ndarray:  # torch gate order (r, z, n) -> ONNX (z, r, h)
        r, z, n = np.split(w, 3, axis=0)
        return np.concatenate([z, r, n], axis=0)

    # Standardisation folded into the input projection: W (x - m) s + b = (W diag(s)) x + (b - W diag(s) m).
    w_ih = sd["gru.weight_ih_l0"].astype(np.float64) * sd["inv_std"].astype(np.float64)[None, :]
    b_ih = sd["gru.bias_ih_l0"].astype(np.float64) - w_ih @ sd["mean"].astype(np.float64)
    inits = [
        numpy_helper.from_array(zrn(w_ih.astype(np.float32))[None], "gru_W"),
        numpy_helper.from_array(zrn(sd["gru.weight_hh_l0"])[None], "gru_R"),
        numpy_helper.from_array(
            np.concatenate([zrn(b_ih.astype(np.float32)), zrn(sd["gru.bias_hh_l0"])])[None], "gru_B"),
        numpy_helper.from_array(sd["trunk.weight"], "trunk_W"),
        numpy_helper.from_array(sd["trunk.bias"], "trunk_b"),
        numpy_helper.from_array(sd["logits.weight"], "logits_W"),
        numpy_helper.from_array(sd["logits.bias"], "logits_b"),
        numpy_helper.from_array(sd["future.weight"], "future_W"),
        numpy_helper.from_array(sd["future.bias"], "future_b"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
        numpy_helper.from_array(np.array([-1, HORIZON, POINTS, 3], dtype=np.int64), "future_shape"),
    ]
    nodes = [
        helper.make_node("Transpose", ["pose_window"], ["time_major"], perm=[1, 0, 2]),
        helper.make_node("GRU", ["time_major", "gru_W", "gru_R", "gru_B"], ["", "gru_h"], hidden_size=h,
                         linear_before_reset=1),
        helper.make_node("Squeeze", ["gru_h", "axis0"], ["last"]),
        helper.make_node("Gemm", ["last", "trunk_W", "trunk_b"], ["trunk_pre"], transB=1),
        helper.make_node("Relu", ["trunk_pre"], ["trunk"]),
        helper.make_node("Gemm", ["trunk", "logits_W", "logits_b"], ["intent_logits"], transB=1),
        helper.make_node("Gemm", ["trunk", "future_W", "future_b"], ["future_flat"], transB=1),
        helper.make_node("Reshape", ["future_flat", "future_shape"], ["future_positions"]),
    ]
    if model.skip is not None:
        # future_flat = head(trunk) + the constant-velocity forecast. The skip reads only the frames and features it
        # weighs (the torso and both wrists over the fit), so the graph carries that block of it, not all zeros.
        w = sd["skip"].reshape(WINDOW, FEATURES, -1)
        frames = np.nonzero(np.abs(w).sum(axis=(1, 2)) > 0)[0]
        feats = np.nonzero(np.abs(w).sum(axis=(0, 2)) > 0)[0]
        first = int(frames[0])
        block = w[first:][:, feats].reshape(-1, w.shape[2])
        inits += [numpy_helper.from_array(np.ascontiguousarray(block), "skip_W"),
                  numpy_helper.from_array(np.array([first], dtype=np.int64), "skip_first"),
                  numpy_helper.from_array(np.array([WINDOW], dtype=np.int64), "skip_end"),
                  numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
                  numpy_helper.from_array(feats.astype(np.int64), "skip_features"),
                  numpy_helper.from_array(np.array([-1, len(block)], dtype=np.int64), "skip_flat_shape")]
        nodes[-2:-1] = [
            helper.make_node("Gemm", ["trunk", "future_W", "future_b"], ["future_head"], transB=1),
            helper.make_node("Slice", ["pose_window", "skip_first", "skip_end", "axis1"], ["fit_frames"]),
            helper.make_node("Gather", ["fit_frames", "skip_features"], ["fit_points"], axis=2),
            helper.make_node("Reshape", ["fit_points", "skip_flat_shape"], ["fit_flat"]),
            helper.make_node("Gemm", ["fit_flat", "skip_W"], ["future_skip"]),
            helper.make_node("Add", ["future_head", "future_skip"], ["future_flat"]),
        ]
    graph = helper.make_graph(
        nodes, "intent_gru",
        [helper.make_tensor_value_info("pose_window", TensorProto.FLOAT, ["batch", WINDOW, FEATURES])],
        [helper.make_tensor_value_info("intent_logits", TensorProto.FLOAT, ["batch", len(LABELS)]),
         helper.make_tensor_value_info("future_positions", TensorProto.FLOAT, ["batch", HORIZON, POINTS, 3])],
        inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="intent_shared_control")
    m.ir_version = 9  # ONNX Runtime 1.31 refuses IR 14 (the onnx package's default)
    onnx.checker.check_model(m, full_check=True)
    path.write_bytes(m.SerializeToString())


def source(data: dict) -> str:
    """Where an extra export comes from: `walkers` (export_training_data --walkers) or `real` (export_real_data)."""
    return "walkers" if data["meta"]["export"].get("source") == "walkers" else "real"


def part(data: dict) -> dict:
    """What the card records of one extra export."""
    return {"export": data["meta"]["export"], "samples": int(data["meta"]["samples"]),
            "class_counts": data["meta"]["class_counts"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--extra-train", type=Path, nargs="*", default=[],
                    help="more training exports to mix in (export_real_data's train/, export_training_data --walkers)")
    ap.add_argument("--extra-val", type=Path, nargs="*", default=[],
                    help="more validation exports (early stopping and temperature use all of them)")
    ap.add_argument("--out-dir", type=Path, default=Path("models"))
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--future-weight", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=12.0, help="stop training after this wall time")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--real-future-weight", type=float, default=1.0,
                    help="weight of a real window (export_real_data) in the future loss, a generated one's being 1")
    ap.add_argument("--torso-plane-weight", type=float, default=1.0,
                    help="weight of the torso's ground-plane coordinates in the future loss, every other one's being 1")
    ap.add_argument("--cv-skip-s", type=float, default=0.0,
                    help="if > 0: the future head learns a correction added to a constant-velocity forecast over "
                         "this much of the window (training/cv_skip.py: the torso's least-squares line, the wrists "
                         "at their mean offset from it; a fixed linear skip; 0: no skip)")
    ap.add_argument("--cv-skip-kalman", type=float, nargs=2, metavar=("Q", "R"),
                    help="with --cv-skip-s: the skip's torso forecast comes from a constant-velocity Kalman filter "
                         "over the whole window (process noise Q m²/s³, position noise R m; training/cv_skip.py) "
                         "instead of the line; the wrists keep their mean offset over --cv-skip-s")
    args = ap.parse_args()
    if args.cv_skip_kalman and args.cv_skip_s <= 0:
        ap.error("--cv-skip-kalman needs --cv-skip-s (the span of the wrists' mean offset)")

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    started = time.time()

    train, val = load(args.train), load(args.val)
    extra_train, extra_val = [load(d) for d in args.extra_train], [load(d) for d in args.extra_val]
    x_tr, y_tr, f_tr = (np.concatenate([d[k] for d in [train, *extra_train]]) for k in ("inputs", "labels", "futures"))
    x_va, y_va, f_va = (np.concatenate([d[k] for d in [val, *extra_val]]) for k in ("inputs", "labels", "futures"))
    # Per-window weight of the future loss: real windows (export_real_data) may count more than generated ones.
    w_tr, w_va = (np.concatenate([np.full(len(d["labels"]), args.real_future_weight if d is not main and source(d) == "real"
                                          else 1.0, dtype=np.float32) for d in [main, *extra]])
                  for main, extra in ((train, extra_train), (val, extra_val)))
    # Weight of each predicted coordinate: the torso's ground-plane coordinates may count more.
    w_point = np.ones((HORIZON, POINTS, 3), dtype=np.float32)
    w_point[:, 0, :2] = args.torso_plane_weight
    w_point_t = torch.from_numpy(w_point / w_point.mean())
    weighted = args.real_future_weight != 1.0 or args.torso_plane_weight != 1.0

    def future_loss(pred: torch.Tensor, target: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if not weighted:
            return nn.functional.smooth_l1_loss(pred, target, beta=0.05)
        each = nn.functional.smooth_l1_loss(pred, target, beta=0.05, reduction="none") * w_point_t
        return (each.mean(dim=(1, 2, 3)) * w).sum() / w.sum()

    print(f"train {len(y_tr)} samples {np.bincount(y_tr, minlength=5)}; val {len(y_va)} {np.bincount(y_va, minlength=5)}")

    flat = x_tr.reshape(-1, FEATURES)
    mean = flat.mean(0).astype(np.float32)
    std = np.maximum(flat.std(0), 0.05).astype(np.float32)
    perm, sign = flip_index()
    counts = np.bincount(y_tr, minlength=len(LABELS)).astype(np.float64)
    class_w = torch.tensor((counts.sum() / (len(LABELS) * np.maximum(counts, 1))) ** 0.5, dtype=torch.float32)

    skip = (kalman_skip(*args.cv_skip_kalman, args.cv_skip_s) if args.cv_skip_kalman
            else line_fit_skip(args.cv_skip_s) if args.cv_skip_s > 0 else None)
    model = IntentNet(mean, std, args.hidden, skip)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    ce = nn.CrossEntropyLoss(weight=class_w)
    xt, yt, ft, wt = torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(f_tr), torch.from_numpy(w_tr)
    perm_t, sign_t = torch.from_numpy(perm), torch.from_numpy(sign)
    gen = torch.Generator().manual_seed(args.seed)

    best, best_state, bad_epochs, epochs_run = math.inf, None, 0, 0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(yt), generator=gen)
        total = 0.0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            xb, yb, fb, wb = xt[idx], yt[idx], ft[idx].clone(), wt[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            if flip.any():
                xb = xb.clone()
                xb[flip] = xb[flip][:, :, perm_t] * sign_t
                ff = fb[flip][:, :, [0, 2, 1], :]
                ff[..., 1] = -ff[..., 1]
                fb[flip] = ff
            logits, fut = model(xb)
            loss = ce(logits, yb) + args.future_weight * future_loss(fut, fb, wb)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * len(idx)
        lo, fu = predict(model, x_va)
        val_loss = float(nn.functional.cross_entropy(torch.from_numpy(lo), torch.from_numpy(y_va))) + \
            args.future_weight * float(future_loss(torch.from_numpy(fu), torch.from_numpy(f_va), torch.from_numpy(w_va)))
        f1, _ = macro_f1(lo.argmax(1), y_va)
        sched.step(val_loss)
        epochs_run = epoch + 1
        elapsed = time.time() - started
        print(f"epoch {epoch:2d} train {total / len(yt):.4f} val {val_loss:.4f} macroF1 {f1:.4f} "
              f"ADE {ade_fde(fu, f_va)['ade_1s_m']:.3f} lr {opt.param_groups[0]['lr']:.1e} {elapsed:.0f}s", flush=True)
        if val_loss < best - 1e-4:
            best, bad_epochs = val_loss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= args.patience:
                print("early stop")
                break
        if elapsed > args.max_minutes * 60:
            print("time budget reached")
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    train_s = time.time() - started

    lo, fu = predict(model, x_va)
    temperature = fit_temperature(lo, y_va)
    probs_raw, probs = softmax(lo), softmax(lo / temperature)
    pred = lo.argmax(1)
    f1, per_class = macro_f1(pred, y_va)
    cv = ade_fde(constant_velocity_baseline(x_va), f_va)
    stride_s = float(val["meta"]["export"]["stride"]) / float(val["meta"]["export"]["scenario"]["rate_hz"])
    metrics = {
        "source": "python validation split (training/train.py); replaced by the Rust evaluation",
        "samples": int(len(y_va)),
        "accuracy": float((pred == y_va).mean()),
        "macro_f1": f1,
        "f1_per_class": dict(zip(LABELS, per_class)),
        "ece_uncalibrated": ece(probs_raw, y_va),
        "ece": ece(probs, y_va),
        "nll": float(nn.functional.cross_entropy(torch.from_numpy(lo / temperature), torch.from_numpy(y_va))),
        "future": ade_fde(fu, f_va),
        "constant_velocity_future": cv,
        "ade_ratio_vs_constant_velocity": ade_fde(fu, f_va)["ade_1s_m"] / cv["ade_1s_m"],
        "early_recognition": early_recognition(pred[:len(val["labels"])], val, stride_s),
    }
    print(json.dumps(metrics, indent=2))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out_dir / "intent_model.onnx"
    build_onnx(model, onnx_path)
    sess_opts = ort.SessionOptions()
    sess_opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), sess_opts, providers=["CPUExecutionProvider"])
    o_lo, o_fu = sess.run(["intent_logits", "future_positions"], {"pose_window": x_va[:512]})
    diff = max(float(np.abs(o_lo - lo[:512]).max()), float(np.abs(o_fu - fu[:512]).max()))
    print(f"ONNX vs torch max abs diff on 512 validation windows: {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit(f"ONNX graph disagrees with the torch model (max abs diff {diff})")
    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    n_params = sum(p.numel() for p in model.parameters())
    card = {
        "name": "intent_gru",
        "version": args.version,
        "onnx_file": onnx_path.name,
        "sha256": sha,
        "opset": 17,
        "labels": LABELS,
        "temperature": round(temperature, 6),
        "rate_hz": 30.0,
        "window": WINDOW,
        "horizon_step_s": 0.1,
        "horizon_steps": HORIZON,
        "predicted_points": ["torso", "left_wrist", "right_wrist"],
        "input": {"name": "pose_window", "shape": ["batch", WINDOW, FEATURES], "dtype": "float32"},
        "outputs": [
            {"name": "intent_logits", "shape": ["batch", len(LABELS)], "dtype": "float32"},
            {"name": "future_positions", "shape": ["batch", HORIZON, POINTS, 3], "dtype": "float32"},
        ],
        "feature_layout": {"keypoints": [0, 51], "torso": [51, 54], "visibility": [54, 71]},
        "normalisation": "torso_centred_bearing_aligned",
        "min_keypoint_confidence": 0.3,
        "data": {
            "generator": "intent_shared_control_sim::scenario via export_training_data",
            "train": {"seed": train["meta"]["export"]["seed"], "scenarios": train["meta"]["export"]["scenarios"],
                      "stride": train["meta"]["export"]["stride"], "samples": int(len(train["labels"])),
                      "class_counts": train["meta"]["class_counts"]},
            "validation": {"seed": val["meta"]["export"]["seed"], "scenarios": val["meta"]["export"]["scenarios"],
                           "stride": val["meta"]["export"]["stride"], "samples": int(len(val["labels"])),
                           "class_counts": val["meta"]["class_counts"]},
            "scenario_seed_rule": "base_seed * 1000000 + scenario_index",
            **{kind: {
                "train": [part(d) for d in extra_train if source(d) == kind],
                "validation": [part(d) for d in extra_val if source(d) == kind],
            } for kind in ("real", "walkers") if any(source(d) == kind for d in [*extra_train, *extra_val])},
        },
        "metrics": metrics,
        "training": {
            "framework": f"torch {torch.__version__}",
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "architecture": f"GRU({FEATURES}->{args.hidden}) + Linear({args.hidden},{args.hidden})+ReLU + heads"
                            + skip_description(args),
            "parameters": int(n_params),
            "seed": args.seed,
            "epochs": epochs_run,
            "seconds": round(train_s, 1),
            "loss": f"class-weighted cross-entropy + {args.future_weight} * smooth L1 (beta 0.05) on future_positions"
                    + (f" (weighted: a real window {args.real_future_weight}, a generated one 1; the torso's ground-plane "
                       f"coordinates {args.torso_plane_weight}, the others 1)" if weighted else ""),
            "augmentation": "mirror about the bearing axis (y -> -y, left/right swapped), p = 0.5",
            "early_stopping": f"validation loss, patience {args.patience}",
            "calibration": "temperature scaling on the validation split (NLL)",
            "onnx_vs_torch_max_abs_diff": diff,
            "python_validation": metrics,
        },
    }
    (args.out_dir / "intent_model.card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes, sha256 {sha}) and the card; "
          f"training {train_s:.0f} s, temperature {temperature:.3f}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
