#!/usr/bin/env python3
"""Convert real human motion data into the compact files under ``data/``.

Two kinds of data, read from local bare git mirrors of public repositories (not committed):

* ETH/UCY pedestrian trajectories (ground plane, metres) for the five benchmark scenes
  eth, hotel, univ, zara1, zara2 with the leave-one-scene-out train/val/test splits.
* CMU motion-capture clips (BVH) converted by forward kinematics to world-frame 3D positions of
  the project's 17 COCO keypoints (metres, z up), resampled to 30 Hz.

Usage (from the repository root)::

    python3 training/real_data/convert.py --mirrors DIR [--out data]

``DIR`` holds one bare mirror per source at ``DIR/<owner>+<name>/repo`` (or give each mirror
with ``--trajectron``, ``--opentraj``, ``--bvh11``, ``--iclone``). ``REAL_DATA_MIRRORS`` is used when
``--mirrors`` is omitted. Every file is read at a pinned commit, so the output is byte-for-byte
reproducible (gzip with mtime 0, fixed number formatting, sorted rows).

Only numpy and the standard library are used.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------------------------
# Sources (pinned commits)
# --------------------------------------------------------------------------------------------

SOURCES = {
    "trajectron": {
        "repo": "StanfordASL/Trajectron-plus-plus",
        "commit": "1031c7bd1a444273af378c1ec1dcca907ba59830",
        "flag": "--trajectron",
    },
    "opentraj": {
        "repo": "crowdbotp/OpenTraj",
        "commit": "97ec1d5e1b579f26febeaa9083705952deac338a",
        "flag": "--opentraj",
    },
    "bvh11": {
        "repo": "yuki-koyama/bvh11",
        "commit": "c9072174fe89e0bf9776a092179b464ea39975e5",
        "flag": "--bvh11",
    },
    "iclone": {
        "repo": "DragonForgedTheArtist/IClone-CMU-Mocap",
        "commit": "79529f962ade3274163af53cd92179cee2ed9407",
        "flag": "--iclone",
    },
}

# --------------------------------------------------------------------------------------------
# ETH/UCY
# --------------------------------------------------------------------------------------------

BENCH_DIR = "experiments/pedestrians/raw/raw"
# Recording -> (benchmark file stem, video frame rate [Hz], where the rows come from).
# Each row of every benchmark file is one annotation; frame numbers are video frames.
RECORDINGS = {
    # The benchmark file of eth (biwi_eth.txt) is the original annotation resampled every 10 frame
    # numbers and then read as 0.4 s per row, which makes people walk 10/6 too fast. We use the
    # original annotation (obsmat.txt, one row every 6 frames = 0.4 s at 15 Hz) instead.
    "biwi_eth": {"fps": 15.0, "origin": "obsmat"},
    "biwi_hotel": {"fps": 25.0, "origin": "benchmark"},
    "crowds_zara01": {"fps": 25.0, "origin": "benchmark"},
    "crowds_zara02": {"fps": 25.0, "origin": "benchmark"},
    "crowds_zara03": {"fps": 25.0, "origin": "benchmark"},
    "students001": {"fps": 25.0, "origin": "benchmark"},
    "students003": {"fps": 25.0, "origin": "benchmark"},
    "uni_examples": {"fps": 25.0, "origin": "benchmark"},
}
ETH_OBSMAT = "datasets/ETH/seq_eth/obsmat.txt"

# Leave-one-scene-out benchmark (Social-GAN splits as shipped in the Trajectron++ repository):
# the test split of a scene is its own recording(s), whole; its train/val splits are the train/val
# parts of all other recordings.
SCENES = {
    "eth": ["biwi_eth"],
    "hotel": ["biwi_hotel"],
    "univ": ["students001", "students003"],
    "zara1": ["crowds_zara01"],
    "zara2": ["crowds_zara02"],
}


@dataclass
class Mirror:
    key: str
    git_dir: str
    commit: str

    def show(self, path: str) -> bytes:
        out = subprocess.run(
            ["git", "--git-dir", self.git_dir, "show", f"{self.commit}:{path}"],
            capture_output=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"cannot read {path} at {self.commit} from {self.git_dir}: {out.stderr.decode().strip()}")
        return out.stdout

    def ls(self, path: str) -> list[str]:
        out = subprocess.run(
            ["git", "--git-dir", self.git_dir, "ls-tree", "-r", "--name-only", self.commit, path],
            capture_output=True,
            check=True,
        )
        return sorted(out.stdout.decode().split())


def load_table(raw: bytes) -> np.ndarray:
    arr = np.loadtxt(io.StringIO(raw.decode()), ndmin=2)
    return arr


def benchmark_file(split: str, rec: str) -> str:
    if split == "all":
        return f"{BENCH_DIR}/all_data/{rec}.txt"
    return f"{BENCH_DIR}/{split}/{rec}_{split}.txt"


def check_benchmark_layout(tj: Mirror) -> None:
    """The per-scene folders of the benchmark hold exactly the files our split rules describe."""
    for scene, test_recs in SCENES.items():
        got = tj.ls(f"experiments/pedestrians/raw/{scene}")
        want = sorted(
            [f"experiments/pedestrians/raw/{scene}/test/{r}.txt" for r in test_recs]
            + [
                f"experiments/pedestrians/raw/{scene}/{s}/{r}_{s}.txt"
                for r in RECORDINGS
                if r not in test_recs
                for s in ("train", "val")
            ]
        )
        if got != want:
            raise SystemExit(f"unexpected benchmark layout for {scene}: {sorted(set(got) ^ set(want))}")
        # and the files are the same blobs as the per-recording files
        for path in got:
            parts = path.split("/")
            split, name = parts[-2], parts[-1][:-4]
            rec = name if split == "test" else name[: -len(split) - 1]
            src = benchmark_file("all" if split == "test" else split, rec)
            if tj.show(path) != tj.show(src):
                raise SystemExit(f"{path} differs from {src}")


def convert_ethucy(tj: Mirror, ot: Mirror, out_dir: str) -> dict:
    check_benchmark_layout(tj)
    os.makedirs(os.path.join(out_dir, "ethucy"), exist_ok=True)
    info: dict = {"recordings": {}, "scenes": {}}
    for rec, spec in RECORDINGS.items():
        all_rows = load_table(tj.show(benchmark_file("all", rec)))[:, :4]
        tr = load_table(tj.show(benchmark_file("train", rec)))[:, :4]
        va = load_table(tj.show(benchmark_file("val", rec)))[:, :4]
        # The benchmark splits a recording by time: train = frames < cut, val = frames >= cut.
        cut = float(va[:, 0].min())
        if tr[:, 0].max() >= cut:
            raise SystemExit(f"{rec}: train and val overlap in time")
        key = lambda a: sorted(map(tuple, np.round(a, 6).tolist()))  # noqa: E731
        if key(np.vstack([tr, va])) != key(all_rows):
            raise SystemExit(f"{rec}: train + val is not the whole recording")
        fps = spec["fps"]
        if spec["origin"] == "obsmat":
            om = load_table(ot.show(ETH_OBSMAT))
            # obsmat columns: frame, id, pos_x, pos_z, pos_y, v_x, v_z, v_y (metres; z unused)
            rows = om[:, [0, 1, 2, 4]]
            bench_ids = set(all_rows[:, 1].astype(int).tolist())
            if set(rows[:, 1].astype(int).tolist()) != bench_ids:
                raise SystemExit("eth: obsmat and benchmark hold different track ids")
            err = benchmark_vs_obsmat(all_rows, rows)
            info["eth_benchmark_check"] = err
            source_paths = [ETH_OBSMAT, benchmark_file("all", rec), benchmark_file("train", rec), benchmark_file("val", rec)]
        else:
            rows = all_rows
            source_paths = [benchmark_file("all", rec), benchmark_file("train", rec), benchmark_file("val", rec)]
        order = np.lexsort((rows[:, 0], rows[:, 1]))
        rows = rows[order]
        frames = np.rint(rows[:, 0]).astype(np.int64)
        if np.any(np.abs(rows[:, 0] - frames) > 1e-6):
            raise SystemExit(f"{rec}: non-integer frame numbers")
        ids = np.rint(rows[:, 1]).astype(np.int64)
        dup = np.any((np.diff(ids) == 0) & (np.diff(frames) == 0))
        if dup:
            raise SystemExit(f"{rec}: duplicate (track, frame) rows")
        t = frames / fps
        part = np.where(frames >= cut, "val", "train")
        lines = ["frame,t_s,track_id,x_m,y_m,part"]
        for f, tt, i, x, y, p in zip(frames, t, ids, rows[:, 2], rows[:, 3], part):
            lines.append(f"{f},{fmt(tt, 3)},{i},{fmt(x, 4)},{fmt(y, 4)},{p}")
        path = os.path.join(out_dir, "ethucy", f"{rec}.csv.gz")
        write_gz(path, ("\n".join(lines) + "\n").encode())
        steps = annotation_steps(frames, ids, rows[:, 2:4])
        info["recordings"][rec] = {
            "file": f"ethucy/{rec}.csv.gz",
            "source_repo": SOURCES["trajectron"]["repo"] if spec["origin"] == "benchmark"
            else f'{SOURCES["opentraj"]["repo"]} (rows), {SOURCES["trajectron"]["repo"]} (split, check)',
            "source_paths": source_paths,
            "video_fps": fps,
            "annotation_period_s": round(float(np.median(steps["dt_frames"])) / fps, 4),
            "val_from_frame": int(cut),
            "val_from_t_s": round(cut / fps, 3),
            "rows": int(len(rows)),
            "tracks": int(len(np.unique(ids))),
            "median_speed_mps": round(float(np.median(steps["dist"] / (steps["dt_frames"] / fps))), 3),
            "median_speed_moving_mps": median_moving(steps, fps),
        }
    # the eth time base: what the benchmark file would give with 0.4 s per row
    bench_eth = load_table(tj.show(benchmark_file("all", "biwi_eth")))[:, :4]
    o = np.lexsort((bench_eth[:, 0], bench_eth[:, 1]))
    bench_eth = bench_eth[o]
    st = annotation_steps(np.rint(bench_eth[:, 0]).astype(np.int64), np.rint(bench_eth[:, 1]).astype(np.int64), bench_eth[:, 2:4])
    info["eth_time_base"] = {
        "benchmark_file_rows_step_frames": int(np.median(st["dt_frames"])),
        "benchmark_file_median_speed_at_0.4s_per_row_mps": round(float(np.median(st["dist"] / (st["dt_frames"] / 25.0))), 3),
        "benchmark_file_median_speed_at_15Hz_frames_mps": round(float(np.median(st["dist"] / (st["dt_frames"] / 15.0))), 3),
    }
    for scene, test_recs in SCENES.items():
        others = [r for r in RECORDINGS if r not in test_recs]
        info["scenes"][scene] = {
            "test": [{"recording": r, "part": "all"} for r in test_recs],
            "train": [{"recording": r, "part": "train"} for r in others],
            "val": [{"recording": r, "part": "val"} for r in others],
        }
    write_json(os.path.join(out_dir, "ethucy", "splits.json"), {k: info[k] for k in ("scenes",)} | {"recordings": {
        r: {k: info["recordings"][r][k] for k in ("file", "video_fps", "annotation_period_s", "val_from_frame", "val_from_t_s", "rows", "tracks")}
        for r in info["recordings"]
    }})
    return info


def annotation_steps(frames: np.ndarray, ids: np.ndarray, xy: np.ndarray) -> dict:
    same = ids[1:] == ids[:-1]
    dt = (frames[1:] - frames[:-1])[same]
    d = np.hypot(*(xy[1:] - xy[:-1])[same].T)
    period = np.median(dt)
    ok = dt == period  # consecutive annotations only (no gaps)
    return {"dt_frames": dt[ok].astype(float), "dist": d[ok]}


def median_moving(steps: dict, fps: float) -> float:
    v = steps["dist"] / (steps["dt_frames"] / fps)
    return round(float(np.median(v[v >= 0.5])), 3)


def benchmark_vs_obsmat(bench: np.ndarray, obs: np.ndarray) -> dict:
    """Max deviation of the benchmark eth rows from the obsmat tracks interpolated at the same frame."""
    errs = []
    outside = 0
    for tid in np.unique(bench[:, 1]):
        b = bench[bench[:, 1] == tid]
        o = obs[obs[:, 1] == tid]
        o = o[np.argsort(o[:, 0])]
        inside = (b[:, 0] >= o[0, 0]) & (b[:, 0] <= o[-1, 0])
        outside += int((~inside).sum())
        b = b[inside]
        xi = np.interp(b[:, 0], o[:, 0], o[:, 2])
        yi = np.interp(b[:, 0], o[:, 0], o[:, 3])
        errs.append(np.maximum(np.abs(xi - b[:, 2]), np.abs(yi - b[:, 3])))
    e = np.concatenate(errs)
    return {
        "benchmark_rows_compared": int(len(e)),
        "benchmark_rows_outside_obsmat_track_span": outside,
        "max_abs_diff_m": round(float(e.max()), 4),
    }


# --------------------------------------------------------------------------------------------
# Motion capture (BVH)
# --------------------------------------------------------------------------------------------

CMU_UNIT_M = 0.0254 / 0.45  # CMU ASF length unit: 1/0.45 inch (mocap.cs.cmu.edu FAQ)

# COCO-17 order (crates/intent_shared_control_core/src/skeleton.rs)
KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
]

# Body keypoints -> BVH joint (the joint's origin) per skeleton naming.
JOINT_MAPS = {
    # cgspeed "3dsMax-friendly" conversion of the CMU skeleton
    "cmu_max": {
        "left_shoulder": "LeftShoulder", "right_shoulder": "RightShoulder",
        "left_elbow": "LeftElbow", "right_elbow": "RightElbow",
        "left_wrist": "LeftWrist", "right_wrist": "RightWrist",
        "left_hip": "LeftHip", "right_hip": "RightHip",
        "left_knee": "LeftKnee", "right_knee": "RightKnee",
        "left_ankle": "LeftAnkle", "right_ankle": "RightAnkle",
        "head": "Head",
    },
    # Character Creator / iClone rig (CMU motion retargeted onto it)
    "cc": {
        "left_shoulder": "CC_Base_L_Upperarm", "right_shoulder": "CC_Base_R_Upperarm",
        "left_elbow": "CC_Base_L_Forearm", "right_elbow": "CC_Base_R_Forearm",
        "left_wrist": "CC_Base_L_Hand", "right_wrist": "CC_Base_R_Hand",
        "left_hip": "CC_Base_L_Thigh", "right_hip": "CC_Base_R_Thigh",
        "left_knee": "CC_Base_L_Calf", "right_knee": "CC_Base_R_Calf",
        "left_ankle": "CC_Base_L_Foot", "right_ankle": "CC_Base_R_Foot",
        "head": "CC_Base_Head",
    },
}

# Face points: fixed offsets [m] from the head joint in the head's own frame (forward, left, up),
# the frame being the head joint's global rotation applied to the body's rest-pose axes.
# The head joint of both rigs sits at the top of the neck (skull base); values are those of an
# average adult head (nose ~10 cm in front of and ~6 cm above the skull base, eyes 6.4 cm apart).
FACE_OFFSETS_M = {
    "nose": (0.10, 0.0, 0.06),
    "left_eye": (0.08, 0.032, 0.09),
    "right_eye": (0.08, -0.032, 0.09),
    "left_ear": (-0.01, 0.075, 0.07),
    "right_ear": (-0.01, -0.075, 0.07),
}

ANKLE_HEIGHT_M = 0.08  # ankle joint above the floor in stance (adult average)

MODEL_RATE_HZ = 30.0  # crates/intent_shared_control_core/src/model/contract.rs MODEL_RATE_HZ

# Clips: (name, source key, path, rig, CMU description as given by the source)
CLIPS = [
    ("cmu_02_01", "iclone", "All_BVH/subjects/002/002_01.bvh", "cc", "walk"),
    ("cmu_02_02", "iclone", "All_BVH/subjects/002/002_02.bvh", "cc", "walk"),
    ("cmu_02_03", "iclone", "All_BVH/subjects/002/002_03.bvh", "cc", "run/jog"),
    ("cmu_02_06", "iclone", "All_BVH/subjects/002/002_06.bvh", "cc", "bend over, scoop up, rise, lift arm"),
    ("cmu_05_01", "iclone", "All_BVH/subjects/005/005_01.bvh", "cc", "walk"),
    ("cmu_06_01", "iclone", "All_BVH/subjects/006/006_01.bvh", "cc", "walk"),
    ("cmu_06_10", "iclone", "All_BVH/subjects/006/006_10.bvh", "cc", "basketball - forward dribble, 90-degree left turns"),
    ("cmu_06_11", "iclone", "All_BVH/subjects/006/006_11.bvh", "cc", "basketball - forward dribble, 90-degree right turns"),
    ("cmu_07_01", "iclone", "All_BVH/subjects/007/007_01.bvh", "cc", "walk"),
    ("cmu_07_04", "iclone", "All_BVH/subjects/007/007_04.bvh", "cc", "slow walk"),
    ("cmu_07_05", "iclone", "All_BVH/subjects/007/007_05.bvh", "cc", "slow walk"),
    ("cmu_07_08", "iclone", "All_BVH/subjects/007/007_08.bvh", "cc", "walk"),
    ("cmu_07_12", "iclone", "All_BVH/subjects/007/007_12.bvh", "cc", "brisk walk"),
    ("cmu_131_01", "bvh11", "resources/131_01.bvh", "cmu_max", "Start Walk Stop"),
    ("cmu_131_02", "bvh11", "resources/131_02.bvh", "cmu_max", "Start Walk Stop"),
]

RIG_UNIT_M = {"cmu_max": CMU_UNIT_M, "cc": 0.01}


@dataclass
class Joint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list[str]
    col: int  # first column of its channels in the motion rows


def parse_bvh(text: str) -> tuple[list[Joint], float, np.ndarray]:
    tok = text.split()
    i = 0
    joints: list[Joint] = []
    stack: list[int] = []
    col = 0
    pending: Joint | None = None
    if tok[0] != "HIERARCHY":
        raise ValueError("not a BVH file")
    i = 1
    while tok[i] != "MOTION":
        t = tok[i]
        if t in ("ROOT", "JOINT"):
            pending = Joint(tok[i + 1], stack[-1] if stack else -1, np.zeros(3), [], col)
            i += 2
        elif t == "End":
            parent = stack[-1]
            pending = Joint(joints[parent].name + "_End", parent, np.zeros(3), [], col)
            i += 2
        elif t == "{":
            joints.append(pending)
            stack.append(len(joints) - 1)
            i += 1
        elif t == "}":
            stack.pop()
            i += 1
        elif t == "OFFSET":
            pending.offset = np.array([float(v) for v in tok[i + 1 : i + 4]])
            i += 4
        elif t == "CHANNELS":
            n = int(tok[i + 1])
            pending.channels = tok[i + 2 : i + 2 + n]
            pending.col = col
            col += n
            i += 2 + n
        else:
            raise ValueError(f"unexpected token {t!r}")
    # MOTION / Frames: N / Frame Time: dt
    i += 1
    if tok[i] != "Frames:":
        raise ValueError("missing Frames:")
    n_frames = int(tok[i + 1])
    if tok[i + 2] != "Frame" or tok[i + 3] != "Time:":
        raise ValueError("missing Frame Time:")
    dt = float(tok[i + 4])
    vals = np.array(tok[i + 5 :], dtype=np.float64)
    if vals.size != n_frames * col:
        raise ValueError(f"motion has {vals.size} values, expected {n_frames} x {col}")
    return joints, dt, vals.reshape(n_frames, col)


def axis_rot(axis: str, deg: np.ndarray) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    if axis == "X":
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "Y":
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def forward_kinematics(joints: list[Joint], motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global positions [F, J, 3] and rotations [F, J, 3, 3] (BVH convention: v_parent = R_local v + t)."""
    f = motion.shape[0]
    pos = np.zeros((f, len(joints), 3))
    rot = np.zeros((f, len(joints), 3, 3))
    for j, jt in enumerate(joints):
        r = np.broadcast_to(np.eye(3), (f, 3, 3)).copy()
        t = np.broadcast_to(jt.offset, (f, 3)).copy()
        for k, ch in enumerate(jt.channels):
            v = motion[:, jt.col + k]
            if ch.endswith("rotation"):
                r = r @ axis_rot(ch[0].upper(), v)
            elif ch.endswith("position"):
                t[:, "XYZ".index(ch[0].upper())] += v
        if jt.parent < 0:
            pos[:, j] = t
            rot[:, j] = r
        else:
            pr = rot[:, jt.parent]
            pos[:, j] = pos[:, jt.parent] + np.einsum("fij,fj->fi", pr, t)
            rot[:, j] = pr @ r
    return pos, rot


def convert_clip(mirror: Mirror, path: str, rig: str) -> tuple[np.ndarray, np.ndarray, dict]:
    raw = mirror.show(path)
    joints, dt, motion = parse_bvh(raw.decode())
    names = [j.name for j in joints]
    jm = JOINT_MAPS[rig]
    idx = {n: i for i, n in enumerate(names)}
    unit = RIG_UNIT_M[rig]

    pos, rot = forward_kinematics(joints, motion)
    pos = pos * unit
    # Drop leading frames that jump (a reference/T pose prepended by some conversions).
    step = np.abs(np.diff(pos, axis=0)).max(axis=(1, 2))
    first = 0
    while first < len(step) and step[first] > 0.15:
        first += 1
    pos, rot = pos[first:], rot[first:]
    n = pos.shape[0]

    # Up axis of the file: direction of head minus hips over the clip. The rigs' zero-rotation
    # poses are not all neutral standing poses, so the animated frames decide.
    h = idx[jm["head"]]
    hips = 0.5 * (pos[:, idx[jm["left_hip"]]] + pos[:, idx[jm["right_hip"]]])
    up_vec = np.median(pos[:, h] - hips, axis=0)
    up_axis = int(np.argmax(np.abs(up_vec)))
    if up_vec[up_axis] <= 0:
        raise SystemExit(f"{path}: head below hips")
    # rotation taking the file's up axis to +z (proper rotation, handedness kept)
    to_zup = {2: np.eye(3), 1: np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])}.get(up_axis)
    if to_zup is None:
        raise SystemExit(f"{path}: x-up files are not supported")
    pos = pos @ to_zup.T
    rot = np.einsum("ij,fkjl->fkil", to_zup, rot)
    hips = hips @ to_zup.T

    kp = np.zeros((n, 17, 3))
    for k, name in enumerate(KEYPOINTS):
        if name in jm:
            kp[:, k] = pos[:, idx[jm[name]]]

    # Head frame for the face points: the head joint's axes in its own local frame are calibrated
    # once per clip as the average (over frames) of the body's forward/up directions seen from the
    # head joint; per frame they are then carried by the head joint's global rotation, so head
    # turns and nods move the face points.
    up = np.array([0.0, 0.0, 1.0])
    left_body = (kp[:, 11] - kp[:, 12]) + (kp[:, 5] - kp[:, 6])
    left_body[:, 2] = 0.0
    left_body /= np.linalg.norm(left_body, axis=1, keepdims=True)
    fwd_body = np.cross(left_body, up)
    hr = rot[:, h]
    fwd_local = np.einsum("fji,fj->fi", hr, fwd_body).mean(axis=0)
    up_local = np.einsum("fji,fj->fi", hr, np.broadcast_to(up, fwd_body.shape)).mean(axis=0)
    up_local /= np.linalg.norm(up_local)
    fwd_local -= up_local * (fwd_local @ up_local)
    fwd_local /= np.linalg.norm(fwd_local)
    left_local = np.cross(up_local, fwd_local)
    axes = np.stack([hr @ fwd_local, hr @ left_local, hr @ up_local], axis=1)  # [F, (fwd,left,up), 3]
    for name, off in FACE_OFFSETS_M.items():
        kp[:, KEYPOINTS.index(name)] = pos[:, h] + np.einsum("a,fai->fi", np.array(off), axes)

    # floor: the rigs' foot joints are not at the sole (the CC toe joints sit ~5 cm above it), so the
    # floor is put ANKLE_HEIGHT_M below the 5th percentile of the lower ankle per frame (stance).
    low_ankle = np.minimum(pos[:, idx[jm["left_ankle"]], 2], pos[:, idx[jm["right_ankle"]], 2])
    floor = float(np.percentile(low_ankle, 5)) - ANKLE_HEIGHT_M
    kp[:, :, 2] -= floor
    # horizontal origin: torso (hip midpoint) of the first frame
    torso0 = 0.5 * (kp[0, 11] + kp[0, 12])
    kp[:, :, 0] -= torso0[0]
    kp[:, :, 1] -= torso0[1]

    # resample to the model rate by linear interpolation
    t_src = np.arange(n) * dt
    t_out = np.arange(0.0, t_src[-1] + 1e-9, 1.0 / MODEL_RATE_HZ)
    out = np.empty((len(t_out), 17, 3))
    for k in range(17):
        for c in range(3):
            out[:, k, c] = np.interp(t_out, t_src, kp[:, k, c])

    # checks: body size, left/right not mirrored
    head_h = float(np.median(pos[:, h, 2]) - floor)
    leg = float(np.median(np.linalg.norm(pos[:, idx[jm["left_hip"]]] - pos[:, idx[jm["left_knee"]]], axis=1)
                          + np.linalg.norm(pos[:, idx[jm["left_knee"]]] - pos[:, idx[jm["left_ankle"]]], axis=1)))
    torso = 0.5 * (out[:, 11] + out[:, 12])
    vel = np.gradient(torso[:, :2], 1.0 / MODEL_RATE_HZ, axis=0)
    speed = np.hypot(vel[:, 0], vel[:, 1])
    moving = speed > 0.8
    lr = out[:, 11, :2] - out[:, 12, :2]
    # walking forward, the left hip is on the left: left = up x forward = (-v_y, v_x)
    side = (lr[:, 0] * -vel[:, 1] + lr[:, 1] * vel[:, 0])[moving]
    # checked on clips with at least 1 s of walking (others may side-step or walk backwards)
    checked = int(moving.sum()) >= MODEL_RATE_HZ
    mirrored_fraction = float(np.mean(side < 0)) if checked else 0.0
    nose_fwd = np.einsum("fi,fi->f", (out[:, 0, :2] - 0.5 * (out[:, 3, :2] + out[:, 4, :2])), vel)[moving]
    meta = {
        "source_frame_time_s": dt,
        "source_frames_used": n,
        "dropped_leading_frames": first,
        "unit_m": unit,
        "up_axis_in_file": "XYZ"[up_axis],
        "head_joint_height_m": round(head_h, 3),
        "leg_length_m": round(leg, 3),
        "frames": int(len(t_out)),
        "duration_s": round(float(t_out[-1]), 3),
        "median_torso_speed_mps": round(float(np.median(speed)), 3),
        "p95_torso_speed_mps": round(float(np.percentile(speed, 95)), 3),
        "path_length_m": round(float(np.sum(np.hypot(*np.diff(torso[:, :2], axis=0).T))), 3),
        "sha256_source": hashlib.sha256(raw).hexdigest(),
        "left_right_check": "walking frames: left hip on the left" if checked else "not checked (under 1 s above 0.8 m/s)",
    }
    if not (1.25 <= head_h <= 1.85 and 0.7 <= leg <= 1.1):
        raise SystemExit(f"{path}: implausible body size (head joint {head_h:.2f} m, leg {leg:.2f} m): wrong unit?")
    if mirrored_fraction > 0.2:
        raise SystemExit(f"{path}: left/right look mirrored ({mirrored_fraction:.2f} of moving frames)")
    if checked and np.mean(nose_fwd < 0) > 0.2:
        raise SystemExit(f"{path}: face points behind the head while walking")
    return t_out, out, meta


def convert_mocap(mirrors: dict[str, Mirror], out_dir: str) -> dict:
    os.makedirs(os.path.join(out_dir, "mocap"), exist_ok=True)
    index = {}
    for name, src, path, rig, desc in CLIPS:
        t, kp, meta = convert_clip(mirrors[src], path, rig)
        header = "t_s," + ",".join(f"{k}_{c}" for k in KEYPOINTS for c in "xyz")
        lines = [header]
        flat = kp.reshape(len(t), -1)
        for tt, row in zip(t, flat):
            lines.append(fmt(tt, 4) + "," + ",".join(fmt(v, 4) for v in row))
        write_gz(os.path.join(out_dir, "mocap", f"{name}.csv.gz"), ("\n".join(lines) + "\n").encode())
        index[name] = {
            "file": f"mocap/{name}.csv.gz",
            "source_repo": SOURCES[src]["repo"],
            "source_commit": SOURCES[src]["commit"],
            "source_path": path,
            "rig": rig,
            "description": desc,
        } | meta
        print(f"  {name}: {meta['duration_s']:.1f} s, head joint {meta['head_joint_height_m']:.2f} m, leg {meta['leg_length_m']:.2f} m, "
              f"median speed {meta['median_torso_speed_mps']:.2f} m/s ({desc})")
    write_json(os.path.join(out_dir, "mocap", "index.json"), {
        "rate_hz": MODEL_RATE_HZ,
        "keypoints": KEYPOINTS,
        "face_offsets_m_forward_left_up": FACE_OFFSETS_M,
        "joint_maps": {r: {k: v for k, v in m.items()} for r, m in JOINT_MAPS.items()},
        "clips": index,
    })
    return index


# --------------------------------------------------------------------------------------------
# Output utilities
# --------------------------------------------------------------------------------------------


def fmt(v: float, nd: int) -> str:
    s = f"{v:.{nd}f}"
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s


def write_gz(path: str, data: bytes) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as g:
        g.write(data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def write_json(path: str, obj: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def find_mirrors(args: argparse.Namespace) -> dict[str, Mirror]:
    base = args.mirrors or os.environ.get("REAL_DATA_MIRRORS")
    out = {}
    for key, src in SOURCES.items():
        given = getattr(args, key)
        if given is None:
            if base is None:
                raise SystemExit(f"no mirror for {src['repo']}: give --mirrors DIR or {src['flag']} GIT_DIR")
            given = os.path.join(base, src["repo"].replace("/", "+"), "repo")
        if not os.path.isdir(given):
            raise SystemExit(f"mirror of {src['repo']} not found at {given}")
        out[key] = Mirror(key, given, src["commit"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", help="folder with <owner>+<name>/repo bare mirrors (default: $REAL_DATA_MIRRORS)")
    for key, src in SOURCES.items():
        ap.add_argument(src["flag"], dest=key, help=f"bare git dir of {src['repo']}")
    ap.add_argument("--out", default="data", help="output folder (default: data)")
    args = ap.parse_args()
    mirrors = find_mirrors(args)
    print("ETH/UCY ...")
    info = convert_ethucy(mirrors["trajectron"], mirrors["opentraj"], args.out)
    for rec, r in info["recordings"].items():
        print(f"  {rec}: {r['tracks']} tracks, {r['rows']} rows, median speed {r['median_speed_mps']:.2f} m/s "
              f"(moving {r['median_speed_moving_mps']:.2f})")
    print("  eth time base:", info["eth_time_base"], info["eth_benchmark_check"])
    print("mocap ...")
    convert_mocap(mirrors, args.out)
    write_json(os.path.join(args.out, "conversion_summary.json"), {
        "sources": {k: {"repo": v["repo"], "commit": v["commit"]} for k, v in SOURCES.items()},
        "ethucy": {
            "recordings": {r: {k: v for k, v in d.items() if k != "file"} for r, d in info["recordings"].items()},
            "eth_time_base": info["eth_time_base"],
            "eth_benchmark_vs_obsmat": info["eth_benchmark_check"],
        },
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
