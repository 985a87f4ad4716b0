//! `demo_driver`: drives a running shared-control system through DDS with a simulated operator and human, and
//! prints what comes out on `cmd_vel` — a live one-line summary and a final report.
//!
//! The simulated operator holds the deadman and pushes forward, releases it for a while, then lets the joystick
//! go silent; a simulated human walks across in front of the robot. Everything the system decides is read back
//! from `cmd_vel` and `shared_control/status`.
use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use futures::StreamExt;
use intent_shared_control::convert::stamp_to_msg;
use intent_shared_control::node_util::{command_qos, init_logging, sensor_qos, spawn_spinner, NodeClock};
use r2r::geometry_msgs::msg::{Point, TwistStamped};
use r2r::intent_shared_control_msgs::msg::{HumanSkeleton, HumanSkeletonArray, SharedControlStatus};
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;

#[derive(Parser, Debug)]
#[command(about = "Simulated operator + human for the shared-control demo; prints what the system decides")]
struct Args {
    /// How long to run [s].
    #[arg(long, default_value_t = 12.0)]
    duration: f64,
    /// Joystick rate [Hz].
    #[arg(long, default_value_t = 50.0)]
    joy_rate: f64,
    /// Skeleton rate [Hz].
    #[arg(long, default_value_t = 30.0)]
    skeleton_rate: f64,
    /// Seconds to wait for the system's topics to be matched before starting.
    #[arg(long, default_value_t = 20.0)]
    discovery_timeout: f64,
}

const MODE_NAMES: [&str; 6] = ["IDLE", "MANUAL", "ASSISTED", "SLOWDOWN", "STOP", "FAULT"];

/// Operator script: (deadman, forward axis, yaw axis, joystick publishing) at time t since start.
fn operator(t: f64, duration: f64) -> (bool, f32, f32, bool) {
    let phase = t / duration;
    if phase < 0.45 {
        (true, 0.8, (0.3 * (2.0 * PI * t / 4.0).sin()) as f32, true)
    } else if phase < 0.6 {
        (false, 0.8, 0.0, true)
    } else if phase < 0.8 {
        (true, 0.5, 0.0, true)
    } else {
        (true, 0.5, 0.0, false) // the joystick goes silent: the system must stop by itself
    }
}

/// A standing/walking human crossing in front of the robot, 2.5 m ahead, at 1 m/s.
fn human(t: f64) -> HumanSkeleton {
    let y = -3.0 + (t % 6.0);
    let x = 2.5;
    let heights = [1.7, 1.65, 1.65, 1.6, 1.6, 1.45, 1.45, 1.2, 1.2, 0.95, 0.95, 0.95, 0.95, 0.5, 0.5, 0.08, 0.08];
    let side = [0.0, 0.03, -0.03, 0.07, -0.07, 0.2, -0.2, 0.25, -0.25, 0.27, -0.27, 0.12, -0.12, 0.12, -0.12, 0.12, -0.12];
    HumanSkeleton {
        id: 1,
        keypoints: heights.iter().zip(side).map(|(&z, s)| Point { x: x + s * 0.2, y: y + s, z }).collect(),
        confidence: vec![0.9; 17],
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    init_logging();
    // `ros2 launch` appends `--ros-args ...`; those are for rcl (read by Context::create), not for clap.
    let args = Args::parse_from(std::env::args().take_while(|a| a != "--ros-args"));
    let ctx = r2r::Context::create().context("initialising ROS 2")?;
    let mut node = r2r::Node::create(ctx, "demo_driver", "")?;
    let joy_pub = node.create_publisher::<Joy>("joy", sensor_qos())?;
    let skel_pub = node.create_publisher::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?;
    let mut cmd_sub = node.subscribe::<TwistStamped>("cmd_vel", command_qos())?;
    let mut status_sub = node.subscribe::<SharedControlStatus>("shared_control/status", command_qos())?;
    let mut joy_timer = node.create_wall_timer(Duration::from_secs_f64(1.0 / args.joy_rate))?;
    let mut skel_timer = node.create_wall_timer(Duration::from_secs_f64(1.0 / args.skeleton_rate))?;
    let mut print_timer = node.create_wall_timer(Duration::from_millis(500))?;
    let clock = NodeClock::new(&node);
    let stop = Arc::new(AtomicBool::new(false));

    // Wait for the system to be discovered before the clock of the script starts.
    let discovery_deadline = Instant::now() + Duration::from_secs_f64(args.discovery_timeout);
    let spinner = spawn_spinner(node, stop.clone());
    while joy_pub.get_inter_process_subscription_count()? == 0 || skel_pub.get_inter_process_subscription_count()? == 0 {
        anyhow::ensure!(Instant::now() < discovery_deadline, "no shared_control subscribed to joy / humans/skeletons within {} s", args.discovery_timeout);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("demo: system discovered, running the scripted operator and human for {:.0} s", args.duration);

    let start = Instant::now();
    let mut mode_counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut reason_counts: BTreeMap<String, u64> = BTreeMap::new();
    let (mut cmds, mut nonfinite, mut max_speed) = (0u64, 0u64, 0.0f64);
    let mut last_status: Option<SharedControlStatus> = None;
    let mut last_cmd: Option<TwistStamped> = None;
    while start.elapsed().as_secs_f64() < args.duration {
        let t = start.elapsed().as_secs_f64();
        tokio::select! {
            _ = joy_timer.tick() => {
                let (deadman, fwd, yaw, sending) = operator(t, args.duration);
                if sending {
                    let mut buttons = vec![0; 11];
                    buttons[4] = i32::from(deadman);
                    let mut axes = vec![0.0f32; 8];
                    axes[1] = fwd;
                    axes[0] = yaw;
                    let header = Header { stamp: stamp_to_msg(clock.now()?), frame_id: String::new() };
                    joy_pub.publish(&Joy { header, axes, buttons })?;
                }
            }
            _ = skel_timer.tick() => {
                let header = Header { stamp: stamp_to_msg(clock.now()?), frame_id: "base_link".into() };
                skel_pub.publish(&HumanSkeletonArray { header, humans: vec![human(t)] })?;
            }
            Some(cmd) = cmd_sub.next() => {
                cmds += 1;
                let l = &cmd.twist.linear;
                let a = &cmd.twist.angular;
                if ![l.x, l.y, l.z, a.x, a.y, a.z].iter().all(|v| v.is_finite()) { nonfinite += 1; }
                max_speed = max_speed.max((l.x * l.x + l.y * l.y).sqrt());
                last_cmd = Some(cmd);
            }
            Some(s) = status_sub.next() => {
                *mode_counts.entry(MODE_NAMES.get(s.mode as usize).copied().unwrap_or("?")).or_default() += 1;
                for r in &s.reasons { *reason_counts.entry(r.clone()).or_default() += 1; }
                last_status = Some(s);
            }
            _ = print_timer.tick() => {
                if let (Some(s), Some(c)) = (&last_status, &last_cmd) {
                    println!(
                        "t={t:5.1}s mode={:<8} cmd_vel=(vx {:+.2} m/s, wz {:+.2} rad/s) alpha={:.2} humans={} min_sep={} reasons=[{}]",
                        MODE_NAMES.get(s.mode as usize).copied().unwrap_or("?"),
                        c.twist.linear.x, c.twist.angular.z, s.alpha, s.humans_seen,
                        if s.human_in_view { format!("{:.2} m", s.min_separation) } else { "-".into() },
                        s.reasons.join(","),
                    );
                }
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("\n=== demo report ===");
    println!("cmd_vel messages: {cmds} ({:.1} Hz), non-finite: {nonfinite}, max planar speed: {max_speed:.2} m/s", cmds as f64 / elapsed);
    println!("modes (status messages): {mode_counts:?}");
    println!("reasons: {reason_counts:?}");
    if let Some(c) = &last_cmd {
        let stopped = [c.twist.linear.x, c.twist.linear.y, c.twist.angular.z].iter().all(|v| *v == 0.0);
        println!("final command (joystick silent): {}", if stopped { "zero — the robot stopped by itself" } else { "NOT zero" });
    }
    stop.store(true, Ordering::Relaxed);
    let _ = spinner.join();
    anyhow::ensure!(cmds > 0, "no cmd_vel received: is shared_control running on this ROS_DOMAIN_ID?");
    anyhow::ensure!(nonfinite == 0, "non-finite commands were published");
    Ok(())
}
