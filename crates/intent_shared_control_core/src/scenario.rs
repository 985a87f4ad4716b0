//! Seeded, deterministic synthetic humans: COCO-17 3-D skeletons carrying out intents near the robot.
//!
//! One source of truth for human motion: the demo's simulated humans, the tests, the closed-loop simulator and
//! the training export all use [`Scenario`]. Coordinates are the robot frame (robot at the origin, x forward,
//! y left, z up) in metres; stamps are [`Stamp`]s starting at [`ScenarioConfig::start_stamp_ns`].
//!
//! How it works:
//! - [`Scenario::new`] draws every human's plan from the seed (ChaCha8, no OS entropy): body size (height and
//!   per-segment variation), start pose, the episode intent and its motion onset, speeds, gestures, head
//!   glances, occlusions and tracker id switches. It then integrates each human's planar motion (acceleration
//!   and turn-rate limited) on a 120 Hz grid that extends [`FUTURE_MARGIN_S`] past the end, so true positions
//!   are available at any time, including the prediction horizon after the last frame.
//! - The skeleton at any time comes from forward kinematics of that state: walking gait (hip/knee flexion, arm
//!   swing opposite to the legs, pelvis bob), standing sway, arm gestures (minimum-jerk), torso lean, head yaw.
//! - [`Scenario::step`] produces the next [`SkeletonFrame`] (nominal rate [`ScenarioConfig::rate_hz`], optional
//!   stamp jitter and dropped frames) with keypoint noise (growing with distance), dropped keypoints, occlusions,
//!   face self-occlusion when a human looks away, and tracker id switches; plus the [`GroundTruth`].
//!
//! Intents (labels as in the model contract; each non-idle human first stands idle until the onset):
//! - `idle`: stands, sways, glances around, makes arm gestures (hand to face, looking at a phone, arm to the
//!   side), shuffles a little and turns in place.
//! - `pass_by`: walks along a line whose closest approach to the robot is [`ScenarioConfig::pass_distance_m`].
//! - `approach_robot`: turns toward the robot, walks to it and stops at [`ScenarioConfig::stop_distance_m`];
//!   from the stop on, the label is `idle`.
//! - `reach_handover`: faces the robot, takes a few slow steps if farther than arm's reach, and extends one arm
//!   toward the robot at chest height, holds, and lowers it; the label is `idle` once the hold ends.
//! - `retreat`: (stood facing the robot) optionally steps back, turns away and walks off.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use nalgebra::{Point3, Vector2, Vector3};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Intent, NUM_INTENTS};
use crate::skeleton::{keypoint as kp, HumanId, HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS};
use crate::time::Stamp;

/// Internal integration step of the human motion [s] (120 Hz).
const GRID_DT_S: f64 = 1.0 / 120.0;
/// True motion is available this long after the scenario's end \[s\] (covers the 1 s prediction horizon).
pub const FUTURE_MARGIN_S: f64 = 2.0;
/// Acceleration limit of the planar motion [m/s²].
const MAX_ACCEL: f64 = 1.2;
/// Turn-rate limit of the body yaw [rad/s].
const MAX_YAW_RATE: f64 = 2.8;
/// Hip flexion amplitude at a normal walk [rad].
const HIP_AMPLITUDE: f64 = 0.36;
/// Peak swing-knee flexion at a normal walk [rad].
const KNEE_AMPLITUDE: f64 = 1.0;
/// Arm swing amplitude at a normal walk [rad].
const ARM_SWING: f64 = 0.32;

/// Errors of the scenario generator.
#[derive(Debug, Error, PartialEq)]
pub enum ScenarioError {
    /// A configuration value is out of its valid range.
    #[error("scenario config `{field}` = {value} is invalid: {reason}")]
    InvalidConfig { field: &'static str, value: String, reason: &'static str },
}

/// Sensor imperfections (all drawn from the scenario's seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// Standard deviation of the keypoint position noise, each axis \[m\], ≥ 0.
    pub keypoint_sigma_m: f64,
    /// Extra standard deviation along the viewing ray per metre of distance [m/m], ≥ 0 (depth noise).
    pub depth_sigma_per_m: f64,
    /// Probability that a keypoint is dropped in a frame (low confidence, garbage or NaN position), [0, 1].
    pub dropout_prob: f64,
    /// Occlusion events per human per second [1/s], ≥ 0.
    pub occlusion_rate_hz: f64,
    /// Duration range of an occlusion \[s\], `[min, max]`, 0 < min ≤ max.
    pub occlusion_duration_s: [f64; 2],
    /// Fraction of occlusions that hide the whole human (it is absent from the frame); the others hide a body
    /// part, [0, 1].
    pub full_occlusion_fraction: f64,
    /// Tracker id switches (the human gets a new, never used id) per human per second [1/s], ≥ 0.
    pub id_switch_rate_hz: f64,
    /// Id swaps between two humans per second (scenario-wide) [1/s], ≥ 0.
    pub id_swap_rate_hz: f64,
    /// Standard deviation of the capture-stamp jitter \[s\], in [0, 0.1]; bounded to ±0.3 periods, so stamps stay
    /// increasing.
    pub stamp_jitter_s: f64,
    /// Probability that a whole frame is dropped, [0, 0.9].
    pub frame_drop_prob: f64,
    /// Face keypoints (nose, eyes) are not observed when the head faces away from the robot.
    pub face_self_occlusion: bool,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            keypoint_sigma_m: 0.015,
            depth_sigma_per_m: 0.006,
            dropout_prob: 0.03,
            occlusion_rate_hz: 0.05,
            occlusion_duration_s: [0.15, 0.8],
            full_occlusion_fraction: 0.3,
            id_switch_rate_hz: 0.0,
            id_swap_rate_hz: 0.0,
            stamp_jitter_s: 0.002,
            frame_drop_prob: 0.01,
            face_self_occlusion: true,
        }
    }
}

impl NoiseConfig {
    /// No noise at all: exact keypoints, every frame, no occlusion, no id switch.
    pub fn none() -> Self {
        Self {
            keypoint_sigma_m: 0.0,
            depth_sigma_per_m: 0.0,
            dropout_prob: 0.0,
            occlusion_rate_hz: 0.0,
            occlusion_duration_s: [0.1, 0.1],
            full_occlusion_fraction: 0.0,
            id_switch_rate_hz: 0.0,
            id_swap_rate_hz: 0.0,
            stamp_jitter_s: 0.0,
            frame_drop_prob: 0.0,
            face_self_occlusion: false,
        }
    }
}

/// What a scenario contains (YAML/JSON; unknown keys are errors). Ranges are `[min, max]`, drawn uniformly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScenarioConfig {
    /// Nominal frame rate \[Hz\], in [1, 1000].
    pub rate_hz: f64,
    /// Length of the scenario \[s\], in (0, 3600].
    pub duration_s: f64,
    /// Stamp of time 0 \[ns\].
    pub start_stamp_ns: i64,
    /// `frame_id` of the frames (the robot frame).
    pub frame_id: String,
    /// Number of humans, `[min, max]`, 1 ≤ min ≤ max ≤ 64.
    pub humans: [usize; 2],
    /// Relative weights of the episode intents in label order (idle, pass_by, approach_robot, reach_handover,
    /// retreat); ≥ 0, not all 0.
    pub intent_weights: [f64; NUM_INTENTS],
    /// Time of the motion onset of non-idle intents \[s\].
    pub onset_s: [f64; 2],
    /// Body height \[m\], within [1.0, 2.3].
    pub height_m: [f64; 2],
    /// Walking speed of pass_by / approach_robot / retreat [m/s], within (0, 2.5].
    pub walk_speed_mps: [f64; 2],
    /// Start distance from the robot of idle, approach and pass-by humans \[m\].
    pub start_distance_m: [f64; 2],
    /// Closest approach of a pass_by path to the robot \[m\].
    pub pass_distance_m: [f64; 2],
    /// Distance from the robot where approach_robot stops \[m\].
    pub stop_distance_m: [f64; 2],
    /// Start distance of reach_handover humans \[m\].
    pub handover_start_distance_m: [f64; 2],
    /// Start distance of retreat humans \[m\].
    pub retreat_start_distance_m: [f64; 2],
    /// Bearing range of start positions, symmetric around the robot's x axis \[rad\], in (0, π].
    pub max_start_bearing_rad: f64,
    /// Sensor imperfections.
    pub noise: NoiseConfig,
    /// People who approached the robot or handed something over walk away this long after the interaction
    /// ended \[s\], straight away from the robot's start at their walking speed, labelled `retreat`; `None`
    /// (the default): they stay where they are. Draws no random numbers (a scenario without it is unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leave_after_interaction_s: Option<f64>,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        Self {
            rate_hz: 30.0,
            duration_s: 10.0,
            start_stamp_ns: 0,
            frame_id: "base_link".into(),
            humans: [1, 3],
            intent_weights: [1.0; NUM_INTENTS],
            onset_s: [1.2, 5.0],
            height_m: [1.52, 1.95],
            walk_speed_mps: [0.8, 1.6],
            start_distance_m: [2.5, 6.5],
            pass_distance_m: [1.2, 3.5],
            stop_distance_m: [0.7, 1.3],
            handover_start_distance_m: [0.8, 2.2],
            retreat_start_distance_m: [0.8, 3.0],
            max_start_bearing_rad: 1.3,
            noise: NoiseConfig::default(),
            leave_after_interaction_s: None,
        }
    }
}

fn invalid(field: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> ScenarioError {
    ScenarioError::InvalidConfig { field, value: format!("{value:?}"), reason }
}

fn check_range(field: &'static str, r: [f64; 2], lo: f64, hi: f64) -> Result<(), ScenarioError> {
    if !(r[0].is_finite() && r[1].is_finite() && r[0] <= r[1] && r[0] >= lo && r[1] <= hi) {
        return Err(invalid(field, r, "must be finite, min <= max, within the allowed bounds"));
    }
    Ok(())
}

impl ScenarioConfig {
    /// Checks every value; [`Scenario::new`] refuses an invalid config.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if !(self.rate_hz.is_finite() && (1.0..=1000.0).contains(&self.rate_hz)) {
            return Err(invalid("rate_hz", self.rate_hz, "must be in [1, 1000] Hz"));
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s <= 3600.0) {
            return Err(invalid("duration_s", self.duration_s, "must be in (0, 3600] s"));
        }
        if let Some(w) = self.leave_after_interaction_s {
            if !(w.is_finite() && (0.0..=60.0).contains(&w)) {
                return Err(invalid("leave_after_interaction_s", w, "must be in [0, 60] s"));
            }
        }
        if self.humans[0] == 0 || self.humans[0] > self.humans[1] || self.humans[1] > 64 {
            return Err(invalid("humans", self.humans, "must satisfy 1 <= min <= max <= 64"));
        }
        let w = &self.intent_weights;
        if w.iter().any(|v| !v.is_finite() || *v < 0.0) || w.iter().sum::<f64>() <= 0.0 {
            return Err(invalid("intent_weights", w, "must be finite, >= 0 and not all 0"));
        }
        check_range("onset_s", self.onset_s, 0.0, 3600.0)?;
        check_range("height_m", self.height_m, 1.0, 2.3)?;
        check_range("walk_speed_mps", self.walk_speed_mps, 0.05, 2.5)?;
        check_range("start_distance_m", self.start_distance_m, 0.3, 50.0)?;
        check_range("pass_distance_m", self.pass_distance_m, 0.3, 50.0)?;
        check_range("stop_distance_m", self.stop_distance_m, 0.3, 10.0)?;
        check_range("handover_start_distance_m", self.handover_start_distance_m, 0.3, 10.0)?;
        check_range("retreat_start_distance_m", self.retreat_start_distance_m, 0.3, 50.0)?;
        if !(self.max_start_bearing_rad > 0.0 && self.max_start_bearing_rad <= PI) {
            return Err(invalid("max_start_bearing_rad", self.max_start_bearing_rad, "must be in (0, pi]"));
        }
        let n = &self.noise;
        for (field, v) in [
            ("noise.keypoint_sigma_m", n.keypoint_sigma_m),
            ("noise.depth_sigma_per_m", n.depth_sigma_per_m),
            ("noise.occlusion_rate_hz", n.occlusion_rate_hz),
            ("noise.id_switch_rate_hz", n.id_switch_rate_hz),
            ("noise.id_swap_rate_hz", n.id_swap_rate_hz),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(field, v, "must be finite and >= 0"));
            }
        }
        for (field, v, hi) in [
            ("noise.dropout_prob", n.dropout_prob, 1.0),
            ("noise.full_occlusion_fraction", n.full_occlusion_fraction, 1.0),
            ("noise.frame_drop_prob", n.frame_drop_prob, 0.9),
            ("noise.stamp_jitter_s", n.stamp_jitter_s, 0.1),
        ] {
            if !(v.is_finite() && (0.0..=hi).contains(&v)) {
                return Err(invalid(field, v, "is out of its range"));
            }
        }
        check_range("noise.occlusion_duration_s", n.occlusion_duration_s, 1e-3, 60.0)?;
        Ok(())
    }
}

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
    fn from_height(height: f64, mut vary: impl FnMut() -> f64) -> Self {
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
struct ArmAngles {
    flex: f64,
    abd: f64,
    elbow: f64,
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
struct Gesture {
    side: Side,
    start: f64,
    rise: f64,
    hold: f64,
    fall: f64,
    target: ArmAngles,
    /// Forward torso lean at full extension [rad].
    lean: f64,
}

impl Gesture {
    fn end(&self) -> f64 {
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
fn wrap(a: f64) -> f64 {
    let w = a.rem_euclid(TAU);
    if w > PI {
        w - TAU
    } else {
        w
    }
}

/// The episode of one human, as drawn from the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The intent the human carries out.
    pub intent: Intent,
    /// Motion onset [s from start]; `None` for idle.
    pub onset_s: Option<f64>,
    /// Body dimensions.
    pub body: Body,
    /// Start position on the ground, robot frame \[m\].
    pub start: [f64; 2],
    /// Reaching arm of reach_handover.
    pub handover_side: Option<Side>,
}

/// Kinematic state on the integration grid.
#[derive(Clone, Copy, Debug)]
struct GridState {
    pos: Vector2<f64>,
    yaw: f64,
    phase: f64,
    gait: f64,
    head: f64,
    intent: Intent,
    onset: Option<f64>,
}

/// Behaviour of a non-idle intent once it started.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    Idle,
    PassBy { dir: Vector2<f64>, speed: f64, glance_robot: bool },
    Approach { aim: Vector2<f64>, speed: f64, stop: f64 },
    Handover { reach_distance: f64, speed: f64, label_end: f64 },
    Retreat { heading: f64, speed: f64, back_step_s: f64, back_speed: f64 },
}

/// Idle repositioning: a few slow steps or a turn in place.
#[derive(Clone, Copy, Debug)]
struct Shuffle {
    start: f64,
    duration: f64,
    velocity: Vector2<f64>,
    turn: f64,
}

/// Everything random about one human, drawn at construction.
#[derive(Clone, Debug)]
struct Human {
    episode: Episode,
    plan: Plan,
    gestures: Vec<Gesture>,
    shuffles: Vec<Shuffle>,
    glance: [f64; 3],
    look_at_robot_from: Option<f64>,
    sway: [f64; 4],
    occlusions: Vec<(f64, f64, Option<u8>)>,
    id_switches: Vec<f64>,
    grid: Vec<GridState>,
    /// Walk away this long after the interaction ended \[s\] ([`ScenarioConfig::leave_after_interaction_s`]).
    leave_after: Option<f64>,
}

/// Ground truth of one human in one frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumanTruth {
    /// Index of the human in the scenario (stable; the tracker id may change).
    pub human: usize,
    /// Tracker id published for this human in this frame.
    pub tracker_id: HumanId,
    /// False when the human is fully occluded (not in the frame).
    pub published: bool,
    /// Current intent label.
    pub intent: Intent,
    /// Onset of the current non-idle intent; `None` while the label is idle.
    pub onset: Option<Stamp>,
    /// The episode's intent (the label after the motion onset until the intent is completed).
    pub episode_intent: Intent,
    /// The episode's motion onset; `None` for idle episodes.
    pub episode_onset: Option<Stamp>,
    /// True keypoints (noise-free, all present), robot frame \[m\].
    pub keypoints: [Point3<f64>; NUM_KEYPOINTS],
}

/// Ground truth of one frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Stamp of the frame.
    pub stamp: Stamp,
    /// Every human of the scenario, published or not.
    pub humans: Vec<HumanTruth>,
}

/// A seeded synthetic scene; see the module docs.
#[derive(Clone, Debug)]
pub struct Scenario {
    config: ScenarioConfig,
    seed: u64,
    humans: Vec<Human>,
    frame_index: u64,
    noise_rng: ChaCha8Rng,
    tracker_ids: Vec<HumanId>,
    next_id: HumanId,
    id_switch_cursor: Vec<usize>,
    swaps: Vec<(f64, usize, usize)>,
    swap_cursor: usize,
}

impl Scenario {
    /// Draws a scenario from `seed` (deterministic: the same config and seed give the same frames).
    pub fn new(config: ScenarioConfig, seed: u64) -> Result<Self, ScenarioError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(config.humans[0]..=config.humans[1]);
        let mut humans = Vec::with_capacity(n);
        for _ in 0..n {
            let human_seed: u64 = rng.random();
            humans.push(Human::draw(&config, human_seed));
        }
        let mut swaps = Vec::new();
        if n >= 2 && config.noise.id_swap_rate_hz > 0.0 {
            let mut t = 0.0;
            loop {
                t += exponential(&mut rng, config.noise.id_swap_rate_hz);
                if t >= config.duration_s {
                    break;
                }
                let a = rng.random_range(0..n);
                let b = (a + rng.random_range(1..n)) % n;
                swaps.push((t, a, b));
            }
        }
        let first_id: HumanId = rng.random_range(1..1000);
        let mut noise_rng = ChaCha8Rng::seed_from_u64(seed);
        noise_rng.set_stream(1);
        Ok(Self {
            tracker_ids: (0..n as HumanId).map(|i| first_id + i).collect(),
            next_id: first_id + n as HumanId,
            id_switch_cursor: vec![0; n],
            config,
            seed,
            humans,
            frame_index: 0,
            noise_rng,
            swaps,
            swap_cursor: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ScenarioConfig {
        &self.config
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of humans.
    pub fn num_humans(&self) -> usize {
        self.humans.len()
    }

    /// Episode of human `human` (intent, onset, body), `None` when out of range.
    pub fn episode(&self, human: usize) -> Option<&Episode> {
        self.humans.get(human).map(|h| &h.episode)
    }

    /// Stamp of scenario time `t_s` \[s\].
    pub fn stamp_at(&self, t_s: f64) -> Stamp {
        Stamp(self.config.start_stamp_ns).add_secs(t_s)
    }

    /// Scenario time \[s\] of `stamp`.
    pub fn time_of(&self, stamp: Stamp) -> f64 {
        stamp.seconds_since(Stamp(self.config.start_stamp_ns))
    }

    /// Last time with true motion available \[s\] (duration + [`FUTURE_MARGIN_S`]).
    pub fn horizon_end_s(&self) -> f64 {
        self.config.duration_s + FUTURE_MARGIN_S
    }

    /// True (noise-free) keypoints of `human` at `stamp`, robot frame \[m\]; `None` when the human does not exist
    /// or `stamp` is before the start or after [`Scenario::horizon_end_s`].
    pub fn true_keypoints(&self, human: usize, stamp: Stamp) -> Option<[Point3<f64>; NUM_KEYPOINTS]> {
        let t = self.time_of(stamp);
        self.humans.get(human).and_then(|h| h.keypoints_at(t))
    }

    /// True torso point (hip midpoint), left wrist and right wrist of `human` at `stamp` \[m\] (the model's
    /// predicted points, in that order).
    pub fn true_torso_wrists(&self, human: usize, stamp: Stamp) -> Option<[Point3<f64>; 3]> {
        let k = self.true_keypoints(human, stamp)?;
        Some([nalgebra::center(&k[kp::LEFT_HIP], &k[kp::RIGHT_HIP]), k[kp::LEFT_WRIST], k[kp::RIGHT_WRIST]])
    }

    /// Current intent label and the onset of the current non-idle intent of `human` at `stamp`.
    pub fn label_at(&self, human: usize, stamp: Stamp) -> Option<(Intent, Option<Stamp>)> {
        let t = self.time_of(stamp);
        let h = self.humans.get(human)?;
        let s = h.state_at(t)?;
        Some((s.intent, s.onset.map(|o| self.stamp_at(o))))
    }

    /// Next frame and its ground truth; `None` after the end of the scenario.
    pub fn step(&mut self) -> Option<(SkeletonFrame, GroundTruth)> {
        let period = 1.0 / self.config.rate_hz;
        loop {
            let t_nom = self.frame_index as f64 * period;
            if t_nom > self.config.duration_s + 1e-9 {
                return None;
            }
            self.frame_index += 1;
            let noise = &self.config.noise;
            let jitter = if noise.stamp_jitter_s > 0.0 {
                (gauss(&mut self.noise_rng) * noise.stamp_jitter_s).clamp(-0.3 * period, 0.3 * period)
            } else {
                0.0
            };
            let dropped = noise.frame_drop_prob > 0.0 && self.noise_rng.random_bool(noise.frame_drop_prob);
            // A dropped frame is still rendered, so the noise of later frames does not depend on which were dropped.
            let t = (t_nom + jitter).max(0.0);
            let out = self.render(t);
            if !dropped {
                return Some(out);
            }
        }
    }

    /// Renders the frame at scenario time `t` (noise drawn from the noise stream).
    fn render(&mut self, t: f64) -> (SkeletonFrame, GroundTruth) {
        self.apply_id_events(t);
        let stamp = self.stamp_at(t);
        let mut frame = SkeletonFrame {
            stamp,
            frame_id: self.config.frame_id.clone(),
            humans: Vec::with_capacity(self.humans.len()),
        };
        let mut truth = GroundTruth { stamp, humans: Vec::with_capacity(self.humans.len()) };
        for (i, h) in self.humans.iter().enumerate() {
            let (Some(state), Some(keypoints)) = (h.state_at(t), h.keypoints_at(t)) else {
                continue;
            };
            let occlusion = h.occlusions.iter().find(|(a, b, _)| t >= *a && t < *b).map(|o| o.2);
            let published = !matches!(occlusion, Some(None));
            let head_yaw = state.yaw + state.head;
            let observed = observe(&keypoints, occlusion.flatten(), head_yaw, &self.config.noise, &mut self.noise_rng);
            if published {
                frame.humans.push(HumanSkeleton { id: self.tracker_ids[i], keypoints: observed });
            }
            truth.humans.push(HumanTruth {
                human: i,
                tracker_id: self.tracker_ids[i],
                published,
                intent: state.intent,
                onset: state.onset.map(|o| self.stamp_at(o)),
                episode_intent: h.episode.intent,
                episode_onset: h.episode.onset_s.map(|o| self.stamp_at(o)),
                keypoints,
            });
        }
        (frame, truth)
    }

    fn apply_id_events(&mut self, t: f64) {
        for i in 0..self.humans.len() {
            while let Some(&ts) = self.humans[i].id_switches.get(self.id_switch_cursor[i]) {
                if ts > t {
                    break;
                }
                self.id_switch_cursor[i] += 1;
                self.tracker_ids[i] = self.next_id;
                self.next_id = self.next_id.wrapping_add(1).max(1);
            }
        }
        while let Some(&(ts, a, b)) = self.swaps.get(self.swap_cursor) {
            if ts > t {
                break;
            }
            self.swap_cursor += 1;
            self.tracker_ids.swap(a, b);
        }
    }
}

impl Iterator for Scenario {
    type Item = (SkeletonFrame, GroundTruth);

    fn next(&mut self) -> Option<Self::Item> {
        self.step()
    }
}

/// A standard normal sample.
fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    // Normal::new(0, 1) cannot fail; fall back to 0 rather than panic.
    Normal::new(0.0, 1.0).map(|n| n.sample(rng)).unwrap_or(0.0)
}

/// Exponential inter-arrival time of a Poisson process with rate `rate` [1/s] (infinite for rate 0).
fn exponential(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
    if rate <= 0.0 {
        return f64::INFINITY;
    }
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    -u.ln() / rate
}

fn uniform(rng: &mut ChaCha8Rng, r: [f64; 2]) -> f64 {
    if r[1] > r[0] {
        rng.random_range(r[0]..r[1])
    } else {
        r[0]
    }
}

/// Body-part groups that a partial occlusion hides.
const OCCLUSION_GROUPS: [&[usize]; 5] = [
    &[kp::LEFT_HIP, kp::RIGHT_HIP, kp::LEFT_KNEE, kp::RIGHT_KNEE, kp::LEFT_ANKLE, kp::RIGHT_ANKLE],
    &[kp::LEFT_KNEE, kp::RIGHT_KNEE, kp::LEFT_ANKLE, kp::RIGHT_ANKLE],
    &[kp::LEFT_SHOULDER, kp::LEFT_ELBOW, kp::LEFT_WRIST, kp::LEFT_HIP, kp::LEFT_KNEE, kp::LEFT_ANKLE],
    &[kp::RIGHT_SHOULDER, kp::RIGHT_ELBOW, kp::RIGHT_WRIST, kp::RIGHT_HIP, kp::RIGHT_KNEE, kp::RIGHT_ANKLE],
    &[kp::NOSE, kp::LEFT_EYE, kp::RIGHT_EYE, kp::LEFT_EAR, kp::RIGHT_EAR, kp::LEFT_SHOULDER, kp::RIGHT_SHOULDER],
];

/// Sensor model: noise, dropouts, partial occlusion and face self-occlusion of one human's true keypoints.
fn observe(
    truth: &[Point3<f64>; NUM_KEYPOINTS],
    occluded_group: Option<u8>,
    head_yaw: f64,
    noise: &NoiseConfig,
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
        let mut noisy = *p
            + Vector3::new(gauss(rng), gauss(rng), gauss(rng)) * noise.keypoint_sigma_m
            + if dist > 1e-6 { ray / dist * (gauss(rng) * noise.depth_sigma_per_m * dist) } else { Vector3::zeros() };
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

impl Human {
    /// Draws one human's plan from `seed` and integrates its motion.
    fn draw(config: &ScenarioConfig, seed: u64) -> Human {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let total: f64 = config.intent_weights.iter().sum();
        let mut pick = rng.random_range(0.0..total);
        // The last intent with a weight is the fallback should rounding leave `pick` past every weight.
        let last = config.intent_weights.iter().rposition(|w| *w > 0.0).unwrap_or(0);
        let mut intent = Intent::from_index(last).unwrap_or(Intent::Idle);
        for (i, w) in config.intent_weights.iter().enumerate() {
            if *w > 0.0 && pick < *w {
                intent = Intent::from_index(i).unwrap_or(Intent::Idle);
                break;
            }
            pick -= w;
        }
        let height = uniform(&mut rng, config.height_m);
        let body = Body::from_height(height, || 1.0 + (rng.random_range(-0.05..0.05)));
        let bearing = rng.random_range(-config.max_start_bearing_rad..=config.max_start_bearing_rad);
        let radial = Vector2::new(bearing.cos(), bearing.sin());
        let to_robot_yaw = wrap(bearing + PI);
        let onset = (intent != Intent::Idle).then(|| uniform(&mut rng, config.onset_s));
        let speed = uniform(&mut rng, config.walk_speed_mps);
        let duration = config.duration_s;
        let mut handover_side = None;
        let mut gestures = Vec::new();
        let mut look_at_robot_from = None;
        let (start, yaw0, plan) = match intent {
            Intent::Idle => {
                let d = uniform(&mut rng, [config.stop_distance_m[0].max(1.0), config.start_distance_m[1]]);
                (radial * d, rng.random_range(-PI..PI), Plan::Idle)
            }
            Intent::PassBy => {
                let dmin = uniform(&mut rng, config.pass_distance_m);
                let beta = rng.random_range(-1.0..1.0);
                let q = Vector2::new(beta_cos(beta), beta.sin()) * dmin;
                let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                let dir = Vector2::new(-q.y, q.x).normalize() * sign;
                let before = uniform(&mut rng, [1.0, 4.5]);
                let start = q - dir * before;
                let yaw0 = wrap(dir.y.atan2(dir.x) + rng.random_range(-FRAC_PI_2..FRAC_PI_2));
                (start, yaw0, Plan::PassBy { dir, speed, glance_robot: rng.random_bool(0.5) })
            }
            Intent::ApproachRobot => {
                let d = uniform(&mut rng, config.start_distance_m);
                let aim = Vector2::new(-radial.y, radial.x) * rng.random_range(-0.3..0.3);
                let stop = uniform(&mut rng, config.stop_distance_m);
                look_at_robot_from = onset.map(|o| o - rng.random_range(0.0..0.6));
                let yaw0 = wrap(to_robot_yaw + rng.random_range(-2.0..2.0));
                (radial * d, yaw0, Plan::Approach { aim, speed: speed.min(1.5), stop })
            }
            Intent::ReachHandover => {
                let d = uniform(&mut rng, config.handover_start_distance_m);
                let reach_distance = rng.random_range(0.65..0.95);
                let walk_speed = rng.random_range(0.4..0.75);
                let o = onset.unwrap_or(0.0);
                let walk = (d - reach_distance).max(0.0);
                let walk_time = if walk > 0.25 { walk / walk_speed + walk_speed / MAX_ACCEL } else { 0.0 };
                let side = if rng.random_bool(0.7) { Side::Right } else { Side::Left };
                handover_side = Some(side);
                let g = Gesture {
                    side,
                    start: o + (walk_time - 0.5).max(0.1) + rng.random_range(0.0..0.2),
                    rise: rng.random_range(0.55..1.0),
                    hold: rng.random_range(1.0..2.5),
                    fall: rng.random_range(0.5..0.9),
                    target: ArmAngles {
                        flex: rng.random_range(1.0..1.45),
                        abd: rng.random_range(0.0..0.2),
                        elbow: rng.random_range(0.05..0.45),
                    },
                    lean: rng.random_range(0.05..0.15),
                };
                let label_end = g.start + g.rise + g.hold;
                gestures.push(g);
                look_at_robot_from = Some(o - rng.random_range(0.0..0.6));
                let yaw0 = wrap(to_robot_yaw + rng.random_range(-1.6..1.6));
                (radial * d, yaw0, Plan::Handover { reach_distance, speed: walk_speed, label_end })
            }
            Intent::Retreat => {
                let d = uniform(&mut rng, config.retreat_start_distance_m);
                let back_step_s = if rng.random_bool(0.35) { rng.random_range(0.5..1.0) } else { 0.0 };
                let heading = wrap(bearing + rng.random_range(-0.6..0.6));
                let yaw0 = wrap(to_robot_yaw + rng.random_range(-0.8..0.8));
                look_at_robot_from = Some(0.0);
                (
                    radial * d,
                    yaw0,
                    Plan::Retreat { heading, speed, back_step_s, back_speed: rng.random_range(0.3..0.5) },
                )
            }
        };
        // Idle gestures: throughout an idle episode, before the onset otherwise.
        let idle_end = onset.map(|o| o - 0.3).unwrap_or(duration + FUTURE_MARGIN_S);
        let mut t = rng.random_range(0.0..3.0);
        while t < idle_end {
            let (target, hold) = match rng.random_range(0..3) {
                0 => (ArmAngles { flex: rng.random_range(0.5..0.8), abd: 0.3, elbow: rng.random_range(1.9..2.3) }, 1.5),
                1 => {
                    (ArmAngles { flex: rng.random_range(0.25..0.6), abd: 0.1, elbow: rng.random_range(1.2..1.7) }, 3.0)
                }
                _ => {
                    (ArmAngles { flex: 0.2, abd: rng.random_range(0.9..1.4), elbow: rng.random_range(0.05..0.5) }, 1.2)
                }
            };
            let g = Gesture {
                side: if rng.random_bool(0.5) { Side::Left } else { Side::Right },
                start: t,
                rise: rng.random_range(0.4..0.9),
                hold: rng.random_range(0.3..hold),
                fall: rng.random_range(0.4..0.8),
                target,
                lean: 0.0,
            };
            if g.end() < idle_end {
                gestures.push(g);
            }
            t = g.end() + rng.random_range(0.5..4.0);
        }
        // Idle repositioning: small slow steps and turns in place (idle episodes only).
        let mut shuffles = Vec::new();
        if intent == Intent::Idle {
            let mut t = rng.random_range(0.5..4.0);
            while t < duration + FUTURE_MARGIN_S {
                let dir = rng.random_range(-PI..PI);
                let step_speed = rng.random_range(0.15..0.45);
                let is_turn = rng.random_bool(0.5);
                let s = Shuffle {
                    start: t,
                    duration: rng.random_range(0.6..1.6),
                    velocity: if is_turn { Vector2::zeros() } else { Vector2::new(dir.cos(), dir.sin()) * step_speed },
                    turn: if is_turn { rng.random_range(-1.8..1.8) } else { 0.0 },
                };
                shuffles.push(s);
                t += s.duration + rng.random_range(1.5..5.0);
            }
        }
        let glance = [rng.random_range(0.15..0.7), rng.random_range(0.05..0.25), rng.random_range(0.0..TAU)];
        let sway = [
            rng.random_range(0.005..0.02),
            rng.random_range(0.15..0.4),
            rng.random_range(0.0..TAU),
            rng.random_range(0.0..TAU),
        ];
        // Occlusions and id switches (per human, Poisson).
        let mut occlusions = Vec::new();
        let mut t = 0.0;
        loop {
            t += exponential(&mut rng, config.noise.occlusion_rate_hz);
            if t >= duration {
                break;
            }
            let len = uniform(&mut rng, config.noise.occlusion_duration_s);
            let group = if rng.random_bool(config.noise.full_occlusion_fraction) {
                None
            } else {
                Some(rng.random_range(0..OCCLUSION_GROUPS.len() as u8))
            };
            occlusions.push((t, t + len, group));
            t += len;
        }
        let mut id_switches = Vec::new();
        let mut t = 0.0;
        loop {
            t += exponential(&mut rng, config.noise.id_switch_rate_hz);
            if t >= duration {
                break;
            }
            id_switches.push(t);
        }
        let episode = Episode { intent, onset_s: onset, body, start: [start.x, start.y], handover_side };
        let mut human = Human {
            episode,
            plan,
            gestures,
            shuffles,
            glance,
            look_at_robot_from,
            sway,
            occlusions,
            id_switches,
            grid: Vec::new(),
            leave_after: config.leave_after_interaction_s,
        };
        human.integrate(duration + FUTURE_MARGIN_S, start, yaw0);
        human
    }

    /// Integrates the planar motion, yaw, gait phase and head yaw on the grid from 0 to `end` [s].
    fn integrate(&mut self, end: f64, start: Vector2<f64>, yaw0: f64) {
        let steps = (end / GRID_DT_S).ceil() as usize + 1;
        self.grid.reserve_exact(steps);
        let leg = self.episode.body.thigh + self.episode.body.shank;
        let mut pos = start;
        let mut vel = Vector2::zeros();
        let mut yaw = yaw0;
        let mut phase = 0.0;
        let mut head = 0.0;
        let mut done_at: Option<f64> = None;
        for i in 0..steps {
            let t = i as f64 * GRID_DT_S;
            let onset = self.episode.onset_s;
            let started = onset.is_some_and(|o| t >= o);
            let mut v_des = Vector2::zeros();
            let mut yaw_des: Option<f64> = None;
            let mut intent = Intent::Idle;
            let mut label_onset = None;
            let to_robot_yaw = (-pos.y).atan2(-pos.x);
            if started && done_at.is_none() {
                intent = self.episode.intent;
                label_onset = onset;
                let o = onset.unwrap_or(0.0);
                match self.plan {
                    Plan::Idle => {}
                    Plan::PassBy { dir, speed, .. } => {
                        v_des = dir * speed;
                        yaw_des = Some(dir.y.atan2(dir.x));
                    }
                    Plan::Approach { aim, speed, stop } => {
                        let to_aim = aim - pos;
                        let remaining = pos.norm() - stop;
                        let v = speed.min((2.0 * 0.8 * remaining.max(0.0)).sqrt());
                        if remaining < 0.03 && vel.norm() < 0.05 {
                            done_at = Some(t);
                        } else if to_aim.norm() > 1e-6 {
                            v_des = to_aim.normalize() * v;
                            yaw_des = Some(to_aim.y.atan2(to_aim.x));
                        }
                    }
                    Plan::Handover { reach_distance, speed, label_end } => {
                        let remaining = pos.norm() - reach_distance;
                        yaw_des = Some(to_robot_yaw);
                        if remaining > 0.02 && pos.norm() > 1e-6 {
                            let v = speed.min((2.0 * 0.8 * remaining).sqrt());
                            v_des = -pos.normalize() * v;
                        }
                        if t >= label_end {
                            done_at = Some(t);
                        }
                    }
                    Plan::Retreat { heading, speed, back_step_s, back_speed } => {
                        let away = Vector2::new(pos.x, pos.y);
                        let away = if away.norm() > 1e-6 { away.normalize() } else { Vector2::new(1.0, 0.0) };
                        if t - o < back_step_s {
                            v_des = away * back_speed;
                            yaw_des = Some(to_robot_yaw);
                        } else {
                            v_des = Vector2::new(heading.cos(), heading.sin()) * speed;
                            yaw_des = Some(heading);
                        }
                    }
                }
            } else if let Some(done) = done_at {
                let leave_speed = match self.plan {
                    Plan::Approach { speed, .. } | Plan::Handover { speed, .. } => Some(speed),
                    _ => None,
                };
                match (self.leave_after, leave_speed) {
                    (Some(wait), Some(speed)) if t >= done + wait => {
                        let away = pos.try_normalize(1e-6).unwrap_or(Vector2::new(1.0, 0.0));
                        v_des = away * speed.max(0.8);
                        yaw_des = Some(away.y.atan2(away.x));
                        intent = Intent::Retreat;
                        label_onset = Some(done + wait);
                    }
                    _ => yaw_des = Some(to_robot_yaw),
                }
            } else if self.episode.intent == Intent::Idle {
                if let Some(s) = self.shuffles.iter().find(|s| t >= s.start && t < s.start + s.duration) {
                    v_des = s.velocity;
                    if s.turn != 0.0 {
                        yaw_des = Some(yaw + s.turn.signum() * MAX_YAW_RATE * 0.5);
                    } else if s.velocity.norm() > 0.0 {
                        // Small steps keep the body roughly where it faces; steps to the side or back are fine.
                        yaw_des = None;
                    }
                }
            }
            // Acceleration-limited velocity and turn-rate-limited yaw.
            let dv = v_des - vel;
            let max_dv = MAX_ACCEL * GRID_DT_S;
            vel += if dv.norm() > max_dv { dv * (max_dv / dv.norm()) } else { dv };
            if let Some(target) = yaw_des {
                let err = wrap(target - yaw);
                let max_turn = if matches!(self.plan, Plan::Idle) { MAX_YAW_RATE * 0.5 } else { MAX_YAW_RATE };
                yaw += err.clamp(-max_turn * GRID_DT_S, max_turn * GRID_DT_S);
            }
            let speed = vel.norm();
            let gait = (speed / 1.3).clamp(0.0, 1.3).powf(0.7);
            let stride = 4.0 * leg * (HIP_AMPLITUDE * gait).sin();
            let forward = Vector2::new(yaw.cos(), yaw.sin());
            let direction = if vel.dot(&forward) >= 0.0 { 1.0 } else { -1.0 };
            if speed > 1e-3 && stride > 1e-6 {
                phase += direction * TAU * speed / stride * GRID_DT_S;
            }
            // Head: glance around, or look at the robot (clamped to the neck's range).
            let look = match self.look_at_robot_from {
                Some(from) if t >= from => {
                    let mut w = ((t - from) / 0.4).clamp(0.0, 1.0);
                    if let Plan::Retreat { back_step_s, .. } = self.plan {
                        if let Some(o) = onset {
                            w *= 1.0 - ((t - o - back_step_s) / 0.3).clamp(0.0, 1.0);
                        }
                    }
                    if let Plan::PassBy { glance_robot: false, .. } = self.plan {
                        w = 0.0;
                    }
                    w
                }
                _ => 0.0,
            };
            let glance = self.glance[0] * (TAU * self.glance[1] * t + self.glance[2]).sin();
            let at_robot = wrap(to_robot_yaw - yaw).clamp(-1.3, 1.3);
            let head_target = look * at_robot + (1.0 - look) * glance * (1.0 - 0.6 * gait.min(1.0));
            head += (head_target - head) * (GRID_DT_S / 0.15).min(1.0);
            pos += vel * GRID_DT_S;
            self.grid.push(GridState { pos, yaw, phase, gait, head, intent, onset: label_onset });
        }
    }

    /// Interpolated state at `t` [s]; `None` outside [0, end of grid].
    fn state_at(&self, t: f64) -> Option<GridState> {
        if !(t.is_finite() && t >= 0.0) {
            return None;
        }
        let x = t / GRID_DT_S;
        let i = x.floor() as usize;
        let a = *self.grid.get(i)?;
        let Some(b) = self.grid.get(i + 1) else {
            return (x - i as f64 <= 1e-9).then_some(a);
        };
        let w = x - i as f64;
        Some(GridState {
            pos: a.pos + (b.pos - a.pos) * w,
            yaw: a.yaw + (b.yaw - a.yaw) * w,
            phase: a.phase + (b.phase - a.phase) * w,
            gait: a.gait + (b.gait - a.gait) * w,
            head: a.head + (b.head - a.head) * w,
            intent: a.intent,
            onset: a.onset,
        })
    }

    /// Forward kinematics at `t`: the 17 keypoints in the robot frame [m].
    fn keypoints_at(&self, t: f64) -> Option<[Point3<f64>; NUM_KEYPOINTS]> {
        let s = self.state_at(t)?;
        let b = &self.episode.body;
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
        let pelvis_z = b.ankle_height + extent(lh, lk).max(extent(rh, rk));
        let sway_on = 1.0 - s.gait.min(1.0);
        let sway = Vector3::new(
            self.sway[0] * (TAU * self.sway[1] * t + self.sway[2]).sin() * sway_on,
            self.sway[0] * (TAU * self.sway[1] * 0.7 * t + self.sway[3]).sin() * sway_on
                + 0.02 * s.gait * s.phase.sin(),
            0.0,
        );
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
        let (sh, ch) = s.head.sin_cos();
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
        Some(out)
    }
}

/// Cosine of the closest-approach bearing of a pass_by path (kept in front of the robot).
fn beta_cos(beta: f64) -> f64 {
    beta.cos().abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(intent: Intent) -> ScenarioConfig {
        let mut w = [0.0; NUM_INTENTS];
        w[intent.index()] = 1.0;
        ScenarioConfig { intent_weights: w, humans: [1, 1], noise: NoiseConfig::none(), ..ScenarioConfig::default() }
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

    fn torso(k: &[Point3<f64>; NUM_KEYPOINTS]) -> Point3<f64> {
        nalgebra::center(&k[kp::LEFT_HIP], &k[kp::RIGHT_HIP])
    }

    #[test]
    fn same_seed_same_frames_other_seed_other_frames() {
        let config = ScenarioConfig {
            noise: NoiseConfig { id_switch_rate_hz: 0.2, id_swap_rate_hz: 0.2, ..NoiseConfig::default() },
            ..ScenarioConfig::default()
        };
        let a: Vec<_> = Scenario::new(config.clone(), 42).expect("config").collect();
        let b: Vec<_> = Scenario::new(config.clone(), 42).expect("config").collect();
        let c: Vec<_> = Scenario::new(config, 43).expect("config").collect();
        assert!(a.len() > 250);
        assert_eq!(a.len(), b.len());
        for ((fa, ga), (fb, gb)) in a.iter().zip(&b) {
            assert_eq!(bits(fa), bits(fb));
            assert_eq!(ga, gb);
        }
        let differs = a.iter().zip(&c).any(|((fa, _), (fc, _))| bits(fa) != bits(fc));
        assert!(differs || a.len() != c.len());
    }

    #[test]
    fn config_is_validated_and_refuses_unknown_keys() {
        assert!(ScenarioConfig::default().validate().is_ok());
        let bad = ScenarioConfig { humans: [2, 1], ..ScenarioConfig::default() };
        assert!(matches!(Scenario::new(bad, 0), Err(ScenarioError::InvalidConfig { field: "humans", .. })));
        let bad = ScenarioConfig { intent_weights: [0.0; NUM_INTENTS], ..ScenarioConfig::default() };
        assert!(bad.validate().is_err());
        let bad = ScenarioConfig { rate_hz: f64::NAN, ..ScenarioConfig::default() };
        assert!(bad.validate().is_err());
        let mut bad = ScenarioConfig::default();
        bad.noise.dropout_prob = 1.5;
        assert!(bad.validate().is_err());
        assert!(serde_yaml::from_str::<ScenarioConfig>("rate_hz: 15\nnoise:\n  dropout: 0.1\n").is_err());
        let ok: ScenarioConfig = serde_yaml::from_str("rate_hz: 15\nnoise:\n  dropout_prob: 0.1\n").expect("yaml");
        assert_eq!((ok.rate_hz, ok.noise.dropout_prob), (15.0, 0.1));
    }

    #[test]
    fn frames_at_the_configured_rate_with_increasing_stamps() {
        let config = ScenarioConfig { rate_hz: 15.0, duration_s: 4.0, ..ScenarioConfig::default() };
        let frames: Vec<_> = Scenario::new(config, 3).expect("config").map(|(f, _)| f.stamp).collect();
        assert!(frames.windows(2).all(|w| w[1] > w[0]));
        let mean_dt = frames.last().expect("frames").seconds_since(frames[0]) / (frames.len() - 1) as f64;
        assert!((mean_dt - 1.0 / 15.0).abs() < 0.01, "{mean_dt}");
    }

    #[test]
    fn bone_lengths_are_constant_and_speeds_plausible() {
        for seed in 0..20 {
            let s = Scenario::new(ScenarioConfig { humans: [2, 2], ..ScenarioConfig::default() }, seed).expect("ok");
            for h in 0..s.num_humans() {
                let body = s.episode(h).expect("human").body;
                assert!((1.52..=1.95).contains(&body.height));
                let mut prev: Option<Point3<f64>> = None;
                let dt = 1.0 / 30.0;
                for i in 0..300 {
                    let k = s.true_keypoints(h, s.stamp_at(i as f64 * dt)).expect("in range");
                    let bone = |a: usize, b: usize| (k[a] - k[b]).norm();
                    assert!((bone(kp::LEFT_HIP, kp::LEFT_KNEE) - body.thigh).abs() < 1e-9);
                    assert!((bone(kp::RIGHT_KNEE, kp::RIGHT_ANKLE) - body.shank).abs() < 1e-9);
                    assert!((bone(kp::LEFT_SHOULDER, kp::LEFT_ELBOW) - body.upper_arm).abs() < 1e-9);
                    assert!((bone(kp::RIGHT_ELBOW, kp::RIGHT_WRIST) - body.forearm).abs() < 1e-9);
                    assert!((bone(kp::LEFT_HIP, kp::RIGHT_HIP) - 2.0 * body.hip_half_width).abs() < 1e-9);
                    // Feet stay near the ground, the head above the shoulders.
                    let low = k[kp::LEFT_ANKLE].z.min(k[kp::RIGHT_ANKLE].z);
                    assert!((low - body.ankle_height).abs() < 1e-9, "lowest ankle at {low}");
                    assert!(k[kp::NOSE].z > k[kp::LEFT_SHOULDER].z);
                    let t = torso(&k);
                    if let Some(p) = prev {
                        let v = (t - p).norm() / dt;
                        assert!(v < 2.2, "seed {seed} human {h}: torso speed {v} m/s");
                    }
                    prev = Some(t);
                }
            }
        }
    }

    /// Torso positions over time of the single human of `intent` scenarios.
    fn trajectory(intent: Intent, seed: u64) -> (Scenario, Vec<(f64, Point3<f64>)>) {
        let s = Scenario::new(only(intent), seed).expect("config");
        let traj = (0..=300)
            .map(|i| {
                let t = i as f64 / 30.0;
                (t, torso(&s.true_keypoints(0, s.stamp_at(t)).expect("in range")))
            })
            .collect();
        (s, traj)
    }

    fn radial(p: &Point3<f64>) -> f64 {
        p.x.hypot(p.y)
    }

    #[test]
    fn approach_moves_toward_the_robot_and_stops() {
        for seed in 0..15 {
            let (s, traj) = trajectory(Intent::ApproachRobot, seed);
            let onset = s.episode(0).and_then(|e| e.onset_s).expect("onset");
            let at = |t: f64| traj[(t * 30.0).round() as usize].1;
            let before = at(onset);
            assert!((radial(&at(onset - 0.5)) - radial(&before)).abs() < 0.1, "stands before the onset");
            let later = at((onset + 2.0).min(10.0));
            assert!(radial(&before) - radial(&later) > 0.8, "seed {seed}: {} → {}", radial(&before), radial(&later));
            let min = traj.iter().map(|(_, p)| radial(p)).fold(f64::INFINITY, f64::min);
            assert!(min > 0.5, "never walks into the robot: {min}");
            let (label, label_onset) = s.label_at(0, s.stamp_at(onset + 0.5)).expect("label");
            assert_eq!(label, Intent::ApproachRobot);
            assert_eq!(label_onset, Some(s.stamp_at(onset)));
            assert_eq!(s.label_at(0, s.stamp_at(onset - 0.1)).expect("label").0, Intent::Idle);
        }
    }

    #[test]
    fn people_leave_after_an_interaction_only_when_asked_and_nothing_else_changes() {
        for seed in 0..10 {
            for intent in [Intent::ReachHandover, Intent::ApproachRobot] {
                let stay = Scenario::new(ScenarioConfig { duration_s: 20.0, ..only(intent) }, seed).expect("config");
                let leave = Scenario::new(
                    ScenarioConfig { duration_s: 20.0, leave_after_interaction_s: Some(1.0), ..only(intent) },
                    seed,
                )
                .expect("config");
                let at = |s: &Scenario, t: f64| torso(&s.true_keypoints(0, s.stamp_at(t)).expect("in range"));
                // The same person until the interaction ends; then one stays, the other walks away (retreat).
                let left_at = (0..=600)
                    .map(|i| i as f64 / 30.0)
                    .find(|&t| leave.label_at(0, leave.stamp_at(t)).expect("label").0 == Intent::Retreat);
                let Some(t_leave) = left_at else { continue };
                assert_eq!(at(&stay, t_leave - 0.1), at(&leave, t_leave - 0.1), "seed {seed}");
                let t_end = (t_leave + 4.0).min(19.9);
                assert!(radial(&at(&leave, t_end)) - radial(&at(&leave, t_leave)) > 1.5, "seed {seed} {intent:?}");
                assert!((radial(&at(&stay, t_end)) - radial(&at(&stay, t_leave))).abs() < 0.5, "seed {seed}");
            }
        }
        let bad = ScenarioConfig { leave_after_interaction_s: Some(f64::NAN), ..ScenarioConfig::default() };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn retreat_moves_away_and_pass_by_keeps_its_distance() {
        for seed in 0..15 {
            let (s, traj) = trajectory(Intent::Retreat, seed);
            let onset = s.episode(0).and_then(|e| e.onset_s).expect("onset");
            let i0 = (onset * 30.0) as usize;
            let end = traj.len() - 1;
            if end > i0 + 75 {
                assert!(radial(&traj[i0 + 75].1) - radial(&traj[i0].1) > 1.0, "seed {seed}: walks away");
            }
            let (s, traj) = trajectory(Intent::PassBy, seed);
            let onset = s.episode(0).and_then(|e| e.onset_s).expect("onset");
            let i0 = (onset * 30.0) as usize;
            let min = traj.iter().map(|(_, p)| radial(p)).fold(f64::INFINITY, f64::min);
            assert!(min > 1.0, "seed {seed}: passes at {min} m");
            if end > i0 + 60 {
                let (a, b) = (traj[i0].1, traj[i0 + 60].1);
                let travelled = (b - a).norm();
                assert!(travelled > 1.0, "seed {seed}: walks {travelled} m in 2 s");
                // Mostly tangential while passing: the radial change is less than the distance travelled.
                assert!((radial(&b) - radial(&a)).abs() < travelled);
            }
        }
    }

    #[test]
    fn handover_extends_a_wrist_toward_the_robot_at_chest_height() {
        for seed in 0..15 {
            let s = Scenario::new(only(Intent::ReachHandover), seed).expect("config");
            let e = s.episode(0).expect("human").clone();
            let wrist = if e.handover_side == Some(Side::Left) { kp::LEFT_WRIST } else { kp::RIGHT_WRIST };
            let mut best_reach = f64::NEG_INFINITY;
            let mut labelled = 0;
            for i in 0..=300 {
                let stamp = s.stamp_at(i as f64 / 30.0);
                let k = s.true_keypoints(0, stamp).expect("in range");
                let t = torso(&k);
                // How far the wrist is in front of the torso, toward the robot, while at least at hip height.
                let toward = -Vector2::new(t.x, t.y).normalize();
                let reach = Vector2::new(k[wrist].x - t.x, k[wrist].y - t.y).dot(&toward);
                if k[wrist].z > t.z + 0.1 {
                    best_reach = best_reach.max(reach);
                }
                if s.label_at(0, stamp).expect("label").0 == Intent::ReachHandover {
                    labelled += 1;
                }
            }
            assert!(best_reach > 0.35, "seed {seed}: wrist reaches {best_reach} m toward the robot");
            assert!(labelled > 20, "seed {seed}: labelled for {labelled} frames");
        }
    }

    #[test]
    fn idle_stays_roughly_in_place() {
        for seed in 0..15 {
            let (s, traj) = trajectory(Intent::Idle, seed);
            assert!(s.episode(0).expect("human").onset_s.is_none());
            let start = traj[0].1;
            let max = traj.iter().map(|(_, p)| (p - start).norm()).fold(0.0, f64::max);
            assert!(max < 2.0, "seed {seed}: idle drifts {max} m");
            assert!(traj.iter().all(|(t, _)| s.label_at(0, s.stamp_at(*t)).expect("l").0 == Intent::Idle));
        }
    }

    #[test]
    fn noise_dropouts_occlusions_and_id_switches_follow_the_config() {
        let mut config = only(Intent::PassBy);
        config.noise = NoiseConfig {
            dropout_prob: 0.2,
            occlusion_rate_hz: 0.0,
            id_switch_rate_hz: 0.5,
            frame_drop_prob: 0.0,
            face_self_occlusion: false,
            ..NoiseConfig::default()
        };
        let mut missing = 0usize;
        let mut total = 0usize;
        let mut ids = std::collections::BTreeSet::new();
        let mut err = 0.0;
        for (frame, truth) in Scenario::new(config, 9).expect("config") {
            assert_eq!(frame.humans.len(), 1);
            ids.insert(frame.humans[0].id);
            assert_eq!(frame.humans[0].id, truth.humans[0].tracker_id);
            for (k, obs) in frame.humans[0].keypoints.iter().enumerate() {
                total += 1;
                if obs.confidence < 0.3 {
                    missing += 1;
                } else {
                    err += (obs.position - truth.humans[0].keypoints[k]).norm();
                }
            }
        }
        let rate = missing as f64 / total as f64;
        assert!((rate - 0.2).abs() < 0.03, "dropout rate {rate}");
        assert!(ids.len() >= 2, "id switches happen: {ids:?}");
        let mean_err = err / (total - missing) as f64;
        assert!(mean_err > 0.01 && mean_err < 0.15, "mean keypoint error {mean_err}");

        let mut config = only(Intent::Idle);
        config.noise = NoiseConfig { occlusion_rate_hz: 2.0, full_occlusion_fraction: 1.0, ..NoiseConfig::none() };
        let frames: Vec<_> = Scenario::new(config, 5).expect("config").collect();
        let absent = frames.iter().filter(|(f, _)| f.humans.is_empty()).count();
        assert!(absent > 10, "full occlusions remove the human ({absent} frames)");
        assert!(frames.iter().all(|(_, g)| g.humans.len() == 1));
        assert!(frames.iter().any(|(_, g)| !g.humans[0].published));
    }

    #[test]
    fn noise_free_frames_equal_the_truth() {
        let s = Scenario::new(only(Intent::ApproachRobot), 1).expect("config");
        for (frame, truth) in s {
            for (obs, tru) in frame.humans[0].keypoints.iter().zip(&truth.humans[0].keypoints) {
                assert_eq!(obs.position, *tru);
                assert!(obs.confidence >= 0.55);
            }
        }
    }
}
