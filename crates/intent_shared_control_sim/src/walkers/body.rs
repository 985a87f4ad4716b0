//! The walkers' figure: the scenario generator's forward kinematics, walking only.

use nalgebra::{Point3, Vector2};

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
