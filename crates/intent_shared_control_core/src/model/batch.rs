//! Input and output batches of the model, and the [`IntentModel`] trait that turns one into the other.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    Intent, ModelError, PredictionSource, FEATURES_PER_FRAME, FUTURE_LEN, FUTURE_NAME, HORIZON_STEPS, LOGITS_NAME,
    NUM_INTENTS, NUM_PREDICTED_POINTS, WINDOW_LEN,
};

/// Why a row of a batch got no prediction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowRejection {
    /// The window held a NaN or infinity at `(frame, feature)`; it was never given to the model.
    NonFiniteInput { frame: usize, feature: usize },
    /// The model produced a NaN or infinity for this row.
    NonFiniteOutput,
}

impl fmt::Display for RowRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowRejection::NonFiniteInput { frame, feature } => {
                write!(f, "non-finite input at frame {frame}, feature {feature}")
            }
            RowRejection::NonFiniteOutput => f.write_str("non-finite model output"),
        }
    }
}

/// Where a pushed row went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum RowSlot {
    /// Row `k` of the valid-row buffer.
    Valid(usize),
    Rejected(RowRejection),
}

/// A batch of input windows (`pose_window`, `[batch, 30, 71]`, `f32`), screened as rows are pushed.
///
/// Only finite windows are stored in the batch buffer handed to the backend; the others are recorded as
/// rejected rows so that [`ModelOutput`] still has one entry per pushed row, in push order. Reuse one
/// `ModelInput` across frames with [`ModelInput::clear`] to keep its allocation.
#[derive(Clone, Debug, Default)]
pub struct ModelInput {
    data: Vec<f32>,
    rows: Vec<RowSlot>,
}

impl ModelInput {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `rows` windows.
    pub fn with_capacity(rows: usize) -> Self {
        Self { data: Vec::with_capacity(rows * WINDOW_LEN), rows: Vec::with_capacity(rows) }
    }

    /// A batch from a flat row-major `[batch, 30, 71]` slice.
    pub fn from_flat(flat: &[f32]) -> Result<Self, ModelError> {
        if !flat.len().is_multiple_of(WINDOW_LEN) {
            return Err(ModelError::BatchLength { window: WINDOW_LEN, got: flat.len() });
        }
        let mut input = Self::with_capacity(flat.len() / WINDOW_LEN);
        for window in flat.chunks_exact(WINDOW_LEN) {
            input.push_window(window)?;
        }
        Ok(input)
    }

    /// Removes all rows, keeping the allocation.
    pub fn clear(&mut self) {
        self.data.clear();
        self.rows.clear();
    }

    /// Appends one window (row-major `[30, 71]`, oldest frame first) and returns its row index.
    ///
    /// A window with a non-finite value is accepted as a rejected row (it gets
    /// [`RowRejection::NonFiniteInput`] in the output and never reaches the model); only a window of the wrong
    /// length is an error.
    pub fn push_window(&mut self, window: &[f32]) -> Result<usize, ModelError> {
        if window.len() != WINDOW_LEN {
            return Err(ModelError::WindowLength { expected: WINDOW_LEN, got: window.len() });
        }
        let slot = match window.iter().position(|v| !v.is_finite()) {
            Some(i) => RowSlot::Rejected(RowRejection::NonFiniteInput {
                frame: i / FEATURES_PER_FRAME,
                feature: i % FEATURES_PER_FRAME,
            }),
            None => {
                self.data.extend_from_slice(window);
                RowSlot::Valid(self.data.len() / WINDOW_LEN - 1)
            }
        };
        self.rows.push(slot);
        Ok(self.rows.len() - 1)
    }

    /// Rows pushed (valid and rejected).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows that will be given to the model.
    pub fn valid_rows(&self) -> usize {
        self.data.len() / WINDOW_LEN
    }

    /// Rows rejected for non-finite values.
    pub fn rejected_rows(&self) -> usize {
        self.rows.len() - self.valid_rows()
    }

    /// The valid rows, row-major `[valid_rows, 30, 71]`: exactly what the backend receives.
    pub fn valid_data(&self) -> &[f32] {
        &self.data
    }

    /// The rejection of pushed row `row`, `None` when it is valid or out of range.
    pub fn rejection(&self, row: usize) -> Option<RowRejection> {
        match self.rows.get(row) {
            Some(RowSlot::Rejected(r)) => Some(*r),
            _ => None,
        }
    }
}

/// Raw backend output for the valid rows: logits `[batch, 5]` and future positions `[batch, 10, 3, 3]`,
/// row-major. Backends clear and refill it; its allocation is reused across calls.
#[derive(Clone, Debug, Default)]
pub struct RawOutput {
    pub logits: Vec<f32>,
    pub future: Vec<f32>,
}

impl RawOutput {
    /// Empties both buffers, keeping their allocation.
    pub fn clear(&mut self) {
        self.logits.clear();
        self.future.clear();
    }
}

/// The prediction for one row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowPrediction {
    /// `softmax(logits / temperature)` in [`Intent::ALL`] order; sums to 1.
    pub probabilities: [f32; NUM_INTENTS],
    /// Most probable intent (the first one on a tie).
    pub intent: Intent,
    /// Probability of `intent` [0, 1]. For [`PredictionSource::ConstantVelocity`] it is `1 / NUM_INTENTS`, the
    /// lowest possible value.
    pub confidence: f32,
    /// Future positions \[m\], the row of `future_positions` as the model gives it: row-major
    /// `[HORIZON_STEPS, NUM_PREDICTED_POINTS, 3]` (steps 0.1 … 1.0 s; points torso, left wrist, right wrist; x, y,
    /// z), relative to the newest torso point in the bearing-aligned frame of the window. Value `(s, p, i)` is at
    /// `(s * NUM_PREDICTED_POINTS + p) * 3 + i`; [`crate::features::RowMeta::future_to_robot_frame`] maps it to the
    /// robot frame.
    #[serde(with = "flat_future")]
    pub future: [f32; FUTURE_LEN],
    /// Which predictor produced it.
    pub source: PredictionSource,
}

impl RowPrediction {
    /// Future position of point `point` (0 torso, 1 left wrist, 2 right wrist) at step `step` (0 = 0.1 s), model
    /// frame \[m\]. Panics when out of range.
    pub fn future_point(&self, step: usize, point: usize) -> [f32; 3] {
        assert!(step < HORIZON_STEPS && point < NUM_PREDICTED_POINTS, "step {step} point {point} out of range");
        let i = (step * NUM_PREDICTED_POINTS + point) * 3;
        [self.future[i], self.future[i + 1], self.future[i + 2]]
    }
}

/// One entry per pushed row, in push order.
#[derive(Clone, Debug, Default)]
pub struct ModelOutput {
    /// Per row: the prediction or why there is none.
    pub rows: Vec<Result<RowPrediction, RowRejection>>,
    raw: RawOutput,
}

impl ModelOutput {
    /// An empty output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows with a prediction.
    pub fn predicted(&self) -> usize {
        self.rows.iter().filter(|r| r.is_ok()).count()
    }

    /// Rows rejected before inference for a non-finite input.
    pub fn rejected_non_finite_input(&self) -> usize {
        self.rows.iter().filter(|r| matches!(r, Err(RowRejection::NonFiniteInput { .. }))).count()
    }

    /// Rows rejected after inference for a non-finite output.
    pub fn rejected_non_finite_output(&self) -> usize {
        self.rows.iter().filter(|r| matches!(r, Err(RowRejection::NonFiniteOutput))).count()
    }

    /// The raw logits and future positions of the valid rows of the last call (before softmax and screening).
    pub fn raw(&self) -> &RawOutput {
        &self.raw
    }
}

/// What a model is, for status and diagnostics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name (card `name`).
    pub name: String,
    /// Model version (card `version`).
    pub version: String,
    /// Softmax temperature (card `temperature`), > 0.
    pub temperature: f32,
    /// Execution provider that actually runs the model (e.g. `cpu`, `cuda`, `none`).
    pub provider: String,
    /// Which predictor this is.
    pub source: PredictionSource,
}

/// The checks every backend makes before running: `batch >= 1` and `windows.len() == batch * WINDOW_LEN`.
pub fn check_batch(windows: &[f32], batch: usize) -> Result<(), ModelError> {
    if batch == 0 {
        return Err(ModelError::EmptyBatch);
    }
    if windows.len() != batch * WINDOW_LEN {
        return Err(ModelError::InputLength { batch, expected: batch * WINDOW_LEN, got: windows.len() });
    }
    Ok(())
}

/// A predictor of intent and future motion for a batch of windows.
pub trait IntentModel {
    /// Name, version, temperature and execution provider.
    fn info(&self) -> &ModelInfo;

    /// Runs the backend on `batch >= 1` finite windows (`windows.len() == batch * WINDOW_LEN`) and fills `raw`
    /// with `batch * NUM_INTENTS` logits and `batch * FUTURE_LEN` future values.
    ///
    /// Callers use [`IntentModel::predict_into`]; implementations must still refuse `batch == 0`
    /// ([`ModelError::EmptyBatch`]) and a length mismatch ([`ModelError::InputLength`]).
    fn run_valid(&mut self, windows: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), ModelError>;

    /// Predicts every row of `input` into `out` (cleared first; its buffers are reused).
    ///
    /// Rejected rows never reach the backend; when no row is valid, the backend is not called.
    fn predict_into(&mut self, input: &ModelInput, out: &mut ModelOutput) -> Result<(), ModelError> {
        out.rows.clear();
        out.raw.clear();
        let batch = input.valid_rows();
        if batch > 0 {
            self.run_valid(input.valid_data(), batch, &mut out.raw)?;
            check_raw_lengths(&out.raw, batch)?;
        }
        let info = self.info();
        for slot in &input.rows {
            let row = match *slot {
                RowSlot::Rejected(r) => Err(r),
                RowSlot::Valid(k) => row_prediction(
                    &out.raw.logits[k * NUM_INTENTS..(k + 1) * NUM_INTENTS],
                    &out.raw.future[k * FUTURE_LEN..(k + 1) * FUTURE_LEN],
                    info.temperature,
                    info.source,
                ),
            };
            out.rows.push(row);
        }
        Ok(())
    }

    /// Like [`IntentModel::predict_into`], into a new [`ModelOutput`].
    fn predict(&mut self, input: &ModelInput) -> Result<ModelOutput, ModelError> {
        let mut out = ModelOutput::new();
        self.predict_into(input, &mut out)?;
        Ok(out)
    }
}

fn check_raw_lengths(raw: &RawOutput, batch: usize) -> Result<(), ModelError> {
    if raw.logits.len() != batch * NUM_INTENTS {
        return Err(ModelError::OutputLength {
            output: LOGITS_NAME,
            batch,
            expected: batch * NUM_INTENTS,
            got: raw.logits.len(),
        });
    }
    if raw.future.len() != batch * FUTURE_LEN {
        return Err(ModelError::OutputLength {
            output: FUTURE_NAME,
            batch,
            expected: batch * FUTURE_LEN,
            got: raw.future.len(),
        });
    }
    Ok(())
}

/// `softmax(logits / temperature)`, computed in f64 with the maximum subtracted. `None` when a logit is not
/// finite or the temperature is not finite and positive.
pub fn softmax_with_temperature(logits: &[f32], temperature: f32) -> Option<Vec<f32>> {
    if !(temperature.is_finite() && temperature > 0.0) || logits.iter().any(|l| !l.is_finite()) {
        return None;
    }
    let t = f64::from(temperature);
    let max = logits.iter().map(|&l| f64::from(l) / t).fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|&l| (f64::from(l) / t - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    Some(exps.iter().map(|e| (e / sum) as f32).collect())
}

fn row_prediction(
    logits: &[f32],
    future: &[f32],
    temperature: f32,
    source: PredictionSource,
) -> Result<RowPrediction, RowRejection> {
    if future.iter().any(|v| !v.is_finite()) {
        return Err(RowRejection::NonFiniteOutput);
    }
    let probs = softmax_with_temperature(logits, temperature).ok_or(RowRejection::NonFiniteOutput)?;
    let mut probabilities = [0.0_f32; NUM_INTENTS];
    probabilities.copy_from_slice(&probs);
    let mut best = 0;
    for (i, p) in probabilities.iter().enumerate() {
        if *p > probabilities[best] {
            best = i;
        }
    }
    let intent = Intent::from_index(best).ok_or(RowRejection::NonFiniteOutput)?;
    let mut out = [0.0_f32; FUTURE_LEN];
    out.copy_from_slice(future);
    Ok(RowPrediction { probabilities, intent, confidence: probabilities[best], future: out, source })
}

/// Serde of [`RowPrediction::future`] as a sequence of [`FUTURE_LEN`] numbers (serde's own array support stops at
/// 32 elements).
mod flat_future {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::FUTURE_LEN;

    pub(super) fn serialize<S: Serializer>(future: &[f32; FUTURE_LEN], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(future.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f32; FUTURE_LEN], D::Error> {
        let values = Vec::<f32>::deserialize(d)?;
        let len = values.len();
        values.try_into().map_err(|_| D::Error::invalid_length(len, &"the 90 values of one row of future_positions"))
    }
}
