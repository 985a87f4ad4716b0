//! What a worker measures for one system (latency summaries, resources, exact matching) and how rounds merge.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::cli::System;

/// Latency summary \[µs\].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) count: u64,
    pub(crate) min_us: f64,
    pub(crate) mean_us: f64,
    pub(crate) p50_us: f64,
    pub(crate) p90_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) p999_us: f64,
    pub(crate) max_us: f64,
    /// Share of samples under 10 ms [0, 1].
    pub(crate) under_10ms: f64,
}

pub(crate) fn summarise(h: &Histogram<u64>) -> Summary {
    if h.is_empty() {
        return Summary::default();
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    Summary {
        count: h.len(),
        min_us: us(h.min()),
        mean_us: h.mean() / 1000.0,
        p50_us: us(h.value_at_quantile(0.5)),
        p90_us: us(h.value_at_quantile(0.9)),
        p99_us: us(h.value_at_quantile(0.99)),
        p999_us: us(h.value_at_quantile(0.999)),
        max_us: us(h.max()),
        under_10ms: h.count_between(0, 10_000_000) as f64 / h.len() as f64,
    }
}

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ResourceSample {
    /// Seconds since the start of the measurement.
    pub(crate) t_s: f64,
    /// Sum of VmRSS of the SUT processes \[KiB\].
    pub(crate) rss_kib: u64,
    /// CPU time of the SUT processes since the previous sample, as a share of one core.
    pub(crate) cpu_share: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct SecondStats {
    pub(crate) t_s: u64,
    pub(crate) count: u64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) max_us: f64,
}

/// What one worker measured for one system.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SystemResult {
    pub(crate) system: System,
    pub(crate) description: String,
    pub(crate) commands: Vec<String>,
    pub(crate) domain_id: u32,
    pub(crate) rate_hz: f64,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
    /// Time from starting the SUT until discovery matched and commands flowed \[s\].
    pub(crate) ready_s: f64,
    /// Skeletons sent during the measurement.
    pub(crate) sent: u64,
    /// Of those, answered by a command.
    pub(crate) answered: u64,
    /// Of those, never answered (still pending at the end).
    pub(crate) unanswered: u64,
    /// Answered skeletons that were still pending when a joy message went out.
    pub(crate) joy_overlap: u64,
    /// cmd_vel messages received during the measurement.
    pub(crate) cmd_received: u64,
    /// Sends more than one period late (the probe could not keep the rate).
    pub(crate) late_sends: u64,
    pub(crate) latency: Summary,
    /// Latency of the skeletons sent in each quarter of the measurement.
    pub(crate) quarters: Vec<Summary>,
    pub(crate) per_second: Vec<SecondStats>,
    pub(crate) resources: Vec<ResourceSample>,
    /// Mean CPU share of the SUT processes over the measurement (1.0 = one core).
    pub(crate) cpu_share: f64,
    /// CPU share of the probe itself.
    pub(crate) probe_cpu_share: f64,
    pub(crate) rss_first_kib: u64,
    pub(crate) rss_last_kib: u64,
    pub(crate) rss_max_kib: u64,
    /// Every latency sample \[ns\] (merged over rounds by the orchestrator; not in the report).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) samples_ns: Vec<u64>,
    /// Exact matching by the input stamps of `shared_control/status` (systems that publish it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exact: Option<ExactResult>,
}

/// Latencies by exact matching (see the module docs).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub(crate) struct ExactResult {
    /// Skeleton → first command whose decision used it (or a newer capture).
    pub(crate) pose_used: Summary,
    /// Skeleton → first command whose decision used the predictions made from it (or newer).
    pub(crate) with_prediction: Summary,
    /// Measured skeletons no decision used / whose predictions no decision used, by the end.
    pub(crate) pose_unused: u64,
    pub(crate) prediction_unused: u64,
    /// Decisions joined (cmd_vel + status) during the measurement, and parts left without their partner.
    pub(crate) joined: u64,
    pub(crate) unjoined: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) pose_samples_ns: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) prediction_samples_ns: Vec<u64>,
}

pub(crate) fn summarise_samples(samples: &[u64]) -> Summary {
    let mut h = histogram();
    for &v in samples {
        let _ = h.record(v);
    }
    summarise(&h)
}

/// Merges the rounds of one system: latency from all samples, counts summed, CPU averaged, RSS maximum.
pub(crate) fn merge(mut rounds: Vec<SystemResult>) -> Option<SystemResult> {
    let n = rounds.len();
    if n == 1 {
        return rounds.pop().map(|mut r| {
            r.samples_ns.clear();
            if let Some(e) = r.exact.as_mut() {
                e.pose_samples_ns.clear();
                e.prediction_samples_ns.clear();
            }
            r
        });
    }
    let mut m = rounds.first()?.clone();
    let mut h = histogram();
    for r in &rounds {
        for &v in &r.samples_ns {
            let _ = h.record(v);
        }
    }
    m.latency = summarise(&h);
    m.duration_s = rounds.iter().map(|r| r.duration_s).sum();
    m.sent = rounds.iter().map(|r| r.sent).sum();
    m.answered = rounds.iter().map(|r| r.answered).sum();
    m.unanswered = rounds.iter().map(|r| r.unanswered).sum();
    m.joy_overlap = rounds.iter().map(|r| r.joy_overlap).sum();
    m.cmd_received = rounds.iter().map(|r| r.cmd_received).sum();
    m.late_sends = rounds.iter().map(|r| r.late_sends).sum();
    m.cpu_share = rounds.iter().map(|r| r.cpu_share).sum::<f64>() / n as f64;
    m.probe_cpu_share = rounds.iter().map(|r| r.probe_cpu_share).sum::<f64>() / n as f64;
    m.rss_max_kib = rounds.iter().map(|r| r.rss_max_kib).max().unwrap_or(0);
    m.rss_last_kib = rounds.last().map_or(0, |r| r.rss_last_kib);
    m.ready_s = rounds.iter().map(|r| r.ready_s).fold(0.0, f64::max);
    m.quarters = Vec::new();
    m.per_second = Vec::new();
    m.resources = Vec::new();
    m.samples_ns.clear();
    m.exact = merge_exact(&rounds);
    Some(m)
}

/// Merges the exact-matching results of the rounds (samples pooled, counts summed).
fn merge_exact(rounds: &[SystemResult]) -> Option<ExactResult> {
    let parts: Vec<&ExactResult> = rounds.iter().filter_map(|r| r.exact.as_ref()).collect();
    if parts.is_empty() {
        return None;
    }
    let pose: Vec<u64> = parts.iter().flat_map(|e| e.pose_samples_ns.iter().copied()).collect();
    let prediction: Vec<u64> = parts.iter().flat_map(|e| e.prediction_samples_ns.iter().copied()).collect();
    Some(ExactResult {
        pose_used: summarise_samples(&pose),
        with_prediction: summarise_samples(&prediction),
        pose_unused: parts.iter().map(|e| e.pose_unused).sum(),
        prediction_unused: parts.iter().map(|e| e.prediction_unused).sum(),
        joined: parts.iter().map(|e| e.joined).sum(),
        unjoined: parts.iter().map(|e| e.unjoined).sum(),
        pose_samples_ns: Vec::new(),
        prediction_samples_ns: Vec::new(),
    })
}
