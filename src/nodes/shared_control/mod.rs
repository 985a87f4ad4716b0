//! The `shared_control` managed node: joystick + skeletons (+ predictions) in, `cmd_vel` + status out.
//!
//! Wiring only: inputs are converted by [`crate::ros::convert`], what is accepted and the decision are the
//! core's [`InputHandler`](intent_shared_control_core::InputHandler) (the same one the bag replay and generator
//! drive), and the result is published. A decision is made on every accepted input and on a periodic wall timer (`control_rate`), so a silent joystick still
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
//!
//! Files: `params` ([`SharedControlParams`]: declarations, validation), `output` (the [`OutputGate`]), `state`
//! (the configured state: each input given to the handler, the diagnostics); the scaffold (parameters,
//! lifecycle services, spin thread, metrics) is the host's, [`crate::ros::managed_node`].

mod output;
mod params;
mod state;

use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt;
use intent_shared_control_core::lifecycle::{CallbackResult, State as LifecycleState};
use intent_shared_control_core::{ConfigError, Reason, Stamp};
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::intent_shared_control_msgs::msg::{HumanSkeletonArray, IntentPredictionArray, SharedControlStatus};
use r2r::sensor_msgs::msg::Joy;
use r2r::visualization_msgs::msg::MarkerArray;
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::info;

pub use output::OutputGate;
use output::Outputs;
pub use params::{param_specs, OutputMode, SharedControlParams, SharedControlParamsError};
use state::{statuses, Configured};

use crate::nodes::handoff::Handoff;
use crate::ros::diagnostics::DiagnosticsPublisher;
use crate::ros::managed_node::{run_managed, run_standalone, Ctx, Flow, ManagedNode, Setup};
use crate::ros::node_util::{command_qos, sensor_qos};
use crate::ros::param_server::ParamSpec;
use crate::ros::params::Params;

/// Node name used when none is remapped.
pub const NODE_NAME: &str = "shared_control";

/// How the node is connected; the link is the predictor's in-memory hand-over in the composed executable
/// (skeletons + predictions instead of the `humans/skeletons` and `humans/intent` subscriptions).
pub type Wiring = crate::ros::managed_node::Wiring<Option<mpsc::Receiver<Handoff>>>;

/// Runs the node as its own process until SIGINT/SIGTERM.
pub async fn run(ctx: r2r::Context) -> anyhow::Result<()> {
    run_standalone::<SharedControl>(ctx).await
}

/// Runs the node until `shutdown` resolves; publishes one zero command before returning if it was active.
pub async fn run_node(
    node: r2r::Node,
    wiring: Wiring,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    run_managed::<SharedControl>(node, wiring, shutdown).await
}

/// Why `on_configure` failed.
#[derive(Debug, Error)]
pub enum ConfigureError {
    #[error(transparent)]
    Params(#[from] SharedControlParamsError),
    #[error(transparent)]
    Controller(#[from] ConfigError),
}

type BoxStream<T> = Pin<Box<dyn futures::Stream<Item = T> + Send>>;

/// One input of the node.
pub enum Input {
    Joy(Joy),
    Assist(TwistStamped),
    Skeletons(HumanSkeletonArray),
    Predictions(IntentPredictionArray),
    /// From the predictor in memory; `None` once it has closed the hand-over.
    Handoff(Option<Handoff>),
    /// The control timer (`control_rate`).
    Tick,
}

/// The `shared_control` node.
pub struct SharedControl {
    joy: BoxStream<Joy>,
    assist: BoxStream<TwistStamped>,
    skeletons: BoxStream<HumanSkeletonArray>,
    predictions: BoxStream<IntentPredictionArray>,
    handoff: Option<mpsc::Receiver<Handoff>>,
    out: Outputs,
    diagnostics: DiagnosticsPublisher,
    timer: r2r::Timer,
    state: Option<Configured>,
    last_markers: Instant,
}

async fn recv_handoff(rx: &mut Option<mpsc::Receiver<Handoff>>) -> Option<Handoff> {
    match rx {
        Some(rx) => rx.recv().await,
        None => futures::future::pending().await,
    }
}

impl ManagedNode for SharedControl {
    const NAME: &'static str = NODE_NAME;
    type Link = Option<mpsc::Receiver<Handoff>>;
    type ParamsError = SharedControlParamsError;
    type ConfigureError = ConfigureError;
    type Input = Input;

    fn param_specs() -> Vec<ParamSpec> {
        param_specs()
    }

    fn validate(params: &Params) -> Result<(), SharedControlParamsError> {
        SharedControlParams::from_params(params).map(|_| ())
    }

    fn create(node: &mut r2r::Node, params: &Params, setup: Setup<Self::Link>) -> anyhow::Result<Self> {
        let joy = Box::pin(node.subscribe::<Joy>("joy", sensor_qos())?);
        let assist = Box::pin(node.subscribe::<TwistStamped>("assist/cmd_vel", sensor_qos())?);
        let (skeletons, predictions): (BoxStream<HumanSkeletonArray>, BoxStream<IntentPredictionArray>) =
            match setup.link {
                Some(_) => (Box::pin(futures::stream::pending()), Box::pin(futures::stream::pending())),
                None => (
                    Box::pin(node.subscribe::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?),
                    Box::pin(node.subscribe::<IntentPredictionArray>("humans/intent", sensor_qos())?),
                ),
            };
        let out = Outputs {
            cmd: node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?,
            status: node.create_publisher::<SharedControlStatus>("shared_control/status", command_qos())?,
            markers: node.create_publisher::<MarkerArray>("shared_control/markers", command_qos())?,
        };
        let diagnostics = DiagnosticsPublisher::new(node, Duration::from_secs(1))?;
        let control_rate = params.f64_or("control_rate", 50.0).unwrap_or(50.0).clamp(1.0, 1000.0);
        let timer = node.create_wall_timer(Duration::from_secs_f64(1.0 / control_rate))?;
        Ok(SharedControl {
            joy,
            assist,
            skeletons,
            predictions,
            handoff: setup.link,
            out,
            diagnostics,
            timer,
            state: None,
            last_markers: Instant::now(),
        })
    }

    fn configure(&mut self, params: &Params) -> Result<(), ConfigureError> {
        let configured = Configured::new(SharedControlParams::from_params(params)?)?;
        info!("configured");
        self.state = Some(configured);
        Ok(())
    }

    fn activate(&mut self) -> CallbackResult {
        match self.state.as_mut() {
            Some(s) => {
                // Motion state starts from rest (nothing moved while inactive), and motion waits until the
                // operator releases and presses the deadman.
                s.inputs.restart();
                s.output.reset();
                info!("activated: waiting for the operator to release and press the deadman");
                CallbackResult::Success
            }
            None => CallbackResult::Failure,
        }
    }

    fn deactivate(&mut self, now: Stamp) {
        self.out.zero(now, Reason::Deactivated, &self.frame());
    }

    fn cleanup(&mut self) {
        self.state = None;
    }

    fn shutdown(&mut self, from: LifecycleState, now: Stamp) {
        if from == LifecycleState::Active {
            self.out.zero(now, Reason::Shutdown, &self.frame());
        }
        self.state = None;
    }

    fn params_changed(&mut self, params: &Params, _ctx: &Ctx) {
        // The change passed `validate` (the same conversion), so it converts and the controller accepts it.
        if let Some(s) = self.state.as_mut() {
            if let Ok(p) = SharedControlParams::from_params(params) {
                if s.inputs.set_config(p.controller.clone()).is_ok() {
                    s.params = p;
                }
            }
        }
    }

    async fn next_input(&mut self) -> anyhow::Result<Input> {
        Ok(tokio::select! {
            biased;
            msg = self.joy.next() => Input::Joy(msg.context("joy subscription closed")?),
            msg = self.assist.next() => Input::Assist(msg.context("assist subscription closed")?),
            msg = self.skeletons.next() => Input::Skeletons(msg.context("skeleton subscription closed")?),
            msg = self.predictions.next() => Input::Predictions(msg.context("prediction subscription closed")?),
            h = recv_handoff(&mut self.handoff) => Input::Handoff(h),
            tick = self.timer.tick() => {
                tick.context("control timer")?;
                Input::Tick
            }
        })
    }

    async fn handle(&mut self, input: Input, ctx: &Ctx<'_>) -> anyhow::Result<Flow> {
        let (clock, metrics) = (ctx.clock, &**ctx.metrics);
        let active = ctx.lifecycle.is_active();
        let mut tick = false;
        let arrival = match input {
            Input::Tick => {
                metrics.beat();
                let now = clock.now()?;
                if self.diagnostics.due() {
                    self.diagnostics.update(now, &statuses(ctx.lifecycle, self.state.as_mut(), now));
                }
                if !active {
                    return Ok(Flow::Continue);
                }
                tick = true;
                Instant::now()
            }
            // The predictor side ends first when the composed process shuts down: stop like on a signal.
            Input::Handoff(None) => {
                info!("hand-off from the predictor closed");
                return Ok(Flow::Stop);
            }
            input => {
                let Some(s) = self.state.as_mut().filter(|_| active) else { return Ok(Flow::Continue) };
                match s.accept(input, clock.now()?, metrics) {
                    Some(arrival) => arrival,
                    None => return Ok(Flow::Continue),
                }
            }
        };
        self.decide(arrival, tick, clock, metrics)?;
        Ok(Flow::Continue)
    }

    async fn on_shutdown(&mut self, ctx: &Ctx<'_>) -> anyhow::Result<()> {
        if ctx.lifecycle.is_active() {
            let now = ctx.clock.now()?;
            self.out.zero(now, Reason::Shutdown, &self.frame());
        }
        // Let the spinner serve DDS briefly so the reliable zero reaches matched subscribers.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    }
}
