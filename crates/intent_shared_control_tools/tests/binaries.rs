//! The evaluation and benchmark binaries run end to end on the tiny fixture model and write sane JSON (values
//! are not judged: the fixture model has random weights); the shipped card's `metrics` block is what the Rust evaluation
//! writes, and `--update-card` replaces only that block.

mod common;

use std::process::Command;

use common::{fixture, ort_library, scratch};

fn run(bin: &str, extra: &[&str], out: &std::path::Path) {
    let model = fixture("model_tiny.onnx");
    let card = fixture("model_tiny.card.json");
    let lib = ort_library();
    let output = Command::new(bin)
        .args(["--model", &model.to_string_lossy(), "--card", &card.to_string_lossy()])
        .args(["--ort-lib", &lib.to_string_lossy(), "--out", &out.to_string_lossy()])
        .args(extra)
        .output()
        .expect("binary starts");
    assert!(output.status.success(), "{bin} failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn evaluation_writes_a_report() {
    let out = scratch("evaluate");
    run(
        env!("CARGO_BIN_EXE_evaluate_intent"),
        &["--scenarios", "2", "--seed", "4242", "--baseline-scenarios", "2"],
        &out,
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evaluation.json")).expect("json")).expect("parses");
    let predictions = r["predictions"].as_u64().expect("predictions");
    assert!(predictions > 0);
    let confusion_total: u64 = r["confusion"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(confusion_total, predictions);
    let f1 = r["macro_f1"].as_f64().expect("macro_f1");
    assert!((0.0..=1.0).contains(&f1));
    let ece = r["ece"].as_f64().expect("ece");
    assert!((0.0..=1.0).contains(&ece));
    // The constant-velocity baseline on walking humans: finite and well under a metre on average.
    let cv = r["future"]["torso"]["constant_velocity_ade_m"].as_f64().expect("cv ade");
    assert!(cv.is_finite() && cv < 1.0, "{cv}");
    // The best simple baseline per point, chosen on the validation scenarios, and the model against it.
    let b = &r["best_baseline"];
    assert_eq!(b["validation_scenarios"].as_u64(), Some(2));
    assert_eq!(b["validation_seeds"], serde_json::json!([2_000_000, 2_000_001]));
    for point in ["torso", "left_wrist", "right_wrist"] {
        let p = &b["points"][point];
        let best = p["best"].as_str().expect("a baseline was chosen");
        assert!(intent_shared_control_tools::baselines::BASELINES.contains(&best), "{best}");
        let val = p["validation_plane_ade_m"][best].as_f64().expect("validation ade");
        let lowest = p["validation_plane_ade_m"].as_object().expect("map").values().filter_map(|v| v.as_f64());
        assert!(lowest.fold(f64::INFINITY, f64::min) >= val, "{point}: {best} is not the lowest on validation");
        assert_eq!(p["baseline_plane_ade_m"].as_f64(), p["test_plane_ade_m"][best].as_f64());
        let ratio = p["ratio_plane_ade"].as_f64().expect("ratio");
        let expected = p["model_plane_ade_m"].as_f64().expect("model") / p["baseline_plane_ade_m"].as_f64().expect("b");
        assert!((ratio - expected).abs() < 1e-12 && ratio > 0.0, "{point}: {ratio} vs {expected}");
    }
    let md = std::fs::read_to_string(out.join("evaluation.md")).expect("md");
    assert!(md.contains("macro-F1") && md.contains("Against the best simple baseline"));
}

/// The keys of `v`, recursively (`a.b.c`), with the JSON kind of each leaf; `null` leaves (a metric that was
/// empty in a run) match any kind.
fn shape(v: &serde_json::Value, prefix: &str, out: &mut Vec<(String, &'static str)>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                shape(v, &format!("{prefix}.{k}"), out);
            }
        }
        Value::Array(items) => {
            out.push((format!("{prefix}[]"), "array"));
            for (i, v) in items.iter().enumerate() {
                shape(v, &format!("{prefix}[{i}]"), out);
            }
        }
        Value::Null => out.push((prefix.into(), "null")),
        Value::Bool(_) => out.push((prefix.into(), "bool")),
        Value::Number(_) => out.push((prefix.into(), "number")),
        Value::String(_) => out.push((prefix.into(), "string")),
    }
}

fn same_structure(a: &serde_json::Value, b: &serde_json::Value) -> Result<(), String> {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    shape(a, "", &mut x);
    shape(b, "", &mut y);
    let keys = |v: &[(String, &str)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    if keys(&x) != keys(&y) {
        let only_a: Vec<_> = keys(&x).into_iter().filter(|k| !keys(&y).contains(k)).collect();
        let only_b: Vec<_> = keys(&y).into_iter().filter(|k| !keys(&x).contains(k)).collect();
        return Err(format!("keys differ: only in the first {only_a:?}, only in the second {only_b:?}"));
    }
    for ((k, ta), (_, tb)) in x.iter().zip(&y) {
        if ta != tb && *ta != "null" && *tb != "null" {
            return Err(format!("{k}: {ta} vs {tb}"));
        }
    }
    Ok(())
}

/// A tiny evaluation of the shipped model (1 scenario) writes a report with the structure of the card's
/// `metrics` block, `--update-card` puts exactly that report into a copy of the card without touching the
/// rest, and the shipped card's block comes from the Rust evaluation of the shipped model.
#[test]
fn card_metrics_are_the_rust_evaluation() {
    let root = common::workspace_root();
    let card_path = root.join("models/intent_model.card.json");
    let model_path = root.join("models/intent_model.onnx");
    let card_text = std::fs::read_to_string(&card_path).expect("shipped card");
    let card: serde_json::Value = serde_json::from_str(&card_text).expect("card json");
    let metrics = &card["metrics"];
    assert_eq!(
        metrics["source"].as_str(),
        Some(intent_shared_control_tools::card_update::RUST_EVALUATION_SOURCE),
        "the card's metrics must come from the Rust evaluation: run evaluate_intent --update-card \
         models/intent_model.card.json (docs/inference.md)"
    );
    assert_eq!(metrics["model_sha256"], card["sha256"], "metrics of another model");
    assert!(metrics["base_seed"].as_u64().is_some_and(|s| s >= 3), "held-out seeds");

    let out = scratch("card_metrics");
    let card_copy = out.join("card.json");
    std::fs::write(&card_copy, &card_text).expect("copy");
    let lib = ort_library();
    let output = Command::new(env!("CARGO_BIN_EXE_evaluate_intent"))
        .args(["--model", &model_path.to_string_lossy()])
        .args(["--card", &card_copy.to_string_lossy()])
        .args(["--ort-lib", &lib.to_string_lossy()])
        .args(["--out", &out.to_string_lossy()])
        .args(["--scenarios", "1", "--seed", "4243", "--baseline-scenarios", "1"])
        .args(["--update-card", &card_copy.to_string_lossy()])
        .output()
        .expect("binary starts");
    assert!(output.status.success(), "evaluate_intent failed: {}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evaluation.json")).expect("json")).expect("parses");
    same_structure(&report, metrics).unwrap_or_else(|e| panic!("card metrics vs evaluation: {e}"));

    let updated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&card_copy).expect("updated card")).expect("updated json");
    assert_eq!(updated["metrics"], report, "--update-card writes the report");
    let (mut a, mut b) = (card.clone(), updated);
    a.as_object_mut().expect("object").remove("metrics");
    b.as_object_mut().expect("object").remove("metrics");
    assert_eq!(a, b, "--update-card changes nothing but metrics");

    // Training/validation seeds of the card are refused.
    let refused = Command::new(env!("CARGO_BIN_EXE_evaluate_intent"))
        .args(["--model", &model_path.to_string_lossy()])
        .args(["--card", &card_path.to_string_lossy()])
        .args(["--ort-lib", &lib.to_string_lossy()])
        .args(["--out", &out.to_string_lossy(), "--scenarios", "1", "--seed", "1"])
        .output()
        .expect("binary starts");
    assert!(!refused.status.success(), "seed 1 is the training seed");
}

#[test]
fn bench_writes_a_report() {
    let out = scratch("bench");
    run(env!("CARGO_BIN_EXE_bench_intent"), &["--iters", "20", "--warmup", "2", "--rounds", "1", "--python", ""], &out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench_intent.json")).expect("json")).expect("parses");
    let batches = report["batches"].as_array().expect("batches");
    assert_eq!(batches.iter().map(|b| b["batch"].as_u64().unwrap_or(0)).collect::<Vec<_>>(), [1, 8, 64]);
    for b in batches {
        assert_eq!(b["rust_run"]["samples"].as_u64(), Some(20));
        let (p50, p99) =
            (b["rust_run"]["p50_us"].as_f64().unwrap_or(-1.0), b["rust_run"]["p99_us"].as_f64().unwrap_or(-1.0));
        assert!(p50 > 0.0 && p99 >= p50, "{b}");
        assert!(b["python_run"].is_null());
        assert_eq!(b["provider"], "cpu");
    }
    // Only `auto` with both backends loaded has a routing table.
    assert!(report["routing"].is_null());
    assert!(std::fs::read_to_string(out.join("bench_intent.md")).expect("md").contains("| 64 |"));
}
