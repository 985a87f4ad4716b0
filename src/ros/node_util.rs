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

/// Routes `tracing` records through the ROS logging system as rclcpp's `RCLCPP_INFO` does: to the console
/// through rcutils (the ROS format, `--ros-args --log-level [<logger>:=]<level>` applies), and to `/rosout`
/// (rqt_console, `ros2 topic echo /rosout`) under the logger of the node that emitted them. The client library
/// creates a node's `/rosout` publisher in ROS 2 Jazzy (rcl does not), so [`use_node_logger`] does it here with
/// rcl's rosout QoS. `RUST_LOG` (default `info`) additionally selects which records are passed on, per Rust
/// module.
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::registry().with(filter).with(RosLogLayer).try_init();
}

thread_local! {
    /// Logger of the node running on this thread (each node of the composed process has a thread of its own).
    static THREAD_LOGGER: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The logger used on threads that run no node (e.g. the metrics server): the first node's, else the
/// executable's name.
static PROCESS_LOGGER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

type RosoutPublishers = Mutex<std::collections::HashMap<String, r2r::Publisher<r2r::rcl_interfaces::msg::Log>>>;

/// The `/rosout` publisher of each node logger in this process.
static ROSOUT: std::sync::OnceLock<RosoutPublishers> = std::sync::OnceLock::new();

/// rcl's rosout QoS: reliable, transient local, the last 1000 records, each kept 10 s for late subscribers.
fn rosout_qos() -> QosProfile {
    QosProfile::default().reliable().transient_local().keep_last(1000).lifespan(Duration::from_secs(10))
}

/// Makes records emitted on this thread use `node`'s ROS logger (its name, namespace included, as rclcpp), and
/// publishes them on `/rosout` from `node`.
pub fn use_node_logger(node: &mut r2r::Node) {
    let name = node.logger().to_owned();
    let _ = PROCESS_LOGGER.set(name.clone());
    THREAD_LOGGER.with(|l| *l.borrow_mut() = Some(name.clone()));
    match node.create_publisher::<r2r::rcl_interfaces::msg::Log>("/rosout", rosout_qos()) {
        Ok(publisher) => {
            if let Ok(mut map) = ROSOUT.get_or_init(Default::default).lock() {
                map.insert(name, publisher);
            }
        }
        Err(e) => tracing::warn!("no /rosout publisher: {e}"),
    }
}

/// Whether rcutils would emit a record of `severity` for `logger` (the `--log-level` settings).
fn enabled_for(logger: &std::ffi::CStr, severity: i32) -> bool {
    // SAFETY: rcutils reads the NUL-terminated name and its logger level table; no pointer is kept.
    unsafe { r2r_rcl::rcutils_logging_logger_is_enabled_for(logger.as_ptr(), severity) }
}

/// Publishes one record on `/rosout` from the node of `logger`, if it has a publisher and the level is enabled.
fn publish_rosout(logger: &str, level: u8, message: &str, file: &str, line: u32) {
    let Some(map) = ROSOUT.get() else { return };
    let Ok(map) = map.lock() else { return };
    let Some(publisher) = map.get(logger) else { return };
    let Ok(c_logger) = std::ffi::CString::new(logger) else { return };
    if !enabled_for(&c_logger, i32::from(level)) {
        return;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let msg = r2r::rcl_interfaces::msg::Log {
        stamp: r2r::builtin_interfaces::msg::Time {
            sec: i32::try_from(now.as_secs()).unwrap_or(i32::MAX),
            nanosec: now.subsec_nanos(),
        },
        level,
        name: logger.to_owned(),
        msg: message.to_owned(),
        file: file.to_owned(),
        function: String::new(),
        line,
    };
    // A failed publication is not logged: that would log again from here.
    let _ = publisher.publish(&msg);
}

fn current_logger() -> String {
    THREAD_LOGGER.with(|l| l.borrow().clone()).unwrap_or_else(|| {
        PROCESS_LOGGER.get().cloned().unwrap_or_else(|| {
            std::env::args()
                .next()
                .and_then(|a| std::path::Path::new(&a).file_name().map(|f| f.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "intent_shared_control".to_owned())
        })
    })
}

/// `message` first, then the other fields as `key=value`, like the console format of `tracing`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.rest.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

/// The `tracing` layer that hands records to rcutils.
struct RosLogLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RosLogLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        // (severity for rcutils, rcl_interfaces/Log level: the same numbers as rcutils severities)
        let (severity, level) = match *meta.level() {
            tracing::Level::ERROR => (r2r::LogSeverity::Error, 40),
            tracing::Level::WARN => (r2r::LogSeverity::Warn, 30),
            tracing::Level::INFO => (r2r::LogSeverity::Info, 20),
            tracing::Level::DEBUG | tracing::Level::TRACE => (r2r::LogSeverity::Debug, 10),
        };
        let message = format!("{}{}", fields.message, fields.rest).replace('\0', " ");
        let logger = current_logger().replace('\0', " ");
        let (file, line) = (meta.file().unwrap_or("").replace('\0', " "), meta.line().unwrap_or(0));
        r2r::log(&message, &logger, &file, line, severity);
        publish_rosout(&logger, level, &message, &file, line);
    }
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

/// Switches the node's ROS clock to `/clock` when the standard `use_sim_time` parameter is true, at start
/// (`use_sim_time` is read-only afterwards).
pub fn apply_use_sim_time(node: &mut r2r::Node, params: &crate::ros::params::Params) -> anyhow::Result<()> {
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

/// Logs an error once while it repeats (as `RCLCPP_ERROR_ONCE` would for one cause): a transition the
/// supervisor retries fails the same way each time, and the log says so once; a different error, or the same
/// one after a success, is logged again.
#[derive(Default)]
pub struct RepeatFilter {
    last: std::cell::RefCell<Option<String>>,
}

impl RepeatFilter {
    /// Logs `message` at ERROR unless it is the one logged last.
    pub fn error(&self, message: String) {
        let mut last = self.last.borrow_mut();
        if last.as_deref() != Some(message.as_str()) {
            tracing::error!("{message} (logged once while it repeats)");
            *last = Some(message);
        }
    }

    /// The cause is gone: the next error is logged whatever it says.
    pub fn clear(&self) {
        self.last.borrow_mut().take();
    }
}
