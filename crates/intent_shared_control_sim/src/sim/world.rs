//! The robot's pose in the world, moving observations and predictions into the robot frame, and the people as
//! the judge sees them.

use super::*;

/// Planar robot pose in the world (`world ← robot`), moved and read through [`RobotPose`].
pub(super) type Pose = Isometry2<f64>;

/// The robot's recent poses, for moving observations into the robot frame at their capture stamp (as a
/// perception pipeline on the robot reports them).
#[derive(Default)]
pub(super) struct PoseHistory {
    /// `(cycle time, pose at that time, twist held until the next cycle)`, oldest first.
    pub(super) entries: std::collections::VecDeque<(Stamp, Pose, Twist)>,
}

impl PoseHistory {
    pub(super) fn push(&mut self, t: Stamp, pose: Pose, twist: Twist) {
        self.entries.push_back((t, pose, twist));
        while self.entries.len() > 1 && t.seconds_since(self.entries[0].0) > 2.0 {
            self.entries.pop_front();
        }
    }

    /// Pose at `stamp` (`current` when `stamp` is not before the newest entry's end, i.e. now).
    pub(super) fn at(&self, stamp: Stamp, current: Pose) -> Pose {
        match self.entries.iter().rev().find(|(t, _, _)| *t <= stamp) {
            Some((t, pose, twist)) => {
                let mut p = *pose;
                p.integrate(twist, stamp.seconds_since(*t));
                p
            }
            None => self.entries.front().map_or(current, |e| e.1),
        }
    }
}

/// Moves a world-frame prediction into the robot frame at `pose`.
pub(super) fn prediction_to_robot(p: &HumanPrediction, pose: &Pose) -> HumanPrediction {
    HumanPrediction { future: p.future.iter().map(|s| s.map(|q| pose.to_robot(&q))).collect(), ..p.clone() }
}

pub(super) fn frame_to_robot(f: &SkeletonFrame, pose: &Pose, frame_id: &str) -> SkeletonFrame {
    SkeletonFrame {
        stamp: f.stamp,
        frame_id: frame_id.to_owned(),
        humans: f
            .humans
            .iter()
            .map(|h| HumanSkeleton {
                id: h.id,
                keypoints: h.keypoints.map(|k| {
                    if k.confidence > 0.0 {
                        Keypoint { position: pose.to_robot(&k.position), ..k }
                    } else {
                        k
                    }
                }),
            })
            .collect(),
    }
}

/// The people as the judge sees them at `pose`: true keypoints in the robot frame, the true closing speed of
/// the body (torso distance now vs `TRUTH_SPEED_WINDOW_S` later, floored at 0: the body's speed, not a limb's
/// swing) and the true torso and wrists over the forecast horizon (`future_truth`, one entry per
/// [`crate::judge::FUTURE_STEP_S`]), all in the robot frame at `pose`.
pub(super) fn judged_humans(
    shape: &RobotShape,
    pose: &Pose,
    now_truth: &[TrueHuman],
    later_truth: &[TrueHuman],
    future_truth: &[Vec<TrueHuman>],
) -> Vec<JudgedHuman> {
    let tracked = |k: &[Point3<f64>; NUM_KEYPOINTS]| tracked_points(k).map(|p| pose.to_robot(&p).xy());
    // Index i is the same human at every stamp (`HumanSource::truth`).
    let find = |truth: &'_ [TrueHuman], i: usize| truth.get(i).map(|t| t.keypoints);
    now_truth
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let now = tracked(&h.keypoints);
            JudgedHuman {
                points: h.keypoints.iter().map(|p| pose.to_robot(p)).collect(),
                closing_speed: find(later_truth, i).map_or(0.0, |n| {
                    ((shape.closest(&now[0]).1 - shape.closest(&tracked(&n)[0]).1) / TRUTH_SPEED_WINDOW_S).max(0.0)
                }),
                tracked: now.map(Some),
                future: future_truth.iter().map_while(|step| find(step, i).map(|k| tracked(&k))).collect(),
            }
        })
        .collect()
}

/// The truth over the judge's forecast horizon after `now`.
pub(super) fn future_truth<S: HumanSource>(humans: &S, now: Stamp) -> Vec<Vec<TrueHuman>> {
    (1..=FUTURE_STEPS).map(|k| humans.truth(now.add_secs(k as f64 * FUTURE_STEP_S))).collect()
}

/// Window over which the true body closing speed is averaged [s].
pub(super) const TRUTH_SPEED_WINDOW_S: f64 = 0.2;
