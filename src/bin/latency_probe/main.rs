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

mod cli;
mod exact;
mod messages;
mod orchestrator;
mod report;
mod results;
mod sut;
mod worker;

use anyhow::Context as _;
use clap::Parser as _;

use crate::cli::Cli;
use crate::orchestrator::run_all;
use crate::worker::run_worker;

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
