//! The host every managed node runs in: one scaffold instead of one copy per node.
//!
//! [`run_managed`] owns what all three nodes share: the node logger, the parameter server and `use_sim_time`,
//! the lifecycle services, the spin thread, autostart, the `/metrics` and `/health` server, the lifecycle gauge,
//! and one loop that serves lifecycle requests, parameter changes and the node's own inputs, in that order of
//! priority, until `shutdown` resolves. A node implements [`ManagedNode`]: its parameter declarations and their
//! validation, what configure / activate / deactivate / cleanup / shutdown do, its inputs and what it does with
//! each, and its last words on shutdown.
//!
//! Each node runs on one thread with a single-threaded runtime; the r2r node itself is spun on a thread of its
//! own ([`spawn_spinner`]); `use_sim_time` is applied at start.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use intent_shared_control_core::health::Level;
use intent_shared_control_core::lifecycle::{transition_id, Callback, CallbackResult, State};
use intent_shared_control_core::Stamp;
use tracing::info;

use crate::ros::diagnostics::Status;
use crate::ros::lifecycle::LifecycleServer;
use crate::ros::metrics::{self, Metrics};
use crate::ros::node_util::{
    apply_use_sim_time, shutdown_signal, spawn_spinner, use_node_logger, NodeClock, RepeatFilter,
};
use crate::ros::param_server::{ParamServer, ParamSpec};
use crate::ros::params::Params;

/// How a node is connected: on its own (DDS for everything) or inside the composed executable.
pub struct Wiring<L> {
    /// The node's in-memory link to the other nodes of a composed process (the predictor → shared_control
    /// hand-over), or its default (`None`, `()`) when it runs alone.
    pub link: L,
    /// Metrics registry (shared by the nodes of one process).
    pub metrics: Arc<Metrics>,
    /// Serve /metrics and /health from this node when `metrics_port` >= 0.
    pub serve_metrics: bool,
}

impl<L: Default> Wiring<L> {
    /// A node that runs as its own process: no in-memory link, its own registry and metrics server.
    pub fn standalone() -> Self {
        Wiring { link: L::default(), metrics: Arc::new(Metrics::new()), serve_metrics: true }
    }
}

/// What the node gets when it is created (before the spin thread takes the `r2r::Node`).
pub struct Setup<L> {
    pub link: L,
    pub clock: NodeClock,
    pub metrics: Arc<Metrics>,
}

/// What a node's hooks may look at.
pub struct Ctx<'a> {
    pub lifecycle: &'a LifecycleServer,
    pub clock: &'a NodeClock,
    pub metrics: &'a Arc<Metrics>,
}

/// After an input: go on, or stop the node as a shutdown signal would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// The node-specific parts of a managed node; [`run_managed`] runs the rest.
#[allow(async_fn_in_trait)] // each node runs on a single-threaded runtime: its futures need not be `Send`
pub trait ManagedNode: Sized {
    /// Node name used when none is remapped.
    const NAME: &'static str;
    /// Whether the node's own lifecycle state goes into the metrics (the supervisor reports the nodes it
    /// manages instead).
    const LIFECYCLE_GAUGE: bool = true;
    /// The in-memory link of a composed process ([`Wiring::link`]).
    type Link;
    /// Why a parameter set is refused (names the parameter and what is allowed).
    type ParamsError: std::fmt::Display;
    /// Why `configure` failed.
    type ConfigureError: std::fmt::Display;
    /// One input the node waits for (a message, a timer tick, an answer).
    type Input;

    /// Declared parameters, with descriptions, units and ranges.
    fn param_specs() -> Vec<ParamSpec>;
    /// The one validation of a parameter set: at configure and before a change is accepted.
    fn validate(params: &Params) -> Result<(), Self::ParamsError>;
    /// Creates the node's subscriptions, publishers, clients and timers from the start-up parameters.
    fn create(node: &mut r2r::Node, params: &Params, setup: Setup<Self::Link>) -> anyhow::Result<Self>;

    /// Configure and activate at start-up (`autostart`).
    fn autostart(params: &Params) -> bool {
        params.bool_or("autostart", false).unwrap_or(false)
    }
    /// Port and health staleness of the metrics server, if the node serves one (after autostart).
    fn metrics_server(&self, params: &Params) -> Option<(u16, Duration)> {
        let port = params.i64_or("metrics_port", -1).ok().filter(|p| *p >= 0)?;
        Some((port as u16, Duration::from_secs(2)))
    }

    /// `on_configure`: reads the parameters and builds the configured state.
    fn configure(&mut self, params: &Params) -> Result<(), Self::ConfigureError>;
    /// `on_activate`.
    fn activate(&mut self) -> CallbackResult {
        CallbackResult::Success
    }
    /// `on_deactivate` (e.g. one zero command).
    fn deactivate(&mut self, _now: Stamp) {}
    /// `on_cleanup`: drops the configured state.
    fn cleanup(&mut self);
    /// `on_shutdown` from `from`.
    fn shutdown(&mut self, _from: State, _now: Stamp) {
        self.cleanup();
    }
    /// `on_error`.
    fn error(&mut self) {
        self.cleanup();
    }
    /// After a transition requested through `~/change_state` (whatever its outcome).
    fn transitioned(&mut self, _ctx: &Ctx) {}
    /// After an accepted parameter change: `params` are the new values (validated).
    fn params_changed(&mut self, params: &Params, ctx: &Ctx);

    /// Waits for the next input (cancel-safe: a lifecycle request or a parameter change may win).
    async fn next_input(&mut self) -> anyhow::Result<Self::Input>;
    /// Handles one input.
    async fn handle(&mut self, input: Self::Input, ctx: &Ctx<'_>) -> anyhow::Result<Flow>;
    /// Last words before the spin thread stops (e.g. a zero command while active).
    async fn on_shutdown(&mut self, _ctx: &Ctx<'_>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The `lifecycle` diagnostics status of a node: OK while Active, WARN otherwise.
pub fn lifecycle_status(lifecycle: &LifecycleServer) -> Status {
    let lc = lifecycle.state();
    Status::new("lifecycle", if lifecycle.is_active() { Level::Ok } else { Level::Warn }, lc.label())
        .kv("state_id", lc.id())
}

/// Runs node `N` as its own process until SIGINT/SIGTERM.
pub async fn run_standalone<N: ManagedNode>(ctx: r2r::Context) -> anyhow::Result<()>
where
    N::Link: Default,
{
    let node = r2r::Node::create(ctx, N::NAME, "").context("creating the node")?;
    run_managed::<N>(node, Wiring::standalone(), shutdown_signal()).await
}

enum Event<I> {
    Lifecycle(r2r::ServiceRequest<r2r::lifecycle_msgs::srv::ChangeState::Service>),
    Params,
    Input(I),
}

/// Runs node `N` on `node` until `shutdown` resolves (or an input says [`Flow::Stop`]).
pub async fn run_managed<N: ManagedNode>(
    mut node: r2r::Node,
    wiring: Wiring<N::Link>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    use_node_logger(&mut node);
    let clock = NodeClock::new(&node);
    let (mut params, startup) = ParamServer::new(&mut node, N::param_specs(), clock.clone())?;
    apply_use_sim_time(&mut node, &params.params())?;
    let mut lifecycle = LifecycleServer::new(&mut node, clock.clone())?;
    let start = params.params();
    let metrics = wiring.metrics;
    let setup = Setup { link: wiring.link, clock: clock.clone(), metrics: metrics.clone() };
    let mut managed = N::create(&mut node, &start, setup)?;
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = spawn_spinner(node, stop.clone());

    // The lifecycle callbacks, shared by service requests and autostart. A configure error is logged once
    // while it repeats (a supervisor retries).
    let configure_errors = RepeatFilter::default();
    let callbacks = |managed: &mut N, cb: Callback, params: &Params, now: Stamp| -> CallbackResult {
        match cb {
            Callback::Configure => {
                if let Err(e) = &startup {
                    configure_errors.error(format!("cannot configure: invalid parameters: {e}"));
                    return CallbackResult::Failure;
                }
                match managed.configure(params) {
                    Ok(()) => {
                        configure_errors.clear();
                        CallbackResult::Success
                    }
                    Err(e) => {
                        configure_errors.error(format!("cannot configure: {e}"));
                        CallbackResult::Failure
                    }
                }
            }
            Callback::Activate => managed.activate(),
            Callback::Deactivate => {
                managed.deactivate(now);
                CallbackResult::Success
            }
            Callback::Cleanup => {
                managed.cleanup();
                CallbackResult::Success
            }
            Callback::Shutdown(from) => {
                managed.shutdown(from, now);
                CallbackResult::Success
            }
            Callback::Error(_) => {
                managed.error();
                CallbackResult::Success
            }
        }
    };
    let gauge = |lifecycle: &LifecycleServer| {
        if N::LIFECYCLE_GAUGE {
            metrics.set_lifecycle_state(N::NAME, lifecycle.state().id());
        }
    };

    if N::autostart(&start) {
        for id in [transition_id::CONFIGURE, transition_id::ACTIVATE] {
            let now = clock.now()?;
            let _ = lifecycle.trigger(id, "", |cb| callbacks(&mut managed, cb, &params.params(), now));
        }
    }
    if wiring.serve_metrics {
        if let Some((port, staleness)) = managed.metrics_server(&start) {
            metrics::serve(metrics.clone(), port, staleness)?;
        }
    }
    gauge(&lifecycle);

    let validate = |p: &Params| N::validate(p).map_err(|e| e.to_string());
    tokio::pin!(shutdown);
    loop {
        // Let the other tasks of this runtime run between two inputs: the subscription streams are not tokio
        // resources (no cooperative budget), so a steady input flood would otherwise never return Pending.
        tokio::task::yield_now().await;
        let event = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            req = lifecycle.next_change() => Event::Lifecycle(req?),
            r = params.next_change(&validate) => {
                r?;
                Event::Params
            }
            input = managed.next_input() => Event::Input(input?),
        };
        let ctx = Ctx { lifecycle: &lifecycle, clock: &clock, metrics: &metrics };
        match event {
            Event::Lifecycle(req) => {
                let now = clock.now()?;
                let current = params.params();
                lifecycle.apply(req, |cb| callbacks(&mut managed, cb, &current, now));
                gauge(&lifecycle);
                managed.transitioned(&Ctx { lifecycle: &lifecycle, clock: &clock, metrics: &metrics });
            }
            Event::Params => {
                managed.params_changed(&params.params(), &ctx);
            }
            Event::Input(input) => {
                if managed.handle(input, &ctx).await? == Flow::Stop {
                    break;
                }
            }
        }
    }

    info!("shutting down");
    managed.on_shutdown(&Ctx { lifecycle: &lifecycle, clock: &clock, metrics: &metrics }).await?;
    stop.store(true, Ordering::Relaxed);
    let _node = spinner.join().map_err(|_| anyhow::anyhow!("spin thread panicked"))?;
    Ok(())
}
