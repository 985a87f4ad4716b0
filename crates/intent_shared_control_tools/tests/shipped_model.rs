//! The shipped model, its card and the parity fixtures agree with each other and with the tensor contract.

use std::path::{Path, PathBuf};

use intent_shared_control_core::model::{ModelCard, FEATURES_PER_FRAME, HORIZON_STEPS, NUM_INTENTS, WINDOW_FRAMES};
use sha2::{Digest, Sha256};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Little-endian float32 values of a raw fixture file.
fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = read(path);
    assert_eq!(bytes.len() % 4, 0, "{} is not a float32 file", path.display());
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[test]
fn card_matches_contract_and_onnx_file() {
    let models = repo_root().join("models");
    let text = String::from_utf8(read(&models.join("intent_model.card.json"))).expect("utf-8");
    let card = ModelCard::from_json_str(&text).expect("card valid against the contract");
    let onnx = read(&models.join(&card.onnx_file));
    assert_eq!(card.sha256, sha256_hex(&onnx), "card sha256 vs the ONNX file");
    assert!(onnx.len() <= 1024 * 1024, "model is {} bytes (budget 1 MB)", onnx.len());
    assert!(card.metrics.is_object(), "metrics block present");
}

/// The shipped model's parity fixture (format and generator:
/// `crates/intent_shared_control_inference/fixtures/make_parity_fixture.py`; the comparison with the Rust
/// outputs is `crates/intent_shared_control_inference/tests/parity.rs`) was made from this model and card and
/// has the contract's shapes.
#[test]
fn parity_fixture_belongs_to_the_shipped_model() {
    let root = repo_root();
    let manifest: serde_json::Value =
        serde_json::from_slice(&read(&root.join("tests/fixtures/intent_parity.json"))).expect("fixture manifest json");
    assert_eq!(manifest["model"].as_str(), Some("models/intent_model.onnx"));
    assert_eq!(manifest["card"].as_str(), Some("models/intent_model.card.json"));
    let onnx = read(&root.join("models/intent_model.onnx"));
    assert_eq!(
        manifest["model_sha256"].as_str(),
        Some(sha256_hex(&onnx).as_str()),
        "regenerate the fixture (training/run_all.sh)"
    );
    assert!(manifest["max_abs_diff"].as_f64().is_some_and(|t| t > 0.0 && t <= 1e-5), "tolerance");
    let rows = manifest["batch"].as_u64().expect("batch") as usize;
    assert!(rows >= 1);
    let file =
        |key: &str| read_f32(&root.join(manifest["files"][key].as_str().unwrap_or_else(|| panic!("files.{key}"))));
    let inputs = file("input");
    assert_eq!(inputs.len(), rows * WINDOW_FRAMES * FEATURES_PER_FRAME);
    assert!(inputs.iter().all(|v| v.is_finite()));
    assert_eq!(file("intent_logits").len(), rows * NUM_INTENTS);
    assert_eq!(file("future_positions").len(), rows * HORIZON_STEPS * 3 * 3);
}
