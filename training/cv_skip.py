"""The constant-velocity forecast of the model's optional skip (`train.py --cv-skip-s`), as one fixed linear map.

Kept apart from train.py (numpy only) so the tests can check it without the training environment.
"""
from __future__ import annotations

import numpy as np

WINDOW, FEATURES, HORIZON, POINTS = 30, 71, 10, 3
RATE_HZ, STEP_S = 30.0, 0.1
TORSO = 51  # the torso feature R·torso(t) (x, y, z); keypoint k is 3k..3k+2, R·(p_k(t) − c)
WRISTS = (9, 10)  # COCO left and right wrist, the predicted points after the torso


def line_fit_skip(fit_s: float) -> np.ndarray:
    """The fixed linear map `[WINDOW * FEATURES] -> [HORIZON * POINTS * 3]` of a constant-velocity forecast over
    the last `fit_s` of the window, in the model frame of the targets (relative to the newest torso point c).

    Torso: the least-squares line through the torso feature over the fit, evaluated at each look-ahead, minus the
    newest frame's torso (c). Wrists: that torso forecast plus the wrist's mean offset from the torso over the fit
    (an arm swinging while walking averages out; a hand held out keeps its place on the body). Each is linear in
    the window, so the whole is one Gemm."""
    frames = int(round(fit_s * RATE_HZ)) + 1
    if not 2 <= frames <= WINDOW:
        raise ValueError(f"fit over {fit_s} s: needs 2 to {WINDOW} frames of the window")
    ks = np.arange(WINDOW - frames, WINDOW)
    s = (ks - (WINDOW - 1)) / RATE_HZ
    s_mean, s_ss = s.mean(), ((s - s.mean()) ** 2).sum()
    coef = np.zeros((HORIZON, WINDOW))
    for j in range(HORIZON):
        tau = STEP_S * (j + 1)
        coef[j, ks] = 1.0 / frames + (s - s_mean) * (tau - s_mean) / s_ss  # weight of each fitted frame in the line
    return _skip_map(coef, frames)


def kalman_skip(q: float, r: float, offset_s: float) -> np.ndarray:
    """Like [`line_fit_skip`], with the torso forecast of a constant-velocity Kalman filter run over the whole window
    at 30 Hz: per ground-plane and height axis a state `[p, v]`, white-acceleration process noise of spectral density
    `q` [m²/s³], position noise `r` [m]; the first frame sets the position, the velocity starts at 0 with a
    standard deviation of 2 m/s (the evaluation's baseline, `real_eval::kalman`, started on the window). Its gains do
    not depend on the data, so the forecast is linear in the window. The wrists: that torso forecast plus the wrist's
    mean offset from the torso over the last `offset_s`."""
    if q <= 0 or r <= 0:
        raise ValueError("the Kalman skip needs a positive process noise and position noise")
    frames = int(round(offset_s * RATE_HZ)) + 1
    if not 1 <= frames <= WINDOW:
        raise ValueError(f"wrist offset over {offset_s} s: needs 1 to {WINDOW} frames of the window")
    dt = 1.0 / RATE_HZ
    # Coefficients of each frame's measurement in the filtered position and velocity.
    p, v = np.zeros(WINDOW), np.zeros(WINDOW)
    p[0] = 1.0
    cov = np.diag([r * r, 4.0])
    f = np.array([[1.0, dt], [0.0, 1.0]])
    qd = q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
    for k in range(1, WINDOW):
        p = p + dt * v
        cov = f @ cov @ f.T + qd
        gain = cov[:, 0] / (cov[0, 0] + r * r)
        innovation = -p
        innovation[k] += 1.0
        p, v = p + gain[0] * innovation, v + gain[1] * innovation
        cov = (np.eye(2) - np.outer(gain, [1.0, 0.0])) @ cov
    coef = np.stack([p + STEP_S * (j + 1) * v for j in range(HORIZON)])
    return _skip_map(coef, frames)


def _skip_map(coef: np.ndarray, offset_frames: int) -> np.ndarray:
    """The skip's matrix from `coef[j, k]`, the weight of frame k's torso feature in the torso forecast at look-ahead
    j (every axis alike): the torso forecast minus the newest frame's torso (c), and each wrist that forecast plus its
    mean offset from the torso over the last `offset_frames` frames."""
    ks = np.arange(WINDOW - offset_frames, WINDOW)
    w = np.zeros((WINDOW, FEATURES, HORIZON, POINTS, 3), dtype=np.float64)
    for j in range(HORIZON):
        for axis in range(3):
            torso = np.zeros((WINDOW, FEATURES))
            torso[:, TORSO + axis] = coef[j]
            torso[WINDOW - 1, TORSO + axis] -= 1.0  # relative to c
            w[:, :, j, 0, axis] = torso
            for point, kp in enumerate(WRISTS, start=1):
                # mean over the fit of (wrist_k − c) − (torso_k − c): the wrist feature is already relative to c,
                # the torso feature is not, so c (the newest torso feature) comes back in once
                offset = np.zeros((WINDOW, FEATURES))
                offset[ks, 3 * kp + axis] = 1.0 / offset_frames
                offset[ks, TORSO + axis] -= 1.0 / offset_frames
                offset[WINDOW - 1, TORSO + axis] += 1.0
                w[:, :, j, point, axis] = torso + offset
    return w.reshape(WINDOW * FEATURES, HORIZON * POINTS * 3).astype(np.float32)
