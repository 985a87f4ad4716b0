//! Errors of the ONNX Runtime backend.

use std::path::PathBuf;

use intent_shared_control_core::model::{CardError, ModelError};
use thiserror::Error;

/// Everything that can go wrong loading or running the ONNX model. None of these panics.
#[derive(Debug, Error)]
pub enum InferenceError {
    /// The ONNX Runtime shared library path does not exist.
    #[error("ONNX Runtime library `{path}` not found: {reason}")]
    LibraryNotFound { path: PathBuf, reason: String },
    /// The library exists but could not be loaded (not ONNX Runtime, wrong version, missing dependencies).
    #[error("loading ONNX Runtime from `{path}` failed: {message}{}", cause.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    LibraryLoad { path: PathBuf, message: String, cause: Option<String> },
    /// A different library is already loaded in this process; ONNX Runtime cannot be swapped at run time.
    #[error("ONNX Runtime is already loaded from `{loaded}` in this process; cannot switch to `{requested}`")]
    LibraryMismatch { loaded: PathBuf, requested: PathBuf },
    /// Creating the ONNX Runtime environment failed.
    #[error("creating the ONNX Runtime environment failed: {0}")]
    Environment(String),
    /// A file (model or card) could not be read.
    #[error("reading `{path}` failed: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The model card is invalid.
    #[error("model card `{path}`: {source}")]
    Card { path: PathBuf, source: CardError },
    /// The model file is not the one the card describes.
    #[error("model `{path}` has sha256 {actual}, the card says {expected}")]
    Sha256Mismatch { path: PathBuf, expected: String, actual: String },
    /// ONNX Runtime could not create a session from the file (corrupt, empty, unsupported IR version…).
    #[error("loading model `{path}` failed: {message}")]
    ModelLoad { path: PathBuf, message: String },
    /// The model's inputs/outputs do not match the card's tensor contract.
    #[error("model `{path}` does not match the card's tensor contract: {problem}")]
    Contract { path: PathBuf, problem: String },
    /// The requested execution provider could not be used.
    #[error("execution provider `{provider}` is not available: {message}")]
    ProviderUnavailable { provider: &'static str, message: String },
    /// The configuration is invalid.
    #[error("inference configuration `{field}`: {reason}")]
    Config { field: &'static str, reason: String },
    /// A run failed (warm-up or inference).
    #[error("inference failed: {0}")]
    Run(String),
}

impl From<InferenceError> for ModelError {
    fn from(e: InferenceError) -> Self {
        ModelError::Backend { backend: "onnxruntime".into(), message: e.to_string() }
    }
}
