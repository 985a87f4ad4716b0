//! Replay options and the per-decision records, agreement and input counts a replay produces.

use std::collections::BTreeMap;

use intent_shared_control_core::{ControllerConfig, Decision, Twist};
use serde::Serialize;

use crate::ros::convert::SkeletonLimits;

/// When the controller decides.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepMode {
    /// After every input and every control period (as the node).
    Events,
    /// At the recorded status stamps.
    Recorded,
}

/// Where the controller's predictions come from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionSource {
    /// The recorded `humans/intent`.
    Recorded,
    /// The predictor given to [`Replay::new`], run on every skeleton message (recorded predictions ignored).
    ///
    /// [`Replay::new`]: super::Replay::new
    Predictor,
    /// The recorded `humans/intent` with each forecast replaced by where the person really went (the bag's
    /// ground truth, else its observed skeletons, moved with `/odom` or the recorded `cmd_vel`; see
    /// [`crate::bag::lookahead`]): the intents as recorded, a perfect forecast. What the chain would have done
    /// with a perfect predictor: the false stops left are the price of perception, not of prediction.
    TrueFuture,
    /// No predictions.
    None,
}

impl PredictionSource {
    /// Whether the recorded `humans/intent` drives the controller.
    pub fn uses_recorded(self) -> bool {
        matches!(self, PredictionSource::Recorded | PredictionSource::TrueFuture)
    }
}

/// Replay options.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub controller: ControllerConfig,
    /// Periodic decision rate in [`StepMode::Events`] \[Hz\].
    pub control_rate: f64,
    pub step: StepMode,
    pub predictions: PredictionSource,
    pub skeleton_limits: SkeletonLimits,
    /// frame_id of the written cmd_vel and status.
    pub cmd_frame_id: String,
    /// Topic prefix of the bag (e.g. `/robot1` for a namespaced system; empty for the root namespace).
    pub namespace: String,
    /// Frame of the bag's odometry poses (the predictor node's `odometry_frame_id`, REP 105's `odom` by default).
    pub odom_frame: String,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        let controller = ControllerConfig::default();
        let expected_frame = controller.safety.validation.expected_frame.clone();
        ReplayOptions {
            controller,
            control_rate: 50.0,
            step: StepMode::Events,
            predictions: PredictionSource::Recorded,
            skeleton_limits: SkeletonLimits { max_humans: 64, expected_frame },
            cmd_frame_id: "base_link".into(),
            namespace: String::new(),
            odom_frame: crate::ros::convert::ODOM_FRAME.to_owned(),
        }
    }
}

/// One decision and what the judge and the reports need next to it.
#[derive(Clone, Debug)]
pub struct Cycle {
    pub decision: Decision,
    /// Probabilities of the newest prediction for the nearest human (intent order of the model card).
    pub nearest_probabilities: Option<[f32; 5]>,
    /// The recorded decision at this stamp ([`StepMode::Recorded`] only).
    pub recorded: Option<RecordedDecision>,
}

/// What the recorded system decided (from `shared_control/status`).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedDecision {
    pub mode: u8,
    pub alpha: f32,
    pub output: Twist,
}

/// Agreement of a [`StepMode::Recorded`] replay with the recorded decisions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Agreement {
    pub compared: u64,
    pub same_mode: u64,
    /// Largest |Δ| of any output twist component [m/s or rad/s].
    pub max_output_diff: f64,
    /// Largest |Δα|.
    pub max_alpha_diff: f64,
    /// Cycles whose output differs by more than 1e-6 in some component.
    pub output_mismatches: u64,
    /// Recorded decisions based on an input the bag does not have (the recorder missed it: best-effort
    /// inputs under load); from the first of them on, the replay cannot be expected to agree exactly.
    pub decisions_with_missing_inputs: u64,
    /// Decisions compared before the first one with a missing input, and how many of them differ (mode or
    /// output): 0 is the expectation.
    pub compared_before_missing: u64,
    pub mismatches_before_missing: u64,
}

/// Counts of the inputs the replay read and rejected.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InputCounts {
    pub joy: u64,
    pub skeletons: u64,
    pub predictions: u64,
    pub assist: u64,
    pub odometry: u64,
    pub truth: u64,
    pub recorded_status: u64,
    pub other: u64,
    /// Rejected inputs by reason (the node's counter names).
    pub rejected: BTreeMap<String, u64>,
}
