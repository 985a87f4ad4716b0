#!/usr/bin/env python3
"""Leave-one-scene-out summary: from each fold's evaluate_real report (<out-dir>/<scene>/real_data.json, a model
trained without that scene), keep the held-out scene's results and pool them; with --compare, put another
model's evaluate_real report beside them (e.g. a model trained on the scenario generator only, judged on the
same inputs); with --previous, an earlier recipe's leave-one-scene-out summary (this script's JSON) beside them
too. Writes <report>.json and <report>.md. Standard library only.

    training/loso_summary.py --out-dir out/loso --report reports/real_data_loso \
        [--compare OTHER.json --compare-label "0.2.0 (synthetic only)"] \
        [--previous OLD_LOSO.json --previous-label "0.3.0"] eth hotel univ zara1 zara2
    training/loso_summary.py --report reports/real_data_loso --render-only   # the .md again from the .json
"""
import argparse
import json
import math
from pathlib import Path

BANDS = ["standing", "slow", "normal", "fast"]
GEOMETRIES = ["standing", "toward", "passing", "away"]
STEP_S = 0.1  # the forecast's look-ahead step (the card's output rate, 10 Hz)
MOCAP_ERRORS = ["torso, ground plane", "torso, 3-D", "wrists, ground plane", "wrists, 3-D"]


def ratio(errors: dict, baseline: int) -> float:
    if not errors["windows"]:
        return math.nan
    return errors["ade"][0] / errors["ade"][baseline]


def scene_row(report: dict, scene: str) -> dict:
    s = next(x for x in report["scenes"] if x["scene"] == scene)
    b = s["baseline"]
    return {
        "scene": scene,
        "windows": s["test"]["windows"],
        "model_ade": s["test"]["ade"][0],
        "model_fde": s["test"]["fde"][0],
        "baseline": b,
        "baseline_ade": s["test"]["ade"][b],
        "baseline_fde": s["test"]["fde"][b],
        "ratio_ade": ratio(s["test"], b),
        "by_band": [ratio(e, b) for e in s["by_band"]],
        "band_windows": [e["windows"] for e in s["by_band"]],
        "by_geometry": [ratio(e, b) for e in s["by_geometry"]],
        "starting": ratio(s["starting"], b),
        "ece": s["calibration"]["ece"],
        "ece_calibrated": s["calibration"]["ece_calibrated"],
        "accuracy": s["calibration"]["accuracy"],
        "label_changes_outside_true_changes": s["calibration"]["changes_outside_true_changes"],
        # Absent from summaries made before settled pairs were counted.
        "delayed_shown_changes": s["calibration"].get("delayed_shown_changes", math.nan),
        "label_changes_where_settled": s["calibration"].get("changes_where_settled", math.nan),
        "bound_model_m": s["bound_model_m"],
        "step_model_m": s["test"]["step"][0],
        "step_baseline_m": s["test"]["step"][b],
        "reliability": s["calibration"]["reliability"],
    }


def pooled(rows: list[dict]) -> float:
    n = sum(r["windows"] for r in rows)
    return sum(r["model_ade"] * r["windows"] for r in rows) / sum(r["baseline_ade"] * r["windows"] for r in rows) if n else math.nan


def previous_row(old: dict, new: dict) -> dict:
    """An earlier recipe's fold beside this one. Both are judged on the same held-out windows; when the earlier
    summary's best baseline was another (an older evaluation's baselines), its model ADE is put over this
    evaluation's best baseline instead ("rebased"), and its band and geometry ratios, which cannot be, are left out."""
    if old["windows"] != new["windows"]:
        raise SystemExit(f"--previous: {new['scene']} has {old['windows']} windows there, {new['windows']} here")
    same = old["baseline"] == new["baseline"] and math.isclose(old["baseline_ade"], new["baseline_ade"], rel_tol=1e-9)
    row = {"scene": new["scene"], "windows": new["windows"], "model_ade": old["model_ade"],
           "baseline_ade": new["baseline_ade"], "ratio_ade": old["model_ade"] / new["baseline_ade"],
           "rebased": not same}
    for k in ("by_band", "by_geometry", "starting"):
        row[k] = old[k] if same else None
    return row


def mocap_held_out(report: dict) -> dict:
    m = report["mocap"]
    held = m["pooled"][-1]
    return {
        "windows": held["windows"],
        "ratio": {name: held["ade"][0][e] / held["ade"][m["baseline"][e]][e] for e, name in enumerate(MOCAP_ERRORS)},
    }


def band_table(rows: list[dict]) -> list[str]:
    """Markdown rows of model ÷ best baseline by speed band and geometry, one per scene."""
    out = ["| scene | " + " | ".join(BANDS) + " | toward | passing | away | starting |",
           "|---|" + "---:|" * (len(BANDS) + 4)]
    for r in rows:
        out.append(f"| {r['scene']} | " + " | ".join(fmt(x) for x in r["by_band"]) + " | "
                   + " | ".join(fmt(x) for x in r["by_geometry"][1:]) + f" | {fmt(r['starting'])} |")
    return out


def fmt(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def render_md(out: dict) -> str:
    """The markdown report of a summary (as written to the JSON)."""
    folds = out["folds"]
    shipped_rows = out["compare"]["folds"] if out["compare"] else []
    label = out["compare"]["label"] if out["compare"] else ""
    prev = out.get("previous")
    prev_rows = {r["scene"]: r for r in prev["folds"]} if prev else {}
    md = ["# Leave-one-scene-out: the intent model trained on real + synthetic data\n",
          f"{out['method']}. Input: {out['input']}.\n",
          "Torso ADE at 1 s in the ground plane on each held-out scene, model ÷ the best baseline chosen on the "
          "fold's validation split (`reports/real_data_model.md` explains the baselines)"
          + (f"; beside it {label}: {out['compare']['model']}, same inputs" if shipped_rows else "")
          + (f"; and {prev['label']}: {prev['model']}, its own leave-one-scene-out folds" if prev else "") + ".\n",
          "| held-out scene | windows | model ADE / FDE [m] | best baseline ADE / FDE [m] | model ÷ best | "
          + (f"{prev['label']} ÷ best | " if prev else "")
          + (f"{label} ÷ best" if shipped_rows else "–") + " | ECE (calibrated) | label changes outside shown changes (the shown intent 0.4 s late) "
          "| label changes in settled pairs |",
          "|---|---:|---:|---:|---:|" + ("---:|" if prev else "") + "---:|---:|---:|---:|"]
    for i, r in enumerate(folds):
        sh = shipped_rows[i]["ratio_ade"] if shipped_rows else math.nan
        pr = f"{fmt(prev_rows[r['scene']]['ratio_ade'])} | " if prev else ""
        md.append(f"| {r['scene']} | {r['windows']} | {r['model_ade']:.3f} / {r['model_fde']:.3f} | "
                  f"{r['baseline_ade']:.3f} / {r['baseline_fde']:.3f} | {fmt(r['ratio_ade'])} | {pr}{fmt(sh)} | "
                  f"{r['ece']:.3f} ({r['ece_calibrated']:.3f}) | {100 * r['label_changes_outside_true_changes']:.1f} % "
                  f"({100 * r['delayed_shown_changes']:.1f} %) | {100 * r['label_changes_where_settled']:.1f} % |")
    sp = out["compare"]["pooled_ratio_ade"] if shipped_rows else math.nan
    pp = f"{fmt(prev['pooled_ratio_ade'])} | " if prev else ""
    md.append(f"| **pooled** | {sum(r['windows'] for r in folds)} | | | **{fmt(out['pooled_ratio_ade'])}** | {pp}{fmt(sp)} | | | |\n")
    md.append("Targets: ≤ 0.85 pooled, ≤ 1.0 on every scene and speed band; ECE ≤ 0.05; label changes ≤ 5 % outside "
              "true intent changes: settled pairs, whose shown intent is the same from 1.2 s before the first window "
              "to 1.2 s after the second (the shown intent is judged from 1 s before to 1 s after a window, so it "
              "changes before the motion that changes it can be seen; a forecaster's label follows later, and in "
              "pairs that merely share their own two shown intents even the shown intent delayed by one window "
              "scores the bracketed share; `reports/real_data_model.md`).\n")
    md.append("Plots (training/plot_loso.py): per scene `real_data_loso_scenes.svg`, error by look-ahead "
              "`real_data_loso_lookahead.svg`, reliability of the intent confidence `real_data_loso_reliability.svg`.\n")
    md.append("## Model ÷ best baseline by speed band and geometry (held-out scene)\n")
    md += band_table(folds)
    if prev and not prev.get("rebased"):
        md.append(f"\n{prev['label']}, the same table:\n")
        md += band_table([prev_rows[r["scene"]] for r in folds])
    elif prev:
        md.append(f"\n{prev['label']}'s folds were judged against an earlier evaluation's baselines: above, their "
                  "model ADE is put over this evaluation's best baseline on the same windows; their band and "
                  "geometry table is in the report of that evaluation.")
    md.append("\n## Motion capture, clips outside the gait library (model ÷ best baseline ADE)\n")
    md.append("| fold | windows | " + " | ".join(MOCAP_ERRORS) + " |")
    md.append("|---|---:|" + "---:|" * len(MOCAP_ERRORS))
    for r in folds:
        m = r["mocap_held_out"]
        md.append(f"| {r['scene']} | {m['windows']} | " + " | ".join(fmt(m["ratio"][e]) for e in MOCAP_ERRORS) + " |")
    md.append("\n## Forecast error bound on the held-out scene\n")
    md.append("Per look-ahead step, the 99.9 % quantile of how much closer to the robot the real person came than the "
              "fold's model forecast, on the held-out scene's validation split (`evaluate_real`, split conformal; "
              "the shipped card's bound comes from validation parts the shipped model saw in early stopping, so "
              "these are the held-out ones) [m].\n")
    steps = len(folds[0]["bound_model_m"]) if folds else 0
    md.append("| held-out scene | " + " | ".join(f"{(k + 1) * STEP_S:.1f} s" for k in range(steps)) + " |")
    md.append("|---|" + "---:|" * steps)
    for r in folds:
        md.append(f"| {r['scene']} | " + " | ".join(f"{x:.3f}" for x in r["bound_model_m"]) + " |")
    if folds:
        md.append("| **largest** | " + " | ".join(f"**{max(r['bound_model_m'][k] for r in folds):.3f}**"
                                                 for k in range(steps)) + " |")
    md.append("\n## Training\n")
    md.append("| fold | epochs | seconds | validation macro-F1 (synthetic + real) | sha256 |")
    md.append("|---|---:|---:|---:|---|")
    for s, c in out["training"].items():
        md.append(f"| {s} | {c['epochs']} | {c['seconds']} | {c['validation_macro_f1']:.3f} | {c['sha256'][:12]}… |")
    md.append("")
    return "\n".join(md) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("out/loso"))
    ap.add_argument("--report", type=Path, default=Path("reports/real_data_loso"))
    ap.add_argument("--compare", type=Path, help="another model's evaluate_real JSON report, same inputs")
    ap.add_argument("--compare-label", default="other model")
    ap.add_argument("--previous", type=Path, help="an earlier recipe's leave-one-scene-out summary (this script's JSON)")
    ap.add_argument("--previous-label", default="previous recipe")
    ap.add_argument("--render-only", action="store_true",
                    help="only rewrite <report>.md from an existing <report>.json (no fold outputs needed)")
    ap.add_argument("scenes", nargs="*")
    args = ap.parse_args()
    if args.render_only:
        out = json.loads(args.report.with_suffix(".json").read_text())
        args.report.with_suffix(".md").write_text(render_md(out))
        print(f"wrote {args.report.with_suffix('.md')}")
        return
    if not args.scenes:
        ap.error("name the scenes (e.g. eth hotel univ zara1 zara2), or --render-only")

    folds, shipped_rows, cards = [], [], {}
    shipped = json.loads(args.compare.read_text()) if args.compare else None
    for scene in args.scenes:
        report = json.loads((args.out_dir / scene / "real_data.json").read_text())
        card = json.loads((args.out_dir / scene / "intent_model.card.json").read_text())
        row = scene_row(report, scene)
        row["mocap_held_out"] = mocap_held_out(report)
        folds.append(row)
        cards[scene] = {
            "epochs": card["training"]["epochs"],
            "seconds": card["training"]["seconds"],
            "sha256": card["sha256"],
            "validation_macro_f1": card["metrics"]["macro_f1"],
        }
        if shipped:
            shipped_rows.append(scene_row(shipped, scene))
    input_line = json.loads((args.out_dir / args.scenes[0] / "real_data.json").read_text()).get("input", "")
    out = {
        "method": "leave-one-scene-out: per ETH/UCY scene, a model trained on the synthetic export plus the real "
                  "windows of the other recordings (export_real_data --fold), judged on the held-out scene by "
                  "evaluate_real; training/leave_one_scene_out.sh",
        "input": input_line,
        "folds": folds,
        "pooled_ratio_ade": pooled(folds),
        "compare": {"label": args.compare_label, "model": shipped["model"], "folds": shipped_rows,
                    "pooled_ratio_ade": pooled(shipped_rows)} if shipped else None,
        "training": cards,
        "previous": None,
    }
    if args.previous:
        old = json.loads(args.previous.read_text())
        old_rows = {r["scene"]: r for r in old["folds"]}
        missing = [s for s in args.scenes if s not in old_rows]
        if missing:
            ap.error(f"--previous {args.previous} has no fold for {', '.join(missing)}")
        models = sorted({c["sha256"][:12] for c in old["training"].values()})
        new_rows = {r["scene"]: r for r in folds}
        out["previous"] = {
            "label": args.previous_label,
            "model": f"{len(models)} fold models (sha256 {', '.join(m + '…' for m in models)})",
            "folds": [previous_row(old_rows[s], new_rows[s]) for s in args.scenes],
        }
        out["previous"]["pooled_ratio_ade"] = pooled(out["previous"]["folds"])
        out["previous"]["rebased"] = any(r["rebased"] for r in out["previous"]["folds"])
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n")

    args.report.with_suffix(".md").write_text(render_md(out))
    sp = out["compare"]["pooled_ratio_ade"] if shipped else math.nan
    print(f"wrote {args.report.with_suffix('.md')}: pooled model ÷ best {out['pooled_ratio_ade']:.3f} (compared {sp:.3f})")


if __name__ == "__main__":
    main()
