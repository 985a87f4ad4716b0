//! CUDA execution with CUDA graphs and IO binding (feature `cuda`).
//!
//! A CUDA graph replays a captured sequence of kernels and needs fixed shapes and fixed device addresses, so
//! each batch-size bucket (default 1, 8, 64) gets its own session, its own graph and its own pre-allocated
//! buffers: pinned host input → device input (bound) → device outputs (bound) → pinned host outputs. A batch is
//! padded with zero rows to the smallest bucket that holds it; batches above the largest bucket are split.
//! The CUDA provider is registered with `error_on_failure()`, so a missing CUDA library is an error here
//! (`ProviderUnavailable`), never a silent CPU fallback. With `auto` these buckets sit next to a CPU session,
//! and the bucket sizes are also the batch sizes at which the two are timed (see `crate::routing`).

use intent_shared_control_core::model::{
    ModelCard, RawOutput, FEATURES_PER_FRAME, FUTURE_LEN, FUTURE_NAME, HORIZON_STEPS, INPUT_NAME, LOGITS_NAME,
    NUM_INTENTS, NUM_PREDICTED_POINTS, WINDOW_FRAMES, WINDOW_LEN,
};
use ort::ep;
use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{builder::GraphOptimizationLevel, IoBinding, Session};
use ort::value::Tensor;

use crate::contract::check_session;
use crate::error::InferenceError;
use crate::ort_model::OrtModelConfig;
use crate::routing::smallest_holding;
use crate::runtime::OrtRuntime;

/// One session + CUDA graph + buffers per batch-size bucket, ascending by size.
pub(crate) struct CudaBuckets {
    buckets: Vec<Bucket>,
}

struct Bucket {
    rows: usize,
    binding: IoBinding,
    host_input: Tensor<f32>,
    device_input: Tensor<f32>,
    device_logits: Tensor<f32>,
    device_future: Tensor<f32>,
    host_logits: Tensor<f32>,
    host_future: Tensor<f32>,
    session: Session,
}

fn run_err(e: impl std::fmt::Display) -> InferenceError {
    InferenceError::Run(e.to_string())
}

impl CudaBuckets {
    /// Builds every bucket; the first session's inputs and outputs are checked against the card.
    pub(crate) fn new(
        runtime: &OrtRuntime,
        card: &ModelCard,
        config: &OrtModelConfig,
        bytes: &[u8],
    ) -> Result<Self, InferenceError> {
        let mut buckets = Vec::with_capacity(config.cuda_buckets.len());
        for &rows in &config.cuda_buckets {
            let session = cuda_session(runtime, config, bytes)?;
            if buckets.is_empty() {
                check_session(card, &session, &config.model_path)?;
            }
            buckets.push(Bucket::new(session, rows, config.cuda_device_id)?);
        }
        Ok(Self { buckets })
    }

    /// Runs `batch >= 1` windows and appends the outputs to `raw`.
    pub(crate) fn run(&mut self, windows: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), InferenceError> {
        let mut done = 0;
        while done < batch {
            let left = batch - done;
            let index = smallest_holding(self.buckets.iter().map(|b| b.rows), left)
                .ok_or_else(|| InferenceError::Run("no CUDA bucket".into()))?;
            let bucket = &mut self.buckets[index];
            let n = left.min(bucket.rows);
            bucket.run(&windows[done * WINDOW_LEN..(done + n) * WINDOW_LEN], n, raw)?;
            done += n;
        }
        Ok(())
    }
}

fn cuda_session(runtime: &OrtRuntime, config: &OrtModelConfig, bytes: &[u8]) -> Result<Session, InferenceError> {
    let load = |message: String| InferenceError::ModelLoad { path: config.model_path.clone(), message };
    let cuda =
        ep::CUDA::default().with_device_id(config.cuda_device_id).with_cuda_graph(true).build().error_on_failure();
    Session::builder(runtime.environment())
        .map_err(|e| load(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| load(e.to_string()))?
        .with_execution_providers([cuda])
        .map_err(|e| InferenceError::ProviderUnavailable { provider: "cuda", message: e.to_string() })?
        .commit_from_memory(bytes)
        .map_err(|e| load(e.to_string()))
}

impl Bucket {
    fn new(session: Session, rows: usize, device: i32) -> Result<Self, InferenceError> {
        let unavailable =
            |e: ort::Error| InferenceError::ProviderUnavailable { provider: "cuda", message: e.to_string() };
        let device_alloc = Allocator::new(
            &session,
            MemoryInfo::new(AllocationDevice::CUDA, device, AllocatorType::Device, MemoryType::Default)
                .map_err(unavailable)?,
        )
        .map_err(unavailable)?;
        let pinned_in = Allocator::new(
            &session,
            MemoryInfo::new(AllocationDevice::CUDA_PINNED, device, AllocatorType::Device, MemoryType::CPUInput)
                .map_err(unavailable)?,
        )
        .map_err(unavailable)?;
        let pinned_out = Allocator::new(
            &session,
            MemoryInfo::new(AllocationDevice::CUDA_PINNED, device, AllocatorType::Device, MemoryType::CPUOutput)
                .map_err(unavailable)?,
        )
        .map_err(unavailable)?;
        let input_shape = [rows, WINDOW_FRAMES, FEATURES_PER_FRAME];
        let logits_shape = [rows, NUM_INTENTS];
        let future_shape = [rows, HORIZON_STEPS, NUM_PREDICTED_POINTS, 3];
        let mut host_input = Tensor::<f32>::new(&pinned_in, input_shape).map_err(run_err)?;
        host_input.try_extract_tensor_mut::<f32>().map_err(run_err)?.1.fill(0.0);
        let device_input = Tensor::<f32>::new(&device_alloc, input_shape).map_err(run_err)?;
        let mut device_logits = Tensor::<f32>::new(&device_alloc, logits_shape).map_err(run_err)?;
        let mut device_future = Tensor::<f32>::new(&device_alloc, future_shape).map_err(run_err)?;
        let host_logits = Tensor::<f32>::new(&pinned_out, logits_shape).map_err(run_err)?;
        let host_future = Tensor::<f32>::new(&pinned_out, future_shape).map_err(run_err)?;
        let mut binding = session.create_binding().map_err(run_err)?;
        binding.bind_input(INPUT_NAME, &device_input).map_err(run_err)?;
        binding.bind_output(LOGITS_NAME, &mut device_logits).map_err(run_err)?;
        binding.bind_output(FUTURE_NAME, &mut device_future).map_err(run_err)?;
        Ok(Self {
            rows,
            binding,
            host_input,
            device_input,
            device_logits,
            device_future,
            host_logits,
            host_future,
            session,
        })
    }

    /// Runs `n <= rows` windows, padded with zero rows, and appends the first `n` rows of output to `raw`.
    fn run(&mut self, windows: &[f32], n: usize, raw: &mut RawOutput) -> Result<(), InferenceError> {
        {
            let (_, host) = self.host_input.try_extract_tensor_mut::<f32>().map_err(run_err)?;
            host[..n * WINDOW_LEN].copy_from_slice(windows);
            host[n * WINDOW_LEN..].fill(0.0);
        }
        self.host_input.copy_into(&mut self.device_input).map_err(run_err)?;
        drop(self.session.run_binding(&self.binding).map_err(run_err)?);
        self.device_logits.copy_into(&mut self.host_logits).map_err(run_err)?;
        self.device_future.copy_into(&mut self.host_future).map_err(run_err)?;
        let (_, logits) = self.host_logits.try_extract_tensor::<f32>().map_err(run_err)?;
        raw.logits.extend_from_slice(&logits[..n * NUM_INTENTS]);
        let (_, future) = self.host_future.try_extract_tensor::<f32>().map_err(run_err)?;
        raw.future.extend_from_slice(&future[..n * FUTURE_LEN]);
        Ok(())
    }
}
