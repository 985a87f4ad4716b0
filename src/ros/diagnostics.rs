//! `/diagnostics` publishing: core health values → `diagnostic_msgs/DiagnosticArray`, at a fixed period and
//! immediately when any status changes level (as diagnostic_updater does).
//!
//! Status names are `"<node's fully qualified name>: <component>"` (e.g. `/robot1/shared_control: inputs`) and
//! the hardware id is the fully qualified name, so two robots on one ROS domain stay apart in
//! `rqt_robot_monitor` and in the aggregator.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use intent_shared_control_core::health::Level;
use intent_shared_control_core::Stamp;
use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus, KeyValue};
use r2r::std_msgs::msg::Header;
use r2r::QosProfile;
use tracing::warn;

use crate::ros::convert::stamp_to_msg;

/// One status line, built with [`Status::new`] and `.kv(...)`.
#[derive(Clone, Debug)]
pub struct Status {
    /// The component, without the node prefix ([`DiagnosticsPublisher`] adds it).
    pub name: String,
    pub level: Level,
    pub message: String,
    pub values: Vec<(String, String)>,
}

impl Status {
    /// A status of component `name`; published as `"<node fqn>: <name>"`.
    pub fn new(name: &str, level: Level, message: impl Into<String>) -> Self {
        Status { name: name.to_owned(), level, message: message.into(), values: Vec::new() }
    }

    pub fn kv(mut self, key: &str, value: impl ToString) -> Self {
        self.values.push((key.to_owned(), value.to_string()));
        self
    }
}

fn level_byte(l: Level) -> u8 {
    l as u8
}

/// Publishes a node's statuses on `/diagnostics`.
pub struct DiagnosticsPublisher {
    publisher: r2r::Publisher<DiagnosticArray>,
    /// The node's fully qualified name: prefix of every status name, and the hardware id.
    node_fqn: String,
    period: Duration,
    last_publish: Option<Instant>,
    last_levels: BTreeMap<String, Level>,
}

impl DiagnosticsPublisher {
    /// `period`: regular publishing period (1 s in ROS convention).
    pub fn new(node: &mut r2r::Node, period: Duration) -> anyhow::Result<Self> {
        Ok(DiagnosticsPublisher {
            publisher: node
                .create_publisher::<DiagnosticArray>("/diagnostics", QosProfile::default().keep_last(10).reliable())?,
            node_fqn: node.fully_qualified_name()?,
            period,
            last_publish: None,
            last_levels: BTreeMap::new(),
        })
    }

    /// True when the period has elapsed (call `publish` then).
    pub fn due(&self) -> bool {
        self.last_publish.is_none_or(|t| t.elapsed() >= self.period)
    }

    /// True when a status changed level since the last publication.
    pub fn level_changed(&self, statuses: &[Status]) -> bool {
        statuses.iter().any(|s| self.last_levels.get(&s.name) != Some(&s.level))
    }

    /// Publishes `statuses` if due or if any level changed; returns whether it published.
    pub fn update(&mut self, stamp: Stamp, statuses: &[Status]) -> bool {
        if !(self.due() || self.level_changed(statuses)) {
            return false;
        }
        let msg = DiagnosticArray {
            header: Header { stamp: stamp_to_msg(stamp), frame_id: String::new() },
            status: statuses
                .iter()
                .map(|s| DiagnosticStatus {
                    level: level_byte(s.level),
                    name: format!("{}: {}", self.node_fqn, s.name),
                    message: s.message.clone(),
                    hardware_id: self.node_fqn.clone(),
                    values: s.values.iter().map(|(k, v)| KeyValue { key: k.clone(), value: v.clone() }).collect(),
                })
                .collect(),
        };
        if let Err(e) = self.publisher.publish(&msg) {
            warn!("publishing /diagnostics failed: {e}");
        }
        self.last_levels = statuses.iter().map(|s| (s.name.clone(), s.level)).collect();
        self.last_publish = Some(Instant::now());
        true
    }
}

/// Latency summary over a sliding set of samples (hdrhistogram), reported as p50/p99 in microseconds.
pub struct LatencyWindow {
    hist: hdrhistogram::Histogram<u64>,
}

impl Default for LatencyWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyWindow {
    pub fn new() -> Self {
        // 1 µs .. 10 s, 3 significant digits; the bounds are constants, so creation cannot fail.
        LatencyWindow {
            hist: hdrhistogram::Histogram::new_with_bounds(1, 10_000_000, 3)
                .expect("constant histogram bounds are valid"),
        }
    }

    pub fn record(&mut self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(1, 10_000_000);
        let _ = self.hist.record(us);
    }

    /// (count, p50 µs, p99 µs), then starts a new window.
    pub fn take(&mut self) -> (u64, u64, u64) {
        let r = (self.hist.len(), self.hist.value_at_quantile(0.5), self.hist.value_at_quantile(0.99));
        self.hist.reset();
        r
    }
}
