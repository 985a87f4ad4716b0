//! Loading ONNX Runtime from a file that is not ONNX Runtime. Its own test binary (one process, one test) so
//! that no runtime is loaded yet when it runs.

mod common;

use common::{fixture, ort_library};
use intent_shared_control_inference::{InferenceError, OrtRuntime};

#[test]
fn a_file_that_is_not_onnx_runtime_is_an_error_and_is_not_remembered() {
    // An existing file that is not a shared library.
    let not_a_library = fixture("model_tiny.card.json");
    match OrtRuntime::init(&not_a_library) {
        Err(e @ InferenceError::LibraryLoad { .. }) => {
            let text = e.to_string();
            assert!(text.contains("model_tiny.card.json"), "{text}");
            if let InferenceError::LibraryLoad { cause, .. } = &e {
                assert!(cause.is_some(), "the dynamic loader's reason is kept: {text}");
            }
        }
        other => panic!("expected LibraryLoad, got {other:?}"),
    }
    assert!(OrtRuntime::current().is_none());
    // The failure is not cached: the right library still loads.
    let runtime = OrtRuntime::init(&ort_library()).expect("the real library loads after a failed attempt");
    assert!(OrtRuntime::current().is_some_and(|r| r.library() == runtime.library()));
}
