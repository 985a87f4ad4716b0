//! Closed-loop simulator: a kinematic planar robot driven through [`intent_shared_control_core::InputHandler`] by a scripted operator among
//! simulated humans, judged on ground truth.
//!
//! - **World**: the humans' frame (`odom`-like); the robot starts at the origin facing +x and integrates its
//!   output twist exactly (body frame, planar: vx, vy, ωz) at the control rate.
//! - **Humans**: any [`HumanSource`] (world-frame skeletons plus ground truth). [`ScenarioHumans`] plugs in the
//!   seeded generator of [`crate::scenario`]; [`LinearHumans`] is a small scripted source for tests.
//! - **Perception**: observed skeletons are moved into the robot frame at the robot's current pose and given to
//!   the controller. Predictions come from [`PredictorKind`]: the constant-velocity model of [`intent_shared_control_core::model`]
//!   run through [`IntentPredictor`] (its intents are uniform, so α stays 0 and separation monitoring uses the
//!   conservative human speed), any [`IntentModel`] the caller supplies through [`IntentPredictor`]
//!   ([`PredictorKind::Model`], [`run_episode_with_predictor`]; e.g. the shipped ONNX model), or an oracle (true
//!   intent with a set confidence and the true future motion). The predictor sees the skeletons in the world
//!   frame (an ego-motion-compensated tracker; the scenario's intents are defined relative to the robot's start
//!   pose, as in the training data) and its predictions are moved into the robot frame at the current pose.
//! - **Operator**: goal-seeking (turn toward the goal, forward when roughly facing it, turbo in the open, steer
//!   around people it sees). A *careless* operator ignores people until the robot has been held still for
//!   [`OperatorConfig::wake_up_s`].
//!
//! Each run is repeated with **raw teleop** (no assistance, no safety chain, only the velocity limits of the
//! pad) for the completion-time comparison.
//!
//! Metrics ([`RunMetrics`]), all from ground truth, judged by [`crate::judge::Judge`] on true keypoints with
//! each person's true body closing speed (torso, averaged over the next 0.2 s, floored at 0) and true torso and
//! wrists over the next second (the perfect forecast of the false-stop question):
//! - **separation violation**: a cycle whose output violates the reference `S_p` (see [`crate::judge`]);
//! - **false stop**: a `Stop` cycle whose blended command the configured chain would not have stopped had it
//!   known the truth, present and future; **stop beyond physics**: a `Stop` cycle whose blended command would not have violated the
//!   reference `S_p` either (includes the configured margins). False stops are broken down by the rule that
//!   stopped ([`FalseStopCauses`]);
//! - **time to stop**: from the first cycle the chain reports a predicted violation (`ssm_stop`/`zone_stop`)
//!   to the first cycle with the output speed below 0.01 m/s;
//! - **intervention**: a cycle in which assistance or safety changed the operator's command by more than
//!   0.01 m/s (or rad/s);
//! - **Stop by rule**: `ssm_stop`, else `zone_stop`, else anything else (fault, stale input, re-arm);
//! - **longest stop**: the longest time the robot is held still while the operator asks for a motion;
//!   **needless stop**: such a hold next to a person standing still
//!   ([`NEXT_TO_M`], [`STILL_SPEED`]) while the operator asks for a motion that brings no true keypoint of anyone
//!   closer (the configured approach tolerance): what a user feels as "it will not let me leave".
//!
//! Operators: today's scripted one (goal-seeking, steering around people it sees, careless ones first) and, with
//! [`OperatorConfig::realistic`], one who tries a way out (reverse and turn away, or turn away) when held still
//! next to someone. Scenes: [`crate::scenario::ScenarioConfig::leave_after_interaction_s`] lets people leave after
//! an approach or a hand-over.

use nalgebra::{Point3, Rotation2, Vector2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::judge::{Judge, JudgedHuman, FUTURE_STEPS, FUTURE_STEP_S};
use crate::scenario::{Scenario, ScenarioConfig, ScenarioError};
use intent_shared_control_core::control::{ConfigError, ControllerConfig, Mode};
use intent_shared_control_core::features::{FeatureConfig, FeatureError};
use intent_shared_control_core::input::InputHandler;
#[cfg(doc)]
use intent_shared_control_core::model::IntentModel;
use intent_shared_control_core::model::{
    ConstantVelocityConfig, ConstantVelocityModel, ModelError, HORIZON_STEPS, HORIZON_STEP_S,
};
use intent_shared_control_core::prediction::{HumanPrediction, Intent};
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::safety::{planar_motion, MotionLimiter, Reason, RobotShape, SeparationConfig};
use intent_shared_control_core::skeleton::{
    keypoint as kp, HumanId, HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS,
};
use intent_shared_control_core::teleop::{JoyInput, Teleop};
use intent_shared_control_core::time::Stamp;
use intent_shared_control_core::twist::Twist;

/// Errors of the simulator set-up.
#[derive(Debug, Error)]
pub enum SimError {
    #[error("invalid controller configuration: {0}")]
    Controller(#[from] ConfigError),
    #[error("invalid scenario: {0}")]
    Scenario(#[from] ScenarioError),
    #[error("feature pipeline: {0}")]
    Features(#[from] FeatureError),
    #[error("predictor: {0}")]
    Model(#[from] ModelError),
    #[error("`{field}` = {value} is out of range: allowed {allowed}")]
    OutOfRange { field: &'static str, value: f64, allowed: &'static str },
    #[error("predictor `model` needs an IntentPredictor from the caller (run_episode_with_predictor)")]
    MissingModel,
}

/// Ground truth of one human at one time (world frame).
#[derive(Clone, Debug, PartialEq)]
pub struct TrueHuman {
    /// Tracker id the perception publishes for this human.
    pub tracker_id: HumanId,
    /// Current intent label.
    pub intent: Intent,
    /// True keypoints (COCO-17), world frame \[m\].
    pub keypoints: [Point3<f64>; NUM_KEYPOINTS],
}

/// Simulated humans: observations and ground truth, world frame.
pub trait HumanSource {
    /// The newest observation with stamp ≤ `now` not returned before, if one is due.
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame>;
    /// Ground truth of every human at `stamp` (occluded ones included), in a stable order: index `i` is the
    /// same human at every stamp.
    fn truth(&self, stamp: Stamp) -> Vec<TrueHuman>;
    /// Last stamp of the scene.
    fn end(&self) -> Stamp;
}

/// The seeded scenario generator as a [`HumanSource`].
#[derive(Clone, Debug)]
pub struct ScenarioHumans {
    scenario: Scenario,
    pending: Option<SkeletonFrame>,
    tracker_ids: Vec<HumanId>,
}

impl ScenarioHumans {
    /// Wraps a scenario drawn from `config` and `seed`.
    pub fn new(config: ScenarioConfig, seed: u64) -> Result<Self, SimError> {
        let scenario = Scenario::new(config, seed)?;
        let n = scenario.num_humans();
        Ok(ScenarioHumans { scenario, pending: None, tracker_ids: vec![0; n] })
    }
}

impl HumanSource for ScenarioHumans {
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame> {
        let mut newest = None;
        loop {
            if self.pending.is_none() {
                let (frame, truth) = self.scenario.step()?;
                for h in &truth.humans {
                    if let Some(id) = self.tracker_ids.get_mut(h.human) {
                        *id = h.tracker_id;
                    }
                }
                self.pending = Some(frame);
            }
            match self.pending.take() {
                Some(f) if f.stamp <= now => newest = Some(f),
                other => {
                    self.pending = other;
                    return newest;
                }
            }
        }
    }

    fn truth(&self, stamp: Stamp) -> Vec<TrueHuman> {
        (0..self.scenario.num_humans())
            .filter_map(|i| {
                let keypoints = self.scenario.true_keypoints(i, stamp)?;
                let (intent, _) = self.scenario.label_at(i, stamp)?;
                Some(TrueHuman { tracker_id: self.tracker_ids.get(i).copied().unwrap_or(0), intent, keypoints })
            })
            .collect()
    }

    fn end(&self) -> Stamp {
        self.scenario.stamp_at(self.scenario.config().duration_s)
    }
}

/// Humans as upright points walking on straight lines (a small scripted source for tests).
#[derive(Clone, Debug)]
pub struct LinearHumans {
    /// (id, start xy \[m\], velocity xy \[m/s\], intent) per human.
    pub humans: Vec<(HumanId, [f64; 2], [f64; 2], Intent)>,
    /// Observation period \[s\].
    pub period: f64,
    /// Scene length \[s\].
    pub duration: f64,
    next: f64,
}

impl LinearHumans {
    /// A scene of straight walkers observed every `period` seconds for `duration` seconds.
    pub fn new(humans: Vec<(HumanId, [f64; 2], [f64; 2], Intent)>, period: f64, duration: f64) -> Self {
        LinearHumans { humans, period, duration, next: 0.0 }
    }

    fn keypoints(start: [f64; 2], vel: [f64; 2], t: f64) -> [Point3<f64>; NUM_KEYPOINTS] {
        let (x, y) = (start[0] + vel[0] * t, start[1] + vel[1] * t);
        let mut k = [Point3::new(x, y, 1.0); NUM_KEYPOINTS];
        k[kp::LEFT_HIP] = Point3::new(x, y + 0.1, 0.9);
        k[kp::RIGHT_HIP] = Point3::new(x, y - 0.1, 0.9);
        k[kp::LEFT_WRIST] = Point3::new(x, y + 0.25, 0.9);
        k[kp::RIGHT_WRIST] = Point3::new(x, y - 0.25, 0.9);
        // Legs down to the floor (distances are 3-D: a person is as low as their feet).
        k[kp::LEFT_KNEE] = Point3::new(x, y + 0.1, 0.5);
        k[kp::RIGHT_KNEE] = Point3::new(x, y - 0.1, 0.5);
        k[kp::LEFT_ANKLE] = Point3::new(x, y + 0.1, 0.08);
        k[kp::RIGHT_ANKLE] = Point3::new(x, y - 0.1, 0.08);
        k
    }
}

impl HumanSource for LinearHumans {
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame> {
        let t_now = now.as_secs_f64();
        if self.next > t_now + 1e-9 || self.next > self.duration {
            return None;
        }
        let t = (t_now / self.period).floor() * self.period;
        self.next = t + self.period;
        let stamp = Stamp::from_secs_f64(t);
        Some(SkeletonFrame {
            stamp,
            frame_id: "world".into(),
            humans: self
                .humans
                .iter()
                .map(|&(id, s, v, _)| {
                    let pts = Self::keypoints(s, v, t);
                    HumanSkeleton { id, keypoints: pts.map(|p| Keypoint { position: p, confidence: 0.95 }) }
                })
                .collect(),
        })
    }

    fn truth(&self, stamp: Stamp) -> Vec<TrueHuman> {
        let t = stamp.as_secs_f64();
        self.humans
            .iter()
            .map(|&(tracker_id, s, v, intent)| TrueHuman { tracker_id, intent, keypoints: Self::keypoints(s, v, t) })
            .collect()
    }

    fn end(&self) -> Stamp {
        Stamp::from_secs_f64(self.duration)
    }
}

/// Which predictor feeds the controller.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum PredictorKind {
    /// No predictions (conservative separation, no assistance).
    None,
    /// Constant-velocity model through the feature pipeline (uniform intents).
    ConstantVelocity,
    /// The caller's [`IntentPredictor`] (features + any [`IntentModel`], e.g. the shipped ONNX model), given to
    /// [`run_episode_with_predictor`].
    Model,
    /// True intent with probability `confidence` and the true future motion.
    Oracle { confidence: f32 },
}

/// Scripted operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorConfig {
    /// Probability that the operator of a run is careless [0, 1].
    pub careless_probability: f64,
    /// A careless operator starts watching out after being held still this long \[s\].
    pub wake_up_s: f64,
    /// Stick deflection per radian of heading error [1/rad].
    pub heading_gain: f64,
    /// A careful operator steers around people closer than this \[m\] and slows down near them.
    pub caution_distance: f64,
    /// Uses the turbo button when nobody is within `2 · caution_distance`.
    pub use_turbo: bool,
    /// When the robot waits for a re-arm (status `awaiting_rearm`), the operator notices after this long,
    /// releases the deadman for `rearm_release_s`, then presses it again \[s\].
    pub rearm_reaction_s: f64,
    /// How long the operator lets go of the deadman to re-arm \[s\].
    pub rearm_release_s: f64,
    /// A realistic operator: held still for [`OperatorConfig::stuck_s`] with someone within
    /// `caution_distance`, they try a way out for [`OperatorConfig::escape_s`]: reverse while turning away
    /// when the nearest person is ahead (within ±60°), otherwise turn away from them on the spot; then go
    /// straight on for as long (around the person), then head for the goal again. `false`: today's scripted
    /// operator, who keeps pushing toward the goal.
    pub realistic: bool,
    /// Realistic operator: held still this long before trying a way out \[s\].
    pub stuck_s: f64,
    /// Realistic operator: length of one way-out manoeuvre \[s\].
    pub escape_s: f64,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        OperatorConfig {
            careless_probability: 0.3,
            wake_up_s: 2.0,
            heading_gain: 1.5,
            caution_distance: 1.5,
            use_turbo: true,
            rearm_reaction_s: 0.3,
            rearm_release_s: 0.1,
            realistic: false,
            stuck_s: 1.0,
            escape_s: 1.5,
        }
    }
}

/// One simulation set-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Control rate \[Hz\].
    pub control_rate_hz: f64,
    /// Predictions are made on every n-th skeleton frame.
    pub predict_every_n_frames: usize,
    /// Goal of the operator, world frame \[m\].
    pub goal: [f64; 2],
    /// Goal reached within this distance \[m\].
    pub goal_tolerance: f64,
    /// Slowest robot approach counted for a separation violation [m/s].
    pub violation_min_speed: f64,
    pub predictor: PredictorKind,
    pub operator: OperatorConfig,
    pub controller: ControllerConfig,
    /// Reference `S_p` parameters the ground-truth judge applies to true keypoints (fixed, independent of the
    /// controller's tuning; the robot shape is taken from the controller).
    pub judge: SeparationConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            control_rate_hz: 50.0,
            predict_every_n_frames: 3,
            goal: [8.0, 0.0],
            goal_tolerance: 0.3,
            violation_min_speed: 0.05,
            predictor: PredictorKind::ConstantVelocity,
            operator: OperatorConfig::default(),
            controller: ControllerConfig::default(),
            judge: SeparationConfig { reaction_time: 0.1, human_uncertainty: 0.1, ..SeparationConfig::default() },
        }
    }
}

impl SimConfig {
    /// Checks the simulator's own values and the controller configuration.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |field, value, allowed| Err(SimError::OutOfRange { field, value, allowed });
        if !(self.control_rate_hz.is_finite() && (1.0..=2000.0).contains(&self.control_rate_hz)) {
            return bad("control_rate_hz", self.control_rate_hz, "[1, 2000] Hz");
        }
        if self.predict_every_n_frames == 0 {
            return bad("predict_every_n_frames", 0.0, ">= 1");
        }
        if !(self.goal_tolerance.is_finite() && self.goal_tolerance > 0.0) {
            return bad("goal_tolerance", self.goal_tolerance, "> 0 m");
        }
        if let PredictorKind::Oracle { confidence } = self.predictor {
            if !(0.2..=1.0).contains(&confidence) {
                return bad("predictor.confidence", f64::from(confidence), "[0.2, 1]");
            }
        }
        if !(0.0..=1.0).contains(&self.operator.careless_probability) {
            return bad("operator.careless_probability", self.operator.careless_probability, "[0, 1]");
        }
        self.controller.validate()?;
        Ok(())
    }
}

/// Per-run results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    pub seed: u64,
    pub careless_operator: bool,
    /// Control cycles simulated.
    pub cycles: u64,
    /// Cycles with a separation violation (ground truth).
    pub violation_cycles: u64,
    /// Smallest true surface distance to anyone while the robot approached them \[m\] (∞ if never).
    pub min_distance_approaching: f64,
    /// Cycles in `Stop` mode.
    pub stop_cycles: u64,
    /// `Stop` cycles the configured chain would not have made knowing the truth.
    pub false_stop_cycles: u64,
    /// `Stop` cycles whose blended command would not have violated the reference `S_p`.
    pub stops_beyond_physics: u64,
    /// False stops by cause.
    pub false_stop_causes: FalseStopCauses,
    /// Times from a predicted violation to standstill \[s\].
    pub time_to_stop_s: Vec<f64>,
    /// Cycles where assistance or safety changed the operator's command.
    pub intervention_cycles: u64,
    /// Cycles with α > 0.
    pub assisted_cycles: u64,
    /// Goal reached after this long \[s\] (`None`: not within the scene).
    pub completion_s: Option<f64>,
    /// Same operator with raw teleop: completion \[s\].
    pub raw_completion_s: Option<f64>,
    /// Raw teleop: cycles with a separation violation.
    pub raw_violation_cycles: u64,
    /// Same operator with raw teleop through the platform's velocity, acceleration and jerk limits only (a
    /// velocity smoother, no safety stage): completion \[s\].
    #[serde(default)]
    pub raw_limited_completion_s: Option<f64>,
    /// That pass: cycles with a separation violation.
    #[serde(default)]
    pub raw_limited_violation_cycles: u64,
    /// `Stop` cycles by the rule that stopped.
    #[serde(default)]
    pub stop_rules: StopRules,
    /// Longest time the robot was held still (output below 0.01 m/s and rad/s) while the operator asked for a
    /// motion \[s\], whatever the mode from one cycle to the next.
    #[serde(default)]
    pub longest_stop_s: f64,
    /// Longest such hold next to a person who stands still (the nearest person within
    /// [`NEXT_TO_M`], true torso speed below [`STILL_SPEED`]) while the operator asks for a motion that brings no
    /// true keypoint of anyone closer (the chain's approach tolerance) \[s\]: a stop no physics asks for.
    #[serde(default)]
    pub longest_needless_stop_s: f64,
    /// Cycles with a scenario person's true torso (hip centre) inside the robot's footprint: the generator's
    /// people walk to points fixed relative to the robot's *start* pose and never see the robot, so after it
    /// has moved one can walk into it — a scene no robot meets, counted so that what it causes can be told
    /// apart.
    #[serde(default)]
    pub person_inside_footprint_cycles: u64,
}

/// A person this close to the robot's surface counts as next to it \[m\].
pub const NEXT_TO_M: f64 = 1.5;
/// A person whose true torso moves slower than this stands still [m/s].
pub const STILL_SPEED: f64 = 0.1;

/// `Stop` cycles by the rule that stopped (first match in this order).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StopRules {
    /// Separation monitoring (`ssm_stop`).
    pub separation: u64,
    /// The stop zone (`zone_stop`).
    pub zone: u64,
    /// Anything else: a fault, a forced stop, a stale input, a re-arm wait.
    pub other: u64,
}

impl StopRules {
    /// Counts one `Stop` cycle with `reasons`.
    pub fn count(&mut self, reasons: &[Reason]) {
        if reasons.contains(&Reason::SsmStop) {
            self.separation += 1;
        } else if reasons.contains(&Reason::ZoneStop) {
            self.zone += 1;
        } else {
            self.other += 1;
        }
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &StopRules) {
        self.separation += other.separation;
        self.zone += other.zone;
        self.other += other.other;
    }
}

/// Run lengths of a condition over consecutive cycles \[s\].
#[derive(Default)]
struct Streak {
    since: Option<f64>,
    longest: f64,
}

impl Streak {
    fn update(&mut self, on: bool, t: f64, dt: f64) {
        if on {
            let since = *self.since.get_or_insert(t);
            self.longest = self.longest.max(t + dt - since);
        } else {
            self.since = None;
        }
    }
}

/// False stops by the rule that stopped, first match in this order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FalseStopCauses {
    /// Stop zone (`zone_stop`) without `ssm_stop`.
    pub zone: u64,
    /// `ssm_stop` while someone was remembered after leaving the view.
    pub occluded_memory: u64,
    /// `ssm_stop` with the standard's conservative human speed for someone (no fresh, confident prediction).
    pub conservative_speed: u64,
    /// `ssm_stop` with predictions for everyone in view.
    pub predicted: u64,
}

impl FalseStopCauses {
    fn count(&mut self, reasons: &[Reason]) {
        let has = |r: Reason| reasons.contains(&r);
        let slot = if !has(Reason::SsmStop) {
            &mut self.zone
        } else if has(Reason::OccludedHumanRemembered) {
            &mut self.occluded_memory
        } else if has(Reason::SsmConservativeHumanSpeed) {
            &mut self.conservative_speed
        } else {
            &mut self.predicted
        };
        *slot += 1;
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &FalseStopCauses) {
        self.zone += other.zone;
        self.occluded_memory += other.occluded_memory;
        self.conservative_speed += other.conservative_speed;
        self.predicted += other.predicted;
    }
}

/// Planar robot pose in the world.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
struct Pose {
    x: f64,
    y: f64,
    yaw: f64,
}

impl Pose {
    fn to_robot(self, p: &Point3<f64>) -> Point3<f64> {
        let v = Rotation2::new(-self.yaw) * Vector2::new(p.x - self.x, p.y - self.y);
        Point3::new(v.x, v.y, p.z)
    }

    /// Holds the body-frame twist `t` for `dt` seconds (exact for a constant twist).
    fn integrate(&mut self, t: &Twist, dt: f64) {
        let m = planar_motion(t, dt);
        let v = Rotation2::new(self.yaw) * m.translation.vector;
        self.x += v.x;
        self.y += v.y;
        self.yaw += m.rotation.angle();
    }
}

/// The robot's recent poses, for moving observations into the robot frame at their capture stamp (as a
/// perception pipeline on the robot reports them).
#[derive(Default)]
struct PoseHistory {
    /// `(cycle time, pose at that time, twist held until the next cycle)`, oldest first.
    entries: std::collections::VecDeque<(Stamp, Pose, Twist)>,
}

impl PoseHistory {
    fn push(&mut self, t: Stamp, pose: Pose, twist: Twist) {
        self.entries.push_back((t, pose, twist));
        while self.entries.len() > 1 && t.seconds_since(self.entries[0].0) > 2.0 {
            self.entries.pop_front();
        }
    }

    /// Pose at `stamp` (`current` when `stamp` is not before the newest entry's end, i.e. now).
    fn at(&self, stamp: Stamp, current: Pose) -> Pose {
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

/// The scripted operator's joystick.
struct Operator {
    config: OperatorConfig,
    careless: bool,
    still_since: Option<f64>,
    /// Since when the robot has been waiting for a re-arm, as the operator sees it on the status.
    waiting_since: Option<f64>,
    /// A realistic operator's way-out manoeuvre: until when, forward stick and yaw stick.
    escape: Option<(f64, f32, f32)>,
}

impl Operator {
    /// Follows the status: a robot waiting for a re-arm gets the deadman released after the reaction time,
    /// then pressed again. Returns whether the deadman is held now.
    fn deadman(&mut self, t: f64, awaiting_rearm: bool) -> bool {
        if !awaiting_rearm {
            self.waiting_since = None;
            return true;
        }
        let since = *self.waiting_since.get_or_insert(t);
        let release_at = since + self.config.rearm_reaction_s;
        if t >= release_at + self.config.rearm_release_s {
            // Pressed again; if the robot still waits (the release was not seen), try once more.
            self.waiting_since = Some(t);
        }
        !(release_at..release_at + self.config.rearm_release_s).contains(&t)
    }

    /// A realistic operator's way out (see [`OperatorConfig::realistic`]): the axes while one is under way.
    fn way_out(&mut self, t: f64, pose: &Pose, humans: &[TrueHuman]) -> Option<Vec<f32>> {
        if !self.config.realistic || self.careless {
            return None;
        }
        if let Some((until, forward, yaw)) = self.escape {
            if t < until {
                return Some(vec![yaw, forward, 0.0, 0.0]);
            }
            if yaw != 0.0 {
                // Then around: straight on, the person now beside or behind, before heading for the goal again.
                self.escape = Some((until + self.config.escape_s, 1.0, 0.0));
                return Some(vec![0.0, 1.0, 0.0, 0.0]);
            }
            self.escape = None;
            // Drive on: the stuck clock starts again.
            self.still_since = Some(t);
            return None;
        }
        let stuck = self.still_since.is_some_and(|since| t - since >= self.config.stuck_s);
        if !stuck {
            return None;
        }
        let nearest = humans
            .iter()
            .map(|h| {
                pose.to_robot(&nalgebra::center(&h.keypoints[kp::LEFT_HIP], &h.keypoints[kp::RIGHT_HIP])).xy().coords
            })
            .filter(|c| c.norm() < self.config.caution_distance)
            .min_by(|a, b| a.norm().total_cmp(&b.norm()))?;
        let bearing = nearest.y.atan2(nearest.x);
        let away: f32 = if bearing > 0.0 { -1.0 } else { 1.0 };
        let forward = if bearing.abs() < std::f64::consts::FRAC_PI_3 { -0.6 } else { 0.0 };
        self.escape = Some((t + self.config.escape_s, forward, away));
        Some(vec![away, forward, 0.0, 0.0])
    }

    /// Axes and buttons for the default pad map (axis 1 forward, axis 0 yaw, button 4 deadman, 5 turbo).
    fn joy(&mut self, t: f64, pose: &Pose, goal: [f64; 2], humans: &[TrueHuman], speed: f64) -> (Vec<f32>, Vec<i32>) {
        if speed < 0.01 {
            let since = *self.still_since.get_or_insert(t);
            if self.careless && t - since > self.config.wake_up_s {
                self.careless = false;
            }
        } else {
            self.still_since = None;
        }
        if let Some(axes) = self.way_out(t, pose, humans) {
            let mut buttons = vec![0; 8];
            buttons[4] = 1;
            return (axes, buttons);
        }
        let goal_r = pose.to_robot(&Point3::new(goal[0], goal[1], 0.0)).xy().coords;
        let mut dir = goal_r.try_normalize(1e-9).unwrap_or(Vector2::x());
        let mut nearest_ahead = f64::INFINITY;
        let mut nearest = f64::INFINITY;
        if !self.careless {
            for h in humans {
                let c = pose
                    .to_robot(&nalgebra::center(&h.keypoints[kp::LEFT_HIP], &h.keypoints[kp::RIGHT_HIP]))
                    .xy()
                    .coords;
                let d = c.norm();
                nearest = nearest.min(d);
                if d < self.config.caution_distance && d > 1e-6 {
                    // Repulsion away from the person, stronger when closer.
                    dir -= c / d * (self.config.caution_distance - d) / self.config.caution_distance * 1.5;
                    if c.x > 0.0 && c.y.abs() < 0.8 {
                        nearest_ahead = nearest_ahead.min(d);
                    }
                }
            }
        }
        let heading = dir.y.atan2(dir.x);
        let yaw = (self.config.heading_gain * heading).clamp(-1.0, 1.0);
        let dist = goal_r.norm();
        let mut forward = if heading.abs() < 1.0 { (dist / 1.0).min(1.0) * heading.cos() } else { 0.0 };
        if nearest_ahead < self.config.caution_distance {
            forward *= ((nearest_ahead - 0.6) / (self.config.caution_distance - 0.6)).clamp(0.0, 1.0);
        }
        let turbo = self.config.use_turbo && (self.careless || nearest > 2.0 * self.config.caution_distance);
        let mut buttons = vec![0; 8];
        buttons[4] = 1;
        buttons[5] = i32::from(turbo);
        (vec![yaw as f32, forward as f32, 0.0, 0.0], buttons)
    }
}

/// The people as the judge sees them at `pose`: true keypoints in the robot frame, the true closing speed of
/// the body (torso distance now vs `TRUTH_SPEED_WINDOW_S` later, floored at 0: the body's speed, not a limb's
/// swing) and the true torso and wrists over the forecast horizon (`future_truth`, one entry per
/// [`crate::judge::FUTURE_STEP_S`]), all in the robot frame at `pose`.
fn judged_humans(
    shape: &RobotShape,
    pose: &Pose,
    now_truth: &[TrueHuman],
    later_truth: &[TrueHuman],
    future_truth: &[Vec<TrueHuman>],
) -> Vec<JudgedHuman> {
    let tracked = |k: &[Point3<f64>; NUM_KEYPOINTS]| {
        [nalgebra::center(&k[kp::LEFT_HIP], &k[kp::RIGHT_HIP]), k[kp::LEFT_WRIST], k[kp::RIGHT_WRIST]]
            .map(|p| pose.to_robot(&p).xy())
    };
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
fn future_truth<S: HumanSource>(humans: &S, now: Stamp) -> Vec<Vec<TrueHuman>> {
    (1..=FUTURE_STEPS).map(|k| humans.truth(now.add_secs(k as f64 * FUTURE_STEP_S))).collect()
}

/// Window over which the true body closing speed is averaged [s].
const TRUTH_SPEED_WINDOW_S: f64 = 0.2;

/// Prediction front end for the simulator.
struct Predictions<'a> {
    kind: PredictorKind,
    /// The feature pipeline + model of `ConstantVelocity` (own) or `Model` (the caller's).
    predictor: Option<PredictorRef<'a>>,
    frames: usize,
    every: usize,
}

enum PredictorRef<'a> {
    Own(Box<IntentPredictor>),
    Caller(&'a mut IntentPredictor),
}

impl Predictions<'_> {
    /// `external` is used by `PredictorKind::Model` (reset first: no tracks carried over from another run).
    fn new(
        kind: PredictorKind,
        every: usize,
        external: Option<&mut IntentPredictor>,
    ) -> Result<Predictions<'_>, SimError> {
        let predictor = match kind {
            PredictorKind::ConstantVelocity => {
                let cv = ConstantVelocityModel::new(ConstantVelocityConfig::default())?;
                Some(PredictorRef::Own(Box::new(IntentPredictor::new(FeatureConfig::default(), Box::new(cv), 16)?)))
            }
            PredictorKind::Model => {
                let p = external.ok_or(SimError::MissingModel)?;
                p.reset();
                Some(PredictorRef::Caller(p))
            }
            PredictorKind::None | PredictorKind::Oracle { .. } => None,
        };
        Ok(Predictions { kind, predictor, frames: 0, every })
    }

    /// World-frame predictions for the frame just observed, or `None` when none are due this frame.
    fn on_frame(
        &mut self,
        frame: &SkeletonFrame,
        source: &dyn HumanSource,
    ) -> Result<Option<Vec<HumanPrediction>>, SimError> {
        self.frames += 1;
        match self.kind {
            PredictorKind::None => Ok(None),
            PredictorKind::ConstantVelocity | PredictorKind::Model => {
                let predictor = match self.predictor.as_mut() {
                    Some(PredictorRef::Own(p)) => &mut **p,
                    Some(PredictorRef::Caller(p)) => &mut **p,
                    None => return Err(SimError::MissingModel),
                };
                // Every frame goes through the predictor (as in the predictor node); the controller gets every
                // `every`-th output.
                let preds = predictor.predict(frame)?;
                if !self.frames.is_multiple_of(self.every) {
                    return Ok(None);
                }
                Ok(Some(preds))
            }
            PredictorKind::Oracle { confidence } => {
                if !self.frames.is_multiple_of(self.every) {
                    return Ok(None);
                }
                let now = source.truth(frame.stamp);
                let futures: Vec<Vec<TrueHuman>> = (1..=HORIZON_STEPS)
                    .map(|k| source.truth(frame.stamp.add_secs(k as f64 * HORIZON_STEP_S)))
                    .collect();
                let preds = frame
                    .humans
                    .iter()
                    .filter_map(|h| {
                        let t = now.iter().find(|t| t.tracker_id == h.id)?;
                        let mut probabilities = [(1.0 - confidence) / 4.0; 5];
                        probabilities[t.intent.index()] = confidence;
                        let future = futures
                            .iter()
                            .map(|step| {
                                let s = step.iter().find(|s| s.tracker_id == h.id).unwrap_or(t);
                                let k = &s.keypoints;
                                [
                                    nalgebra::center(&k[kp::LEFT_HIP], &k[kp::RIGHT_HIP]),
                                    k[kp::LEFT_WRIST],
                                    k[kp::RIGHT_WRIST],
                                ]
                            })
                            .collect();
                        Some(HumanPrediction {
                            human_id: h.id,
                            stamp: frame.stamp,
                            probabilities,
                            confidence,
                            horizon_step: HORIZON_STEP_S,
                            future,
                        })
                    })
                    .collect();
                Ok(Some(preds))
            }
        }
    }
}

/// Moves a world-frame prediction into the robot frame at `pose`.
fn prediction_to_robot(p: &HumanPrediction, pose: &Pose) -> HumanPrediction {
    HumanPrediction { future: p.future.iter().map(|s| s.map(|q| pose.to_robot(&q))).collect(), ..p.clone() }
}

fn frame_to_robot(f: &SkeletonFrame, pose: &Pose, frame_id: &str) -> SkeletonFrame {
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

/// Runs one closed-loop episode with shared control and, with a fresh copy of the humans, with raw teleop.
/// `PredictorKind::Model` needs [`run_episode_with_predictor`].
pub fn run_episode<S: HumanSource + Clone>(config: &SimConfig, humans: S, seed: u64) -> Result<RunMetrics, SimError> {
    run_episode_with_predictor(config, humans, seed, None)
}

/// [`run_episode`] with the caller's predictor for `PredictorKind::Model` (ignored by the other kinds). The
/// predictor is reset at the start of the run, so one instance (one loaded model) serves a whole batch.
pub fn run_episode_with_predictor<S: HumanSource + Clone>(
    config: &SimConfig,
    humans: S,
    seed: u64,
    model: Option<&mut IntentPredictor>,
) -> Result<RunMetrics, SimError> {
    config.validate()?;
    if config.predictor == PredictorKind::Model && model.is_none() {
        return Err(SimError::MissingModel);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let careless = rng.random_bool(config.operator.careless_probability);
    let mut m = RunMetrics {
        seed,
        careless_operator: careless,
        min_distance_approaching: f64::INFINITY,
        ..RunMetrics::default()
    };
    let shared = simulate(config, humans.clone(), careless, Drive::Shared, &mut m, model)?;
    m.completion_s = shared;
    let mut raw = RunMetrics::default();
    m.raw_completion_s = simulate(config, humans.clone(), careless, Drive::Raw, &mut raw, None)?;
    m.raw_violation_cycles = raw.violation_cycles;
    let mut raw_limited = RunMetrics::default();
    m.raw_limited_completion_s = simulate(config, humans, careless, Drive::RawLimited, &mut raw_limited, None)?;
    m.raw_limited_violation_cycles = raw_limited.violation_cycles;
    Ok(m)
}

/// Who drives one pass.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Drive {
    /// The shared-control chain.
    Shared,
    /// Raw teleop: the pad's command, clipped to the velocity limits only (it changes speed at once).
    Raw,
    /// Raw teleop through the platform's velocity, acceleration and jerk limits (`safety.limits`, as a
    /// velocity smoother on the base would apply them) and nothing else.
    RawLimited,
}

/// One pass driven by `drive`. Returns the completion time.
fn simulate<S: HumanSource>(
    config: &SimConfig,
    mut humans: S,
    careless: bool,
    drive: Drive,
    m: &mut RunMetrics,
    model: Option<&mut IntentPredictor>,
) -> Result<Option<f64>, SimError> {
    let mut ctl = InputHandler::new(config.controller.clone())?;
    let shape = config.controller.safety.separation.robot.clone();
    let sep = &config.controller.safety.separation;
    let judge = Judge::new(
        SeparationConfig {
            robot: shape.clone(),
            robot_height: sep.robot_height,
            robot_upper: sep.robot_upper.clone(),
            ..config.judge.clone()
        },
        config.controller.safety.separation.clone(),
        config.controller.safety.zones.clone(),
        config.violation_min_speed,
    );
    let frame_id = config.controller.safety.validation.expected_frame.clone();
    // Raw teleop uses no predictions.
    let shared = drive == Drive::Shared;
    let kind = if shared { config.predictor } else { PredictorKind::None };
    let mut preds = Predictions::new(kind, config.predict_every_n_frames, model)?;
    let mut operator =
        Operator { config: config.operator.clone(), careless, still_since: None, waiting_since: None, escape: None };
    let mut awaiting_rearm = true;
    let mut pose = Pose::default();
    let mut poses = PoseHistory::default();
    let dt = 1.0 / config.control_rate_hz;
    let end = humans.end();
    let mut step: i64 = 0;
    let mut output = Twist::ZERO;
    let mut stop_started: Option<f64> = None;
    let mut held_streak = Streak::default();
    let mut needless_streak = Streak::default();
    let tolerance = config.controller.safety.separation.approach_tolerance;
    let body = config.controller.safety.separation.body();
    let raw_limits = &config.controller.safety.limits.max_velocity;
    let mut raw_teleop = Teleop::new(config.controller.teleop.clone());
    let mut platform = MotionLimiter::new(config.controller.safety.limits.clone());
    loop {
        let t = step as f64 * dt;
        let now = Stamp::from_secs_f64(t);
        if now > end {
            return Ok(None);
        }
        step += 1;
        let goal_d = Vector2::new(config.goal[0] - pose.x, config.goal[1] - pose.y).norm();
        if goal_d < config.goal_tolerance {
            return Ok(Some(t));
        }
        let truth = humans.truth(now);
        if let Some(frame) = humans.poll(now) {
            // Observations are in the robot frame at their capture stamp.
            let at_capture = poses.at(frame.stamp, pose);
            if let Some(world_preds) = preds.on_frame(&frame, &humans)? {
                if shared {
                    let robot_preds = world_preds.iter().map(|p| prediction_to_robot(p, &at_capture)).collect();
                    // Counted by the handler when rejected, as in the node.
                    let _ = ctl.on_predictions(now, frame.stamp, robot_preds);
                }
            }
            let _ = ctl.on_skeletons(now, frame_to_robot(&frame, &at_capture, &frame_id));
        }
        let (axes, mut buttons) = operator.joy(t, &pose, config.goal, &truth, output.linear.norm());
        if shared {
            buttons[4] = i32::from(operator.deadman(t, awaiting_rearm));
        }
        let joy = JoyInput { stamp: now, axes, buttons };
        raw_teleop.on_joy(joy.clone(), now);
        let _ = ctl.on_joy(now, joy);
        let later_truth = humans.truth(now.add_secs(TRUTH_SPEED_WINDOW_S));
        let previous_speed = output.linear.norm() + output.angular.norm();
        if shared {
            let d = ctl.decide(now);
            output = d.output;
            awaiting_rearm = d.awaiting_rearm;
            m.cycles += 1;
            // The output is judged for violations only; the true future matters to the false-stop question.
            let v = judge.judge(&output, &judged_humans(&shape, &pose, &truth, &later_truth, &[]));
            m.violation_cycles += u64::from(v.violation);
            m.min_distance_approaching = m.min_distance_approaching.min(v.min_distance_approaching);
            let stopped = d.mode == Mode::Stop;
            // Held: the operator asks for a motion and the robot does not move (whatever the mode says from one
            // cycle to the next).
            let held = !d.user.is_zero() && output.linear.norm() < 0.01 && output.angular.norm() < 0.01;
            held_streak.update(held, t, dt);
            let needless = held && {
                // The nearest person (true keypoints) stands still next to the robot, and the operator's command
                // brings no true keypoint of anyone closer.
                let nearest = truth
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        (i, h.keypoints.iter().map(|p| body.distance(&pose.to_robot(p))).fold(f64::INFINITY, f64::min))
                    })
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                let still = nearest.is_some_and(|(i, dist)| {
                    let torso =
                        |k: &[Point3<f64>; NUM_KEYPOINTS]| nalgebra::center(&k[kp::LEFT_HIP], &k[kp::RIGHT_HIP]);
                    dist < NEXT_TO_M
                        && later_truth.get(i).is_some_and(|l| {
                            (torso(&l.keypoints) - torso(&truth[i].keypoints)).xy().norm() / TRUTH_SPEED_WINDOW_S
                                < STILL_SPEED
                        })
                });
                still
                    && !d.user.is_zero()
                    && !truth
                        .iter()
                        .flat_map(|h| h.keypoints.iter())
                        .any(|p| body.relation(&d.user, &pose.to_robot(p)).approaches(&tolerance))
            };
            needless_streak.update(needless, t, dt);
            let inside = truth.iter().any(|h| {
                let torso = nalgebra::center(&h.keypoints[kp::LEFT_HIP], &h.keypoints[kp::RIGHT_HIP]);
                shape.closest(&pose.to_robot(&torso).xy()).1 < 0.0
            });
            m.person_inside_footprint_cycles += u64::from(inside);
            m.longest_stop_s = held_streak.longest;
            m.longest_needless_stop_s = needless_streak.longest;
            if stopped {
                m.stop_cycles += 1;
                m.stop_rules.count(&d.reasons);
                let judged = judged_humans(&shape, &pose, &truth, &later_truth, &future_truth(&humans, now));
                let asked = judge.judge(&d.blended, &judged);
                if !asked.stop_needed {
                    m.false_stop_cycles += 1;
                    m.false_stop_causes.count(&d.reasons);
                }
                m.stops_beyond_physics += u64::from(!asked.violation);
            }
            let predicted_violation = d.reasons.iter().any(|r| r.is_stop());
            if predicted_violation && stop_started.is_none() && previous_speed > 0.01 {
                stop_started = Some(t);
            }
            if let Some(t0) = stop_started {
                if output.linear.norm() < 0.01 && output.angular.norm() < 0.01 {
                    m.time_to_stop_s.push(t - t0);
                    stop_started = None;
                } else if !predicted_violation {
                    stop_started = None;
                }
            }
            let changed =
                (d.output.linear - d.user.linear).norm() > 0.01 || (d.output.angular - d.user.angular).norm() > 0.01;
            m.intervention_cycles += u64::from(changed);
            m.assisted_cycles += u64::from(d.alpha > 0.0);
        } else {
            // Raw teleop: the operator's command, clipped to the pad's axis limits only.
            let user = raw_teleop.step(now).twist;
            let a = user.to_array();
            output = Twist::from_array(std::array::from_fn(|i| a[i].clamp(-raw_limits[i], raw_limits[i])));
            if drive == Drive::RawLimited {
                output = platform.step(now, &output, false).twist;
            }
            let v = judge.judge(&output, &judged_humans(&shape, &pose, &truth, &later_truth, &[]));
            m.violation_cycles += u64::from(v.violation);
        }
        poses.push(now, pose, output);
        pose.integrate(&output, dt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_run_reaches_the_goal_without_interventions() {
        let cfg = SimConfig {
            predictor: PredictorKind::None,
            operator: OperatorConfig { careless_probability: 0.0, ..OperatorConfig::default() },
            ..SimConfig::default()
        };
        let humans = LinearHumans::new(vec![(1, [0.0, 30.0], [0.0, 0.0], Intent::Idle)], 1.0 / 30.0, 30.0);
        let m = run_episode(&cfg, humans, 1).expect("valid set-up");
        let t = m.completion_s.expect("goal reached");
        let raw = m.raw_completion_s.expect("raw goal reached");
        assert!(t < 20.0 && (t - raw).abs() < 2.0, "shared {t} s vs raw {raw} s");
        assert_eq!(m.violation_cycles, 0);
        assert_eq!(m.stop_cycles, 0);
        // Raw teleop through the platform's acceleration and jerk limits starts and stops later than raw
        // teleop, which changes speed at once, and no later than the shared chain, which applies the same limits.
        let limited = m.raw_limited_completion_s.expect("limited raw goal reached");
        assert!(limited > raw && limited <= t + 1e-9, "raw {raw} s, limited {limited} s, shared {t} s");
        assert_eq!(m.raw_limited_violation_cycles, 0);
        assert_eq!(m.person_inside_footprint_cycles, 0);
    }

    #[test]
    fn a_person_inside_the_footprint_is_counted() {
        // Someone stands on the robot's start pose (the generator's people can walk there): every cycle until the
        // robot has moved off them counts; nobody there, none does.
        let cfg = SimConfig { predictor: PredictorKind::None, ..SimConfig::default() };
        let humans = LinearHumans::new(vec![(1, [0.0, 0.0], [0.0, 0.0], Intent::Idle)], 1.0 / 30.0, 5.0);
        let m = run_episode(&cfg, humans, 1).expect("valid set-up");
        assert!(m.person_inside_footprint_cycles > 0, "{m:?}");
        let humans = LinearHumans::new(vec![(1, [0.0, 5.0], [0.0, 0.0], Intent::Idle)], 1.0 / 30.0, 5.0);
        assert_eq!(run_episode(&cfg, humans, 1).expect("valid set-up").person_inside_footprint_cycles, 0);
    }

    #[test]
    fn careless_operator_into_a_crossing_human_is_stopped_by_safety_but_not_raw() {
        // A person stands on the path 3 m ahead; the careless operator drives straight at them.
        let cfg = SimConfig {
            predictor: PredictorKind::ConstantVelocity,
            operator: OperatorConfig { careless_probability: 1.0, wake_up_s: 100.0, ..OperatorConfig::default() },
            ..SimConfig::default()
        };
        let humans = LinearHumans::new(vec![(1, [3.0, 0.0], [0.0, 0.0], Intent::Idle)], 1.0 / 30.0, 10.0);
        let m = run_episode(&cfg, humans, 2).expect("valid set-up");
        assert_eq!(m.violation_cycles, 0, "{m:?}");
        assert!(m.raw_violation_cycles > 0, "raw teleop should run into the person");
        assert!(m.stop_cycles > 0 && m.completion_s.is_none(), "{m:?}");
        assert!(m.min_distance_approaching > 0.2, "{}", m.min_distance_approaching);
    }

    #[test]
    fn a_person_standing_in_the_way_stops_the_robot_until_the_realistic_operator_finds_a_way_out() {
        // Someone stands still 1.0 m ahead, 0.2 m left of the way to the goal, for the whole run. The careless
        // operator (never steering around anyone) keeps pushing straight at them: stopped, and every stop is one
        // the operator's own command needs (it approaches the person), so none counts as needless.
        let humans = LinearHumans::new(vec![(1, [1.0, 0.2], [0.0, 0.0], Intent::Idle)], 1.0 / 30.0, 60.0);
        let operator = OperatorConfig { careless_probability: 1.0, wake_up_s: 100.0, ..OperatorConfig::default() };
        let cfg = SimConfig { predictor: PredictorKind::Oracle { confidence: 0.9 }, operator, ..SimConfig::default() };
        let pushing = run_episode(&cfg, humans.clone(), 1).expect("valid set-up");
        assert!(pushing.completion_s.is_none() && pushing.longest_stop_s > 10.0, "{pushing:?}");
        assert_eq!(pushing.longest_needless_stop_s, 0.0);
        assert_eq!(pushing.stop_rules.separation + pushing.stop_rules.zone, pushing.stop_cycles);
        // A realistic operator backs off, turns away, goes round and arrives, without a violation and never held
        // long (the careful operator is slow around someone in its way, with raw teleop too).
        let operator = OperatorConfig { careless_probability: 0.0, realistic: true, ..OperatorConfig::default() };
        let cfg = SimConfig { predictor: PredictorKind::Oracle { confidence: 0.9 }, operator, ..SimConfig::default() };
        let realistic = run_episode(&cfg, humans, 1).expect("valid set-up");
        assert_eq!(realistic.violation_cycles, 0);
        assert!(realistic.completion_s.is_some() && realistic.raw_completion_s.is_some(), "{realistic:?}");
        assert!(realistic.longest_stop_s < 5.0, "{realistic:?}");
    }

    #[test]
    fn caller_predictor_runs_like_the_built_in_one_and_is_required() {
        let scfg = ScenarioConfig { duration_s: 12.0, ..ScenarioConfig::default() };
        let cv_cfg = SimConfig { predictor: PredictorKind::ConstantVelocity, ..SimConfig::default() };
        let model_cfg = SimConfig { predictor: PredictorKind::Model, ..SimConfig::default() };
        let cv = ConstantVelocityModel::new(ConstantVelocityConfig::default()).expect("valid config");
        let mut caller = IntentPredictor::new(FeatureConfig::default(), Box::new(cv), 16).expect("valid config");
        // The same instance serves several runs (it is reset at the start of each).
        for seed in [3, 4] {
            let humans = ScenarioHumans::new(scfg.clone(), seed).expect("valid scenario");
            let built_in = run_episode(&cv_cfg, humans.clone(), seed).expect("valid set-up");
            let via_caller =
                run_episode_with_predictor(&model_cfg, humans, seed, Some(&mut caller)).expect("valid set-up");
            assert_eq!(built_in, via_caller);
        }
        assert!(caller.counters().predictions > 0);
        let humans = ScenarioHumans::new(scfg, 3).expect("valid scenario");
        assert!(matches!(run_episode(&model_cfg, humans, 3), Err(SimError::MissingModel)));
    }

    #[test]
    fn judge_checks_every_keypoint_not_only_the_nearest() {
        let c = SimConfig::default();
        let shape = c.controller.safety.separation.robot.clone();
        let judge =
            Judge::new(c.judge, c.controller.safety.separation, c.controller.safety.zones, c.violation_min_speed);
        // Nearest keypoint beside the robot (not approached by a forward motion); another one ahead-left is.
        // Keypoints below the base's top (0.5 m): the planar geometry.
        let mut keypoints = [Point3::new(0.0, 0.35, 0.4); NUM_KEYPOINTS];
        keypoints[kp::LEFT_WRIST] = Point3::new(0.45, 0.2, 0.4);
        let h = vec![TrueHuman { tracker_id: 1, intent: Intent::Idle, keypoints }];
        let judged = judged_humans(&shape, &Pose::default(), &h, &h, &[]);
        let v = judge.judge(&Twist::planar(0.5, 0.0, 0.0), &judged);
        assert!(v.violation && v.stop_needed);
        let min_d = v.min_distance_approaching;
        assert!((min_d - (0.45f64.hypot(0.2) - 0.3)).abs() < 1e-9, "{min_d}");
        // Straight back is sideways to the person at the left, back and to the right leaves both points: no
        // violation, and the configured chain, seeing the whole person standing still, lets both go.
        let v = judge.judge(&Twist::planar(-0.5, 0.0, 0.0), &judged);
        assert!(!v.violation && !v.stop_needed, "{v:?}");
        let v = judge.judge(&Twist::planar(-0.3, -0.4, 0.0), &judged);
        assert!(!v.violation && !v.stop_needed, "{v:?}");
        // Seen only in part (one keypoint fewer), the configured chain stops a back-off that is not nearly
        // head-on away from every point (partial_view_away_fraction 0.9).
        let mut part = judged.clone();
        part[0].points.pop();
        assert!(judge.judge(&Twist::planar(-0.3, -0.4, 0.0), &part).stop_needed);
    }

    #[test]
    fn scenario_humans_plug_in() {
        let scfg = ScenarioConfig { duration_s: 15.0, ..ScenarioConfig::default() };
        let humans = ScenarioHumans::new(scfg, 11).expect("valid scenario");
        let m = run_episode(&SimConfig::default(), humans, 11).expect("valid set-up");
        assert!(m.cycles > 100);
        assert_eq!(m.violation_cycles, 0, "{m:?}");
        // The scenario's people reached the loop: the judge saw the robot approach them and the chain acted.
        assert!(m.min_distance_approaching.is_finite(), "no person seen while approaching: {m:?}");
        assert!(m.intervention_cycles > 0 || m.stop_cycles > 0, "the chain never acted on the people: {m:?}");
    }
}
