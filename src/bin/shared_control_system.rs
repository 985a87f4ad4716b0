//! `shared_control_system`: intent_predictor, shared_control and supervisor composed in one process.
//!
//! Skeletons arrive once (at the predictor) and go to shared_control in memory, the capture at once and the
//! predictions made from it after inference; each node runs on its own thread (its own single-threaded async
//! runtime), so inference never delays a control decision; the supervisor manages both nodes through their standard lifecycle services and serves
//! /metrics and /health for the whole process. All three nodes are ordinary ROS nodes (names, parameters from
//! the same params file, namespaces and remapping as usual).
use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use intent_shared_control::nodes::{intent_predictor, shared_control, supervisor};
use intent_shared_control::ros::managed_node::Wiring;
use intent_shared_control::ros::metrics::Metrics;
use intent_shared_control::ros::node_util::{init_logging, shutdown_signal};
use tokio::sync::watch;

/// Runs the future made by `make` on a thread of its own with a single-threaded runtime.
fn node_thread<F, Fut>(name: &str, make: F) -> std::io::Result<std::thread::JoinHandle<anyhow::Result<()>>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>>,
{
    std::thread::Builder::new().name(name.to_owned()).spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting a runtime")?;
        rt.block_on(make())
    })
}

fn main() -> anyhow::Result<()> {
    init_logging();
    let ctx = r2r::Context::create().context("initialising ROS 2")?;
    let predictor =
        r2r::Node::create(ctx.clone(), intent_predictor::NODE_NAME, "").context("creating intent_predictor")?;
    let control = r2r::Node::create(ctx.clone(), shared_control::NODE_NAME, "").context("creating shared_control")?;
    let supervisor = r2r::Node::create(ctx, supervisor::NODE_NAME, "").context("creating supervisor")?;

    let metrics = Arc::new(Metrics::new());
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    let (m1, m2, s1, s2, s3) = (metrics.clone(), metrics.clone(), stopped.clone(), stopped.clone(), stopped);
    let threads = [
        (
            "intent_predictor",
            node_thread("intent_predictor", move || {
                intent_predictor::run_node(
                    predictor,
                    Wiring { link: Some(tx), metrics: m1, serve_metrics: false },
                    s1(),
                )
            })?,
        ),
        (
            "shared_control",
            node_thread("shared_control", move || {
                shared_control::run_node(control, Wiring { link: Some(rx), metrics: m2, serve_metrics: false }, s2())
            })?,
        ),
        (
            "supervisor",
            node_thread("supervisor", move || {
                supervisor::run_node(supervisor, Wiring { link: (), metrics, serve_metrics: true }, s3())
            })?,
        ),
    ];
    // Signals are handled here; every node stops on the first one. A node that ends on a fatal error leaves the
    // others running (the supervisor reports it and holds the robot stopped), as separate processes would.
    let signals = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting a runtime")?;
    signals.block_on(async {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = async {
                while threads.iter().any(|(_, t)| !t.is_finished()) {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            } => {}
        }
    });
    let _ = stop_tx.send(true);
    let mut result = Ok(());
    for (name, t) in threads {
        let r = t.join().map_err(|_| anyhow::anyhow!("{name} panicked")).and_then(|r| r);
        if let Err(e) = r {
            tracing::error!("{name} failed: {e:#}");
            result = Err(e);
        }
    }
    result
}
