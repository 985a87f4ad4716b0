//! Prometheus metrics and HTTP health endpoints on 127.0.0.1.
//!
//! `GET /metrics` (Prometheus text format), `GET /health/live` (200 while the process's control loop keeps
//! beating), `GET /health/ready` (200 while every managed node is Active). Served from a small thread with
//! `tiny_http`; the metric types come from `prometheus-client`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use intent_shared_control_core::input::Rejection;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tracing::{info, warn};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabel {
    pub node: String,
}

/// The process's metrics. Cheap to update from the control loop (atomics).
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Input arrival → cmd_vel publication \[s\].
    pub decision_latency: Histogram,
    /// Feature extraction + model call per skeleton capture \[s\].
    pub inference_latency: Histogram,
    /// Inputs rejected before reaching the core, by reason.
    pub rejections: Family<ReasonLabel, Counter>,
    /// Times a rule started acting on the command (a rule acting over many cycles counts once), by rule.
    pub interventions: Family<ReasonLabel, Counter>,
    /// Protective stops started (shared_control entering Stop, the supervisor starting its zero commands).
    pub stops: Counter,
    /// Lifecycle state id (lifecycle_msgs/State) per node.
    pub lifecycle_state: Family<NodeLabel, Gauge>,
    heartbeat_ms: AtomicU64,
    ready: AtomicBool,
    epoch: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let decision_latency = Histogram::new(exponential_buckets(10e-6, 2.0, 16));
        let inference_latency = Histogram::new(exponential_buckets(10e-6, 2.0, 16));
        let rejections = Family::<ReasonLabel, Counter>::default();
        let interventions = Family::<ReasonLabel, Counter>::default();
        let stops = Counter::default();
        let lifecycle_state = Family::<NodeLabel, Gauge>::default();
        let mut registry = Registry::with_prefix("intent_shared_control");
        registry.register("decision_latency_seconds", "Input arrival to cmd_vel publication", decision_latency.clone());
        registry.register(
            "inference_latency_seconds",
            "Feature extraction and model call per skeleton capture",
            inference_latency.clone(),
        );
        registry.register("rejections", "Inputs rejected before reaching the core, by reason", rejections.clone());
        registry.register(
            "safety_interventions",
            "Times a rule started acting on the command (counted once per episode), by rule",
            interventions.clone(),
        );
        registry.register(
            "stops",
            "Protective stops started (Stop entered, supervisor zero commands started)",
            stops.clone(),
        );
        registry.register(
            "lifecycle_state",
            "Lifecycle state id (lifecycle_msgs/State) per node",
            lifecycle_state.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            decision_latency,
            inference_latency,
            rejections,
            interventions,
            stops,
            lifecycle_state,
            heartbeat_ms: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            epoch: Instant::now(),
        }
    }

    pub fn reject(&self, reason: Rejection) {
        self.rejections.get_or_create(&ReasonLabel { reason: reason.name().to_owned() }).inc();
    }

    pub fn intervention(&self, reason: &str) {
        self.interventions.get_or_create(&ReasonLabel { reason: reason.to_owned() }).inc();
    }

    pub fn set_lifecycle_state(&self, node: &str, state_id: u8) {
        self.lifecycle_state.get_or_create(&NodeLabel { node: node.to_owned() }).set(i64::from(state_id));
    }

    /// Marks the control loop as alive now.
    pub fn beat(&self) {
        self.heartbeat_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    fn alive(&self, max_silence: Duration) -> bool {
        let last = Duration::from_millis(self.heartbeat_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last) <= max_silence
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = match self.registry.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            warn!("encoding metrics failed: {e}");
        }
        out
    }
}

/// Serves the endpoints on `127.0.0.1:port` from a background thread (port 0 picks a free one). Returns the
/// bound port.
pub fn serve(metrics: Arc<Metrics>, port: u16, liveness_timeout: Duration) -> anyhow::Result<u16> {
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    let bound = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(port);
    info!("metrics and health on http://127.0.0.1:{bound}/metrics, /health/live, /health/ready");
    std::thread::Builder::new().name("metrics-http".into()).spawn(move || {
        for req in server.incoming_requests() {
            let (code, body, ctype) = match req.url() {
                "/metrics" => (200, metrics.encode(), "application/openmetrics-text; version=1.0.0; charset=utf-8"),
                "/health/live" if metrics.alive(liveness_timeout) => (200, "live\n".to_owned(), "text/plain"),
                "/health/live" => (503, "control loop stalled\n".to_owned(), "text/plain"),
                "/health/ready" if metrics.ready.load(Ordering::Relaxed) => (200, "ready\n".to_owned(), "text/plain"),
                "/health/ready" => (503, "not ready: not every managed node is active\n".to_owned(), "text/plain"),
                _ => (404, "not found\n".to_owned(), "text/plain"),
            };
            let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes()).ok();
            let mut resp = tiny_http::Response::from_string(body).with_status_code(code);
            if let Some(h) = header {
                resp = resp.with_header(h);
            }
            if let Err(e) = req.respond(resp) {
                warn!("metrics http reply failed: {e}");
            }
        }
    })?;
    Ok(bound)
}
