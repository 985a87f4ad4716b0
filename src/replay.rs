//! Offline replay of a bag through the core, without DDS: the same [`InputHandler`] (and optionally the same
//! [`IntentPredictor`]) as the nodes, the same message conversions ([`crate::convert`]), bag time as the clock.
//!
//! Two ways to decide when the controller steps:
//! - [`StepMode::Events`] (default) does what `shared_control` does: a decision after every accepted input,
//!   stamped with that input's log time, and a periodic decision every control period of bag time.
//! - [`StepMode::Recorded`] steps exactly at the stamps of the recorded `shared_control/status` messages, each
//!   with the inputs that decision was based on: the status names the header stamps of the newest joystick
//!   message, skeleton capture and prediction set the node had kept, so inputs the recorder received before
//!   the status but the node after its decision are held back, and a status the recorder received before one
//!   of its inputs waits for it. Used to check that a recorded run replays to the same decisions
//!   ([`Agreement`]).
//!
//! The replay is a pure function of the bag and the options: the same bag replays to bit-identical outputs.
//! A judge ([`ReplayMetrics`]) scores every replay on the thresholds of the scenario suite, on ground truth
//! (`/ground_truth/humans`, written by the scenario generator) when the bag has it, else on the observed
//! skeletons; [`replay`] lets it read the whole bag first, so that it knows where each person went next.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use intent_shared_control_core::judge::{
    reference_separation, Judge as GroundTruthJudge, JudgedHuman, Verdict, FUTURE_STEP_S,
};
use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::predictor::{IntentPredictor, PredictError};
use intent_shared_control_core::safety::{RobotBody, RobotShape};
use intent_shared_control_core::skeleton::{keypoint as kp, SkeletonFrame};
use intent_shared_control_core::{ControllerConfig, Decision, InputHandler, IntentModel, Mode, Stamp, Twist};
use nalgebra::Point2;
use r2r::geometry_msgs::msg as geo;
use r2r::intent_shared_control_msgs::msg as isc;
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;
use serde::Serialize;

use crate::bag::{BagMessage, BagWriter};
use crate::convert::{self, SkeletonLimits};
use crate::lookahead::{tracked_points, EpochCounter, Lookahead};

/// Topic names as the nodes resolve them in the root namespace, and their types.
pub mod topics {
    pub const JOY: &str = "/joy";
    pub const SKELETONS: &str = "/humans/skeletons";
    pub const INTENT: &str = "/humans/intent";
    pub const ASSIST: &str = "/assist/cmd_vel";
    pub const CMD_VEL: &str = "/cmd_vel";
    pub const STATUS: &str = "/shared_control/status";
    pub const CLOCK: &str = "/clock";
    /// Robot odometry (`odom` ← `base_link`): the predictor keeps the humans' tracks in `odom` with it.
    pub const ODOM: &str = "/odom";
    /// True keypoints of every human (robot frame), written by the scenario generator for the judge.
    pub const TRUTH: &str = "/ground_truth/humans";

    pub const JOY_TYPE: &str = "sensor_msgs/msg/Joy";
    pub const SKELETONS_TYPE: &str = "intent_shared_control_msgs/msg/HumanSkeletonArray";
    pub const INTENT_TYPE: &str = "intent_shared_control_msgs/msg/IntentPredictionArray";
    pub const TWIST_STAMPED_TYPE: &str = "geometry_msgs/msg/TwistStamped";
    pub const STATUS_TYPE: &str = "intent_shared_control_msgs/msg/SharedControlStatus";
    pub const CLOCK_TYPE: &str = "rosgraph_msgs/msg/Clock";
    pub const ODOM_TYPE: &str = "nav_msgs/msg/Odometry";
}

/// When the controller decides.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepMode {
    /// After every input and every control period (as the node).
    Events,
    /// At the recorded status stamps.
    Recorded,
}

/// Where the controller's predictions come from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionSource {
    /// The recorded `humans/intent`.
    Recorded,
    /// The predictor given to [`Replay::new`], run on every skeleton message (recorded predictions ignored).
    Predictor,
    /// The recorded `humans/intent` with each forecast replaced by where the person really went (the bag's
    /// ground truth, else its observed skeletons, moved with `/odom` or the recorded `cmd_vel`; see
    /// [`crate::lookahead`]): the intents as recorded, a perfect forecast. What the chain would have done
    /// with a perfect predictor: the false stops left are the price of perception, not of prediction.
    TrueFuture,
    /// No predictions.
    None,
}

impl PredictionSource {
    /// Whether the recorded `humans/intent` drives the controller.
    pub fn uses_recorded(self) -> bool {
        matches!(self, PredictionSource::Recorded | PredictionSource::TrueFuture)
    }
}

/// Replay options.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub controller: ControllerConfig,
    /// Periodic decision rate in [`StepMode::Events`] \[Hz\].
    pub control_rate: f64,
    pub step: StepMode,
    pub predictions: PredictionSource,
    pub skeleton_limits: SkeletonLimits,
    /// frame_id of the written cmd_vel and status.
    pub cmd_frame_id: String,
    /// Topic prefix of the bag (e.g. `/robot1` for a namespaced system; empty for the root namespace).
    pub namespace: String,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        let controller = ControllerConfig::default();
        let expected_frame = controller.safety.validation.expected_frame.clone();
        ReplayOptions {
            controller,
            control_rate: 50.0,
            step: StepMode::Events,
            predictions: PredictionSource::Recorded,
            skeleton_limits: SkeletonLimits { max_humans: 64, expected_frame },
            cmd_frame_id: "base_link".into(),
            namespace: String::new(),
        }
    }
}

/// One decision and what the judge and the reports need next to it.
#[derive(Clone, Debug)]
pub struct Cycle {
    pub decision: Decision,
    /// Probabilities of the newest prediction for the nearest human (intent order of the model card).
    pub nearest_probabilities: Option<[f32; 5]>,
    /// The recorded decision at this stamp ([`StepMode::Recorded`] only).
    pub recorded: Option<RecordedDecision>,
}

/// What the recorded system decided (from `shared_control/status`).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedDecision {
    pub mode: u8,
    pub alpha: f32,
    pub output: Twist,
}

/// Agreement of a [`StepMode::Recorded`] replay with the recorded decisions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Agreement {
    pub compared: u64,
    pub same_mode: u64,
    /// Largest |Δ| of any output twist component [m/s or rad/s].
    pub max_output_diff: f64,
    /// Largest |Δα|.
    pub max_alpha_diff: f64,
    /// Cycles whose output differs by more than 1e-6 in some component.
    pub output_mismatches: u64,
    /// Recorded decisions based on an input the bag does not have (the recorder missed it: best-effort
    /// inputs under load); from the first of them on, the replay cannot be expected to agree exactly.
    pub decisions_with_missing_inputs: u64,
    /// Decisions compared before the first one with a missing input, and how many of them differ (mode or
    /// output): 0 is the expectation.
    pub compared_before_missing: u64,
    pub mismatches_before_missing: u64,
}

impl Agreement {
    /// Fraction of compared cycles with the same mode (1 when none were compared).
    pub fn mode_fraction(&self) -> f64 {
        if self.compared == 0 {
            1.0
        } else {
            self.same_mode as f64 / self.compared as f64
        }
    }
}

/// Counts of the inputs the replay read and rejected.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InputCounts {
    pub joy: u64,
    pub skeletons: u64,
    pub predictions: u64,
    pub assist: u64,
    pub odometry: u64,
    pub truth: u64,
    pub recorded_status: u64,
    pub other: u64,
    /// Rejected inputs by reason (the node's counter names).
    pub rejected: BTreeMap<String, u64>,
}

/// Thresholds of the scenario suite (nav2 collision_monitor bag-test style).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// Largest time from a predicted separation violation to the first braking cycle (the approach speed
    /// falls) \[s\]: one control period.
    pub time_to_stop_s: f64,
    /// Standstill (no approach) must follow within `v₀ / braking_deceleration` plus this margin \[s\]
    /// (`v₀`: output speed when the violation was predicted; braking is part of `S_p`).
    pub standstill_margin_s: f64,
    /// Smallest fraction of predicted-violation cycles (after the time to stop) without approach.
    pub hold_stop_fraction: f64,
    /// Largest time from the violation clearing to the robot moving again \[s\].
    pub resume_s: f64,
    /// Largest fraction of Stop cycles the ground truth did not require, over all cycles.
    pub false_stop_fraction: f64,
    /// Most cycles with a separation violation.
    pub violation_cycles: u64,
}

impl Thresholds {
    /// The suite's values for a controller deciding at `control_rate` \[Hz\].
    pub fn for_rate(control_rate: f64) -> Self {
        Thresholds {
            time_to_stop_s: 1.0 / control_rate + 1e-6,
            standstill_margin_s: 2.0 / control_rate,
            hold_stop_fraction: 1.0,
            resume_s: 0.5,
            // 2 % before the reachable set: a hand may reach out at 2 m/s during the sensing latency (up to
            // ~50 ms in the scenario bags), which perfect perception would not have to allow for
            // (docs/bags.md).
            false_stop_fraction: 0.05,
            violation_cycles: 0,
        }
    }
}

/// The judge's verdict on one replay. Definitions:
/// - *predicted violation*: a cycle whose reasons contain `ssm_stop` or `zone_stop`;
/// - *approach*: the output moves the robot's surface toward a human point (judged points: ground truth when
///   the bag has it, else the observed skeletons) faster than 0.01 m/s;
/// - *time to stop*: from the first predicted-violation cycle of an episode that started in motion to the
///   first cycle that brakes (approach speed lower than the cycle before, or none);
/// - *time to standstill*: from the same cycle to the first cycle without approach, judged against
///   `v₀ / braking_deceleration` + a margin, `v₀` the output speed before the episode (the safety chain
///   brakes at the deceleration `S_p` assumes);
/// - *hold stop*: predicted-violation cycles without approach / all of them, from the first cycle after the
///   standstill at which the robot does not move at all (a robot moving away from someone who overtakes it has
///   no approach without standing still);
/// - *resume*: from the first cycle without predicted violation (the operator still commanding motion) to the
///   first cycle with an output speed above 0.01 m/s;
/// - *separation violation* and *false stop*: as in the closed-loop simulator, by the shared ground-truth judge
///   ([`intent_shared_control_core::judge`]) on the judged points, `v_h` the judged human's closing speed (torso,
///   robot motion removed): a violation breaks the reference `S_p` (reaction 0.1 s, human uncertainty 0.1 m);
///   a false stop is a Stop cycle the configured chain would not have made knowing the truth: the judged
///   points now and, read ahead in the bag ([`Replay::read_ahead`], [`crate::lookahead`]), each person's torso
///   and wrists over the next second as a fully confident forecast (every configured margin still applies).
///   The false-stop fraction is over all cycles; `stops_beyond_physics` counts Stop cycles the reference `S_p`
///   would not need.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReplayMetrics {
    pub judged_on: String,
    pub cycles: u64,
    pub duration_s: f64,
    pub mode_cycles: BTreeMap<String, u64>,
    pub predicted_violation_cycles: u64,
    pub time_to_stop_s: Vec<f64>,
    /// Time from a predicted violation to no approach \[s\], and the braking bound it was judged against.
    pub time_to_standstill_s: Vec<f64>,
    pub standstill_bound_s: Vec<f64>,
    pub hold_stop_cycles: u64,
    pub hold_stop_ok: u64,
    pub hold_stop_fraction: f64,
    pub resume_s: Vec<f64>,
    /// Episodes that cleared while the operator commanded motion and never resumed before the bag ended.
    pub resume_missing: u64,
    pub stop_cycles: u64,
    pub false_stop_cycles: u64,
    pub false_stop_fraction: f64,
    pub stops_beyond_physics: u64,
    pub violation_cycles: u64,
    /// Smallest judged distance while approaching faster than 0.05 m/s \[m\] (null: never).
    pub min_distance_approaching: Option<f64>,
    pub max_output_speed: f64,
    pub non_finite_outputs: u64,
    /// `Stop` cycles by the rule that stopped: separation (`ssm_stop`), else the stop zone (`zone_stop`), else
    /// anything else (fault, stale input, re-arm), as the simulator counts them.
    pub stop_separation_cycles: u64,
    pub stop_zone_cycles: u64,
    pub stop_other_cycles: u64,
    /// Longest uninterrupted `Stop` \[s\] (decision stamps).
    pub longest_stop_s: f64,
}

/// Failed thresholds, as readable lines (empty: passed).
pub fn check_thresholds(m: &ReplayMetrics, t: &Thresholds) -> Vec<String> {
    let mut f = Vec::new();
    if let Some(worst) = m.time_to_stop_s.iter().copied().reduce(f64::max) {
        if worst > t.time_to_stop_s {
            f.push(format!("time to stop {worst:.3} s > {:.3} s", t.time_to_stop_s));
        }
    }
    for (ts, bound) in m.time_to_standstill_s.iter().zip(&m.standstill_bound_s) {
        if *ts > bound + t.standstill_margin_s {
            f.push(format!("standstill after {ts:.3} s > braking bound {bound:.3} s + {:.3} s", t.standstill_margin_s));
        }
    }
    if m.hold_stop_fraction < t.hold_stop_fraction {
        f.push(format!("hold stop {:.2} % < {:.2} %", 100.0 * m.hold_stop_fraction, 100.0 * t.hold_stop_fraction));
    }
    if let Some(worst) = m.resume_s.iter().copied().reduce(f64::max) {
        if worst > t.resume_s {
            f.push(format!("resume {worst:.3} s > {:.3} s", t.resume_s));
        }
    }
    if m.resume_missing > 0 {
        f.push(format!("{} stop episodes never resumed", m.resume_missing));
    }
    if m.false_stop_fraction > t.false_stop_fraction {
        f.push(format!("false stops {:.2} % > {:.2} %", 100.0 * m.false_stop_fraction, 100.0 * t.false_stop_fraction));
    }
    if m.violation_cycles > t.violation_cycles {
        f.push(format!("{} separation violation cycles > {}", m.violation_cycles, t.violation_cycles));
    }
    if m.non_finite_outputs > 0 {
        f.push(format!("{} non-finite outputs", m.non_finite_outputs));
    }
    f
}

/// Everything a replay produced.
#[derive(Clone, Debug)]
pub struct ReplayOutput {
    pub cycles: Vec<Cycle>,
    pub inputs: InputCounts,
    pub metrics: ReplayMetrics,
    pub agreement: Option<Agreement>,
}

/// The replay engine.
pub struct Replay {
    options: ReplayOptions,
    /// The node's input handling: inputs are given to it at their log (arrival) time.
    controller: InputHandler,
    predictor: Option<IntentPredictor>,
    judge: Judge,
    inputs: InputCounts,
    cycles: Vec<Cycle>,
    agreement: Agreement,
    predictions: Vec<HumanPrediction>,
    next_tick: Option<Stamp>,
    last_time: Option<Stamp>,
    /// [`StepMode::Recorded`]: inputs not yet used by a recorded decision, in arrival order, with their
    /// kind and header stamp.
    held: std::collections::VecDeque<(Held, Stamp, BagMessage)>,
    /// [`StepMode::Recorded`]: recorded decisions waiting for an input they were based on.
    waiting: std::collections::VecDeque<(Stamp, [Option<Stamp>; 3], RecordedDecision)>,
    /// Newest header stamp seen per held kind.
    newest: [Option<Stamp>; 3],
    /// Newest header stamp applied per held kind.
    applied: [Option<Stamp>; 3],
}

/// Inputs whose use a recorded status reports (index into its stamps).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Held {
    Joy = 0,
    Skeletons = 1,
    Predictions = 2,
}

impl Replay {
    /// A replay with `options`; `predictor` is used when `options.predictions` is [`PredictionSource::Predictor`].
    pub fn new(options: ReplayOptions, predictor: Option<IntentPredictor>) -> anyhow::Result<Self> {
        anyhow::ensure!(
            options.control_rate.is_finite() && options.control_rate > 0.0,
            "control_rate must be > 0 Hz, got {}",
            options.control_rate
        );
        anyhow::ensure!(
            options.predictions != PredictionSource::Predictor || predictor.is_some(),
            "prediction source `predictor` needs a predictor"
        );
        let controller = InputHandler::new(options.controller.clone()).context("invalid controller configuration")?;
        let judge = Judge::new(&options.controller);
        Ok(Replay {
            options,
            controller,
            predictor,
            judge,
            inputs: InputCounts::default(),
            cycles: Vec::new(),
            agreement: Agreement::default(),
            predictions: Vec::new(),
            next_tick: None,
            last_time: None,
            held: Default::default(),
            waiting: Default::default(),
            newest: [None; 3],
            applied: [None; 3],
        })
    }

    /// The kind and header stamp of an input a recorded status accounts for (`None`: not such an input, or
    /// not decodable — then it is applied on arrival and rejected there).
    fn held_kind(&self, m: &BagMessage) -> Option<(Held, Stamp)> {
        let t = m.topic.as_str();
        if t == self.topic(topics::JOY) {
            Some((Held::Joy, convert::stamp_from_msg(&m.decode::<Joy>().ok()?.header.stamp)))
        } else if t == self.topic(topics::SKELETONS) {
            Some((Held::Skeletons, convert::stamp_from_msg(&m.decode::<isc::HumanSkeletonArray>().ok()?.header.stamp)))
        } else if t == self.topic(topics::INTENT) && self.options.predictions.uses_recorded() {
            Some((
                Held::Predictions,
                convert::stamp_from_msg(&m.decode::<isc::IntentPredictionArray>().ok()?.header.stamp),
            ))
        } else {
            None
        }
    }

    /// Steps the waiting recorded decisions whose inputs have all arrived (all of them when `flush`).
    fn step_waiting(&mut self, flush: bool) -> anyhow::Result<()> {
        while let Some((_, used, _)) = self.waiting.front() {
            let ready = (0..3).all(|k| used[k].is_none_or(|u| self.newest[k].is_some_and(|n| n >= u)));
            if !ready && !flush {
                break;
            }
            let Some((stamp, used, rec)) = self.waiting.pop_front() else { break };
            let held = std::mem::take(&mut self.held);
            for (kind, t, m) in held {
                if used[kind as usize].is_some_and(|u| t <= u) {
                    self.apply(&m)?;
                    let a = &mut self.applied[kind as usize];
                    *a = Some(a.map_or(t, |x| x.max(t)));
                } else {
                    self.held.push_back((kind, t, m));
                }
            }
            if (0..3).any(|k| used[k].is_some() && self.applied[k] != used[k]) {
                self.agreement.decisions_with_missing_inputs += 1;
            }
            self.step(stamp, Some(rec));
        }
        Ok(())
    }

    fn topic(&self, name: &str) -> String {
        format!("{}{}", self.options.namespace.trim_end_matches('/'), name)
    }

    /// Counts a rejection of the input handler.
    fn counted(&mut self, verdict: Result<(), &'static str>) {
        if let Err(reason) = verdict {
            self.reject(reason);
        }
    }

    fn reject(&mut self, reason: &str) {
        *self.inputs.rejected.entry(reason.to_owned()).or_default() += 1;
    }

    /// Feeds one bag message (file order).
    pub fn push(&mut self, m: &BagMessage) -> anyhow::Result<()> {
        self.judge.epochs.see(Stamp(m.log_time));
        if self.options.step == StepMode::Recorded {
            if let Some((kind, stamp)) = self.held_kind(m) {
                let newest = &mut self.newest[kind as usize];
                *newest = Some(newest.map_or(stamp, |n| n.max(stamp)));
                self.held.push_back((kind, stamp, m.clone()));
                return self.step_waiting(false);
            }
        }
        self.apply(m)
    }

    /// Feeds one message to the controller / judge (and decides after it in [`StepMode::Events`]).
    fn apply(&mut self, m: &BagMessage) -> anyhow::Result<()> {
        let now = Stamp(m.log_time);
        if self.options.step == StepMode::Events {
            self.ticks_until(now);
        }
        let t = m.topic.as_str();
        let stepped_input = if t == self.topic(topics::JOY) {
            self.inputs.joy += 1;
            let verdict = self.controller.on_joy(now, convert::joy_from_msg(&m.decode::<Joy>()?));
            self.counted(verdict);
            true
        } else if t == self.topic(topics::SKELETONS) {
            self.inputs.skeletons += 1;
            let msg = m.decode::<isc::HumanSkeletonArray>()?;
            match convert::skeletons_from_msg(&msg, &self.options.skeleton_limits) {
                Ok(frame) => {
                    if self.options.predictions == PredictionSource::Predictor {
                        if let Some(p) = self.predictor.as_mut() {
                            match p.predict_capture(&frame) {
                                Ok(preds) => {
                                    self.predictions.clone_from(&preds);
                                    let verdict = self.controller.on_predictions(now, frame.stamp, preds);
                                    self.counted(verdict);
                                }
                                Err(PredictError::Model(_)) => self.reject("model_error"),
                                Err(PredictError::NoPose(_)) => self.reject("no_odometry_pose"),
                            }
                        }
                    }
                    self.judge.on_observed(&frame);
                    let verdict = self.controller.on_skeletons(now, frame);
                    self.counted(verdict);
                }
                Err(e) => self.reject(e.reason()),
            }
            true
        } else if t == self.topic(topics::INTENT) {
            self.inputs.predictions += 1;
            if self.options.predictions.uses_recorded() {
                let msg = m.decode::<isc::IntentPredictionArray>()?;
                match convert::predictions_from_msg(&msg, self.options.skeleton_limits.max_humans) {
                    Ok(mut preds) => {
                        if self.options.predictions == PredictionSource::TrueFuture {
                            self.judge.true_forecasts(&mut preds);
                        }
                        self.predictions.clone_from(&preds);
                        let stamp = convert::stamp_from_msg(&msg.header.stamp);
                        let verdict = self.controller.on_predictions(now, stamp, preds);
                        self.counted(verdict);
                    }
                    Err(e) => self.reject(e.reason()),
                }
                true
            } else {
                false
            }
        } else if t == self.topic(topics::ASSIST) {
            self.inputs.assist += 1;
            let msg = m.decode::<geo::TwistStamped>()?;
            let (stamp, twist) = (convert::stamp_from_msg(&msg.header.stamp), convert::twist_from_msg(&msg.twist));
            let verdict = self.controller.on_assist(now, stamp, twist);
            self.counted(verdict);
            true
        } else if t == self.topic(topics::ODOM) {
            self.inputs.odometry += 1;
            if let Some(p) = self.predictor.as_mut().filter(|p| p.uses_odometry()) {
                let msg = m.decode::<r2r::nav_msgs::msg::Odometry>()?;
                match convert::odometry_from_msg(&msg, &self.options.skeleton_limits.expected_frame) {
                    Ok(o) => {
                        if !p.push_odometry(o.stamp, o.x, o.y, o.yaw) {
                            self.reject("odometry_out_of_order");
                        }
                    }
                    Err(e) => self.reject(e.reason()),
                }
            }
            false
        } else if t == self.topic(topics::TRUTH) {
            self.inputs.truth += 1;
            let msg = m.decode::<isc::HumanSkeletonArray>()?;
            let limits = SkeletonLimits { max_humans: usize::MAX, expected_frame: String::new() };
            if let Ok(frame) = convert::skeletons_from_msg(&msg, &limits) {
                self.judge.on_truth(frame);
            }
            false
        } else if t == self.topic(topics::CMD_VEL) {
            if let Ok(msg) = m.decode::<geo::TwistStamped>() {
                self.judge.on_recorded_cmd(convert::twist_from_msg(&msg.twist));
            }
            false
        } else if t == self.topic(topics::STATUS) {
            self.inputs.recorded_status += 1;
            if self.options.step == StepMode::Recorded {
                let msg = m.decode::<isc::SharedControlStatus>()?;
                let stamp = convert::stamp_from_msg(&msg.header.stamp);
                let rec = RecordedDecision {
                    mode: msg.mode,
                    alpha: msg.alpha,
                    output: convert::twist_from_msg(&msg.output_cmd),
                };
                let mut used =
                    [&msg.joy_stamp, &msg.skeleton_stamp, &msg.prediction_stamp].map(convert::input_stamp_from_msg);
                if !self.options.predictions.uses_recorded() {
                    // The replay's own predictor predicts when the skeletons it is based on are applied.
                    used[Held::Predictions as usize] = None;
                }
                self.waiting.push_back((stamp, used, rec));
                self.step_waiting(false)?;
            }
            false
        } else {
            self.inputs.other += 1;
            false
        };
        if stepped_input && self.options.step == StepMode::Events {
            self.step(now, None);
        }
        Ok(())
    }

    /// Periodic decisions of bag time up to `now`; a jump back in time restarts the period.
    fn ticks_until(&mut self, now: Stamp) {
        let period = Stamp::from_secs_f64(1.0 / self.options.control_rate).0.max(1);
        if self.last_time.is_some_and(|l| now < l) {
            self.next_tick = None;
        }
        self.last_time = Some(now);
        let next = *self.next_tick.get_or_insert(Stamp(now.0 + period));
        let mut next = next;
        // A forward jump of many periods decides once at the newest due tick (as a late wall timer does).
        if now.0 - next.0 > 10 * period {
            next = Stamp(now.0 - (now.0 - next.0) % period);
        }
        while next <= now {
            self.step(next, None);
            next = Stamp(next.0 + period);
        }
        self.next_tick = Some(next);
    }

    fn step(&mut self, now: Stamp, recorded: Option<RecordedDecision>) {
        let decision = self.controller.decide(now);
        if let Some(r) = &recorded {
            let a = &mut self.agreement;
            a.compared += 1;
            a.same_mode += u64::from(r.mode == decision.mode as u8);
            let diff = r
                .output
                .to_array()
                .iter()
                .zip(decision.output.to_array())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            a.max_output_diff = a.max_output_diff.max(diff);
            a.max_alpha_diff = a.max_alpha_diff.max((f64::from(r.alpha) - decision.alpha).abs());
            a.output_mismatches += u64::from(diff > 1e-6);
            if a.decisions_with_missing_inputs == 0 {
                a.compared_before_missing += 1;
                a.mismatches_before_missing += u64::from(diff > 1e-6 || r.mode != decision.mode as u8);
            }
        }
        let nearest_probabilities = decision
            .nearest_human
            .and_then(|(id, _)| self.predictions.iter().find(|p| p.human_id == id))
            .map(|p| p.probabilities);
        self.judge.on_decision(&decision);
        self.cycles.push(Cycle { decision, nearest_probabilities, recorded });
    }

    /// Gives the judge the whole bag (`messages`, file order) before it is pushed, so that it knows each
    /// person's true future after a decision ([`crate::lookahead`]): from the ground truth when the bag has
    /// it, else from the observed skeletons.
    pub fn read_ahead(&mut self, messages: &[BagMessage]) {
        let truth = self.topic(topics::TRUTH);
        let judged = if messages.iter().any(|m| m.topic == truth) { truth } else { self.topic(topics::SKELETONS) };
        let frame = &self.options.skeleton_limits.expected_frame;
        self.judge.lookahead =
            Some(Lookahead::scan(messages, &judged, &self.topic(topics::ODOM), &self.topic(topics::CMD_VEL), frame));
    }

    /// Ends the replay.
    pub fn finish(mut self) -> ReplayOutput {
        // Decisions whose inputs never arrived in the bag are replayed with what there is.
        if let Err(e) = self.step_waiting(true) {
            tracing::warn!("replaying the last recorded decisions: {e:#}");
        }
        let metrics = self.judge.finish(&self.cycles);
        let agreement = (self.options.step == StepMode::Recorded).then_some(self.agreement);
        ReplayOutput { cycles: self.cycles, inputs: self.inputs, metrics, agreement }
    }
}

/// Replays `messages` (file order) with `options`; `progress` is called with the number of messages done.
pub fn replay(
    messages: &[BagMessage],
    options: ReplayOptions,
    predictor: Option<IntentPredictor>,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<ReplayOutput> {
    let mut r = Replay::new(options, predictor)?;
    r.read_ahead(messages);
    for (i, m) in messages.iter().enumerate() {
        r.push(m)?;
        if i % 1024 == 0 {
            progress(i);
        }
    }
    progress(messages.len());
    Ok(r.finish())
}

/// The ONNX model of `card` on CPU (one thread), ONNX Runtime from `ort_lib` or `$ISC_ORT_LIB`.
pub fn load_cpu_model(card: &Path, ort_lib: Option<&Path>) -> anyhow::Result<Box<dyn IntentModel + Send>> {
    use intent_shared_control_inference::{load_card, model_path_for_card, OrtIntentModel, OrtModelConfig, OrtRuntime};
    let lib = match ort_lib {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(
            std::env::var("ISC_ORT_LIB")
                .context("ISC_ORT_LIB (or an explicit ONNX Runtime library) is needed for the model")?,
        ),
    };
    let runtime = OrtRuntime::init(&lib)?;
    let loaded = load_card(card)?;
    let path = model_path_for_card(card, &loaded);
    let mut cfg = OrtModelConfig::cpu(path);
    cfg.intra_threads = 1;
    Ok(Box::new(OrtIntentModel::load(&runtime, loaded, cfg)?))
}

/// Whether the bag has odometry for the predictor (topic `/odom` under `namespace`).
pub fn has_odometry(messages: &[BagMessage], namespace: &str) -> bool {
    let topic = format!("{namespace}{}", topics::ODOM);
    messages.iter().any(|m| m.topic == topic)
}

/// Closing speed and positions of the judged humans.
struct Judge {
    shape: RobotShape,
    body: RobotBody,
    verdicts: GroundTruthJudge,
    /// Newest judged frame, the previous one, and closing speed per human id [m/s].
    frame: Option<SkeletonFrame>,
    closing: BTreeMap<u32, f64>,
    last_torso: BTreeMap<u32, (Stamp, f64, Point2<f64>)>,
    has_truth: bool,
    recorded_cmd: Twist,
    // running metrics
    m: ReplayMetrics,
    prev_violation_predicted: bool,
    stop_started: Option<Stamp>,
    /// Start of the current uninterrupted `Stop`.
    stop_since: Option<Stamp>,
    braked_in_episode: bool,
    stopped_in_episode: bool,
    /// The robot stood still (no motion at all) since the episode's standstill: the hold is judged from then.
    still_in_episode: bool,
    braking_deceleration: f64,
    prev_approach: f64,
    prev_speed: f64,
    episode_v0: f64,
    resume_from: Option<Stamp>,
    first: Option<Stamp>,
    last: Option<Stamp>,
    /// The bag's future, when the whole bag was given ([`Replay::read_ahead`]).
    lookahead: Option<Lookahead>,
    epochs: EpochCounter,
}

/// Approach speeds above this count as motion toward a human [m/s].
const APPROACH_EPS: f64 = 0.01;
/// Approach speeds above this can violate the separation [m/s] (as the closed-loop simulator).
const VIOLATION_MIN_SPEED: f64 = 0.05;

impl Judge {
    fn new(config: &ControllerConfig) -> Self {
        let separation = &config.safety.separation;
        let shape = separation.robot.clone();
        let verdicts = GroundTruthJudge::new(
            reference_separation(separation),
            separation.clone(),
            config.safety.zones.clone(),
            VIOLATION_MIN_SPEED,
        );
        let braking_deceleration = separation.braking_deceleration;
        Judge {
            shape,
            body: separation.body(),
            verdicts,
            frame: None,
            closing: BTreeMap::new(),
            last_torso: BTreeMap::new(),
            has_truth: false,
            recorded_cmd: Twist::ZERO,
            m: ReplayMetrics::default(),
            prev_violation_predicted: false,
            stop_started: None,
            braked_in_episode: false,
            stopped_in_episode: false,
            still_in_episode: false,
            braking_deceleration,
            prev_approach: 0.0,
            prev_speed: 0.0,
            episode_v0: 0.0,
            resume_from: None,
            stop_since: None,
            first: None,
            last: None,
            lookahead: None,
            epochs: EpochCounter::default(),
        }
    }

    fn on_truth(&mut self, frame: SkeletonFrame) {
        self.has_truth = true;
        self.set_frame(frame);
    }

    fn on_observed(&mut self, frame: &SkeletonFrame) {
        if !self.has_truth {
            self.set_frame(frame.clone());
        }
    }

    fn on_recorded_cmd(&mut self, t: Twist) {
        self.recorded_cmd = t;
    }

    /// Closing speed per human: change of the torso's surface distance, minus the robot's own approach
    /// (the recorded command, which moved the robot between the frames), floored at 0.
    fn set_frame(&mut self, frame: SkeletonFrame) {
        for h in &frame.humans {
            let (l, r) = (&h.keypoints[kp::LEFT_HIP], &h.keypoints[kp::RIGHT_HIP]);
            if !(l.is_observed() && r.is_observed()) {
                continue;
            }
            let torso = nalgebra::center(&l.position, &r.position).xy();
            let d = self.shape.closest(&torso).1;
            if let Some((t0, d0, _)) = self.last_torso.get(&h.id) {
                let dt = frame.stamp.seconds_since(*t0);
                if dt > 1e-4 && dt < 0.5 {
                    let robot = self.shape.relation(&self.recorded_cmd, &torso).approach_speed;
                    let v = ((d0 - d) / dt - robot).max(0.0);
                    let e = self.closing.entry(h.id).or_insert(v);
                    *e = 0.7 * *e + 0.3 * v;
                }
            }
            self.last_torso.insert(h.id, (frame.stamp, d, torso));
        }
        self.frame = Some(frame);
    }

    /// The judged humans of the newest frame, with their true future when `with_future` and the bag was read
    /// ahead (only the false-stop question needs it).
    fn judged_humans(&self, with_future: bool) -> Vec<JudgedHuman> {
        let Some(f) = &self.frame else { return Vec::new() };
        f.humans
            .iter()
            .map(|h| JudgedHuman {
                points: h.keypoints.iter().filter(|k| k.is_observed()).map(|k| k.position).collect(),
                closing_speed: self.closing.get(&h.id).copied().unwrap_or(0.0),
                tracked: tracked_points(h).map_or([None; 3], |t| t.map(Some)),
                future: match &self.lookahead {
                    Some(l) if with_future => l.future(self.epochs.current(), f.stamp, h.id),
                    _ => Vec::new(),
                },
            })
            .collect()
    }

    /// Replaces the forecast of every prediction in `preds` by the person's true future after the prediction's
    /// stamp, as far as the bag knows it (steps beyond that keep the forecast).
    fn true_forecasts(&self, preds: &mut [HumanPrediction]) {
        let Some(l) = &self.lookahead else { return };
        for p in preds {
            let future = l.future(self.epochs.current(), p.stamp, p.human_id);
            // The lookahead's steps are FUTURE_STEP_S apart; a forecast on another grid keeps its own points (the
            // message carries the step as float32).
            if (p.horizon_step - FUTURE_STEP_S).abs() > 1e-6 {
                continue;
            }
            for (predicted, truth) in p.future.iter_mut().zip(future) {
                for (q, t) in predicted.iter_mut().zip(truth) {
                    *q = nalgebra::Point3::new(t.x, t.y, q.z);
                }
            }
        }
    }

    /// Largest approach speed of `twist` toward any of `humans`' points, and the ground-truth verdict.
    fn assess(&self, twist: &Twist, humans: &[JudgedHuman]) -> (f64, Verdict) {
        let max_approach = humans
            .iter()
            .flat_map(|h| h.points.iter())
            .map(|p| self.body.relation(twist, p).approach_speed)
            .fold(0.0, f64::max);
        (max_approach, self.verdicts.judge(twist, humans))
    }

    fn on_decision(&mut self, d: &Decision) {
        let now = d.stamp;
        self.first.get_or_insert(now);
        self.last = Some(now);
        let m = &mut self.m;
        m.cycles += 1;
        *m.mode_cycles.entry(mode_name(d.mode).to_owned()).or_default() += 1;
        if !d.output.to_array().iter().all(|v| v.is_finite()) {
            self.m.non_finite_outputs += 1;
        }
        let speed = d.output.linear.norm();
        self.m.max_output_speed = self.m.max_output_speed.max(speed);
        let (approach, verdict) = self.assess(&d.output, &self.judged_humans(false));
        let m = &mut self.m;
        m.violation_cycles += u64::from(verdict.violation);
        let md = verdict.min_distance_approaching;
        if md.is_finite() {
            m.min_distance_approaching = Some(m.min_distance_approaching.map_or(md, |x| x.min(md)));
        }
        if d.mode == Mode::Stop {
            let since = *self.stop_since.get_or_insert(now);
            m.longest_stop_s = m.longest_stop_s.max(now.seconds_since(since));
            if d.reasons.contains(&"ssm_stop") {
                m.stop_separation_cycles += 1;
            } else if d.reasons.contains(&"zone_stop") {
                m.stop_zone_cycles += 1;
            } else {
                m.stop_other_cycles += 1;
            }
        } else {
            self.stop_since = None;
        }
        let m = &mut self.m;
        if d.mode == Mode::Stop {
            m.stop_cycles += 1;
            let (_, asked) = self.assess(&d.blended, &self.judged_humans(true));
            self.m.false_stop_cycles += u64::from(!asked.stop_needed);
            self.m.stops_beyond_physics += u64::from(!asked.violation);
        }
        let predicted = d.reasons.iter().any(|r| matches!(*r, "ssm_stop" | "zone_stop"));
        let m = &mut self.m;
        if predicted {
            m.predicted_violation_cycles += 1;
            if !self.prev_violation_predicted {
                let moving = self.prev_approach > APPROACH_EPS;
                self.stop_started = moving.then_some(now);
                self.braked_in_episode = !moving;
                self.stopped_in_episode = !moving;
                self.still_in_episode = false;
                self.episode_v0 = self.prev_speed.max(self.prev_approach);
                self.resume_from = None;
            }
            if let Some(t0) = self.stop_started {
                if !self.braked_in_episode && (approach <= APPROACH_EPS || approach < self.prev_approach - 1e-9) {
                    m.time_to_stop_s.push(now.seconds_since(t0));
                    self.braked_in_episode = true;
                }
                if !self.stopped_in_episode && approach <= APPROACH_EPS {
                    m.time_to_standstill_s.push(now.seconds_since(t0));
                    m.standstill_bound_s.push(self.episode_v0 / self.braking_deceleration.max(1e-6));
                    self.stopped_in_episode = true;
                    self.stop_started = None;
                }
            }
            // A robot that moves away from someone overtaking it has no approach without standing still: the hold
            // is judged once it stands still.
            self.still_in_episode |=
                self.stopped_in_episode && speed <= APPROACH_EPS && d.output.angular.norm() <= APPROACH_EPS;
            if self.still_in_episode {
                m.hold_stop_cycles += 1;
                m.hold_stop_ok += u64::from(approach <= APPROACH_EPS);
            }
        } else {
            if self.prev_violation_predicted {
                if let Some(t0) = self.stop_started.take() {
                    // Cleared before braking or standing still: the time to the clear counts.
                    if !self.braked_in_episode {
                        m.time_to_stop_s.push(now.seconds_since(t0));
                    }
                }
                self.resume_from = Some(now);
            }
            if let Some(t0) = self.resume_from {
                let commanded = d.user.linear.norm() > APPROACH_EPS || d.user.angular.norm() > APPROACH_EPS;
                if !commanded || d.mode == Mode::Fault || d.mode == Mode::Idle {
                    self.resume_from = None;
                } else if speed > APPROACH_EPS || d.output.angular.norm() > APPROACH_EPS {
                    m.resume_s.push(now.seconds_since(t0));
                    self.resume_from = None;
                }
            }
        }
        self.prev_violation_predicted = predicted;
        self.prev_approach = approach;
        self.prev_speed = speed;
    }

    fn finish(mut self, _cycles: &[Cycle]) -> ReplayMetrics {
        let mut m = std::mem::take(&mut self.m);
        if let Some(t0) = self.resume_from {
            // Still waiting at the end: count only if it already waited longer than the threshold would allow.
            if self.last.is_some_and(|l| l.seconds_since(t0) > 0.5) {
                m.resume_missing += 1;
            }
        }
        m.judged_on = if self.has_truth { "ground_truth".into() } else { "observed".into() };
        m.duration_s = match (self.first, self.last) {
            (Some(a), Some(b)) => b.seconds_since(a),
            _ => 0.0,
        };
        m.hold_stop_fraction =
            if m.hold_stop_cycles == 0 { 1.0 } else { m.hold_stop_ok as f64 / m.hold_stop_cycles as f64 };
        m.false_stop_fraction = if m.cycles == 0 { 0.0 } else { m.false_stop_cycles as f64 / m.cycles as f64 };
        m
    }
}

/// Mode name as in `SharedControlStatus.MODE_*` (lower case).
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Idle => "idle",
        Mode::Manual => "manual",
        Mode::Assisted => "assisted",
        Mode::Slowdown => "slowdown",
        Mode::Stop => "stop",
        Mode::Fault => "fault",
    }
}

/// Core skeleton frame → `HumanSkeletonArray` (missing keypoints: NaN position, confidence 0).
pub fn skeletons_to_msg(frame: &SkeletonFrame) -> isc::HumanSkeletonArray {
    isc::HumanSkeletonArray {
        header: Header { stamp: convert::stamp_to_msg(frame.stamp), frame_id: frame.frame_id.clone() },
        humans: frame
            .humans
            .iter()
            .map(|h| isc::HumanSkeleton {
                id: h.id,
                keypoints: h
                    .keypoints
                    .iter()
                    .map(|k| {
                        if k.is_observed() {
                            geo::Point { x: k.position.x, y: k.position.y, z: k.position.z }
                        } else {
                            geo::Point { x: f64::NAN, y: f64::NAN, z: f64::NAN }
                        }
                    })
                    .collect(),
                confidence: h.keypoints.iter().map(|k| if k.is_observed() { k.confidence } else { 0.0 }).collect(),
            })
            .collect(),
    }
}

/// Writes the decisions as a bag (`cmd_vel` + `shared_control/status`, log time = decision time).
/// `decision_time` in the status is 0: the replay does not measure wall time, so outputs stay bit-identical.
pub fn write_outputs_bag(dir: &Path, cycles: &[Cycle], frame_id: &str) -> anyhow::Result<()> {
    let mut w = BagWriter::create(dir)?;
    for c in cycles {
        let d = &c.decision;
        let t = d.stamp.0.max(0);
        w.write(topics::CMD_VEL, topics::TWIST_STAMPED_TYPE, t, &convert::cmd_vel_msg(d, frame_id))?;
        w.write(topics::STATUS, topics::STATUS_TYPE, t, &convert::status_msg(d, frame_id, 0.0))?;
    }
    w.finish()?;
    Ok(())
}

/// CSV header of [`write_csv`].
pub const CSV_HEADER: &str = "t_s,mode,alpha,speed_scale,nearest_id,min_separation_m,required_separation_m,human_speed_mps,humans_seen,predictions_used,user_vx,user_vy,user_wz,assist_vx,assist_vy,assist_wz,blended_vx,blended_vy,blended_wz,output_vx,output_vy,output_wz,p_idle,p_pass_by,p_approach_robot,p_reach_handover,p_retreat,reasons";

/// Writes one CSV row per decision (time in seconds of bag time, full precision).
pub fn write_csv(path: &Path, cycles: &[Cycle]) -> anyhow::Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    writeln!(w, "{CSV_HEADER}")?;
    for c in cycles {
        let d = &c.decision;
        let (id, dist) =
            d.nearest_human.map_or((String::new(), String::new()), |(i, x)| (i.to_string(), x.to_string()));
        let p = c.nearest_probabilities.map_or_else(|| ",,,,".to_owned(), |p| p.map(|v| v.to_string()).join(","));
        write!(
            w,
            "{},{},{},{},{id},{dist},{},{},{},{},",
            d.stamp.as_secs_f64(),
            mode_name(d.mode),
            d.alpha,
            d.speed_scale,
            d.required_separation,
            d.human_speed,
            d.humans_seen,
            d.predictions_used
        )?;
        for t in [&d.user, &d.assist, &d.blended, &d.output] {
            write!(w, "{},{},{},", t.linear.x, t.linear.y, t.angular.z)?;
        }
        writeln!(w, "{p},{}", d.reasons.join("|"))?;
    }
    w.flush()?;
    Ok(())
}

/// Metrics JSON of a replay (with the thresholds, the failures and the agreement).
pub fn metrics_json(out: &ReplayOutput, thresholds: &Thresholds, extra: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "metrics": out.metrics,
        "thresholds": thresholds,
        "failures": check_thresholds(&out.metrics, thresholds),
        "inputs": out.inputs,
        "agreement": out.agreement,
        "run": extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_flag_each_failure() {
        let t = Thresholds::for_rate(50.0);
        let ok = ReplayMetrics { hold_stop_fraction: 1.0, ..ReplayMetrics::default() };
        assert!(check_thresholds(&ok, &t).is_empty());
        let bad = ReplayMetrics {
            time_to_stop_s: vec![0.04],
            hold_stop_fraction: 0.9,
            resume_s: vec![0.6],
            false_stop_fraction: 0.06,
            violation_cycles: 1,
            ..ReplayMetrics::default()
        };
        let failures = check_thresholds(&bad, &t);
        assert_eq!(failures.len(), 5, "{failures:?}");
        for what in ["time to stop", "hold", "resume", "false stops", "violation"] {
            assert!(failures.iter().any(|f| f.contains(what)), "{what} not flagged: {failures:?}");
        }
    }

    #[test]
    fn skeletons_round_trip_through_the_message() {
        use intent_shared_control_core::skeleton::{HumanSkeleton, Keypoint};
        let mut keypoints = [Keypoint::MISSING; intent_shared_control_core::NUM_KEYPOINTS];
        keypoints[0] = Keypoint { position: nalgebra::Point3::new(1.0, 2.0, 3.0), confidence: 0.5 };
        let f = SkeletonFrame {
            stamp: Stamp(42),
            frame_id: "base_link".into(),
            humans: vec![HumanSkeleton { id: 3, keypoints }],
        };
        let msg = skeletons_to_msg(&f);
        let back =
            convert::skeletons_from_msg(&msg, &SkeletonLimits { max_humans: 4, expected_frame: "base_link".into() })
                .expect("valid");
        assert_eq!(
            (back.stamp, back.frame_id.as_str(), back.humans.len(), back.humans[0].id),
            (Stamp(42), "base_link", 1, 3)
        );
        assert_eq!(back.humans[0].keypoints[0], f.humans[0].keypoints[0]);
        assert!(back.humans[0].keypoints[1..].iter().all(|k| !k.is_observed()));
    }
}
