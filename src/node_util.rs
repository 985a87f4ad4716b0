//! Plumbing shared by the executables: logging, the spin thread, the node clock and shutdown on SIGINT/SIGTERM.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use intent_shared_control_core::Stamp;
use r2r::{Clock, QosProfile};

/// Sensor inputs: best effort, keep last 5 (the ROS sensor-data profile).
pub fn sensor_qos() -> QosProfile {
    QosProfile::sensor_data()
}

/// Commands and status: reliable, keep last 1 (a late command is worthless, a lost stop is not acceptable).
pub fn command_qos() -> QosProfile {
    QosProfile::default().keep_last(1).reliable()
}

/// Logs to stderr; `RUST_LOG` selects the level (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// The node's ROS clock (wall time, or `/clock` when `use_sim_time` is set) as core stamps.
#[derive(Clone)]
pub struct NodeClock {
    clock: Arc<Mutex<Clock>>,
}

impl NodeClock {
    pub fn new(node: &r2r::Node) -> Self {
        NodeClock { clock: node.get_ros_clock() }
    }

    /// Current time of the node's clock.
    pub fn now(&self) -> anyhow::Result<Stamp> {
        let mut clock = self.clock.lock().map_err(|_| anyhow!("node clock mutex poisoned"))?;
        let d = clock.get_now().context("reading the ROS clock")?;
        Ok(Stamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
    }
}

/// Switches the node's ROS clock to `/clock` when the standard `use_sim_time` parameter is true.
pub fn apply_use_sim_time(node: &mut r2r::Node, params: &crate::params::Params) -> anyhow::Result<()> {
    if params.bool_or("use_sim_time", false)? {
        node.get_time_source().enable_sim_time(node).context("enabling sim time (subscribing to /clock)")?;
        tracing::info!("use_sim_time: the node clock follows /clock");
    }
    Ok(())
}

/// Spins the node on a dedicated thread until `stop` is set, then returns the node (so it is dropped on the
/// caller's side after the last publications are flushed).
pub fn spawn_spinner(mut node: r2r::Node, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<r2r::Node> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            node.spin_once(Duration::from_millis(5));
        }
        node
    })
}

/// Resolves on the first SIGINT or SIGTERM. Handlers stay installed afterwards, so a second SIGINT (as
/// `ros2 launch` sends on Ctrl-C) does not interrupt the orderly shutdown.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
        }
        _ => {
            // Without signal handlers the process can only be killed; never return early.
            futures::future::pending::<()>().await;
        }
    }
}
