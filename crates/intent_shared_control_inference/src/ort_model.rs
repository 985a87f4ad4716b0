//! [`OrtIntentModel`]: the intent model on ONNX Runtime, CPU or CUDA.

use std::path::{Path, PathBuf};

use intent_shared_control_core::model::{
    check_batch, IntentModel, ModelCard, ModelError, ModelInfo, PredictionSource, RawOutput, FEATURES_PER_FRAME,
    FUTURE_LEN, FUTURE_NAME, HORIZON_STEPS, INPUT_NAME, LOGITS_NAME, NUM_INTENTS,
    NUM_PREDICTED_POINTS, WINDOW_FRAMES, WINDOW_LEN,
};
use ort::session::{builder::GraphOptimizationLevel, Session};
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::contract::check_session;
use crate::error::InferenceError;
use crate::runtime::OrtRuntime;

/// Which execution provider to ask for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionProviderKind {
    /// ONNX Runtime's CPU provider.
    Cpu,
    /// CUDA; loading fails (no silent fallback) if the CUDA provider cannot be registered.
    Cuda,
    /// CUDA when it loads, else CPU; [`ProviderReport`] says which one runs and why.
    Auto,
}

/// The execution provider that actually runs the model.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActiveProvider {
    Cpu,
    Cuda,
}

impl ActiveProvider {
    /// Lower-case name, as in diagnostics.
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveProvider::Cpu => "cpu",
            ActiveProvider::Cuda => "cuda",
        }
    }
}

/// Requested vs actually used execution provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderReport {
    /// What the configuration asked for.
    pub requested: ExecutionProviderKind,
    /// What runs.
    pub active: ActiveProvider,
    /// Why `auto` fell back to CPU, if it did.
    pub fallback_reason: Option<String>,
}

/// Settings of [`OrtIntentModel`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrtModelConfig {
    /// Path of the ONNX file.
    pub model_path: PathBuf,
    /// Execution provider to use.
    pub execution_provider: ExecutionProviderKind,
    /// Intra-op threads of the CPU provider, >= 1. 1 keeps ONNX Runtime's pool from spinning a core between
    /// messages; latency is the same for this model size.
    pub intra_threads: usize,
    /// Most rows per CPU `run` call, >= 1; larger batches are split.
    pub max_batch: usize,
    /// Warm-up runs at load (per batch size bucket on CUDA), >= 1; the first also checks the output shapes.
    pub warmup_runs: usize,
    /// CUDA device index.
    pub cuda_device_id: i32,
    /// CUDA batch-size buckets (ascending, >= 1): each gets its own CUDA graph; a batch is padded to the
    /// smallest bucket that holds it, and batches above the largest are split.
    pub cuda_buckets: Vec<usize>,
}

impl OrtModelConfig {
    /// CPU defaults for `model_path`: 1 intra-op thread, batches of up to 64 rows, 3 warm-up runs.
    pub fn cpu(model_path: impl Into<PathBuf>) -> Self {
        Self {
            model_path: model_path.into(),
            execution_provider: ExecutionProviderKind::Cpu,
            intra_threads: 1,
            max_batch: 64,
            warmup_runs: 3,
            cuda_device_id: 0,
            cuda_buckets: vec![1, 8, 64],
        }
    }

    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<(), InferenceError> {
        let bad = |field, reason: &str| {
            Err(InferenceError::Config {
                field,
                reason: reason.into(),
            })
        };
        if self.intra_threads == 0 {
            return bad("intra_threads", "must be >= 1");
        }
        if self.max_batch == 0 {
            return bad("max_batch", "must be >= 1");
        }
        if self.warmup_runs == 0 {
            return bad(
                "warmup_runs",
                "must be >= 1 (the first run checks the output shapes)",
            );
        }
        if self.cuda_device_id < 0 {
            return bad("cuda_device_id", "must be >= 0");
        }
        if self.cuda_buckets.is_empty()
            || self.cuda_buckets[0] == 0
            || self.cuda_buckets.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(
                "cuda_buckets",
                "must be non-empty, >= 1 and strictly ascending",
            );
        }
        Ok(())
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads, parses and validates a model card file.
pub fn load_card(path: &Path) -> Result<ModelCard, InferenceError> {
    let text = std::fs::read_to_string(path).map_err(|source| InferenceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    ModelCard::from_json_str(&text).map_err(|source| InferenceError::Card {
        path: path.to_path_buf(),
        source,
    })
}

/// The ONNX file a card names, relative to the card's directory.
pub fn model_path_for_card(card_path: &Path, card: &ModelCard) -> PathBuf {
    card_path
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(&card.onnx_file)
}

/// The intent model on ONNX Runtime.
///
/// Loading checks, in order: the configuration, the card, the file's SHA-256 against the card, that ONNX Runtime
/// accepts the file, the tensor contract (names, element types, ranks, fixed dimensions), and the output shapes
/// of a warm-up run. All humans of a frame go into one call (split at `max_batch` on CPU, padded to a bucket on
/// CUDA); output buffers are reused.
pub struct OrtIntentModel {
    info: ModelInfo,
    card: ModelCard,
    config: OrtModelConfig,
    provider: ProviderReport,
    backend: Backend,
}

enum Backend {
    Cpu(Session),
    #[cfg(feature = "cuda")]
    Cuda(crate::cuda::CudaBuckets),
}

impl std::fmt::Debug for OrtIntentModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtIntentModel")
            .field("info", &self.info)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl OrtIntentModel {
    /// Loads, checks and warms up the model of `card` from `config.model_path` on `runtime`.
    pub fn load(
        runtime: &OrtRuntime,
        card: ModelCard,
        config: OrtModelConfig,
    ) -> Result<Self, InferenceError> {
        config.validate()?;
        let path = config.model_path.clone();
        card.validate().map_err(|source| InferenceError::Card {
            path: path.clone(),
            source,
        })?;
        let bytes = std::fs::read(&path).map_err(|source| InferenceError::Read {
            path: path.clone(),
            source,
        })?;
        let actual = sha256_hex(&bytes);
        if actual != card.sha256 {
            return Err(InferenceError::Sha256Mismatch {
                path,
                expected: card.sha256.clone(),
                actual,
            });
        }

        match config.execution_provider {
            ExecutionProviderKind::Cpu => {
                let backend = Backend::Cpu(cpu_session(runtime, &card, &config, &bytes)?);
                Self::warmed_up(card, config, backend, None)
            }
            ExecutionProviderKind::Cuda => {
                let backend = cuda_backend(runtime, &card, &config, &bytes)?;
                Self::warmed_up(card, config, backend, None)
            }
            // Any failure on the CUDA path (provider, device, session, warm-up) falls back to CPU; an error
            // that is the model's own shows up again on CPU and is returned from there.
            ExecutionProviderKind::Auto => {
                let cuda = cuda_backend(runtime, &card, &config, &bytes).and_then(|backend| {
                    Self::warmed_up(card.clone(), config.clone(), backend, None)
                });
                match cuda {
                    Ok(model) => Ok(model),
                    Err(cuda_error) => {
                        let backend = Backend::Cpu(cpu_session(runtime, &card, &config, &bytes)?);
                        Self::warmed_up(card, config, backend, Some(cuda_error.to_string()))
                    }
                }
            }
        }
    }

    /// Wraps a backend and runs the warm-up, whose first run checks the output shapes.
    fn warmed_up(
        card: ModelCard,
        config: OrtModelConfig,
        backend: Backend,
        fallback_reason: Option<String>,
    ) -> Result<Self, InferenceError> {
        let active = match backend {
            Backend::Cpu(_) => ActiveProvider::Cpu,
            #[cfg(feature = "cuda")]
            Backend::Cuda(_) => ActiveProvider::Cuda,
        };
        let provider = ProviderReport {
            requested: config.execution_provider,
            active,
            fallback_reason,
        };
        let info = ModelInfo {
            name: card.name.clone(),
            version: card.version.clone(),
            temperature: card.temperature_f32(),
            provider: active.as_str().to_string(),
            source: PredictionSource::Model,
        };
        let path = config.model_path.clone();
        let mut model = OrtIntentModel {
            info,
            card,
            config,
            provider,
            backend,
        };
        model.warm_up().map_err(|e| match e {
            InferenceError::Run(message) => InferenceError::Contract {
                path,
                problem: format!("warm-up run: {message}"),
            },
            other => other,
        })?;
        Ok(model)
    }

    /// The card the model was checked against.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Which execution provider runs the model.
    pub fn provider(&self) -> &ProviderReport {
        &self.provider
    }

    /// The configuration in use.
    pub fn config(&self) -> &OrtModelConfig {
        &self.config
    }

    fn warm_up(&mut self) -> Result<(), InferenceError> {
        let zeros = vec![0.0_f32; WINDOW_LEN * 8];
        let mut raw = RawOutput::default();
        for _ in 0..self.config.warmup_runs {
            for batch in [1, 8] {
                raw.clear();
                self.run_rows(&zeros[..batch * WINDOW_LEN], batch, &mut raw)?;
                if raw.logits.len() != batch * NUM_INTENTS || raw.future.len() != batch * FUTURE_LEN
                {
                    return Err(InferenceError::Run(format!(
                        "warm-up batch {batch} gave wrong output sizes"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Runs `batch >= 1` windows and appends the outputs to `raw`.
    fn run_rows(
        &mut self,
        windows: &[f32],
        batch: usize,
        raw: &mut RawOutput,
    ) -> Result<(), InferenceError> {
        debug_assert_eq!(windows.len(), batch * WINDOW_LEN);
        match &mut self.backend {
            Backend::Cpu(session) => {
                for chunk in windows.chunks(self.config.max_batch * WINDOW_LEN) {
                    run_cpu_chunk(session, chunk, chunk.len() / WINDOW_LEN, raw)?;
                }
                Ok(())
            }
            #[cfg(feature = "cuda")]
            Backend::Cuda(buckets) => buckets.run(windows, batch, raw),
        }
    }
}

impl IntentModel for OrtIntentModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run_valid(
        &mut self,
        windows: &[f32],
        batch: usize,
        raw: &mut RawOutput,
    ) -> Result<(), ModelError> {
        check_batch(windows, batch)?;
        raw.clear();
        self.run_rows(windows, batch, raw).map_err(ModelError::from)
    }
}

/// A CPU session whose inputs and outputs match the card.
fn cpu_session(
    runtime: &OrtRuntime,
    card: &ModelCard,
    config: &OrtModelConfig,
    bytes: &[u8],
) -> Result<Session, InferenceError> {
    let load = |message: String| InferenceError::ModelLoad {
        path: config.model_path.clone(),
        message,
    };
    let session = Session::builder(runtime.environment())
        .map_err(|e| load(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| load(e.to_string()))?
        .with_intra_threads(config.intra_threads)
        .map_err(|e| load(e.to_string()))?
        .commit_from_memory(bytes)
        .map_err(|e| load(e.to_string()))?;
    check_session(card, &session, &config.model_path)?;
    Ok(session)
}

#[cfg(not(feature = "cuda"))]
fn cuda_backend(
    _runtime: &OrtRuntime,
    _card: &ModelCard,
    _config: &OrtModelConfig,
    _bytes: &[u8],
) -> Result<Backend, InferenceError> {
    Err(InferenceError::ProviderUnavailable {
        provider: "cuda",
        message: "this build has no CUDA support (build with the `cuda` feature)".into(),
    })
}

#[cfg(feature = "cuda")]
fn cuda_backend(
    runtime: &OrtRuntime,
    card: &ModelCard,
    config: &OrtModelConfig,
    bytes: &[u8],
) -> Result<Backend, InferenceError> {
    Ok(Backend::Cuda(crate::cuda::CudaBuckets::new(
        runtime, card, config, bytes,
    )?))
}

/// One CPU `run` of `n` rows; appends to `raw` after checking the output shapes.
fn run_cpu_chunk(
    session: &mut Session,
    windows: &[f32],
    n: usize,
    raw: &mut RawOutput,
) -> Result<(), InferenceError> {
    let run = |e: ort::Error| InferenceError::Run(e.to_string());
    let input = TensorRef::from_array_view(([n, WINDOW_FRAMES, FEATURES_PER_FRAME], windows))
        .map_err(run)?;
    let outputs = session
        .run(ort::inputs![INPUT_NAME => input])
        .map_err(run)?;
    for (name, dims, dest) in [
        (
            LOGITS_NAME,
            &[n as i64, NUM_INTENTS as i64][..],
            &mut raw.logits,
        ),
        (
            FUTURE_NAME,
            &[
                n as i64,
                HORIZON_STEPS as i64,
                NUM_PREDICTED_POINTS as i64,
                3,
            ][..],
            &mut raw.future,
        ),
    ] {
        let value = outputs
            .get(name)
            .ok_or_else(|| InferenceError::Run(format!("the model gave no output `{name}`")))?;
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(run)?;
        if &shape[..] != dims {
            return Err(InferenceError::Run(format!(
                "output `{name}` has shape {shape}, expected {dims:?}"
            )));
        }
        dest.extend_from_slice(data);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_can_move_to_a_worker_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<OrtIntentModel>();
        assert_send::<OrtRuntime>();
    }

    #[test]
    fn sha256_matches_a_known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn config_validation() {
        let ok = OrtModelConfig::cpu("m.onnx");
        ok.validate().expect("defaults are valid");
        for (bad, field) in [
            (
                OrtModelConfig {
                    warmup_runs: 0,
                    ..ok.clone()
                },
                "warmup_runs",
            ),
            (
                OrtModelConfig {
                    cuda_device_id: -1,
                    ..ok.clone()
                },
                "cuda_device_id",
            ),
            (
                OrtModelConfig {
                    cuda_buckets: vec![],
                    ..ok.clone()
                },
                "cuda_buckets",
            ),
            (
                OrtModelConfig {
                    cuda_buckets: vec![0, 8],
                    ..ok.clone()
                },
                "cuda_buckets",
            ),
        ] {
            match bad.validate() {
                Err(InferenceError::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
