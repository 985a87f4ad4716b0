//! The `supervisor` node (itself managed): brings the managed nodes up in order, watches their liveness and
//! holds the robot stopped while the critical node cannot command it.
//!
//! Liveness: every `liveness_period` the supervisor asks each node for its state (`~/get_state`); a node that
//! has not answered for `liveness_timeout` is lost (killed, hung or stopped; or, before its first answer, not
//! started). A reachable node is driven toward Active with `~/change_state`: one transition at a time per node
//! and, across nodes, in the order of `managed_nodes`. A transition that fails is asked again at most once per
//! [`retry_delay`] (1 s, doubling after each failure up to 30 s) and the node is reported as ERROR meanwhile. While a critical node is lost, the other nodes
//! are held Inactive; they are activated again when it is back.
//!
//! One writer on `cmd_vel`: the supervisor publishes zero commands (every `1 / stop_rate`, from a task of its
//! own) only while a critical node cannot publish itself: lost, or reachable but not Active (unconfigured
//! after a respawn, a failed transition, finalized). It stops before it sends the activation, so the node's
//! own commands never interleave with its zeros; while every critical node is Active it publishes nothing on
//! `cmd_vel`. A non-critical node (the intent predictor) that is lost or cannot be brought up is reported
//! (ERROR on `/diagnostics`) and brought back when it can be, but forces no stop: shared_control runs on
//! without forecasts, with the conservative human speeds of its safety chain.
//!
//! A transition requested from outside (e.g. `ros2 lifecycle set /shared_control deactivate`) is the operator's
//! intent, as with the nav2 lifecycle manager: the supervisor reports it, logs it once and holds the node in the
//! state the operator chose (a critical node held below Active keeps the robot stopped through the zero
//! commands) until the operator activates it again, or the supervisor itself is deactivated and activated again.
//! A crash or a hang (the node lost, or back unconfigured without a transition) is recovered as before.
//!
//! Every action (a transition, a node lost, up or back, held by the operator, starting or ending the zero
//! commands) is logged once, not per retry.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::future::join_all;
use futures::stream::{FuturesUnordered, StreamExt as _};
use intent_shared_control_core::health::Level;
use intent_shared_control_core::lifecycle::{transition_id, CallbackResult, State};
use intent_shared_control_core::Twist;
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::lifecycle_msgs::msg::Transition as TransitionMsg;
use r2r::lifecycle_msgs::srv::{ChangeState, GetState};
use r2r::std_msgs::msg::Header;
use r2r::{ParameterValue, QosProfile};
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::convert::{stamp_to_msg, twist_to_msg};
use crate::diagnostics::{DiagnosticsPublisher, Status};
use crate::lifecycle::LifecycleServer;
use crate::metrics::{self, Metrics};
use crate::node_util::{command_qos, shutdown_signal, spawn_node_spinner, NodeClock};
use crate::param_server::{use_sim_time_spec, ParamServer, ParamSpec, Range};
use crate::params::Params;

pub const NODE_NAME: &str = "supervisor";

/// Declared parameters of the supervisor.
pub fn param_specs() -> Vec<ParamSpec> {
    vec![
        use_sim_time_spec(),
        ParamSpec::new(
            "managed_nodes",
            "nodes to bring up, in order (names relative to the supervisor's namespace)",
            ParameterValue::StringArray(vec!["intent_predictor".into(), "shared_control".into()]),
        )
        .read_only(),
        ParamSpec::new(
            "critical_nodes",
            "nodes whose loss deactivates all others (the rest run degraded without them)",
            ParameterValue::StringArray(vec!["shared_control".into()]),
        )
        .read_only(),
        ParamSpec::new(
            "autostart",
            "configure and activate itself and the managed nodes at start-up",
            ParameterValue::Bool(true),
        )
        .read_only(),
        ParamSpec::new("liveness_period", "period of the get_state liveness probe [s]", ParameterValue::Double(0.1))
            .range(Range::Float(0.01, 5.0)),
        ParamSpec::new("liveness_timeout", "a node silent for longer is lost [s]", ParameterValue::Double(0.5))
            .range(Range::Float(0.05, 30.0))
            .must_be(crate::param_server::Cmp::AtLeast, "liveness_period"),
        ParamSpec::new("transition_timeout", "longest wait for a change_state answer [s]", ParameterValue::Double(5.0))
            .range(Range::Float(0.1, 60.0)),
        ParamSpec::new(
            "stop_rate",
            "rate of the zero commands published while the system is faulted [Hz]",
            ParameterValue::Double(20.0),
        )
        .range(Range::Float(1.0, 1000.0)),
        ParamSpec::new("cmd_frame_id", "frame_id of the zero commands", ParameterValue::String("base_link".into())),
        ParamSpec::new("diagnostics_period", "period of /diagnostics [s]", ParameterValue::Double(1.0))
            .range(Range::Float(0.1, 60.0)),
        ParamSpec::new(
            "metrics_port",
            "port of /metrics and /health on 127.0.0.1 (0 = any free port, -1 = off)",
            ParameterValue::Integer(-1),
        )
        .range(Range::Int(-1, 65535))
        .read_only(),
    ]
}

/// Validated supervisor configuration.
#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    pub managed_nodes: Vec<String>,
    pub critical_nodes: Vec<String>,
    pub autostart: bool,
    pub liveness_period: f64,
    pub liveness_timeout: f64,
    pub transition_timeout: f64,
    pub stop_rate: f64,
    pub cmd_frame_id: String,
    pub diagnostics_period: f64,
    pub metrics_port: i64,
}

impl SupervisorConfig {
    pub fn from_params(p: &Params) -> Result<Self, String> {
        let e = |e: crate::params::ParamError| e.to_string();
        let cfg = SupervisorConfig {
            managed_nodes: p.string_array_or("managed_nodes", &[]).map_err(e)?,
            critical_nodes: p.string_array_or("critical_nodes", &[]).map_err(e)?,
            autostart: p.bool_or("autostart", true).map_err(e)?,
            liveness_period: p.f64_or("liveness_period", 0.1).map_err(e)?,
            liveness_timeout: p.f64_or("liveness_timeout", 0.5).map_err(e)?,
            transition_timeout: p.f64_or("transition_timeout", 5.0).map_err(e)?,
            stop_rate: p.f64_or("stop_rate", 20.0).map_err(e)?,
            cmd_frame_id: p.string_or("cmd_frame_id", "base_link").map_err(e)?,
            diagnostics_period: p.f64_or("diagnostics_period", 1.0).map_err(e)?,
            metrics_port: p.i64_or("metrics_port", -1).map_err(e)?,
        };
        if cfg.managed_nodes.is_empty() {
            return Err("`managed_nodes` must name at least one node".into());
        }
        if let Some(c) = cfg.critical_nodes.iter().find(|c| !cfg.managed_nodes.contains(c)) {
            return Err(format!("`critical_nodes` entry `{c}` is not in `managed_nodes`"));
        }
        if cfg.liveness_timeout < cfg.liveness_period {
            return Err(format!(
                "`liveness_timeout` ({}) must be >= `liveness_period` ({})",
                cfg.liveness_timeout, cfg.liveness_period
            ));
        }
        Ok(cfg)
    }
}

/// Shortest time between two attempts of a transition that failed: a node that refuses a transition (e.g.
/// `configure` without its model) is asked again after 1 s, then 2, 4, … at most every [`MAX_RETRY_PERIOD`].
pub const RETRY_PERIOD: Duration = Duration::from_secs(1);

/// Longest wait between two attempts of a failing transition.
pub const MAX_RETRY_PERIOD: Duration = Duration::from_secs(30);

/// Wait before the next attempt after `failures` failed attempts in a row (≥ 1).
pub fn retry_delay(failures: u32) -> Duration {
    RETRY_PERIOD.saturating_mul(1u32 << failures.saturating_sub(1).min(5)).min(MAX_RETRY_PERIOD)
}

/// What the supervisor knows about one managed node.
struct Managed {
    name: String,
    get_state: r2r::Client<GetState::Service>,
    change_state: r2r::Client<ChangeState::Service>,
    /// Last state reported (or reached by a transition the supervisor asked for), if it ever answered.
    state: Option<State>,
    last_answer: Option<Instant>,
    /// No answer for `liveness_timeout`: killed, hung, stopped, or (never answered) not started.
    lost: bool,
    /// Held Inactive by the supervisor because a critical node is lost.
    held: bool,
    /// Taken to this state by a transition requested from outside: the supervisor keeps it there.
    operator_hold: Option<State>,
    /// The last transition the supervisor asked for failed (e.g. configure without its model): the node is
    /// reachable but cannot be brought up; reported as ERROR until a transition succeeds.
    failed: Option<&'static str>,
    /// Failed attempts in a row.
    failures: u32,
    /// A transition requested and not answered yet. The node is not probed meanwhile: a node busy with a
    /// transition (e.g. loading its model) answers nothing else until it is done.
    in_flight: Option<u8>,
    /// After a failed transition: not asked again before this.
    retry_at: Option<Instant>,
}

/// A transition on its way: (index of the node, transition id, success).
type Pending = Pin<Box<dyn Future<Output = (usize, u8, bool)>>>;

async fn get_state(client: &r2r::Client<GetState::Service>, timeout: Duration) -> Option<State> {
    let fut = client.request(&GetState::Request {}).ok()?;
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(resp)) => State::from_id(resp.current_state.id),
        _ => None,
    }
}

/// Liveness probe of one node; a node with a transition under way is not asked.
async fn probe(m: &Managed, timeout: Duration) -> Option<State> {
    if m.in_flight.is_some() {
        return None;
    }
    get_state(&m.get_state, timeout).await
}

/// Sends the transition now and returns the future of its outcome (false on a refusal, no answer within
/// `timeout` or a request that could not be sent).
fn request_transition(m: &Managed, index: usize, id: u8, timeout: Duration) -> Pending {
    let req = ChangeState::Request { transition: TransitionMsg { id, label: String::new() } };
    let sent = m.change_state.request(&req);
    Box::pin(async move {
        let ok = match sent {
            Ok(fut) => matches!(tokio::time::timeout(timeout, fut).await, Ok(Ok(resp)) if resp.success),
            Err(_) => false,
        };
        (index, id, ok)
    })
}

/// Label of a primary transition id (for logs and diagnostics).
fn transition_label(id: u8) -> &'static str {
    match id {
        transition_id::CONFIGURE => "configure",
        transition_id::ACTIVATE => "activate",
        transition_id::DEACTIVATE => "deactivate",
        transition_id::CLEANUP => "cleanup",
        _ => "transition",
    }
}

/// State a node is in after a primary transition succeeded.
fn state_after(id: u8) -> Option<State> {
    match id {
        transition_id::CONFIGURE | transition_id::DEACTIVATE => Some(State::Inactive),
        transition_id::ACTIVATE => Some(State::Active),
        transition_id::CLEANUP => Some(State::Unconfigured),
        _ => None,
    }
}

/// Next transition that moves `state` toward `target` (Active, or Inactive when held).
fn step_toward(state: State, target: State) -> Option<u8> {
    match (state, target) {
        (State::Unconfigured, State::Active | State::Inactive) => Some(transition_id::CONFIGURE),
        (State::Inactive, State::Active) => Some(transition_id::ACTIVATE),
        (State::Active, State::Inactive) => Some(transition_id::DEACTIVATE),
        _ => None,
    }
}

/// Why a critical node cannot publish on `cmd_vel` itself, or `None` while it can: Active, being activated
/// by the supervisor (it writes from its first cycle on), or not seen yet and not yet lost.
fn critical_gap(lost: bool, state: Option<State>, activating: bool) -> Option<&'static str> {
    if lost {
        return Some("lost");
    }
    if activating {
        return None;
    }
    match state {
        None | Some(State::Active) => None,
        Some(s) => Some(s.label()),
    }
}

/// Why the supervisor has to publish the stop itself (every critical node that cannot), or `None`.
fn stop_reason(managed: &[Managed], critical: &[String]) -> Option<String> {
    let gaps: Vec<String> = managed
        .iter()
        .filter(|m| critical.contains(&m.name))
        .filter_map(|m| {
            critical_gap(m.lost, m.state, m.in_flight == Some(transition_id::ACTIVATE))
                .map(|g| format!("{} {g}", m.name))
        })
        .collect();
    (!gaps.is_empty()).then(|| gaps.join(", "))
}

/// What the stop publisher is told: publish zero every `period`, or nothing (`None` in the channel).
#[derive(Clone, Debug, PartialEq)]
struct StopOrder {
    period: Duration,
    frame_id: String,
}

/// The supervisor's side of the stop publisher: starts and ends the zero commands, logging each once.
struct StopControl {
    tx: watch::Sender<Option<StopOrder>>,
    reason: Option<String>,
    metrics: Arc<Metrics>,
}

impl StopControl {
    /// Publish zero on `cmd_vel` at `stop_rate` from now on (or keep doing so, at the current rate).
    fn force(&mut self, reason: String, cfg: &SupervisorConfig) {
        let order =
            StopOrder { period: Duration::from_secs_f64(1.0 / cfg.stop_rate), frame_id: cfg.cmd_frame_id.clone() };
        if self.reason.is_none() {
            self.metrics.stops.inc();
            warn!(
                "publishing zero on cmd_vel at {:.1} Hz until the critical nodes are active again: {reason}",
                cfg.stop_rate
            );
        }
        self.tx.send_if_modified(|cur| {
            let changed = cur.as_ref() != Some(&order);
            *cur = Some(order);
            changed
        });
        self.reason = Some(reason);
    }

    /// Stop publishing on `cmd_vel` (the critical nodes publish themselves, or the supervisor is not active).
    fn release(&mut self, why: &str) {
        if self.reason.take().is_some() {
            info!("stopped publishing zero on cmd_vel: {why}");
        }
        self.tx.send_if_modified(|cur| cur.take().is_some());
    }

    /// Forces or releases as the critical nodes' states demand.
    fn follow(&mut self, managed: &[Managed], cfg: &SupervisorConfig) {
        match stop_reason(managed, &cfg.critical_nodes) {
            Some(reason) => self.force(reason, cfg),
            None => self.release("the critical nodes publish on cmd_vel themselves"),
        }
    }
}

/// Publishes zero on `cmd_vel` every `period` of the current order; nothing while there is none. Runs as a
/// task of its own, so the rate holds while the watch loop waits for answers.
async fn publish_stops(
    cmd_pub: r2r::Publisher<TwistStamped>,
    clock: NodeClock,
    mut orders: watch::Receiver<Option<StopOrder>>,
) {
    loop {
        let current = orders.borrow_and_update().clone();
        let Some(order) = current else {
            if orders.changed().await.is_err() {
                return;
            }
            continue;
        };
        let mut tick = tokio::time::interval(order.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                changed = orders.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                _ = tick.tick() => {
                    if orders.borrow().is_none() {
                        break;
                    }
                    let stamp = clock.now().unwrap_or_default();
                    let msg = TwistStamped {
                        header: Header { stamp: stamp_to_msg(stamp), frame_id: order.frame_id.clone() },
                        twist: twist_to_msg(&Twist::ZERO),
                    };
                    if let Err(e) = cmd_pub.publish(&msg) {
                        warn!("publishing zero cmd_vel failed: {e}");
                    }
                }
            }
        }
    }
}

/// What a change of state the supervisor did not ask for means.
#[derive(Debug, PartialEq, Eq)]
enum OutsideChange {
    /// A primary transition requested by someone else (`ros2 lifecycle set`, another tool): hold the node there.
    Operator,
    /// Activated from outside: the operator hands the node back.
    HandedBack,
    /// Back unconfigured without a transition that leads there (a respawned process): recover it.
    Restarted,
    /// Configured from outside: a step the supervisor takes anyway (or a late answer to its own request).
    Neutral,
}

/// Classifies a change from `before` to `after` seen by the liveness probe while no transition of the
/// supervisor's was under way.
fn outside_change(before: State, after: State) -> OutsideChange {
    match (before, after) {
        (_, State::Active) => OutsideChange::HandedBack,
        (State::Unconfigured, State::Inactive) => OutsideChange::Neutral,
        (State::Active, State::Inactive) | (State::Inactive, State::Unconfigured) | (_, State::Finalized) => {
            OutsideChange::Operator
        }
        _ => OutsideChange::Restarted,
    }
}

/// Records a state answered by `m`, logging a node that appears, comes back or changes state on its own, and
/// holding a node that was taken to another state from outside.
fn observe(m: &mut Managed, state: State, now: Instant) {
    if m.state.is_none() {
        info!(node = %m.name, state = state.label(), "node is up");
    } else if m.lost {
        info!(node = %m.name, state = state.label(), "node answers again");
    } else if let Some(before) = m.state.filter(|b| *b != state) {
        match outside_change(before, state) {
            OutsideChange::Operator if state == State::Finalized => {
                warn!(node = %m.name, "node finalized from outside ({} -> finalized); it cannot be brought back without restarting it", before.label());
                m.operator_hold = Some(state);
            }
            OutsideChange::Operator => {
                warn!(node = %m.name, "node taken {} -> {} from outside: held there as requested (activate it the same way to hand it back)", before.label(), state.label());
                m.operator_hold = Some(state);
            }
            OutsideChange::HandedBack if m.operator_hold.is_some() => {
                info!(node = %m.name, "node activated from outside: managed again");
                m.operator_hold = None;
            }
            OutsideChange::HandedBack => {
                info!(node = %m.name, "node changed state: {} -> active", before.label());
            }
            OutsideChange::Neutral => {
                info!(node = %m.name, "node changed state: {} -> {}", before.label(), state.label());
            }
            OutsideChange::Restarted => {
                warn!(node = %m.name, "node back {} without a transition (restarted?): bringing it up again", state.label());
                m.operator_hold = None;
            }
        }
    }
    m.lost = false;
    m.state = Some(state);
    m.last_answer = Some(now);
}

/// Runs the supervisor as its own process until SIGINT/SIGTERM.
pub async fn run(ctx: r2r::Context) -> anyhow::Result<()> {
    let node = r2r::Node::create(ctx, NODE_NAME, "").context("creating the node")?;
    run_node(node, Arc::new(Metrics::new()), shutdown_signal()).await
}

/// Runs the supervisor until `shutdown`; serves /metrics and /health from `metrics` when `metrics_port` >= 0.
pub async fn run_node(
    mut node: r2r::Node,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    crate::node_util::use_node_logger(&mut node);
    let clock = NodeClock::new(&node);
    let (mut params, startup) = ParamServer::new(&mut node, param_specs(), clock.clone())?;
    let mut lifecycle = LifecycleServer::new(&mut node, clock.clone())?;
    let initial = SupervisorConfig::from_params(&params.params());
    let names = initial.as_ref().map(|c| c.managed_nodes.clone()).unwrap_or_default();
    let mut managed: Vec<Managed> = Vec::new();
    for name in &names {
        managed.push(Managed {
            name: name.clone(),
            get_state: node
                .create_client::<GetState::Service>(&format!("{name}/get_state"), QosProfile::services_default())?,
            change_state: node.create_client::<ChangeState::Service>(
                &format!("{name}/change_state"),
                QosProfile::services_default(),
            )?,
            state: None,
            last_answer: None,
            lost: false,
            held: false,
            operator_hold: None,
            failed: None,
            failures: 0,
            in_flight: None,
            retry_at: None,
        });
    }
    let cmd_pub = node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?;
    let diag_period = Duration::from_secs_f64(initial.as_ref().map_or(1.0, |c| c.diagnostics_period));
    let mut diagnostics = DiagnosticsPublisher::new(&mut node, diag_period)?;
    crate::node_util::apply_use_sim_time(&mut node, &params.params()).ok();
    let stop = Arc::new(AtomicBool::new(false));
    let (spinner, sim_time) = spawn_node_spinner(node, stop.clone());
    let (order_tx, order_rx) = watch::channel(None);
    let stop_task = tokio::spawn(publish_stops(cmd_pub, clock.clone(), order_rx));
    let mut stops = StopControl { tx: order_tx, reason: None, metrics: metrics.clone() };

    let mut config: Option<SupervisorConfig> = None;
    let configure = |params: &ParamServer| -> Result<SupervisorConfig, String> {
        startup.clone()?;
        SupervisorConfig::from_params(&params.params())
    };
    // Autostart: configure and activate itself, then the nodes are brought up by the watch loop.
    if initial.as_ref().is_ok_and(|c| c.autostart) {
        for id in [transition_id::CONFIGURE, transition_id::ACTIVATE] {
            let _ = lifecycle.trigger(id, "", |cb| match cb {
                intent_shared_control_core::lifecycle::Callback::Configure => match configure(&params) {
                    Ok(c) => {
                        config = Some(c);
                        CallbackResult::Success
                    }
                    Err(e) => {
                        error!("cannot configure: {e}");
                        CallbackResult::Failure
                    }
                },
                _ => CallbackResult::Success,
            });
        }
    } else if let Err(e) = &initial {
        error!("invalid parameters, staying unconfigured: {e}");
    }

    let probe_interval = |period: f64| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(period));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        i
    };
    let mut probe_period = config.as_ref().map_or(0.1, |c| c.liveness_period);
    let mut probe_tick = probe_interval(probe_period);
    // Since when the supervisor watches (configured and active): a node that never answered counts as lost
    // `liveness_timeout` after this.
    let mut watching_since: Option<Instant> = None;
    let mut pending: FuturesUnordered<Pending> = FuturesUnordered::new();
    tokio::pin!(shutdown);

    if let Some(c) = &config {
        if c.metrics_port >= 0 {
            metrics::serve(
                metrics.clone(),
                c.metrics_port as u16,
                Duration::from_secs_f64(c.liveness_timeout.max(1.0) * 2.0),
            )?;
        }
    }

    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            req = lifecycle.next_change() => {
                let req = req?;
                lifecycle.apply(req, |cb| {
                    use intent_shared_control_core::lifecycle::Callback;
                    match cb {
                        Callback::Configure => match configure(&params) {
                            Ok(c) => { config = Some(c); CallbackResult::Success }
                            Err(e) => { error!("cannot configure: {e}"); CallbackResult::Failure }
                        },
                        Callback::Cleanup => { config = None; CallbackResult::Success }
                        _ => CallbackResult::Success,
                    }
                });
                if !lifecycle.is_active() {
                    stops.release("the supervisor is no longer active");
                    watching_since = None;
                } else if managed.iter().any(|m| m.operator_hold.is_some()) {
                    // Activating the supervisor again takes every node back under its management.
                    for m in managed.iter_mut().filter(|m| m.operator_hold.is_some()) {
                        info!(node = %m.name, "supervisor activated: managing the node again (was held by an outside request)");
                        m.operator_hold = None;
                    }
                }
            }
            r = params.next_change(&|p| SupervisorConfig::from_params(p).map(|_| ())) => {
                r?;
                sim_time.forward(&mut params);
                if config.is_some() {
                    config = SupervisorConfig::from_params(&params.params()).ok();
                }
                if let Some(cfg) = &config {
                    if cfg.liveness_period != probe_period {
                        probe_period = cfg.liveness_period;
                        probe_tick = probe_interval(probe_period);
                    }
                    if stops.reason.is_some() {
                        stops.follow(&managed, cfg); // a new stop_rate or frame applies at once
                    }
                }
            }
            Some((index, id, ok)) = pending.next(), if !pending.is_empty() => {
                let now = Instant::now();
                let m = &mut managed[index];
                m.in_flight = None;
                let label = transition_label(id);
                if ok {
                    m.last_answer = Some(now);
                    m.state = state_after(id).or(m.state);
                    let state = m.state.map_or("?", |s| s.label());
                    if m.failures > 0 {
                        info!(node = %m.name, "{label} succeeded after {} failed attempts: now {state}", m.failures);
                    } else {
                        info!(node = %m.name, "{label} succeeded: now {state}");
                    }
                    m.failed = None;
                    m.failures = 0;
                    m.retry_at = None;
                } else {
                    if m.failed != Some(label) {
                        error!(node = %m.name, "{label} failed or not answered (see the node's log); asking again after {} s, then less and less often (at most every {} s), reported as ERROR until it succeeds", RETRY_PERIOD.as_secs_f64(), MAX_RETRY_PERIOD.as_secs_f64());
                    }
                    m.failed = Some(label);
                    m.failures += 1;
                    m.retry_at = Some(now + retry_delay(m.failures));
                }
                if let Some(cfg) = config.as_ref().filter(|_| lifecycle.is_active()) {
                    stops.follow(&managed, cfg);
                }
            }
            _ = probe_tick.tick() => {
                metrics.beat();
                let Some(cfg) = config.clone() else {
                    stops.release("the supervisor is not configured");
                    continue;
                };
                if !lifecycle.is_active() {
                    stops.release("the supervisor is not active");
                    watching_since = None;
                    continue;
                }
                let since = *watching_since.get_or_insert_with(Instant::now);
                let timeout = Duration::from_secs_f64(cfg.liveness_timeout);
                let period = Duration::from_secs_f64(cfg.liveness_period);
                // Probe every node concurrently.
                let answers = join_all(managed.iter().map(|m| probe(m, period))).await;
                let now = Instant::now();
                for (m, answer) in managed.iter_mut().zip(answers) {
                    let critical = cfg.critical_nodes.contains(&m.name);
                    if let Some(s) = answer {
                        observe(m, s, now);
                    }
                    let silent = now.saturating_duration_since(m.last_answer.unwrap_or(since));
                    if m.in_flight.is_none() && !m.lost && silent > timeout {
                        m.lost = true;
                        if m.last_answer.is_none() {
                            warn!(node = %m.name, critical, "node not answering ~/get_state ({:.2} s since the supervisor started watching)", silent.as_secs_f64());
                        } else if critical {
                            error!(node = %m.name, critical, "node lost: no answer to ~/get_state for {:.2} s", cfg.liveness_timeout);
                        } else {
                            error!(node = %m.name, critical, "node lost: no answer to ~/get_state for {:.2} s; not critical, the other nodes run on without it", cfg.liveness_timeout);
                        }
                    }
                    if let Some(s) = m.state {
                        metrics.set_lifecycle_state(&m.name, s.id());
                    }
                }
                // Decide the transitions: each reachable node toward its target; across nodes in the order of
                // `managed_nodes` (a node waits while an earlier one is in a transition).
                let critical_lost = managed.iter().any(|m| m.lost && cfg.critical_nodes.contains(&m.name));
                let mut to_send = Vec::new();
                let mut earlier_busy = false;
                for (index, m) in managed.iter_mut().enumerate() {
                    if m.in_flight.is_some() {
                        earlier_busy = true;
                        continue;
                    }
                    if m.lost {
                        continue;
                    }
                    let Some(state) = m.state else { continue };
                    m.held = critical_lost && !cfg.critical_nodes.contains(&m.name);
                    let target = m.operator_hold.unwrap_or(if m.held { State::Inactive } else { State::Active });
                    let Some(id) = step_toward(state, target) else {
                        // At its target (or in a state the supervisor does not drive, e.g. finalized).
                        m.failed = None;
                        m.failures = 0;
                        m.retry_at = None;
                        continue;
                    };
                    if earlier_busy || m.retry_at.is_some_and(|t| now < t) {
                        continue;
                    }
                    m.in_flight = Some(id);
                    to_send.push(index);
                    earlier_busy = true;
                }
                // The stop follows the critical nodes; an activation is about to be sent, so the supervisor
                // stops writing before the node can start.
                stops.follow(&managed, &cfg);
                let transition_timeout = Duration::from_secs_f64(cfg.transition_timeout);
                for index in to_send {
                    let m = &managed[index];
                    if let Some(id) = m.in_flight {
                        pending.push(request_transition(m, index, id, transition_timeout));
                    }
                }

                let lost: Vec<&str> = managed.iter().filter(|m| m.lost).map(|m| m.name.as_str()).collect();
                let finalized: Vec<&str> = managed.iter().filter(|m| !m.lost && m.state == Some(State::Finalized)).map(|m| m.name.as_str()).collect();
                let failed: Vec<String> = managed.iter().filter(|m| !m.lost).filter_map(|m| m.failed.map(|t| format!("{} ({t} failed)", m.name))).collect();
                let all_active = managed.iter().all(|m| m.state == Some(State::Active) && !m.lost);
                let operator_held: Vec<String> = managed.iter().filter_map(|m| m.operator_hold.map(|s| format!("{} {}", m.name, s.label()))).collect();
                metrics.set_ready(all_active);
                let mut problems = Vec::new();
                if !lost.is_empty() { problems.push(format!("lost: {}", lost.join(", "))); }
                if !finalized.is_empty() { problems.push(format!("finalized: {}", finalized.join(", "))); }
                if !failed.is_empty() { problems.push(format!("cannot bring up: {}", failed.join(", "))); }
                let held_note = (!operator_held.is_empty()).then(|| format!("held by an outside request: {}", operator_held.join(", ")));
                let (level, message) = if !problems.is_empty() {
                    if let Some(r) = &stops.reason { problems.push(format!("publishing zero on cmd_vel ({r})")); }
                    (Level::Error, problems.join("; "))
                } else if let Some(note) = held_note {
                    let stop = stops.reason.as_ref().map_or(String::new(), |r| format!("; publishing zero on cmd_vel ({r})"));
                    (Level::Warn, format!("{note}{stop}"))
                } else if let Some(r) = &stops.reason {
                    (Level::Error, format!("publishing zero on cmd_vel ({r})"))
                } else if all_active {
                    (Level::Ok, "all managed nodes active".to_owned())
                } else {
                    (Level::Warn, "bringing nodes up".to_owned())
                };
                let mut statuses = vec![Status::new("system", level, message)
                    .kv("lifecycle_state", lifecycle.state().label())
                    .kv("publishing_stop", stops.reason.is_some())];
                for m in &managed {
                    let level = if m.lost || m.failed.is_some() { Level::Error } else if m.state == Some(State::Active) { Level::Ok } else { Level::Warn };
                    let message = if let Some(h) = m.operator_hold.filter(|_| !m.lost) {
                        format!("{} (held by an outside request)", h.label())
                    } else if m.lost {
                        if m.state.is_none() { "not answering (never seen)".to_owned() } else { "lost".to_owned() }
                    } else if let Some(t) = m.failed {
                        format!("{t} failed, {}", m.state.map_or("?", |s| s.label()))
                    } else {
                        m.state.map_or("not seen yet".to_owned(), |s| s.label().to_owned())
                    };
                    statuses.push(Status::new(&format!("node {}", m.name), level, message)
                        .kv("state", m.state.map_or("unknown", |s| s.label()))
                        .kv("last_answer_age_s", m.last_answer.map_or("never".to_owned(), |t| format!("{:.3}", t.elapsed().as_secs_f64())))
                        .kv("critical", cfg.critical_nodes.contains(&m.name))
                        .kv("held_inactive", m.held)
                        .kv("held_by_request", m.operator_hold.is_some())
                        .kv("failed_attempts", m.failures));
                }
                diagnostics.update(clock.now().unwrap_or_default(), &statuses);
            }
        }
    }
    info!("supervisor shutting down");
    stop_task.abort();
    stop.store(true, Ordering::Relaxed);
    let _ = spinner.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_critical_node_needs_the_stop_only_while_it_cannot_publish() {
        assert_eq!(critical_gap(true, Some(State::Active), false), Some("lost"));
        assert_eq!(critical_gap(true, None, false), Some("lost"));
        assert_eq!(critical_gap(false, Some(State::Unconfigured), false), Some("unconfigured"));
        assert_eq!(critical_gap(false, Some(State::Inactive), false), Some("inactive"));
        assert_eq!(critical_gap(false, Some(State::Finalized), false), Some("finalized"));
        // Active, or being activated: it writes on cmd_vel itself
        assert_eq!(critical_gap(false, Some(State::Active), false), None);
        assert_eq!(critical_gap(false, Some(State::Inactive), true), None);
        // not seen yet and not yet lost
        assert_eq!(critical_gap(false, None, false), None);
    }

    #[test]
    fn outside_transitions_are_the_operators_intent_and_a_restart_is_recovered() {
        use OutsideChange::*;
        assert_eq!(outside_change(State::Active, State::Inactive), Operator);
        assert_eq!(outside_change(State::Inactive, State::Unconfigured), Operator);
        assert_eq!(outside_change(State::Unconfigured, State::Inactive), Neutral);
        assert_eq!(outside_change(State::Active, State::Finalized), Operator);
        assert_eq!(outside_change(State::Inactive, State::Active), HandedBack);
        // Active -> unconfigured takes two transitions; seen between two probes it is a respawned process.
        assert_eq!(outside_change(State::Active, State::Unconfigured), Restarted);
        // A held node's target is the state it was taken to: no transition is sent.
        assert_eq!(step_toward(State::Inactive, State::Inactive), None);
        assert_eq!(step_toward(State::Unconfigured, State::Unconfigured), None);
    }

    #[test]
    fn a_failing_transition_is_retried_less_and_less_often() {
        let secs: Vec<u64> = (1..=8).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn transitions_lead_to_the_target() {
        assert_eq!(step_toward(State::Unconfigured, State::Active), Some(transition_id::CONFIGURE));
        assert_eq!(step_toward(State::Inactive, State::Active), Some(transition_id::ACTIVATE));
        assert_eq!(step_toward(State::Active, State::Inactive), Some(transition_id::DEACTIVATE));
        assert_eq!(step_toward(State::Active, State::Active), None);
        assert_eq!(step_toward(State::Finalized, State::Active), None);
        assert_eq!(state_after(transition_id::CONFIGURE), Some(State::Inactive));
        assert_eq!(state_after(transition_id::ACTIVATE), Some(State::Active));
        assert_eq!(state_after(transition_id::DEACTIVATE), Some(State::Inactive));
    }
}
