//! `latency_relay`: the empty r2r relay that `latency_probe` measures as the DDS floor.
//!
//! Every `humans/skeletons` message is answered at once with a zero `cmd_vel` (`TwistStamped`, stamped with the
//! time the answer was made, like the real nodes stamp their decisions). Same QoS as the real nodes (sensor data
//! in, reliable keep-last-1 out), no conversion, no model, nothing else.
//!
//! `--hops` adds the nodes' threading and nothing else, to measure what it costs:
//! - `0` (default): one thread spins the node and answers in the same loop;
//! - `1`: r2r's spinner on its own thread, the answer on a single-threaded async runtime awaiting the
//!   subscription stream (how every node of this package runs);
//! - `2`: as 1, and the message goes on through an in-memory channel to a second runtime thread that answers
//!   (the composed executable's hand-over from intent_predictor to shared_control).
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Parser;
use futures::{FutureExt as _, StreamExt as _};
use intent_shared_control::ros::node_util::{command_qos, sensor_qos, spawn_spinner};
use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::intent_shared_control_msgs::msg::HumanSkeletonArray;

/// Empty relay: skeletons → zero cmd_vel.
#[derive(Parser, Debug)]
struct Cli {
    /// Thread hops between the DDS wait and the answer: 0, 1 or 2 (see the module docs).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    hops: u8,
}

fn now_msg() -> Time {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Time { sec: i32::try_from(d.as_secs()).unwrap_or(i32::MAX), nanosec: d.subsec_nanos() }
}

fn answer(publisher: &r2r::Publisher<TwistStamped>, out: &mut TwistStamped) {
    out.header.stamp = now_msg();
    if let Err(e) = publisher.publish(out) {
        eprintln!("publishing cmd_vel failed: {e}");
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let ctx = r2r::Context::create().context("initialising ROS 2")?;
    let mut node = r2r::Node::create(ctx, "latency_relay", "").context("creating the node")?;
    let mut sub = node.subscribe::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?;
    let publisher = node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?;
    let mut out = TwistStamped::default();
    out.header.frame_id = "base_link".into();
    if cli.hops == 0 {
        loop {
            node.spin_once(Duration::from_millis(100));
            while let Some(msg) = sub.next().now_or_never() {
                if msg.is_none() {
                    return Ok(());
                }
                answer(&publisher, &mut out);
            }
        }
    }
    // Runs until killed, like the hops = 0 loop.
    let _spinner = spawn_spinner(node, Arc::new(AtomicBool::new(false)));
    let runtime = || tokio::runtime::Builder::new_current_thread().enable_all().build();
    if cli.hops == 1 {
        return runtime()?.block_on(async move {
            while sub.next().await.is_some() {
                answer(&publisher, &mut out);
            }
            Ok(())
        });
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<HumanSkeletonArray>(8);
    let second = std::thread::spawn(move || -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            while rx.recv().await.is_some() {
                answer(&publisher, &mut out);
            }
        });
        Ok(())
    });
    runtime()?.block_on(async move {
        while let Some(msg) = sub.next().await {
            if tx.send(msg).await.is_err() {
                break;
            }
        }
    });
    second.join().map_err(|_| anyhow::anyhow!("answer thread panicked"))?
}
