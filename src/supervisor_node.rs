//! The `supervisor` node (itself managed): brings the managed nodes up in order, watches their liveness and
//! forces a safe stop when one fails.
//!
//! Liveness: every `liveness_period` the supervisor asks each node for its state (`~/get_state`); a node that
//! has not answered for `liveness_timeout` is lost. On a loss the supervisor publishes zero on `cmd_vel`
//! (repeatedly, until the system is whole again), deactivates the other nodes if the lost one is critical,
//! and reports ERROR on `/diagnostics`. A node that answers again (e.g. respawned, hence unconfigured) is
//! driven back to Active, and the nodes it deactivated are re-activated.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::future::join_all;
use intent_shared_control_core::health::Level;
use intent_shared_control_core::lifecycle::{transition_id, CallbackResult, State};
use intent_shared_control_core::Twist;
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::lifecycle_msgs::msg::Transition as TransitionMsg;
use r2r::lifecycle_msgs::srv::{ChangeState, GetState};
use r2r::std_msgs::msg::Header;
use r2r::{ParameterValue, QosProfile};
use tracing::{error, info, warn};

use crate::convert::{stamp_to_msg, twist_to_msg};
use crate::diagnostics::{DiagnosticsPublisher, Status};
use crate::lifecycle::LifecycleServer;
use crate::metrics::{self, Metrics};
use crate::node_util::{command_qos, shutdown_signal, spawn_spinner, NodeClock};
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
            .range(Range::Float(0.05, 30.0)),
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

/// What the supervisor knows about one managed node.
struct Managed {
    name: String,
    get_state: r2r::Client<GetState::Service>,
    change_state: r2r::Client<ChangeState::Service>,
    /// Last state reported, if it ever answered.
    state: Option<State>,
    last_answer: Option<Instant>,
    lost: bool,
    /// Deactivated by the supervisor because a critical node was lost.
    held: bool,
    /// The last transition the supervisor asked for failed (e.g. configure without its model): the node is
    /// reachable but cannot be brought up; reported as ERROR until a transition succeeds.
    failed: Option<&'static str>,
}

impl Managed {
    fn alive(&self, timeout: Duration) -> bool {
        self.last_answer.is_some_and(|t| t.elapsed() <= timeout)
    }
}

async fn get_state(client: &r2r::Client<GetState::Service>, timeout: Duration) -> Option<State> {
    let fut = client.request(&GetState::Request {}).ok()?;
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(resp)) => State::from_id(resp.current_state.id),
        _ => None,
    }
}

async fn change_state(client: &r2r::Client<ChangeState::Service>, id: u8, timeout: Duration) -> bool {
    let req = ChangeState::Request { transition: TransitionMsg { id, label: String::new() } };
    let Ok(fut) = client.request(&req) else { return false };
    matches!(tokio::time::timeout(timeout, fut).await, Ok(Ok(resp)) if resp.success)
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

/// Next transition that moves `state` toward `target` (Active, or Inactive when held).
fn step_toward(state: State, target: State) -> Option<u8> {
    match (state, target) {
        (State::Unconfigured, State::Active | State::Inactive) => Some(transition_id::CONFIGURE),
        (State::Inactive, State::Active) => Some(transition_id::ACTIVATE),
        (State::Active, State::Inactive) => Some(transition_id::DEACTIVATE),
        _ => None,
    }
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
            failed: None,
        });
    }
    let cmd_pub = node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?;
    let diag_period = Duration::from_secs_f64(initial.as_ref().map_or(1.0, |c| c.diagnostics_period));
    let mut diagnostics = DiagnosticsPublisher::new(&mut node, NODE_NAME, diag_period)?;
    crate::node_util::apply_use_sim_time(&mut node, &params.params()).ok();
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = spawn_spinner(node, stop.clone());

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

    let mut probe = tokio::time::interval(Duration::from_secs_f64(config.as_ref().map_or(0.1, |c| c.liveness_period)));
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_stop_cmd = Instant::now() - Duration::from_secs(10);
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
            }
            r = params.next_change(&|p| SupervisorConfig::from_params(p).map(|_| ())) => {
                r?;
                if config.is_some() {
                    config = SupervisorConfig::from_params(&params.params()).ok();
                }
            }
            _ = probe.tick() => {
                metrics.beat();
                let Some(cfg) = config.clone() else { continue };
                if !lifecycle.is_active() { continue; }
                let timeout = Duration::from_secs_f64(cfg.liveness_timeout);
                let period = Duration::from_secs_f64(cfg.liveness_period);
                // Probe every node concurrently.
                let answers = join_all(managed.iter().map(|m| get_state(&m.get_state, period))).await;
                for (m, a) in managed.iter_mut().zip(answers) {
                    if let Some(s) = a {
                        m.state = Some(s);
                        m.last_answer = Some(Instant::now());
                    }
                    let alive = m.alive(timeout);
                    if m.last_answer.is_some() && !alive && !m.lost {
                        m.lost = true;
                        error!(node = %m.name, "node lost (no answer for {:.2} s): forcing zero on cmd_vel", cfg.liveness_timeout);
                    }
                    if alive && m.lost {
                        m.lost = false;
                        info!(node = %m.name, "node answers again (state {}): bringing it back", m.state.map_or("?", |s| s.label()));
                    }
                    if let Some(s) = m.state {
                        metrics.set_lifecycle_state(&m.name, s.id());
                    }
                }
                let lost: Vec<String> = managed.iter().filter(|m| m.lost).map(|m| m.name.clone()).collect();
                let critical_lost = lost.iter().any(|n| cfg.critical_nodes.contains(n));
                let finalized: Vec<String> = managed.iter().filter(|m| m.state == Some(State::Finalized)).map(|m| m.name.clone()).collect();
                let fault_reason = if !lost.is_empty() {
                    Some(format!("lost: {}", lost.join(", ")))
                } else if !finalized.is_empty() {
                    Some(format!("finalized: {}", finalized.join(", ")))
                } else {
                    None
                };
                // Drive every reachable node toward its target, in order.
                for m in managed.iter_mut() {
                    if m.lost || !m.alive(timeout) { continue; }
                    m.held = critical_lost && !cfg.critical_nodes.contains(&m.name);
                    let target = if m.held { State::Inactive } else { State::Active };
                    if let Some(id) = m.state.and_then(|s| step_toward(s, target)) {
                        let ok = change_state(&m.change_state, id, Duration::from_secs_f64(cfg.transition_timeout)).await;
                        if !ok && m.failed.is_none() {
                            warn!(node = %m.name, "transition {id} failed (retrying every liveness period; see the node's log)");
                        }
                        m.failed = if ok { None } else { Some(transition_label(id)) };
                        m.state = get_state(&m.get_state, period).await.or(m.state);
                    } else {
                        m.failed = None;
                    }
                }
                let failed: Vec<String> = managed.iter().filter(|m| !m.lost).filter_map(|m| m.failed.map(|t| format!("{} ({t} failed)", m.name))).collect();
                let all_active = managed.iter().all(|m| m.state == Some(State::Active) && !m.lost);
                metrics.set_ready(all_active);
                // While anything is lost, hold the robot: zero on cmd_vel at stop_rate.
                if fault_reason.is_some() && last_stop_cmd.elapsed().as_secs_f64() >= 1.0 / cfg.stop_rate {
                    let stamp = clock.now().unwrap_or_default();
                    let msg = TwistStamped { header: Header { stamp: stamp_to_msg(stamp), frame_id: cfg.cmd_frame_id.clone() }, twist: twist_to_msg(&Twist::ZERO) };
                    if let Err(e) = cmd_pub.publish(&msg) { warn!("publishing zero cmd_vel failed: {e}"); }
                    metrics.stops.inc();
                    last_stop_cmd = Instant::now();
                }
                let now = clock.now().unwrap_or_default();
                let mut statuses = vec![Status::new(NODE_NAME, "system",
                    if fault_reason.is_some() || !failed.is_empty() { Level::Error } else if all_active { Level::Ok } else { Level::Warn },
                    fault_reason.clone().unwrap_or_else(|| if !failed.is_empty() { format!("cannot bring up: {}", failed.join(", ")) } else if all_active { "all managed nodes active".into() } else { "bringing nodes up".into() }))
                    .kv("lifecycle_state", lifecycle.state().label())];
                for m in &managed {
                    let level = if m.lost || m.failed.is_some() { Level::Error } else if m.state == Some(State::Active) { Level::Ok } else { Level::Warn };
                    statuses.push(Status::new(NODE_NAME, &format!("node {}", m.name), level,
                        if m.lost { "lost".to_owned() } else if let Some(t) = m.failed { format!("{t} failed, {}", m.state.map_or("?", |s| s.label())) } else { m.state.map_or("not seen yet".to_owned(), |s| s.label().to_owned()) })
                        .kv("state", m.state.map_or("unknown", |s| s.label()))
                        .kv("last_answer_age_s", m.last_answer.map_or("never".to_owned(), |t| format!("{:.3}", t.elapsed().as_secs_f64())))
                        .kv("critical", cfg.critical_nodes.contains(&m.name))
                        .kv("held_inactive", m.held));
                }
                diagnostics.update(now, &statuses);
            }
        }
    }
    info!("supervisor shutting down");
    stop.store(true, Ordering::Relaxed);
    let _ = spinner.join();
    Ok(())
}
