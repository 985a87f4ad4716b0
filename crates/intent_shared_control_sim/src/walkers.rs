//! Walker scenes: seeded humans walking through the robot's workspace on straight lines, for the closed-loop
//! simulator ([`crate::sim`]).
//!
//! Coordinates are the simulator's world frame: the robot starts at the origin facing +x and drives toward a goal
//! at (8, 0); x forward, y left, z up, metres. Time 0 is `Stamp(0)`, the simulator's first cycle.
//!
//! Each human belongs to one [`WalkerFamily`] (head-on, overtaking, crossing, start from standing, slow down and
//! speed up again). A human moves on a straight line with a piecewise-constant acceleration, so position, speed
//! and acceleration are exact at any time: speeds stay ≤ [`MAX_SPEED`] and accelerations ≤ [`MAX_ACCEL`], below
//! the 2.5 m/s² that the safety chain's reachable set assumes. The body faces the walking direction, away from it
//! (walking backwards) or a random yaw ([`Facing`]), and either swings its legs and arms with a phase
//! proportional to the distance walked or moves rigidly ([`Gait`]).
//!
//! Skeletons are COCO-17 keypoints from a small forward-kinematics model on [`crate::scenario::Body`]
//! dimensions (hips ≈ 0.53 · height, shoulders ≈ 0.82 · height, head centre ≈ 0.92 · height). The pelvis stays
//! at standing hip height on the walking line, so the torso point (hip midpoint) moves exactly as the planned
//! motion; the legs shorten a little as they swing, so the feet never go below the ground.
//!
//! Observations ([`HumanSource::poll`]) are rendered at [`WalkerConfig::rate_hz`] (stamp = capture time, frame
//! `"world"`) through the sensor model of the scenario generator ([`NoiseConfig`]): keypoint noise (isotropic
//! plus depth noise along the viewing ray, seen from the robot's start pose at the origin), dropped keypoints,
//! confidences, occlusions, face self-occlusion, tracker id switches and swaps, stamp jitter and dropped frames.
//! Ground truth ([`HumanSource::truth`]) is noise-free and does not depend on the noise settings: the sensor
//! events are drawn from their own random streams, the noise of each frame from a stream of its own, so
//! observations are the same however the source is polled.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_3, PI, TAU};

use nalgebra::{Point3, Vector2, Vector3};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::scenario::{Body, NoiseConfig, ScenarioConfig, ScenarioError};
use crate::sim::{HumanSource, TrueHuman};
use intent_shared_control_core::prediction::Intent;
use intent_shared_control_core::skeleton::{
    keypoint as kp, HumanId, HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS,
};
use intent_shared_control_core::time::Stamp;

/// Highest walking speed of any walker [m/s].
pub const MAX_SPEED: f64 = 2.0;
/// Highest acceleration of any walker's torso [m/s²].
pub const MAX_ACCEL: f64 = 2.0;
/// Highest acceleration when starting to walk from standing [m/s²].
pub const MAX_START_ACCEL: f64 = 1.5;
/// Frame id of the observations (the simulator moves them into the robot frame).
pub const WORLD_FRAME: &str = "world";
/// Number of walker families.
pub const NUM_FAMILIES: usize = 5;

/// Hip flexion amplitude at a normal walk [rad] (as in the scenario generator).
const HIP_AMPLITUDE: f64 = 0.36;
/// Peak swing-knee flexion at a normal walk [rad].
const KNEE_AMPLITUDE: f64 = 1.0;
/// Arm swing amplitude at a normal walk [rad].
const ARM_SWING: f64 = 0.32;
/// Arm at rest: shoulder flexion, abduction and elbow flexion [rad].
const ARM_REST: [f64; 3] = [0.04, 0.07, 0.15];
/// Distance walked per full gait cycle (two steps), per metre of leg length [m/m].
const CYCLE_PER_LEG: f64 = 1.6;

/// Body-part groups that a partial occlusion hides (the scenario generator's groups).
const OCCLUSION_GROUPS: [&[usize]; 5] = [
    &[kp::LEFT_HIP, kp::RIGHT_HIP, kp::LEFT_KNEE, kp::RIGHT_KNEE, kp::LEFT_ANKLE, kp::RIGHT_ANKLE],
    &[kp::LEFT_KNEE, kp::RIGHT_KNEE, kp::LEFT_ANKLE, kp::RIGHT_ANKLE],
    &[kp::LEFT_SHOULDER, kp::LEFT_ELBOW, kp::LEFT_WRIST, kp::LEFT_HIP, kp::LEFT_KNEE, kp::LEFT_ANKLE],
    &[kp::RIGHT_SHOULDER, kp::RIGHT_ELBOW, kp::RIGHT_WRIST, kp::RIGHT_HIP, kp::RIGHT_KNEE, kp::RIGHT_ANKLE],
    &[kp::NOSE, kp::LEFT_EYE, kp::RIGHT_EYE, kp::LEFT_EAR, kp::RIGHT_EAR, kp::LEFT_SHOULDER, kp::RIGHT_SHOULDER],
];

/// What a walker does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalkerFamily {
    /// Starts 4–7 m ahead near the path and walks straight at the robot's start at 0.8–2.0 m/s, through and past
    /// it without stopping. Intent `approach_robot`.
    HeadOn,
    /// Starts behind the robot (x in [−3, −1], 0.5–1.2 m beside the path) and walks along the path at
    /// 1.2–2.0 m/s, faster than the robot. Intent `pass_by`.
    Overtaking,
    /// Walks across the path (perpendicular ± 15°) at 0.8–2.0 m/s, crossing it 1–4 m ahead of the robot's start
    /// at about the time a robot at 0.5–1.0 m/s would get there. Intent `pass_by`.
    Crossing,
    /// Stands 1.0–1.5 m from the robot's start (within ±60° of +x) for 0.5–3 s, then walks at the robot's start
    /// at 1.0–2.0 m/s (accelerating at ≤ 1.5 m/s²) and keeps walking. Intent `idle`, then `approach_robot`.
    StartFromStanding,
    /// Walks at the robot's start along its path at 1.2–1.8 m/s, slows to 0.2–0.5 m/s for 0.5–1.5 s once
    /// 1–3 m from it, then speeds up again to 1.2–1.8 m/s and walks on. Intent `approach_robot`.
    SlowDownSpeedUp,
}

impl WalkerFamily {
    /// All families, in the order of [`WalkerConfig::family_weights`].
    pub const ALL: [WalkerFamily; NUM_FAMILIES] = [
        WalkerFamily::HeadOn,
        WalkerFamily::Overtaking,
        WalkerFamily::Crossing,
        WalkerFamily::StartFromStanding,
        WalkerFamily::SlowDownSpeedUp,
    ];

    /// Index in [`WalkerFamily::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The snake_case name (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            WalkerFamily::HeadOn => "head_on",
            WalkerFamily::Overtaking => "overtaking",
            WalkerFamily::Crossing => "crossing",
            WalkerFamily::StartFromStanding => "start_from_standing",
            WalkerFamily::SlowDownSpeedUp => "slow_down_speed_up",
        }
    }
}

/// Which way the body faces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Facing {
    /// Toward the walking direction.
    Forward,
    /// Away from the walking direction: the back is turned and the human walks backwards.
    Backward,
    /// A random yaw, fixed for the scene.
    Random,
}

/// Whether the limbs swing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gait {
    /// Legs and arms swing with a phase proportional to the distance walked, the amplitude growing with speed.
    Swing,
    /// No swing: the body moves as a rigid standing figure.
    Rigid,
}

/// What a walker scene contains (YAML/JSON; unknown keys are errors). Ranges are `[min, max]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalkerConfig {
    /// Observation rate \[Hz\], in [1, 1000].
    pub rate_hz: f64,
    /// Length of the scene \[s\], in (0, 3600].
    pub duration_s: f64,
    /// Number of humans, `[min, max]`, 1 ≤ min ≤ max ≤ 8; each draws its family on its own.
    pub humans: [usize; 2],
    /// Relative weights of the families in [`WalkerFamily::ALL`] order; ≥ 0, not all 0.
    pub family_weights: [f64; NUM_FAMILIES],
    /// Body height \[m\], within [1.0, 2.3].
    pub height_m: [f64; 2],
    /// Sensor imperfections of the observations (never applied to the truth).
    pub noise: NoiseConfig,
}

impl Default for WalkerConfig {
    fn default() -> Self {
        WalkerConfig {
            rate_hz: 30.0,
            // The simulator's standard batch runs 25 s scenes (the task takes 10–20 s).
            duration_s: 25.0,
            humans: [1, 2],
            family_weights: [1.0; NUM_FAMILIES],
            height_m: [1.55, 1.90],
            noise: NoiseConfig::default(),
        }
    }
}

fn invalid(field: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> ScenarioError {
    ScenarioError::InvalidConfig { field, value: format!("{value:?}"), reason }
}

impl WalkerConfig {
    /// A configuration whose humans all belong to `family`.
    pub fn only(family: WalkerFamily) -> Self {
        let mut family_weights = [0.0; NUM_FAMILIES];
        family_weights[family.index()] = 1.0;
        WalkerConfig { family_weights, ..WalkerConfig::default() }
    }

    /// Checks every value; [`WalkerHumans::new`] refuses an invalid config.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if !(self.rate_hz.is_finite() && (1.0..=1000.0).contains(&self.rate_hz)) {
            return Err(invalid("rate_hz", self.rate_hz, "must be in [1, 1000] Hz"));
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s <= 3600.0) {
            return Err(invalid("duration_s", self.duration_s, "must be in (0, 3600] s"));
        }
        if self.humans[0] == 0 || self.humans[0] > self.humans[1] || self.humans[1] > 8 {
            return Err(invalid("humans", self.humans, "must satisfy 1 <= min <= max <= 8"));
        }
        let w = &self.family_weights;
        if w.iter().any(|v| !v.is_finite() || *v < 0.0) || w.iter().sum::<f64>() <= 0.0 {
            return Err(invalid("family_weights", w, "must be finite, >= 0 and not all 0"));
        }
        let h = self.height_m;
        if !(h[0].is_finite() && h[1].is_finite() && h[0] <= h[1] && h[0] >= 1.0 && h[1] <= 2.3) {
            return Err(invalid("height_m", h, "must be finite, min <= max, within [1.0, 2.3] m"));
        }
        // The noise settings are checked by the scenario generator's rules (field names `noise.*`).
        ScenarioConfig { noise: self.noise.clone(), ..ScenarioConfig::default() }.validate()
    }
}

/// One piece of a speed profile: from `t0` on, speed `v0 + a · (t − t0)` and distance `s0 + v0 · (t − t0) +
/// a · (t − t0)² / 2` along the walking line.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    t0: f64,
    s0: f64,
    v0: f64,
    a: f64,
}

impl Segment {
    /// Distance along the line [m] and speed [m/s] at `t`.
    fn at(&self, t: f64) -> (f64, f64) {
        let dt = t - self.t0;
        (self.s0 + self.v0 * dt + 0.5 * self.a * dt * dt, self.v0 + self.a * dt)
    }
}

/// Speed along the walking line over time: constant-acceleration segments, the last one at constant speed and
/// lasting forever; the first one (constant speed) also extends before time 0.
#[derive(Clone, Debug, PartialEq)]
struct Profile {
    segments: Vec<Segment>,
}

impl Profile {
    /// Constant speed `v` from the start.
    fn constant(v: f64) -> Self {
        Profile { segments: vec![Segment { t0: 0.0, s0: 0.0, v0: v, a: 0.0 }] }
    }

    /// From time `t` on (after the end of the previous ramp), changes the speed to `v` with acceleration
    /// magnitude `accel` (> 0), then holds it.
    fn ramp(mut self, t: f64, v: f64, accel: f64) -> Self {
        let (s, v_now) = self.at(t);
        let duration = (v - v_now).abs() / accel;
        let a = if v >= v_now { accel } else { -accel };
        self.segments.push(Segment { t0: t, s0: s, v0: v_now, a });
        let end = Segment { t0: t + duration, s0: s + v_now * duration + 0.5 * a * duration * duration, v0: v, a: 0.0 };
        self.segments.push(end);
        self
    }

    fn segment(&self, t: f64) -> &Segment {
        let i = self.segments.partition_point(|s| s.t0 <= t).saturating_sub(1);
        &self.segments[i]
    }

    /// Distance along the line [m] and speed [m/s] at `t` [s].
    fn at(&self, t: f64) -> (f64, f64) {
        self.segment(t).at(t)
    }

    /// Time at which the last ramp ends [s].
    fn settled_at(&self) -> f64 {
        self.segments.last().map_or(0.0, |s| s.t0)
    }
}

/// One walker of a scene, as drawn from the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Walker {
    /// What the walker does.
    pub family: WalkerFamily,
    /// Which way the body faces relative to the walking direction.
    pub facing: Facing,
    /// Yaw of the body (where the chest points), world frame \[rad\].
    pub body_yaw: f64,
    /// Whether the limbs swing.
    pub gait: Gait,
    /// Body dimensions.
    pub body: Body,
    /// Torso position at time 0 on the ground, world frame \[m\].
    pub start: [f64; 2],
    /// Walking direction (yaw of the velocity), world frame \[rad\].
    pub heading: f64,
    /// Standing time before walking off \[s\] (start from standing; 0 for the others).
    pub stand_s: f64,
    profile: Profile,
}

impl Walker {
    /// Unit vector of the walking direction.
    fn direction(&self) -> Vector2<f64> {
        Vector2::new(self.heading.cos(), self.heading.sin())
    }

    /// Torso position on the ground at time `t` \[s\], world frame \[m\].
    pub fn position(&self, t: f64) -> Vector2<f64> {
        Vector2::new(self.start[0], self.start[1]) + self.direction() * self.profile.at(t).0
    }

    /// Velocity at time `t` \[s\], world frame \[m/s\].
    pub fn velocity(&self, t: f64) -> Vector2<f64> {
        self.direction() * self.profile.at(t).1
    }

    /// Acceleration at time `t` \[s\] along the walking line \[m/s²\] (negative while slowing down).
    pub fn acceleration(&self, t: f64) -> f64 {
        self.profile.segment(t).a
    }

    /// Time after which the speed no longer changes \[s\].
    pub fn settled_at(&self) -> f64 {
        self.profile.settled_at()
    }

    /// Intent label at time `t` \[s\].
    pub fn intent(&self, t: f64) -> Intent {
        match self.family {
            WalkerFamily::Overtaking | WalkerFamily::Crossing => Intent::PassBy,
            WalkerFamily::StartFromStanding if t < self.stand_s => Intent::Idle,
            WalkerFamily::HeadOn | WalkerFamily::StartFromStanding | WalkerFamily::SlowDownSpeedUp => {
                Intent::ApproachRobot
            }
        }
    }

    /// True keypoints at time `t` \[s\], world frame \[m\].
    pub fn keypoints(&self, t: f64) -> [Point3<f64>; NUM_KEYPOINTS] {
        let (s, v) = self.profile.at(t);
        let amplitude = match self.gait {
            Gait::Swing => (v.abs() / 1.3).clamp(0.0, 1.3).powf(0.7),
            Gait::Rigid => 0.0,
        };
        // Walking backwards runs the gait cycle backwards relative to the body.
        let along = if (self.body_yaw - self.heading).cos() >= 0.0 { 1.0 } else { -1.0 };
        let cycle = CYCLE_PER_LEG * (self.body.thigh + self.body.shank);
        let phase = along * TAU * s / cycle;
        body_keypoints(&self.body, self.position(t), self.body_yaw, phase, amplitude)
    }
}

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

/// A uniform draw from `[r[0], r[1])` (`r[0]` when the range is empty).
fn uniform(rng: &mut ChaCha8Rng, r: [f64; 2]) -> f64 {
    if r[1] > r[0] {
        rng.random_range(r[0]..r[1])
    } else {
        r[0]
    }
}

/// A standard normal sample.
fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Exponential inter-arrival time of a Poisson process with rate `rate` [1/s] (infinite for rate 0).
fn exponential(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
    if rate <= 0.0 {
        return f64::INFINITY;
    }
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    -u.ln() / rate
}

/// A random sign.
fn sign(rng: &mut ChaCha8Rng) -> f64 {
    if rng.random_bool(0.5) {
        1.0
    } else {
        -1.0
    }
}

/// Draws the family from the weights (the last family with a weight when rounding leaves the draw past all).
fn draw_family(rng: &mut ChaCha8Rng, weights: &[f64; NUM_FAMILIES]) -> WalkerFamily {
    let total: f64 = weights.iter().sum();
    let mut pick = rng.random_range(0.0..total);
    let last = weights.iter().rposition(|w| *w > 0.0).unwrap_or(0);
    for (i, w) in weights.iter().enumerate() {
        if *w > 0.0 && pick < *w {
            return WalkerFamily::ALL[i];
        }
        pick -= w;
    }
    WalkerFamily::ALL[last]
}

impl Walker {
    /// Draws one walker from `seed`.
    fn draw(config: &WalkerConfig, seed: u64) -> Walker {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let family = draw_family(&mut rng, &config.family_weights);
        let height = uniform(&mut rng, config.height_m);
        let mut vary = || 1.0 + rng.random_range(-0.03..0.03);
        let body = Body {
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
        };
        let mut stand_s = 0.0;
        let (start, heading, profile) = match family {
            WalkerFamily::HeadOn => {
                let start = Vector2::new(rng.random_range(4.0f64..7.0), rng.random_range(-0.5f64..0.5));
                let aim = Vector2::new(0.0, rng.random_range(-0.3f64..0.3));
                let d = aim - start;
                (start, d.y.atan2(d.x), Profile::constant(rng.random_range(0.8..=MAX_SPEED)))
            }
            WalkerFamily::Overtaking => {
                let start = Vector2::new(rng.random_range(-3.0..-1.0), sign(&mut rng) * rng.random_range(0.5..1.2));
                (start, 0.0, Profile::constant(rng.random_range(1.2..=MAX_SPEED)))
            }
            WalkerFamily::Crossing => {
                let crossing = Vector2::new(rng.random_range(1.0..4.0), 0.0);
                // From the left side walking right (−y), or from the right walking left, ±15° off perpendicular.
                let across = if rng.random_bool(0.5) { -FRAC_PI_2 } else { FRAC_PI_2 };
                let heading = across + rng.random_range(-15f64..15.0).to_radians();
                let speed = rng.random_range(0.8..=MAX_SPEED);
                // Crosses when a robot at 0.5–1.0 m/s from the start would be about there.
                let robot_speed = rng.random_range(0.5..1.0);
                let at = (crossing.x / robot_speed + rng.random_range(-0.5f64..0.5)).max(0.5);
                let start = crossing - Vector2::new(heading.cos(), heading.sin()) * speed * at;
                (start, heading, Profile::constant(speed))
            }
            WalkerFamily::StartFromStanding => {
                let bearing = rng.random_range(-FRAC_PI_3..=FRAC_PI_3);
                let start = Vector2::new(bearing.cos(), bearing.sin()) * rng.random_range(1.0..=1.5);
                stand_s = rng.random_range(0.5..=3.0);
                let speed = rng.random_range(1.0..=MAX_SPEED);
                let accel = rng.random_range(0.8..=MAX_START_ACCEL);
                (start, (-start.y).atan2(-start.x), Profile::constant(0.0).ramp(stand_s, speed, accel))
            }
            WalkerFamily::SlowDownSpeedUp => {
                let aim = Vector2::new(0.0, rng.random_range(-0.3f64..0.3));
                let cruise = rng.random_range(1.2..=1.8);
                let slow = rng.random_range(0.2..=0.5);
                let slow_for = rng.random_range(0.5..=1.5);
                let slow_at = rng.random_range(1.0..=3.0);
                let (decel, accel) = (rng.random_range(0.8..=1.5), rng.random_range(0.8..=1.5));
                let again = rng.random_range(1.2..=1.8);
                // Start far enough ahead that the slow speed is reached `slow_at` metres from the aim point.
                let cruise_len = rng.random_range(1.5..3.5);
                let braking = (cruise * cruise - slow * slow) / (2.0 * decel);
                let bearing = rng.random_range(-0.1f64..0.1);
                let start = aim + Vector2::new(bearing.cos(), bearing.sin()) * (slow_at + braking + cruise_len);
                let brake_at = cruise_len / cruise;
                let slow_from = brake_at + (cruise - slow) / decel;
                let profile =
                    Profile::constant(cruise).ramp(brake_at, slow, decel).ramp(slow_from + slow_for, again, accel);
                (start, bearing + PI, profile)
            }
        };
        let facing = match rng.random_range(0..3) {
            0 => Facing::Forward,
            1 => Facing::Backward,
            _ => Facing::Random,
        };
        let body_yaw = match facing {
            Facing::Forward => heading,
            Facing::Backward => heading + PI,
            Facing::Random => rng.random_range(-PI..PI),
        };
        let gait = if rng.random_bool(0.5) { Gait::Swing } else { Gait::Rigid };
        Walker { family, facing, body_yaw, gait, body, start: [start.x, start.y], heading, stand_s, profile }
    }
}

/// A tracker id change at some time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum IdEvent {
    /// Human `i` gets a new, never used id.
    Switch(usize),
    /// Two humans exchange their ids.
    Swap(usize, usize),
}

/// Sensor events of one human: occlusions `(from, until, hidden group or None for the whole human)` [s].
type Occlusions = Vec<(f64, f64, Option<u8>)>;

/// A seeded walker scene as a [`HumanSource`]; see the module docs.
#[derive(Clone, Debug)]
pub struct WalkerHumans {
    config: WalkerConfig,
    seed: u64,
    walkers: Vec<Walker>,
    occlusions: Vec<Occlusions>,
    first_id: HumanId,
    id_events: Vec<(f64, IdEvent)>,
    next_frame: u64,
}

impl WalkerHumans {
    /// Draws a scene from `seed` (deterministic: the same config and seed give the same truth and frames).
    pub fn new(config: WalkerConfig, seed: u64) -> Result<Self, ScenarioError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(config.humans[0]..=config.humans[1]);
        let walkers: Vec<Walker> = (0..n).map(|_| Walker::draw(&config, rng.random())).collect();
        let first_id: HumanId = rng.random_range(1..1000);
        // Sensor events come from a stream of their own, so the motion does not depend on the noise settings.
        let mut events = ChaCha8Rng::seed_from_u64(seed);
        events.set_stream(u64::MAX);
        let noise = &config.noise;
        let duration = config.duration_s;
        let mut occlusions = Vec::with_capacity(n);
        let mut id_events = Vec::new();
        for i in 0..n {
            let mut list = Vec::new();
            let mut t = 0.0;
            loop {
                t += exponential(&mut events, noise.occlusion_rate_hz);
                if t >= duration {
                    break;
                }
                let len = uniform(&mut events, noise.occlusion_duration_s);
                let group = if events.random_bool(noise.full_occlusion_fraction) {
                    None
                } else {
                    Some(events.random_range(0..OCCLUSION_GROUPS.len() as u8))
                };
                list.push((t, t + len, group));
                t += len;
            }
            occlusions.push(list);
            let mut t = 0.0;
            loop {
                t += exponential(&mut events, noise.id_switch_rate_hz);
                if t >= duration {
                    break;
                }
                id_events.push((t, IdEvent::Switch(i)));
            }
        }
        if n >= 2 {
            let mut t = 0.0;
            loop {
                t += exponential(&mut events, noise.id_swap_rate_hz);
                if t >= duration {
                    break;
                }
                let a = events.random_range(0..n);
                let b = (a + events.random_range(1..n)) % n;
                id_events.push((t, IdEvent::Swap(a, b)));
            }
        }
        id_events.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(WalkerHumans { config, seed, walkers, occlusions, first_id, id_events, next_frame: 0 })
    }

    /// The configuration.
    pub fn config(&self) -> &WalkerConfig {
        &self.config
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of humans.
    pub fn num_humans(&self) -> usize {
        self.walkers.len()
    }

    /// Family of human `i`, `None` when out of range.
    pub fn family(&self, i: usize) -> Option<WalkerFamily> {
        self.walkers.get(i).map(|w| w.family)
    }

    /// Human `i` (family, facing, gait, body, motion), `None` when out of range.
    pub fn walker(&self, i: usize) -> Option<&Walker> {
        self.walkers.get(i)
    }

    /// Tracker ids of every human at scene time `t` [s], after the id switches and swaps up to `t`.
    fn tracker_ids_at(&self, t: f64) -> Vec<HumanId> {
        let n = self.walkers.len();
        let mut ids: Vec<HumanId> = (0..n as HumanId).map(|i| self.first_id + i).collect();
        let mut next = self.first_id + n as HumanId;
        for (at, event) in &self.id_events {
            if *at > t {
                break;
            }
            match *event {
                IdEvent::Switch(i) => {
                    ids[i] = next;
                    next = next.wrapping_add(1).max(1);
                }
                IdEvent::Swap(a, b) => ids.swap(a, b),
            }
        }
        ids
    }

    /// The random stream of frame `k` (its timing first, then its noise).
    fn frame_rng(&self, k: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(k + 1);
        rng
    }

    /// Capture time [s] of frame `k` and whether it is dropped, drawn from the frame's stream.
    fn frame_timing(&self, k: u64, rng: &mut ChaCha8Rng) -> (f64, bool) {
        let period = 1.0 / self.config.rate_hz;
        let noise = &self.config.noise;
        // Jitter bounded to ±0.3 periods keeps the stamps increasing.
        let jitter = if noise.stamp_jitter_s > 0.0 {
            (gauss(rng) * noise.stamp_jitter_s).clamp(-0.3 * period, 0.3 * period)
        } else {
            0.0
        };
        let dropped = noise.frame_drop_prob > 0.0 && rng.random_bool(noise.frame_drop_prob);
        ((k as f64 * period + jitter).max(0.0), dropped)
    }

    /// Renders frame `k` (captured at `t`) with the noise of its stream.
    fn render(&self, k: u64, t: f64) -> SkeletonFrame {
        let mut rng = self.frame_rng(k);
        let _ = self.frame_timing(k, &mut rng);
        // The capture time as the stamp carries it, so the observation matches `truth(stamp)` exactly.
        let stamp = Stamp::from_secs_f64(t);
        let t = stamp.as_secs_f64();
        let ids = self.tracker_ids_at(t);
        let mut humans = Vec::with_capacity(self.walkers.len());
        for (i, w) in self.walkers.iter().enumerate() {
            let occlusion = self.occlusions[i].iter().find(|(a, b, _)| t >= *a && t < *b).map(|o| o.2);
            // Every human's noise is drawn, published or not, so one occlusion does not change the others' noise.
            let observed = observe(&w.keypoints(t), occlusion.flatten(), w.body_yaw, &self.config.noise, &mut rng);
            if !matches!(occlusion, Some(None)) {
                humans.push(HumanSkeleton { id: ids[i], keypoints: observed });
            }
        }
        SkeletonFrame { stamp, frame_id: WORLD_FRAME.to_owned(), humans }
    }
}

/// Sensor model of the scenario generator: noise, dropouts, partial occlusion and face self-occlusion of one
/// human's true keypoints, seen from the robot's start pose (the world origin).
fn observe(
    truth: &[Point3<f64>; NUM_KEYPOINTS],
    occluded_group: Option<u8>,
    head_yaw: f64,
    noise: &NoiseConfig,
    rng: &mut ChaCha8Rng,
) -> [Keypoint; NUM_KEYPOINTS] {
    let mut out = [Keypoint::MISSING; NUM_KEYPOINTS];
    let head = truth[kp::NOSE];
    let to_sensor = Vector2::new(-head.x, -head.y);
    let facing = Vector2::new(head_yaw.cos(), head_yaw.sin());
    let face_hidden = noise.face_self_occlusion && to_sensor.norm() > 1e-6 && facing.dot(&to_sensor.normalize()) < -0.2;
    for (k, p) in truth.iter().enumerate() {
        let ray = p.coords;
        let dist = ray.norm();
        let depth =
            if dist > 1e-6 { ray / dist * (gauss(rng) * noise.depth_sigma_per_m * dist) } else { Vector3::zeros() };
        let mut noisy = *p + Vector3::new(gauss(rng), gauss(rng), gauss(rng)) * noise.keypoint_sigma_m + depth;
        let dropped = noise.dropout_prob > 0.0 && rng.random_bool(noise.dropout_prob);
        let hidden = occluded_group.is_some_and(|g| OCCLUSION_GROUPS[usize::from(g)].contains(&k))
            || (face_hidden && matches!(k, kp::NOSE | kp::LEFT_EYE | kp::RIGHT_EYE));
        let garbage_nan = rng.random_bool(0.5);
        let low_conf: f32 = rng.random_range(0.0..0.25);
        let conf: f32 = rng.random_range(0.55..1.0);
        out[k] = if dropped || hidden {
            if garbage_nan {
                Keypoint::MISSING
            } else {
                noisy += Vector3::new(gauss(rng), gauss(rng), gauss(rng)) * 0.3;
                Keypoint { position: noisy, confidence: low_conf }
            }
        } else {
            Keypoint { position: noisy, confidence: conf }
        };
    }
    out
}

impl HumanSource for WalkerHumans {
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame> {
        let period = 1.0 / self.config.rate_hz;
        let mut newest = None;
        loop {
            let k = self.next_frame;
            if k as f64 * period > self.config.duration_s + 1e-9 {
                break;
            }
            let (t, dropped) = self.frame_timing(k, &mut self.frame_rng(k));
            if Stamp::from_secs_f64(t) > now {
                break;
            }
            self.next_frame += 1;
            if !dropped {
                newest = Some((k, t));
            }
        }
        // Only the newest due frame is rendered; the skipped ones are never returned.
        newest.map(|(k, t)| self.render(k, t))
    }

    fn truth(&self, stamp: Stamp) -> Vec<TrueHuman> {
        let t = stamp.as_secs_f64();
        let ids = self.tracker_ids_at(t);
        self.walkers
            .iter()
            .zip(ids)
            .map(|(w, tracker_id)| TrueHuman { tracker_id, intent: w.intent(t), keypoints: w.keypoints(t) })
            .collect()
    }

    fn end(&self) -> Stamp {
        Stamp::from_secs_f64(self.config.duration_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn torso(k: &[Point3<f64>; NUM_KEYPOINTS]) -> Point3<f64> {
        nalgebra::center(&k[kp::LEFT_HIP], &k[kp::RIGHT_HIP])
    }

    fn noise_free(family: WalkerFamily) -> WalkerConfig {
        WalkerConfig { humans: [1, 1], noise: NoiseConfig::none(), ..WalkerConfig::only(family) }
    }

    /// Torso of human `i` from the truth at times `0, dt, 2 dt, …` up to the end of the scene.
    fn torso_track(s: &WalkerHumans, i: usize, dt: f64) -> Vec<Point3<f64>> {
        let n = (s.config().duration_s / dt).round() as usize;
        (0..=n).map(|j| torso(&s.truth(Stamp::from_secs_f64(j as f64 * dt))[i].keypoints)).collect()
    }

    fn bits(frame: &SkeletonFrame) -> Vec<u64> {
        let mut v = vec![frame.stamp.0 as u64];
        for h in &frame.humans {
            v.push(u64::from(h.id));
            for k in &h.keypoints {
                v.extend(k.position.iter().map(|x| x.to_bits()));
                v.push(u64::from(k.confidence.to_bits()));
            }
        }
        v
    }

    fn poll_all(s: &mut WalkerHumans, dt: f64) -> Vec<(Stamp, SkeletonFrame)> {
        let mut out = Vec::new();
        let mut step = 0;
        loop {
            let now = Stamp::from_secs_f64(step as f64 * dt);
            if now > s.end().add_secs(1.0) {
                return out;
            }
            if let Some(f) = s.poll(now) {
                out.push((now, f));
            }
            step += 1;
        }
    }

    #[test]
    fn speeds_and_accelerations_of_the_true_torso_stay_bounded() {
        let dt = 1.0 / 60.0;
        let (mut max_v, mut max_a, mut humans) = (0.0f64, 0.0f64, 0);
        for seed in 0..300 {
            let s = WalkerHumans::new(WalkerConfig::default(), seed).expect("valid config");
            for i in 0..s.num_humans() {
                humans += 1;
                let track = torso_track(&s, i, dt);
                let v: Vec<Vector3<f64>> = track.windows(2).map(|w| (w[1] - w[0]) / dt).collect();
                for (j, pair) in v.windows(2).enumerate() {
                    let a = (pair[1] - pair[0]).norm() / dt;
                    let speed = pair[0].norm();
                    assert!(speed <= MAX_SPEED + 1e-6, "seed {seed} human {i} at {j}: {speed} m/s");
                    assert!(a <= MAX_ACCEL + 1e-6, "seed {seed} human {i} at {j}: {a} m/s²");
                    max_v = max_v.max(speed);
                    max_a = max_a.max(a);
                }
                // The planned motion agrees: the same bounds hold exactly.
                let w = s.walker(i).expect("human");
                for j in 0..=(s.config().duration_s / dt) as usize {
                    let t = j as f64 * dt;
                    assert!(w.velocity(t).norm() <= MAX_SPEED + 1e-12);
                    assert!(w.acceleration(t).abs() <= MAX_ACCEL);
                }
            }
        }
        eprintln!("{humans} humans over 300 seeds: max torso speed {max_v:.4} m/s, max acceleration {max_a:.4} m/s²");
        assert!(max_v > 1.9, "fast walkers occur: {max_v}");
    }

    #[test]
    fn every_family_facing_and_gait_appears_with_one_or_two_humans() {
        let mut families = std::collections::BTreeSet::new();
        let (mut facings, mut gaits, mut counts) = (Vec::new(), Vec::new(), [0usize; 3]);
        for seed in 0..100 {
            let s = WalkerHumans::new(WalkerConfig::default(), seed).expect("valid config");
            assert!((1..=2).contains(&s.num_humans()));
            counts[s.num_humans()] += 1;
            for i in 0..s.num_humans() {
                let w = s.walker(i).expect("human");
                assert_eq!(s.family(i), Some(w.family));
                families.insert(w.family);
                facings.push(w.facing);
                gaits.push(w.gait);
            }
            assert_eq!(s.family(s.num_humans()), None);
        }
        assert_eq!(families.len(), NUM_FAMILIES, "{families:?}");
        for f in [Facing::Forward, Facing::Backward, Facing::Random] {
            assert!(facings.contains(&f), "{f:?}");
        }
        assert!(gaits.contains(&Gait::Swing) && gaits.contains(&Gait::Rigid));
        assert!(counts[1] > 20 && counts[2] > 20, "{counts:?}");
    }

    #[test]
    fn same_seed_same_scene_other_seed_other_scene() {
        let config = WalkerConfig {
            noise: NoiseConfig { id_switch_rate_hz: 0.2, id_swap_rate_hz: 0.2, ..NoiseConfig::default() },
            ..WalkerConfig::default()
        };
        let frames = |seed| {
            let mut s = WalkerHumans::new(config.clone(), seed).expect("valid config");
            let truth: Vec<_> = (0..100).map(|i| s.truth(Stamp::from_secs_f64(i as f64 * 0.25))).collect();
            let frames: Vec<_> = poll_all(&mut s, 0.02).iter().map(|(_, f)| bits(f)).collect();
            (truth, frames)
        };
        let (a, b, c) = (frames(42), frames(42), frames(43));
        assert!(a.1.len() > 700);
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
        assert_ne!(a.1, c.1);
    }

    #[test]
    fn start_from_standing_stands_still_then_walks_at_the_robot_without_stopping() {
        let dt = 1.0 / 30.0;
        for seed in 0..40 {
            let s = WalkerHumans::new(noise_free(WalkerFamily::StartFromStanding), seed).expect("valid config");
            let w = s.walker(0).expect("human").clone();
            let start = Vector2::new(w.start[0], w.start[1]);
            assert!((1.0..=1.5).contains(&start.norm()), "seed {seed}: {start}");
            assert!(start.y.atan2(start.x).abs() <= FRAC_PI_3 + 1e-12);
            assert!((0.5..=3.0).contains(&w.stand_s));
            let track = torso_track(&s, 0, dt);
            let stand_frames = (w.stand_s / dt).floor() as usize;
            for (j, p) in track.iter().enumerate().take(stand_frames + 1) {
                let t = j as f64 * dt;
                assert!((p - track[0]).norm() < 1e-12, "seed {seed}: moves at {t} s while standing");
                if t < w.stand_s - 1e-6 {
                    assert_eq!(s.truth(Stamp::from_secs_f64(t))[0].intent, Intent::Idle);
                }
            }
            let after = w.stand_s + 0.1;
            assert_eq!(w.intent(after), Intent::ApproachRobot);
            // Walks at the robot's start, accelerating at most 1.5 m/s², then keeps its speed to the end.
            assert!(w.velocity(after).dot(&-start) > 0.0);
            assert!((0.0..=MAX_START_ACCEL).contains(&w.acceleration(after)));
            let top = w.velocity(w.settled_at()).norm();
            assert!((1.0..=MAX_SPEED).contains(&top), "seed {seed}: {top}");
            let last = track.len() - 1;
            assert!(((track[last] - track[last - 1]).norm() / dt - top).abs() < 1e-6);
            assert!((track[last].coords.xy() - start).norm() > 10.0, "keeps walking past the start");
        }
    }

    #[test]
    fn head_on_walks_through_the_robot_start_without_stopping() {
        let dt = 1.0 / 30.0;
        for seed in 0..40 {
            let s = WalkerHumans::new(noise_free(WalkerFamily::HeadOn), seed).expect("valid config");
            let track = torso_track(&s, 0, dt);
            assert!((4.0..7.0).contains(&track[0].x) && track[0].y.abs() <= 0.5);
            let closest = track.iter().map(|p| p.x.hypot(p.y)).fold(f64::INFINITY, f64::min);
            assert!(closest <= 0.5, "seed {seed}: closest {closest} m");
            for pair in track.windows(2) {
                let v = (pair[1] - pair[0]).norm() / dt;
                assert!((0.8 - 1e-9..=MAX_SPEED + 1e-9).contains(&v), "seed {seed}: {v} m/s");
            }
            assert!(track[track.len() - 1].x < -5.0, "seed {seed}: walks on past the start");
            assert_eq!(s.truth(Stamp(0))[0].intent, Intent::ApproachRobot);
        }
    }

    #[test]
    fn overtaking_crossing_and_slow_down_follow_their_geometry() {
        let dt = 1.0 / 30.0;
        for seed in 0..30 {
            let s = WalkerHumans::new(noise_free(WalkerFamily::Overtaking), seed).expect("valid config");
            let w = s.walker(0).expect("human");
            assert!((-3.0..-1.0).contains(&w.start[0]) && (0.5..1.2).contains(&w.start[1].abs()));
            assert!((1.2..=MAX_SPEED).contains(&w.velocity(0.0).x) && w.velocity(0.0).y == 0.0);
            assert_eq!(w.intent(3.0), Intent::PassBy);

            let s = WalkerHumans::new(noise_free(WalkerFamily::Crossing), seed).expect("valid config");
            let w = s.walker(0).expect("human");
            let track = torso_track(&s, 0, dt);
            let cross = track.windows(2).find(|p| p[0].y.signum() != p[1].y.signum()).expect("crosses the path");
            assert!((0.95..4.05).contains(&cross[0].x), "seed {seed}: crosses at x = {}", cross[0].x);
            assert!((w.heading.abs() - FRAC_PI_2).abs() <= 15f64.to_radians() + 1e-9);
            assert_eq!(w.intent(3.0), Intent::PassBy);

            let s = WalkerHumans::new(noise_free(WalkerFamily::SlowDownSpeedUp), seed).expect("valid config");
            let w = s.walker(0).expect("human");
            let speeds: Vec<f64> = (0..750).map(|j| w.velocity(j as f64 * dt).norm()).collect();
            let slowest = speeds.iter().copied().fold(f64::INFINITY, f64::min);
            assert!((0.2..=0.5).contains(&slowest), "seed {seed}: slowest {slowest}");
            let slow_frames = speeds.iter().filter(|v| (*v - slowest).abs() < 1e-9).count() as f64 * dt;
            assert!((0.45..=1.55).contains(&slow_frames), "seed {seed}: slow for {slow_frames} s");
            let j = speeds.iter().position(|v| (*v - slowest).abs() < 1e-9).expect("slow");
            let d = w.position(j as f64 * dt).norm();
            assert!((0.7..=3.3).contains(&d), "seed {seed}: slow at {d} m from the start");
            assert!(speeds[0] >= 1.2 && speeds[749] >= 1.2, "cruises before and after");
        }
    }

    #[test]
    fn body_heights_are_realistic_and_limbs_swing_only_with_gait() {
        for seed in 0..40 {
            let s = WalkerHumans::new(WalkerConfig::default(), seed).expect("valid config");
            for i in 0..s.num_humans() {
                let w = s.walker(i).expect("human");
                let h = w.body.height / 1.75;
                let k = body_keypoints(&w.body, Vector2::zeros(), 0.0, 0.0, 0.0);
                let within = |z: f64, nominal: f64, tol: f64| (z / h - nominal).abs() < tol;
                assert!(within(torso(&k).z, 0.93, 0.05), "hips at {}", torso(&k).z);
                assert!(within(k[kp::LEFT_SHOULDER].z, 1.43, 0.07), "shoulders at {}", k[kp::LEFT_SHOULDER].z);
                assert!(within(k[kp::NOSE].z, 1.60, 0.08), "nose at {}", k[kp::NOSE].z);
                assert!(within(k[kp::RIGHT_WRIST].z, 0.86, 0.07), "wrists at {}", k[kp::RIGHT_WRIST].z);
                // Over a scene, the wrists move relative to the torso only with the gait.
                let rel = |t: f64| {
                    let k = w.keypoints(t);
                    k[kp::LEFT_WRIST] - torso(&k)
                };
                let t0 = w.settled_at() + 0.5;
                let swing = (0..30).map(|j| (rel(t0 + j as f64 * 0.05) - rel(t0)).norm()).fold(0.0, f64::max);
                match w.gait {
                    Gait::Rigid => assert!(swing < 1e-9, "rigid arms move {swing} m"),
                    Gait::Swing => assert!(swing > 0.05, "arms swing {swing} m"),
                }
                // The feet never go below the ground.
                let low =
                    (0..300).map(|j| w.keypoints(j as f64 * 0.05)[kp::LEFT_ANKLE].z).fold(f64::INFINITY, f64::min);
                assert!(low >= w.body.ankle_height - 1e-9);
            }
        }
    }

    #[test]
    fn observations_are_the_truth_plus_the_sensor_noise_only() {
        let seed = 7;
        let clean = WalkerConfig { humans: [2, 2], noise: NoiseConfig::none(), ..WalkerConfig::default() };
        let mut s = WalkerHumans::new(clean.clone(), seed).expect("valid config");
        for (_, frame) in poll_all(&mut s, 0.02) {
            let truth = s.truth(frame.stamp);
            assert_eq!(frame.humans.len(), 2);
            for (obs, tru) in frame.humans.iter().zip(&truth) {
                assert_eq!(obs.id, tru.tracker_id);
                for (o, t) in obs.keypoints.iter().zip(&tru.keypoints) {
                    assert_eq!(o.position, *t);
                    assert!((0.55..1.0).contains(&o.confidence));
                }
            }
        }
        // With the default noise the truth is unchanged and the observations scatter around it.
        let noisy = WalkerConfig { noise: NoiseConfig::default(), ..clean };
        let mut n = WalkerHumans::new(noisy, seed).expect("valid config");
        let (mut err, mut count, mut total) = (0.0, 0usize, 0usize);
        for (_, frame) in poll_all(&mut n, 0.02) {
            let truth = n.truth(frame.stamp);
            assert_eq!(truth, s.truth(frame.stamp));
            for obs in &frame.humans {
                let tru = truth.iter().find(|t| t.tracker_id == obs.id).expect("published humans are true humans");
                for (o, t) in obs.keypoints.iter().zip(&tru.keypoints) {
                    total += 1;
                    if o.confidence >= 0.55 {
                        err += (o.position - t).norm();
                        count += 1;
                    }
                }
            }
        }
        let mean = err / count as f64;
        assert!(mean > 0.015 && mean < 0.3, "mean keypoint error {mean} m");
        assert!(count < total && count as f64 > 0.7 * total as f64, "{count} of {total} observed");
    }

    #[test]
    fn poll_returns_each_frame_once_newest_first_with_increasing_stamps() {
        let mut s = WalkerHumans::new(WalkerConfig::default(), 3).expect("valid config");
        let polled = poll_all(&mut s, 0.02);
        assert!(polled.windows(2).all(|w| w[1].1.stamp > w[0].1.stamp));
        assert!(polled.iter().all(|(now, f)| f.stamp <= *now && f.frame_id == WORLD_FRAME));
        let n = polled.len() as f64;
        assert!(n > 0.95 * 25.0 * 30.0 && n <= 25.0 * 30.0 + 1.0, "{n} frames");
        assert!(s.poll(Stamp::from_secs_f64(100.0)).is_none(), "nothing after the end");
        // A late poll gets only the newest due frame, and the frames it skipped never come back.
        let mut s = WalkerHumans::new(WalkerConfig { noise: NoiseConfig::none(), ..WalkerConfig::default() }, 3)
            .expect("valid config");
        let first = s.poll(Stamp::from_secs_f64(1.0)).expect("due frame");
        assert_eq!(first.stamp, Stamp::from_secs_f64(1.0));
        assert!(s.poll(Stamp::from_secs_f64(1.0)).is_none());
        let next = s.poll(Stamp::from_secs_f64(1.04)).expect("due frame");
        assert_eq!(next.stamp, Stamp::from_secs_f64(31.0 / 30.0));
        assert!(s.poll(Stamp(0)).is_none());
    }

    #[test]
    fn config_is_validated_and_refuses_unknown_keys() {
        assert!(WalkerConfig::default().validate().is_ok());
        assert_eq!(WalkerConfig::default().duration_s, 25.0);
        let bad = WalkerConfig { humans: [0, 2], ..WalkerConfig::default() };
        assert!(matches!(WalkerHumans::new(bad, 0), Err(ScenarioError::InvalidConfig { field: "humans", .. })));
        assert!(WalkerConfig { family_weights: [0.0; NUM_FAMILIES], ..WalkerConfig::default() }.validate().is_err());
        assert!(WalkerConfig { rate_hz: f64::NAN, ..WalkerConfig::default() }.validate().is_err());
        assert!(WalkerConfig { height_m: [1.9, 1.6], ..WalkerConfig::default() }.validate().is_err());
        let mut bad = WalkerConfig::default();
        bad.noise.dropout_prob = 1.5;
        assert!(matches!(bad.validate(), Err(ScenarioError::InvalidConfig { field: "noise.dropout_prob", .. })));
        assert!(serde_yaml::from_str::<WalkerConfig>("rate_hz: 15\nspeed: 1\n").is_err());
        let ok: WalkerConfig =
            serde_yaml::from_str("duration_s: 12\nfamily_weights: [0, 0, 1, 0, 0]\nnoise:\n  dropout_prob: 0.1\n")
                .expect("yaml");
        assert_eq!((ok.duration_s, ok.noise.dropout_prob), (12.0, 0.1));
        let s = WalkerHumans::new(ok, 1).expect("valid config");
        assert!((0..s.num_humans()).all(|i| s.family(i) == Some(WalkerFamily::Crossing)));
    }
}
