//! Body and forward kinematics of the figure: body dimensions, arm angles, gestures, the 17 keypoints.

use std::f64::consts::{PI, TAU};

use nalgebra::{Point3, Vector2, Vector3};
use serde::{Deserialize, Serialize};

use super::human::Human;
use super::{ARM_SWING, HIP_AMPLITUDE, KNEE_AMPLITUDE};
use intent_shared_control_core::skeleton::{keypoint as kp, NUM_KEYPOINTS};

/// Body dimensions of one synthetic human \[m\].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// Standing height \[m\].
    pub height: f64,
    /// Hip joint → knee \[m\].
    pub thigh: f64,
    /// Knee → ankle \[m\].
    pub shank: f64,
    /// Ankle height above the ground when standing \[m\].
    pub ankle_height: f64,
    /// Half the distance between the hip joints \[m\].
    pub hip_half_width: f64,
    /// Shoulder height above the hip joints when upright \[m\].
    pub trunk: f64,
    /// Half the distance between the shoulders \[m\].
    pub shoulder_half_width: f64,
    /// Shoulder → elbow \[m\].
    pub upper_arm: f64,
    /// Elbow → wrist \[m\].
    pub forearm: f64,
    /// Head centre above the shoulders \[m\].
    pub neck: f64,
    /// Scale of the face keypoints' offsets around the head centre (1 = 1.75 m adult).
    pub head_scale: f64,
}

impl Body {
    /// Body of height `height` with anthropometric proportions, each segment scaled by a factor from `vary`.
    pub fn from_height(height: f64, mut vary: impl FnMut() -> f64) -> Self {
        Body {
            height,
            thigh: 0.245 * height * vary(),
            shank: 0.246 * height * vary(),
            ankle_height: 0.039 * height,
            hip_half_width: 0.052 * height * vary(),
            trunk: 0.29 * height * vary(),
            shoulder_half_width: 0.112 * height * vary(),
            upper_arm: 0.186 * height * vary(),
            forearm: 0.146 * height * vary(),
            neck: 0.10 * height * vary(),
            head_scale: height / 1.75,
        }
    }

    /// Hip-joint height when standing upright \[m\].
    pub fn hip_height(&self) -> f64 {
        self.ankle_height + self.thigh + self.shank
    }
}

/// Arm pose: shoulder flexion (forward), abduction (sideways), elbow flexion [rad].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct ArmAngles {
    pub(super) flex: f64,
    pub(super) abd: f64,
    pub(super) elbow: f64,
}

impl ArmAngles {
    const REST: ArmAngles = ArmAngles { flex: 0.04, abd: 0.07, elbow: 0.15 };

    fn lerp(&self, o: &ArmAngles, s: f64) -> ArmAngles {
        ArmAngles {
            flex: self.flex + (o.flex - self.flex) * s,
            abd: self.abd + (o.abd - self.abd) * s,
            elbow: self.elbow + (o.elbow - self.elbow) * s,
        }
    }
}

/// Which arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
}

/// A scripted arm motion: rise (minimum jerk), hold, lower [s from scenario start].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Gesture {
    pub(super) side: Side,
    pub(super) start: f64,
    pub(super) rise: f64,
    pub(super) hold: f64,
    pub(super) fall: f64,
    pub(super) target: ArmAngles,
    /// Forward torso lean at full extension [rad].
    pub(super) lean: f64,
}

impl Gesture {
    pub(super) fn end(&self) -> f64 {
        self.start + self.rise + self.hold + self.fall
    }

    /// Activation in [0, 1] at time `t`.
    fn activation(&self, t: f64) -> f64 {
        let u = t - self.start;
        if u <= 0.0 || t >= self.end() {
            0.0
        } else if u < self.rise {
            min_jerk(u / self.rise)
        } else if u < self.rise + self.hold {
            1.0
        } else {
            1.0 - min_jerk((u - self.rise - self.hold) / self.fall)
        }
    }
}

/// Minimum-jerk profile `10s³ − 15s⁴ + 6s⁵` on [0, 1].
fn min_jerk(s: f64) -> f64 {
    let s = s.clamp(0.0, 1.0);
    s * s * s * (10.0 - 15.0 * s + 6.0 * s * s)
}

/// Wraps an angle to (−π, π].
pub(super) fn wrap(a: f64) -> f64 {
    let w = a.rem_euclid(TAU);
    if w > PI {
        w - TAU
    } else {
        w
    }
}

/// How high the pelvis is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pelvis {
    /// Lowered while walking so that the lower foot stays on the ground (the scenario generator's gait).
    OnLowerFoot,
    /// At standing hip height whatever the legs do, so the hip midpoint follows the planned motion exactly (the
    /// walker scenes).
    Standing,
}

/// The pose [`figure_keypoints`] draws: where the figure stands, its gait and what its trunk, arms and head do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FigurePose {
    /// Position on the ground below the pelvis \[m\].
    pub(super) pos: Vector2<f64>,
    /// Where the chest points \[rad\].
    pub(super) yaw: f64,
    /// Gait phase \[rad\] (the left leg's; the right one is half a cycle later).
    pub(super) phase: f64,
    /// Swing amplitude (0 standing, 1 a normal walk).
    pub(super) gait: f64,
    pub(super) pelvis: Pelvis,
    /// Offset of the pelvis (and everything above it) in the body frame \[m\].
    pub(super) sway: Vector3<f64>,
    /// Forward lean of the trunk \[rad\].
    pub(super) lean: f64,
    /// Per arm (left, right): the gesture target and how far it is reached, in [0, 1].
    pub(super) arms: [(ArmAngles, f64); 2],
    /// Head yaw relative to the body \[rad\].
    pub(super) head_yaw: f64,
}

impl FigurePose {
    /// A figure that only walks: no sway, lean, gestures or head turn, the pelvis at standing hip height.
    pub(crate) fn walking(pos: Vector2<f64>, yaw: f64, phase: f64, gait: f64) -> Self {
        FigurePose {
            pos,
            yaw,
            phase,
            gait,
            pelvis: Pelvis::Standing,
            sway: Vector3::zeros(),
            lean: 0.0,
            arms: [(ArmAngles::REST, 0.0); 2],
            head_yaw: 0.0,
        }
    }
}

impl Human {
    /// Forward kinematics at `t`: the 17 keypoints in the robot frame [m].
    pub(super) fn keypoints_at(&self, t: f64) -> Option<[Point3<f64>; NUM_KEYPOINTS]> {
        let s = self.state_at(t)?;
        let sway_on = 1.0 - s.gait.min(1.0);
        let sway = Vector3::new(
            self.sway[0] * (TAU * self.sway[1] * t + self.sway[2]).sin() * sway_on,
            self.sway[0] * (TAU * self.sway[1] * 0.7 * t + self.sway[3]).sin() * sway_on
                + 0.02 * s.gait * s.phase.sin(),
            0.0,
        );
        // Trunk lean: walking lean plus the gestures' lean.
        let mut lean = 0.05 * s.gait;
        let mut arm_action = [(ArmAngles::REST, 0.0); 2];
        for g in &self.gestures {
            let a = g.activation(t);
            if a > 0.0 {
                lean += g.lean * a;
                let slot = usize::from(g.side == Side::Right);
                if a > arm_action[slot].1 {
                    arm_action[slot] = (g.target, a);
                }
            }
        }
        let pose = FigurePose {
            pos: s.pos,
            yaw: s.yaw,
            phase: s.phase,
            gait: s.gait,
            pelvis: Pelvis::OnLowerFoot,
            sway,
            lean,
            arms: arm_action,
            head_yaw: s.head,
        };
        Some(figure_keypoints(&self.episode.body, &pose))
    }
}

/// Forward kinematics of the figure of `b` in pose `s`: the 17 keypoints in the robot (or world) frame \[m\].
pub(crate) fn figure_keypoints(b: &Body, s: &FigurePose) -> [Point3<f64>; NUM_KEYPOINTS] {
    let mut out = [Point3::origin(); NUM_KEYPOINTS];
    // Legs (sagittal plane of the body; x forward, y left, z up; origin on the ground below the pelvis).
    let leg_angles = |phase: f64| {
        let hip = HIP_AMPLITUDE * s.gait * phase.sin();
        let knee = KNEE_AMPLITUDE * s.gait * phase.cos().max(0.0).powf(1.5) + 0.08 * s.gait;
        (hip, knee)
    };
    let (lh, lk) = leg_angles(s.phase);
    let (rh, rk) = leg_angles(s.phase + PI);
    let extent = |hip: f64, knee: f64| b.thigh * hip.cos() + b.shank * (hip - knee).cos();
    let pelvis_z = match s.pelvis {
        Pelvis::OnLowerFoot => b.ankle_height + extent(lh, lk).max(extent(rh, rk)),
        Pelvis::Standing => b.hip_height(),
    };
    let sway = s.sway;
    for (y, hip, knee, ki, ai, hi) in [
        (b.hip_half_width, lh, lk, kp::LEFT_KNEE, kp::LEFT_ANKLE, kp::LEFT_HIP),
        (-b.hip_half_width, rh, rk, kp::RIGHT_KNEE, kp::RIGHT_ANKLE, kp::RIGHT_HIP),
    ] {
        let h = Vector3::new(0.0, y, pelvis_z) + sway;
        let k = h + Vector3::new(hip.sin(), 0.0, -hip.cos()) * b.thigh;
        let a = k + Vector3::new((hip - knee).sin(), 0.0, -(hip - knee).cos()) * b.shank;
        out[hi] = Point3::from(h);
        out[ki] = Point3::from(k);
        out[ai] = Point3::from(a);
    }
    let (lean, arm_action) = (s.lean, s.arms);
    let pelvis = Vector3::new(0.0, 0.0, pelvis_z) + sway;
    let up = Vector3::new(lean.sin(), 0.0, lean.cos());
    let shoulder_centre = pelvis + up * b.trunk;
    for (slot, side) in [(0usize, 1.0f64), (1, -1.0)] {
        // Walking swing: the left arm swings with the right leg.
        let swing_phase = if slot == 0 { s.phase + PI } else { s.phase };
        let walk = ArmAngles {
            flex: ArmAngles::REST.flex + ARM_SWING * s.gait * swing_phase.sin(),
            abd: ArmAngles::REST.abd,
            elbow: ArmAngles::REST.elbow + 0.25 * s.gait * (1.0 + swing_phase.sin()),
        };
        let (target, a) = arm_action[slot];
        let arm = walk.lerp(&target, a);
        let shoulder = shoulder_centre + Vector3::new(0.0, side * b.shoulder_half_width, 0.0);
        let (sf, cf) = (arm.flex + lean).sin_cos();
        let (sa, ca) = arm.abd.sin_cos();
        let upper = Vector3::new(sf * ca, side * sa, -cf * ca);
        let (sfe, cfe) = (arm.flex + lean + arm.elbow).sin_cos();
        let fore = Vector3::new(sfe * ca, side * sa, -cfe * ca);
        let elbow = shoulder + upper * b.upper_arm;
        let wrist = elbow + fore * b.forearm;
        let (si, ei, wi) = if slot == 0 {
            (kp::LEFT_SHOULDER, kp::LEFT_ELBOW, kp::LEFT_WRIST)
        } else {
            (kp::RIGHT_SHOULDER, kp::RIGHT_ELBOW, kp::RIGHT_WRIST)
        };
        out[si] = Point3::from(shoulder);
        out[ei] = Point3::from(elbow);
        out[wi] = Point3::from(wrist);
    }
    // Head: yaw relative to the body; face points around the head centre.
    let head_centre = shoulder_centre + up * b.neck;
    let (sh, ch) = s.head_yaw.sin_cos();
    let face = |x: f64, y: f64, z: f64| {
        let (x, y, z) = (x * b.head_scale, y * b.head_scale, z * b.head_scale);
        Point3::from(head_centre + Vector3::new(ch * x - sh * y, sh * x + ch * y, z))
    };
    out[kp::NOSE] = face(0.10, 0.0, -0.01);
    out[kp::LEFT_EYE] = face(0.085, 0.032, 0.03);
    out[kp::RIGHT_EYE] = face(0.085, -0.032, 0.03);
    out[kp::LEFT_EAR] = face(0.0, 0.075, 0.01);
    out[kp::RIGHT_EAR] = face(0.0, -0.075, 0.01);
    // Body frame → robot frame.
    let (sy, cy) = s.yaw.sin_cos();
    for p in &mut out {
        let (x, y) = (p.x, p.y);
        *p = Point3::new(s.pos.x + cy * x - sy * y, s.pos.y + sy * x + cy * y, p.z);
    }
    out
}
