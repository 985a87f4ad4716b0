//! Input validation: the first stage of the safety chain. Nothing non-finite, out of bounds, in an unknown frame
//! or from the future gets past it.
//!
//! | check | effect | reason |
//! |---|---|---|
//! | command has NaN/Inf | forced stop | `cmd_non_finite` |
//! | `|v_i| > max_linear` or `|ω_i| > max_angular` | forced stop | `cmd_out_of_bounds` |
//! | no skeleton frame yet (when `require_skeletons`) | forced stop | `skeletons_missing` |
//! | skeleton `frame_id ≠ expected_frame` | forced stop | `skeletons_wrong_frame` |
//! | skeleton stamp more than `max_future` ahead of now | forced stop | `skeletons_future_stamp` |
//! | keypoint with confidence > 0 (or NaN) and a non-finite or farther than `max_range` position | forced stop | `skeleton_invalid` |
//! | prediction with NaN/Inf or probabilities outside [0, 1] | forced stop | `prediction_invalid` |
//! | prediction older than `prediction_timeout` or from the future | dropped (conservative fallback) | `prediction_stale` |
//!
//! A hand that is not seen (wrist hidden or below the confidence threshold) may still be reaching toward the
//! robot: it is reserved as a disc of `hidden_hand_reach[0]` around the arm's visible elbow, else
//! `hidden_hand_reach[1]` around its visible shoulder, else `hidden_hand_reach[2]` around the other shoulder
//! (the whole side hidden). A body without any of them gets nothing reserved.
//!
//! Keypoints with a confidence below `min_keypoint_confidence` are not obstacles (pose estimators report
//! wrong, far-off joints with low scores; counting them would stop the robot for phantoms). The same
//! threshold as the intent model's features (model card) is the default; the body surface beyond the joints
//! is covered by the separation monitor's `human_uncertainty`.

use serde::{Deserialize, Serialize};

use super::reason::{Reason, StageOutcome};
use super::separation::{HumanPoints, SHOULDER_FROM_TORSO};
use crate::config::{ConfigError, FieldSpec, Range, RunTime, Section};
use crate::prediction::HumanPrediction;
use crate::skeleton::{keypoint as kp, SkeletonFrame};
use crate::time::Stamp;
use crate::twist::Twist;

/// Bounds and freshness rules of the inputs. Units in the field docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationConfig {
    /// Frame the skeletons must be in (the robot's command frame).
    pub expected_frame: String,
    /// Largest plausible linear command component [m/s]; beyond it the command is rejected, not clipped.
    pub max_linear: f64,
    /// Largest plausible angular command component [rad/s].
    pub max_angular: f64,
    /// Largest plausible keypoint distance from the robot \[m\].
    pub max_range: f64,
    /// Stop when no skeleton frame was received yet (people cannot be seen).
    pub require_skeletons: bool,
    /// A stamp further than this ahead of the cycle time is invalid \[s\].
    pub max_future: f64,
    /// A prediction older than this is not used \[s\].
    pub prediction_timeout: f64,
    /// Keypoints with a lower confidence are ignored by the safety chain [0, 1].
    pub min_keypoint_confidence: f64,
    /// Reach of a hidden hand from the visible elbow, the visible shoulder of its arm, and the other shoulder
    /// \[m\] (0 turns a case off).
    pub hidden_hand_reach: [f64; 3],
    /// A person stands on the floor: when their lowest seen keypoint is higher than this above z = 0 of the
    /// robot frame \[m\] (legs hidden, a wrong calibration, a forged message), their heights are not believed
    /// and every point is taken at floor level (the planar check).
    pub max_lowest_keypoint_z: f64,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            expected_frame: "base_link".into(),
            max_linear: 5.0,
            max_angular: 10.0,
            max_range: 100.0,
            require_skeletons: true,
            max_future: 0.1,
            prediction_timeout: 0.3,
            min_keypoint_confidence: 0.3,
            hidden_hand_reach: [0.3, 0.6, 1.0],
            max_lowest_keypoint_z: 0.6,
        }
    }
}

impl Section for ValidationConfig {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::<Self>::other("expected_frame", "frame the skeletons must be in (the robot's command frame)")
            .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::real(
            "max_linear",
            Range::POSITIVE,
            "m/s",
            "largest plausible linear command component; beyond it the command is rejected",
            |c| c.max_linear,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "max_angular",
            Range::POSITIVE,
            "rad/s",
            "largest plausible angular command component; beyond it the command is rejected",
            |c| c.max_angular,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "max_range",
            Range::POSITIVE,
            "m",
            "largest plausible keypoint distance from the robot",
            |c| c.max_range,
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::other(
            "require_skeletons",
            "stop while no skeleton capture was received yet (people cannot be seen)",
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "max_future",
            Range::NON_NEGATIVE,
            "s",
            "a stamp further than this ahead of the cycle time is invalid",
            |c| c.max_future,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "prediction_timeout",
            Range::POSITIVE,
            "s",
            "a prediction older than this is not used by the safety chain",
            |c| c.prediction_timeout,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "min_keypoint_confidence",
            Range::UNIT,
            "",
            "keypoints with a lower confidence are not obstacles for the safety chain",
            |c| c.min_keypoint_confidence,
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::real(
            "max_lowest_keypoint_z",
            Range::closed(0.0, 3.0),
            "m",
            "a person whose lowest seen keypoint is higher than this above z = 0 of the robot frame (legs \
             hidden, wrong heights, a forged message) is checked in the plane, heights not believed",
            |c| c.max_lowest_keypoint_z,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::reals(
            "hidden_hand_reach",
            Range::closed(0.0, 2.0),
            "m",
            "reach of a hidden hand from the visible elbow, the visible shoulder of its arm, and the other \
             shoulder; 0 turns a case off",
            &[],
            |c| &c.hidden_hand_reach,
        )
        .at_run_time(RunTime::Fixed),
    ];
}

impl ValidationConfig {
    /// Checks every value: a non-empty `expected_frame`, then [`Section::FIELDS`]; names are relative.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.expected_frame.is_empty() {
            return Err(ConfigError::Invalid { field: "expected_frame".into(), reason: "must not be empty" });
        }
        self.check_declared()
    }
}

/// Output of validation.
#[derive(Clone, Debug)]
pub struct Validated<'a> {
    /// The command (zero and scale 0 when rejected) and the reasons found: faults, which force a stop, then
    /// notes ([`Reason::is_fault`] tells them apart).
    pub outcome: StageOutcome,
    /// Current observed keypoints per human, horizontal plane \[m\].
    pub humans: Vec<HumanPoints>,
    /// Valid, fresh predictions.
    pub predictions: Vec<&'a HumanPrediction>,
}

/// The validation stage.
#[derive(Clone, Debug)]
pub struct InputValidator {
    config: ValidationConfig,
}

impl Validated<'_> {
    /// The reasons that force a stop.
    pub fn faults(&self) -> Vec<Reason> {
        self.outcome.reasons.iter().copied().filter(|r| r.is_fault()).collect()
    }

    /// The informational reasons (nothing forced).
    pub fn notes(&self) -> Vec<Reason> {
        self.outcome.reasons.iter().copied().filter(|r| !r.is_fault()).collect()
    }
}

impl InputValidator {
    pub fn new(config: ValidationConfig) -> Self {
        InputValidator { config }
    }

    /// The configuration.
    pub fn config(&self) -> &ValidationConfig {
        &self.config
    }

    /// Validates the inputs of one cycle.
    pub fn validate<'a>(
        &self,
        now: Stamp,
        command: &Twist,
        skeletons: Option<&SkeletonFrame>,
        predictions: &'a [HumanPrediction],
    ) -> Validated<'a> {
        let c = &self.config;
        let mut out = Validated { outcome: StageOutcome::pass(*command), humans: Vec::new(), predictions: Vec::new() };
        let rejected = if !command.is_finite() {
            Some(Reason::CmdNonFinite)
        } else if command.linear.iter().any(|v| v.abs() > c.max_linear)
            || command.angular.iter().any(|v| v.abs() > c.max_angular)
        {
            Some(Reason::CmdOutOfBounds)
        } else {
            None
        };
        if rejected.is_some() {
            out.outcome = StageOutcome::scaled(Twist::ZERO, 0.0, rejected);
        }
        let faults = &mut out.outcome.reasons;
        match skeletons {
            None if c.require_skeletons => faults.push(Reason::SkeletonsMissing),
            None => {}
            Some(frame) => {
                if frame.frame_id != c.expected_frame {
                    faults.push(Reason::SkeletonsWrongFrame);
                } else if frame.stamp.seconds_since(now) > c.max_future {
                    faults.push(Reason::SkeletonsFutureStamp);
                }
                let mut invalid = false;
                for h in &frame.humans {
                    let mut points = Vec::with_capacity(h.keypoints.len());
                    let mut arm_of = Vec::with_capacity(h.keypoints.len());
                    for (i, k) in h.keypoints.iter().enumerate() {
                        let finite = k.position.iter().all(|v| v.is_finite());
                        if k.confidence.is_nan()
                            || (k.confidence > 0.0 && (!finite || k.position.coords.norm() > c.max_range))
                        {
                            invalid = true;
                        } else if k.is_observed() && f64::from(k.confidence) >= c.min_keypoint_confidence {
                            points.push(k.position);
                            arm_of.push(i);
                        }
                    }
                    if !points.is_empty() {
                        let seen = |i: usize| {
                            let k = &h.keypoints[i];
                            (k.is_observed() && f64::from(k.confidence) >= c.min_keypoint_confidence)
                                .then_some(k.position)
                        };
                        let torso = seen(kp::LEFT_HIP).zip(seen(kp::RIGHT_HIP)).map(|(l, r)| nalgebra::center(&l, &r));
                        let mut human = HumanPoints::current(h.id, points);
                        human.indices = arm_of.clone();
                        human.tracked = [
                            torso.map(|t| t.xy()),
                            seen(kp::LEFT_WRIST).map(|p| p.xy()),
                            seen(kp::RIGHT_WRIST).map(|p| p.xy()),
                        ];
                        // Arm points hang from their shoulder (for how far a hand can reach out).
                        let anchor = |shoulder: usize| {
                            seen(shoulder).map(|s| (s, 0.0)).or(torso.map(|t| (t, SHOULDER_FROM_TORSO)))
                        };
                        human.shoulders = arm_of
                            .iter()
                            .map(|&i| match i {
                                kp::LEFT_ELBOW | kp::LEFT_WRIST => Some(anchor(kp::LEFT_SHOULDER)),
                                kp::RIGHT_ELBOW | kp::RIGHT_WRIST => Some(anchor(kp::RIGHT_SHOULDER)),
                                _ => None,
                            })
                            .collect();
                        let reach = &c.hidden_hand_reach;
                        let mut bounded_wrists = Vec::with_capacity(2);
                        for (wrist, elbow, shoulder, other) in [
                            (kp::LEFT_WRIST, kp::LEFT_ELBOW, kp::LEFT_SHOULDER, kp::RIGHT_SHOULDER),
                            (kp::RIGHT_WRIST, kp::RIGHT_ELBOW, kp::RIGHT_SHOULDER, kp::LEFT_SHOULDER),
                        ] {
                            if seen(wrist).is_some() {
                                continue;
                            }
                            let anchor = [(elbow, reach[0]), (shoulder, reach[1]), (other, reach[2])]
                                .into_iter()
                                .find_map(|(k, r)| Some((seen(k)?, r)));
                            if let Some((a, r)) = anchor.filter(|(_, r)| *r > 0.0) {
                                human.reach.push((a, r));
                                bounded_wrists.push(wrist);
                            }
                        }
                        // Seen whole: every keypoint seen, a hidden wrist bounded by a reach, the face by any one
                        // of its points (they lie within the body-surface margin of each other).
                        let face = [kp::NOSE, kp::LEFT_EYE, kp::RIGHT_EYE, kp::LEFT_EAR, kp::RIGHT_EAR];
                        let face_seen = face.iter().any(|&i| seen(i).is_some());
                        // A person stands on the floor: the body reaches down there below its lower body (or,
                        // with no lower body seen, below the seen points), and a person whose lowest keypoint
                        // floats above the floor is checked in the plane: keypoints reported high above the
                        // robot never hide a person.
                        let lower: Vec<nalgebra::Point3<f64>> =
                            (kp::LEFT_HIP..=kp::RIGHT_ANKLE).filter_map(seen).collect();
                        let column = if lower.is_empty() { human.points.clone() } else { lower };
                        let n = column.len() as f64;
                        let (x, y) = column.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x / n, y + p.y / n));
                        let lowest = human.points.iter().map(|p| p.z).fold(f64::INFINITY, f64::min);
                        human.points.push(nalgebra::Point3::new(x, y, lowest.min(0.0)));
                        human.shoulders.push(None);
                        if lowest > c.max_lowest_keypoint_z {
                            // Floating above the floor: heights not believed, the planar check.
                            human.points.iter_mut().for_each(|p| p.z = 0.0);
                            human.reach.iter_mut().for_each(|(p, _)| p.z = 0.0);
                            human.shoulders.iter_mut().flatten().flatten().for_each(|(p, _)| p.z = 0.0);
                        }
                        human.unbounded = (0..h.keypoints.len())
                            .filter(|&i| seen(i).is_none() && !(face.contains(&i) && face_seen))
                            .filter(|i| !bounded_wrists.contains(i))
                            .collect();
                        human.whole = human.unbounded.is_empty();
                        out.humans.push(human);
                    }
                }
                if invalid {
                    faults.push(Reason::SkeletonInvalid);
                }
            }
        }
        let mut stale = false;
        for p in predictions {
            if !p.is_valid() || p.future.iter().flatten().any(|q| q.coords.norm() > c.max_range) {
                if !out.outcome.reasons.contains(&Reason::PredictionInvalid) {
                    out.outcome.reasons.push(Reason::PredictionInvalid);
                }
                continue;
            }
            let age = now.seconds_since(p.stamp);
            if age > c.prediction_timeout || age < -c.max_future {
                stale = true;
                continue;
            }
            out.predictions.push(p);
        }
        // Notes after the faults.
        if stale {
            out.outcome.reasons.push(Reason::PredictionStale);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::{HumanSkeleton, Keypoint};
    use nalgebra::Point3;

    fn frame(stamp: Stamp, frame_id: &str, p: Point3<f64>) -> SkeletonFrame {
        let mut keypoints = [Keypoint::MISSING; 17];
        keypoints[11] = Keypoint { position: p, confidence: 0.9 };
        SkeletonFrame { stamp, frame_id: frame_id.into(), humans: vec![HumanSkeleton { id: 3, keypoints }] }
    }

    #[test]
    fn accepts_good_input_and_extracts_points() {
        let v = InputValidator::new(ValidationConfig::default());
        let f = frame(Stamp(0), "base_link", Point3::new(1.0, 2.0, 0.9));
        let out = v.validate(Stamp(0), &Twist::planar(0.5, 0.0, 0.1), Some(&f), &[]);
        assert!(out.faults().is_empty());
        assert_eq!(out.humans.len(), 1);
        // The seen keypoint, and where the person stands: below the lower body, on the floor. A hip 0.9 m up
        // with nothing lower seen floats above the floor: checked in the plane.
        assert_eq!(out.humans[0].points, vec![Point3::new(1.0, 2.0, 0.0), Point3::new(1.0, 2.0, 0.0)]);
        assert_eq!(out.humans[0].indices, vec![11]);
    }

    #[test]
    fn rejects_non_finite_and_out_of_bounds_commands() {
        let v = InputValidator::new(ValidationConfig::default());
        let f = frame(Stamp(0), "base_link", Point3::new(1.0, 2.0, 0.9));
        let out = v.validate(Stamp(0), &Twist::planar(f64::NAN, 0.0, 0.0), Some(&f), &[]);
        assert_eq!((out.outcome.twist, out.faults()), (Twist::ZERO, vec![Reason::CmdNonFinite]));
        let out = v.validate(Stamp(0), &Twist::planar(0.0, 0.0, 50.0), Some(&f), &[]);
        assert_eq!(out.faults(), vec![Reason::CmdOutOfBounds]);
    }

    #[test]
    fn rejects_bad_skeletons() {
        let v = InputValidator::new(ValidationConfig::default());
        let out = v.validate(Stamp(0), &Twist::ZERO, None, &[]);
        assert_eq!(out.faults(), vec![Reason::SkeletonsMissing]);
        let f = frame(Stamp(0), "map", Point3::new(1.0, 2.0, 0.9));
        assert_eq!(v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).faults(), vec![Reason::SkeletonsWrongFrame]);
        let f = frame(Stamp::from_secs_f64(1.0), "base_link", Point3::new(1.0, 2.0, 0.9));
        assert_eq!(v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).faults(), vec![Reason::SkeletonsFutureStamp]);
        let f = frame(Stamp(0), "base_link", Point3::new(f64::INFINITY, 2.0, 0.9));
        assert_eq!(v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).faults(), vec![Reason::SkeletonInvalid]);
        // A missing keypoint (confidence 0, NaN position) is fine.
        let f = frame(Stamp(0), "base_link", Point3::new(1.0, 2.0, 0.9));
        assert!(f.humans[0].keypoints[0].position.x.is_nan());
        assert!(v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).faults().is_empty());
    }

    #[test]
    fn hidden_hands_are_reserved_around_the_visible_arm() {
        let v = InputValidator::new(ValidationConfig::default());
        let mut f = frame(Stamp(0), "base_link", Point3::new(2.0, 0.0, 0.9));
        let at = |x: f64, y: f64| Keypoint { position: Point3::new(x, y, 1.3), confidence: 0.9 };
        f.humans[0].keypoints[kp::LEFT_SHOULDER] = at(2.0, 0.2);
        f.humans[0].keypoints[kp::RIGHT_SHOULDER] = at(2.0, -0.2);
        f.humans[0].keypoints[kp::LEFT_ELBOW] = at(1.9, 0.25);
        f.humans[0].keypoints[kp::RIGHT_WRIST] = at(1.8, -0.3);
        let h = &v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).humans[0];
        // Left wrist hidden: reach from the left elbow. Right wrist seen: nothing reserved. (Upper body only,
        // floating above the floor: checked in the plane.)
        assert_eq!(h.reach, vec![(Point3::new(1.9, 0.25, 0.0), 0.3)]);
        // Left elbow hidden too: from the left shoulder; the whole left side hidden: from the right shoulder.
        f.humans[0].keypoints[kp::LEFT_ELBOW] = Keypoint::MISSING;
        assert_eq!(
            v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).humans[0].reach,
            vec![(Point3::new(2.0, 0.2, 0.0), 0.6)]
        );
        f.humans[0].keypoints[kp::LEFT_SHOULDER] = Keypoint::MISSING;
        assert_eq!(
            v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).humans[0].reach,
            vec![(Point3::new(2.0, -0.2, 0.0), 1.0)]
        );
    }

    #[test]
    fn keypoints_reported_high_up_never_lift_a_person_off_the_floor() {
        let v = InputValidator::new(ValidationConfig::default());
        // Every keypoint 3 m up (a wrong height, or a forged message): the person still stands on the floor
        // below them, where a robot 0.5 m tall reaches.
        let mut f = frame(Stamp(0), "base_link", Point3::new(0.8, 0.0, 3.0));
        f.humans[0].keypoints[0] = Keypoint { position: Point3::new(0.8, 0.1, 3.6), confidence: 0.9 };
        let out = v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]);
        let body = crate::safety::SeparationConfig::default().body();
        let nearest = out.humans[0].distance(&body);
        assert!((nearest - 0.5).abs() < 1e-9, "{nearest}");
        assert!(out.humans[0].points.iter().all(|p| p.z == 0.0), "floating: checked in the plane");
        // Standing on the floor (an ankle 0.1 m up): heights are kept, a head 1.7 m up is 3-D far.
        let mut f = frame(Stamp(0), "base_link", Point3::new(0.8, 0.0, 1.7));
        f.humans[0].keypoints[kp::LEFT_ANKLE] = Keypoint { position: Point3::new(2.0, 0.0, 0.1), confidence: 0.9 };
        let out = v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]);
        assert_eq!(out.humans[0].points[0], Point3::new(0.8, 0.0, 1.7));
    }

    #[test]
    fn low_confidence_keypoints_are_not_obstacles() {
        let v = InputValidator::new(ValidationConfig::default());
        let mut f = frame(Stamp(0), "base_link", Point3::new(2.0, 0.0, 0.9));
        f.humans[0].keypoints[5] = Keypoint { position: Point3::new(0.4, 0.0, 0.9), confidence: 0.1 };
        let out = v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]);
        assert!(out.faults().is_empty());
        assert_eq!(out.humans[0].points, vec![Point3::new(2.0, 0.0, 0.0), Point3::new(2.0, 0.0, 0.0)]);
        // At the threshold it counts.
        f.humans[0].keypoints[5].confidence = 0.3;
        assert_eq!(v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).humans[0].points.len(), 3);
        // A low confidence does not excuse a non-finite position.
        f.humans[0].keypoints[5] = Keypoint { position: Point3::new(f64::NAN, 0.0, 0.9), confidence: 0.1 };
        assert_eq!(v.validate(Stamp(0), &Twist::ZERO, Some(&f), &[]).faults(), vec![Reason::SkeletonInvalid]);
    }

    #[test]
    fn stale_predictions_are_dropped_and_invalid_ones_fault() {
        let v = InputValidator::new(ValidationConfig::default());
        let f = frame(Stamp(0), "base_link", Point3::new(1.0, 2.0, 0.9));
        let p = HumanPrediction {
            human_id: 3,
            stamp: Stamp(0),
            probabilities: [0.2; 5],
            confidence: 0.2,
            horizon_step: 0.1,
            future: vec![[Point3::new(1.0, 2.0, 0.9); 3]; 10],
        };
        let preds = [p.clone()];
        assert_eq!(v.validate(Stamp::from_secs_f64(0.1), &Twist::ZERO, Some(&f), &preds).predictions.len(), 1);
        let out = v.validate(Stamp::from_secs_f64(0.5), &Twist::ZERO, Some(&f), &preds);
        assert!(out.predictions.is_empty() && out.notes() == vec![Reason::PredictionStale] && out.faults().is_empty());
        let mut bad = p;
        bad.confidence = f32::NAN;
        let preds = [bad];
        assert_eq!(v.validate(Stamp(0), &Twist::ZERO, Some(&f), &preds).faults(), vec![Reason::PredictionInvalid]);
    }
}
