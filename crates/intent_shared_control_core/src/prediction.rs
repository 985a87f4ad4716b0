//! Predictions of one human's intent and near-future motion, as the assistance policy and the safety chain
//! consume them.
//!
//! A [`HumanPrediction`] is produced by a predictor (the learned model or the constant-velocity baseline, see
//! [`crate::model`]) and is expressed in the **robot frame** (the frame of the controller's command, x forward,
//! y left, z up) in metres. The [`Intent`] labels are those of the model contract (`docs/model_contract.md`).

use nalgebra::Point3;
use serde::{Deserialize, Serialize};

pub use crate::model::Intent;
use crate::model::{RowPrediction, NUM_INTENTS};
use crate::skeleton::HumanId;
use crate::time::Stamp;

/// Index of the torso point (hip midpoint) in one step of [`HumanPrediction::future`].
pub const TORSO: usize = 0;
/// Index of the left wrist in one step of [`HumanPrediction::future`].
pub const LEFT_WRIST: usize = 1;
/// Index of the right wrist in one step of [`HumanPrediction::future`].
pub const RIGHT_WRIST: usize = 2;

/// Intent and future motion of one tracked human.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumanPrediction {
    /// Tracker id of the human (matches `HumanSkeleton::id`).
    pub human_id: HumanId,
    /// Stamp of the newest skeleton the prediction was made from (source stamp). Step `k` (1-based) of
    /// `future` is the predicted position at `stamp + k · horizon_step`.
    pub stamp: Stamp,
    /// Calibrated intent probabilities in [`Intent::ALL`] order (idle, pass_by, approach_robot, reach_handover,
    /// retreat); each in [0, 1], summing to 1.
    pub probabilities: [f32; NUM_INTENTS],
    /// Calibrated confidence of the prediction [0, 1]: the probability of the most likely intent. A predictor
    /// without intent information (constant velocity) reports `1 / 5`.
    pub confidence: f32,
    /// Time between two future steps \[s\], > 0.
    pub horizon_step: f64,
    /// Predicted positions per future step of the torso (hip midpoint), left wrist and right wrist, indexed by
    /// [`TORSO`], [`LEFT_WRIST`], [`RIGHT_WRIST`]; robot frame \[m\]. Step `k` (0-based) is at
    /// `stamp + (k + 1) · horizon_step`.
    pub future: Vec<[Point3<f64>; 3]>,
}

impl HumanPrediction {
    /// The most probable intent (the first one on a tie; `Idle` when a probability is not finite).
    pub fn intent(&self) -> Intent {
        let mut best = 0;
        for (i, p) in self.probabilities.iter().enumerate() {
            if !p.is_finite() {
                return Intent::Idle;
            }
            if *p > self.probabilities[best] {
                best = i;
            }
        }
        Intent::from_index(best).unwrap_or(Intent::Idle)
    }

    /// Probability of `intent` [0, 1].
    pub fn probability(&self, intent: Intent) -> f32 {
        self.probabilities[intent.index()]
    }

    /// Time of future step `k` (0-based) relative to `now` \[s\] (negative when that step is already past).
    pub fn step_time_from(&self, k: usize, now: Stamp) -> f64 {
        (k as f64 + 1.0) * self.horizon_step - now.seconds_since(self.stamp)
    }

    /// True when every number is finite, the probabilities and confidence lie in [0, 1], and `horizon_step > 0`.
    pub fn is_valid(&self) -> bool {
        let unit = |v: f32| v.is_finite() && (0.0..=1.0).contains(&v);
        self.probabilities.iter().all(|p| unit(*p))
            && unit(self.confidence)
            && self.horizon_step.is_finite()
            && self.horizon_step > 0.0
            && self.future.iter().flatten().all(|p| p.iter().all(|v| v.is_finite()))
    }

    /// Builds a robot-frame prediction from one model row and the row's metadata (reference point and bearing
    /// of the window it came from). `None` when the row's future positions are not finite.
    pub fn from_model_row(meta: &crate::features::RowMeta, row: &RowPrediction, horizon_step: f64) -> Option<Self> {
        let future = meta.future_to_robot_frame(&row.future)?;
        Some(HumanPrediction {
            human_id: meta.human_id,
            stamp: meta.stamp,
            probabilities: row.probabilities,
            confidence: row.confidence,
            horizon_step,
            future,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(p: [f32; 5]) -> HumanPrediction {
        HumanPrediction {
            human_id: 1,
            stamp: Stamp::from_secs_f64(1.0),
            probabilities: p,
            confidence: p.iter().copied().fold(0.0, f32::max),
            horizon_step: 0.1,
            future: vec![[Point3::new(1.0, 0.0, 1.0); 3]; 10],
        }
    }

    #[test]
    fn intent_is_argmax() {
        assert_eq!(pred([0.1, 0.1, 0.6, 0.1, 0.1]).intent(), Intent::ApproachRobot);
        assert_eq!(pred([0.2; 5]).intent(), Intent::Idle);
    }

    #[test]
    fn validity_rejects_non_finite_and_out_of_range() {
        assert!(pred([0.2; 5]).is_valid());
        let mut p = pred([0.2; 5]);
        p.future[3][1].x = f64::NAN;
        assert!(!p.is_valid());
        let mut p = pred([0.2; 5]);
        p.confidence = 1.5;
        assert!(!p.is_valid());
        let mut p = pred([0.2; 5]);
        p.horizon_step = 0.0;
        assert!(!p.is_valid());
    }

    #[test]
    fn step_times_are_relative_to_now() {
        let p = pred([0.2; 5]);
        assert!((p.step_time_from(0, Stamp::from_secs_f64(1.05)) - 0.05).abs() < 1e-9);
        assert!((p.step_time_from(9, Stamp::from_secs_f64(1.0)) - 1.0).abs() < 1e-9);
    }
}
