//! The `shared_control` node: joystick + skeletons (+ predictions) in, `cmd_vel` + status out.
//!
//! Wiring only: inputs are converted by [`crate::convert`], the decision is the core's
//! [`Controller::step`], and the result is published. A decision is made on every accepted input and on a
//! periodic wall timer, so a silent joystick still produces an explicit zero once it is stale.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt;
use intent_shared_control_core::{Controller, ControllerConfig, Decision, Twist};
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::intent_shared_control_msgs::msg::{HumanSkeletonArray, SharedControlStatus};
use r2r::sensor_msgs::msg::Joy;
use tracing::{info, warn};

use crate::convert::{self, SkeletonLimits};
use crate::node_util::{command_qos, sensor_qos, shutdown_signal, spawn_spinner, NodeClock};
use crate::params::Params;

/// Node name used when none is remapped.
pub const NODE_NAME: &str = "shared_control";

/// Everything the node reads from its parameters.
#[derive(Clone, Debug)]
pub struct SharedControlParams {
    /// Periodic decision rate when no input arrives [Hz].
    pub control_rate: f64,
    /// frame_id stamped on cmd_vel and status.
    pub cmd_frame_id: String,
    pub skeleton_limits: SkeletonLimits,
    pub controller: ControllerConfig,
}

impl SharedControlParams {
    /// Reads and validates the parameters; an error names the parameter and what is allowed.
    pub fn from_params(p: &Params) -> anyhow::Result<Self> {
        let control_rate = p.f64_or("control_rate", 50.0)?;
        if !(control_rate.is_finite() && (1.0..=1000.0).contains(&control_rate)) {
            bail!("parameter `control_rate` must be in [1, 1000] Hz, got {control_rate}");
        }
        let max_humans = p.index_or("max_humans", 32)?;
        if !(1..=1024).contains(&max_humans) {
            bail!("parameter `max_humans` must be in [1, 1024], got {max_humans}");
        }
        Ok(SharedControlParams {
            control_rate,
            cmd_frame_id: p.string_or("cmd_frame_id", "base_link")?,
            skeleton_limits: SkeletonLimits { max_humans, expected_frame: p.string_or("skeleton_frame_id", "base_link")? },
            controller: ControllerConfig { teleop: p.teleop()? },
        })
    }
}

/// Rejected inputs by reason (counted, never forwarded).
#[derive(Default, Debug)]
pub struct Rejections(BTreeMap<&'static str, u64>);

impl Rejections {
    pub fn count(&mut self, reason: &'static str) {
        *self.0.entry(reason).or_default() += 1;
    }
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// Runs the node until SIGINT/SIGTERM; publishes one zero command before returning.
pub async fn run(ctx: r2r::Context) -> anyhow::Result<()> {
    let mut node = r2r::Node::create(ctx, NODE_NAME, "").context("creating the node")?;
    let params = Params::from_node(&node);
    let cfg = SharedControlParams::from_params(&params).context("invalid parameters")?;
    crate::node_util::apply_use_sim_time(&mut node, &params)?;
    info!(?cfg, "starting");

    let mut joy_sub = node.subscribe::<Joy>("joy", sensor_qos())?;
    let mut skeleton_sub = node.subscribe::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?;
    let cmd_pub = node.create_publisher::<TwistStamped>("cmd_vel", command_qos())?;
    let status_pub = node.create_publisher::<SharedControlStatus>("shared_control/status", command_qos())?;
    let mut timer = node.create_wall_timer(Duration::from_secs_f64(1.0 / cfg.control_rate))?;
    let clock = NodeClock::new(&node);
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = spawn_spinner(node, stop.clone());

    let mut controller = Controller::new(cfg.controller.clone());
    let mut rejections = Rejections::default();
    let publish = |d: &Decision, input_arrival: Instant| {
        if let Err(e) = cmd_pub.publish(&convert::cmd_vel_msg(d, &cfg.cmd_frame_id)) {
            warn!("publishing cmd_vel failed: {e}");
        }
        let status = convert::status_msg(d, &cfg.cmd_frame_id, input_arrival.elapsed().as_secs_f64());
        if let Err(e) = status_pub.publish(&status) {
            warn!("publishing status failed: {e}");
        }
    };

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let arrival = tokio::select! {
            _ = &mut shutdown => break,
            msg = joy_sub.next() => {
                let Some(msg) = msg else { bail!("joy subscription closed") };
                match convert::joy_from_msg(&msg) {
                    Ok(joy) => if !controller.on_joy(joy) { rejections.count("joy_out_of_order") },
                    Err(e) => { rejections.count(e.reason()); warn!("joy rejected: {e}"); }
                }
                Instant::now()
            }
            msg = skeleton_sub.next() => {
                let Some(msg) = msg else { bail!("skeleton subscription closed") };
                match convert::skeletons_from_msg(&msg, &cfg.skeleton_limits) {
                    Ok(frame) => if !controller.on_skeletons(frame) { rejections.count("skeletons_out_of_order") },
                    Err(e) => { rejections.count(e.reason()); warn!("skeletons rejected: {e}"); }
                }
                Instant::now()
            }
            tick = timer.tick() => {
                tick.context("control timer")?;
                Instant::now()
            }
        };
        let now = clock.now()?;
        let decision = controller.step(now);
        publish(&decision, arrival);
    }

    info!(rejected = rejections.total(), "shutting down: publishing a zero command");
    let mut last = controller.step(clock.now()?);
    last.output = Twist::ZERO;
    last.reasons.push("shutdown");
    publish(&last, Instant::now());
    // Let the spinner serve DDS briefly so the reliable zero reaches matched subscribers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let _node = spinner.join().map_err(|_| anyhow::anyhow!("spin thread panicked"))?;
    Ok(())
}
