"""The training scripts' argument handling: what they refuse before anything is exported or trained (no training
environment is needed for these; the pipelines themselves take 20-75 minutes and are run by hand)."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "training" / args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_run_all_refuses_check_with_the_walker_candidate():
    out = run("run_all.sh", "--check", "--walkers")
    assert out.returncode == 2, out
    assert "--walkers" in out.stderr


def test_run_all_sends_the_walker_candidate_to_a_scratch_directory():
    # Preflight only: it may warn or fail on this machine's disk, memory or Python, but it names the destination.
    out = run("run_all.sh", "--walkers", "--preflight")
    assert "preflight (walkers candidate)" in out.stderr, out.stderr
    assert "go to out/walkers/ (git-ignored)" in out.stderr, out.stderr


def test_leave_one_scene_out_refuses_an_unknown_scene_before_any_fold():
    for word in ("nosuch", "--walker"):
        out = run("leave_one_scene_out.sh", "--out", "out/loso-refused", word)
        assert out.returncode == 2, out
        assert f"'{word}'" in out.stderr and "eth hotel univ zara1 zara2" in out.stderr, out.stderr
    assert not (ROOT / "out" / "loso-refused").exists()
    assert not (ROOT / "training" / "data" / "real_nosuch").exists()


def test_the_constant_velocity_skip_is_the_torsos_least_squares_line_and_the_wrists_mean_offset():
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "training"))
    from cv_skip import line_fit_skip

    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 30, 71)).astype(np.float32)
    out = (x.reshape(4, -1) @ line_fit_skip(0.8)).reshape(4, 10, 3, 3)
    t = (np.arange(30) - 29) / 30.0
    fit = slice(30 - 25, 30)  # 0.8 s: 25 frames
    look = 0.1 * np.arange(1, 11)
    for n in range(4):
        for axis in range(3):
            torso = x[n, :, 51 + axis].astype(np.float64)
            slope, intercept = np.polyfit(t[fit], torso[fit], 1)
            want = intercept + slope * look - torso[-1]
            np.testing.assert_allclose(out[n, :, 0, axis], want, atol=2e-5)
            for point, col in ((1, 27), (2, 30)):
                # the wrist features are relative to the newest torso point c, the torso feature is not
                offset = (x[n, fit, col + axis] - (torso[fit] - torso[-1])).mean()
                np.testing.assert_allclose(out[n, :, point, axis], want + offset, atol=2e-5)
    # A body moving at constant velocity, arms still on it, is forecast exactly, whatever the fit length.
    v = np.array([1.2, -0.4, 0.05])
    body = np.zeros((1, 30, 71), dtype=np.float32)
    for k in range(30):
        body[0, k, 51:54] = np.array([3.0, 0.0, 0.9]) + v * t[k]
        body[0, k, 27:30] = np.array([0.1, 0.25, 0.0]) + v * t[k]
        body[0, k, 30:33] = np.array([0.1, -0.25, 0.0]) + v * t[k]
    want = np.stack([v * s for s in look])[:, None, :] + np.array([[0, 0, 0], [0.1, 0.25, 0], [0.1, -0.25, 0]])
    for fit_s in (0.2, 0.4, 29 / 30):
        exact = (body.reshape(1, -1) @ line_fit_skip(fit_s)).reshape(10, 3, 3)
        np.testing.assert_allclose(exact, want, atol=1e-5)


def test_the_kalman_skip_is_a_constant_velocity_kalman_filter_over_the_window():
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "training"))
    from cv_skip import kalman_skip

    q, r, dt = 0.25, 0.1, 1 / 30
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 30, 71)).astype(np.float32)
    out = (x.reshape(3, -1) @ kalman_skip(q, r, 0.8)).reshape(3, 10, 3, 3)
    look = 0.1 * np.arange(1, 11)
    f = np.array([[1.0, dt], [0.0, 1.0]])
    qd = q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
    h = np.array([[1.0, 0.0]])
    for n in range(3):
        for axis in range(3):
            z = x[n, :, 51 + axis].astype(np.float64)
            # The textbook filter, step by step on this window's measurements.
            state, cov = np.array([z[0], 0.0]), np.diag([r * r, 4.0])
            for k in range(1, 30):
                state, cov = f @ state, f @ cov @ f.T + qd
                gain = cov @ h.T / (h @ cov @ h.T + r * r)
                state = state + (gain * (z[k] - h @ state)).ravel()
                cov = (np.eye(2) - gain @ h) @ cov
            want = state[0] + state[1] * look - z[-1]
            np.testing.assert_allclose(out[n, :, 0, axis], want, atol=2e-5)
            fit = slice(30 - 25, 30)
            for point, col in ((1, 27), (2, 30)):
                offset = (x[n, fit, col + axis] - (z[fit] - z[-1])).mean()
                np.testing.assert_allclose(out[n, :, point, axis], want + offset, atol=2e-5)
    # Someone standing still with a hand held out is forecast where they are.
    body = np.zeros((1, 30, 71), dtype=np.float32)
    body[0, :, 51:54] = [2.0, 1.0, 0.9]
    body[0, :, 27:30] = [0.4, 0.2, 0.3]
    still = (body.reshape(1, -1) @ kalman_skip(q, r, 0.8)).reshape(10, 3, 3)
    np.testing.assert_allclose(still[:, 0], 0.0, atol=1e-5)
    np.testing.assert_allclose(still[:, 1], np.tile([0.4, 0.2, 0.3], (10, 1)), atol=1e-5)
