//! The worker: measures one system under test in this process (publishes, matches answers, samples resources).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::{FutureExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use intent_shared_control::ros::node_util::sensor_qos;
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::intent_shared_control_msgs::msg::{HumanSkeletonArray, SharedControlStatus};
use r2r::sensor_msgs::msg::Joy;
use r2r::QosProfile;

use crate::cli::{Cli, System};
use crate::exact::ExactMatcher;
use crate::messages::{joy_msg, realtime_ns, skeleton_msg, stamp_ns};
use crate::results::{histogram, summarise, ResourceSample, SecondStats, SystemResult};
use crate::sut::{cpu_ticks, rss_kib, Sut, USER_HZ};

struct Pending {
    send_ns: i64,
    measured: bool,
    bucket: usize,
    joy_overlap: bool,
}

pub(crate) fn run_worker(cli: &Cli, system: System) -> anyhow::Result<SystemResult> {
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
