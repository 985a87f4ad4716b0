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

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt;
use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::health::{Level, RateMonitor};
use intent_shared_control_core::lifecycle::{transition_id, Callback, CallbackResult};
use intent_shared_control_core::model::constant_velocity::{ConstantVelocityConfig, ConstantVelocityModel};
use intent_shared_control_core::model::{IntentModel, PredictionSource};
use intent_shared_control_core::odometry::OdometryConfig;
use intent_shared_control_core::predictor::{IntentPredictor, PredictError};
use intent_shared_control_core::Stamp;
use intent_shared_control_inference::{
    load_card, model_path_for_card, ExecutionProviderKind, OrtIntentModel, OrtModelConfig, OrtRuntime,
};
use r2r::intent_shared_control_msgs::msg::{HumanSkeletonArray, IntentPredictionArray};
use r2r::nav_msgs::msg::Odometry;
use r2r::std_msgs::msg::Header;
use r2r::ParameterValue;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::convert::{self, SkeletonLimits};
use crate::diagnostics::{DiagnosticsPublisher, LatencyWindow, Status};
use crate::lifecycle::LifecycleServer;
use crate::metrics::{self, Metrics};
use crate::node_util::{sensor_qos, shutdown_signal, spawn_node_spinner, NodeClock};
use crate::param_server::{use_sim_time_spec, ParamServer, ParamSpec, Range};
use crate::params::Params;
use crate::shared_control_node::Handoff;

pub const NODE_NAME: &str = "intent_predictor";

/// Declared parameters.
pub fn param_specs() -> Vec<ParamSpec> {
    use ParameterValue::{Bool, Double, Integer, String as Str};
    vec![
        use_sim_time_spec(),
        ParamSpec::new("autostart", "configure and activate at start-up without a supervisor", Bool(false)).read_only(),
        ParamSpec::new("model_card", "model card JSON (labels, tensor contract, sha256); relative paths are also looked up in the package share directory", Str("models/intent_model.card.json".into())).read_only(),
        ParamSpec::new("model_path", "ONNX model; empty = the card's onnx_file next to the card", Str(String::new())).read_only(),
        ParamSpec::new("onnxruntime_library", "ONNX Runtime shared library (path or dlopen name); empty = $ISC_ORT_LIB or libonnxruntime.so.1.31.1", Str(String::new())).read_only(),
        ParamSpec::new("execution_provider", "cpu | cuda (fails if CUDA cannot load) | auto (CPU and CUDA, each batch size on the one timed faster at configure; CPU only if CUDA cannot load)", Str("cpu".into())).read_only(),
        ParamSpec::new("intra_threads", "ONNX Runtime CPU threads per call [-]", Integer(1)).range(Range::Int(1, 64)).read_only(),
        ParamSpec::new("fallback", "what runs when the model cannot be loaded: none (stay unconfigured) | constant_velocity", Str("none".into())).read_only(),
        ParamSpec::new("max_humans", "most humans predicted per capture; larger arrays are rejected [-]", Integer(64)).range(Range::Int(1, 1024)).read_only(),
        ParamSpec::new("skeleton_frame_id", "frame the skeleton keypoints must be in", Str("base_link".into())).read_only(),
        ParamSpec::new("use_odometry", "keep the humans' tracks in the odometry frame (subscribes to `odom`, nav_msgs/Odometry); needed on a robot that moves", Bool(false)).read_only(),
        ParamSpec::new("odometry_tolerance", "longest extrapolation of the newest odometry pose to a newer skeleton stamp [s]", Double(0.1)).range(Range::Float(0.0, 1.0)).read_only(),
        ParamSpec::new("eviction_timeout", "a human not seen for this long is forgotten [s]", Double(1.0)).range(Range::Float(0.05, 60.0)).read_only(),
        ParamSpec::new("expected_skeleton_rate", "skeleton rate the diagnostics expect [Hz]", Double(30.0)).range(Range::Float(0.1, 10000.0)),
        ParamSpec::new("rate_tolerance", "allowed relative deviation from the expected rate [-]", Double(0.3)).range(Range::Float(0.0, 1.0)),
        ParamSpec::new("metrics_port", "port of /metrics and /health on 127.0.0.1 (0 = any free port, -1 = off)", Integer(-1)).range(Range::Int(-1, 65535)).read_only(),
    ]
}

/// Validated parameters.
#[derive(Clone, Debug)]
pub struct PredictorParams {
    pub model_card: PathBuf,
    pub model_path: Option<PathBuf>,
    pub onnxruntime_library: PathBuf,
    pub execution_provider: ExecutionProviderKind,
    pub intra_threads: usize,
    pub fallback_constant_velocity: bool,
    pub limits: SkeletonLimits,
    pub eviction_timeout: f64,
    /// `Some`: tracks kept in the odometry frame.
    pub odometry: Option<OdometryConfig>,
    pub expected_skeleton_rate: f64,
    pub rate_tolerance: f64,
}

/// Resolves a model or card path as ROS users expect: an absolute path as given; a relative one under
/// `share/intent_shared_control/` of the first AMENT_PREFIX_PATH entry that has it (where colcon installs the
/// models), so the node finds its files from any working directory; failing that, relative to the working
/// directory (a source checkout that is not installed).
pub fn resolve_share_path(p: &str) -> PathBuf {
    resolve_share_path_in(p, &std::env::var("AMENT_PREFIX_PATH").unwrap_or_default())
}

fn resolve_share_path_in(p: &str, ament_prefix_path: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.is_absolute() {
        return path;
    }
    ament_prefix_path
        .split(':')
        .filter(|s| !s.is_empty())
        .map(|prefix| Path::new(prefix).join("share/intent_shared_control").join(&path))
        .find(|c| c.exists())
        .unwrap_or(path)
}

impl PredictorParams {
    pub fn from_params(p: &Params) -> Result<Self, String> {
        let e = |e: crate::params::ParamError| e.to_string();
        let provider = p.string_or("execution_provider", "cpu").map_err(e)?;
        let execution_provider = match provider.as_str() {
            "cpu" => ExecutionProviderKind::Cpu,
            "cuda" => ExecutionProviderKind::Cuda,
            "auto" => ExecutionProviderKind::Auto,
            other => return Err(format!("`execution_provider` must be cpu, cuda or auto, got `{other}`")),
        };
        let fallback = p.string_or("fallback", "none").map_err(e)?;
        let fallback_constant_velocity = match fallback.as_str() {
            "none" => false,
            "constant_velocity" => true,
            other => return Err(format!("`fallback` must be none or constant_velocity, got `{other}`")),
        };
        let lib = p.string_or("onnxruntime_library", "").map_err(e)?;
        let onnxruntime_library = if lib.is_empty() {
            PathBuf::from(std::env::var("ISC_ORT_LIB").unwrap_or_else(|_| "libonnxruntime.so.1.31.1".into()))
        } else {
            PathBuf::from(lib)
        };
        let model_path = p.string_or("model_path", "").map_err(e)?;
        Ok(PredictorParams {
            model_card: resolve_share_path(&p.string_or("model_card", "models/intent_model.card.json").map_err(e)?),
            model_path: (!model_path.is_empty()).then(|| resolve_share_path(&model_path)),
            onnxruntime_library,
            execution_provider,
            intra_threads: p.index_or("intra_threads", 1).map_err(e)?,
            fallback_constant_velocity,
            limits: SkeletonLimits {
                max_humans: p.index_or("max_humans", 64).map_err(e)?,
                expected_frame: p.string_or("skeleton_frame_id", "base_link").map_err(e)?,
            },
            eviction_timeout: p.f64_or("eviction_timeout", 1.0).map_err(e)?,
            odometry: if p.bool_or("use_odometry", false).map_err(e)? {
                Some(OdometryConfig {
                    max_extrapolation_s: p.f64_or("odometry_tolerance", 0.1).map_err(e)?,
                    ..OdometryConfig::default()
                })
            } else {
                None
            },
            expected_skeleton_rate: p.f64_or("expected_skeleton_rate", 30.0).map_err(e)?,
            rate_tolerance: p.f64_or("rate_tolerance", 0.3).map_err(e)?,
        })
    }

    /// Loads the ONNX model (library, card, sha256, contract, warm-up).
    pub fn load_model(&self) -> anyhow::Result<(OrtIntentModel, String)> {
        let runtime = OrtRuntime::init(&self.onnxruntime_library)?;
        let card = load_card(&self.model_card)?;
        let model_path = self.model_path.clone().unwrap_or_else(|| model_path_for_card(&self.model_card, &card));
        let version = format!("{} {} ({})", card.name, card.version, card.sha256.get(..12).unwrap_or(&card.sha256));
        let mut cfg = OrtModelConfig::cpu(model_path);
        cfg.execution_provider = self.execution_provider;
        cfg.intra_threads = self.intra_threads;
        cfg.max_batch = self.limits.max_humans;
        let model = OrtIntentModel::load(&runtime, card, cfg)?;
        if let Some(reason) = &model.provider().fallback_reason {
            warn!("execution provider `auto` runs on CPU: {reason}");
        }
        if let Some(routing) = &model.provider().routing {
            let us = |t: Option<f64>| t.map_or("-".to_owned(), |t| format!("{t:.0}"));
            let measured = routing
                .entries()
                .iter()
                .map(|e| {
                    format!(
                        "{} rows: cpu {} µs, cuda {} µs -> {}",
                        e.rows,
                        us(e.cpu_median_us),
                        us(e.gpu_median_us),
                        e.provider.as_str()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            info!(routing = %routing, "execution provider `auto` routes each batch to the backend that was faster at its size (medians timed at load: {measured})");
        }
        Ok((model, version))
    }
}

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
    rejections: std::collections::BTreeMap<&'static str, u64>,
}

fn configure(p: PredictorParams) -> Result<Configured, String> {
    let features = FeatureConfig {
        eviction_timeout_s: p.eviction_timeout,
        max_humans: p.limits.max_humans,
        ..FeatureConfig::default()
    };
    let mut routing = None;
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
            (Box::new(m), version, provider, PredictionSource::Model, None)
        }
        Err(e) if p.fallback_constant_velocity => {
            let reason = format!("model not loaded ({e:#}); running the constant-velocity fallback");
            warn!("{reason}");
            let cv = ConstantVelocityModel::new(ConstantVelocityConfig::default()).map_err(|e| e.to_string())?;
            (
                Box::new(cv),
                "constant_velocity".into(),
                "constant_velocity".into(),
                PredictionSource::ConstantVelocity,
                Some(reason),
            )
        }
        Err(e) => return Err(format!("{e:#}")),
    };
    let mut predictor = IntentPredictor::new(features, model, p.limits.max_humans).map_err(|e| e.to_string())?;
    if let Some(o) = &p.odometry {
        predictor.use_odometry(o.clone()).map_err(|e| e.to_string())?;
    }
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
    })
}

/// Runs the node as its own process until SIGINT/SIGTERM.
pub async fn run(ctx: r2r::Context) -> anyhow::Result<()> {
    let node = r2r::Node::create(ctx, NODE_NAME, "").context("creating the node")?;
    run_node(node, None, Arc::new(Metrics::new()), true, shutdown_signal()).await
}

/// Runs the node until `shutdown`. `handoff`: in the composed executable, every capture (with its predictions,
/// empty when inactive) also goes to shared_control in memory.
pub async fn run_node(
    mut node: r2r::Node,
    handoff: Option<mpsc::Sender<Handoff>>,
    metrics: Arc<Metrics>,
    serve_metrics: bool,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    crate::node_util::use_node_logger(&mut node);
    let clock = NodeClock::new(&node);
    let (mut params, startup) = ParamServer::new(&mut node, param_specs(), clock.clone())?;
    crate::node_util::apply_use_sim_time(&mut node, &params.params())?;
    let mut lifecycle = LifecycleServer::new(&mut node, clock.clone())?;
    let mut skeleton_sub = node.subscribe::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?;
    // Only a node that uses odometry subscribes to it (the parameter is read-only).
    let mut odom_sub: std::pin::Pin<Box<dyn futures::Stream<Item = Odometry> + Send>> =
        if params.params().bool_or("use_odometry", false).unwrap_or(false) {
            Box::pin(node.subscribe::<Odometry>("odom", sensor_qos())?)
        } else {
            Box::pin(futures::stream::pending())
        };
    let intent_pub = node.create_publisher::<IntentPredictionArray>("humans/intent", sensor_qos())?;
    let mut diagnostics = DiagnosticsPublisher::new(&mut node, Duration::from_secs(1))?;
    let mut diag_timer = node.create_wall_timer(Duration::from_millis(100))?;
    let start_params = params.params();
    let stop = Arc::new(AtomicBool::new(false));
    let (spinner, sim_time) = spawn_node_spinner(node, stop.clone());
    if serve_metrics {
        if let Ok(port) = start_params.i64_or("metrics_port", -1) {
            if port >= 0 {
                metrics::serve(metrics.clone(), port as u16, Duration::from_secs(2))?;
            }
        }
    }
    // Limits used for forwarding while not configured (composed wiring).
    let default_limits = PredictorParams::from_params(&start_params)
        .map(|p| p.limits)
        .unwrap_or(SkeletonLimits { max_humans: 64, expected_frame: "base_link".into() });

    let mut state: Option<Configured> = None;
    let configure_errors = crate::node_util::RepeatFilter::default();
    let callbacks = |cb: Callback, state: &mut Option<Configured>, params: &ParamServer| -> CallbackResult {
        match cb {
            Callback::Configure => {
                if let Err(e) = &startup {
                    configure_errors.error(format!("cannot configure: invalid parameters: {e}"));
                    return CallbackResult::Failure;
                }
                match PredictorParams::from_params(&params.params()).and_then(configure) {
                    Ok(c) => {
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
            Callback::Activate | Callback::Deactivate => CallbackResult::Success,
            Callback::Cleanup | Callback::Shutdown(_) | Callback::Error(_) => {
                *state = None;
                CallbackResult::Success
            }
        }
    };
    if start_params.bool_or("autostart", false).unwrap_or(false) {
        for id in [transition_id::CONFIGURE, transition_id::ACTIVATE] {
            let _ = lifecycle.trigger(id, "", |cb| callbacks(cb, &mut state, &params));
        }
    }
    metrics.set_lifecycle_state(NODE_NAME, lifecycle.state().id());

    tokio::pin!(shutdown);
    loop {
        // Let the other nodes of a composed process run between two messages: the subscription streams are not
        // tokio resources (no cooperative budget), so a steady input flood would otherwise never return
        // Pending and starve shared_control and the supervisor polled in the same task.
        tokio::task::yield_now().await;
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            req = lifecycle.next_change() => {
                let req = req?;
                lifecycle.apply(req, |cb| callbacks(cb, &mut state, &params));
                metrics.set_lifecycle_state(NODE_NAME, lifecycle.state().id());
            }
            r = params.next_change(&|p| PredictorParams::from_params(p).map(|_| ())) => {
                r?;
                sim_time.forward(&mut params);
                if let (Some(s), Ok(p)) = (state.as_mut(), PredictorParams::from_params(&params.params())) {
                    s.rate = RateMonitor::new(p.expected_skeleton_rate, p.rate_tolerance, 1.0);
                    s.params = p;
                }
            }
            msg = skeleton_sub.next() => {
                let Some(msg) = msg else { bail!("skeleton subscription closed") };
                let arrival = Instant::now();
                let active = lifecycle.is_active();
                let limits = state.as_ref().map_or(&default_limits, |s| &s.params.limits);
                let frame = match convert::skeletons_from_msg(&msg, limits) {
                    Ok(f) => f,
                    Err(e) => {
                        metrics.reject(e.reason());
                        if let Some(s) = state.as_mut() { *s.rejections.entry(e.reason()).or_default() += 1; }
                        warn!("skeletons rejected: {e}");
                        continue;
                    }
                };
                if let Some(tx) = &handoff {
                    if tx.try_send(Handoff::Skeletons { frame: frame.clone(), arrival }).is_err() {
                        metrics.reject("handoff_full");
                    }
                }
                let mut predictions = Vec::new();
                if let Some(s) = state.as_mut().filter(|_| active) {
                    s.rate.tick(clock.now()?);
                    let t0 = Instant::now();
                    match s.predictor.predict_capture(&frame) {
                        Ok(p) => predictions = p,
                        Err(PredictError::Model(e)) => {
                            metrics.reject("model_error");
                            *s.rejections.entry("model_error").or_default() += 1;
                            warn!("prediction failed: {e}");
                        }
                        Err(PredictError::NoPose(e)) => {
                            metrics.reject("no_odometry_pose");
                            *s.rejections.entry("no_odometry_pose").or_default() += 1;
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
                    if let Err(e) = intent_pub.publish(&out) { warn!("publishing humans/intent failed: {e}"); }
                    if let Some(tx) = &handoff {
                        let stamp = convert::stamp_from_msg(&msg.header.stamp);
                        if tx.try_send(Handoff::Predictions { stamp, predictions, arrival }).is_err() {
                            metrics.reject("handoff_full");
                        }
                    }
                }
            }
            msg = odom_sub.next() => {
                let Some(msg) = msg else { bail!("odometry subscription closed") };
                let Some(s) = state.as_mut().filter(|s| s.predictor.uses_odometry()) else { continue };
                match convert::odometry_from_msg(&msg, &s.params.limits.expected_frame) {
                    Ok(o) => {
                        if !s.predictor.push_odometry(o.stamp, o.x, o.y, o.yaw) {
                            metrics.reject("odometry_out_of_order");
                            *s.rejections.entry("odometry_out_of_order").or_default() += 1;
                        }
                    }
                    Err(e) => {
                        metrics.reject(e.reason());
                        *s.rejections.entry(e.reason()).or_default() += 1;
                        warn!("odometry rejected: {e}");
                    }
                }
            }
            tick = diag_timer.tick() => {
                tick.context("diagnostics timer")?;
                metrics.beat();
                if diagnostics.due() {
                    let now = clock.now()?;
                    diagnostics.update(now, &statuses(&lifecycle, state.as_mut(), now));
                }
            }
        }
    }
    info!("shutting down");
    stop.store(true, Ordering::Relaxed);
    let _node = spinner.join().map_err(|_| anyhow::anyhow!("spin thread panicked"))?;
    Ok(())
}

fn statuses(lifecycle: &LifecycleServer, state: Option<&mut Configured>, now: Stamp) -> Vec<Status> {
    let lc = lifecycle.state();
    let mut out =
        vec![Status::new("lifecycle", if lifecycle.is_active() { Level::Ok } else { Level::Warn }, lc.label())
            .kv("state_id", lc.id())];
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
        if s.predictor.uses_odometry() {
            let age = s.predictor.newest_odometry().map(|t| now.seconds_since(t));
            let (level, message) = match age {
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
                    .kv("captures_without_pose", c.no_pose),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_model_paths_resolve_in_the_share_directory_first() {
        let dir = std::env::temp_dir().join(format!("isc_share_path_{}", std::process::id()));
        let share = dir.join("prefix/share/intent_shared_control/models");
        std::fs::create_dir_all(&share).expect("creating a prefix");
        std::fs::write(share.join("m.card.json"), "{}").expect("writing a card");
        let prefixes = format!("/nonexistent:{}", dir.join("prefix").display());
        // found under the first prefix that has it, whatever the working directory
        assert_eq!(resolve_share_path_in("models/m.card.json", &prefixes), share.join("m.card.json"));
        // absolute paths as given; not installed: relative to the working directory
        assert_eq!(resolve_share_path_in("/abs/m.card.json", &prefixes), PathBuf::from("/abs/m.card.json"));
        assert_eq!(resolve_share_path_in("models/other.json", &prefixes), PathBuf::from("models/other.json"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
