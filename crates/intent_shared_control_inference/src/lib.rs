//! The intent model on ONNX Runtime (crate `ort`, library loaded at run time).
//!
//! ```no_run
//! use std::path::Path;
//! use intent_shared_control_core::model::{IntentModel, ModelInput};
//! use intent_shared_control_inference::{load_card, OrtIntentModel, OrtModelConfig, OrtRuntime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = OrtRuntime::init(Path::new("lib/libonnxruntime.so.1.31.1"))?;
//! let card = load_card(Path::new("models/intent_model.card.json"))?;
//! let mut model = OrtIntentModel::load(&runtime, card, OrtModelConfig::cpu("models/intent_model.onnx"))?;
//! let mut input = ModelInput::new();
//! input.push_window(&[0.0; 30 * 71])?;
//! let output = model.predict(&input)?;
//! println!("{:?} on {}", output.rows[0], model.provider().active.as_str());
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/inference.md` for the checks made at load, the execution providers and the fixtures.

pub mod contract;
#[cfg(feature = "cuda")]
mod cuda;
pub mod error;
pub mod machine;
pub mod ort_model;
pub mod routing;
pub mod runtime;

pub use error::InferenceError;
pub use ort_model::{
    load_card, model_path_for_card, sha256_hex, ActiveProvider, ExecutionProviderKind, OrtIntentModel, OrtModelConfig,
    ProviderReport,
};
pub use routing::{RouteEntry, RoutingTable};
pub use runtime::OrtRuntime;
