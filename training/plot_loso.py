#!/usr/bin/env python3
"""Plots of the leave-one-scene-out summary (training/loso_summary.py's JSON): model ÷ best baseline per held-out
scene (with the compared model beside it), the torso error by look-ahead, and the reliability diagram of the
intent confidence against the intents geometry shows. Needs matplotlib (the project's environment from
scripts/setup.sh has it):

    .setup/venv/bin/python training/plot_loso.py reports/real_data_loso.json
writes reports/real_data_loso_{scenes,lookahead,reliability}.svg beside the JSON.
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "intent_shared_control"  # stable ids: the same data give the same file


def save(fig, ax, path: str, title: str, legend_size: int, **legend) -> None:
    ax.set_title(title)
    ax.legend(fontsize=legend_size, **legend)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("summary", type=Path)
    args = ap.parse_args()
    r = json.loads(args.summary.read_text())
    stem = args.summary.with_suffix("")
    folds = r["folds"]
    scenes = [f["scene"] for f in folds] + ["pooled"]
    loso = [f["ratio_ade"] for f in folds] + [r["pooled_ratio_ade"]]

    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = range(len(scenes))
    width = 0.38 if r.get("compare") else 0.7
    ax.bar([i - (width / 2 if r.get("compare") else 0) for i in x], loso, width, label="trained without the scene")
    if r.get("compare"):
        other = [f["ratio_ade"] for f in r["compare"]["folds"]] + [r["compare"]["pooled_ratio_ade"]]
        ax.bar([i + width / 2 for i in x], other, width, label=r["compare"]["label"])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(0.85, color="grey", linewidth=0.8, linestyle="--", label="target (pooled) 0.85")
    ax.set_xticks(list(x), scenes)
    ax.set_ylabel("torso ADE, model ÷ best baseline")
    save(fig, ax, f"{stem}_scenes.svg", "Held-out ETH/UCY scenes (leave one scene out)", 8)

    fig, ax = plt.subplots(figsize=(7, 3.6))
    steps = [0.1 * (k + 1) for k in range(len(folds[0]["step_model_m"]))]
    for f in folds:
        line = ax.plot(steps, f["step_model_m"], label=f"{f['scene']} model")[0]
        ax.plot(steps, f["step_baseline_m"], linestyle="--", color=line.get_color(), label=f"{f['scene']} best baseline")
    ax.set_xlabel("look-ahead [s]")
    ax.set_ylabel("torso error, ground plane [m]")
    save(fig, ax, f"{stem}_lookahead.svg", "Error by look-ahead on the held-out scene", 7, ncol=2)

    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8)
    for f in folds:
        bins = [b for b in f["reliability"] if b["count"] > 0]
        ax.plot([b["mean_confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label=f["scene"])
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy against the intent geometry shows")
    save(fig, ax, f"{stem}_reliability.svg", "Reliability on the held-out scene", 8)
    print(f"wrote {stem}_{{scenes,lookahead,reliability}}.svg")


if __name__ == "__main__":
    main()
