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

    /// The torso (hip midpoint) when both hips are observed.
    pub fn torso(&self) -> Option<Point3<f64>> {
        let (l, r) = (&self.keypoints[keypoint::LEFT_HIP], &self.keypoints[keypoint::RIGHT_HIP]);
        (l.is_observed() && r.is_observed()).then(|| nalgebra::center(&l.position, &r.position))
    }

    /// The points a forecast tracks, in its order (torso, left wrist, right wrist; see
    /// [`crate::prediction::HumanPrediction::future`]) when the torso is observed; a wrist not observed is
    /// replaced by the torso.
    pub fn tracked_points(&self) -> Option<[Point3<f64>; 3]> {
        let torso = self.torso()?;
        let wrist = |i: usize| if self.keypoints[i].is_observed() { self.keypoints[i].position } else { torso };
        Some([torso, wrist(keypoint::LEFT_WRIST), wrist(keypoint::RIGHT_WRIST)])
    }

    /// The tracked points (torso, left wrist, right wrist) each on its own: a point is `None` unless its
    /// keypoints (both hips for the torso) reach `min_confidence` and are finite, as the feature pipeline
    /// counts a keypoint observed.
    pub fn observed_points(&self, min_confidence: f32) -> [Option<Point3<f64>>; 3] {
        let seen = |i: usize| {
            let k = &self.keypoints[i];
            (k.confidence >= min_confidence && k.position.iter().all(|v| v.is_finite())).then_some(k.position)
        };
        let torso = seen(keypoint::LEFT_HIP).zip(seen(keypoint::RIGHT_HIP)).map(|(l, r)| nalgebra::center(&l, &r));
        [torso, seen(keypoint::LEFT_WRIST), seen(keypoint::RIGHT_WRIST)]
    }
}

/// The torso (hip midpoint) of a body given by all its keypoint positions (ground truth).
pub fn torso_point(k: &[Point3<f64>; NUM_KEYPOINTS]) -> Point3<f64> {
    nalgebra::center(&k[keypoint::LEFT_HIP], &k[keypoint::RIGHT_HIP])
}

/// The points a forecast tracks (torso, left wrist, right wrist) of a body given by all its keypoint positions.
pub fn tracked_points(k: &[Point3<f64>; NUM_KEYPOINTS]) -> [Point3<f64>; 3] {
    [torso_point(k), k[keypoint::LEFT_WRIST], k[keypoint::RIGHT_WRIST]]
}

/// All humans of one capture, with the capture stamp and the frame of the positions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkeletonFrame {
    pub stamp: Stamp,
    pub frame_id: String,
    pub humans: Vec<HumanSkeleton>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torso_and_tracked_points() {
        let mut k = [Keypoint::MISSING; NUM_KEYPOINTS];
        let at = |x: f64, y: f64, z: f64| Keypoint { position: Point3::new(x, y, z), confidence: 0.9 };
        k[keypoint::LEFT_HIP] = at(1.0, 0.2, 0.9);
        k[keypoint::RIGHT_HIP] = at(1.0, -0.2, 0.9);
        k[keypoint::LEFT_WRIST] = at(1.2, 0.3, 1.0);
        let h = HumanSkeleton { id: 1, keypoints: k };
        let torso = Point3::new(1.0, 0.0, 0.9);
        assert_eq!(h.torso(), Some(torso));
        // The right wrist is not seen: the torso stands in for it.
        assert_eq!(h.tracked_points(), Some([torso, Point3::new(1.2, 0.3, 1.0), torso]));
        // One hip missing: no torso, no tracked points.
        let mut one_hip = h.clone();
        one_hip.keypoints[keypoint::RIGHT_HIP] = Keypoint::MISSING;
        assert_eq!((one_hip.torso(), one_hip.tracked_points()), (None, None));
        // Each point on its own, with a confidence threshold: a wrist below it is not observed, and a torso needs
        // both hips.
        let mut weak = h.clone();
        weak.keypoints[keypoint::LEFT_WRIST].confidence = 0.2;
        weak.keypoints[keypoint::RIGHT_WRIST] = at(0.8, -0.3, f64::NAN);
        assert_eq!(h.observed_points(0.3), [Some(torso), Some(Point3::new(1.2, 0.3, 1.0)), None]);
        assert_eq!(weak.observed_points(0.3), [Some(torso), None, None]);
        assert_eq!(weak.observed_points(0.95), [None, None, None]);
        assert_eq!(one_hip.observed_points(0.3), [None, Some(Point3::new(1.2, 0.3, 1.0)), None]);
        // Ground truth: every position known.
        let truth: [Point3<f64>; NUM_KEYPOINTS] = std::array::from_fn(|i| Point3::new(i as f64, 0.0, 0.0));
        assert_eq!(torso_point(&truth), Point3::new(11.5, 0.0, 0.0));
        assert_eq!(
            tracked_points(&truth),
            [Point3::new(11.5, 0.0, 0.0), Point3::new(9.0, 0.0, 0.0), Point3::new(10.0, 0.0, 0.0)]
        );
    }
}
