//! `latency_relay`: the empty r2r relay that `latency_probe` measures as the DDS floor.
//!
//! Every `humans/skeletons` message is answered at once with a zero `cmd_vel` (`TwistStamped`, stamped with the
//! time the answer was made, like the real nodes stamp their decisions). Same QoS as the real nodes (sensor data
//! in, reliable keep-last-1 out), one thread, no conversion, no model, nothing else.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use futures::{FutureExt as _, StreamExt as _};
use intent_shared_control::node_util::{command_qos, sensor_qos};
use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::intent_shared_control_msgs::msg::HumanSkeletonArray;

fn now_msg() -> Time {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Time { sec: i32::try_from(d.as_secs()).unwrap_or(i32::MAX), nanosec: d.subsec_nanos() }
}

fn main() -> anyhow::Result<()> {
    let ctx = r2r::Context::create().context("initialising ROS 2")?;
    let mut node = r2r::Node::create(ctx, "latency_relay", "").context("creating the node")?;
    let mut sub = node.subscribe::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?;
    let publisher = node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?;
    let mut out = TwistStamped::default();
    out.header.frame_id = "base_link".into();
    loop {
        node.spin_once(Duration::from_millis(100));
        while let Some(msg) = sub.next().now_or_never() {
            if msg.is_none() {
                return Ok(());
            }
            out.header.stamp = now_msg();
            if let Err(e) = publisher.publish(&out) {
                eprintln!("publishing cmd_vel failed: {e}");
            }
        }
    }
}
