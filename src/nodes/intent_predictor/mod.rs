//! The `intent_predictor` managed node: `humans/skeletons` in, `humans/intent` out.
//!
//! Per skeleton capture, all humans with a usable window go into one model call (ONNX Runtime on CPU or
//! CUDA, see [`intent_shared_control_inference`]); the predictions are published in the skeletons' frame,
//! stamped with the skeletons' stamp. `on_configure` loads the ONNX Runtime library, checks the model file
//! against its card (sha256, tensor contract) and warms it up; any failure leaves the node unconfigured with
//! the reason, unless `fallback` is `constant_velocity` (then the constant-velocity predictor runs and the
//! diagnostics say so).
//!
//! On a moving robot (`use_odometry`), the node also subscribes to `odom` (`nav_msgs/Odometry`, child frame =
//! the skeletons' frame) and keeps the humans' tracks in the odometry frame, so the robot's own motion does
//! not look like human motion to the model; the predictions still come out in the skeletons' frame. A capture
//! with no odometry pose at its stamp (none yet, too old, or more than `odometry_tolerance` newer than the
//! newest pose) gets no predictions (an empty array: the safety chain falls back to the standard's human
//! speed) and is counted.
//!
//! Files: this one holds the configured state (model, predictor, counters) and its diagnostics; `params` the
//! parameters and the model loading they describe; `node` the node on the host ([`crate::ros::managed_node`]):
//! its inputs and what it does with each.

mod forecast_check_status;
mod node;
mod params;

use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::health::{Level, RateMonitor};
use intent_shared_control_core::input::Rejection;
use intent_shared_control_core::model::constant_velocity::{ConstantVelocityConfig, ConstantVelocityModel};
use intent_shared_control_core::model::{IntentModel, PredictionSource};
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::Stamp;
use tracing::{info, warn};

pub use node::{run, run_node, ConfigureError, Input, PredictorNode, Wiring};
pub use params::{param_specs, resolve_share_path, PredictorParams, PredictorParamsError};

use crate::ros::diagnostics::{LatencyWindow, Status};
use crate::ros::lifecycle::LifecycleServer;
use crate::ros::managed_node::lifecycle_status;

pub const NODE_NAME: &str = "intent_predictor";

struct Configured {
    params: PredictorParams,
    predictor: IntentPredictor,
    model_version: String,
    /// The provider as configured: `cpu`, `cuda` (with `auto` routing: at least one batch size on CUDA) or
    /// `constant_velocity`.
    provider: String,
    /// With `auto` routing: `rows:provider` per batch-size bucket, e.g. `1:cpu 8:cpu 64:cuda`.
    routing: Option<String>,
    source: PredictionSource,
    degraded: Option<String>,
    rate: RateMonitor,
    latency: LatencyWindow,
    rejections: std::collections::BTreeMap<Rejection, u64>,
    /// The model card's forecast error bound: `None` when it states none (or the constant-velocity fallback
    /// runs), an error when the one it states is not usable.
    forecast_bound: Option<Result<(), String>>,
}

impl Configured {
    /// Counts a rejected input in the node's metrics and in its diagnostics.
    fn reject(&mut self, metrics: &crate::ros::metrics::Metrics, reason: Rejection) {
        metrics.reject(reason);
        *self.rejections.entry(reason).or_default() += 1;
    }
}

fn configure(p: PredictorParams) -> Result<Configured, ConfigureError> {
    let features = FeatureConfig {
        eviction_timeout_s: p.eviction_timeout,
        max_humans: p.limits.max_humans,
        ..FeatureConfig::default()
    };
    let mut routing = None;
    let mut bound = None;
    let (model, version, provider, source, degraded): (
        Box<dyn IntentModel + Send>,
        String,
        String,
        PredictionSource,
        Option<String>,
    ) = match p.load_model() {
        Ok((m, version)) => {
            let provider = m.provider().active.as_str().to_owned();
            routing = m.provider().routing.as_ref().map(ToString::to_string);
            bound = m.card().forecast_bound();
            (Box::new(m), version, provider, PredictionSource::Model, None)
        }
        Err(e) if p.fallback_constant_velocity => {
            let reason = format!("model not loaded ({e}); running the constant-velocity fallback");
            warn!("{reason}");
            let cv = ConstantVelocityModel::new(ConstantVelocityConfig::default())?;
            (
                Box::new(cv),
                "constant_velocity".into(),
                "constant_velocity".into(),
                PredictionSource::ConstantVelocity,
                Some(reason),
            )
        }
        Err(e) => return Err(e.into()),
    };
    let mut predictor = IntentPredictor::new(features, model, p.limits.max_humans)?;
    if let Some(o) = &p.odometry {
        predictor.use_odometry(o.clone())?;
    }
    let forecast_bound = bound.map(|b| match b {
        Ok(b) => {
            predictor.check_forecasts(b);
            Ok(())
        }
        Err(e) => {
            warn!("the model card's forecast error bound is not usable, forecasts are not checked: {e}");
            Err(e)
        }
    });
    info!(model = %version, provider = %provider, routing = routing.as_deref().unwrap_or("none"), "model loaded and warmed up");
    Ok(Configured {
        rate: RateMonitor::new(p.expected_skeleton_rate, p.rate_tolerance, 1.0),
        params: p,
        predictor,
        model_version: version,
        provider,
        routing,
        source,
        degraded,
        latency: LatencyWindow::new(),
        rejections: Default::default(),
        forecast_bound,
    })
}

fn statuses(lifecycle: &LifecycleServer, state: Option<&mut Configured>, now: Stamp) -> Vec<Status> {
    let mut out = vec![lifecycle_status(lifecycle)];
    let Some(s) = state else { return out };
    let mut model = Status::new(
        "model",
        if s.degraded.is_some() { Level::Warn } else { Level::Ok },
        s.degraded.clone().unwrap_or_else(|| format!("{} on {}", s.model_version, s.provider)),
    )
    .kv("model_version", &s.model_version)
    .kv("execution_provider", &s.provider)
    .kv("requested_provider", format!("{:?}", s.params.execution_provider).to_lowercase());
    if let Some(routing) = &s.routing {
        model = model.kv("routing", routing);
    }
    out.push(model);
    if lifecycle.is_active() {
        let mut rate = s.rate.check(now);
        if s.rate.rate(now) == 0.0 {
            // No skeletons at all: perception is not running (or nobody is in view of a tracker that sends
            // nothing). Nothing is predicted and shared_control holds the robot by its own rules; a warning, not
            // an error, so an idle robot does not look faulty.
            rate.level = rate.level.min(Level::Warn);
            rate.message = "none (nothing to predict)".into();
        }
        let (n, p50, p99) = s.latency.take();
        let c = s.predictor.counters();
        let total: u64 = s.rejections.values().sum();
        let mut st = Status::new(
            "inference",
            rate.level.max(if c.model_errors > 0 { Level::Warn } else { Level::Ok }),
            format!("skeletons {}", rate.message),
        )
        .kv("skeleton_rate_hz", format!("{:.1}", s.rate.rate(now)))
        .kv("inferences_in_window", n)
        .kv("inference_latency_p50_us", p50)
        .kv("inference_latency_p99_us", p99)
        .kv("predictions_total", c.predictions)
        .kv("rejected_rows", c.rejected_rows)
        .kv("model_errors", c.model_errors)
        .kv("tracked_humans", s.predictor.tracked_humans())
        .kv("captures_without_odometry_pose", c.no_pose)
        .kv("rejections_total", total);
        for (k, v) in &s.rejections {
            st = st.kv(&format!("rejected_{k}"), v);
        }
        out.push(st);
        out.push(forecast_status(s));
        if s.predictor.uses_odometry() {
            let age = s.predictor.newest_odometry().map(|t| now.seconds_since(t));
            let count = |r: Rejection| s.rejections.get(&r).copied().unwrap_or(0);
            let (bad, ahead) = (count(Rejection::BadOdometry), count(Rejection::OdometryFutureStamp));
            let (level, message) = match age {
                None if bad + ahead > 0 => (
                    Level::Warn,
                    format!(
                        "no odometry accepted: {bad} rejected as unusable (frames `{}` ← `{}` expected), {ahead} stamped ahead of the clock: no predictions",
                        s.params.odometry_frame, s.params.limits.expected_frame
                    ),
                ),
                None => (Level::Warn, "no odometry received: no predictions".to_owned()),
                Some(a) if a > s.params.odometry.as_ref().map_or(0.1, |o| o.max_extrapolation_s) + 0.1 => {
                    (Level::Warn, format!("odometry {a:.2} s old: captures are not predicted"))
                }
                Some(a) => (Level::Ok, format!("odometry {:.0} ms old", a * 1e3)),
            };
            let stats = s.predictor.odometry_stats().unwrap_or_default();
            out.push(
                Status::new("odometry", level, message)
                    .kv("odometry_age_s", age.map_or("none".to_owned(), |a| format!("{a:.3}")))
                    .kv("poses_accepted", stats.accepted)
                    .kv("poses_rejected_non_finite", stats.rejected_non_finite)
                    .kv("poses_rejected_out_of_order", stats.rejected_out_of_order)
                    .kv("poses_rejected_bad", bad)
                    .kv("poses_rejected_future_stamp", ahead)
                    .kv("captures_without_pose", c.no_pose),
            );
        }
    }
    out
}

/// The run-time check of the forecasts against the model card's error bound (see
/// [`intent_shared_control_core::forecast_check`]): a warning while the alarm of some look-ahead is raised (the
/// evidence that errors above the bound come more often than the card's quantile allows). It changes nothing
/// the chain does (forecasts only add restrictions).
fn forecast_status(s: &Configured) -> Status {
    let check = match (&s.forecast_bound, s.predictor.forecast_check()) {
        (Some(Err(e)), _) => {
            return Status::new(
                "forecast_check",
                Level::Warn,
                format!("the model card's error bound is not usable: {e}"),
            )
        }
        (_, Some(c)) => c,
        _ => {
            let why = match s.source {
                PredictionSource::Model => "the model card states no forecast error bound: forecasts not checked",
                PredictionSource::ConstantVelocity => "constant-velocity fallback: no forecast error bound to check",
            };
            return Status::new("forecast_check", Level::Ok, why);
        }
    };
    forecast_check_status::status(&forecast_check_status::Counts::of(check, s.predictor.uses_odometry()))
}
