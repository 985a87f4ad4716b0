//! The `shared_control` managed node: joystick + skeletons (+ predictions) in, `cmd_vel` + status out.
//!
//! Wiring only: inputs are converted by [`crate::convert`], the decision is the core's
//! [`Controller::step`], and the result is published. A decision is made on every accepted input and on a
//! periodic wall timer, so a silent joystick still produces an explicit zero once it is stale.
//!
//! Lifecycle: inputs are ignored and nothing is published until the node is Active. `on_configure` reads and
//! validates the parameters (an invalid set leaves the node unconfigured with an error naming what to fix),
//! `on_activate` starts output, `on_deactivate` publishes one zero command and stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt;
use intent_shared_control_core::health::{Level, RateMonitor, StampAgeMonitor};
use intent_shared_control_core::lifecycle::{Callback, CallbackResult};
use intent_shared_control_core::{Controller, ControllerConfig, Decision, Mode, Stamp, Twist};
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::intent_shared_control_msgs::msg::{HumanSkeletonArray, SharedControlStatus};
use r2r::sensor_msgs::msg::Joy;
use r2r::ParameterValue;
use tracing::{error, info, warn};

use crate::convert::{self, SkeletonLimits};
use crate::diagnostics::{DiagnosticsPublisher, LatencyWindow, Status};
use crate::lifecycle::LifecycleServer;
use crate::metrics::{self, Metrics};
use crate::node_util::{command_qos, sensor_qos, shutdown_signal, spawn_spinner, NodeClock};
use crate::param_server::{use_sim_time_spec, ParamServer, ParamSpec, Range};
use crate::params::Params;

/// Node name used when none is remapped.
pub const NODE_NAME: &str = "shared_control";

/// Declared parameters, with descriptions, units and ranges.
pub fn param_specs() -> Vec<ParamSpec> {
    use ParameterValue::{Bool, Double, Integer, String as Str};
    let t = intent_shared_control_core::TeleopConfig::default();
    let mut specs = vec![
        use_sim_time_spec(),
        ParamSpec::new("autostart", "configure and activate at start-up without a supervisor", Bool(false)).read_only(),
        ParamSpec::new("control_rate", "periodic decision rate when no input arrives, also the watchdog rate [Hz]", Double(50.0)).range(Range::Float(1.0, 1000.0)),
        ParamSpec::new("cmd_frame_id", "frame_id stamped on cmd_vel and status", Str("base_link".into())),
        ParamSpec::new("skeleton_frame_id", "frame the skeleton keypoints must be in (empty: any)", Str("base_link".into())),
        ParamSpec::new("max_humans", "larger skeleton arrays are rejected and counted [-]", Integer(32)).range(Range::Int(1, 1024)),
        ParamSpec::new("expected_joy_rate", "joystick rate the diagnostics expect [Hz]", Double(50.0)).range(Range::Float(0.1, 10000.0)),
        ParamSpec::new("expected_skeleton_rate", "skeleton rate the diagnostics expect [Hz]", Double(30.0)).range(Range::Float(0.1, 10000.0)),
        ParamSpec::new("rate_tolerance", "allowed relative deviation from the expected rates [-]", Double(0.3)).range(Range::Float(0.0, 1.0)),
        ParamSpec::new("metrics_port", "port of /metrics and /health on 127.0.0.1 (0 = any free port, -1 = off)", Integer(-1)).range(Range::Int(-1, 65535)).read_only(),
        ParamSpec::new("teleop.deadman_button", "Joy.buttons index that must be held to move [index]", Integer(t.deadman_button as i64)).range(Range::Int(0, 63)),
        ParamSpec::new("teleop.turbo_button", "Joy.buttons index selecting the *_turbo scales, -1 = none [index]", Integer(t.turbo_button.map_or(-1, |b| b as i64))).range(Range::Int(-1, 63)),
        ParamSpec::new("teleop.deadzone", "axis values below this magnitude count as 0 [-]", Double(t.deadzone)).range(Range::Float(0.0, 0.99)),
        ParamSpec::new("teleop.timeout", "a Joy older than this (header stamp) yields zero [s]", Double(t.timeout)).range(Range::Float(0.01, 10.0)),
        ParamSpec::new("teleop.max_future", "a Joy stamped further than this in the future is rejected [s]", Double(t.max_future)).range(Range::Float(0.0, 10.0)),
    ];
    let axes = [
        ("linear_x", &t.linear_x, "m/s"),
        ("linear_y", &t.linear_y, "m/s"),
        ("linear_z", &t.linear_z, "m/s"),
        ("angular_x", &t.angular_x, "rad/s"),
        ("angular_y", &t.angular_y, "rad/s"),
        ("angular_z", &t.angular_z, "rad/s"),
    ];
    for (name, b, unit) in axes {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        specs.push(ParamSpec::new(leak(format!("teleop.{name}.axis")), "Joy.axes index driving this component, -1 = unused [index]", Integer(b.as_ref().map_or(-1, |b| b.axis as i64))).range(Range::Int(-1, 63)));
        specs.push(ParamSpec::new(leak(format!("teleop.{name}.scale")), leak(format!("output at full deflection [{unit}]")), Double(b.as_ref().map_or(0.0, |b| b.scale))).range(Range::Float(-100.0, 100.0)));
        specs.push(ParamSpec::new(leak(format!("teleop.{name}.scale_turbo")), leak(format!("output at full deflection with turbo held [{unit}]")), Double(b.as_ref().map_or(0.0, |b| b.scale_turbo))).range(Range::Float(-100.0, 100.0)));
    }
    specs
}

/// Everything the node reads from its parameters, validated.
#[derive(Clone, Debug)]
pub struct SharedControlParams {
    pub control_rate: f64,
    pub cmd_frame_id: String,
    pub skeleton_limits: SkeletonLimits,
    pub expected_joy_rate: f64,
    pub expected_skeleton_rate: f64,
    pub rate_tolerance: f64,
    pub controller: ControllerConfig,
}

impl SharedControlParams {
    /// The one validation used for the params file and for runtime changes; the error names the parameter and
    /// what is allowed.
    pub fn from_params(p: &Params) -> anyhow::Result<Self> {
        let control_rate = p.f64_or("control_rate", 50.0)?;
        if !(control_rate.is_finite() && (1.0..=1000.0).contains(&control_rate)) {
            bail!("parameter `control_rate` must be in [1, 1000] Hz, got {control_rate}");
        }
        let max_humans = p.index_or("max_humans", 32)?;
        if !(1..=1024).contains(&max_humans) {
            bail!("parameter `max_humans` must be in [1, 1024], got {max_humans}");
        }
        Ok(SharedControlParams {
            control_rate,
            cmd_frame_id: p.string_or("cmd_frame_id", "base_link")?,
            skeleton_limits: SkeletonLimits { max_humans, expected_frame: p.string_or("skeleton_frame_id", "base_link")? },
            expected_joy_rate: p.f64_or("expected_joy_rate", 50.0)?,
            expected_skeleton_rate: p.f64_or("expected_skeleton_rate", 30.0)?,
            rate_tolerance: p.f64_or("rate_tolerance", 0.3)?,
            controller: ControllerConfig { teleop: p.teleop()? },
        })
    }
}

/// State of a configured node (dropped on cleanup).
struct Configured {
    params: SharedControlParams,
    controller: Controller,
    joy_rate: RateMonitor,
    skeleton_rate: RateMonitor,
    skeleton_age: StampAgeMonitor,
    latency: LatencyWindow,
    last_decision: Option<Decision>,
    decisions: u64,
    /// Rejected inputs by reason (also exported as metrics).
    rejections: std::collections::BTreeMap<&'static str, u64>,
    /// Control cycles changed by each rule.
    interventions: std::collections::BTreeMap<&'static str, u64>,
}

impl Configured {
    fn reject(&mut self, metrics: &Metrics, reason: &'static str) {
        *self.rejections.entry(reason).or_default() += 1;
        metrics.reject(reason);
    }
}

impl Configured {
    fn new(params: SharedControlParams) -> Self {
        Configured {
            controller: Controller::new(params.controller.clone()),
            joy_rate: RateMonitor::new(params.expected_joy_rate, params.rate_tolerance, 1.0),
            skeleton_rate: RateMonitor::new(params.expected_skeleton_rate, params.rate_tolerance, 1.0),
            skeleton_age: StampAgeMonitor::new(0.2, 1.0),
            latency: LatencyWindow::new(),
            last_decision: None,
            decisions: 0,
            rejections: Default::default(),
            interventions: Default::default(),
            params,
        }
    }
}

/// Runs the node until SIGINT/SIGTERM; publishes one zero command before returning if it was active.
pub async fn run(ctx: r2r::Context) -> anyhow::Result<()> {
    let mut node = r2r::Node::create(ctx, NODE_NAME, "").context("creating the node")?;
    let clock = NodeClock::new(&node);
    let (mut params, startup) = ParamServer::new(&mut node, param_specs(), clock.clone())?;
    crate::node_util::apply_use_sim_time(&mut node, &params.params())?;
    let mut lifecycle = LifecycleServer::new(&mut node, clock.clone())?;
    let mut joy_sub = node.subscribe::<Joy>("joy", sensor_qos())?;
    let mut skeleton_sub = node.subscribe::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?;
    let cmd_pub = node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?;
    let status_pub = node.create_publisher::<SharedControlStatus>("shared_control/status", command_qos())?;
    let mut diagnostics = DiagnosticsPublisher::new(&mut node, NODE_NAME, Duration::from_secs(1))?;
    let start_params = params.params();
    let control_rate = start_params.f64_or("control_rate", 50.0).unwrap_or(50.0).clamp(1.0, 1000.0);
    let mut timer = node.create_wall_timer(Duration::from_secs_f64(1.0 / control_rate))?;
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = spawn_spinner(node, stop.clone());
    let metrics = Arc::new(Metrics::new());
    if let Ok(port) = start_params.i64_or("metrics_port", -1) {
        if port >= 0 {
            metrics::serve(metrics.clone(), port as u16, Duration::from_secs(2))?;
        }
    }

    let mut state: Option<Configured> = None;
    let publish = |d: &Decision, frame: &str, arrival: Instant| {
        if let Err(e) = cmd_pub.publish(&convert::cmd_vel_msg(d, frame)) {
            warn!("publishing cmd_vel failed: {e}");
        }
        if let Err(e) = status_pub.publish(&convert::status_msg(d, frame, arrival.elapsed().as_secs_f64())) {
            warn!("publishing status failed: {e}");
        }
    };
    let zero_decision = |now: Stamp, reason: &'static str| Decision {
        stamp: now,
        mode: Mode::Idle,
        alpha: 0.0,
        speed_scale: 0.0,
        nearest_human: None,
        required_separation: 0.0,
        humans_seen: 0,
        predictions_used: 0,
        reasons: vec![reason],
        user: Twist::ZERO,
        assist: Twist::ZERO,
        blended: Twist::ZERO,
        output: Twist::ZERO,
    };

    // The lifecycle callbacks, shared by service requests and autostart.
    let callbacks = |cb: Callback, state: &mut Option<Configured>, params: &ParamServer, now: Stamp| -> CallbackResult {
        match cb {
            Callback::Configure => {
                if let Err(e) = &startup {
                    error!("cannot configure: invalid parameters: {e}");
                    return CallbackResult::Failure;
                }
                match SharedControlParams::from_params(&params.params()) {
                    Ok(p) => {
                        info!(?p, "configured");
                        *state = Some(Configured::new(p));
                        CallbackResult::Success
                    }
                    Err(e) => {
                        error!("cannot configure: {e:#}");
                        CallbackResult::Failure
                    }
                }
            }
            Callback::Activate => CallbackResult::Success,
            Callback::Deactivate => {
                let frame = state.as_ref().map_or("base_link".to_owned(), |s| s.params.cmd_frame_id.clone());
                publish(&zero_decision(now, "deactivated"), &frame, Instant::now());
                CallbackResult::Success
            }
            Callback::Cleanup => {
                *state = None;
                CallbackResult::Success
            }
            Callback::Shutdown(from) => {
                if from == intent_shared_control_core::lifecycle::State::Active {
                    let frame = state.as_ref().map_or("base_link".to_owned(), |s| s.params.cmd_frame_id.clone());
                    publish(&zero_decision(now, "shutdown"), &frame, Instant::now());
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
        for id in [1u8, 3u8] {
            let now = clock.now()?;
            let _ = lifecycle.trigger(id, "", |cb| callbacks(cb, &mut state, &params, now));
        }
    }
    metrics.set_lifecycle_state(NODE_NAME, lifecycle.state().id());

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let arrival = tokio::select! {
            _ = &mut shutdown => break,
            req = lifecycle.next_change() => {
                let req = req?;
                let now = clock.now()?;
                lifecycle.apply(req, |cb| callbacks(cb, &mut state, &params, now));
                metrics.set_lifecycle_state(NODE_NAME, lifecycle.state().id());
                metrics.set_ready(lifecycle.is_active());
                continue;
            }
            r = params.next_change(&|p| SharedControlParams::from_params(p).map(|_| ()).map_err(|e| format!("{e:#}"))) => {
                r?;
                if let Some(s) = state.as_mut() {
                    match SharedControlParams::from_params(&params.params()) {
                        Ok(p) => {
                            s.controller = Controller::new(p.controller.clone());
                            s.params = p;
                        }
                        Err(e) => error!("accepted parameters failed to apply: {e:#}"),
                    }
                }
                continue;
            }
            msg = joy_sub.next() => {
                let Some(msg) = msg else { bail!("joy subscription closed") };
                let Some(s) = state.as_mut().filter(|_| lifecycle.is_active()) else { continue };
                s.joy_rate.tick(clock.now()?);
                match convert::joy_from_msg(&msg) {
                    Ok(joy) => if !s.controller.on_joy(joy) { s.reject(&metrics, "joy_out_of_order") },
                    Err(e) => { s.reject(&metrics, e.reason()); warn!("joy rejected: {e}"); }
                }
                Instant::now()
            }
            msg = skeleton_sub.next() => {
                let Some(msg) = msg else { bail!("skeleton subscription closed") };
                let Some(s) = state.as_mut().filter(|_| lifecycle.is_active()) else { continue };
                s.skeleton_rate.tick(clock.now()?);
                match convert::skeletons_from_msg(&msg, &s.params.skeleton_limits) {
                    Ok(frame) => {
                        s.skeleton_age.observe(frame.stamp);
                        if !s.controller.on_skeletons(frame) { s.reject(&metrics, "skeletons_out_of_order") }
                    }
                    Err(e) => { s.reject(&metrics, e.reason()); warn!("skeletons rejected: {e}"); }
                }
                Instant::now()
            }
            tick = timer.tick() => {
                tick.context("control timer")?;
                metrics.beat();
                let now = clock.now()?;
                if diagnostics.due() {
                    diagnostics.update(now, &statuses(&lifecycle, state.as_mut(), now));
                }
                if !lifecycle.is_active() { continue; }
                Instant::now()
            }
        };
        let Some(s) = state.as_mut() else { continue };
        let now = clock.now()?;
        let decision = s.controller.step(now);
        publish(&decision, &s.params.cmd_frame_id, arrival);
        let latency = arrival.elapsed();
        s.latency.record(latency);
        metrics.decision_latency.observe(latency.as_secs_f64());
        for r in &decision.reasons {
            metrics.intervention(r);
            *s.interventions.entry(r).or_default() += 1;
        }
        if decision.mode == Mode::Stop {
            metrics.stops.inc();
        }
        s.decisions += 1;
        s.last_decision = Some(decision);
    }

    info!("shutting down");
    if lifecycle.is_active() {
        let now = clock.now()?;
        let frame = state.as_ref().map_or("base_link".to_owned(), |s| s.params.cmd_frame_id.clone());
        publish(&zero_decision(now, "shutdown"), &frame, Instant::now());
    }
    // Let the spinner serve DDS briefly so the reliable zero reaches matched subscribers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let _node = spinner.join().map_err(|_| anyhow::anyhow!("spin thread panicked"))?;
    Ok(())
}

fn statuses(lifecycle: &LifecycleServer, state: Option<&mut Configured>, now: Stamp) -> Vec<Status> {
    let lc = lifecycle.state();
    let mut out = vec![Status::new(NODE_NAME, "lifecycle", if lifecycle.is_active() { Level::Ok } else { Level::Warn }, lc.label()).kv("state_id", lc.id())];
    let Some(s) = state else { return out };
    if !lifecycle.is_active() {
        return out;
    }
    let joy = s.joy_rate.check(now);
    let skel = s.skeleton_rate.check(now);
    let age = s.skeleton_age.check(now);
    let level = joy.level.max(skel.level).max(age.level);
    out.push(
        Status::new(NODE_NAME, "inputs", level, format!("joy {}; skeletons {}; {}", joy.message, skel.message, age.message))
            .kv("joy_rate_hz", format!("{:.1}", s.joy_rate.rate(now)))
            .kv("skeleton_rate_hz", format!("{:.1}", s.skeleton_rate.rate(now)))
            .kv("skeleton_stamp_age_s", s.skeleton_age.age(now).map_or("none".into(), |a| format!("{a:.3}"))),
    );
    let (n, p50, p99) = s.latency.take();
    let d = s.last_decision.as_ref();
    let mode = d.map_or("none".to_owned(), |d| format!("{:?}", d.mode));
    let dlevel = match d.map(|d| d.mode) {
        Some(Mode::Fault) => Level::Error,
        Some(Mode::Stop) | Some(Mode::Slowdown) => Level::Warn,
        _ => Level::Ok,
    };
    out.push(
        Status::new(NODE_NAME, "decision", dlevel, format!("mode {mode}"))
            .kv("decisions_in_window", n)
            .kv("decisions_total", s.decisions)
            .kv("decision_latency_p50_us", p50)
            .kv("decision_latency_p99_us", p99)
            .kv("alpha", d.map_or(0.0, |d| d.alpha))
            .kv("reasons", d.map_or(String::new(), |d| d.reasons.join(","))),
    );
    let total: u64 = s.rejections.values().sum();
    let mut counters = Status::new(NODE_NAME, "safety counters", Level::Ok, format!("{total} inputs rejected"));
    counters = counters.kv("rejections_total", total);
    for (k, v) in &s.rejections {
        counters = counters.kv(&format!("rejected_{k}"), v);
    }
    for (k, v) in &s.interventions {
        counters = counters.kv(&format!("rule_{k}"), v);
    }
    out.push(counters);
    out
}
