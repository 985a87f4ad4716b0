//! The replay engine: drives the controller (and optionally the predictor) from bag messages.

use anyhow::Context as _;
use intent_shared_control_core::forecast_check::ForecastCheckReport;
use intent_shared_control_core::input::Rejection;
use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::predictor::{IntentPredictor, PredictError};
use intent_shared_control_core::{InputHandler, Stamp};
use r2r::geometry_msgs::msg as geo;
use r2r::intent_shared_control_msgs::msg as isc;
use r2r::sensor_msgs::msg::Joy;

use super::judge::Judge;
use super::{
    topics, Agreement, Cycle, InputCounts, PredictionSource, RecordedDecision, ReplayMetrics, ReplayOptions, StepMode,
};
use crate::bag::lookahead::Lookahead;
use crate::bag::BagMessage;
use crate::ros::convert::{self, SkeletonLimits};

/// Everything a replay produced.
#[derive(Clone, Debug)]
pub struct ReplayOutput {
    pub cycles: Vec<Cycle>,
    pub inputs: InputCounts,
    pub metrics: ReplayMetrics,
    pub agreement: Option<Agreement>,
    /// The replay's predictor's forecasts against the model card's error bound, when it checked them.
    pub forecast_check: Option<ForecastCheckReport>,
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
    fn counted(&mut self, verdict: Result<(), Rejection>) {
        if let Err(reason) = verdict {
            self.reject(reason);
        }
    }

    fn reject(&mut self, reason: Rejection) {
        *self.inputs.rejected.entry(reason.name().to_owned()).or_default() += 1;
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
                    // As the predictor node: a capture from the future is neither predicted nor kept in the tracks
                    // (the control node's own check counts it below).
                    let max_future = self.controller.controller().config().safety.validation.max_future;
                    if self.options.predictions == PredictionSource::Predictor
                        && frame.stamp.seconds_since(now) <= max_future
                    {
                        if let Some(p) = self.predictor.as_mut() {
                            match p.predict_capture(&frame) {
                                Ok(preds) => {
                                    self.predictions.clone_from(&preds);
                                    let verdict = self.controller.on_predictions(now, frame.stamp, preds);
                                    self.counted(verdict);
                                }
                                Err(PredictError::Model(_)) => self.reject(Rejection::ModelError),
                                Err(PredictError::NoPose(_)) => self.reject(Rejection::NoOdometryPose),
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
                let max_future = self.controller.controller().config().safety.validation.max_future;
                match convert::odometry_from_msg(
                    &msg,
                    &self.options.odom_frame,
                    &self.options.skeleton_limits.expected_frame,
                ) {
                    Ok(o) if o.stamp.seconds_since(now) > max_future => self.reject(Rejection::OdometryFutureStamp),
                    Ok(o) => {
                        if !p.push_odometry(o.stamp, o.x, o.y, o.yaw) {
                            self.reject(Rejection::OdometryOutOfOrder);
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
    /// person's true future after a decision ([`crate::bag::lookahead`]): from the ground truth when the bag has
    /// it, else from the observed skeletons.
    pub fn read_ahead(&mut self, messages: &[BagMessage]) {
        let truth = self.topic(topics::TRUTH);
        let judged = if messages.iter().any(|m| m.topic == truth) { truth } else { self.topic(topics::SKELETONS) };
        let (odom, cmd) = (self.topic(topics::ODOM), self.topic(topics::CMD_VEL));
        let frames = (self.options.odom_frame.as_str(), self.options.skeleton_limits.expected_frame.as_str());
        self.judge.lookahead = Some(Lookahead::scan(messages, &judged, &odom, &cmd, frames));
    }

    /// Ends the replay.
    pub fn finish(mut self) -> ReplayOutput {
        // Decisions whose inputs never arrived in the bag are replayed with what there is.
        if let Err(e) = self.step_waiting(true) {
            tracing::warn!("replaying the last recorded decisions: {e:#}");
        }
        let metrics = self.judge.finish();
        let agreement = (self.options.step == StepMode::Recorded).then_some(self.agreement);
        let forecast_check = self.predictor.as_ref().and_then(IntentPredictor::forecast_check).map(|c| c.report());
        ReplayOutput { cycles: self.cycles, inputs: self.inputs, metrics, agreement, forecast_check }
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
