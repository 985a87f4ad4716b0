//! The model card (`models/<model>.card.json`) and its checks against the tensor contract.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{
    Intent, FEATURES_PER_FRAME, FUTURE_NAME, HORIZON_STEPS, HORIZON_STEP_S, INPUT_NAME, LOGITS_NAME, MODEL_RATE_HZ,
    NORMALISATION, NUM_INTENTS, NUM_PREDICTED_POINTS, PREDICTED_POINT_NAMES, WINDOW_FRAMES,
};

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

    /// The real-data forecast error bound the card states (`training.real_data_forecast_error_bound`): `None`
    /// when it states none, an error naming the field when the one it states is not usable or does not fit
    /// the card's own forecast (another step, more steps than forecast; see [`crate::forecast_check`]).
    pub fn forecast_bound(&self) -> Option<Result<crate::forecast_check::ForecastBound, String>> {
        let b = crate::forecast_check::ForecastBound::from_card_training(&self.training)?;
        Some(b.and_then(|b| {
            let field = "training.real_data_forecast_error_bound";
            if (b.step_s - self.horizon_step_s).abs() > 1e-9 {
                return Err(format!(
                    "{field}: `step_s` {} is not the card's horizon_step_s {}",
                    b.step_s, self.horizon_step_s
                ));
            }
            if b.metres.len() > self.horizon_steps {
                return Err(format!(
                    "{field}: {} steps in `metres`, the card forecasts {}",
                    b.metres.len(),
                    self.horizon_steps
                ));
            }
            Ok(b)
        }))
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
