//! The model arguments `evaluate_intent` and `bench_intent` share (`#[command(flatten)]`), and how they load the
//! model.

use std::path::PathBuf;

use intent_shared_control_inference::{
    load_from_card, ExecutionProviderKind, InferenceError, OrtIntentModel, OrtModelConfig,
};

/// `--model`, `--card`, `--ort-lib`, `--provider`.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// ONNX model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Model card JSON.
    #[arg(long)]
    pub card: PathBuf,
    /// ONNX Runtime shared library (libonnxruntime.so.1.31.x) [default: $ISC_ORT_LIB, else
    /// .setup/onnxruntime/lib/libonnxruntime.so.1.31.1 of the workspace when it exists, else
    /// libonnxruntime.so.1.31.1 on the loader's search path].
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// Execution provider.
    #[arg(long, value_enum, default_value = "cpu")]
    pub provider: ExecutionProviderKind,
}

impl ModelArgs {
    /// `--provider` in lower case, as on the command line.
    pub fn provider_name(&self) -> String {
        format!("{:?}", self.provider).to_lowercase()
    }

    /// Loads `--model` against `--card` on `--provider` (ONNX Runtime's defaults otherwise); returns the model and
    /// its one-line description.
    pub fn load(&self) -> Result<(OrtIntentModel, String), InferenceError> {
        load_from_card(&self.card, self.ort_lib.as_deref(), |_| OrtModelConfig {
            execution_provider: self.provider,
            ..OrtModelConfig::cpu(&self.model)
        })
    }
}
