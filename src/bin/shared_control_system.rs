//! `shared_control_system`: intent_predictor, shared_control and supervisor composed in one process.
//!
//! Skeletons arrive once (at the predictor) and go to shared_control in memory together with the predictions
//! made from them; the supervisor manages both nodes through their standard lifecycle services and serves
//! /metrics and /health for the whole process. All three nodes are ordinary ROS nodes (names, parameters from
//! the same params file, namespaces and remapping as usual).
use std::sync::Arc;

use anyhow::Context as _;
use intent_shared_control::metrics::Metrics;
use intent_shared_control::node_util::{init_logging, shutdown_signal};
use intent_shared_control::shared_control_node::Wiring;
use intent_shared_control::{intent_predictor_node, shared_control_node, supervisor_node};
use tokio::sync::watch;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let ctx = r2r::Context::create().context("initialising ROS 2")?;
    let predictor = r2r::Node::create(ctx.clone(), intent_predictor_node::NODE_NAME, "").context("creating intent_predictor")?;
    let control = r2r::Node::create(ctx.clone(), shared_control_node::NODE_NAME, "").context("creating shared_control")?;
    let supervisor = r2r::Node::create(ctx, supervisor_node::NODE_NAME, "").context("creating supervisor")?;

    let metrics = Arc::new(Metrics::new());
    // Small queue: a decision on stale skeletons is worth nothing; a full queue is counted and dropped.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    // The three nodes run as concurrent futures of this task (their DDS spinning is on their own threads).
    let signal = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    let (_, p, c, s) = tokio::join!(
        signal,
        intent_predictor_node::run_node(predictor, Some(tx), metrics.clone(), false, stopped()),
        shared_control_node::run_node(control, Wiring { handoff: Some(rx), metrics: metrics.clone(), serve_metrics: false }, stopped()),
        supervisor_node::run_node(supervisor, metrics, stopped()),
    );
    let mut result = Ok(());
    for (name, r) in [("intent_predictor", p), ("shared_control", c), ("supervisor", s)] {
        if let Err(e) = r {
            tracing::error!("{name} failed: {e:#}");
            result = Err(e);
        }
    }
    result
}
