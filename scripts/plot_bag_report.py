#!/usr/bin/env python3
"""Markdown report with plots (PNG) of one offline replay (the output directory of `bag_replay`).

    python3 scripts/plot_bag_report.py REPLAY_DIR [--title NAME] [--out REPORT_DIR]

Reads REPLAY_DIR/decisions.csv and REPLAY_DIR/metrics.json; writes REPORT_DIR/README.md (default
REPLAY_DIR/report) with: separation vs required separation, user / assist / output speeds, alpha, intent
probabilities of the nearest human, and the mode timeline.
"""
import argparse
import csv
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MODES = ["idle", "manual", "assisted", "slowdown", "stop", "fault"]
INTENTS = ["idle", "pass_by", "approach_robot", "reach_handover", "retreat"]


def num(s):
    try:
        return float(s)
    except ValueError:
        return math.nan


def load(replay_dir: Path):
    rows = list(csv.DictReader((replay_dir / "decisions.csv").open()))
    metrics = json.loads((replay_dir / "metrics.json").read_text())
    t0 = num(rows[0]["t_s"]) if rows else 0.0
    for r in rows:
        r["t"] = num(r["t_s"]) - t0
    return rows, metrics


def col(rows, name):
    return [num(r[name]) for r in rows]


def plot_all(rows, out: Path):
    t = [r["t"] for r in rows]
    files = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        files.append(name)

    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(t, col(rows, "min_separation_m"), label="separation (nearest human) [m]")
    ax.plot(t, col(rows, "required_separation_m"), label="required S_p [m]")
    ax.set_xlabel("bag time [s]")
    ax.legend(loc="upper right")
    ax.grid(True, alpha=0.3)
    save(fig, "separation.png")

    fig, ax = plt.subplots(figsize=(9, 3))
    for name, label in (("user_vx", "user"), ("assist_vx", "assist"), ("blended_vx", "blended"), ("output_vx", "output")):
        ax.plot(t, col(rows, name), label=f"{label} vx [m/s]")
    ax.plot(t, col(rows, "output_wz"), label="output wz [rad/s]", linestyle=":")
    ax.set_xlabel("bag time [s]")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(True, alpha=0.3)
    save(fig, "speeds.png")

    fig, ax = plt.subplots(figsize=(9, 2.5))
    ax.plot(t, col(rows, "alpha"), label="alpha")
    ax.plot(t, col(rows, "speed_scale"), label="speed scale")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("bag time [s]")
    ax.legend(loc="upper right")
    ax.grid(True, alpha=0.3)
    save(fig, "alpha.png")

    fig, ax = plt.subplots(figsize=(9, 2.5))
    for i in INTENTS:
        ax.plot(t, col(rows, f"p_{i}"), label=i)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("bag time [s]")
    ax.set_ylabel("P(intent), nearest human")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(True, alpha=0.3)
    save(fig, "intent.png")

    fig, ax = plt.subplots(figsize=(9, 2.2))
    ax.step(t, [MODES.index(r["mode"]) for r in rows], where="post")
    ax.set_yticks(range(len(MODES)), MODES)
    ax.set_xlabel("bag time [s]")
    ax.grid(True, alpha=0.3)
    save(fig, "modes.png")
    return files


def report(rows, metrics, files, title):
    m = metrics["metrics"]
    th = metrics["thresholds"]
    fails = metrics["failures"]

    def mx(v):
        return f"{max(v):.3f} s" if v else "–"

    rules = m.get("stop_rules", {})

    lines = [
        f"# Bag report: {title}",
        "",
        f"Judged on: {m['judged_on']}. Decisions: {m['cycles']} over {m['duration_s']:.1f} s of bag time. "
        f"Run: {json.dumps(metrics.get('run'))}.",
        "",
        "| metric | value | threshold |",
        "|---|---|---|",
        f"| separation violation cycles | {m['violation_cycles']} | ≤ {th['violation_cycles']} |",
        f"| time to stop (to braking), max | {mx(m['time_to_stop_s'])} | ≤ {th['time_to_stop_s']:.3f} s |",
        f"| time to standstill, max | {mx(m['time_to_standstill_s'])} | ≤ v₀/braking deceleration + {th['standstill_margin_s']:.3f} s |",
        f"| hold stop | {100 * m['hold_stop_fraction']:.1f} % ({m['hold_stop_ok']}/{m['hold_stop_cycles']}) | ≥ {100 * th['hold_stop_fraction']:.0f} % |",
        f"| resume after clear, max | {mx(m['resume_s'])} | ≤ {th['resume_s']:.1f} s |",
        f"| false stops | {100 * m['false_stop_fraction']:.2f} % ({m['false_stop_cycles']}/{m['cycles']}) | ≤ {100 * th['false_stop_fraction']:.0f} % |",
        f"| held next to a person standing still while the operator asks for a motion that brings no point closer (nobody touching the robot), longest | {m.get('longest_needless_hold_s', 0.0):.2f} s | ≤ {th.get('needless_hold_s', 5.0):.1f} s |",
        "",
        "Result: " + ("all thresholds met." if not fails else "; ".join(fails) + "."),
        "",
        "Modes: " + ", ".join(f"{k} {v}" for k, v in sorted(m["mode_cycles"].items())) + ".",
        "",
        f"Stop cycles by rule: separation {rules.get('separation', 0)}, stop zone {rules.get('zone', 0)}, "
        f"other (fault, stale input, re-arm) {rules.get('other', 0)}; longest uninterrupted stop "
        f"{m.get('longest_stop_s', 0.0):.2f} s; Stop cycles the reference physics would not need: "
        f"{m.get('stops_beyond_physics', 0)}. Longest time held still while the operator asks for a motion "
        f"{m.get('longest_held_s', 0.0):.2f} s; held while someone touches the robot, longest "
        f"{m.get('longest_contact_hold_s', 0.0):.2f} s.",
        "",
    ]
    captions = {
        "separation.png": "Separation to the nearest human vs the required protective separation S_p",
        "speeds.png": "User, assist, blended and output speeds",
        "alpha.png": "Blend weight α and safety speed scale",
        "intent.png": "Intent probabilities of the nearest human",
        "modes.png": "Mode timeline",
    }
    for f in files:
        lines += [f"## {captions[f]}", "", f"![{captions[f]}]({f})", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("replay_dir", type=Path)
    ap.add_argument("--title", default=None)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    out = a.out or a.replay_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    rows, metrics = load(a.replay_dir)
    files = plot_all(rows, out)
    (out / "README.md").write_text(report(rows, metrics, files, a.title or a.replay_dir.name) + "\n")
    print(out / "README.md")


if __name__ == "__main__":
    main()
