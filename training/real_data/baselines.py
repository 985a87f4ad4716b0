#!/usr/bin/env python3
"""Simple forecasting baselines on the real ETH/UCY tracks of ``data/ethucy`` (ground plane).

The set-up follows the project's model contract (docs/model_contract.md, the core's model/ and features/):
the observation window is the last 30 frames at 30 Hz (T - 29/30 s ... T) and the forecast is
10 steps of 0.1 s (T + 0.1 ... T + 1.0 s). ETH/UCY are annotated every 0.4 s, so each track
is linearly interpolated between its annotations, as the feature pipeline resamples skeletons;
anchor times T are annotation times only, and a track must cover [T - 29/30 s, T + 1 s].

Baselines: standing still; constant velocity with the velocity fitted by least squares over the
last 0.2 / 0.4 / 0.8 s of the window (the window is chosen per scene on its validation split);
a constant-velocity Kalman filter over the 30-frame window (process noise chosen on validation).

Usage (from the repository root)::

    python3 training/real_data/baselines.py [--data data] [--out reports]

Writes ``reports/real_data_baselines.json`` and ``reports/real_data_baselines.md``. Deterministic.
Only numpy and the standard library are used.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys

import numpy as np

RATE_HZ = 30.0  # MODEL_RATE_HZ
WINDOW_FRAMES = 30  # WINDOW_FRAMES
HORIZON_STEPS = 10  # HORIZON_STEPS
HORIZON_STEP_S = 0.1  # HORIZON_STEP_S
LS_WINDOWS_S = (0.2, 0.4, 0.8)
KF_Q_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)  # white-acceleration density [m^2/s^3]
KF_MEAS_SIGMA_M = 0.05
KF_INIT_SPEED_SIGMA = 2.0  # m/s, prior on the initial velocity
BANDS = (("standing", 0.0, 0.2), ("slow", 0.2, 0.8), ("normal", 0.8, 1.6), ("fast", 1.6, float("inf")))
START_MAX_OBS_SPEED = 0.2  # m/s: standing in the observed window ...
START_MIN_FUTURE_DISP = 0.5  # m: ... and at least this far away 1 s later
GAP_FACTOR = 1.5  # a track is split where annotations are more than 1.5 periods apart

OBS_OFFSETS = -(WINDOW_FRAMES - 1 - np.arange(WINDOW_FRAMES)) / RATE_HZ  # T + these, oldest first
FUT_OFFSETS = HORIZON_STEP_S * np.arange(1, HORIZON_STEPS + 1)


def read_recording(data: str, rec: str) -> dict:
    with gzip.open(os.path.join(data, "ethucy", f"{rec}.csv.gz"), "rt") as f:
        text = f.read()
    lines = text.strip().split("\n")[1:]
    cols = list(zip(*(ln.split(",") for ln in lines)))
    return {
        "t": np.array(cols[1], dtype=float),
        "id": np.array(cols[2], dtype=np.int64),
        "xy": np.stack([np.array(cols[3], dtype=float), np.array(cols[4], dtype=float)], axis=1),
        "part": np.array(cols[5]),
    }


def build_samples(data: str, entries: list[dict], period: dict) -> dict:
    """Windows (obs [N,30,2]) and futures ([N,10,2]) from the parts of recordings listed."""
    obs_all, fut_all, meta = [], [], []
    for e in entries:
        r = read_recording(data, e["recording"])
        keep = np.ones(len(r["t"]), bool) if e["part"] == "all" else r["part"] == e["part"]
        t, ids, xy = r["t"][keep], r["id"][keep], r["xy"][keep]
        per = period[e["recording"]]
        for tid in np.unique(ids):
            m = ids == tid
            tt, pp = t[m], xy[m]
            o = np.argsort(tt, kind="stable")
            tt, pp = tt[o], pp[o]
            cuts = np.flatnonzero(np.diff(tt) > GAP_FACTOR * per) + 1
            for ts, ps in zip(np.split(tt, cuts), np.split(pp, cuts)):
                if len(ts) < 2:
                    continue
                ok = (ts + OBS_OFFSETS[0] >= ts[0] - 1e-9) & (ts + FUT_OFFSETS[-1] <= ts[-1] + 1e-9)
                anchors = ts[ok]
                if len(anchors) == 0:
                    continue
                qo = anchors[:, None] + OBS_OFFSETS[None, :]
                qf = anchors[:, None] + FUT_OFFSETS[None, :]
                obs = np.stack([np.interp(qo, ts, ps[:, c]) for c in range(2)], axis=-1)
                fut = np.stack([np.interp(qf, ts, ps[:, c]) for c in range(2)], axis=-1)
                obs_all.append(obs)
                fut_all.append(fut)
                meta.extend([(e["recording"], int(tid))] * len(anchors))
    obs = np.concatenate(obs_all)
    fut = np.concatenate(fut_all)
    return {"obs": obs, "fut": fut, "n_tracks": len(set(meta))}


def predict_still(obs: np.ndarray) -> np.ndarray:
    return np.repeat(obs[:, -1:, :], HORIZON_STEPS, axis=1)


def ls_velocity(obs: np.ndarray, window_s: float) -> np.ndarray:
    n = int(round(window_s * RATE_HZ)) + 1
    seg = obs[:, -n:, :]
    tt = OBS_OFFSETS[-n:]
    tc = tt - tt.mean()
    return np.einsum("k,nkc->nc", tc, seg - seg.mean(axis=1, keepdims=True)) / (tc @ tc)


def predict_cv(obs: np.ndarray, window_s: float) -> np.ndarray:
    v = ls_velocity(obs, window_s)
    return obs[:, -1:, :] + v[:, None, :] * FUT_OFFSETS[None, :, None]


def predict_kf(obs: np.ndarray, q: float) -> np.ndarray:
    """Constant-velocity Kalman filter over the window (x and y independent, same model)."""
    dt = 1.0 / RATE_HZ
    f = np.array([[1.0, dt], [0.0, 1.0]])
    qm = q * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    r = KF_MEAS_SIGMA_M**2
    n = obs.shape[0]
    x = np.zeros((n, 2, 2))  # [sample, axis, (pos, vel)]
    x[:, :, 0] = obs[:, 0, :]
    p = np.zeros((n, 2, 2, 2))
    p[:, :, 0, 0] = r
    p[:, :, 1, 1] = KF_INIT_SPEED_SIGMA**2
    for k in range(1, obs.shape[1]):
        x = np.einsum("ij,naj->nai", f, x)
        p = np.einsum("ij,najk,lk->nail", f, p, f) + qm
        s = p[:, :, 0, 0] + r
        gain = p[:, :, :, 0] / s[:, :, None]
        innov = obs[:, k, :] - x[:, :, 0]
        x = x + gain * innov[:, :, None]
        p = p - gain[:, :, :, None] * p[:, :, None, 0, :]
    pos, vel = x[:, :, 0], x[:, :, 1]
    return pos[:, None, :] + vel[:, None, :] * FUT_OFFSETS[None, :, None]


def errors(pred: np.ndarray, fut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(pred - fut, axis=-1)
    return d.mean(axis=1), d[:, -1]


def summarise(ade: np.ndarray, fde: np.ndarray, mask: np.ndarray) -> dict:
    n = int(mask.sum())
    if n == 0:
        return {"n": 0, "ade_m": None, "fde_m": None}
    return {"n": n, "ade_m": round(float(ade[mask].mean()), 4), "fde_m": round(float(fde[mask].mean()), 4)}


def groups(obs: np.ndarray, fut: np.ndarray) -> dict[str, np.ndarray]:
    speed = np.linalg.norm(obs[:, -1] - obs[:, 0], axis=-1) / (-OBS_OFFSETS[0])
    g = {"all": np.ones(len(obs), bool)}
    for name, lo, hi in BANDS:
        g[name] = (speed >= lo) & (speed < hi)
    disp = np.linalg.norm(fut[:, -1] - obs[:, -1], axis=-1)
    g["starting"] = (speed < START_MAX_OBS_SPEED) & (disp >= START_MIN_FUTURE_DISP)
    return g


def evaluate(samples: dict, predictor) -> dict:
    ade, fde = errors(predictor(samples["obs"]), samples["fut"])
    return {name: summarise(ade, fde, m) for name, m in groups(samples["obs"], samples["fut"]).items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data")
    ap.add_argument("--out", default="reports")
    args = ap.parse_args()
    with open(os.path.join(args.data, "ethucy", "splits.json"), encoding="utf-8") as f:
        splits = json.load(f)
    period = {r: v["annotation_period_s"] for r, v in splits["recordings"].items()}

    result: dict = {
        "setup": {
            "observation": f"{WINDOW_FRAMES} frames at {RATE_HZ:g} Hz (T - {(WINDOW_FRAMES - 1) / RATE_HZ:.4f} s ... T), "
                           "tracks linearly interpolated between annotations",
            "horizon_s": [round(float(h), 2) for h in FUT_OFFSETS],
            "anchors": "every annotation time T whose track (split at gaps > 1.5 annotation periods) covers the window and 1 s ahead",
            "ade": "mean Euclidean error over the 10 horizon steps; fde: error at 1.0 s (ground truth at non-annotated "
                   "times is interpolated between annotations)",
            "speed_bands_mps": {b[0]: [b[1], b[2] if np.isfinite(b[2]) else None] for b in BANDS},
            "speed": "displacement over the observed window / its duration",
            "starting": f"observed speed < {START_MAX_OBS_SPEED} m/s and >= {START_MIN_FUTURE_DISP} m from the last observed "
                        "position at T + 1 s",
            "cv": "last observed position + least-squares velocity over the last w seconds of the window",
            "kf": f"constant-velocity Kalman filter over the 30 frames, measurement sigma {KF_MEAS_SIGMA_M} m, "
                  f"initial velocity sigma {KF_INIT_SPEED_SIGMA} m/s, white-acceleration density q chosen on validation "
                  f"from {list(KF_Q_GRID)} m^2/s^3",
            "selection": "per scene, by ADE on the scene's validation split (val parts of the other recordings)",
        },
        "scenes": {},
    }
    for scene, sp in splits["scenes"].items():
        val = build_samples(args.data, sp["val"], period)
        test = build_samples(args.data, sp["test"], period)
        val_cv = {f"{w:g}": evaluate(val, lambda o, w=w: predict_cv(o, w))["all"]["ade_m"] for w in LS_WINDOWS_S}
        best_w = min(LS_WINDOWS_S, key=lambda w: (val_cv[f"{w:g}"], w))
        val_kf = {f"{q:g}": evaluate(val, lambda o, q=q: predict_kf(o, q))["all"]["ade_m"] for q in KF_Q_GRID}
        best_q = min(KF_Q_GRID, key=lambda q: (val_kf[f"{q:g}"], q))
        methods = {"still": predict_still}
        for w in LS_WINDOWS_S:
            methods[f"cv_ls_{w:g}s"] = lambda o, w=w: predict_cv(o, w)
        methods["kf_cv"] = lambda o: predict_kf(o, best_q)
        res = {name: evaluate(test, fn) for name, fn in methods.items()}
        result["scenes"][scene] = {
            "test_samples": int(len(test["obs"])),
            "test_tracks": test["n_tracks"],
            "val_samples": int(len(val["obs"])),
            "val_ade_cv_by_window_s": val_cv,
            "cv_window_chosen_s": best_w,
            "val_ade_kf_by_q": val_kf,
            "kf_q_chosen": best_q,
            "test": res,
        }
        print(f"{scene}: {len(test['obs'])} test windows, cv window {best_w} s, kf q {best_q}; "
              + ", ".join(f"{m} ADE {r['all']['ade_m']:.3f}" for m, r in res.items()))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "real_data_baselines.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.out, "real_data_baselines.md"), "w", encoding="utf-8") as f:
        f.write(markdown(result))
    return 0


def markdown(res: dict) -> str:
    s = res["setup"]
    out = ["# Baselines on real pedestrian tracks (ETH/UCY)", ""]
    out.append("Generated by `training/real_data/baselines.py` from `data/ethucy` (see `data/README.md`, "
               "`data/PROVENANCE.md`). Ground-plane positions in metres, each scene's **test** split of the "
               "leave-one-scene-out benchmark (univ = students001 + students003).")
    out.append("")
    out.append(f"- Observation: {s['observation']}; horizon {s['horizon_s'][0]:g} … {s['horizon_s'][-1]:g} s in 0.1 s steps "
               "(the model contract's window and horizon).")
    out.append(f"- Anchors: {s['anchors']}.")
    out.append(f"- ADE = {s['ade']}.")
    out.append(f"- Speed bands (speed = {s['speed']}): standing < 0.2, slow 0.2–0.8, normal 0.8–1.6, fast ≥ 1.6 m/s. "
               f"Starting: {s['starting']}.")
    out.append(f"- `cv_ls_w`: {s['cv']}; `cv*` is the window chosen on validation. `kf_cv`: {s['kf']}. "
               f"Selection: {s['selection']}.")
    out.append("")
    methods = ["still", "cv_ls_0.2s", "cv_ls_0.4s", "cv_ls_0.8s", "kf_cv"]
    scenes = list(res["scenes"])
    out.append("## ADE / FDE at 1 s [m], all test windows")
    out.append("")
    out.append("| scene | windows | " + " | ".join(methods) + " | cv window (val) | kf q (val) |")
    out.append("|---|---:|" + "---:|" * len(methods) + "---:|---:|")
    for sc in scenes:
        r = res["scenes"][sc]
        cells = []
        for m in methods:
            a = r["test"][m]["all"]
            star = "*" if m == f"cv_ls_{r['cv_window_chosen_s']:g}s" else ""
            cells.append(f"{a['ade_m']:.3f} / {a['fde_m']:.3f}{star}")
        out.append(f"| {sc} | {r['test_samples']} | " + " | ".join(cells) + f" | {r['cv_window_chosen_s']:g} s | {r['kf_q_chosen']:g} |")
    # mean over scenes
    cells = []
    for m in methods:
        a = np.mean([res["scenes"][sc]["test"][m]["all"]["ade_m"] for sc in scenes])
        b = np.mean([res["scenes"][sc]["test"][m]["all"]["fde_m"] for sc in scenes])
        cells.append(f"{a:.3f} / {b:.3f}")
    out.append("| **mean of scenes** | | " + " | ".join(cells) + " | | |")
    out.append("")
    out.append("`*` = the least-squares window chosen on the scene's validation split.")
    out.append("")
    for group in ["standing", "slow", "normal", "fast", "starting"]:
        title = "people starting to walk from standstill" if group == "starting" else f"speed band `{group}`"
        out.append(f"## ADE / FDE [m] by {title}")
        out.append("")
        out.append("| scene | windows | " + " | ".join(methods) + " |")
        out.append("|---|---:|" + "---:|" * len(methods))
        for sc in scenes:
            r = res["scenes"][sc]["test"]
            n = r["still"][group]["n"]
            if n == 0:
                out.append(f"| {sc} | 0 |" + " – |" * len(methods))
                continue
            cells = [f"{r[m][group]['ade_m']:.3f} / {r[m][group]['fde_m']:.3f}" for m in methods]
            out.append(f"| {sc} | {n} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("## Notes")
    out.append("")
    out.append("- ETH/UCY are annotated every 0.4 s. Anchors are annotation times, so the last 0.2 s and the last 0.4 s "
               "of the interpolated window lie on the same straight segment: `cv_ls_0.2s` and `cv_ls_0.4s` are the "
               "same predictor here (the velocity between the last two annotations); on a tie the shorter window is "
               "reported as chosen.")
    out.append("- Ground truth at 0.4 s and 0.8 s is annotated; at the other steps (1.0 s included) it is interpolated "
               "between annotations, which smooths it.")
    out.append("- eth uses the original annotation timing (one row per 0.4 s, video frame / 15 Hz), not the 10-frame "
               "resampling of the common benchmark file read as 0.4 s per row (see `data/PROVENANCE.md`); its errors are "
               "therefore not comparable with numbers computed on that file.")
    out.append("- The `starting` group is small (tens of windows per scene, none in hotel); read it as indicative.")
    out.append("")
    out.append("## Validation (selection) ADE [m]")
    out.append("")
    out.append("| scene | val windows | " + " | ".join(f"cv {w:g} s" for w in LS_WINDOWS_S) + " | "
               + " | ".join(f"kf q={q:g}" for q in KF_Q_GRID) + " |")
    out.append("|---|---:|" + "---:|" * (len(LS_WINDOWS_S) + len(KF_Q_GRID)))
    for sc in scenes:
        r = res["scenes"][sc]
        out.append(f"| {sc} | {r['val_samples']} | " + " | ".join(f"{r['val_ade_cv_by_window_s'][f'{w:g}']:.4f}" for w in LS_WINDOWS_S)
                   + " | " + " | ".join(f"{r['val_ade_kf_by_q'][f'{q:g}']:.4f}" for q in KF_Q_GRID) + " |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
