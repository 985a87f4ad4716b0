//! `demo_driver`: drives a running shared-control system through DDS with a simulated operator and human, and
//! prints what comes out on `cmd_vel` — a live one-line summary and a final report.
//!
//! The simulated operator holds the deadman and pushes forward (re-arming, deadman released then pressed, when
//! the status says the robot waits for it), releases it for a while, then lets the joystick go silent; a simulated human walks across in front of the robot. Everything the system decides is read back
//! from `cmd_vel` and `shared_control/status`.
use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use futures::StreamExt;
use intent_shared_control::ros::convert::stamp_to_msg;
use intent_shared_control::ros::node_util::{command_qos, init_logging, sensor_qos, spawn_spinner, NodeClock};
use intent_shared_control_core::{Reason, SkeletonFrame, Stamp};
use intent_shared_control_sim::scenario::{Scenario, ScenarioConfig};
use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus};
use r2r::geometry_msgs::msg::{Point, TwistStamped};
use r2r::intent_shared_control_msgs::msg::{
    HumanSkeleton, HumanSkeletonArray, IntentPredictionArray, SharedControlStatus,
};
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;

#[derive(Parser, Debug)]
#[command(about = "Simulated operator + human for the shared-control demo; prints what the system decides")]
struct Args {
    /// How long to run \[s\].
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Joystick rate \[Hz\].
    #[arg(long, default_value_t = 50.0)]
    joy_rate: f64,
    /// Skeleton rate \[Hz\].
    #[arg(long, default_value_t = 30.0)]
    skeleton_rate: f64,
    /// Seconds to wait for the system's topics to be matched before starting.
    #[arg(long, default_value_t = 20.0)]
    discovery_timeout: f64,
    /// Seed of the first simulated scene (each scene lasts 12 s; the next one uses seed + 1).
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// One seeded scene of simulated humans from the shared scenario generator.
fn scene(seed: u64) -> anyhow::Result<Scenario> {
    let config = ScenarioConfig { duration_s: 12.0, humans: [1, 3], ..ScenarioConfig::default() };
    Ok(Scenario::new(config, seed)?)
}

fn skeletons_to_msg(frame: &SkeletonFrame, stamp: Stamp) -> HumanSkeletonArray {
    HumanSkeletonArray {
        header: Header { stamp: stamp_to_msg(stamp), frame_id: frame.frame_id.clone() },
        humans: frame
            .humans
            .iter()
            .map(|h| HumanSkeleton {
                id: h.id,
                keypoints: h
                    .keypoints
                    .iter()
                    .map(|k| Point { x: k.position.x, y: k.position.y, z: k.position.z })
                    .collect(),
                confidence: h.keypoints.iter().map(|k| k.confidence).collect(),
            })
            .collect(),
    }
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

const MODE_NAMES: [&str; 6] = ["IDLE", "MANUAL", "ASSISTED", "SLOWDOWN", "STOP", "FAULT"];
const LABELS: [&str; 5] = ["idle", "pass_by", "approach_robot", "reach_handover", "retreat"];
/// `diagnostic_msgs/DiagnosticStatus` levels.
const LEVEL_NAMES: [&str; 4] = ["OK", "WARN", "ERROR", "STALE"];

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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    init_logging();
    // `ros2 launch` appends `--ros-args ...`; those are for rcl (read by Context::create), not for clap.
    let args = Args::parse_from(std::env::args().take_while(|a| a != "--ros-args"));
    let ctx = r2r::Context::create().context("initialising ROS 2")?;
    let mut node = r2r::Node::create(ctx, "demo_driver", "")?;
    intent_shared_control::ros::node_util::use_node_logger(&mut node);
    let joy_pub = node.create_publisher::<Joy>("joy", sensor_qos())?;
    let skel_pub = node.create_publisher::<HumanSkeletonArray>("humans/skeletons", sensor_qos())?;
    let mut cmd_sub = node.subscribe::<TwistStamped>("cmd_vel", command_qos())?;
    let mut status_sub = node.subscribe::<SharedControlStatus>("shared_control/status", command_qos())?;
    let mut intent_sub = node.subscribe::<IntentPredictionArray>("humans/intent", sensor_qos())?;
    let mut diag_sub =
        node.subscribe::<DiagnosticArray>("/diagnostics", r2r::QosProfile::default().keep_last(10).reliable())?;
    let mut joy_timer = node.create_wall_timer(Duration::from_secs_f64(1.0 / args.joy_rate))?;
    let mut skel_timer = node.create_wall_timer(Duration::from_secs_f64(1.0 / args.skeleton_rate))?;
    let mut print_timer = node.create_wall_timer(Duration::from_millis(500))?;
    let clock = NodeClock::new(&node);
    let stop = Arc::new(AtomicBool::new(false));

    // Wait for the system to be discovered before the clock of the script starts.
    let discovery_deadline = Instant::now() + Duration::from_secs_f64(args.discovery_timeout);
    let spinner = spawn_spinner(node, stop.clone());
    while joy_pub.get_inter_process_subscription_count()? == 0 || skel_pub.get_inter_process_subscription_count()? == 0
    {
        anyhow::ensure!(
            Instant::now() < discovery_deadline,
            "no shared_control subscribed to joy / humans/skeletons within {} s",
            args.discovery_timeout
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The operator picks up the pad: it reads released until the system has taken a Joy of ours (its status no
    // longer says `joy_missing`), for at least 0.2 s. A subscriber of ours (a bag recorder) can be matched before
    // the system is; the system's first Joys would then be later ones than the recorder's.
    let mut released_since: Option<Instant> = None;
    loop {
        anyhow::ensure!(
            Instant::now() < discovery_deadline,
            "shared_control took no Joy within {} s",
            args.discovery_timeout
        );
        tokio::select! {
            _ = joy_timer.tick() => {
                let header = Header { stamp: stamp_to_msg(clock.now()?), frame_id: String::new() };
                joy_pub.publish(&Joy { header, axes: vec![0.0; 8], buttons: vec![0; 11] })?;
            }
            Some(s) = status_sub.next() => {
                if s.reasons.iter().any(|r| r == Reason::JoyMissing.as_str()) {
                    released_since = None;
                } else if released_since.get_or_insert_with(Instant::now).elapsed() >= Duration::from_millis(200) {
                    break;
                }
            }
        }
    }
    println!("demo: system discovered, running the scripted operator and human for {:.0} s", args.duration);

    let start = Instant::now();
    let mut mode_counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut reason_counts: BTreeMap<String, u64> = BTreeMap::new();
    let (mut cmds, mut nonfinite, mut max_speed) = (0u64, 0u64, 0.0f64);
    let mut last_status: Option<SharedControlStatus> = None;
    let mut last_cmd: Option<TwistStamped> = None;
    let mut seed = args.seed;
    let mut scenario = scene(seed)?;
    let (mut window_cmds, mut window_skel) = (0u64, 0u64);
    let mut window_latency_us: Vec<f64> = Vec::new();
    let mut all_latency_us: Vec<f64> = Vec::new();
    let mut min_separation = f64::INFINITY;
    let mut nearest_intent = String::from("-");
    let mut intents_seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut rearm_since: Option<f64> = None;
    // The predictor's check of its forecasts against the model card's real-data error bound, as last published.
    let mut forecast_check: Option<DiagnosticStatus> = None;
    while start.elapsed().as_secs_f64() < args.duration {
        let t = start.elapsed().as_secs_f64();
        tokio::select! {
            _ = joy_timer.tick() => {
                let (deadman, fwd, yaw, sending) = operator(t, args.duration);
                // After a start or a fault the robot waits until the deadman is released and pressed again; the
                // operator sees it on the status and does so (released for 0.1 s after 0.3 s).
                let waiting = last_status.as_ref().is_some_and(|s| s.reasons.iter().any(|r| r == Reason::AwaitingRearm.as_str()));
                // A release, once begun, lasts its 0.1 s whatever the status shows meanwhile (it says
                // `deadman_released`, not `awaiting_rearm`, while the deadman is up): the node takes a re-arming
                // release only once Joys `teleop.deadman_confirm` apart agree.
                let in_release = rearm_since.is_some_and(|s| (s + 0.3..s + 0.4).contains(&t));
                let since = if waiting || in_release { *rearm_since.get_or_insert(t) } else { rearm_since.take().unwrap_or(t) };
                let releasing = (waiting || in_release) && (since + 0.3..since + 0.4).contains(&t);
                if waiting && t >= since + 0.5 {
                    rearm_since = Some(t);
                }
                if sending {
                    let mut buttons = vec![0; 11];
                    buttons[4] = i32::from(deadman && !releasing);
                    let mut axes = vec![0.0f32; 8];
                    axes[1] = fwd;
                    axes[0] = yaw;
                    let header = Header { stamp: stamp_to_msg(clock.now()?), frame_id: String::new() };
                    joy_pub.publish(&Joy { header, axes, buttons })?;
                }
            }
            _ = skel_timer.tick() => {
                let frame = match scenario.step() {
                    Some((frame, _truth)) => frame,
                    None => {
                        seed += 1;
                        scenario = scene(seed)?;
                        println!("demo: new scene (seed {seed}, {} humans)", scenario.num_humans());
                        continue;
                    }
                };
                skel_pub.publish(&skeletons_to_msg(&frame, clock.now()?))?;
                window_skel += 1;
            }
            Some(arr) = intent_sub.next() => {
                for p in &arr.predictions {
                    let label = LABELS.get(p.intent as usize).copied().unwrap_or("?");
                    *intents_seen.entry(label.to_owned()).or_default() += 1;
                }
                if let Some(s) = &last_status {
                    if let Some(p) = arr.predictions.iter().find(|p| s.human_in_view && p.human_id == s.nearest_human_id) {
                        nearest_intent = format!("{} {:.0}%", LABELS.get(p.intent as usize).copied().unwrap_or("?"), p.confidence * 100.0);
                    }
                }
            }
            Some(arr) = diag_sub.next() => {
                if let Some(st) = arr.status.into_iter().rev().find(|st| st.name.ends_with(": forecast_check")) {
                    forecast_check = Some(st);
                }
            }
            Some(cmd) = cmd_sub.next() => {
                cmds += 1;
                window_cmds += 1;
                let l = &cmd.twist.linear;
                let a = &cmd.twist.angular;
                if ![l.x, l.y, l.z, a.x, a.y, a.z].iter().all(|v| v.is_finite()) { nonfinite += 1; }
                max_speed = max_speed.max((l.x * l.x + l.y * l.y).sqrt());
                last_cmd = Some(cmd);
            }
            Some(s) = status_sub.next() => {
                *mode_counts.entry(MODE_NAMES.get(s.mode as usize).copied().unwrap_or("?")).or_default() += 1;
                window_latency_us.push(f64::from(s.decision_time) * 1e6);
                all_latency_us.push(f64::from(s.decision_time) * 1e6);
                if s.human_in_view { min_separation = min_separation.min(f64::from(s.min_separation)); }
                for r in &s.reasons { *reason_counts.entry(r.clone()).or_default() += 1; }
                last_status = Some(s);
            }
            _ = print_timer.tick() => {
                if let (Some(s), Some(c)) = (&last_status, &last_cmd) {
                    let p50 = percentile(&mut window_latency_us, 0.5);
                    let p99 = percentile(&mut window_latency_us, 0.99);
                    println!(
                        "t={t:5.1}s cmd {:>3.0} Hz skel {:>3.0} Hz | decision p50 {p50:>5.0} us p99 {p99:>5.0} us | {:<8} alpha {:.2} | \
                         vx {:+.2} wz {:+.2} (user {:+.2}) | humans {} sep {} / S_p {:.2} m | nearest {} | {}",
                        window_cmds as f64 * 2.0, window_skel as f64 * 2.0,
                        MODE_NAMES.get(s.mode as usize).copied().unwrap_or("?"), s.alpha,
                        c.twist.linear.x, c.twist.angular.z, s.user_cmd.linear.x, s.humans_seen,
                        if s.human_in_view { format!("{:.2}", s.min_separation) } else { "-".into() },
                        s.required_separation,
                        if s.human_in_view { nearest_intent.as_str() } else { "-" },
                        s.reasons.join(","),
                    );
                }
                window_cmds = 0;
                window_skel = 0;
                window_latency_us.clear();
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("\n=== demo report ===");
    println!(
        "cmd_vel messages: {cmds} ({:.1} Hz), non-finite: {nonfinite}, max planar speed: {max_speed:.2} m/s",
        cmds as f64 / elapsed
    );
    println!(
        "decision latency (input arrival -> cmd_vel): p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        percentile(&mut all_latency_us, 0.5),
        percentile(&mut all_latency_us, 0.99),
        percentile(&mut all_latency_us, 1.0)
    );
    println!(
        "closest approach of any human to the robot: {}",
        if min_separation.is_finite() { format!("{min_separation:.2} m") } else { "-".into() }
    );
    println!("predicted intents (per human and capture): {intents_seen:?}");
    println!("modes (status messages): {mode_counts:?}");
    println!("reasons: {reason_counts:?}");
    match &forecast_check {
        Some(st) => {
            let value = |k: &str| st.values.iter().find(|v| v.key == k).map_or("?", |v| v.value.as_str());
            println!(
                "forecasts against the model card's real-data error bound: {} — {} (checks {}, above the bound {})",
                LEVEL_NAMES.get(st.level as usize).copied().unwrap_or("?"),
                st.message,
                value("checks_total"),
                value("bound_exceeded_total")
            );
        }
        None => println!("forecasts against the model card's real-data error bound: no `forecast_check` status seen"),
    }
    if let Some(c) = &last_cmd {
        let stopped = [c.twist.linear.x, c.twist.linear.y, c.twist.angular.z].iter().all(|v| *v == 0.0);
        println!(
            "final command (joystick silent): {}",
            if stopped { "zero — the robot stopped by itself" } else { "NOT zero" }
        );
    }
    stop.store(true, Ordering::Relaxed);
    let node = spinner.join().map_err(|_| anyhow::anyhow!("spin thread panicked"))?;
    if cmds == 0 {
        // Up but not active (it refused its parameters, or is held unconfigured or inactive), or not there at all:
        // its lifecycle topic tells them apart.
        let up = node
            .get_topic_names_and_types()
            .is_ok_and(|t| t.keys().any(|k| k.ends_with("shared_control/transition_event")));
        anyhow::ensure!(
            !up,
            "no cmd_vel received, but shared_control is running: it is not active (see its log; `ros2 lifecycle get \
             {}shared_control` shows its state)",
            node.namespace().map(|n| if n == "/" { n } else { n + "/" }).unwrap_or_default()
        );
        anyhow::bail!("no cmd_vel received and no shared_control found: is the system running on this ROS_DOMAIN_ID?");
    }
    anyhow::ensure!(nonfinite == 0, "non-finite commands were published");
    Ok(())
}
