//! Parity: Rust (ort) outputs vs Python onnxruntime outputs on committed inputs, max abs diff <= 1e-5.
//!
//! A parity fixture is a manifest `tests/fixtures/<name>.json` plus raw little-endian float32 files, written by
//! `crates/intent_shared_control_inference/fixtures/make_parity_fixture.py` (the only fixture format and
//! generator; `training/run_all.sh` runs it for the shipped model). The tiny fixture model is always
//! checked; the shipped model `models/intent_model.onnx` is checked through `tests/fixtures/intent_parity*.json`
//! as soon as it exists, and its absence is a failure once the model is there.

mod common;

use std::path::{Path, PathBuf};

use common::{read_f32, runtime, workspace_root};
use intent_shared_control_core::model::{
    softmax_with_temperature, IntentModel, ModelInput, FUTURE_LEN, NUM_INTENTS, WINDOW_LEN,
};
use intent_shared_control_inference::{load_card, sha256_hex, OrtIntentModel, OrtModelConfig};
use serde::Deserialize;

/// Largest allowed |rust − python| for any output value.
const MAX_ABS_DIFF: f32 = 1e-5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Files {
    input: PathBuf,
    intent_logits: PathBuf,
    future_positions: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    model: PathBuf,
    card: PathBuf,
    /// SHA-256 of the model file the Python outputs were computed with.
    model_sha256: String,
    batch: usize,
    files: Files,
    onnxruntime_version: String,
    execution_provider: String,
    max_abs_diff: f32,
    /// Where the windows come from (free-form provenance).
    #[allow(dead_code)]
    source: serde_json::Value,
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "output lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Loads the manifest's model and compares, for the whole batch and row by row.
fn check_parity(manifest_path: &Path) {
    let root = workspace_root();
    let text = std::fs::read_to_string(manifest_path).unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let m: Manifest = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let tolerance = m.max_abs_diff.min(MAX_ABS_DIFF);
    let model_bytes = std::fs::read(root.join(&m.model)).unwrap_or_else(|e| panic!("{}: {e}", m.model.display()));
    assert_eq!(
        m.model_sha256,
        sha256_hex(&model_bytes),
        "{}: the fixture was made for another version of {}: regenerate it",
        manifest_path.display(),
        m.model.display()
    );
    let card = load_card(&root.join(&m.card)).unwrap_or_else(|e| panic!("{e}"));
    let mut model = OrtIntentModel::load(&runtime(), card.clone(), OrtModelConfig::cpu(root.join(&m.model)))
        .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));

    let input = read_f32(&root.join(&m.files.input));
    let logits = read_f32(&root.join(&m.files.intent_logits));
    let future = read_f32(&root.join(&m.files.future_positions));
    assert_eq!(input.len(), m.batch * WINDOW_LEN, "input size");
    assert_eq!(logits.len(), m.batch * NUM_INTENTS, "logits size");
    assert_eq!(future.len(), m.batch * FUTURE_LEN, "future size");

    let out = model.predict(&ModelInput::from_flat(&input).expect("input")).expect("predict");
    assert_eq!(out.predicted(), m.batch, "every parity row is finite and must be predicted");
    let (dl, df) = (max_abs_diff(&out.raw().logits, &logits), max_abs_diff(&out.raw().future, &future));
    eprintln!(
        "{}: batch {}, python onnxruntime {} ({}): max |diff| logits {dl:e}, future {df:e}",
        manifest_path.display(),
        m.batch,
        m.onnxruntime_version,
        m.execution_provider
    );
    assert!(dl <= tolerance, "intent_logits differ by {dl} > {tolerance}");
    assert!(df <= tolerance, "future_positions differ by {df} > {tolerance}");

    // The probabilities are softmax(python logits / temperature), and rows do not depend on the batch.
    for (r, row) in out.rows.iter().enumerate() {
        let row = row.as_ref().expect("predicted");
        let expect = softmax_with_temperature(&logits[r * NUM_INTENTS..(r + 1) * NUM_INTENTS], card.temperature_f32())
            .expect("finite logits");
        assert!(max_abs_diff(&row.probabilities, &expect) <= tolerance, "row {r} probabilities");
        let single = model
            .predict(&ModelInput::from_flat(&input[r * WINDOW_LEN..(r + 1) * WINDOW_LEN]).expect("in"))
            .expect("p");
        assert!(
            max_abs_diff(&single.raw().logits, &logits[r * NUM_INTENTS..(r + 1) * NUM_INTENTS]) <= tolerance,
            "row {r} alone"
        );
        assert!(
            max_abs_diff(&single.raw().future, &future[r * FUTURE_LEN..(r + 1) * FUTURE_LEN]) <= tolerance,
            "row {r} alone"
        );
    }
}

#[test]
fn tiny_fixture_model_matches_python_onnxruntime() {
    check_parity(&common::fixture("model_parity_tiny.json"));
}

#[test]
fn shipped_model_matches_python_onnxruntime() {
    let root = workspace_root();
    let fixtures = root.join("tests/fixtures");
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap_or_else(|e| panic!("{}: {e}", fixtures.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("intent_parity") && n.ends_with(".json"))
        })
        .collect();
    manifests.sort();
    let shipped = root.join("models/intent_model.onnx");
    if !shipped.exists() {
        assert!(manifests.is_empty(), "parity fixtures {manifests:?} exist but models/intent_model.onnx does not");
        eprintln!("models/intent_model.onnx is not there yet: only the fixture model is checked");
        return;
    }
    assert!(
        !manifests.is_empty(),
        "models/intent_model.onnx exists but has no parity fixture: run `python \
         crates/intent_shared_control_inference/fixtures/make_parity_fixture.py --model models/intent_model.onnx \
         --card models/intent_model.card.json --name intent_parity --data training/data/val` with \
         onnxruntime 1.31.1 (training/run_all.sh does)"
    );
    for manifest in &manifests {
        check_parity(manifest);
    }
}
