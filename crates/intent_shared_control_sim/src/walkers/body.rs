//! Forward kinematics of a walking figure on the scenario generator's body dimensions.

use std::f64::consts::PI;

use nalgebra::{Point3, Vector2, Vector3};

use super::{ARM_REST, ARM_SWING, HIP_AMPLITUDE, KNEE_AMPLITUDE};
use crate::scenario::Body;
use intent_shared_control_core::skeleton::{keypoint as kp, NUM_KEYPOINTS};

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
    let b = body;
    let mut out = [Point3::origin(); NUM_KEYPOINTS];
    let hip_z = b.hip_height();
    for (side, leg_phase, hi, ki, ai) in [
        (1.0, phase, kp::LEFT_HIP, kp::LEFT_KNEE, kp::LEFT_ANKLE),
        (-1.0, phase + PI, kp::RIGHT_HIP, kp::RIGHT_KNEE, kp::RIGHT_ANKLE),
    ] {
        let hip_flex = HIP_AMPLITUDE * amplitude * leg_phase.sin();
        let knee_flex = KNEE_AMPLITUDE * amplitude * leg_phase.cos().max(0.0).powf(1.5) + 0.08 * amplitude;
        let hip = Vector3::new(0.0, side * b.hip_half_width, hip_z);
        let knee = hip + Vector3::new(hip_flex.sin(), 0.0, -hip_flex.cos()) * b.thigh;
        let shank = hip_flex - knee_flex;
        let ankle = knee + Vector3::new(shank.sin(), 0.0, -shank.cos()) * b.shank;
        out[hi] = Point3::from(hip);
        out[ki] = Point3::from(knee);
        out[ai] = Point3::from(ankle);
    }
    let shoulder_centre = Vector3::new(0.0, 0.0, hip_z + b.trunk);
    let [rest_flex, abduction, rest_elbow] = ARM_REST;
    let (sa, ca) = abduction.sin_cos();
    // The left arm swings with the right leg.
    for (side, arm_phase, si, ei, wi) in [
        (1.0, phase + PI, kp::LEFT_SHOULDER, kp::LEFT_ELBOW, kp::LEFT_WRIST),
        (-1.0, phase, kp::RIGHT_SHOULDER, kp::RIGHT_ELBOW, kp::RIGHT_WRIST),
    ] {
        let flex = rest_flex + ARM_SWING * amplitude * arm_phase.sin();
        let elbow_flex = rest_elbow + 0.25 * amplitude * (1.0 + arm_phase.sin());
        let shoulder = shoulder_centre + Vector3::new(0.0, side * b.shoulder_half_width, 0.0);
        let upper = Vector3::new(flex.sin() * ca, side * sa, -flex.cos() * ca);
        let fore = Vector3::new((flex + elbow_flex).sin() * ca, side * sa, -(flex + elbow_flex).cos() * ca);
        let elbow = shoulder + upper * b.upper_arm;
        out[si] = Point3::from(shoulder);
        out[ei] = Point3::from(elbow);
        out[wi] = Point3::from(elbow + fore * b.forearm);
    }
    let head = shoulder_centre + Vector3::new(0.0, 0.0, b.neck);
    let face = |x: f64, y: f64, z: f64| Point3::from(head + Vector3::new(x, y, z) * b.head_scale);
    out[kp::NOSE] = face(0.10, 0.0, -0.01);
    out[kp::LEFT_EYE] = face(0.085, 0.032, 0.03);
    out[kp::RIGHT_EYE] = face(0.085, -0.032, 0.03);
    out[kp::LEFT_EAR] = face(0.0, 0.075, 0.01);
    out[kp::RIGHT_EAR] = face(0.0, -0.075, 0.01);
    let (sy, cy) = yaw.sin_cos();
    for p in &mut out {
        *p = Point3::new(pos.x + cy * p.x - sy * p.y, pos.y + sy * p.x + cy * p.y, p.z);
    }
    out
}
