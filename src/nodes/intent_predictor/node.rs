//! The predictor on the managed-node host ([`crate::ros::managed_node`]): its inputs and what it does with
//! each.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt;
use intent_shared_control_core::features::FeatureError;
use intent_shared_control_core::health::RateMonitor;
use intent_shared_control_core::input::{InputKind, Rejection};
use intent_shared_control_core::model::{ModelError, PredictionSource};
use intent_shared_control_core::odometry::OdometryError;
use intent_shared_control_core::predictor::PredictError;
use intent_shared_control_inference::InferenceError;
use r2r::intent_shared_control_msgs::msg::{HumanSkeletonArray, IntentPredictionArray};
use r2r::nav_msgs::msg::Odometry;
use r2r::std_msgs::msg::Header;
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::warn;

use super::{configure, param_specs, statuses, Configured, PredictorParams, PredictorParamsError, NODE_NAME};
use crate::nodes::handoff::Handoff;
use crate::ros::convert::{self, SkeletonLimits};
use crate::ros::diagnostics::DiagnosticsPublisher;
use crate::ros::managed_node::{run_managed, run_standalone, Ctx, Flow, ManagedNode, Setup};
use crate::ros::node_util::sensor_qos;
use crate::ros::param_server::ParamSpec;
use crate::ros::params::Params;

/// How the node is connected; the link, in the composed executable, sends every capture (with its
/// predictions, empty when inactive) to shared_control in memory.
pub type Wiring = crate::ros::managed_node::Wiring<Option<mpsc::Sender<Handoff>>>;

/// Runs the node as its own process until SIGINT/SIGTERM.
pub async fn run(ctx: r2r::Context) -> anyhow::Result<()> {
    run_standalone::<PredictorNode>(ctx).await
}

/// Runs the node until `shutdown`.
pub async fn run_node(node: r2r::Node, wiring: Wiring, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    run_managed::<PredictorNode>(node, wiring, shutdown).await
}

/// Why `on_configure` failed.
#[derive(Debug, Error)]
pub enum ConfigureError {
    #[error(transparent)]
    Params(#[from] PredictorParamsError),
    /// The model could not be loaded and no fallback is configured.
    #[error("model not loaded: {0}")]
    Model(#[from] InferenceError),
    /// The constant-velocity fallback refused its configuration.
    #[error("constant-velocity fallback: {0}")]
    Fallback(#[from] ModelError),
    #[error("feature pipeline: {0}")]
    Features(#[from] FeatureError),
    #[error("odometry: {0}")]
    Odometry(#[from] OdometryError),
}

type BoxStream<T> = Pin<Box<dyn futures::Stream<Item = T> + Send>>;

/// One input of the node.
pub enum Input {
    Skeletons(HumanSkeletonArray),
    Odometry(Odometry),
    /// The diagnostics timer.
    Tick,
}

/// The `intent_predictor` node.
pub struct PredictorNode {
    skeletons: BoxStream<HumanSkeletonArray>,
    odom: BoxStream<Odometry>,
    intent_pub: r2r::Publisher<IntentPredictionArray>,
    diagnostics: DiagnosticsPublisher,
    diag_timer: r2r::Timer,
    handoff: Option<mpsc::Sender<Handoff>>,
    /// Limits used for forwarding while not configured (composed wiring).
    default_limits: SkeletonLimits,
    state: Option<Configured>,
}

impl ManagedNode for PredictorNode {
    const NAME: &'static str = NODE_NAME;
    type Link = Option<mpsc::Sender<Handoff>>;
    type ParamsError = PredictorParamsError;
    type ConfigureError = ConfigureError;
    type Input = Input;

    fn param_specs() -> Vec<ParamSpec> {
        param_specs()
    }

    fn validate(params: &Params) -> Result<(), PredictorParamsError> {
        PredictorParams::from_params(params).map(|_| ())
    }

    fn create(node: &mut r2r::Node, params: &Params, setup: Setup<Self::Link>) -> anyhow::Result<Self> {
        let skeletons = Box::pin(node.subscribe::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?);
        // Only a node that uses odometry subscribes to it (the parameter is read-only).
        let odom: BoxStream<Odometry> = if params.bool_or("use_odometry", false).unwrap_or(false) {
            Box::pin(node.subscribe::<Odometry>("odom", sensor_qos())?)
        } else {
            Box::pin(futures::stream::pending())
        };
        let intent_pub = node.create_publisher::<IntentPredictionArray>("humans/intent", sensor_qos())?;
        let diagnostics = DiagnosticsPublisher::new(node, Duration::from_secs(1))?;
        let diag_timer = node.create_wall_timer(Duration::from_millis(100))?;
        let default_limits = PredictorParams::from_params(params)
            .map(|p| p.limits)
            .unwrap_or(SkeletonLimits { max_humans: 64, expected_frame: "base_link".into() });
        Ok(PredictorNode {
            skeletons,
            odom,
            intent_pub,
            diagnostics,
            diag_timer,
            handoff: setup.link,
            default_limits,
            state: None,
        })
    }

    fn configure(&mut self, params: &Params) -> Result<(), ConfigureError> {
        let p = PredictorParams::from_params(params)?;
        self.state = Some(configure(p)?);
        Ok(())
    }

    fn cleanup(&mut self) {
        self.state = None;
    }

    fn params_changed(&mut self, params: &Params, _ctx: &Ctx) {
        if let (Some(s), Ok(p)) = (self.state.as_mut(), PredictorParams::from_params(params)) {
            s.rate = RateMonitor::new(p.expected_skeleton_rate, p.rate_tolerance, 1.0);
            s.params = p;
        }
    }

    async fn next_input(&mut self) -> anyhow::Result<Input> {
        Ok(tokio::select! {
            biased;
            msg = self.skeletons.next() => Input::Skeletons(msg.context("skeleton subscription closed")?),
            msg = self.odom.next() => Input::Odometry(msg.context("odometry subscription closed")?),
            tick = self.diag_timer.tick() => {
                tick.context("diagnostics timer")?;
                Input::Tick
            }
        })
    }

    async fn handle(&mut self, input: Input, ctx: &Ctx<'_>) -> anyhow::Result<Flow> {
        match input {
            Input::Skeletons(msg) => self.on_skeletons(msg, ctx)?,
            Input::Odometry(msg) => self.on_odometry(msg, ctx)?,
            Input::Tick => {
                ctx.metrics.beat();
                if self.diagnostics.due() {
                    let now = ctx.clock.now()?;
                    self.diagnostics.update(now, &statuses(ctx.lifecycle, self.state.as_mut(), now));
                }
            }
        }
        Ok(Flow::Continue)
    }
}

impl PredictorNode {
    fn on_skeletons(&mut self, msg: HumanSkeletonArray, ctx: &Ctx) -> anyhow::Result<()> {
        let metrics = ctx.metrics;
        let arrival = Instant::now();
        let active = ctx.lifecycle.is_active();
        let limits = self.state.as_ref().map_or(&self.default_limits, |s| &s.params.limits);
        let frame = match convert::skeletons_from_msg(&msg, limits) {
            Ok(f) => f,
            Err(e) => {
                match self.state.as_mut() {
                    Some(s) => s.reject(metrics, e.reason()),
                    None => metrics.reject(e.reason()),
                }
                warn!("skeletons rejected: {e}");
                return Ok(());
            }
        };
        if let Some(tx) = &self.handoff {
            if tx.try_send(Handoff::Skeletons { frame: frame.clone(), arrival }).is_err() {
                metrics.reject(Rejection::HandoffFull);
            }
        }
        let mut predictions = Vec::new();
        let Some(s) = self.state.as_mut().filter(|_| active) else { return Ok(()) };
        let now = ctx.clock.now()?;
        if frame.stamp.seconds_since(now) > s.params.max_future {
            // Kept, it would hold back every later capture of its people as out of order until the clock
            // caught up; it is neither predicted nor published.
            s.reject(metrics, Rejection::FutureStamp(InputKind::Skeletons));
            warn!("skeletons rejected: stamped {:.3} s ahead of the clock", frame.stamp.seconds_since(now));
            return Ok(());
        }
        s.rate.tick(now);
        let t0 = Instant::now();
        match s.predictor.predict_capture(&frame) {
            Ok(p) => predictions = p,
            Err(PredictError::Model(e)) => {
                s.reject(metrics, Rejection::ModelError);
                warn!("prediction failed: {e}");
            }
            Err(PredictError::NoPose(e)) => {
                s.reject(metrics, Rejection::NoOdometryPose);
                warn!("capture not predicted: {e}");
            }
        }
        let dt = t0.elapsed();
        s.latency.record(dt);
        metrics.inference_latency.observe(dt.as_secs_f64());
        let out = IntentPredictionArray {
            header: Header { stamp: msg.header.stamp.clone(), frame_id: msg.header.frame_id.clone() },
            predictions: predictions.iter().map(|p| convert::prediction_to_msg(p, s.source)).collect(),
            model_version: s.model_version.clone(),
            // With `auto` routing the model names the backend of its latest call (this capture's, if it had rows).
            execution_provider: match s.source {
                PredictionSource::Model => s.predictor.info().provider.clone(),
                PredictionSource::ConstantVelocity => s.provider.clone(),
            },
            inference_time: dt.as_secs_f32(),
        };
        if let Err(e) = self.intent_pub.publish(&out) {
            warn!("publishing humans/intent failed: {e}");
        }
        if let Some(tx) = &self.handoff {
            let stamp = convert::stamp_from_msg(&msg.header.stamp);
            if tx.try_send(Handoff::Predictions { stamp, predictions, arrival }).is_err() {
                metrics.reject(Rejection::HandoffFull);
            }
        }
        Ok(())
    }

    fn on_odometry(&mut self, msg: Odometry, ctx: &Ctx) -> anyhow::Result<()> {
        let metrics = ctx.metrics;
        let Some(s) = self.state.as_mut().filter(|s| s.predictor.uses_odometry()) else { return Ok(()) };
        match convert::odometry_from_msg(&msg, &s.params.odometry_frame, &s.params.limits.expected_frame) {
            Ok(o) if o.stamp.seconds_since(ctx.clock.now()?) > s.params.max_future => {
                // Kept, it would hold back every later pose as out of order until the clock caught up.
                s.reject(metrics, Rejection::OdometryFutureStamp);
                warn!("odometry rejected: stamped ahead of the clock");
            }
            Ok(o) => {
                if !s.predictor.push_odometry(o.stamp, o.x, o.y, o.yaw) {
                    s.reject(metrics, Rejection::OdometryOutOfOrder);
                }
            }
            Err(e) => {
                s.reject(metrics, e.reason());
                warn!("odometry rejected: {e}");
            }
        }
        Ok(())
    }
}
