//! Scenario configuration (sizes, ranges, sensor noise) and its validation.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use intent_shared_control_core::model::NUM_INTENTS;

/// Errors of the scenario generator.
#[derive(Debug, Error, PartialEq)]
pub enum ScenarioError {
    /// A configuration value is out of its valid range.
    #[error("scenario config `{field}` = {value} is invalid: {reason}")]
    InvalidConfig { field: &'static str, value: String, reason: &'static str },
}

/// Sensor imperfections (all drawn from the scenario's seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// Standard deviation of the keypoint position noise, each axis \[m\], ≥ 0.
    pub keypoint_sigma_m: f64,
    /// Extra standard deviation along the viewing ray per metre of distance [m/m], ≥ 0 (depth noise).
    pub depth_sigma_per_m: f64,
    /// Probability that a keypoint is dropped in a frame (low confidence, garbage or NaN position), [0, 1].
    pub dropout_prob: f64,
    /// Occlusion events per human per second [1/s], ≥ 0.
    pub occlusion_rate_hz: f64,
    /// Duration range of an occlusion \[s\], `[min, max]`, 0 < min ≤ max.
    pub occlusion_duration_s: [f64; 2],
    /// Fraction of occlusions that hide the whole human (it is absent from the frame); the others hide a body
    /// part, [0, 1].
    pub full_occlusion_fraction: f64,
    /// Tracker id switches (the human gets a new, never used id) per human per second [1/s], ≥ 0.
    pub id_switch_rate_hz: f64,
    /// Id swaps between two humans per second (scenario-wide) [1/s], ≥ 0.
    pub id_swap_rate_hz: f64,
    /// Standard deviation of the capture-stamp jitter \[s\], in [0, 0.1]; bounded to ±0.3 periods, so stamps stay
    /// increasing.
    pub stamp_jitter_s: f64,
    /// Probability that a whole frame is dropped, [0, 0.9].
    pub frame_drop_prob: f64,
    /// Face keypoints (nose, eyes) are not observed when the head faces away from the robot.
    pub face_self_occlusion: bool,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            keypoint_sigma_m: 0.015,
            depth_sigma_per_m: 0.006,
            dropout_prob: 0.03,
            occlusion_rate_hz: 0.05,
            occlusion_duration_s: [0.15, 0.8],
            full_occlusion_fraction: 0.3,
            id_switch_rate_hz: 0.0,
            id_swap_rate_hz: 0.0,
            stamp_jitter_s: 0.002,
            frame_drop_prob: 0.01,
            face_self_occlusion: true,
        }
    }
}

impl NoiseConfig {
    /// No noise at all: exact keypoints, every frame, no occlusion, no id switch.
    pub fn none() -> Self {
        Self {
            keypoint_sigma_m: 0.0,
            depth_sigma_per_m: 0.0,
            dropout_prob: 0.0,
            occlusion_rate_hz: 0.0,
            occlusion_duration_s: [0.1, 0.1],
            full_occlusion_fraction: 0.0,
            id_switch_rate_hz: 0.0,
            id_swap_rate_hz: 0.0,
            stamp_jitter_s: 0.0,
            frame_drop_prob: 0.0,
            face_self_occlusion: false,
        }
    }
}

/// What a scenario contains (YAML/JSON; unknown keys are errors). Ranges are `[min, max]`, drawn uniformly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScenarioConfig {
    /// Nominal frame rate \[Hz\], in [1, 1000].
    pub rate_hz: f64,
    /// Length of the scenario \[s\], in (0, 3600].
    pub duration_s: f64,
    /// Stamp of time 0 \[ns\].
    pub start_stamp_ns: i64,
    /// `frame_id` of the frames (the robot frame).
    pub frame_id: String,
    /// Number of humans, `[min, max]`, 1 ≤ min ≤ max ≤ 64.
    pub humans: [usize; 2],
    /// Relative weights of the episode intents in label order (idle, pass_by, approach_robot, reach_handover,
    /// retreat); ≥ 0, not all 0.
    pub intent_weights: [f64; NUM_INTENTS],
    /// Time of the motion onset of non-idle intents \[s\].
    pub onset_s: [f64; 2],
    /// Body height \[m\], within [1.0, 2.3].
    pub height_m: [f64; 2],
    /// Walking speed of pass_by / approach_robot / retreat [m/s], within (0, 2.5].
    pub walk_speed_mps: [f64; 2],
    /// Start distance from the robot of idle, approach and pass-by humans \[m\].
    pub start_distance_m: [f64; 2],
    /// Closest approach of a pass_by path to the robot \[m\].
    pub pass_distance_m: [f64; 2],
    /// Distance from the robot where approach_robot stops \[m\].
    pub stop_distance_m: [f64; 2],
    /// Start distance of reach_handover humans \[m\].
    pub handover_start_distance_m: [f64; 2],
    /// Start distance of retreat humans \[m\].
    pub retreat_start_distance_m: [f64; 2],
    /// Bearing range of start positions, symmetric around the robot's x axis \[rad\], in (0, π].
    pub max_start_bearing_rad: f64,
    /// Sensor imperfections.
    pub noise: NoiseConfig,
    /// People who approached the robot or handed something over walk away this long after the interaction
    /// ended \[s\], straight away from the robot's start at their walking speed, labelled `retreat`; `None`
    /// (the default): they stay where they are. Draws no random numbers (a scenario without it is unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leave_after_interaction_s: Option<f64>,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        Self {
            rate_hz: 30.0,
            duration_s: 10.0,
            start_stamp_ns: 0,
            frame_id: "base_link".into(),
            humans: [1, 3],
            intent_weights: [1.0; NUM_INTENTS],
            onset_s: [1.2, 5.0],
            height_m: [1.52, 1.95],
            walk_speed_mps: [0.8, 1.6],
            start_distance_m: [2.5, 6.5],
            pass_distance_m: [1.2, 3.5],
            stop_distance_m: [0.7, 1.3],
            handover_start_distance_m: [0.8, 2.2],
            retreat_start_distance_m: [0.8, 3.0],
            max_start_bearing_rad: 1.3,
            noise: NoiseConfig::default(),
            leave_after_interaction_s: None,
        }
    }
}

fn invalid(field: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> ScenarioError {
    ScenarioError::InvalidConfig { field, value: format!("{value:?}"), reason }
}

fn check_range(field: &'static str, r: [f64; 2], lo: f64, hi: f64) -> Result<(), ScenarioError> {
    if !(r[0].is_finite() && r[1].is_finite() && r[0] <= r[1] && r[0] >= lo && r[1] <= hi) {
        return Err(invalid(field, r, "must be finite, min <= max, within the allowed bounds"));
    }
    Ok(())
}

impl ScenarioConfig {
    /// Checks every value; [`Scenario::new`] refuses an invalid config.
    ///
    /// [`Scenario::new`]: super::Scenario::new
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if !(self.rate_hz.is_finite() && (1.0..=1000.0).contains(&self.rate_hz)) {
            return Err(invalid("rate_hz", self.rate_hz, "must be in [1, 1000] Hz"));
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s <= 3600.0) {
            return Err(invalid("duration_s", self.duration_s, "must be in (0, 3600] s"));
        }
        if let Some(w) = self.leave_after_interaction_s {
            if !(w.is_finite() && (0.0..=60.0).contains(&w)) {
                return Err(invalid("leave_after_interaction_s", w, "must be in [0, 60] s"));
            }
        }
        if self.humans[0] == 0 || self.humans[0] > self.humans[1] || self.humans[1] > 64 {
            return Err(invalid("humans", self.humans, "must satisfy 1 <= min <= max <= 64"));
        }
        let w = &self.intent_weights;
        if w.iter().any(|v| !v.is_finite() || *v < 0.0) || w.iter().sum::<f64>() <= 0.0 {
            return Err(invalid("intent_weights", w, "must be finite, >= 0 and not all 0"));
        }
        check_range("onset_s", self.onset_s, 0.0, 3600.0)?;
        check_range("height_m", self.height_m, 1.0, 2.3)?;
        check_range("walk_speed_mps", self.walk_speed_mps, 0.05, 2.5)?;
        check_range("start_distance_m", self.start_distance_m, 0.3, 50.0)?;
        check_range("pass_distance_m", self.pass_distance_m, 0.3, 50.0)?;
        check_range("stop_distance_m", self.stop_distance_m, 0.3, 10.0)?;
        check_range("handover_start_distance_m", self.handover_start_distance_m, 0.3, 10.0)?;
        check_range("retreat_start_distance_m", self.retreat_start_distance_m, 0.3, 50.0)?;
        if !(self.max_start_bearing_rad > 0.0 && self.max_start_bearing_rad <= PI) {
            return Err(invalid("max_start_bearing_rad", self.max_start_bearing_rad, "must be in (0, pi]"));
        }
        let n = &self.noise;
        for (field, v) in [
            ("noise.keypoint_sigma_m", n.keypoint_sigma_m),
            ("noise.depth_sigma_per_m", n.depth_sigma_per_m),
            ("noise.occlusion_rate_hz", n.occlusion_rate_hz),
            ("noise.id_switch_rate_hz", n.id_switch_rate_hz),
            ("noise.id_swap_rate_hz", n.id_swap_rate_hz),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(field, v, "must be finite and >= 0"));
            }
        }
        for (field, v, hi) in [
            ("noise.dropout_prob", n.dropout_prob, 1.0),
            ("noise.full_occlusion_fraction", n.full_occlusion_fraction, 1.0),
            ("noise.frame_drop_prob", n.frame_drop_prob, 0.9),
            ("noise.stamp_jitter_s", n.stamp_jitter_s, 0.1),
        ] {
            if !(v.is_finite() && (0.0..=hi).contains(&v)) {
                return Err(invalid(field, v, "is out of its range"));
            }
        }
        check_range("noise.occlusion_duration_s", n.occlusion_duration_s, 1e-3, 60.0)?;
        Ok(())
    }
}
