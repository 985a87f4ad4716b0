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
