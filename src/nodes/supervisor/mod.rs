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
//!
//! Files: `config` (parameters), `managed` (one managed node: probe, transitions, outside changes), `plan`
//! (which transitions a round asks for), `stop` (the zero commands), `status` (diagnostics); the scaffold is
//! the host's, [`crate::ros::managed_node`].

mod config;
mod managed;
mod plan;
mod status;
mod stop;

use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::stream::{FuturesUnordered, StreamExt as _};
use intent_shared_control_core::lifecycle::State;
use r2r::geometry_msgs::msg::TwistStamped;
use tokio::sync::watch;
use tokio::time::Interval;
use tracing::{error, info};

pub use config::{param_specs, SupervisorConfig, SupervisorConfigError};
use managed::{probe, request_transition, Managed, Pending};
pub use managed::{retry_delay, MAX_RETRY_PERIOD, RETRY_PERIOD};
use plan::plan_transitions;
use stop::{publish_stops, StopControl};

use crate::ros::diagnostics::DiagnosticsPublisher;
use crate::ros::managed_node::{run_managed, run_standalone, Ctx, Flow, ManagedNode, Setup};
use crate::ros::node_util::command_qos;
use crate::ros::param_server::ParamSpec;
use crate::ros::params::Params;

pub const NODE_NAME: &str = "supervisor";

/// How the supervisor is connected (no in-memory link).
pub type Wiring = crate::ros::managed_node::Wiring<()>;

/// Runs the supervisor as its own process until SIGINT/SIGTERM.
pub async fn run(ctx: r2r::Context) -> anyhow::Result<()> {
    run_standalone::<Supervisor>(ctx).await
}

/// Runs the supervisor until `shutdown`; serves /metrics and /health for the process when `metrics_port` >= 0.
pub async fn run_node(
    node: r2r::Node,
    wiring: Wiring,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    run_managed::<Supervisor>(node, wiring, shutdown).await
}

/// One input of the supervisor.
pub enum Input {
    /// A transition it asked for was answered (or timed out): (index of the node, transition id, success).
    Answer((usize, u8, bool)),
    /// Time to probe the nodes (`liveness_period`).
    Probe,
}

/// The `supervisor` node.
pub struct Supervisor {
    managed: Vec<Managed>,
    diagnostics: DiagnosticsPublisher,
    stop_task: tokio::task::JoinHandle<()>,
    stops: StopControl,
    config: Option<SupervisorConfig>,
    /// The probe timer, made at the first wait (after autostart) and again when `liveness_period` changes.
    probe_tick: Option<(f64, Interval)>,
    /// Since when the supervisor watches (configured and active): a node that never answered counts as lost
    /// `liveness_timeout` after this.
    watching_since: Option<Instant>,
    pending: FuturesUnordered<Pending>,
}

fn probe_interval(period: f64) -> Interval {
    let mut i = tokio::time::interval(Duration::from_secs_f64(period));
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    i
}

impl ManagedNode for Supervisor {
    const NAME: &'static str = NODE_NAME;
    const LIFECYCLE_GAUGE: bool = false;
    type Link = ();
    type ParamsError = SupervisorConfigError;
    type ConfigureError = SupervisorConfigError;
    type Input = Input;

    fn param_specs() -> Vec<ParamSpec> {
        param_specs()
    }

    fn validate(params: &Params) -> Result<(), SupervisorConfigError> {
        SupervisorConfig::from_params(params).map(|_| ())
    }

    fn create(node: &mut r2r::Node, params: &Params, setup: Setup<()>) -> anyhow::Result<Self> {
        let initial = SupervisorConfig::from_params(params).ok();
        let mut managed = Vec::new();
        for name in initial.as_ref().map_or(&[][..], |c| &c.managed_nodes[..]) {
            managed.push(Managed::new(node, name)?);
        }
        let cmd_pub = node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?;
        let diag_period = Duration::from_secs_f64(initial.as_ref().map_or(1.0, |c| c.diagnostics_period));
        let diagnostics = DiagnosticsPublisher::new(node, diag_period)?;
        let (order_tx, order_rx) = watch::channel(None);
        let stop_task = tokio::spawn(publish_stops(cmd_pub, setup.clock, order_rx));
        Ok(Supervisor {
            managed,
            diagnostics,
            stop_task,
            stops: StopControl { tx: order_tx, reason: None, metrics: setup.metrics },
            config: None,
            probe_tick: None,
            watching_since: None,
            pending: FuturesUnordered::new(),
        })
    }

    /// Autostart: configure and activate itself, then the nodes are brought up by the watch loop.
    fn autostart(params: &Params) -> bool {
        match SupervisorConfig::from_params(params) {
            Ok(c) => c.autostart,
            Err(e) => {
                error!("invalid parameters, staying unconfigured: {e}");
                false
            }
        }
    }

    /// Served when configured at start-up; healthy while the watch loop beats within twice the liveness
    /// timeout (at least 2 s).
    fn metrics_server(&self, _params: &Params) -> Option<(u16, Duration)> {
        let c = self.config.as_ref().filter(|c| c.metrics_port >= 0)?;
        Some((c.metrics_port as u16, Duration::from_secs_f64(c.liveness_timeout.max(1.0) * 2.0)))
    }

    fn configure(&mut self, params: &Params) -> Result<(), SupervisorConfigError> {
        self.config = Some(SupervisorConfig::from_params(params)?);
        Ok(())
    }

    fn cleanup(&mut self) {
        self.config = None;
    }

    fn shutdown(&mut self, _from: State, _now: intent_shared_control_core::Stamp) {}

    fn error(&mut self) {}

    fn transitioned(&mut self, ctx: &Ctx) {
        if !ctx.lifecycle.is_active() {
            self.stops.release("the supervisor is no longer active");
            self.watching_since = None;
        } else if self.managed.iter().any(|m| m.operator_hold.is_some()) {
            // Activating the supervisor again takes every node back under its management.
            for m in self.managed.iter_mut().filter(|m| m.operator_hold.is_some()) {
                info!(node = %m.name, "supervisor activated: managing the node again (was held by an outside request)");
                m.operator_hold = None;
            }
        }
    }

    fn params_changed(&mut self, params: &Params, _ctx: &Ctx) {
        if self.config.is_some() {
            self.config = SupervisorConfig::from_params(params).ok();
        }
        if let Some(cfg) = &self.config {
            if self.probe_tick.as_ref().is_some_and(|(period, _)| *period != cfg.liveness_period) {
                self.probe_tick = Some((cfg.liveness_period, probe_interval(cfg.liveness_period)));
            }
            if self.stops.reason.is_some() {
                self.stops.follow(&self.managed, cfg); // a new stop_rate or frame applies at once
            }
        }
    }

    async fn next_input(&mut self) -> anyhow::Result<Input> {
        let (_, tick) = self.probe_tick.get_or_insert_with(|| {
            let period = self.config.as_ref().map_or(0.1, |c| c.liveness_period);
            (period, probe_interval(period))
        });
        Ok(tokio::select! {
            biased;
            Some(answer) = self.pending.next(), if !self.pending.is_empty() => Input::Answer(answer),
            _ = tick.tick() => Input::Probe,
        })
    }

    async fn handle(&mut self, input: Input, ctx: &Ctx<'_>) -> anyhow::Result<Flow> {
        match input {
            Input::Answer((index, id, ok)) => {
                self.managed[index].answered(id, ok, Instant::now());
                if let Some(cfg) = self.config.as_ref().filter(|_| ctx.lifecycle.is_active()) {
                    self.stops.follow(&self.managed, cfg);
                }
            }
            Input::Probe => self.watch(ctx).await,
        }
        Ok(Flow::Continue)
    }

    async fn on_shutdown(&mut self, _ctx: &Ctx<'_>) -> anyhow::Result<()> {
        self.stop_task.abort();
        Ok(())
    }
}

impl Supervisor {
    /// One round of the watch loop: probe every node, decide the transitions, follow with the stop, report.
    async fn watch(&mut self, ctx: &Ctx<'_>) {
        ctx.metrics.beat();
        let Some(cfg) = self.config.clone() else {
            self.stops.release("the supervisor is not configured");
            return;
        };
        if !ctx.lifecycle.is_active() {
            self.stops.release("the supervisor is not active");
            self.watching_since = None;
            return;
        }
        let since = *self.watching_since.get_or_insert_with(Instant::now);
        let timeout = Duration::from_secs_f64(cfg.liveness_timeout);
        let period = Duration::from_secs_f64(cfg.liveness_period);
        // Probe every node concurrently.
        let answers = join_all(self.managed.iter().map(|m| probe(m, period))).await;
        let now = Instant::now();
        for (m, answer) in self.managed.iter_mut().zip(answers) {
            let critical = cfg.critical_nodes.contains(&m.name);
            m.probed(answer, now, since, timeout, critical);
            if let Some(s) = m.state {
                ctx.metrics.set_lifecycle_state(&m.name, s.id());
            }
        }
        let to_send = plan_transitions(&mut self.managed, &cfg.critical_nodes, now);
        // The stop follows the critical nodes; an activation is about to be sent, so the supervisor stops
        // writing before the node can start.
        self.stops.follow(&self.managed, &cfg);
        let transition_timeout = Duration::from_secs_f64(cfg.transition_timeout);
        for index in to_send {
            let m = &self.managed[index];
            if let Some(id) = m.in_flight {
                self.pending.push(request_transition(m, index, id, transition_timeout));
            }
        }

        let (all_active, statuses) = status::report(&self.managed, &cfg, self.stops.reason.as_ref(), ctx.lifecycle);
        ctx.metrics.set_ready(all_active);
        self.diagnostics.update(ctx.clock.now().unwrap_or_default(), &statuses);
    }
}
