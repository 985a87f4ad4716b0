//! `latency_probe`: pose → `cmd_vel` latency and sustained-load benchmark over real DDS.
//!
//! The probe starts each system under test (SUT) itself as child processes, each on its own `ROS_DOMAIN_ID` with
//! `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`, publishes `humans/skeletons` (one walking human, COCO-17) at a set
//! rate and `joy` (deadman held) at 50 Hz, waits until DDS discovery has matched and commands flow, warms up,
//! then measures:
//!
//! * latency mode (default): systems `relay` (the empty r2r relay `latency_relay`, the DDS floor), `separate`
//!   (`intent_predictor` + `shared_control` + `supervisor` as three processes), `composed`
//!   (`shared_control_system`) and `python` (the rclpy + onnxruntime baseline in `bench/python_baseline/`),
//!   200 Hz → `reports/latency.{json,md}`;
//! * load mode (`--mode load`): one system (default composed) at 1 kHz for 60 s (`--duration 900` = 15 min);
//!   latency per second and per quarter, RSS and CPU of the SUT processes sampled from /proc every second →
//!   `reports/load.{json,md}`.
//!
//! ## Matching a command to the pose it answers
//! Each skeleton is stamped with its send time (`header.stamp`, system clock). Every node stamps `cmd_vel` with
//! the time its decision was made (same clock, same machine). The latency of skeleton *k* is the receive time of
//! the first `cmd_vel` whose decision stamp is ≥ the send time of *k*, minus that send time: the time until
//! the first command decided after the pose was on the wire. A command that answers several queued poses counts
//! for each (a dropped pose is charged until the next command). Joy messages are sent half a skeleton period
//! after a skeleton; a skeleton still unanswered when a joy goes out is counted as `joy_overlap` (its answer
//! may be the joy's decision). Decisions of the nodes' periodic timer (50 Hz) that fall between a send and its
//! answer are indistinguishable with the current messages (they can only make a sample shorter).
//!
//! ### Exact matching by input stamps (the Rust systems)
//! `shared_control` publishes a `shared_control/status` per decision, stamped like its `cmd_vel`, naming the
//! header stamps of the newest skeleton capture and prediction set the decision used (`skeleton_stamp`,
//! `prediction_stamp`). For `composed` and `separate` the probe also subscribes to it and joins each status with
//! its `cmd_vel` by decision stamp, giving two exact latencies per skeleton *k*: **pose used**, the receive time
//! of the first command whose decision used *k* (or a newer capture) as its skeletons, and **with its
//! prediction**, the first command whose decision used the predictions made from *k* (or newer): pose → feature
//! window → model → decision. Timer and joy decisions cannot shorten these. A `cmd_vel` without its status (or the
//! reverse) for 2 s is counted as unjoined.
//!
//! Each system runs in a child process of the probe (`--worker`), so each gets a fresh ROS context on its own
//! domain id.
use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use clap::{Parser, ValueEnum};
use futures::{FutureExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use intent_shared_control::node_util::sensor_qos;
use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg::{Point, TwistStamped};
use r2r::intent_shared_control_msgs::msg::{HumanSkeleton, HumanSkeletonArray, SharedControlStatus};
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;
use r2r::QosProfile;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// p50/p99/p99.9/max per system at `--rate` (default 200 Hz).
    Latency,
    /// One system at `--rate` (default 1 kHz) for `--duration` (default 60 s): stability, RSS, CPU.
    Load,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum System {
    /// Empty r2r relay (skeletons → cmd_vel, nothing else): the DDS floor.
    Relay,
    /// The relay with the nodes' threading: r2r spinner thread → async runtime thread (`latency_relay --hops 1`).
    Relay1,
    /// As `relay1` plus an in-memory hand-over to a second runtime thread (`latency_relay --hops 2`).
    Relay2,
    /// intent_predictor, shared_control and supervisor as separate processes.
    Separate,
    /// shared_control_system (all nodes in one process), event-driven output.
    Composed,
    /// shared_control_system with its default steady output (cmd_vel at control_rate).
    #[value(name = "composed_steady")]
    ComposedSteady,
    /// rclpy + onnxruntime-python baseline (bench/python_baseline/baseline_node.py).
    Python,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Relay => "relay",
            System::Relay1 => "relay1",
            System::Relay2 => "relay2",
            System::Separate => "separate",
            System::Composed => "composed",
            System::ComposedSteady => "composed_steady",
            System::Python => "python",
        }
    }
    fn description(self) -> &'static str {
        match self {
            System::Relay => "(a) empty r2r relay latency_relay: skeletons -> cmd_vel, nothing else (DDS floor)",
            System::Relay1 => {
                "(a1) the relay with one thread hop: spinner thread -> runtime thread (latency_relay --hops 1)"
            }
            System::Relay2 => {
                "(a2) the relay with two thread hops: spinner -> runtime -> second runtime (latency_relay --hops 2)"
            }
            System::Separate => "(b) intent_predictor + shared_control + supervisor, three processes",
            System::Composed => "(c) shared_control_system, all nodes in one process, event-driven cmd_vel",
            System::ComposedSteady => {
                "(c') shared_control_system with the default steady cmd_vel (control_rate; a more restrictive \
                 decision at once; statuses between ticks have no cmd_vel and count as unjoined)"
            }
            System::Python => "(d) rclpy + onnxruntime-python baseline, one process",
        }
    }
    /// Publishes `shared_control/status` with the input stamps of each decision (exact matching).
    fn publishes_status(self) -> bool {
        matches!(self, System::Separate | System::Composed | System::ComposedSteady)
    }

    /// Skeleton subscribers that must be matched before measuring.
    fn skeleton_subscribers(self) -> usize {
        match self {
            System::Separate => 2,
            _ => 1,
        }
    }
}

/// Pose → cmd_vel latency and load benchmark over real DDS (starts the systems under test itself).
#[derive(Parser, Debug, Clone)]
#[command(version)]
struct Cli {
    /// latency: all systems at 200 Hz; load: one system at 1 kHz for a long time.
    #[arg(long, value_enum, default_value = "latency")]
    mode: Mode,
    /// Systems to measure in latency mode, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "relay,composed,composed_steady,separate,python")]
    systems: Vec<System>,
    /// System measured in load mode.
    #[arg(long, value_enum, default_value = "composed")]
    system: System,
    /// Skeleton rate \[Hz\] (default 200 in latency mode, 1000 in load mode).
    #[arg(long)]
    rate: Option<f64>,
    /// Joy rate \[Hz\] (deadman held, half a skeleton period after a skeleton).
    #[arg(long, default_value_t = 50.0)]
    joy_rate: f64,
    /// Measured time per system \[s\] (default 20 in latency mode, 60 in load mode; 900 = the 15 min profile).
    #[arg(long)]
    duration: Option<f64>,
    /// Latency mode: measure the systems in this many interleaved rounds of duration/rounds each (each round
    /// restarts the system), so slow drifts of the machine's background load hit every system alike.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Warm-up after discovery, not measured \[s\].
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Longest wait for discovery matching and the first commands \[s\].
    #[arg(long, default_value_t = 30.0)]
    discovery_timeout: f64,
    /// Directory of the executables (default: the probe's own directory).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Repository root: working directory of the systems under test.
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// Parameters file for the nodes (relative to --repo).
    #[arg(long, default_value = "config/params.yaml")]
    params_file: PathBuf,
    /// Python interpreter for the baseline.
    #[arg(long, default_value = "python3")]
    python: String,
    /// First ROS_DOMAIN_ID; system i uses first + i (default: derived from the process id).
    #[arg(long)]
    domain_base: Option<u32>,
    /// Report path without extension (default reports/latency or reports/load); .json and .md are written.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Free text stored in the report (e.g. "run 1 of 2").
    #[arg(long, default_value = "")]
    label: String,
    /// The exact command as the user typed it (stored in the report; scripts/bench.sh passes it).
    #[arg(long, hide = true)]
    command_line: Option<String>,
    /// Internal: measure this one system in this process.
    #[arg(long, value_enum, hide = true)]
    worker: Option<System>,
    /// Internal: where the worker writes its result.
    #[arg(long, hide = true)]
    result_file: Option<PathBuf>,
}

impl Cli {
    fn rate(&self) -> f64 {
        self.rate.unwrap_or(match self.mode {
            Mode::Latency => 200.0,
            Mode::Load => 1000.0,
        })
    }
    /// Total measured time per system \[s\].
    fn duration(&self) -> f64 {
        self.duration.unwrap_or(match self.mode {
            Mode::Latency => 20.0,
            Mode::Load => 60.0,
        })
    }
    fn rounds(&self) -> u32 {
        match self.mode {
            Mode::Latency => self.rounds.max(1),
            Mode::Load => 1,
        }
    }
    /// Measured time of one worker run \[s\].
    fn round_duration(&self) -> f64 {
        self.duration() / f64::from(self.rounds())
    }
}

/// Latency summary \[µs\].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Summary {
    count: u64,
    min_us: f64,
    mean_us: f64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    /// Share of samples under 10 ms [0, 1].
    under_10ms: f64,
}

fn summarise(h: &Histogram<u64>) -> Summary {
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

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ResourceSample {
    /// Seconds since the start of the measurement.
    t_s: f64,
    /// Sum of VmRSS of the SUT processes \[KiB\].
    rss_kib: u64,
    /// CPU time of the SUT processes since the previous sample, as a share of one core.
    cpu_share: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SecondStats {
    t_s: u64,
    count: u64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

/// What one worker measured for one system.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SystemResult {
    system: System,
    description: String,
    commands: Vec<String>,
    domain_id: u32,
    rate_hz: f64,
    warmup_s: f64,
    duration_s: f64,
    /// Time from starting the SUT until discovery matched and commands flowed \[s\].
    ready_s: f64,
    /// Skeletons sent during the measurement.
    sent: u64,
    /// Of those, answered by a command.
    answered: u64,
    /// Of those, never answered (still pending at the end).
    unanswered: u64,
    /// Answered skeletons that were still pending when a joy message went out.
    joy_overlap: u64,
    /// cmd_vel messages received during the measurement.
    cmd_received: u64,
    /// Sends more than one period late (the probe could not keep the rate).
    late_sends: u64,
    latency: Summary,
    /// Latency of the skeletons sent in each quarter of the measurement.
    quarters: Vec<Summary>,
    per_second: Vec<SecondStats>,
    resources: Vec<ResourceSample>,
    /// Mean CPU share of the SUT processes over the measurement (1.0 = one core).
    cpu_share: f64,
    /// CPU share of the probe itself.
    probe_cpu_share: f64,
    rss_first_kib: u64,
    rss_last_kib: u64,
    rss_max_kib: u64,
    /// Every latency sample \[ns\] (merged over rounds by the orchestrator; not in the report).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    samples_ns: Vec<u64>,
    /// Exact matching by the input stamps of `shared_control/status` (systems that publish it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exact: Option<ExactResult>,
}

/// Latencies by exact matching (see the module docs).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
struct ExactResult {
    /// Skeleton → first command whose decision used it (or a newer capture).
    pose_used: Summary,
    /// Skeleton → first command whose decision used the predictions made from it (or newer).
    with_prediction: Summary,
    /// Measured skeletons no decision used / whose predictions no decision used, by the end.
    pose_unused: u64,
    prediction_unused: u64,
    /// Decisions joined (cmd_vel + status) during the measurement, and parts left without their partner.
    joined: u64,
    unjoined: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pose_samples_ns: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    prediction_samples_ns: Vec<u64>,
}

/// One decision's two halves: the `cmd_vel` receive time and the status's input stamps [ns, 0 = none].
#[derive(Default)]
struct DecisionParts {
    cmd_recv_ns: Option<i64>,
    inputs: Option<(i64, i64)>,
}

/// Joins `cmd_vel` and `shared_control/status` by decision stamp and charges each skeleton to the first joined
/// decision that used it (and, separately, its predictions).
#[derive(Default)]
struct ExactMatcher {
    decisions: BTreeMap<i64, DecisionParts>,
    pose: VecDeque<(i64, bool)>,
    prediction: VecDeque<(i64, bool)>,
    pose_samples: Vec<u64>,
    prediction_samples: Vec<u64>,
    joined: u64,
    unjoined: u64,
}

impl ExactMatcher {
    /// Halves older than this (by decision stamp, behind the newest) are dropped as unjoined \[ns\].
    const JOIN_WINDOW_NS: i64 = 2_000_000_000;

    fn sent(&mut self, send_ns: i64, measured: bool) {
        self.pose.push_back((send_ns, measured));
        self.prediction.push_back((send_ns, measured));
        for q in [&mut self.pose, &mut self.prediction] {
            if q.len() > 100_000 {
                q.pop_front();
            }
        }
    }

    fn on_cmd(&mut self, decision_ns: i64, recv_ns: i64) {
        self.decisions.entry(decision_ns).or_default().cmd_recv_ns = Some(recv_ns);
        self.try_join(decision_ns);
    }

    fn on_status(&mut self, decision_ns: i64, skeleton_ns: i64, prediction_ns: i64) {
        self.decisions.entry(decision_ns).or_default().inputs = Some((skeleton_ns, prediction_ns));
        self.try_join(decision_ns);
    }

    fn try_join(&mut self, decision_ns: i64) {
        if let Some(DecisionParts { cmd_recv_ns: Some(recv), inputs: Some((skeleton, prediction)) }) =
            self.decisions.get(&decision_ns)
        {
            let (recv, skeleton, prediction) = (*recv, *skeleton, *prediction);
            self.decisions.remove(&decision_ns);
            self.joined += 1;
            charge(&mut self.pose, skeleton, recv, &mut self.pose_samples);
            charge(&mut self.prediction, prediction, recv, &mut self.prediction_samples);
        }
        let horizon = decision_ns - Self::JOIN_WINDOW_NS;
        while self.decisions.first_key_value().is_some_and(|(&k, _)| k < horizon) {
            self.decisions.pop_first();
            self.unjoined += 1;
        }
    }

    /// Measured skeletons still waiting at the end: (pose unused, prediction unused).
    fn unused(&self) -> (u64, u64) {
        let count = |q: &VecDeque<(i64, bool)>| q.iter().filter(|(_, m)| *m).count() as u64;
        (count(&self.pose), count(&self.prediction))
    }

    fn result(&self) -> ExactResult {
        let (pose_unused, prediction_unused) = self.unused();
        ExactResult {
            pose_used: summarise_samples(&self.pose_samples),
            with_prediction: summarise_samples(&self.prediction_samples),
            pose_unused,
            prediction_unused,
            joined: self.joined,
            unjoined: self.unjoined + self.decisions.len() as u64,
            pose_samples_ns: self.pose_samples.clone(),
            prediction_samples_ns: self.prediction_samples.clone(),
        }
    }
}

/// Charges every waiting skeleton sent at or before `used_ns` (an input stamp; 0 = none) to a command received
/// at `recv_ns`; only measured ones are recorded.
fn charge(queue: &mut VecDeque<(i64, bool)>, used_ns: i64, recv_ns: i64, samples: &mut Vec<u64>) {
    if used_ns <= 0 {
        return;
    }
    while queue.front().is_some_and(|&(send, _)| send <= used_ns) {
        if let Some((send, measured)) = queue.pop_front() {
            if measured {
                samples.push((recv_ns - send).max(1) as u64);
            }
        }
    }
}

fn summarise_samples(samples: &[u64]) -> Summary {
    let mut h = histogram();
    for &v in samples {
        let _ = h.record(v);
    }
    summarise(&h)
}

fn realtime_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

fn time_msg(ns: i64) -> Time {
    Time { sec: (ns / 1_000_000_000) as i32, nanosec: (ns % 1_000_000_000) as u32 }
}

fn stamp_ns(t: &Time) -> i64 {
    i64::from(t.sec) * 1_000_000_000 + i64::from(t.nanosec)
}

/// COCO-17 offsets from the hip centre \[m\] (x forward, y left, z up), for a human facing the robot.
const BODY: [[f64; 3]; 17] = [
    [0.0, 0.0, 0.65],   // nose
    [0.0, 0.04, 0.68],  // left eye
    [0.0, -0.04, 0.68], // right eye
    [0.05, 0.08, 0.66], // left ear
    [0.05, -0.08, 0.66],
    [0.0, 0.2, 0.45], // shoulders
    [0.0, -0.2, 0.45],
    [0.0, 0.25, 0.2], // elbows
    [0.0, -0.25, 0.2],
    [0.0, 0.25, 0.0], // wrists
    [0.0, -0.25, 0.0],
    [0.0, 0.1, 0.0], // hips
    [0.0, -0.1, 0.0],
    [0.0, 0.1, -0.45], // knees
    [0.0, -0.1, -0.45],
    [0.0, 0.1, -0.9], // ankles
    [0.0, -0.1, -0.9],
];

/// One human walking slowly across in front of the robot, 3 m ahead (a pass-by).
fn skeleton_msg(t_s: f64, stamp: i64) -> HumanSkeletonArray {
    let (cx, cy, cz) = (3.0, 1.5 * (t_s * std::f64::consts::TAU / 8.0).sin(), 0.95);
    let swing = 0.05 * (t_s * std::f64::consts::TAU).sin();
    let keypoints = BODY
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let s = if k >= 13 {
                if k % 2 == 1 {
                    swing
                } else {
                    -swing
                }
            } else {
                0.0
            };
            Point { x: cx + o[0] + s, y: cy + o[1], z: cz + o[2] }
        })
        .collect();
    HumanSkeletonArray {
        header: Header { stamp: time_msg(stamp), frame_id: "base_link".into() },
        humans: vec![HumanSkeleton { id: 1, keypoints, confidence: vec![0.9; 17] }],
    }
}

/// The operator's joystick: the deadman released until the system answers (so that it is armed, as an operator
/// arms it), then held.
fn joy_msg(stamp: i64, deadman: bool) -> Joy {
    let mut buttons = vec![0; 12];
    buttons[4] = i32::from(deadman); // deadman (config/params.yaml teleop.deadman_button)
    Joy {
        header: Header { stamp: time_msg(stamp), frame_id: "joy".into() },
        axes: vec![0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        buttons,
    }
}

// ---------------------------------------------------------------- processes under test

struct Sut {
    children: Vec<(String, Child)>,
    commands: Vec<String>,
}

impl Sut {
    fn start(cli: &Cli, system: System, log_dir: &Path) -> anyhow::Result<Sut> {
        let bin_dir = match &cli.bin_dir {
            Some(d) => d.clone(),
            None => std::env::current_exe()?.parent().context("probe has no directory")?.to_path_buf(),
        };
        let params = cli.params_file.to_string_lossy().into_owned();
        // The event-driven output (one cmd_vel per decision) for the rows comparable across reports; the
        // default steady output has a row of its own.
        let node_with = |exe: &str, output_mode: &str| -> (PathBuf, Vec<String>) {
            let args = ["--ros-args", "--params-file", &params, "-p", &format!("output_mode:={output_mode}")];
            (bin_dir.join(exe), args.iter().map(|a| (*a).to_owned()).collect())
        };
        let node = |exe: &str| node_with(exe, "event");
        let specs: Vec<(PathBuf, Vec<String>)> = match system {
            System::Relay => vec![(bin_dir.join("latency_relay"), vec![])],
            System::Relay1 => vec![(bin_dir.join("latency_relay"), vec!["--hops".into(), "1".into()])],
            System::Relay2 => vec![(bin_dir.join("latency_relay"), vec!["--hops".into(), "2".into()])],
            System::Composed => vec![node("shared_control_system")],
            System::ComposedSteady => vec![node_with("shared_control_system", "steady")],
            System::Separate => vec![node("intent_predictor"), node("shared_control"), node("supervisor")],
            System::Python => vec![(
                PathBuf::from(&cli.python),
                vec![
                    "bench/python_baseline/baseline_node.py".into(),
                    "--model".into(),
                    "models/intent_model.onnx".into(),
                ],
            )],
        };
        let mut sut = Sut { children: Vec::new(), commands: Vec::new() };
        for (i, (exe, args)) in specs.into_iter().enumerate() {
            let name = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let log = std::fs::File::create(log_dir.join(format!("{}-{i}-{name}.log", system.name())))?;
            let shown = std::iter::once(if system == System::Python { name.clone() } else { format!("<bin>/{name}") })
                .chain(args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            let child = Command::new(&exe)
                .args(&args)
                .current_dir(&cli.repo)
                .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", exe.display()))?;
            sut.children.push((name, child));
            sut.commands.push(shown);
        }
        Ok(sut)
    }

    fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|(_, c)| c.id()).collect()
    }

    fn check_alive(&mut self) -> anyhow::Result<()> {
        for (name, c) in &mut self.children {
            if let Some(status) = c.try_wait()? {
                bail!("{name} exited early with {status}");
            }
        }
        Ok(())
    }

    /// SIGINT (the nodes' orderly shutdown), then SIGKILL after 10 s.
    fn stop(&mut self) {
        for (_, c) in &self.children {
            let _ = Command::new("kill").args(["-s", "INT", &c.id().to_string()]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for (name, c) in &mut self.children {
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                    _ => {
                        eprintln!("{name} did not stop on SIGINT; killing it");
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for Sut {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// ---------------------------------------------------------------- the worker: one system

struct Pending {
    send_ns: i64,
    measured: bool,
    bucket: usize,
    joy_overlap: bool,
}

fn run_worker(cli: &Cli, system: System) -> anyhow::Result<SystemResult> {
    let domain_id: u32 = std::env::var("ROS_DOMAIN_ID").ok().and_then(|d| d.parse().ok()).unwrap_or(0);
    let log_dir = std::env::temp_dir().join(format!("latency_probe-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir)?;
    let t_start = Instant::now();
    let mut sut = Sut::start(cli, system, &log_dir)?;
    let result = measure(cli, system, &mut sut, t_start, domain_id);
    sut.stop();
    if result.is_err() {
        eprintln!("logs of the system under test: {}", log_dir.display());
    }
    result
}

fn measure(cli: &Cli, system: System, sut: &mut Sut, t_start: Instant, domain_id: u32) -> anyhow::Result<SystemResult> {
    let ctx = r2r::Context::create().context("initialising ROS 2")?;
    let mut node = r2r::Node::create(ctx, "latency_probe", "").context("creating the probe node")?;
    let skel_pub = node.create_publisher::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?;
    let joy_pub = node.create_publisher::<Joy>("joy", sensor_qos())?;
    // Reliable like the SUT's publisher; a deep queue so the probe never drops an answer itself.
    let mut cmd_sub = node.subscribe::<TwistStamped>("cmd_vel", QosProfile::default().keep_last(1000).reliable())?;
    let mut status_sub = if system.publishes_status() {
        Some(node.subscribe::<SharedControlStatus>(
            "shared_control/status",
            QosProfile::default().keep_last(1000).reliable(),
        )?)
    } else {
        None
    };
    let mut exact = ExactMatcher::default();

    let rate = cli.rate();
    let period = Duration::from_secs_f64(1.0 / rate);
    let joy_period = Duration::from_secs_f64(1.0 / cli.joy_rate.max(0.1));
    let warmup = Duration::from_secs_f64(cli.warmup);
    let duration = Duration::from_secs_f64(cli.round_duration());
    let discovery_deadline = Instant::now() + Duration::from_secs_f64(cli.discovery_timeout);

    let mut hist = histogram();
    let mut quarters: Vec<Histogram<u64>> = (0..4).map(|_| histogram()).collect();
    let seconds = cli.round_duration().ceil() as usize + 1;
    let mut per_second: Vec<Histogram<u64>> = (0..seconds).map(|_| histogram()).collect();
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let (mut sent, mut answered, mut joy_overlap, mut cmd_received, mut late_sends) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut answers_before_measure = 0u64;
    let mut samples: Vec<u64> = Vec::new();

    let origin = Instant::now();
    let mut next_skel = origin;
    let mut next_joy = origin + period / 2;
    let mut measure_start: Option<Instant> = None;
    let mut ready_at: Option<Instant> = None;
    let mut send_end: Option<Instant> = None;
    let mut resources: Vec<ResourceSample> = Vec::new();
    let mut next_sample = Instant::now();
    let pids = sut.pids();
    let pid_strs: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
    let mut last_ticks: Option<(Instant, u64)> = None;
    let mut first_ticks: Option<(Instant, u64)> = None;
    let mut probe_first: Option<(Instant, u64)> = None;
    let sut_ticks = || pid_strs.iter().filter_map(|p| cpu_ticks(p)).sum::<u64>();
    let mut last_alive_check = Instant::now();

    loop {
        let now = Instant::now();
        // Phase changes.
        match (ready_at, measure_start, send_end) {
            (None, _, _) => {
                let matched =
                    skel_pub.get_inter_process_subscription_count().unwrap_or(0) >= system.skeleton_subscribers();
                if matched && answers_before_measure >= (rate as u64).max(20) {
                    ready_at = Some(now);
                } else if now > discovery_deadline {
                    bail!(
                        "{}: no discovery match / no commands within {:.0} s (skeleton subscribers {}, answers {})",
                        system.name(),
                        cli.discovery_timeout,
                        skel_pub.get_inter_process_subscription_count().unwrap_or(0),
                        answers_before_measure
                    );
                }
            }
            (Some(r), None, _) if now >= r + warmup => {
                measure_start = Some(now);
                let t = sut_ticks();
                first_ticks = Some((now, t));
                last_ticks = first_ticks;
                probe_first = cpu_ticks("self").map(|t| (now, t));
                next_sample = now;
            }
            (Some(_), Some(m), None) if now >= m + duration => {
                send_end = Some(now);
            }
            (Some(_), Some(_), Some(e))
                if now >= e + Duration::from_millis(500)
                    || (pending.is_empty() && now >= e + Duration::from_millis(50)) =>
            {
                break
            }
            _ => {}
        }
        if now.duration_since(last_alive_check) > Duration::from_millis(200) {
            last_alive_check = now;
            sut.check_alive()?;
        }
        // Resource sampling once per second during the measurement.
        if let (Some(m), None) = (measure_start, send_end) {
            if now >= next_sample {
                next_sample += Duration::from_secs(1);
                let ticks = sut_ticks();
                let cpu = last_ticks.map_or(0.0, |(t0, k0)| {
                    let dt = now.duration_since(t0).as_secs_f64();
                    if dt > 0.0 {
                        (ticks.saturating_sub(k0)) as f64 / USER_HZ / dt
                    } else {
                        0.0
                    }
                });
                last_ticks = Some((now, ticks));
                resources.push(ResourceSample {
                    t_s: now.duration_since(m).as_secs_f64(),
                    rss_kib: pids.iter().filter_map(|&p| rss_kib(p)).sum(),
                    cpu_share: cpu,
                });
            }
        }
        // Sends.
        if send_end.is_none() {
            if now >= next_skel {
                if now.duration_since(next_skel) > period {
                    late_sends += u64::from(measure_start.is_some());
                    next_skel = now; // do not burst to catch up
                }
                next_skel += period;
                let send_ns = realtime_ns();
                let t_s = now.duration_since(origin).as_secs_f64();
                skel_pub.publish(&skeleton_msg(t_s, send_ns))?;
                let (measured, bucket) = match measure_start {
                    Some(m) => {
                        sent += 1;
                        (true, now.duration_since(m).as_secs() as usize)
                    }
                    None => (false, 0),
                };
                pending.push_back(Pending { send_ns, measured, bucket, joy_overlap: false });
                exact.sent(send_ns, measured);
                if pending.len() > 100_000 {
                    pending.pop_front();
                }
            }
            if now >= next_joy {
                next_joy = (next_joy + joy_period).max(now);
                joy_pub.publish(&joy_msg(realtime_ns(), ready_at.is_some()))?;
                for p in pending.iter_mut() {
                    p.joy_overlap = true;
                }
            }
        }
        // Wait for data or the next send.
        let wake = if send_end.is_some() { Instant::now() + Duration::from_millis(5) } else { next_skel.min(next_joy) };
        let timeout = wake.saturating_duration_since(Instant::now()).min(Duration::from_millis(5));
        node.spin_once(timeout);
        let recv_ns = realtime_ns();
        if let Some(sub) = status_sub.as_mut() {
            while let Some(Some(st)) = sub.next().now_or_never() {
                exact.on_status(
                    stamp_ns(&st.header.stamp),
                    stamp_ns(&st.skeleton_stamp),
                    stamp_ns(&st.prediction_stamp),
                );
            }
        }
        while let Some(Some(cmd)) = cmd_sub.next().now_or_never() {
            let decided = stamp_ns(&cmd.header.stamp);
            exact.on_cmd(decided, recv_ns);
            if measure_start.is_some() {
                cmd_received += 1;
            }
            while pending.front().is_some_and(|p| p.send_ns <= decided) {
                let Some(p) = pending.pop_front() else { break };
                if !p.measured {
                    answers_before_measure += 1;
                    continue;
                }
                let lat = (recv_ns - p.send_ns).max(1) as u64;
                answered += 1;
                joy_overlap += u64::from(p.joy_overlap);
                let _ = hist.record(lat);
                samples.push(lat);
                let span = cli.round_duration() / 4.0;
                let q = ((p.bucket as f64 / span) as usize).min(3);
                let _ = quarters[q].record(lat);
                if let Some(h) = per_second.get_mut(p.bucket) {
                    let _ = h.record(lat);
                }
            }
        }
    }

    let measure_start = measure_start.context("measurement never started")?;
    let end = send_end.unwrap_or_else(Instant::now);
    let wall = end.duration_since(measure_start).as_secs_f64();
    let cpu_share = first_ticks.map_or(0.0, |(_, k0)| sut_ticks().saturating_sub(k0) as f64 / USER_HZ / wall);
    let probe_cpu_share = probe_first
        .and_then(|(_, k0)| cpu_ticks("self").map(|k| k.saturating_sub(k0) as f64 / USER_HZ / wall))
        .unwrap_or(0.0);
    let unanswered = pending.iter().filter(|p| p.measured).count() as u64;
    let rss: Vec<u64> = resources.iter().map(|r| r.rss_kib).collect();
    Ok(SystemResult {
        system,
        description: system.description().into(),
        commands: sut.commands.clone(),
        domain_id,
        rate_hz: rate,
        warmup_s: cli.warmup,
        duration_s: cli.round_duration(),
        ready_s: ready_at.map_or(0.0, |r| r.duration_since(t_start).as_secs_f64()),
        sent,
        answered,
        unanswered,
        joy_overlap,
        cmd_received,
        late_sends,
        latency: summarise(&hist),
        quarters: quarters.iter().map(summarise).collect(),
        per_second: per_second
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty())
            .map(|(t, h)| SecondStats {
                t_s: t as u64,
                count: h.len(),
                p50_us: h.value_at_quantile(0.5) as f64 / 1000.0,
                p99_us: h.value_at_quantile(0.99) as f64 / 1000.0,
                max_us: h.max() as f64 / 1000.0,
            })
            .collect(),
        resources,
        cpu_share,
        probe_cpu_share,
        rss_first_kib: rss.first().copied().unwrap_or(0),
        rss_last_kib: rss.last().copied().unwrap_or(0),
        rss_max_kib: rss.iter().copied().max().unwrap_or(0),
        samples_ns: samples,
        exact: system.publishes_status().then(|| exact.result()),
    })
}

/// Merges the rounds of one system: latency from all samples, counts summed, CPU averaged, RSS maximum.
fn merge(mut rounds: Vec<SystemResult>) -> Option<SystemResult> {
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

// ---------------------------------------------------------------- the orchestrator and the reports

#[derive(Serialize)]
struct Machine {
    cpu_model: String,
    cpus_online: usize,
    memory_total_kib: u64,
    kernel: String,
    rmw: String,
    note: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_total_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Machine {
        cpu_model,
        cpus_online: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        memory_total_kib,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
        rmw: std::env::var("RMW_IMPLEMENTATION").unwrap_or_else(|_| "rmw_fastrtps_cpp (default)".into()),
        note: "probe and system under test share the same CPUs; other work on the machine adds noise".into(),
    }
}

/// /proc/loadavg's 1, 5 and 15 min load averages (background load on the shared machine).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn git_commit(repo: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn run_all(cli: &Cli) -> anyhow::Result<()> {
    let systems: Vec<System> = match cli.mode {
        Mode::Latency => cli.systems.clone(),
        Mode::Load => vec![cli.system],
    };
    let base = cli.domain_base.unwrap_or(10 + std::process::id() % 80);
    let exe = std::env::current_exe()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tmp = std::env::temp_dir().join(format!("latency_probe-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let loadavg_start = loadavg();
    let mut rounds: Vec<Vec<SystemResult>> = systems.iter().map(|_| Vec::new()).collect();
    let mut failures = Vec::new();
    for round in 0..cli.rounds() {
        for (i, &system) in systems.iter().enumerate() {
            if failures.iter().any(|f| f == system.name()) {
                continue;
            }
            let domain = (base + i as u32) % 101;
            let result_file = tmp.join(format!("{}-{round}.json", system.name()));
            eprintln!(
                "[{}] round {}/{}: measuring on ROS_DOMAIN_ID={domain} ...",
                system.name(),
                round + 1,
                cli.rounds()
            );
            let status = Command::new(&exe)
                .args(&args)
                .args(["--worker", system.name(), "--result-file"])
                .arg(&result_file)
                .env("ROS_DOMAIN_ID", domain.to_string())
                .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
                .status()?;
            if !status.success() {
                eprintln!("[{}] failed ({status})", system.name());
                failures.push(system.name().to_owned());
                continue;
            }
            let r: SystemResult = serde_json::from_str(&std::fs::read_to_string(&result_file)?)?;
            eprintln!(
                "[{}] p50 {:.0} µs  p99 {:.0} µs  p99.9 {:.0} µs  max {:.0} µs  ({} answered of {})",
                system.name(),
                r.latency.p50_us,
                r.latency.p99_us,
                r.latency.p999_us,
                r.latency.max_us,
                r.answered,
                r.sent
            );
            rounds[i].push(r);
        }
    }
    let results: Vec<SystemResult> = rounds.into_iter().filter_map(merge).collect();
    let out = cli.out.clone().unwrap_or_else(|| {
        PathBuf::from(match cli.mode {
            Mode::Latency => "reports/latency",
            Mode::Load => "reports/load",
        })
    });
    let command = cli.command_line.clone().unwrap_or_else(|| {
        std::iter::once("latency_probe".to_owned())
            .chain(args.iter().filter(|a| !a.starts_with("--command-line")).cloned())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let report = serde_json::json!({
        "mode": cli.mode,
        "label": cli.label,
        "command": command,
        "commit": git_commit(&cli.repo),
        "date_utc": chrono_like_now(),
        "machine": machine(),
        "loadavg_start": loadavg_start,
        "loadavg_end": loadavg(),
        "rate_hz": cli.rate(),
        "joy_rate_hz": cli.joy_rate,
        "warmup_s": cli.warmup,
        "duration_s": cli.duration(),
        "rounds": cli.rounds(),
        "method": METHOD,
        "failed": failures,
        "comparisons": comparisons(&results),
        "systems": results,
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let with_ext = |ext: &str| PathBuf::from(format!("{}.{ext}", out.display()));
    std::fs::write(with_ext("json"), serde_json::to_string_pretty(&report)? + "\n")?;
    let md = match cli.mode {
        Mode::Latency => latency_markdown(&report, &results),
        Mode::Load => load_markdown(&report, &results),
    };
    std::fs::File::create(with_ext("md"))?.write_all(md.as_bytes())?;
    eprintln!("wrote {}.json and .md", out.display());
    if !failures.is_empty() {
        bail!("systems that could not be measured: {}", failures.join(", "));
    }
    Ok(())
}

const METHOD: &str = "Each skeleton is stamped with its send time (system clock); the nodes stamp cmd_vel with their decision time (same clock). \
The latency of skeleton k is the receive time of the first cmd_vel whose decision stamp is >= the send time of k, minus that send time. \
A command answering several queued skeletons counts for each; a skeleton never answered is counted as unanswered. \
Joy (deadman held) is sent half a skeleton period after a skeleton; an answer that may be the joy's decision is counted in joy_overlap. \
Decisions of the nodes' 50 Hz timer between a send and its answer cannot be told apart by time alone: for the systems that publish shared_control/status, \
the exact matching by the input stamps each decision names (skeleton_stamp, prediction_stamp) gives the latency to the first command that used the skeleton, \
and to the first that used the predictions made from it.";

fn chrono_like_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn find(results: &[SystemResult], s: System) -> Option<&SystemResult> {
    results.iter().find(|r| r.system == s)
}

fn comparisons(results: &[SystemResult]) -> serde_json::Value {
    let relay = find(results, System::Relay);
    let python = find(results, System::Python);
    let mut out = serde_json::Map::new();
    for r in results {
        let mut c = serde_json::Map::new();
        if let Some(a) = relay {
            c.insert("p99_above_relay_us".into(), (r.latency.p99_us - a.latency.p99_us).into());
            c.insert("p99_ratio_to_relay".into(), (r.latency.p99_us / a.latency.p99_us).into());
            c.insert("p50_ratio_to_relay".into(), (r.latency.p50_us / a.latency.p50_us).into());
        }
        if let Some(d) = python {
            c.insert("python_p99_over_this_p99".into(), (d.latency.p99_us / r.latency.p99_us).into());
            c.insert("python_p50_over_this_p50".into(), (d.latency.p50_us / r.latency.p50_us).into());
        }
        out.insert(r.system.name().into(), c.into());
    }
    out.into()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn header_md(title: &str, report: &serde_json::Value) -> String {
    let m = &report["machine"];
    format!(
        "# {title}\n\nGenerated by `latency_probe` ({}). Commit `{}`, {}{}.\n\n```bash\n{}\n```\n\nMachine: {} ({} CPUs online, {:.1} GiB), Linux {}, {}. {}: load average (1/5/15 min) {} at the start, {} at the end.\n\n",
        report["mode"].as_str().unwrap_or(""),
        report["commit"].as_str().unwrap_or(""),
        report["date_utc"].as_str().unwrap_or(""),
        if report["label"].as_str().unwrap_or("").is_empty() { String::new() } else { format!(", {}", report["label"].as_str().unwrap_or("")) },
        report["command"].as_str().unwrap_or(""),
        m["cpu_model"].as_str().unwrap_or(""),
        m["cpus_online"],
        m["memory_total_kib"].as_u64().unwrap_or(0) as f64 / 1048576.0,
        m["kernel"].as_str().unwrap_or(""),
        m["rmw"].as_str().unwrap_or(""),
        m["note"].as_str().unwrap_or(""),
        report["loadavg_start"].as_str().unwrap_or(""),
        report["loadavg_end"].as_str().unwrap_or(""),
    )
}

fn latency_markdown(report: &serde_json::Value, results: &[SystemResult]) -> String {
    let mut s = header_md("Pose → cmd_vel latency", report);
    s += &format!(
        "Rate {} Hz skeletons + {} Hz joy, {} s warm-up after discovery matched, {} s measured per system in {} interleaved round(s) (each round restarts the system).\n\n",
        report["rate_hz"], report["joy_rate_hz"], report["warmup_s"], report["duration_s"], report["rounds"]
    );
    s += "| system | answered / sent | p50 µs | p99 µs | p99.9 µs | max µs | < 10 ms | p99 − relay µs | p99 / relay | python p99 / p99 | SUT CPU | SUT RSS MiB | joy overlap |\n";
    s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    let relay = find(results, System::Relay);
    let python = find(results, System::Python);
    for r in results {
        let l = &r.latency;
        s += &format!(
            "| {} | {} / {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} % | {} | {} | {} | {:.0} % | {:.1} | {} |\n",
            r.description,
            r.answered,
            r.sent,
            l.p50_us,
            l.p99_us,
            l.p999_us,
            l.max_us,
            l.under_10ms * 100.0,
            relay.map_or("–".into(), |a| format!("{:+.0}", l.p99_us - a.latency.p99_us)),
            relay.map_or("–".into(), |a| format!("{:.2}", l.p99_us / a.latency.p99_us)),
            python.map_or("–".into(), |d| format!("{:.1}", d.latency.p99_us / l.p99_us)),
            r.cpu_share * 100.0,
            r.rss_max_kib as f64 / 1024.0,
            r.joy_overlap,
        );
    }
    if results.iter().any(|r| r.exact.is_some()) {
        s += "\n## Exact matching by input stamps (`shared_control/status`)\n\n";
        s += "*Pose used*: skeleton → first `cmd_vel` whose decision used that capture (separation monitoring on the new keypoints). *With its prediction*: skeleton → first `cmd_vel` whose decision used the predictions made from it (feature window + model + decision).\n\n";
        s += "| system | pose used p50 / p99 / p99.9 / max µs | with its prediction p50 / p99 / p99.9 / max µs | < 10 ms (with prediction) | not used by the end (pose / prediction) | decisions joined / unjoined |\n|---|---|---|---|---|---|\n";
        for r in results {
            if let Some(e) = &r.exact {
                let q = |l: &Summary| format!("{:.0} / {:.0} / {:.0} / {:.0}", l.p50_us, l.p99_us, l.p999_us, l.max_us);
                s += &format!(
                    "| {} | {} | {} | {:.2} % | {} / {} | {} / {} |\n",
                    r.system.name(),
                    q(&e.pose_used),
                    q(&e.with_prediction),
                    e.with_prediction.under_10ms * 100.0,
                    e.pose_unused,
                    e.prediction_unused,
                    e.joined,
                    e.unjoined
                );
            }
        }
    }
    s += "\n## Targets (ARCHITECTURE.md, 200 Hz)\n\n| target | measured | verdict |\n|---|---|---|\n";
    let composed = find(results, System::Composed);
    let separate = find(results, System::Separate);
    if let Some(c) = composed {
        s += &format!(
            "| composed p99 ≤ 500 µs | {:.0} µs | {} |\n",
            c.latency.p99_us,
            verdict(c.latency.p99_us <= 500.0)
        );
    }
    if let Some(b) = separate {
        s += &format!(
            "| separate processes p99 ≤ 1000 µs | {:.0} µs | {} |\n",
            b.latency.p99_us,
            verdict(b.latency.p99_us <= 1000.0)
        );
    }
    if let Some(a) = relay {
        for r in [composed, separate].into_iter().flatten() {
            let d = r.latency.p99_us - a.latency.p99_us;
            s +=
                &format!("| {} p99 ≤ relay p99 + 150 µs | {:+.0} µs | {} |\n", r.system.name(), d, verdict(d <= 150.0));
        }
    }
    if let Some(d) = python {
        for r in [composed, separate].into_iter().flatten() {
            let x = d.latency.p99_us / r.latency.p99_us;
            s += &format!(
                "| {} p99 ≥ 10× lower than python p99 | {:.1}× | {} |\n",
                r.system.name(),
                x,
                verdict(x >= 10.0)
            );
        }
    }
    for r in [composed, separate].into_iter().flatten() {
        let all = r.latency.under_10ms >= 1.0 && r.unanswered == 0;
        s += &format!(
            "| {}: 100 % of decisions under 10 ms | {:.3} % ({} unanswered) | {} |\n",
            r.system.name(),
            r.latency.under_10ms * 100.0,
            r.unanswered,
            verdict(all)
        );
    }
    s += &format!(
        "\n## Method\n\n{}\n\nSystems under test (started by the probe, working directory = repository root):\n\n",
        METHOD
    );
    for r in results {
        s += &format!(
            "- {}: `{}` (ROS_DOMAIN_ID {}, ready after {:.1} s)\n",
            r.system.name(),
            r.commands.join("` + `"),
            r.domain_id,
            r.ready_s
        );
    }
    s
}

fn load_markdown(report: &serde_json::Value, results: &[SystemResult]) -> String {
    let mut s = header_md("Sustained load", report);
    for r in results {
        let q = &r.quarters;
        s += &format!(
            "System {} at {} Hz skeletons for {} s (after {} s warm-up).\n\n",
            r.description, r.rate_hz, r.duration_s, r.warmup_s
        );
        s += &format!(
            "| | value |\n|---|---|\n| skeletons answered / sent | {} / {} ({} unanswered, {} late sends by the probe) |\n| latency p50 / p99 / p99.9 / max | {:.0} / {:.0} / {:.0} / {:.0} µs |\n| under 10 ms | {:.3} % |\n| SUT CPU (mean, 1.0 = one core) | {:.0} % |\n| probe CPU | {:.0} % |\n| SUT RSS first / last / max | {:.1} / {:.1} / {:.1} MiB |\n\n",
            r.answered, r.sent, r.unanswered, r.late_sends,
            r.latency.p50_us, r.latency.p99_us, r.latency.p999_us, r.latency.max_us,
            r.latency.under_10ms * 100.0,
            r.cpu_share * 100.0,
            r.probe_cpu_share * 100.0,
            r.rss_first_kib as f64 / 1024.0, r.rss_last_kib as f64 / 1024.0, r.rss_max_kib as f64 / 1024.0,
        );
        if let Some(e) = &r.exact {
            s += "Exact matching by the input stamps of `shared_control/status`:\n\n| | p50 / p99 / p99.9 / max µs | under 10 ms | not used by the end |\n|---|---|---|---|\n";
            for (name, l, unused) in [
                ("pose used", &e.pose_used, e.pose_unused),
                ("with its prediction", &e.with_prediction, e.prediction_unused),
            ] {
                s += &format!(
                    "| {} | {:.0} / {:.0} / {:.0} / {:.0} | {:.4} % | {} |\n",
                    name,
                    l.p50_us,
                    l.p99_us,
                    l.p999_us,
                    l.max_us,
                    l.under_10ms * 100.0,
                    unused
                );
            }
            s += &format!("\nDecisions joined / unjoined: {} / {}.\n\n", e.joined, e.unjoined);
        }
        s += "Latency by quarter of the run (skeletons grouped by send time):\n\n| quarter | n | p50 µs | p99 µs | max µs |\n|---|---|---|---|---|\n";
        for (i, x) in q.iter().enumerate() {
            s += &format!("| {} | {} | {:.0} | {:.0} | {:.0} |\n", i + 1, x.count, x.p50_us, x.p99_us, x.max_us);
        }
        if let (Some(a), Some(b)) = (q.first(), q.last()) {
            let drift = b.p50_us - a.p50_us;
            let backlog = drift.abs() <= 0.25 * a.p50_us.max(50.0) && r.unanswered == 0;
            s += &format!("\nNo growing backlog (last-quarter p50 within 25 % or 50 µs of the first, nothing unanswered): p50 {:+.0} µs → {}.\n", drift, verdict(backlog));
        }
        let rss_growth = r.rss_last_kib as f64 - r.rss_first_kib as f64;
        s += &format!(
            "RSS flat: {:+.1} MiB from first to last sample → {}. RSS ≤ 60 MB (composed): max {:.1} MiB → {}.\n\n",
            rss_growth / 1024.0,
            verdict(rss_growth.abs() <= 2048.0),
            r.rss_max_kib as f64 / 1024.0,
            verdict(r.rss_max_kib as f64 * 1024.0 <= 60e6)
        );
        s += "RSS and CPU samples (every 10th second):\n\n| t s | RSS MiB | CPU | latency p50 µs | p99 µs |\n|---|---|---|---|---|\n";
        for x in r.resources.iter().step_by(10) {
            let sec = r.per_second.iter().find(|p| p.t_s == x.t_s.round() as u64);
            s += &format!(
                "| {:.0} | {:.1} | {:.0} % | {} | {} |\n",
                x.t_s,
                x.rss_kib as f64 / 1024.0,
                x.cpu_share * 100.0,
                sec.map_or("–".into(), |p| format!("{:.0}", p.p50_us)),
                sec.map_or("–".into(), |p| format!("{:.0}", p.p99_us))
            );
        }
        s += &format!("\nSystem under test: `{}`.\n", r.commands.join("` + `"));
    }
    s += &format!("\n## Method\n\n{}\n", METHOD);
    s
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.worker {
        Some(system) => {
            let result = run_worker(&cli, system)?;
            let path = cli.result_file.clone().context("--worker needs --result-file")?;
            std::fs::write(path, serde_json::to_string(&result)?)?;
            Ok(())
        }
        None => run_all(&cli),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn skeleton_is_charged_to_the_first_decision_that_used_it() {
        let mut m = ExactMatcher::default();
        m.sent(10 * MS, true);
        // A timer decision after the send that still used the previous capture answers nothing.
        m.on_cmd(11 * MS, 11 * MS + 300_000);
        m.on_status(11 * MS, 5 * MS, 5 * MS);
        assert!(m.pose_samples.is_empty());
        // The decision on the new capture: pose used; its prediction is still the old one.
        m.on_status(12 * MS, 10 * MS, 5 * MS);
        m.on_cmd(12 * MS, 12 * MS + 500_000);
        assert_eq!(m.pose_samples, vec![(2 * MS + 500_000) as u64]);
        assert!(m.prediction_samples.is_empty());
        // The decision on the prediction made from it.
        m.on_cmd(13 * MS, 13 * MS + 200_000);
        m.on_status(13 * MS, 10 * MS, 10 * MS);
        assert_eq!(m.prediction_samples, vec![(3 * MS + 200_000) as u64]);
        let r = m.result();
        assert_eq!((r.joined, r.unjoined, r.pose_unused, r.prediction_unused), (3, 0, 0, 0));
    }

    #[test]
    fn newer_capture_answers_skipped_ones_and_warm_up_is_not_recorded() {
        let mut m = ExactMatcher::default();
        m.sent(MS, false);
        m.sent(2 * MS, true);
        m.sent(3 * MS, true);
        m.on_status(4 * MS, 3 * MS, 0);
        m.on_cmd(4 * MS, 5 * MS);
        assert_eq!(m.pose_samples, vec![(3 * MS) as u64, (2 * MS) as u64]);
        // A zero stamp (no predictions yet) charges nothing.
        assert_eq!(m.result().prediction_unused, 2);
    }

    #[test]
    fn halves_without_their_partner_are_dropped_as_unjoined() {
        let mut m = ExactMatcher::default();
        m.sent(MS, true);
        m.on_cmd(2 * MS, 2 * MS);
        m.on_status(3 * MS, MS, MS);
        m.on_cmd(2 * MS + ExactMatcher::JOIN_WINDOW_NS + 1, 0);
        let r = m.result();
        assert!(m.pose_samples.is_empty());
        // the early cmd is dropped; the lone status and the last cmd still wait: all three are unjoined
        assert_eq!((r.joined, r.unjoined, r.pose_unused), (0, 3, 1));
    }
}
