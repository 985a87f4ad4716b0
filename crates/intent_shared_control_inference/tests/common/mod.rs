//! Shared helpers of the integration tests: where the ONNX Runtime library and the fixtures are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use intent_shared_control_core::model::ModelCard;
use intent_shared_control_inference::{sha256_hex, OrtRuntime};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file in `<workspace>/tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures").join(name)
}

/// The ONNX Runtime library: the inference crate's `default_ort_library` (`$ISC_ORT_LIB`, else
/// `<workspace>/.setup/onnxruntime/lib/libonnxruntime.so.1.31.1`). Panics with instructions when that is not a
/// file: these tests need the real library and never skip.
pub fn ort_library() -> PathBuf {
    let candidate = intent_shared_control_inference::default_ort_library();
    assert!(
        candidate.is_file(),
        "ONNX Runtime library not found at `{}`: run scripts/setup.sh (it installs it under .setup/) or set \
         ISC_ORT_LIB to a libonnxruntime.so.1.31.x",
        candidate.display()
    );
    candidate
}

/// The process's runtime, initialised from [`ort_library`].
pub fn runtime() -> OrtRuntime {
    OrtRuntime::init(&ort_library()).unwrap_or_else(|e| panic!("loading ONNX Runtime: {e}"))
}

/// The tiny fixture card.
pub fn tiny_card() -> ModelCard {
    intent_shared_control_inference::load_card(&fixture("model_tiny.card.json")).expect("fixture card loads")
}

/// The tiny card with `sha256` set to that of `bytes`, so that a test reaches the check after the hash.
pub fn card_for_bytes(bytes: &[u8]) -> ModelCard {
    let mut card = tiny_card();
    card.sha256 = sha256_hex(bytes);
    card
}

/// Reads `len` little-endian f32 values from a fixture file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert_eq!(bytes.len() % 4, 0, "{} is not a float32 file", path.display());
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// A scratch directory for this test binary.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
