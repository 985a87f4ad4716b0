//! The tensor contract of `docs/model_contract.md`: window and horizon sizes, tensor names, the feature layout,
//! and the intent classes in logit order.

use std::fmt;

use serde::{Deserialize, Serialize};

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
