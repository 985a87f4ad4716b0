//! The intent model contract: input windows, per-row predictions, the model card, and the [`IntentModel`] trait.
//!
//! `docs/model_contract.md` is the written contract; this module is its typed form. An inference backend (the
//! ONNX Runtime one lives in the crate `intent_shared_control_inference`) implements [`IntentModel::run_valid`];
//! the provided [`IntentModel::predict_into`] does what every backend must do the same way:
//!
//! - windows with a non-finite value never reach the backend: [`ModelInput::push_window`] counts them as
//!   rejected rows ([`RowRejection::NonFiniteInput`]) and keeps only finite rows in the batch buffer;
//! - a batch with no valid row never runs (ONNX Runtime's GRU kernel aborts the process on a batch of 0);
//! - logits become probabilities with the card's temperature, `softmax(logits / T)`;
//! - a row whose outputs are not finite is rejected ([`RowRejection::NonFiniteOutput`]), not passed on.
//!
//! [`ConstantVelocityModel`] implements the same trait without a network: the evaluation baseline and the
//! degraded-mode fallback.
//!
//! The contract's constants and intent classes live in `contract.rs`, the input/output batches and the
//! [`IntentModel`] trait in `batch.rs`, the model card in `card.rs`.

use thiserror::Error;

mod batch;
mod card;
pub mod constant_velocity;
mod contract;
#[cfg(test)]
pub(crate) mod tests;

pub use batch::{
    check_batch, softmax_with_temperature, IntentModel, ModelInfo, ModelInput, ModelOutput, RawOutput, RowPrediction,
    RowRejection,
};
pub use card::{CardDim, CardError, FeatureRange, ModelCard, NamedRange, TensorSpec};
pub use constant_velocity::{ConstantVelocityConfig, ConstantVelocityModel};
pub use contract::{
    feature_layout, Intent, PredictionSource, FEATURES_PER_FRAME, FUTURE_LEN, FUTURE_NAME, HORIZON_STEPS,
    HORIZON_STEP_S, INPUT_NAME, LOGITS_NAME, MODEL_RATE_HZ, NORMALISATION, NUM_INTENTS, NUM_PREDICTED_POINTS,
    PREDICTED_POINT_NAMES, WINDOW_FRAMES, WINDOW_LEN,
};

/// Errors of the model layer (contract, card, backend).
#[derive(Debug, Error)]
pub enum ModelError {
    /// A window did not have `WINDOW_LEN` values.
    #[error("input window has {got} values, the contract needs {expected} ([{WINDOW_FRAMES}, {FEATURES_PER_FRAME}])")]
    WindowLength { expected: usize, got: usize },
    /// A flat batch was not a whole number of windows.
    #[error("flat batch of {got} values is not a multiple of the window length {window}")]
    BatchLength { window: usize, got: usize },
    /// A backend was asked to run an empty batch (never done by `predict_into`).
    #[error("refusing to run an empty batch")]
    EmptyBatch,
    /// A backend's windows slice does not match the stated batch size.
    #[error("batch of {batch} rows needs {expected} input values, got {got}")]
    InputLength { batch: usize, expected: usize, got: usize },
    /// A backend returned an output of the wrong size.
    #[error("output `{output}` has {got} values, expected {expected} for a batch of {batch}")]
    OutputLength { output: &'static str, batch: usize, expected: usize, got: usize },
    /// The model card is invalid or does not match the contract.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The inference backend failed while running.
    #[error("inference backend `{backend}` failed: {message}")]
    Backend { backend: String, message: String },
}
