//! Human skeletons (COCO-17 keypoints) as the core sees them.

use nalgebra::Point3;
use serde::{Deserialize, Serialize};

use crate::time::Stamp;

/// Number of body keypoints per human (COCO-17 order, see [`keypoint`]).
pub const NUM_KEYPOINTS: usize = 17;

/// COCO-17 keypoint indices (the order of `HumanSkeleton.keypoints` in the message).
pub mod keypoint {
    pub const NOSE: usize = 0;
    pub const LEFT_EYE: usize = 1;
    pub const RIGHT_EYE: usize = 2;
    pub const LEFT_EAR: usize = 3;
    pub const RIGHT_EAR: usize = 4;
    pub const LEFT_SHOULDER: usize = 5;
    pub const RIGHT_SHOULDER: usize = 6;
    pub const LEFT_ELBOW: usize = 7;
    pub const RIGHT_ELBOW: usize = 8;
    pub const LEFT_WRIST: usize = 9;
    pub const RIGHT_WRIST: usize = 10;
    pub const LEFT_HIP: usize = 11;
    pub const RIGHT_HIP: usize = 12;
    pub const LEFT_KNEE: usize = 13;
    pub const RIGHT_KNEE: usize = 14;
    pub const LEFT_ANKLE: usize = 15;
    pub const RIGHT_ANKLE: usize = 16;
    /// Names in index order.
    pub const NAMES: [&str; super::NUM_KEYPOINTS] = [
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ];
}

/// Stable tracker id of a human.
pub type HumanId = u32;

/// One keypoint: position \[m\] in the frame's coordinates and detection confidence [0, 1] (0 = not observed).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Keypoint {
    pub position: Point3<f64>,
    pub confidence: f32,
}

impl Keypoint {
    /// A keypoint the tracker did not observe.
    pub const MISSING: Keypoint = Keypoint { position: Point3::new(f64::NAN, f64::NAN, f64::NAN), confidence: 0.0 };

    /// True when the keypoint was observed and its position is usable.
    pub fn is_observed(&self) -> bool {
        self.confidence > 0.0 && self.position.iter().all(|v| v.is_finite())
    }
}

/// One tracked human.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumanSkeleton {
    pub id: HumanId,
    pub keypoints: [Keypoint; NUM_KEYPOINTS],
}

impl HumanSkeleton {
    /// Observed keypoints only.
    pub fn observed(&self) -> impl Iterator<Item = &Keypoint> {
        self.keypoints.iter().filter(|k| k.is_observed())
    }
}

/// All humans of one capture, with the capture stamp and the frame of the positions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkeletonFrame {
    pub stamp: Stamp,
    pub frame_id: String,
    pub humans: Vec<HumanSkeleton>,
}
