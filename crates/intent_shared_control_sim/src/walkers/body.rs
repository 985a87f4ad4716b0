//! The walkers' figure: the scenario generator's forward kinematics, walking only.

use std::f64::consts::TAU;

use nalgebra::{Point3, Vector2};

use super::CYCLE_PER_LEG;

use crate::scenario::{figure_keypoints, Body, FigurePose};
use intent_shared_control_core::skeleton::NUM_KEYPOINTS;

/// Forward kinematics of a walking figure: COCO-17 keypoints of `body` standing on `pos` with its chest toward
/// `yaw`, legs and arms at gait `phase` with swing `amplitude` (0 = standing), world frame \[m\].
///
/// Body frame: x forward, y left, z up, origin on the ground below the pelvis. The pelvis stays at standing hip
/// height; each leg swings in the sagittal plane (hip flexion, swing-knee flexion), each arm swings opposite to
/// its leg with the elbow bending on the forward swing; the head sits above the shoulders, looking forward.
pub fn body_keypoints(
    body: &Body,
    pos: Vector2<f64>,
    yaw: f64,
    phase: f64,
    amplitude: f64,
) -> [Point3<f64>; NUM_KEYPOINTS] {
    figure_keypoints(body, &FigurePose::walking(pos, yaw, phase, amplitude))
}

/// Keypoints of `body` walking on a ground-plane path, as the walker scenes animate it: at `pos`, chest toward
/// `yaw`, `distance` \[m\] along the path so far (sets the gait phase; negative runs the cycle backwards) and
/// moving at `speed` \[m/s\] (sets the swing; 0 = standing). Used to put a body around a 2-D track.
pub fn walking_keypoints(
    body: &Body,
    pos: Vector2<f64>,
    yaw: f64,
    distance: f64,
    speed: f64,
) -> [Point3<f64>; NUM_KEYPOINTS] {
    let amplitude = (speed.abs() / 1.3).clamp(0.0, 1.3).powf(0.7);
    let cycle = CYCLE_PER_LEG * (body.thigh + body.shank);
    body_keypoints(body, pos, yaw, TAU * distance / cycle, amplitude)
}
