//! The `shared_control` managed node: joystick + skeletons (+ predictions) in, `cmd_vel` + status out.
//!
//! Wiring only: inputs are converted by [`crate::convert`], what is accepted and the decision are the core's
//! [`InputHandler`] (the same one the bag replay and generator drive), and the result is published. A decision
//! is made on every accepted input and on a periodic wall timer (`control_rate`), so a silent joystick still
//! produces an explicit zero once it is stale.
//!
//! Output (`output_mode`): `steady` (default) publishes `cmd_vel` and the status on every timer tick, at
//! `control_rate`, as velocity smoothers and base controllers expect; a decision between two ticks is published
//! at once only when it is more restrictive than the last command published ([`OutputGate`]: a stop, a slowdown,
//! a smaller command), never held for the next tick. `event` publishes every decision as it is made. The status
//! goes out with every decision in both modes, so a recorded bag replays decision by decision.
//!
//! Lifecycle: inputs are ignored and nothing is published until the node is Active. `on_configure` reads and
//! validates the parameters (an invalid set leaves the node unconfigured with an error naming what to fix),
//! `on_activate` starts output, `on_deactivate` publishes one zero command and stops.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt;
use intent_shared_control_core::health::{Level, RateMonitor, StampAgeMonitor};
use intent_shared_control_core::lifecycle::{transition_id, Callback, CallbackResult, State as LifecycleState};
use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::{ControllerConfig, Decision, InputHandler, Mode, SkeletonFrame, Stamp};
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::intent_shared_control_msgs::msg::{HumanSkeletonArray, IntentPredictionArray, SharedControlStatus};
use r2r::sensor_msgs::msg::Joy;
use r2r::visualization_msgs::msg::MarkerArray;
use r2r::ParameterValue;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::convert::{self, SkeletonLimits};
use crate::diagnostics::{DiagnosticsPublisher, LatencyWindow, Status};
use crate::lifecycle::LifecycleServer;
use crate::markers;
use crate::metrics::{self, Metrics};
use crate::node_util::{command_qos, sensor_qos, shutdown_signal, spawn_node_spinner, NodeClock};
use crate::param_server::{use_sim_time_spec, ParamServer, ParamSpec, Range};
use crate::params::Params;

/// Node name used when none is remapped.
pub const NODE_NAME: &str = "shared_control";

/// Declared parameters, with descriptions, units and ranges: the node's own and the controller's
/// ([`crate::controller_params`]).
pub fn param_specs() -> Vec<ParamSpec> {
    use ParameterValue::{Bool, Double, Integer, String as Str};
    let mut specs = vec![
        use_sim_time_spec(),
        ParamSpec::new("autostart", "configure and activate at start-up without a supervisor", Bool(false)).read_only(),
        ParamSpec::new(
            "control_rate",
            "periodic decision rate when no input arrives, also the watchdog rate [Hz]",
            Double(50.0),
        )
        .range(Range::Float(1.0, 1000.0))
        .read_only(),
        ParamSpec::new(
            "output_mode",
            "steady: cmd_vel at control_rate, a more restrictive decision at once; event: every decision [steady|event]",
            Str("steady".into()),
        )
        .read_only(),
        ParamSpec::new("cmd_frame_id", "frame_id stamped on cmd_vel and status", Str("base_link".into())),
        ParamSpec::new("max_humans", "larger skeleton or prediction arrays are rejected and counted [-]", Integer(64))
            .range(Range::Int(1, 1024)),
        ParamSpec::new("expected_joy_rate", "joystick rate the diagnostics expect [Hz]", Double(50.0))
            .range(Range::Float(0.1, 10000.0)),
        ParamSpec::new("expected_skeleton_rate", "skeleton rate the diagnostics expect [Hz]", Double(30.0))
            .range(Range::Float(0.1, 10000.0)),
        ParamSpec::new("rate_tolerance", "allowed relative deviation from the expected rates [-]", Double(0.3))
            .range(Range::Float(0.0, 1.0)),
        ParamSpec::new("markers_rate", "rate of shared_control/markers for rviz, 0 = off [Hz]", Double(10.0))
            .range(Range::Float(0.0, 100.0)),
        ParamSpec::new(
            "metrics_port",
            "port of /metrics and /health on 127.0.0.1 (0 = any free port, -1 = off)",
            Integer(-1),
        )
        .range(Range::Int(-1, 65535))
        .read_only(),
    ];
    specs.extend(crate::controller_params::specs());
    specs
}

/// Everything the node reads from its parameters, validated.
#[derive(Clone, Debug)]
pub struct SharedControlParams {
    pub control_rate: f64,
    pub output_mode: OutputMode,
    pub cmd_frame_id: String,
    pub skeleton_limits: SkeletonLimits,
    pub expected_joy_rate: f64,
    pub expected_skeleton_rate: f64,
    pub rate_tolerance: f64,
    pub markers_rate: f64,
    pub controller: ControllerConfig,
}

impl SharedControlParams {
    /// The one validation used for the params file and for runtime changes; the error names the parameter and
    /// what is allowed.
    pub fn from_params(p: &Params) -> Result<Self, String> {
        let e = |e: crate::params::ParamError| e.to_string();
        let controller = crate::controller_params::from_params(p)?;
        Ok(SharedControlParams {
            control_rate: p.f64_or("control_rate", 50.0).map_err(e)?,
            output_mode: OutputMode::parse(&p.string_or("output_mode", "steady").map_err(e)?)?,
            cmd_frame_id: p.string_or("cmd_frame_id", "base_link").map_err(e)?,
            skeleton_limits: SkeletonLimits {
                max_humans: p.index_or("max_humans", 64).map_err(e)?,
                expected_frame: controller.safety.validation.expected_frame.clone(),
            },
            expected_joy_rate: p.f64_or("expected_joy_rate", 50.0).map_err(e)?,
            expected_skeleton_rate: p.f64_or("expected_skeleton_rate", 30.0).map_err(e)?,
            rate_tolerance: p.f64_or("rate_tolerance", 0.3).map_err(e)?,
            markers_rate: p.f64_or("markers_rate", 10.0).map_err(e)?,
            controller,
        })
    }
}

/// When `cmd_vel` is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// On every control tick; between ticks only a more restrictive decision.
    Steady,
    /// Every decision.
    Event,
}

impl OutputMode {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "steady" => Ok(OutputMode::Steady),
            "event" => Ok(OutputMode::Event),
            other => Err(format!("`output_mode` must be `steady` or `event`, got `{other}`")),
        }
    }
}

/// Steady-rate output: which decisions between two ticks go out at once.
#[derive(Default)]
pub struct OutputGate {
    last: Option<(intent_shared_control_core::Twist, Mode)>,
}

/// Severity of a mode for the output gate: a move to a more severe mode is published at once.
fn severity(m: Mode) -> u8 {
    match m {
        Mode::Idle | Mode::Manual | Mode::Assisted => 0,
        Mode::Slowdown => 1,
        Mode::Stop => 2,
        Mode::Fault => 3,
    }
}

impl OutputGate {
    /// Whether `d` must be published now: always on a tick (or in event mode), otherwise when it is more
    /// restrictive than the last command published — a more severe mode, or a command no component of which
    /// is larger or of the other sign, and one smaller.
    pub fn admit(&mut self, d: &Decision, tick: bool, mode: OutputMode) -> bool {
        let now = tick || mode == OutputMode::Event || self.more_restrictive(d);
        if now {
            self.last = Some((d.output, d.mode));
        }
        now
    }

    fn more_restrictive(&self, d: &Decision) -> bool {
        let Some((out, mode)) = &self.last else { return true };
        if severity(d.mode) > severity(*mode) {
            return true;
        }
        let (new, old) = (d.output.to_array(), out.to_array());
        let within = new.iter().zip(&old).all(|(n, o)| *n == 0.0 || (n.signum() == o.signum() && n.abs() <= o.abs()));
        within && new.iter().zip(&old).any(|(n, o)| n.abs() < o.abs())
    }

    /// Forget the last command (after activation: the first decision goes out at once).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// State of a configured node (dropped on cleanup). What is accepted, re-arming and clock jumps are the
/// core's [`InputHandler`]: the offline replay and the bag generator drive the same one.
struct Configured {
    params: SharedControlParams,
    inputs: InputHandler,
    joy_rate: RateMonitor,
    skeleton_rate: RateMonitor,
    skeleton_age: StampAgeMonitor,
    latency: LatencyWindow,
    last_decision: Option<Decision>,
    decisions: u64,
    /// Times each rule started acting (a rule that holds over many cycles counts once).
    interventions: std::collections::BTreeMap<&'static str, u64>,
    output: OutputGate,
}

impl Configured {
    fn new(params: SharedControlParams) -> anyhow::Result<Self> {
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

    /// Counts a rejection of the handler in the metrics too.
    fn counted(metrics: &Metrics, verdict: Result<(), &'static str>) {
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
    fn reject(&mut self, metrics: &Metrics, reason: &'static str) {
        Self::counted(metrics, Err(self.inputs.reject(reason)));
    }

    fn decide(&mut self, now: Stamp) -> Decision {
        let d = self.inputs.decide(now);
        if d.reasons.contains(&"clock_backwards") {
            warn!("clock jumped back: inputs dropped, zero command until the operator re-arms");
            self.skeleton_age = StampAgeMonitor::new(0.2, 1.0);
        }
        d
    }
}

/// What the predictor hands over in memory in the composed executable: each capture as soon as it is
/// converted (the decision on it does not wait for inference, as with separate processes), then the
/// predictions made from it.
pub enum Handoff {
    Skeletons {
        frame: SkeletonFrame,
        /// When the skeleton message arrived at the predictor (decision latency is measured from here).
        arrival: Instant,
    },
    Predictions {
        stamp: Stamp,
        predictions: Vec<HumanPrediction>,
        arrival: Instant,
    },
}

/// How the node is connected: as its own process (DDS for everything) or inside the composed executable.
pub struct Wiring {
    /// Composed: skeletons + predictions from the predictor in memory instead of `humans/skeletons` and
    /// `humans/intent` subscriptions.
    pub handoff: Option<mpsc::Receiver<Handoff>>,
    /// Metrics registry (shared by the nodes of one process).
    pub metrics: Arc<Metrics>,
    /// Serve /metrics and /health from this node when `metrics_port` >= 0.
    pub serve_metrics: bool,
}

/// Runs the node as its own process until SIGINT/SIGTERM.
pub async fn run(ctx: r2r::Context) -> anyhow::Result<()> {
    let node = r2r::Node::create(ctx, NODE_NAME, "").context("creating the node")?;
    let wiring = Wiring { handoff: None, metrics: Arc::new(Metrics::new()), serve_metrics: true };
    run_node(node, wiring, shutdown_signal()).await
}

/// Runs the node until `shutdown` resolves; publishes one zero command before returning if it was active.
pub async fn run_node(mut node: r2r::Node, wiring: Wiring, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    crate::node_util::use_node_logger(&mut node);
    let clock = NodeClock::new(&node);
    let (mut params, startup) = ParamServer::new(&mut node, param_specs(), clock.clone())?;
    crate::node_util::apply_use_sim_time(&mut node, &params.params())?;
    let mut lifecycle = LifecycleServer::new(&mut node, clock.clone())?;
    let mut joy_sub = node.subscribe::<Joy>("joy", sensor_qos())?;
    let mut assist_sub = node.subscribe::<TwistStamped>("assist/cmd_vel", sensor_qos())?;
    let (mut skeleton_sub, mut prediction_sub): (BoxStream<HumanSkeletonArray>, BoxStream<IntentPredictionArray>) =
        match wiring.handoff {
            Some(_) => (Box::pin(futures::stream::pending()), Box::pin(futures::stream::pending())),
            None => (
                Box::pin(node.subscribe::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?),
                Box::pin(node.subscribe::<IntentPredictionArray>("humans/intent", sensor_qos())?),
            ),
        };
    let mut handoff = wiring.handoff;
    let cmd_pub = node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?;
    let status_pub = node.create_publisher::<SharedControlStatus>("shared_control/status", command_qos())?;
    let markers_pub = node.create_publisher::<MarkerArray>("shared_control/markers", command_qos())?;
    let mut diagnostics = DiagnosticsPublisher::new(&mut node, Duration::from_secs(1))?;
    let start_params = params.params();
    let control_rate = start_params.f64_or("control_rate", 50.0).unwrap_or(50.0).clamp(1.0, 1000.0);
    let mut timer = node.create_wall_timer(Duration::from_secs_f64(1.0 / control_rate))?;
    let stop = Arc::new(AtomicBool::new(false));
    let (spinner, sim_time) = spawn_node_spinner(node, stop.clone());
    let metrics = wiring.metrics;
    if wiring.serve_metrics {
        if let Ok(port) = start_params.i64_or("metrics_port", -1) {
            if port >= 0 {
                metrics::serve(metrics.clone(), port as u16, Duration::from_secs(2))?;
            }
        }
    }

    let mut state: Option<Configured> = None;
    // The status goes out with every decision (a bag of it replays decision by decision); cmd_vel as the
    // output mode says.
    let publish_status = |d: &Decision, frame: &str, arrival: Instant| {
        if let Err(e) = status_pub.publish(&convert::status_msg(d, frame, arrival.elapsed().as_secs_f64())) {
            warn!("publishing status failed: {e}");
        }
    };
    let publish_cmd = |d: &Decision, frame: &str| {
        if let Err(e) = cmd_pub.publish(&convert::cmd_vel_msg(d, frame)) {
            warn!("publishing cmd_vel failed: {e}");
        }
    };
    let publish = |d: &Decision, frame: &str, arrival: Instant| {
        publish_cmd(d, frame);
        publish_status(d, frame, arrival);
    };

    // The lifecycle callbacks, shared by service requests and autostart.
    let configure_errors = crate::node_util::RepeatFilter::default();
    let callbacks =
        |cb: Callback, state: &mut Option<Configured>, params: &ParamServer, now: Stamp| -> CallbackResult {
            match cb {
                Callback::Configure => {
                    if let Err(e) = &startup {
                        configure_errors.error(format!("cannot configure: invalid parameters: {e}"));
                        return CallbackResult::Failure;
                    }
                    let configured = SharedControlParams::from_params(&params.params())
                        .map_err(anyhow::Error::msg)
                        .and_then(Configured::new);
                    match configured {
                        Ok(c) => {
                            info!("configured");
                            configure_errors.clear();

                            *state = Some(c);
                            CallbackResult::Success
                        }
                        Err(e) => {
                            configure_errors.error(format!("cannot configure: {e}"));
                            CallbackResult::Failure
                        }
                    }
                }
                Callback::Activate => match state.as_mut() {
                    Some(s) => {
                        // Motion state starts from rest (nothing moved while inactive), and motion waits until
                        // the operator releases and presses the deadman.
                        s.inputs.restart();
                        s.output.reset();
                        info!("activated: waiting for the operator to release and press the deadman");
                        CallbackResult::Success
                    }
                    None => CallbackResult::Failure,
                },
                Callback::Deactivate => {
                    let frame = state.as_ref().map_or("base_link".to_owned(), |s| s.params.cmd_frame_id.clone());
                    publish(&Decision::zero(now, Mode::Idle, "deactivated"), &frame, Instant::now());
                    CallbackResult::Success
                }
                Callback::Cleanup => {
                    *state = None;
                    CallbackResult::Success
                }
                Callback::Shutdown(from) => {
                    if from == LifecycleState::Active {
                        let frame = state.as_ref().map_or("base_link".to_owned(), |s| s.params.cmd_frame_id.clone());
                        publish(&Decision::zero(now, Mode::Idle, "shutdown"), &frame, Instant::now());
                    }
                    *state = None;
                    CallbackResult::Success
                }
                Callback::Error(_) => {
                    *state = None;
                    CallbackResult::Success
                }
            }
        };

    if start_params.bool_or("autostart", false).unwrap_or(false) {
        for id in [transition_id::CONFIGURE, transition_id::ACTIVATE] {
            let now = clock.now()?;
            let _ = lifecycle.trigger(id, "", |cb| callbacks(cb, &mut state, &params, now));
        }
    }
    metrics.set_lifecycle_state(NODE_NAME, lifecycle.state().id());

    let mut last_markers = Instant::now();
    tokio::pin!(shutdown);
    loop {
        // Cooperative yield between two inputs (see intent_predictor_node): a steady input stream must not starve
        // the other nodes of a composed process.
        tokio::task::yield_now().await;
        let mut tick_now = false;
        let arrival = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            req = lifecycle.next_change() => {
                let req = req?;
                let now = clock.now()?;
                lifecycle.apply(req, |cb| callbacks(cb, &mut state, &params, now));
                metrics.set_lifecycle_state(NODE_NAME, lifecycle.state().id());
                continue;
            }
            r = params.next_change(&|p| SharedControlParams::from_params(p).map(|_| ())) => {
                r?;
                sim_time.forward(&mut params);
                if let Some(s) = state.as_mut() {
                    match SharedControlParams::from_params(&params.params()) {
                        Ok(p) => {
                            if let Err(e) = s.inputs.set_config(p.controller.clone()) {
                                error!("accepted parameters failed to apply: {e}");
                            } else {
                                s.params = p;
                            }
                        }
                        Err(e) => error!("accepted parameters failed to apply: {e}"),
                    }
                }
                continue;
            }
            msg = joy_sub.next() => {
                let Some(msg) = msg else { bail!("joy subscription closed") };
                let Some(s) = state.as_mut().filter(|_| lifecycle.is_active()) else { continue };
                let now = clock.now()?;
                s.joy_rate.tick(now);
                Configured::counted(&metrics, s.inputs.on_joy(now, convert::joy_from_msg(&msg)));
                Instant::now()
            }
            msg = assist_sub.next() => {
                let Some(msg) = msg else { bail!("assist subscription closed") };
                let Some(s) = state.as_mut().filter(|_| lifecycle.is_active()) else { continue };
                let (stamp, twist) = (convert::stamp_from_msg(&msg.header.stamp), convert::twist_from_msg(&msg.twist));
                Configured::counted(&metrics, s.inputs.on_assist(clock.now()?, stamp, twist));
                Instant::now()
            }
            msg = skeleton_sub.next() => {
                let Some(msg) = msg else { bail!("skeleton subscription closed") };
                let Some(s) = state.as_mut().filter(|_| lifecycle.is_active()) else { continue };
                match convert::skeletons_from_msg(&msg, &s.params.skeleton_limits) {
                    Ok(frame) => s.on_skeletons(&metrics, frame, clock.now()?),
                    Err(e) => { s.reject(&metrics, e.reason()); warn!("skeletons rejected: {e}"); }
                }
                Instant::now()
            }
            msg = prediction_sub.next() => {
                let Some(msg) = msg else { bail!("prediction subscription closed") };
                let Some(s) = state.as_mut().filter(|_| lifecycle.is_active()) else { continue };
                match convert::predictions_from_msg(&msg, s.params.skeleton_limits.max_humans) {
                    Ok(preds) => s.on_predictions(&metrics, clock.now()?, convert::stamp_from_msg(&msg.header.stamp), preds),
                    Err(e) => { s.reject(&metrics, e.reason()); warn!("predictions rejected: {e}"); }
                }
                Instant::now()
            }
            h = recv_handoff(&mut handoff) => {
                // The predictor side ends first when the composed process shuts down: stop like on a signal.
                let Some(h) = h else { info!("hand-off from the predictor closed"); break };
                let Some(s) = state.as_mut().filter(|_| lifecycle.is_active()) else { continue };
                match h {
                    Handoff::Skeletons { frame, arrival } => {
                        s.on_skeletons(&metrics, frame, clock.now()?);
                        arrival
                    }
                    Handoff::Predictions { stamp, predictions, arrival } => {
                        s.on_predictions(&metrics, clock.now()?, stamp, predictions);
                        arrival
                    }
                }
            }
            tick = timer.tick() => {
                tick.context("control timer")?;
                metrics.beat();
                let now = clock.now()?;
                if diagnostics.due() {
                    diagnostics.update(now, &statuses(&lifecycle, state.as_mut(), now));
                }
                if !lifecycle.is_active() { continue; }
                tick_now = true;
                Instant::now()
            }
        };
        let Some(s) = state.as_mut() else { continue };
        let now = clock.now()?;
        let decision = s.decide(now);
        if s.output.admit(&decision, tick_now, s.params.output_mode) {
            publish_cmd(&decision, &s.params.cmd_frame_id);
        }
        publish_status(&decision, &s.params.cmd_frame_id, arrival);
        let latency = arrival.elapsed();
        s.latency.record(latency);
        metrics.decision_latency.observe(latency.as_secs_f64());
        // Counted when a rule starts acting, not per cycle: an idle robot or a long stop does not make the
        // counters race (alerts on their rate mean something).
        let previous = s.last_decision.as_ref();
        for r in &decision.reasons {
            if previous.is_none_or(|p| !p.reasons.contains(r)) {
                metrics.intervention(r);
                *s.interventions.entry(r).or_default() += 1;
            }
        }
        if decision.mode == Mode::Stop && previous.is_none_or(|p| p.mode != Mode::Stop) {
            metrics.stops.inc();
        }
        s.decisions += 1;
        if s.params.markers_rate > 0.0 && last_markers.elapsed().as_secs_f64() >= 1.0 / s.params.markers_rate {
            last_markers = Instant::now();
            let m = markers::build(
                now,
                &s.params.cmd_frame_id,
                s.inputs.controller().latest_skeletons(),
                s.inputs.controller().predictions(),
                Some(&decision),
                0.5,
            );
            if let Err(e) = markers_pub.publish(&m) {
                warn!("publishing markers failed: {e}");
            }
        }
        s.last_decision = Some(decision);
    }

    info!("shutting down");
    if lifecycle.is_active() {
        let now = clock.now()?;
        let frame = state.as_ref().map_or("base_link".to_owned(), |s| s.params.cmd_frame_id.clone());
        publish(&Decision::zero(now, Mode::Idle, "shutdown"), &frame, Instant::now());
    }
    // Let the spinner serve DDS briefly so the reliable zero reaches matched subscribers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let _node = spinner.join().map_err(|_| anyhow::anyhow!("spin thread panicked"))?;
    Ok(())
}

type BoxStream<T> = std::pin::Pin<Box<dyn futures::Stream<Item = T> + Send>>;

async fn recv_handoff(rx: &mut Option<mpsc::Receiver<Handoff>>) -> Option<Handoff> {
    match rx {
        Some(rx) => rx.recv().await,
        None => futures::future::pending().await,
    }
}

fn statuses(lifecycle: &LifecycleServer, state: Option<&mut Configured>, now: Stamp) -> Vec<Status> {
    let lc = lifecycle.state();
    let mut out =
        vec![Status::new("lifecycle", if lifecycle.is_active() { Level::Ok } else { Level::Warn }, lc.label())
            .kv("state_id", lc.id())];
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
            .kv("reasons", d.map_or(String::new(), |d| d.reasons.join(","))),
    );
    let rejections = s.inputs.rejections();
    let total: u64 = rejections.values().sum();
    let mut counters = Status::new("safety counters", Level::Ok, format!("{total} inputs rejected"));
    counters = counters.kv("rejections_total", total);
    for (k, v) in rejections {
        counters = counters.kv(&format!("rejected_{k}"), v);
    }
    for (k, v) in &s.interventions {
        counters = counters.kv(&format!("rule_{k}"), v);
    }
    out.push(counters);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use intent_shared_control_core::Twist;

    fn decision(mode: Mode, vx: f64, wz: f64) -> Decision {
        let mut d = Decision::zero(Stamp(0), mode, "test");
        d.output = Twist::planar(vx, 0.0, wz);
        d
    }

    #[test]
    fn steady_output_lets_only_more_restrictive_decisions_through_between_ticks() {
        let mut g = OutputGate::default();
        let steady = OutputMode::Steady;
        assert!(g.admit(&decision(Mode::Manual, 0.5, 0.2), false, steady), "the first decision goes out");
        assert!(!g.admit(&decision(Mode::Manual, 0.5, 0.2), false, steady), "the same command waits for the tick");
        assert!(!g.admit(&decision(Mode::Manual, 0.6, 0.2), false, steady), "faster waits for the tick");
        assert!(!g.admit(&decision(Mode::Manual, 0.4, -0.1), false, steady), "a turn the other way waits");
        assert!(g.admit(&decision(Mode::Manual, 0.3, 0.2), false, steady), "slower goes out at once");
        assert!(g.admit(&decision(Mode::Slowdown, 0.3, 0.2), false, steady), "a slowdown goes out at once");
        assert!(g.admit(&decision(Mode::Stop, 0.0, 0.0), false, steady), "a stop goes out at once");
        assert!(!g.admit(&decision(Mode::Stop, 0.0, 0.0), false, steady), "a repeated stop waits for the tick");
        assert!(g.admit(&decision(Mode::Manual, 0.5, 0.0), true, steady), "every tick publishes");
        assert!(g.admit(&decision(Mode::Manual, 0.0, 0.0), false, steady), "zero after motion goes out at once");
        g.reset();
        assert!(g.admit(&decision(Mode::Manual, 0.5, 0.0), false, steady), "after a reset the first goes out");
    }

    #[test]
    fn event_output_publishes_every_decision() {
        let mut g = OutputGate::default();
        for _ in 0..3 {
            assert!(g.admit(&decision(Mode::Manual, 0.5, 0.2), false, OutputMode::Event));
        }
    }
}
