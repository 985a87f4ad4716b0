//! Shared helpers of the integration tests: where the ONNX Runtime library and the fixtures are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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

/// A scratch directory for this test binary.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
