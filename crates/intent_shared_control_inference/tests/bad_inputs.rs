//! Loading and running with bad inputs: each is a clear error or a counted rejection, never a panic.
//! Runs against the real ONNX Runtime library (see `common::ort_library`).

mod common;

use common::{card_for_bytes, fixture, ort_library, read_f32, runtime, scratch, tiny_card};
use intent_shared_control_core::model::{
    IntentModel, ModelError, ModelInput, RawOutput, RowRejection, FEATURES_PER_FRAME, WINDOW_LEN,
};
use intent_shared_control_inference::{
    ActiveProvider, ExecutionProviderKind, InferenceError, OrtIntentModel, OrtModelConfig, OrtRuntime,
};

fn load(
    card: intent_shared_control_core::model::ModelCard,
    path: std::path::PathBuf,
) -> Result<OrtIntentModel, InferenceError> {
    OrtIntentModel::load(&runtime(), card, OrtModelConfig::cpu(path))
}

fn tiny() -> OrtIntentModel {
    load(tiny_card(), fixture("model_tiny.onnx")).unwrap_or_else(|e| panic!("tiny model loads: {e}"))
}

/// The parity fixture's windows: realistic, finite.
fn windows() -> Vec<f32> {
    read_f32(&fixture("model_parity_tiny.input.f32"))
}

#[test]
fn missing_library_is_an_error() {
    let missing = scratch("lib").join("libonnxruntime.so.0.0.0");
    match OrtRuntime::init(&missing) {
        Err(InferenceError::LibraryNotFound { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected LibraryNotFound, got {other:?}"),
    }
}

#[test]
fn runtime_is_shared_and_cannot_switch_library() {
    let a = runtime();
    let b = OrtRuntime::init(&ort_library()).expect("same library again");
    assert_eq!(a.library(), b.library());
    // Another existing file: ONNX Runtime cannot be swapped inside a process.
    let other = fixture("model_tiny.onnx");
    match OrtRuntime::init(&other) {
        Err(InferenceError::LibraryMismatch { loaded, .. }) => assert_eq!(loaded, a.library()),
        other => panic!("expected LibraryMismatch, got {other:?}"),
    }
}

#[test]
fn missing_model_file_is_an_error() {
    let path = scratch("missing").join("nope.onnx");
    match load(tiny_card(), path.clone()) {
        Err(InferenceError::Read { path: p, source }) => {
            assert_eq!(p, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Read, got {other:?}"),
    }
}

#[test]
fn corrupt_models_are_errors() {
    let dir = scratch("corrupt");
    // Deterministic pseudo-random bytes (xorshift), and an empty file.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    for (name, bytes, needle) in [("random.onnx", random, "protobuf parsing failed"), ("empty.onnx", Vec::new(), "")] {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).expect("write");
        match load(card_for_bytes(&bytes), path.clone()) {
            Err(InferenceError::ModelLoad { path: p, message }) => {
                assert_eq!(p, path);
                assert!(!message.is_empty() && message.to_lowercase().contains(needle), "{name}: {message}");
            }
            other => panic!("{name}: expected ModelLoad, got {other:?}"),
        }
    }
}

#[test]
fn sha_mismatch_is_an_error() {
    let mut card = tiny_card();
    let real = card.sha256.clone();
    card.sha256 = "0".repeat(64);
    match load(card, fixture("model_tiny.onnx")) {
        Err(InferenceError::Sha256Mismatch { expected, actual, .. }) => {
            assert_eq!(expected, "0".repeat(64));
            assert_eq!(actual, real);
        }
        other => panic!("expected Sha256Mismatch, got {other:?}"),
    }
}

#[test]
fn contract_mismatches_are_errors() {
    for (file, needle) in [
        ("model_bad_dims.onnx", "axis 1 is 29, the card says 30"),
        ("model_bad_names.onnx", "no input `pose_window`"),
        ("model_bad_dtype.onnx", "is float64, the card says float32"),
        ("model_fixed_batch.onnx", "fixed at 1, the card says dynamic `batch`"),
    ] {
        let path = fixture(file);
        let bytes = std::fs::read(&path).expect("fixture");
        match load(card_for_bytes(&bytes), path) {
            Err(InferenceError::Contract { problem, .. }) => {
                assert!(problem.contains(needle), "{file}: {problem}")
            }
            other => panic!("{file}: expected Contract, got {other:?}"),
        }
    }
}

#[test]
fn auto_returns_the_models_own_errors() {
    // `auto` falls back to CPU only for CUDA problems; a model that breaks the contract fails as on `cpu`.
    let path = fixture("model_bad_dims.onnx");
    let bytes = std::fs::read(&path).expect("fixture");
    let config = OrtModelConfig { execution_provider: ExecutionProviderKind::Auto, ..OrtModelConfig::cpu(path) };
    match OrtIntentModel::load(&runtime(), card_for_bytes(&bytes), config) {
        Err(InferenceError::Contract { problem, .. }) => {
            assert!(problem.contains("axis 1 is 29, the card says 30"), "{problem}")
        }
        other => panic!("expected Contract, got {other:?}"),
    }
}

#[test]
fn invalid_card_and_config_are_errors() {
    let mut card = tiny_card();
    card.window = 31;
    assert!(matches!(load(card, fixture("model_tiny.onnx")), Err(InferenceError::Card { .. })));

    let bad_card = scratch("card").join("bad.card.json");
    std::fs::write(&bad_card, r#"{"name": "x"}"#).expect("write");
    match intent_shared_control_inference::load_card(&bad_card) {
        Err(e @ InferenceError::Card { .. }) => {
            assert!(e.to_string().contains("missing field"), "{e}")
        }
        other => panic!("expected Card, got {other:?}"),
    }

    for config in [
        OrtModelConfig { intra_threads: 0, ..OrtModelConfig::cpu(fixture("model_tiny.onnx")) },
        OrtModelConfig { max_batch: 0, ..OrtModelConfig::cpu(fixture("model_tiny.onnx")) },
        OrtModelConfig { cuda_buckets: vec![8, 1], ..OrtModelConfig::cpu(fixture("model_tiny.onnx")) },
    ] {
        assert!(matches!(OrtIntentModel::load(&runtime(), tiny_card(), config), Err(InferenceError::Config { .. })));
    }
}

#[test]
fn non_finite_windows_are_rejected_per_row_and_never_run() {
    let mut model = tiny();
    let w = windows();
    let (a, b) = (&w[..WINDOW_LEN], &w[WINDOW_LEN..2 * WINDOW_LEN]);
    let mut nan = a.to_vec();
    nan[5 * FEATURES_PER_FRAME + 2] = f32::NAN;
    let mut inf = b.to_vec();
    inf[0] = f32::INFINITY;

    let mut input = ModelInput::new();
    for row in [a, &nan, b, &inf] {
        input.push_window(row).expect("right length");
    }
    let out = model.predict(&input).expect("predict");
    assert_eq!((out.predicted(), out.rejected_non_finite_input()), (2, 2));
    assert_eq!(out.rows[1], Err(RowRejection::NonFiniteInput { frame: 5, feature: 2 }));
    assert_eq!(out.rows[3], Err(RowRejection::NonFiniteInput { frame: 0, feature: 0 }));

    // The valid rows get exactly what they get without the rejected ones in the batch.
    let alone = model.predict(&ModelInput::from_flat(&w[..2 * WINDOW_LEN]).expect("input")).expect("predict");
    assert_eq!(out.rows[0], alone.rows[0]);
    assert_eq!(out.rows[2], alone.rows[1]);

    // Only rejected rows, or none: the model is not run (a batch of 0 would abort ONNX Runtime's GRU).
    let all_bad = model.predict(&ModelInput::from_flat(&[nan.clone(), inf.clone()].concat()).expect("in")).expect("p");
    assert_eq!((all_bad.predicted(), all_bad.rejected_non_finite_input()), (0, 2));
    assert!(all_bad.raw().logits.is_empty());
    assert!(model.predict(&ModelInput::new()).expect("empty").rows.is_empty());

    // Called directly, the backend refuses an empty batch and a length mismatch.
    let mut raw = RawOutput::default();
    assert!(matches!(model.run_valid(&[], 0, &mut raw), Err(ModelError::EmptyBatch)));
    assert!(matches!(model.run_valid(a, 2, &mut raw), Err(ModelError::InputLength { .. })));
    assert!(matches!(input.push_window(&a[1..]), Err(ModelError::WindowLength { .. })));
}

#[test]
fn large_batches_are_split_without_changing_results() {
    let w = windows();
    let batch = w.len() / WINDOW_LEN;
    let mut whole = tiny();
    let mut split = OrtIntentModel::load(
        &runtime(),
        tiny_card(),
        OrtModelConfig { max_batch: 4, ..OrtModelConfig::cpu(fixture("model_tiny.onnx")) },
    )
    .expect("load");
    let input = ModelInput::from_flat(&w).expect("input");
    let a = whole.predict(&input).expect("whole");
    let b = split.predict(&input).expect("split");
    assert_eq!(a.rows.len(), batch);
    for (x, y) in a.raw().future.iter().zip(&b.raw().future) {
        assert!((x - y).abs() <= 1e-6);
    }
    for (x, y) in a.raw().logits.iter().zip(&b.raw().logits) {
        assert!((x - y).abs() <= 1e-6);
    }
}

#[test]
fn providers_are_reported() {
    let model = tiny();
    assert_eq!(model.provider().active, ActiveProvider::Cpu);
    assert_eq!(model.provider().fallback_reason, None);
    assert_eq!(model.provider().routing, None);

    // The CPU library has no CUDA provider: `cuda` fails loudly, `auto` says why it runs on CPU.
    let cuda = OrtModelConfig {
        execution_provider: ExecutionProviderKind::Cuda,
        ..OrtModelConfig::cpu(fixture("model_tiny.onnx"))
    };
    match OrtIntentModel::load(&runtime(), tiny_card(), cuda.clone()) {
        Err(InferenceError::ProviderUnavailable { provider: "cuda", message }) => assert!(!message.is_empty()),
        other => panic!("expected ProviderUnavailable, got {other:?}"),
    }
    let auto = OrtModelConfig { execution_provider: ExecutionProviderKind::Auto, ..cuda };
    let model = OrtIntentModel::load(&runtime(), tiny_card(), auto).expect("auto falls back");
    assert_eq!(model.provider().active, ActiveProvider::Cpu);
    assert_eq!(model.provider().requested, ExecutionProviderKind::Auto);
    assert!(model.provider().fallback_reason.as_deref().is_some_and(|r| !r.is_empty()));
    assert_eq!(model.provider().routing, None);
    assert_eq!(model.provider().provider_for(64), ActiveProvider::Cpu);
    assert_eq!(model.provider().summary(), "cpu");
    assert_eq!(model.info().provider, "cpu");
}
