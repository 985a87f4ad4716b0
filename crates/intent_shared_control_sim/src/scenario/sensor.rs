//! Sensor model: keypoint noise, dropouts, occlusion groups and face self-occlusion.

use nalgebra::{Point3, Vector2, Vector3};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::sample::gauss;
use super::NoiseConfig;
use intent_shared_control_core::skeleton::{keypoint as kp, Keypoint, NUM_KEYPOINTS};

/// Body-part groups that a partial occlusion hides.
pub(crate) const OCCLUSION_GROUPS: [&[usize]; 5] = [
    &[kp::LEFT_HIP, kp::RIGHT_HIP, kp::LEFT_KNEE, kp::RIGHT_KNEE, kp::LEFT_ANKLE, kp::RIGHT_ANKLE],
    &[kp::LEFT_KNEE, kp::RIGHT_KNEE, kp::LEFT_ANKLE, kp::RIGHT_ANKLE],
    &[kp::LEFT_SHOULDER, kp::LEFT_ELBOW, kp::LEFT_WRIST, kp::LEFT_HIP, kp::LEFT_KNEE, kp::LEFT_ANKLE],
    &[kp::RIGHT_SHOULDER, kp::RIGHT_ELBOW, kp::RIGHT_WRIST, kp::RIGHT_HIP, kp::RIGHT_KNEE, kp::RIGHT_ANKLE],
    &[kp::NOSE, kp::LEFT_EYE, kp::RIGHT_EYE, kp::LEFT_EAR, kp::RIGHT_EAR, kp::LEFT_SHOULDER, kp::RIGHT_SHOULDER],
];

/// Which of a keypoint's two position noises [`observe`] draws first: the isotropic noise (three draws) or the
/// depth noise along the viewing ray (one draw). The scenario generator draws the isotropic noise first, the
/// walker scenes the depth noise first; each keeps its order so that every seed gives the observations it gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoiseOrder {
    IsotropicFirst,
    DepthFirst,
}

/// The scenario generator's per-frame sensor model for bodies that come from elsewhere (a real track, a
/// recording): keypoint and depth noise, dropouts and face self-occlusion, seen from the origin, drawn from its
/// own seeded generator. Occlusion events, frame drops, stamp jitter and id switches need a scene and are not
/// drawn.
#[derive(Clone, Debug)]
pub struct SensorModel {
    noise: NoiseConfig,
    rng: ChaCha8Rng,
}

impl SensorModel {
    pub fn new(noise: NoiseConfig, seed: u64) -> Self {
        Self { noise, rng: rand::SeedableRng::seed_from_u64(seed) }
    }

    /// What the sensor reports of `truth` (robot frame) for a head facing `head_yaw`.
    pub fn observe(&mut self, truth: &[Point3<f64>; NUM_KEYPOINTS], head_yaw: f64) -> [Keypoint; NUM_KEYPOINTS] {
        observe(truth, None, head_yaw, &self.noise, NoiseOrder::IsotropicFirst, &mut self.rng)
    }
}

/// Sensor model: noise, dropouts, partial occlusion and face self-occlusion of one human's true keypoints, seen
/// from the origin (the robot; the robot's start pose for the walker scenes).
pub(crate) fn observe(
    truth: &[Point3<f64>; NUM_KEYPOINTS],
    occluded_group: Option<u8>,
    head_yaw: f64,
    noise: &NoiseConfig,
    order: NoiseOrder,
    rng: &mut ChaCha8Rng,
) -> [Keypoint; NUM_KEYPOINTS] {
    let mut out = [Keypoint::MISSING; NUM_KEYPOINTS];
    let head = truth[kp::NOSE];
    let to_robot = Vector2::new(-head.x, -head.y);
    let facing = Vector2::new(head_yaw.cos(), head_yaw.sin());
    let face_hidden = noise.face_self_occlusion && to_robot.norm() > 1e-6 && facing.dot(&to_robot.normalize()) < -0.2;
    for (k, p) in truth.iter().enumerate() {
        let ray = Vector3::new(p.x, p.y, p.z);
        let dist = ray.norm();
        let depth_noise = |rng: &mut ChaCha8Rng| {
            if dist > 1e-6 {
                ray / dist * (gauss(rng) * noise.depth_sigma_per_m * dist)
            } else {
                Vector3::zeros()
            }
        };
        let (isotropic, depth) = match order {
            NoiseOrder::IsotropicFirst => {
                let isotropic = Vector3::new(gauss(rng), gauss(rng), gauss(rng));
                (isotropic, depth_noise(rng))
            }
            NoiseOrder::DepthFirst => {
                let depth = depth_noise(rng);
                (Vector3::new(gauss(rng), gauss(rng), gauss(rng)), depth)
            }
        };
        let mut noisy = *p + isotropic * noise.keypoint_sigma_m + depth;
        let dropped = noise.dropout_prob > 0.0 && rng.random_bool(noise.dropout_prob);
        let hidden = occluded_group.is_some_and(|g| OCCLUSION_GROUPS[usize::from(g)].contains(&k))
            || (face_hidden && matches!(k, kp::NOSE | kp::LEFT_EYE | kp::RIGHT_EYE));
        let garbage_nan = rng.random_bool(0.5);
        let low_conf: f32 = rng.random_range(0.0..0.25);
        let conf: f32 = rng.random_range(0.55..1.0);
        if dropped || hidden {
            if garbage_nan {
                out[k] = Keypoint { position: Point3::new(f64::NAN, f64::NAN, f64::NAN), confidence: 0.0 };
            } else {
                noisy += Vector3::new(gauss(rng), gauss(rng), gauss(rng)) * 0.3;
                out[k] = Keypoint { position: noisy, confidence: low_conf };
            }
        } else {
            out[k] = Keypoint { position: noisy, confidence: conf };
        }
    }
    out
}
