//! [`OrtIntentModel`]: the intent model on ONNX Runtime, CPU or CUDA, or both with `auto`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use intent_shared_control_core::model::{
    check_batch, IntentModel, ModelCard, ModelError, ModelInfo, PredictionSource, RawOutput, FEATURES_PER_FRAME,
    FUTURE_LEN, FUTURE_NAME, HORIZON_STEPS, INPUT_NAME, LOGITS_NAME, NUM_INTENTS, NUM_PREDICTED_POINTS, WINDOW_FRAMES,
    WINDOW_LEN,
};
use ort::session::{builder::GraphOptimizationLevel, Session};
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::contract::check_session;
#[cfg(feature = "cuda")]
use crate::cuda::CudaBuckets;
use crate::error::InferenceError;
use crate::routing::{median, route_table, RoutingTable};
use crate::runtime::OrtRuntime;

/// Timed calls per backend and CUDA bucket size when `auto` measures its routing table at load.
pub const ROUTING_TIMED_RUNS: usize = 7;

/// Which execution provider to ask for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionProviderKind {
    /// ONNX Runtime's CPU provider.
    Cpu,
    /// CUDA; loading fails (no silent fallback) if the CUDA provider cannot be registered.
    Cuda,
    /// Both CPU and CUDA when CUDA loads, each batch going to the one that was faster at its size when timed
    /// at load ([`ProviderReport::routing`]); CPU alone when CUDA does not load
    /// ([`ProviderReport::fallback_reason`] says why).
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderReport {
    /// What the configuration asked for.
    pub requested: ExecutionProviderKind,
    /// What runs. With a [`routing`](Self::routing) table: `cuda` when at least one batch size runs on CUDA,
    /// `cpu` when every batch size stays on the CPU; [`provider_for`](Self::provider_for) gives the one of a
    /// batch size.
    pub active: ActiveProvider,
    /// Why `auto` fell back to CPU, if it did.
    pub fallback_reason: Option<String>,
    /// `auto` with both backends loaded: the medians measured at load per CUDA bucket size and the backend
    /// chosen for each. `None` for `cpu`, `cuda`, and `auto` on CPU only.
    #[serde(default)]
    pub routing: Option<RoutingTable>,
}

impl ProviderReport {
    /// The backend that runs a batch of `rows` rows.
    pub fn provider_for(&self, rows: usize) -> ActiveProvider {
        self.routing.as_ref().map_or(self.active, |table| table.provider_for(rows))
    }

    /// One line for logs and reports: `cpu`, `cuda`, or with routing e.g. `auto (1:cpu 8:cpu 64:cuda)`.
    pub fn summary(&self) -> String {
        match &self.routing {
            Some(table) => format!("auto ({table})"),
            None => self.active.as_str().to_owned(),
        }
    }
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
    /// Warm-up runs at batch 1 and 8 at load, >= 1; the first also checks the output shapes. With `auto`, per
    /// backend, and also the untimed calls per backend and CUDA bucket before the routing timing.
    pub warmup_runs: usize,
    /// CUDA device index.
    pub cuda_device_id: i32,
    /// CUDA batch-size buckets (ascending, >= 1): each gets its own CUDA graph; a batch is padded to the
    /// smallest bucket that holds it, and batches above the largest are split. With `auto`, also the batch
    /// sizes at which both backends are timed at load.
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
        let bad = |field, reason: &str| Err(InferenceError::Config { field, reason: reason.into() });
        if self.intra_threads == 0 {
            return bad("intra_threads", "must be >= 1");
        }
        if self.max_batch == 0 {
            return bad("max_batch", "must be >= 1");
        }
        if self.warmup_runs == 0 {
            return bad("warmup_runs", "must be >= 1 (the first run checks the output shapes)");
        }
        if self.cuda_device_id < 0 {
            return bad("cuda_device_id", "must be >= 0");
        }
        if self.cuda_buckets.is_empty()
            || self.cuda_buckets[0] == 0
            || self.cuda_buckets.windows(2).any(|w| w[0] >= w[1])
        {
            return bad("cuda_buckets", "must be non-empty, >= 1 and strictly ascending");
        }
        Ok(())
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads, parses and validates a model card file.
pub fn load_card(path: &Path) -> Result<ModelCard, InferenceError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| InferenceError::Read { path: path.to_path_buf(), source })?;
    ModelCard::from_json_str(&text).map_err(|source| InferenceError::Card { path: path.to_path_buf(), source })
}

/// The ONNX file a card names, relative to the card's directory.
pub fn model_path_for_card(card_path: &Path, card: &ModelCard) -> PathBuf {
    card_path.parent().unwrap_or_else(|| Path::new("")).join(&card.onnx_file)
}

/// The intent model on ONNX Runtime.
///
/// Loading checks, in order: the configuration, the card, the file's SHA-256 against the card, that ONNX Runtime
/// accepts the file, the tensor contract (names, element types, ranks, fixed dimensions), and the output shapes
/// of a warm-up run. All humans of a frame go into one call (split at `max_batch` on CPU, padded to a bucket on
/// CUDA); output buffers are reused.
///
/// With `auto` and CUDA available, both backends are loaded and each call goes to the one its batch size is
/// routed to ([`ProviderReport::routing`]); `info().provider` then names the backend of the most recent call.
pub struct OrtIntentModel {
    info: ModelInfo,
    card: ModelCard,
    config: OrtModelConfig,
    provider: ProviderReport,
    /// The CPU session: with `cpu` and `auto`.
    cpu: Option<Session>,
    /// The CUDA buckets: with `cuda`, and with `auto` when CUDA loaded, warmed up and was timed.
    cuda: Option<CudaBuckets>,
}

/// Stand-in for the CUDA backend in builds without the `cuda` feature. It has no values, so an
/// `Option<CudaBuckets>` is always `None` there and the code around it is the same in both builds.
#[cfg(not(feature = "cuda"))]
enum CudaBuckets {}

#[cfg(not(feature = "cuda"))]
impl CudaBuckets {
    fn run(&mut self, _windows: &[f32], _batch: usize, _raw: &mut RawOutput) -> Result<(), InferenceError> {
        match *self {}
    }
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
    pub fn load(runtime: &OrtRuntime, card: ModelCard, config: OrtModelConfig) -> Result<Self, InferenceError> {
        config.validate()?;
        let path = config.model_path.clone();
        card.validate().map_err(|source| InferenceError::Card { path: path.clone(), source })?;
        let bytes = std::fs::read(&path).map_err(|source| InferenceError::Read { path: path.clone(), source })?;
        let actual = sha256_hex(&bytes);
        if actual != card.sha256 {
            return Err(InferenceError::Sha256Mismatch { path, expected: card.sha256.clone(), actual });
        }

        match config.execution_provider {
            ExecutionProviderKind::Cpu => {
                let cpu = cpu_session(runtime, &card, &config, &bytes)?;
                let mut model = Self::assemble(card, config, Some(cpu), None);
                model.warm_up(ActiveProvider::Cpu)?;
                Ok(model)
            }
            ExecutionProviderKind::Cuda => {
                let cuda = cuda_backend(runtime, &card, &config, &bytes)?;
                let mut model = Self::assemble(card, config, None, Some(cuda));
                model.warm_up(ActiveProvider::Cuda)?;
                Ok(model)
            }
            ExecutionProviderKind::Auto => Self::load_auto(runtime, card, config, &bytes),
        }
    }

    /// `auto`: the CPU session always (an error that is the model's own shows up there and is returned), then
    /// the CUDA buckets, their warm-up and the timing of both backends per bucket size. Any failure on the CUDA
    /// side (provider, device, session, warm-up, timing) leaves the model on the CPU with the reason in
    /// `fallback_reason`.
    fn load_auto(
        runtime: &OrtRuntime,
        card: ModelCard,
        config: OrtModelConfig,
        bytes: &[u8],
    ) -> Result<Self, InferenceError> {
        let cpu = cpu_session(runtime, &card, &config, bytes)?;
        let mut model = Self::assemble(card, config, Some(cpu), None);
        model.warm_up(ActiveProvider::Cpu)?;
        let routing = match cuda_backend(runtime, &model.card, &model.config, bytes) {
            Err(cuda_error) => Err(cuda_error),
            Ok(cuda) => {
                model.cuda = Some(cuda);
                match model
                    .warm_up(ActiveProvider::Cuda)
                    .map_err(|e| (ActiveProvider::Cuda, e))
                    .and_then(|()| model.measure_routing())
                {
                    Ok(table) => Ok(table),
                    Err((ActiveProvider::Cuda, cuda_error)) => Err(cuda_error),
                    Err((ActiveProvider::Cpu, cpu_error)) => return Err(cpu_error),
                }
            }
        };
        match routing {
            Ok(table) => {
                model.provider.active =
                    if table.uses(ActiveProvider::Cuda) { ActiveProvider::Cuda } else { ActiveProvider::Cpu };
                model.provider.routing = Some(table);
            }
            Err(cuda_error) => {
                model.cuda = None;
                model.provider.fallback_reason = Some(cuda_error.to_string());
            }
        }
        model.info.provider = model.provider.active.as_str().to_owned();
        Ok(model)
    }

    /// Wraps the loaded backends (not yet warmed up); the active provider is CUDA when it is the only one.
    fn assemble(card: ModelCard, config: OrtModelConfig, cpu: Option<Session>, cuda: Option<CudaBuckets>) -> Self {
        let active = if cpu.is_none() && cuda.is_some() { ActiveProvider::Cuda } else { ActiveProvider::Cpu };
        let provider =
            ProviderReport { requested: config.execution_provider, active, fallback_reason: None, routing: None };
        let info = ModelInfo {
            name: card.name.clone(),
            version: card.version.clone(),
            temperature: card.temperature_f32(),
            provider: active.as_str().to_string(),
            source: PredictionSource::Model,
        };
        OrtIntentModel { info, card, config, provider, cpu, cuda }
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

    /// `warmup_runs` runs at batch 1 and 8 on `provider`, checking the output sizes. A failed run is reported
    /// as a contract error of the model.
    fn warm_up(&mut self, provider: ActiveProvider) -> Result<(), InferenceError> {
        let zeros = vec![0.0_f32; WINDOW_LEN * 8];
        let mut raw = RawOutput::default();
        for _ in 0..self.config.warmup_runs {
            for batch in [1, 8] {
                raw.clear();
                self.run_on(provider, &zeros[..batch * WINDOW_LEN], batch, &mut raw)
                    .and_then(|()| check_output_sizes(&raw, batch))
                    .map_err(|e| self.at_load(e))?;
            }
        }
        Ok(())
    }

    /// Times both backends at every CUDA bucket size, alternating between them: `warmup_runs` untimed calls per
    /// backend and size (CUDA graph capture, first allocations at that shape), then [`ROUTING_TIMED_RUNS`] timed
    /// calls each, and routes by the medians ([`route_table`]). An error names the backend that failed.
    fn measure_routing(&mut self) -> Result<RoutingTable, (ActiveProvider, InferenceError)> {
        const SIDES: [ActiveProvider; 2] = [ActiveProvider::Cpu, ActiveProvider::Cuda];
        let buckets = self.config.cuda_buckets.clone();
        let largest = buckets.last().copied().unwrap_or(1);
        let zeros = vec![0.0_f32; largest * WINDOW_LEN];
        let mut raw = RawOutput::default();
        let mut samples: [Vec<f64>; 2] = Default::default();
        let mut medians: [Vec<f64>; 2] = Default::default();
        for &rows in &buckets {
            let windows = &zeros[..rows * WINDOW_LEN];
            samples.iter_mut().for_each(Vec::clear);
            let untimed = self.config.warmup_runs;
            for run in 0..untimed + ROUTING_TIMED_RUNS {
                for (side, times) in SIDES.into_iter().zip(samples.iter_mut()) {
                    raw.clear();
                    let start = Instant::now();
                    let result = self.run_on(side, windows, rows, &mut raw);
                    let elapsed_us = start.elapsed().as_secs_f64() * 1e6;
                    result.and_then(|()| check_output_sizes(&raw, rows)).map_err(|e| (side, self.at_load(e)))?;
                    if run >= untimed {
                        times.push(elapsed_us);
                    }
                }
            }
            for (times, out) in samples.iter_mut().zip(medians.iter_mut()) {
                out.push(median(times));
            }
        }
        let [cpu_us, gpu_us] = medians;
        Ok(route_table(&buckets, &cpu_us, &gpu_us))
    }

    /// A run that failed at load is a contract problem of the model; other errors pass through.
    fn at_load(&self, e: InferenceError) -> InferenceError {
        match e {
            InferenceError::Run(message) => InferenceError::Contract {
                path: self.config.model_path.clone(),
                problem: format!("warm-up run: {message}"),
            },
            other => other,
        }
    }

    /// Runs `batch >= 1` windows on the backend their batch size goes to and appends the outputs to `raw`.
    fn run_rows(&mut self, windows: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), InferenceError> {
        let provider = self.provider.provider_for(batch);
        if self.info.provider != provider.as_str() {
            // Only `auto` with routing switches backends between calls; the string's buffer is reused.
            self.info.provider.clear();
            self.info.provider.push_str(provider.as_str());
        }
        self.run_on(provider, windows, batch, raw)
    }

    /// Runs `batch >= 1` windows on `provider` and appends the outputs to `raw`.
    fn run_on(
        &mut self,
        provider: ActiveProvider,
        windows: &[f32],
        batch: usize,
        raw: &mut RawOutput,
    ) -> Result<(), InferenceError> {
        debug_assert_eq!(windows.len(), batch * WINDOW_LEN);
        let not_loaded = || InferenceError::Run(format!("no {} backend is loaded", provider.as_str()));
        match provider {
            ActiveProvider::Cpu => {
                let session = self.cpu.as_mut().ok_or_else(not_loaded)?;
                for chunk in windows.chunks(self.config.max_batch * WINDOW_LEN) {
                    run_cpu_chunk(session, chunk, chunk.len() / WINDOW_LEN, raw)?;
                }
                Ok(())
            }
            ActiveProvider::Cuda => self.cuda.as_mut().ok_or_else(not_loaded)?.run(windows, batch, raw),
        }
    }
}

/// Checks that `raw` holds the outputs of exactly `batch` rows.
fn check_output_sizes(raw: &RawOutput, batch: usize) -> Result<(), InferenceError> {
    if raw.logits.len() != batch * NUM_INTENTS || raw.future.len() != batch * FUTURE_LEN {
        return Err(InferenceError::Run(format!("warm-up batch {batch} gave wrong output sizes")));
    }
    Ok(())
}

impl IntentModel for OrtIntentModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run_valid(&mut self, windows: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), ModelError> {
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
    let load = |message: String| InferenceError::ModelLoad { path: config.model_path.clone(), message };
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
) -> Result<CudaBuckets, InferenceError> {
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
) -> Result<CudaBuckets, InferenceError> {
    CudaBuckets::new(runtime, card, config, bytes)
}

/// One CPU `run` of `n` rows; appends to `raw` after checking the output shapes.
fn run_cpu_chunk(session: &mut Session, windows: &[f32], n: usize, raw: &mut RawOutput) -> Result<(), InferenceError> {
    let run = |e: ort::Error| InferenceError::Run(e.to_string());
    let input = TensorRef::from_array_view(([n, WINDOW_FRAMES, FEATURES_PER_FRAME], windows)).map_err(run)?;
    let outputs = session.run(ort::inputs![INPUT_NAME => input]).map_err(run)?;
    for (name, dims, dest) in [
        (LOGITS_NAME, &[n as i64, NUM_INTENTS as i64][..], &mut raw.logits),
        (FUTURE_NAME, &[n as i64, HORIZON_STEPS as i64, NUM_PREDICTED_POINTS as i64, 3][..], &mut raw.future),
    ] {
        let value =
            outputs.get(name).ok_or_else(|| InferenceError::Run(format!("the model gave no output `{name}`")))?;
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(run)?;
        if &shape[..] != dims {
            return Err(InferenceError::Run(format!("output `{name}` has shape {shape}, expected {dims:?}")));
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
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn config_validation() {
        let ok = OrtModelConfig::cpu("m.onnx");
        ok.validate().expect("defaults are valid");
        for (bad, field) in [
            (OrtModelConfig { warmup_runs: 0, ..ok.clone() }, "warmup_runs"),
            (OrtModelConfig { cuda_device_id: -1, ..ok.clone() }, "cuda_device_id"),
            (OrtModelConfig { cuda_buckets: vec![], ..ok.clone() }, "cuda_buckets"),
            (OrtModelConfig { cuda_buckets: vec![0, 8], ..ok.clone() }, "cuda_buckets"),
        ] {
            match bad.validate() {
                Err(InferenceError::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
