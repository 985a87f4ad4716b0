//! The configured state of shared_control (dropped on cleanup) and its diagnostics.

use std::collections::BTreeMap;
use std::time::Instant;

use intent_shared_control_core::health::{Level, RateMonitor, StampAgeMonitor};
use intent_shared_control_core::input::Rejection;
use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::{ConfigError, Decision, InputHandler, Mode, Reason, SkeletonFrame, Stamp};
use tracing::warn;

use super::{Input, OutputGate, SharedControlParams};
use crate::nodes::handoff::Handoff;
use crate::ros::convert;
use crate::ros::diagnostics::{LatencyWindow, Status};
use crate::ros::lifecycle::LifecycleServer;
use crate::ros::managed_node::lifecycle_status;
use crate::ros::metrics::Metrics;

/// State of a configured node (dropped on cleanup). What is accepted, re-arming and clock jumps are the
/// core's [`InputHandler`]: the offline replay and the bag generator drive the same one.
pub(super) struct Configured {
    pub(super) params: SharedControlParams,
    pub(super) inputs: InputHandler,
    pub(super) joy_rate: RateMonitor,
    pub(super) skeleton_rate: RateMonitor,
    pub(super) skeleton_age: StampAgeMonitor,
    pub(super) latency: LatencyWindow,
    pub(super) last_decision: Option<Decision>,
    pub(super) decisions: u64,
    /// Times each rule started acting (a rule that holds over many cycles counts once).
    pub(super) interventions: BTreeMap<Reason, u64>,
    pub(super) output: OutputGate,
}

impl Configured {
    pub(super) fn new(params: SharedControlParams) -> Result<Self, ConfigError> {
        Ok(Configured {
            inputs: InputHandler::new(params.controller.clone())?,
            joy_rate: RateMonitor::new(params.expected_joy_rate, params.rate_tolerance, 1.0),
            skeleton_rate: RateMonitor::new(params.expected_skeleton_rate, params.rate_tolerance, 1.0),
            skeleton_age: StampAgeMonitor::new(0.2, 1.0),
            latency: LatencyWindow::new(),
            last_decision: None,
            decisions: 0,
            interventions: Default::default(),
            output: OutputGate::default(),
            params,
        })
    }

    /// Gives one input that arrived at `now` to the handler (conversion errors are counted and logged).
    /// Returns when the message behind it arrived (decision latency is measured from there), or `None` for
    /// what is not an input to decide on.
    pub(super) fn accept(&mut self, input: Input, now: Stamp, metrics: &Metrics) -> Option<Instant> {
        match input {
            Input::Joy(msg) => {
                self.joy_rate.tick(now);
                Self::counted(metrics, self.inputs.on_joy(now, convert::joy_from_msg(&msg)));
            }
            Input::Assist(msg) => {
                let stamp = convert::stamp_from_msg(&msg.header.stamp);
                let twist = convert::twist_from_msg(&msg.twist);
                Self::counted(metrics, self.inputs.on_assist(now, stamp, twist));
            }
            Input::Skeletons(msg) => match convert::skeletons_from_msg(&msg, &self.params.skeleton_limits) {
                Ok(frame) => self.on_skeletons(metrics, frame, now),
                Err(e) => {
                    self.reject(metrics, e.reason());
                    warn!("skeletons rejected: {e}");
                }
            },
            Input::Predictions(msg) => {
                match convert::predictions_from_msg(&msg, self.params.skeleton_limits.max_humans) {
                    Ok(preds) => {
                        let stamp = convert::stamp_from_msg(&msg.header.stamp);
                        self.on_predictions(metrics, now, stamp, preds)
                    }
                    Err(e) => {
                        self.reject(metrics, e.reason());
                        warn!("predictions rejected: {e}");
                    }
                }
            }
            Input::Handoff(Some(Handoff::Skeletons { frame, arrival })) => {
                self.on_skeletons(metrics, frame, now);
                return Some(arrival);
            }
            Input::Handoff(Some(Handoff::Predictions { stamp, predictions, arrival })) => {
                self.on_predictions(metrics, now, stamp, predictions);
                return Some(arrival);
            }
            Input::Tick | Input::Handoff(None) => return None,
        }
        Some(Instant::now())
    }

    /// Counts a rejection of the handler in the metrics too.
    fn counted(metrics: &Metrics, verdict: Result<(), Rejection>) {
        if let Err(reason) = verdict {
            metrics.reject(reason);
        }
    }

    fn on_skeletons(&mut self, metrics: &Metrics, frame: SkeletonFrame, now: Stamp) {
        self.skeleton_rate.tick(now);
        self.skeleton_age.observe(frame.stamp);
        Self::counted(metrics, self.inputs.on_skeletons(now, frame));
    }

    fn on_predictions(&mut self, metrics: &Metrics, now: Stamp, stamp: Stamp, predictions: Vec<HumanPrediction>) {
        Self::counted(metrics, self.inputs.on_predictions(now, stamp, predictions));
    }

    /// A message that could not be converted.
    fn reject(&mut self, metrics: &Metrics, reason: Rejection) {
        Self::counted(metrics, Err(self.inputs.reject(reason)));
    }

    pub(super) fn decide(&mut self, now: Stamp) -> Decision {
        let d = self.inputs.decide(now);
        if d.reasons.contains(&Reason::ClockBackwards) {
            warn!("clock jumped back: inputs dropped, zero command until the operator re-arms");
            self.skeleton_age = StampAgeMonitor::new(0.2, 1.0);
        }
        d
    }
}

pub(super) fn statuses(lifecycle: &LifecycleServer, state: Option<&mut Configured>, now: Stamp) -> Vec<Status> {
    let mut out = vec![lifecycle_status(lifecycle)];
    let Some(s) = state else { return out };
    if !lifecycle.is_active() {
        return out;
    }
    // Idle (nobody asks the robot to move): a missing joystick is the normal case, and missing skeletons only
    // keep a robot stopped that nobody drives, so at most a warning.
    let idle = s.last_decision.as_ref().is_none_or(|d| d.mode == Mode::Idle);
    let mut joy = s.joy_rate.check(now);
    if idle && s.joy_rate.rate(now) == 0.0 {
        joy.level = Level::Ok;
        joy.message = "none (idle)".into();
    }
    let skel = s.skeleton_rate.check(now);
    let age = s.skeleton_age.check(now);
    let mut level = joy.level.max(skel.level).max(age.level);
    if idle {
        level = level.min(Level::Warn);
    }
    out.push(
        Status::new("inputs", level, format!("joy {}; skeletons {}; {}", joy.message, skel.message, age.message))
            .kv("joy_rate_hz", format!("{:.1}", s.joy_rate.rate(now)))
            .kv("skeleton_rate_hz", format!("{:.1}", s.skeleton_rate.rate(now)))
            .kv("skeleton_stamp_age_s", s.skeleton_age.age(now).map_or("none".into(), |a| format!("{a:.3}"))),
    );
    let (n, p50, p99) = s.latency.take();
    let d = s.last_decision.as_ref();
    let waiting = d.is_some_and(|d| d.awaiting_rearm);
    let mode = match d {
        None => "none".to_owned(),
        Some(d) if waiting => format!("{:?}, awaiting re-arm (release and press the deadman)", d.mode),
        Some(d) => format!("{:?}", d.mode),
    };
    // Waiting for re-arm while nobody drives is the normal idle state (OK); a fault is an ERROR.
    let dlevel = match d.map(|d| d.mode) {
        Some(Mode::Fault) => Level::Error,
        Some(Mode::Stop) | Some(Mode::Slowdown) => Level::Warn,
        _ => Level::Ok,
    };
    out.push(
        Status::new("decision", dlevel, format!("mode {mode}"))
            .kv("decisions_in_window", n)
            .kv("decisions_total", s.decisions)
            .kv("decision_latency_p50_us", p50)
            .kv("decision_latency_p99_us", p99)
            .kv("alpha", d.map_or(0.0, |d| d.alpha))
            .kv("awaiting_rearm", waiting)
            .kv("reasons", d.map_or(String::new(), |d| Reason::join(&d.reasons, ","))),
    );
    let rejections = s.inputs.rejections();
    let total: u64 = rejections.values().sum();
    let mut counters = Status::new("safety counters", Level::Ok, format!("{total} inputs rejected"));
    counters = counters.kv("rejections_total", total);
    for (k, v) in rejections {
        counters = counters.kv(&format!("rejected_{}", k.name()), v);
    }
    for (k, v) in &s.interventions {
        counters = counters.kv(&format!("rule_{}", k.as_str()), v);
    }
    out.push(counters);
    out
}
