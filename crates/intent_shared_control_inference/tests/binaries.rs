//! The benchmark binary runs end to end on the tiny fixture model and writes sane JSON (values are not judged:
//! the fixture model has random weights).

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
