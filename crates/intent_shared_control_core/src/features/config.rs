//! Settings of the feature pipeline.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors of the feature pipeline's configuration.
#[derive(Debug, Error, PartialEq)]
pub enum FeatureError {
    /// A configuration value is out of its valid range.
    #[error("feature config `{field}` = {value} is invalid: {reason}")]
    InvalidConfig { field: &'static str, value: String, reason: &'static str },
}

/// Feature pipeline settings (YAML/JSON; unknown keys are errors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureConfig {
    /// Keypoints with a lower confidence are missing, in [0, 1]. Must equal the model card's value.
    pub min_keypoint_confidence: f32,
    /// A human not seen for longer than this (relative to the newest stamp seen) is forgotten \[s\], > 0.
    pub eviction_timeout_s: f64,
    /// Hard cap on tracked humans, ≥ 1; a new id beyond it evicts the least recently seen human.
    pub max_humans: usize,
    /// Raw skeletons kept per human \[frames\], in [2, 4096]. Must cover the 1 s window at the input rate
    /// (e.g. 128 covers inputs up to ~120 Hz); older skeletons are dropped first.
    pub history_capacity: usize,
    /// Longest time between two observations of a keypoint that is interpolated across \[s\], ≥ 0.
    pub max_interpolation_gap_s: f64,
    /// A human needs at least this much history (newest − oldest kept stamp) before a window is built \[s\],
    /// in [0, 1].
    pub min_history_s: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            min_keypoint_confidence: 0.3,
            eviction_timeout_s: 1.0,
            max_humans: 64,
            history_capacity: 128,
            max_interpolation_gap_s: 0.2,
            min_history_s: 0.0,
        }
    }
}

impl FeatureConfig {
    /// Checks every value; the pipeline refuses an invalid config.
    pub fn validate(&self) -> Result<(), FeatureError> {
        fn bad(field: &'static str, value: impl ToString, reason: &'static str) -> Result<(), FeatureError> {
            Err(FeatureError::InvalidConfig { field, value: value.to_string(), reason })
        }
        if !(0.0..=1.0).contains(&self.min_keypoint_confidence) {
            return bad("min_keypoint_confidence", self.min_keypoint_confidence, "must be in [0, 1]");
        }
        if !(self.eviction_timeout_s.is_finite() && self.eviction_timeout_s > 0.0) {
            return bad("eviction_timeout_s", self.eviction_timeout_s, "must be finite and > 0");
        }
        if self.max_humans == 0 || self.max_humans > 4096 {
            return bad("max_humans", self.max_humans, "must be in [1, 4096]");
        }
        if !(2..=4096).contains(&self.history_capacity) {
            return bad("history_capacity", self.history_capacity, "must be in [2, 4096]");
        }
        if !(self.max_interpolation_gap_s.is_finite() && self.max_interpolation_gap_s >= 0.0) {
            return bad("max_interpolation_gap_s", self.max_interpolation_gap_s, "must be finite and >= 0");
        }
        if !(0.0..=1.0).contains(&self.min_history_s) {
            return bad("min_history_s", self.min_history_s, "must be in [0, 1]");
        }
        Ok(())
    }
}
