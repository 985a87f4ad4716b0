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
//!   [`OperatorConfig::wake_up_s`]. The operator takes the pad once the robot is up and its status shows no
//!   fault (its first skeleton frame is in) and the pad has read released for [`OperatorConfig::pad_released_s`]
//!   (a re-arming release must span `teleop.deadman_confirm`), and presses the deadman to start (the chain
//!   drives once the press is confirmed, `teleop.deadman_confirm` later); a robot waiting for a re-arm
//!   gets it released and pressed again after [`OperatorConfig::rearm_reaction_s`]. With
//!   [`OperatorConfig::deadman_held_at_bring_up`] the deadman is already held when the robot comes up, so every
//!   run starts with that re-arm (the reports before this option).
//!
//! Each run is repeated with **raw teleop** (no assistance, no safety chain, only the velocity limits of the
//! pad; it moves on the first press, as teleop_twist_joy does: no deadman confirmation) and with raw teleop through the platform's velocity, acceleration and jerk
//! limits (from rest at t = 0) for the completion-time comparison.
//!
//! Metrics ([`RunMetrics`]), all from ground truth, judged by [`crate::judge::Judge`] on true keypoints with
//! each person's true body closing speed (torso, averaged over the next 0.2 s, floored at 0) and true torso and
//! wrists over the next second (the perfect forecast of the false-stop question):
//! - **separation violation**: a cycle whose output violates the reference `S_p` (see [`crate::judge`]);
//! - **false stop**: a `Stop` cycle whose blended command the configured chain would not have stopped had it
//!   known the truth, present and future; **stop beyond physics**: a `Stop` cycle whose blended command would not have violated the
//!   reference `S_p` either (includes the configured margins). False stops are broken down by the rule that
//!   stopped ([`FalseStopCauses`]);
//! - **time to stop**, **time to standstill**, **hold stop**, **resume**: the stop-episode metrics of
//!   [`crate::score`] (one definition with the bag replay), judged on every true keypoint;
//! - **intervention**: a cycle in which assistance or safety changed the operator's command by more than
//!   0.01 m/s (or rad/s);
//! - **Stop by rule**: `ssm_stop`, else `zone_stop`, else anything else (fault, stale input, re-arm);
//! - **longest stop**: the longest time the robot is held still while the operator asks for a motion;
//!   **needless stop**: such a hold next to a person standing still
//!   ([`NEXT_TO_M`], [`STILL_SPEED`]) while the operator asks for a motion that brings no true keypoint of anyone
//!   closer (the configured approach tolerance) and nobody touches the robot: what a user feels as "it will not
//!   let me leave"; **contact stop**: a hold while a true keypoint is inside the robot's volume (separation
//!   zero: no motion is allowed, so it is counted apart, not as needless).
//!
//! Operators: today's scripted one (goal-seeking, steering around people it sees, careless ones first) and, with
//! [`OperatorConfig::realistic`], one who tries a way out (reverse and turn away, or turn away) when held
//! next to someone. Scenes: [`crate::scenario::ScenarioConfig::leave_after_interaction_s`] lets people leave after
//! an approach or a hand-over.

mod humans;
mod metrics;
mod operator;
mod predictions;
#[cfg(test)]
mod tests;
mod world;

pub use humans::{HumanSource, LinearHumans, ScenarioHumans, TrueHuman};
use metrics::Streak;
pub use metrics::{AssistCycles, FalseStopCauses, RunMetrics, StopRules, NEXT_TO_M, STILL_SPEED};
use nalgebra::{Isometry2, Point3, Vector2};
use operator::Operator;
pub use operator::OperatorConfig;
use predictions::Predictions;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use world::{
    frame_to_robot, future_truth, judged_humans, prediction_to_robot, Pose, PoseHistory, TRUTH_SPEED_WINDOW_S,
};

use crate::judge::{Judge, JudgedHuman, FUTURE_STEPS, FUTURE_STEP_S};
use crate::scenario::{Scenario, ScenarioConfig, ScenarioError};
use crate::score::{CycleFacts, StopEpisodes, APPROACH_EPS};
use intent_shared_control_core::assist::AssistPolicy;
use intent_shared_control_core::control::{ConfigError, ControllerConfig, Mode};
use intent_shared_control_core::features::{FeatureConfig, FeatureError};
use intent_shared_control_core::input::InputHandler;
#[cfg(doc)]
use intent_shared_control_core::model::IntentModel;
use intent_shared_control_core::model::{
    ConstantVelocityConfig, ConstantVelocityModel, ModelError, HORIZON_STEPS, HORIZON_STEP_S,
};
use intent_shared_control_core::planar::RobotPose;
use intent_shared_control_core::prediction::{HumanPrediction, Intent};
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::safety::{Effect, MotionLimiter, Reason, RobotShape, SeparationConfig};
use intent_shared_control_core::skeleton::{
    keypoint as kp, torso_point, tracked_points, HumanId, HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS,
};
use intent_shared_control_core::teleop::{JoyInput, Teleop, TeleopConfig};
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
    let mut operator = Operator {
        config: config.operator.clone(),
        careless,
        still_since: None,
        waiting_since: None,
        escape: None,
        last_moved: None,
        started: false,
    };
    let mut awaiting_rearm = true;
    // The status as the operator sees it: no fault in the last decision.
    let mut ready = false;
    let mut pose = Pose::identity();
    let mut poses = PoseHistory::default();
    let dt = 1.0 / config.control_rate_hz;
    let end = humans.end();
    let mut step: i64 = 0;
    let mut output = Twist::ZERO;
    let mut episodes = StopEpisodes::new(sep.braking_deceleration);
    let mut held_streak = Streak::default();
    let mut needless_streak = Streak::default();
    let mut contact_streak = Streak::default();
    let tolerance = config.controller.safety.separation.approach_tolerance;
    let body = config.controller.safety.separation.body();
    let raw_limits = &config.controller.safety.limits.max_velocity;
    // Raw teleop acts on every message, as teleop_twist_joy does (no deadman confirmation).
    let mut raw_teleop = Teleop::new(TeleopConfig { deadman_confirm: 0.0, ..config.controller.teleop.clone() });
    let mut platform = MotionLimiter::new(config.controller.safety.limits.clone());
    // The platform stands still when the run starts (a fresh limiter would take its first step as `max_dt` long).
    platform.reset(Stamp::from_secs_f64(0.0));
    let completion = loop {
        let t = step as f64 * dt;
        let now = Stamp::from_secs_f64(t);
        if now > end {
            break None;
        }
        step += 1;
        let goal_d = (Vector2::new(config.goal[0], config.goal[1]) - pose.translation.vector).norm();
        if shared {
            m.final_goal_distance = goal_d;
        }
        if goal_d < config.goal_tolerance {
            break Some(t);
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
        // Raw teleop moves on the first press (it needs nothing but the pad) and knows no re-arm.
        buttons[4] = i32::from(operator.deadman(t, shared && awaiting_rearm, ready || !shared));
        let joy = JoyInput { stamp: now, axes, buttons };
        raw_teleop.on_joy(joy.clone(), now);
        let _ = ctl.on_joy(now, joy);
        let later_truth = humans.truth(now.add_secs(TRUTH_SPEED_WINDOW_S));
        if shared {
            let d = ctl.decide(now);
            output = d.output;
            awaiting_rearm = d.awaiting_rearm;
            ready = !d.reasons.iter().any(|r| r.effect() == Effect::Fault);
            m.cycles += 1;
            // The output is judged for violations only; the true future matters to the false-stop question.
            let judged_now = judged_humans(&shape, &pose, &truth, &later_truth, &[]);
            let v = judge.judge(&output, &judged_now);
            m.violation_cycles += u64::from(v.violation);
            m.min_distance_approaching = m.min_distance_approaching.min(v.min_distance_approaching);
            let approach = judged_now
                .iter()
                .flat_map(|h| h.points.iter())
                .map(|p| body.relation(&output, p).approach_speed)
                .fold(0.0, f64::max);
            episodes.step(&CycleFacts {
                stamp: now,
                predicted_violation: d.reasons.iter().any(|r| r.is_stop()),
                approach,
                speed: output.linear.norm(),
                angular: output.angular.norm(),
                commanded: d.user.linear.norm() > APPROACH_EPS || d.user.angular.norm() > APPROACH_EPS,
                active: !matches!(d.mode, Mode::Fault | Mode::Idle),
            });
            let stopped = d.mode == Mode::Stop;
            // Held: the operator asks for a motion and the robot does not move (whatever the mode says from one
            // cycle to the next).
            let held = !d.user.is_zero() && output.linear.norm() < 0.01 && output.angular.norm() < 0.01;
            held_streak.update(held, t, dt);
            let contact =
                held && truth.iter().flat_map(|h| h.keypoints.iter()).any(|p| body.distance(&pose.to_robot(p)) <= 0.0);
            contact_streak.update(contact, t, dt);
            let needless = held && !contact && {
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
                    dist < NEXT_TO_M
                        && later_truth.get(i).is_some_and(|l| {
                            (torso_point(&l.keypoints) - torso_point(&truth[i].keypoints)).xy().norm()
                                / TRUTH_SPEED_WINDOW_S
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
            let inside = truth.iter().any(|h| shape.closest(&pose.to_robot(&torso_point(&h.keypoints)).xy()).1 < 0.0);
            m.person_inside_footprint_cycles += u64::from(inside);
            m.longest_stop_s = held_streak.longest;
            m.longest_needless_stop_s = needless_streak.longest;
            m.longest_contact_stop_s = contact_streak.longest;
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
            let changed =
                (d.output.linear - d.user.linear).norm() > 0.01 || (d.output.angular - d.user.angular).norm() > 0.01;
            m.intervention_cycles += u64::from(changed);
            m.assisted_cycles += u64::from(d.alpha > 0.0);
            m.assist_policies.count(d.assist_policy, d.alpha);
            m.slide_cycles += u64::from(d.reasons.contains(&Reason::SsmSlidePast));
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
    };
    if shared {
        m.episodes = episodes.finish();
    }
    Ok(completion)
}
