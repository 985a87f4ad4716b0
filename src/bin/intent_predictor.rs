//! `intent_predictor` executable: `ros2 run intent_shared_control intent_predictor --ros-args ...`.
use anyhow::Context as _;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    intent_shared_control::ros::node_util::init_logging();
    let ctx = r2r::Context::create().context("initialising ROS 2")?;
    intent_shared_control::nodes::intent_predictor::run(ctx).await
}
