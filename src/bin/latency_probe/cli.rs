//! Command line: the modes, the systems under test and the options.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    /// p50/p99/p99.9/max per system at `--rate` (default 200 Hz).
    Latency,
    /// One system at `--rate` (default 1 kHz) for `--duration` (default 60 s): stability, RSS, CPU.
    Load,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum System {
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
    pub(crate) fn name(self) -> &'static str {
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
    pub(crate) fn description(self) -> &'static str {
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
    pub(crate) fn publishes_status(self) -> bool {
        matches!(self, System::Separate | System::Composed | System::ComposedSteady)
    }

    /// Skeleton subscribers that must be matched before measuring.
    pub(crate) fn skeleton_subscribers(self) -> usize {
        match self {
            System::Separate => 2,
            _ => 1,
        }
    }
}

/// Pose → cmd_vel latency and load benchmark over real DDS (starts the systems under test itself).
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub(crate) struct Cli {
    /// latency: all systems at 200 Hz; load: one system at 1 kHz for a long time.
    #[arg(long, value_enum, default_value = "latency")]
    pub(crate) mode: Mode,
    /// Systems to measure in latency mode, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "relay,composed,composed_steady,separate,python")]
    pub(crate) systems: Vec<System>,
    /// System measured in load mode.
    #[arg(long, value_enum, default_value = "composed")]
    pub(crate) system: System,
    /// Skeleton rate \[Hz\] (default 200 in latency mode, 1000 in load mode).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Joy rate \[Hz\] (deadman held, half a skeleton period after a skeleton).
    #[arg(long, default_value_t = 50.0)]
    pub(crate) joy_rate: f64,
    /// Measured time per system \[s\] (default 20 in latency mode, 60 in load mode; 900 = the 15 min profile).
    #[arg(long)]
    pub(crate) duration: Option<f64>,
    /// Latency mode: measure the systems in this many interleaved rounds of duration/rounds each (each round
    /// restarts the system), so slow drifts of the machine's background load hit every system alike.
    #[arg(long, default_value_t = 1)]
    pub(crate) rounds: u32,
    /// Warm-up after discovery, not measured \[s\].
    #[arg(long, default_value_t = 3.0)]
    pub(crate) warmup: f64,
    /// Longest wait for discovery matching and the first commands \[s\].
    #[arg(long, default_value_t = 30.0)]
    pub(crate) discovery_timeout: f64,
    /// Directory of the executables (default: the probe's own directory).
    #[arg(long)]
    pub(crate) bin_dir: Option<PathBuf>,
    /// Repository root: working directory of the systems under test.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
    /// Parameters file for the nodes (relative to --repo).
    #[arg(long, default_value = "config/params.yaml")]
    pub(crate) params_file: PathBuf,
    /// Python interpreter for the baseline.
    #[arg(long, default_value = "python3")]
    pub(crate) python: String,
    /// First ROS_DOMAIN_ID; system i uses first + i (default: derived from the process id).
    #[arg(long)]
    pub(crate) domain_base: Option<u32>,
    /// Report path without extension (default reports/latency or reports/load); .json and .md are written.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Free text stored in the report (e.g. "run 1 of 2").
    #[arg(long, default_value = "")]
    pub(crate) label: String,
    /// The exact command as the user typed it (stored in the report; scripts/bench.sh passes it).
    #[arg(long, hide = true)]
    pub(crate) command_line: Option<String>,
    /// Internal: measure this one system in this process.
    #[arg(long, value_enum, hide = true)]
    pub(crate) worker: Option<System>,
    /// Internal: where the worker writes its result.
    #[arg(long, hide = true)]
    pub(crate) result_file: Option<PathBuf>,
}

impl Cli {
    pub(crate) fn rate(&self) -> f64 {
        self.rate.unwrap_or(match self.mode {
            Mode::Latency => 200.0,
            Mode::Load => 1000.0,
        })
    }
    /// Total measured time per system \[s\].
    pub(crate) fn duration(&self) -> f64 {
        self.duration.unwrap_or(match self.mode {
            Mode::Latency => 20.0,
            Mode::Load => 60.0,
        })
    }
    pub(crate) fn rounds(&self) -> u32 {
        match self.mode {
            Mode::Latency => self.rounds.max(1),
            Mode::Load => 1,
        }
    }
    /// Measured time of one worker run \[s\].
    pub(crate) fn round_duration(&self) -> f64 {
        self.duration() / f64::from(self.rounds())
    }
}
