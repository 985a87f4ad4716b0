//! The intent model on ONNX Runtime (crate `ort`, library loaded at run time).
//!
//! ```no_run
//! use std::path::Path;
//! use intent_shared_control_core::model::{IntentModel, ModelInput};
//! use intent_shared_control_inference::{load_from_card, OrtModelConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // ONNX Runtime from the default location (`default_ort_library`), the ONNX file named by the card, on CPU.
//! let (mut model, description) = load_from_card(Path::new("models/intent_model.card.json"), None, OrtModelConfig::cpu)?;
//! let mut input = ModelInput::new();
//! input.push_window(&[0.0; 30 * 71])?;
//! let output = model.predict(&input)?;
//! println!("{description}: {:?}", output.rows[0]);
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/inference.md` for the checks made at load, the execution providers and the fixtures.

pub mod contract;
#[cfg(feature = "cuda")]
mod cuda;
pub mod error;
pub mod load;
pub mod machine;
pub mod ort_model;
pub mod routing;
pub mod runtime;

pub use error::InferenceError;
pub use load::{default_ort_library, load_from_card, ORT_LIBRARY_ENV, ORT_LIBRARY_NAME};
pub use ort_model::{
    load_card, model_path_for_card, sha256_hex, ActiveProvider, ExecutionProviderKind, OrtIntentModel, OrtModelConfig,
    ProviderReport,
};
pub use routing::{RouteEntry, RoutingTable};
pub use runtime::OrtRuntime;
