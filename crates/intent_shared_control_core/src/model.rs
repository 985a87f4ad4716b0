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

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod constant_velocity;

pub use constant_velocity::{ConstantVelocityConfig, ConstantVelocityModel};

/// Frames per input window (1.0 s at [`MODEL_RATE_HZ`]).
pub const WINDOW_FRAMES: usize = 30;
/// Features per frame (17 keypoints × 3 + torso × 3 + 17 visibility flags).
pub const FEATURES_PER_FRAME: usize = 71;
/// `f32` values in one window, `WINDOW_FRAMES * FEATURES_PER_FRAME`.
pub const WINDOW_LEN: usize = WINDOW_FRAMES * FEATURES_PER_FRAME;
/// Frame rate of the input window \[Hz\].
pub const MODEL_RATE_HZ: f64 = 30.0;
/// Number of intent classes.
pub const NUM_INTENTS: usize = 5;
/// Predicted future steps.
pub const HORIZON_STEPS: usize = 10;
/// Time between two predicted steps \[s\].
pub const HORIZON_STEP_S: f64 = 0.1;
/// Predicted points per step (torso, left wrist, right wrist).
pub const NUM_PREDICTED_POINTS: usize = 3;
/// `f32` values of one row's `future_positions`, `HORIZON_STEPS * NUM_PREDICTED_POINTS * 3`.
pub const FUTURE_LEN: usize = HORIZON_STEPS * NUM_PREDICTED_POINTS * 3;
/// Name of the model input tensor.
pub const INPUT_NAME: &str = "pose_window";
/// Name of the logits output tensor, `[batch, NUM_INTENTS]`.
pub const LOGITS_NAME: &str = "intent_logits";
/// Name of the future-positions output tensor, `[batch, HORIZON_STEPS, NUM_PREDICTED_POINTS, 3]`.
pub const FUTURE_NAME: &str = "future_positions";
/// Normalisation the model expects (model card field `normalisation`).
pub const NORMALISATION: &str = "torso_centred_bearing_aligned";
/// Names of the predicted points, in output order (model card field `predicted_points`).
pub const PREDICTED_POINT_NAMES: [&str; NUM_PREDICTED_POINTS] = ["torso", "left_wrist", "right_wrist"];

/// Feature index ranges within one frame of the window.
pub mod feature_layout {
    use std::ops::Range;

    /// The 17 keypoints (COCO order) × (x, y, z), relative to the newest torso point, bearing-aligned \[m\].
    pub const KEYPOINTS: Range<usize> = 0..51;
    /// The torso point of the frame relative to the robot, bearing-aligned \[m\].
    pub const TORSO: Range<usize> = 51..54;
    /// Visibility of each keypoint (1.0 observed, 0.0 missing).
    pub const VISIBILITY: Range<usize> = 54..71;
}

/// Intent classes, in the order of the model's logits and of the card's `labels`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Idle = 0,
    PassBy = 1,
    ApproachRobot = 2,
    ReachHandover = 3,
    Retreat = 4,
}

impl Intent {
    /// All intents in logit order.
    pub const ALL: [Intent; NUM_INTENTS] =
        [Intent::Idle, Intent::PassBy, Intent::ApproachRobot, Intent::ReachHandover, Intent::Retreat];
    /// Labels in logit order (model card field `labels`).
    pub const LABELS: [&'static str; NUM_INTENTS] = ["idle", "pass_by", "approach_robot", "reach_handover", "retreat"];

    /// Index in the logits.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The intent at logit index `i`, `None` when out of range.
    pub fn from_index(i: usize) -> Option<Intent> {
        Intent::ALL.get(i).copied()
    }

    /// The label, as in the model card.
    pub fn label(self) -> &'static str {
        Intent::LABELS[self.index()]
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Which predictor produced a prediction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionSource {
    /// The learned model.
    Model,
    /// The constant-velocity baseline; its intent distribution is uniform and carries no information.
    ConstantVelocity,
}

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
    /// Future positions `\[step\]\[point\]\[xyz\]` \[m\] for steps 0.1 … 1.0 s and points (torso, left wrist, right
    /// wrist), relative to the newest torso point in the bearing-aligned frame of the window.
    pub future: [[[f32; 3]; NUM_PREDICTED_POINTS]; HORIZON_STEPS],
    /// Which predictor produced it.
    pub source: PredictionSource,
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
    let mut out = [[[0.0_f32; 3]; NUM_PREDICTED_POINTS]; HORIZON_STEPS];
    for (s, step) in out.iter_mut().enumerate() {
        for (p, point) in step.iter_mut().enumerate() {
            let base = (s * NUM_PREDICTED_POINTS + p) * 3;
            point.copy_from_slice(&future[base..base + 3]);
        }
    }
    Ok(RowPrediction { probabilities, intent, confidence: probabilities[best], future: out, source })
}

/// Errors of the model card.
#[derive(Debug, Error)]
pub enum CardError {
    /// The card is not valid JSON or has unknown / missing fields.
    #[error("model card is not valid: {0}")]
    Parse(String),
    /// A field has a value the contract does not allow.
    #[error("model card field `{field}`: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> CardError {
    CardError::Invalid { field: field.into(), reason: reason.into() }
}

/// One dimension of a tensor shape in the card: a fixed size or the name of a dynamic axis (`"batch"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CardDim {
    Fixed(u64),
    Dynamic(String),
}

impl fmt::Display for CardDim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardDim::Fixed(n) => write!(f, "{n}"),
            CardDim::Dynamic(s) => f.write_str(s),
        }
    }
}

/// A tensor in the card: name, shape, element type (`"float32"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<CardDim>,
    pub dtype: String,
}

impl TensorSpec {
    fn check_against(&self, field: &str, name: &str, fixed: &[u64]) -> Result<(), CardError> {
        if self.name != name {
            return Err(invalid(format!("{field}.name"), format!("is `{}`, the contract says `{name}`", self.name)));
        }
        if self.dtype != "float32" {
            return Err(invalid(format!("{field}.dtype"), format!("is `{}`, the contract says `float32`", self.dtype)));
        }
        let mut expected = vec![CardDim::Dynamic("batch".into())];
        expected.extend(fixed.iter().map(|&d| CardDim::Fixed(d)));
        if self.shape != expected {
            let show = |s: &[CardDim]| s.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            return Err(invalid(
                format!("{field}.shape"),
                format!("is [{}], the contract says [{}]", show(&self.shape), show(&expected)),
            ));
        }
        Ok(())
    }
}

/// `{"start": s, "end": e}` form of a [`FeatureRange`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedRange {
    pub start: usize,
    pub end: usize,
}

/// A `[start, end)` feature index range, written as `[start, end]` or `{"start": s, "end": e}`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FeatureRange {
    Pair([usize; 2]),
    Named(NamedRange),
}

impl FeatureRange {
    /// `(start, end)`, end exclusive.
    pub fn bounds(&self) -> (usize, usize) {
        match *self {
            FeatureRange::Pair([s, e]) | FeatureRange::Named(NamedRange { start: s, end: e }) => (s, e),
        }
    }
}

/// The model card (`models/<model>.card.json`): what the ONNX file is and the contract it was trained to.
///
/// Unknown fields are an error. Parse with [`ModelCard::from_json_str`], which also runs
/// [`ModelCard::validate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// ONNX file name, relative to the card's directory.
    pub onnx_file: String,
    /// Lower-case hex SHA-256 of the ONNX file (64 characters).
    pub sha256: String,
    /// ONNX opset of the default domain.
    pub opset: u32,
    /// Intent labels in logit order; must equal [`Intent::LABELS`].
    pub labels: Vec<String>,
    /// Softmax temperature fitted on validation data, > 0.
    pub temperature: f64,
    /// Input frame rate \[Hz\]; must equal [`MODEL_RATE_HZ`].
    pub rate_hz: f64,
    /// Frames per window; must equal [`WINDOW_FRAMES`].
    pub window: usize,
    /// Time between predicted steps \[s\]; must equal [`HORIZON_STEP_S`].
    pub horizon_step_s: f64,
    /// Predicted steps; must equal [`HORIZON_STEPS`].
    pub horizon_steps: usize,
    /// Names of the predicted points; must equal [`PREDICTED_POINT_NAMES`].
    pub predicted_points: Vec<String>,
    /// The input tensor.
    pub input: TensorSpec,
    /// The output tensors (`intent_logits`, `future_positions`).
    pub outputs: Vec<TensorSpec>,
    /// Feature index ranges by name; must tile `[0, FEATURES_PER_FRAME)` without gaps or overlaps.
    pub feature_layout: BTreeMap<String, FeatureRange>,
    /// Normalisation; must equal [`NORMALISATION`].
    pub normalisation: String,
    /// Keypoints below this confidence count as missing, in [0, 1].
    pub min_keypoint_confidence: f64,
    /// Data provenance (generator seeds, counts); free-form.
    #[serde(default)]
    pub data: serde_json::Value,
    /// Evaluation metrics as the Rust evaluation prints them; free-form.
    #[serde(default)]
    pub metrics: serde_json::Value,
    /// Training provenance (framework, epochs, seconds); free-form.
    #[serde(default)]
    pub training: serde_json::Value,
}

impl ModelCard {
    /// Parses and validates a card.
    pub fn from_json_str(json: &str) -> Result<ModelCard, CardError> {
        let card: ModelCard = serde_json::from_str(json).map_err(|e| CardError::Parse(e.to_string()))?;
        card.validate()?;
        Ok(card)
    }

    /// Checks every field against the tensor contract of `docs/model_contract.md`.
    pub fn validate(&self) -> Result<(), CardError> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "is empty"));
        }
        if self.version.trim().is_empty() {
            return Err(invalid("version", "is empty"));
        }
        if self.onnx_file.trim().is_empty() {
            return Err(invalid("onnx_file", "is empty"));
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(invalid("sha256", "must be 64 lower-case hex characters"));
        }
        if self.opset == 0 {
            return Err(invalid("opset", "must be > 0"));
        }
        if self.labels.iter().map(String::as_str).ne(Intent::LABELS) {
            return Err(invalid("labels", format!("are {:?}, the contract says {:?}", self.labels, Intent::LABELS)));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(invalid("temperature", format!("{} is not finite and > 0", self.temperature)));
        }
        if (self.rate_hz - MODEL_RATE_HZ).abs() > 1e-9 {
            return Err(invalid("rate_hz", format!("{} Hz, the contract says {MODEL_RATE_HZ} Hz", self.rate_hz)));
        }
        if self.window != WINDOW_FRAMES {
            return Err(invalid("window", format!("{}, the contract says {WINDOW_FRAMES}", self.window)));
        }
        if (self.horizon_step_s - HORIZON_STEP_S).abs() > 1e-9 {
            return Err(invalid(
                "horizon_step_s",
                format!("{} s, the contract says {HORIZON_STEP_S} s", self.horizon_step_s),
            ));
        }
        if self.horizon_steps != HORIZON_STEPS {
            return Err(invalid("horizon_steps", format!("{}, the contract says {HORIZON_STEPS}", self.horizon_steps)));
        }
        if self.predicted_points.iter().map(String::as_str).ne(PREDICTED_POINT_NAMES) {
            return Err(invalid(
                "predicted_points",
                format!("are {:?}, the contract says {:?}", self.predicted_points, PREDICTED_POINT_NAMES),
            ));
        }
        self.input.check_against("input", INPUT_NAME, &[WINDOW_FRAMES as u64, FEATURES_PER_FRAME as u64])?;
        if self.outputs.len() != 2 {
            return Err(invalid("outputs", format!("has {} entries, the contract has 2", self.outputs.len())));
        }
        let logits = self.output(LOGITS_NAME).ok_or_else(|| invalid("outputs", format!("no `{LOGITS_NAME}`")))?;
        logits.check_against("outputs[intent_logits]", LOGITS_NAME, &[NUM_INTENTS as u64])?;
        let future = self.output(FUTURE_NAME).ok_or_else(|| invalid("outputs", format!("no `{FUTURE_NAME}`")))?;
        future.check_against(
            "outputs[future_positions]",
            FUTURE_NAME,
            &[HORIZON_STEPS as u64, NUM_PREDICTED_POINTS as u64, 3],
        )?;
        self.validate_feature_layout()?;
        if self.normalisation != NORMALISATION {
            return Err(invalid(
                "normalisation",
                format!("is `{}`, the contract says `{NORMALISATION}`", self.normalisation),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_keypoint_confidence) {
            return Err(invalid(
                "min_keypoint_confidence",
                format!("{} is not in [0, 1]", self.min_keypoint_confidence),
            ));
        }
        Ok(())
    }

    /// The output spec named `name`.
    pub fn output(&self, name: &str) -> Option<&TensorSpec> {
        self.outputs.iter().find(|o| o.name == name)
    }

    /// The softmax temperature as `f32`.
    pub fn temperature_f32(&self) -> f32 {
        self.temperature as f32
    }

    fn validate_feature_layout(&self) -> Result<(), CardError> {
        let mut ranges: Vec<(usize, usize, &str)> =
            self.feature_layout.iter().map(|(k, r)| (r.bounds().0, r.bounds().1, k.as_str())).collect();
        ranges.sort_unstable();
        let mut next = 0;
        for (start, end, name) in ranges {
            if start >= end {
                return Err(invalid(format!("feature_layout.{name}"), format!("[{start}, {end}) is empty")));
            }
            if start != next {
                return Err(invalid(
                    format!("feature_layout.{name}"),
                    format!("starts at {start}, expected {next} (gap or overlap)"),
                ));
            }
            next = end;
        }
        if next != FEATURES_PER_FRAME {
            return Err(invalid(
                "feature_layout",
                format!("covers [0, {next}), the contract has {FEATURES_PER_FRAME} features"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid card, as JSON, for tests here and in submodules.
    pub(crate) fn card_json() -> serde_json::Value {
        serde_json::json!({
            "name": "intent_gru", "version": "0.1.0", "onnx_file": "intent_model.onnx",
            "sha256": "0".repeat(64), "opset": 17, "labels": Intent::LABELS, "temperature": 1.5,
            "rate_hz": 30.0, "window": 30, "horizon_step_s": 0.1, "horizon_steps": 10,
            "predicted_points": PREDICTED_POINT_NAMES,
            "input": {"name": "pose_window", "shape": ["batch", 30, 71], "dtype": "float32"},
            "outputs": [
                {"name": "intent_logits", "shape": ["batch", 5], "dtype": "float32"},
                {"name": "future_positions", "shape": ["batch", 10, 3, 3], "dtype": "float32"}
            ],
            "feature_layout": {"keypoints": [0, 51], "torso": {"start": 51, "end": 54}, "visibility": [54, 71]},
            "normalisation": "torso_centred_bearing_aligned", "min_keypoint_confidence": 0.3,
            "data": {"seeds": [1, 2]}, "metrics": {}, "training": {"framework": "torch"}
        })
    }

    fn parse(v: &serde_json::Value) -> Result<ModelCard, CardError> {
        ModelCard::from_json_str(&v.to_string())
    }

    #[test]
    fn valid_card_parses_and_round_trips() {
        let card = parse(&card_json()).expect("valid card");
        assert_eq!(card.temperature_f32(), 1.5);
        let again = parse(&serde_json::to_value(&card).expect("serialise")).expect("round trip");
        assert_eq!(card, again);
    }

    #[test]
    fn unknown_and_missing_fields_are_errors() {
        let mut v = card_json();
        v["temprature"] = serde_json::json!(1.0);
        assert!(matches!(parse(&v), Err(CardError::Parse(m)) if m.contains("temprature")));
        let mut v = card_json();
        v.as_object_mut().map(|o| o.remove("sha256"));
        assert!(matches!(parse(&v), Err(CardError::Parse(m)) if m.contains("sha256")));
    }

    #[test]
    fn contract_violations_name_the_field() {
        let cases: Vec<(&str, serde_json::Value, &str)> = vec![
            ("/window", serde_json::json!(29), "window"),
            ("/temperature", serde_json::json!(0.0), "temperature"),
            ("/sha256", serde_json::json!("ABC"), "sha256"),
            (
                "/labels",
                serde_json::json!(["idle", "pass_by", "approach_robot", "retreat", "reach_handover"]),
                "labels",
            ),
            ("/input/shape", serde_json::json!(["batch", 30, 51]), "input.shape"),
            ("/input/name", serde_json::json!("pose"), "input.name"),
            ("/input/dtype", serde_json::json!("float64"), "input.dtype"),
            ("/outputs/1/shape", serde_json::json!(["batch", 10, 3]), "outputs[future_positions].shape"),
            ("/feature_layout/torso", serde_json::json!([52, 54]), "feature_layout.torso"),
            ("/normalisation", serde_json::json!("none"), "normalisation"),
            ("/min_keypoint_confidence", serde_json::json!(1.5), "min_keypoint_confidence"),
        ];
        for (pointer, value, field) in cases {
            let mut v = card_json();
            *v.pointer_mut(pointer).expect("pointer exists") = value;
            match parse(&v) {
                Err(CardError::Invalid { field: f, .. }) => assert_eq!(f, field, "{pointer}"),
                other => panic!("{pointer}: expected Invalid({field}), got {other:?}"),
            }
        }
    }

    fn window(fill: f32) -> Vec<f32> {
        vec![fill; WINDOW_LEN]
    }

    #[test]
    fn input_screens_non_finite_rows() {
        let mut input = ModelInput::new();
        let mut bad = window(0.5);
        bad[3 * FEATURES_PER_FRAME + 7] = f32::NAN;
        let mut inf = window(0.5);
        inf[WINDOW_LEN - 1] = f32::INFINITY;
        assert_eq!(input.push_window(&window(0.1)).expect("ok"), 0);
        assert_eq!(input.push_window(&bad).expect("ok"), 1);
        assert_eq!(input.push_window(&inf).expect("ok"), 2);
        assert_eq!(input.push_window(&window(0.2)).expect("ok"), 3);
        assert_eq!((input.len(), input.valid_rows(), input.rejected_rows()), (4, 2, 2));
        assert_eq!(input.valid_data().len(), 2 * WINDOW_LEN);
        assert!(input.valid_data().iter().all(|v| v.is_finite()));
        assert_eq!(input.rejection(1), Some(RowRejection::NonFiniteInput { frame: 3, feature: 7 }));
        assert_eq!(
            input.rejection(2),
            Some(RowRejection::NonFiniteInput { frame: WINDOW_FRAMES - 1, feature: FEATURES_PER_FRAME - 1 })
        );
        assert!(matches!(input.push_window(&[0.0; 10]), Err(ModelError::WindowLength { got: 10, .. })));
        assert!(matches!(ModelInput::from_flat(&[0.0; WINDOW_LEN + 1]), Err(ModelError::BatchLength { .. })));
        input.clear();
        assert!(input.is_empty());
    }

    /// A backend that records what it was given and returns scripted outputs.
    struct Scripted {
        info: ModelInfo,
        calls: Vec<usize>,
        logits: Vec<f32>,
        nan_future_row: Option<usize>,
    }

    impl IntentModel for Scripted {
        fn info(&self) -> &ModelInfo {
            &self.info
        }
        fn run_valid(&mut self, windows: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), ModelError> {
            assert!(windows.iter().all(|v| v.is_finite()), "non-finite input reached the backend");
            self.calls.push(batch);
            for _ in 0..batch {
                raw.logits.extend_from_slice(&self.logits);
            }
            raw.future.resize(batch * FUTURE_LEN, 0.25);
            if let Some(r) = self.nan_future_row {
                raw.future[r * FUTURE_LEN + 5] = f32::NAN;
            }
            Ok(())
        }
    }

    fn scripted(logits: Vec<f32>) -> Scripted {
        Scripted {
            info: ModelInfo {
                name: "s".into(),
                version: "1".into(),
                temperature: 2.0,
                provider: "none".into(),
                source: PredictionSource::Model,
            },
            calls: vec![],
            logits,
            nan_future_row: None,
        }
    }

    #[test]
    fn predict_applies_temperature_and_keeps_row_order() {
        let mut m = scripted(vec![0.0, 2.0, 0.0, 0.0, 0.0]);
        let mut bad = window(0.0);
        bad[0] = f32::NEG_INFINITY;
        let input = ModelInput::from_flat(&[window(0.0), bad, window(1.0)].concat()).expect("input");
        let out = m.predict(&input).expect("predict");
        assert_eq!(m.calls, vec![2]);
        assert_eq!((out.predicted(), out.rejected_non_finite_input()), (2, 1));
        assert!(matches!(out.rows[1], Err(RowRejection::NonFiniteInput { frame: 0, feature: 0 })));
        let p = out.rows[0].as_ref().expect("row 0");
        // softmax([0, 1, 0, 0, 0]) with T = 2: e / (e + 4).
        let e = std::f32::consts::E;
        assert!((p.probabilities[1] - e / (e + 4.0)).abs() < 1e-6);
        assert!((p.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(p.intent, Intent::PassBy);
        assert_eq!(p.confidence, p.probabilities[1]);
        assert_eq!(p.future[9][2], [0.25; 3]);
    }

    #[test]
    fn all_rejected_never_calls_the_backend() {
        let mut m = scripted(vec![0.0; 5]);
        let mut bad = window(0.0);
        bad[100] = f32::NAN;
        let out = m.predict(&ModelInput::from_flat(&[bad.clone(), bad].concat()).expect("input")).expect("predict");
        assert!(m.calls.is_empty());
        assert_eq!((out.rejected_non_finite_input(), out.predicted()), (2, 0));
        let out = m.predict(&ModelInput::new()).expect("empty");
        assert!(m.calls.is_empty() && out.rows.is_empty());
    }

    #[test]
    fn non_finite_outputs_are_rejected_per_row() {
        let mut m = scripted(vec![0.0; 5]);
        m.nan_future_row = Some(1);
        let out = m.predict(&ModelInput::from_flat(&[window(0.0), window(0.0)].concat()).expect("in")).expect("p");
        assert!(out.rows[0].is_ok());
        assert_eq!(out.rows[1], Err(RowRejection::NonFiniteOutput));
        assert_eq!((out.rejected_non_finite_output(), out.predicted(), out.rejected_non_finite_input()), (1, 1, 0));
        let mut m = scripted(vec![0.0, f32::NAN, 0.0, 0.0, 0.0]);
        let out = m.predict(&ModelInput::from_flat(&window(0.0)).expect("in")).expect("p");
        assert_eq!(out.rows[0], Err(RowRejection::NonFiniteOutput));
    }

    #[test]
    fn wrong_backend_output_length_is_an_error() {
        struct Short(ModelInfo);
        impl IntentModel for Short {
            fn info(&self) -> &ModelInfo {
                &self.0
            }
            fn run_valid(&mut self, _: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), ModelError> {
                raw.logits.resize(batch * NUM_INTENTS, 0.0);
                raw.future.resize(batch * FUTURE_LEN - 1, 0.0);
                Ok(())
            }
        }
        let mut m = Short(scripted(vec![]).info);
        let err = m.predict(&ModelInput::from_flat(&window(0.0)).expect("in")).expect_err("short output");
        assert!(matches!(err, ModelError::OutputLength { output: FUTURE_NAME, .. }), "{err}");
    }

    #[test]
    fn softmax_is_stable_and_refuses_bad_input() {
        let p = softmax_with_temperature(&[1000.0, 1000.0, -1000.0, 0.0, 0.0], 1.0).expect("finite");
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6);
        assert!(softmax_with_temperature(&[0.0; 5], 0.0).is_none());
        assert!(softmax_with_temperature(&[f32::NAN; 5], 1.0).is_none());
    }

    #[test]
    fn intent_labels_round_trip() {
        for (i, intent) in Intent::ALL.iter().enumerate() {
            assert_eq!(intent.index(), i);
            assert_eq!(Intent::from_index(i), Some(*intent));
            assert_eq!(intent.label(), Intent::LABELS[i]);
        }
        assert_eq!(Intent::from_index(NUM_INTENTS), None);
    }
}
