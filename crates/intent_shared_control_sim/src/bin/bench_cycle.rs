//! `bench_cycle`: latency of one in-process decision cycle (`on_skeletons` + `on_predictions` + `on_joy` +
//! `Controller::step`) with several people in view, as p50 / p99 / max from an HDR histogram. Writes
//! `bench_cycle.json` and `bench_cycle.md`. A benchmark, not a timed test: build with `--release`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::skeleton::{HumanSkeleton, Keypoint};
use intent_shared_control_core::{Controller, ControllerConfig, JoyInput, SkeletonFrame, Stamp};
use nalgebra::Point3;

#[derive(Parser, Debug)]
#[command(about = "In-process decision-cycle latency benchmark")]
struct Args {
    /// Measured cycles.
    #[arg(long, default_value_t = 200_000)]
    cycles: u64,
    /// Warm-up cycles (not recorded).
    #[arg(long, default_value_t = 10_000)]
    warmup: u64,
    /// People in view (each with a prediction).
    #[arg(long, default_value_t = 4)]
    humans: usize,
    /// Output directory.
    #[arg(long, default_value = "target/bench")]
    out_dir: PathBuf,
}

fn inputs(k: u64, humans: usize) -> (Stamp, SkeletonFrame, Vec<HumanPrediction>, JoyInput) {
    let stamp = Stamp(1_000_000_000 + k as i64 * 5_000_000);
    let t = stamp.as_secs_f64();
    let mut frame = SkeletonFrame { stamp, frame_id: "base_link".into(), humans: Vec::with_capacity(humans) };
    let mut preds = Vec::with_capacity(humans);
    for h in 0..humans {
        let a = h as f64 * 1.3 + 0.2 * (t * 0.5).sin();
        let (x, y) = (2.5 * a.cos(), 2.5 * a.sin());
        let mut keypoints = [Keypoint::MISSING; 17];
        for (i, kp) in keypoints.iter_mut().enumerate() {
            *kp = Keypoint { position: Point3::new(x + 0.01 * i as f64, y, 0.1 * i as f64), confidence: 0.9 };
        }
        frame.humans.push(HumanSkeleton { id: h as u32 + 1, keypoints });
        let mut probabilities = [0.05f32; 5];
        probabilities[h % 5] = 0.8;
        preds.push(HumanPrediction {
            human_id: h as u32 + 1,
            stamp,
            probabilities,
            confidence: 0.8,
            horizon_step: 0.1,
            future: (1..=10).map(|s| [Point3::new(x - 0.05 * s as f64, y, 1.0); 3]).collect(),
        });
    }
    let joy = JoyInput { stamp, axes: vec![0.1, 0.8, 0.0, 0.0], buttons: vec![0, 0, 0, 0, 1, 0, 0, 0] };
    (stamp, frame, preds, joy)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut ctl = Controller::try_new(ControllerConfig::default()).context("default configuration")?;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).context("histogram bounds")?;
    let mut checksum = 0.0;
    for k in 0..args.warmup + args.cycles {
        // Inputs are built outside the timed section; the cycle takes ownership as the ROS adapter would.
        let (stamp, frame, preds, joy) = inputs(k, args.humans);
        let start = Instant::now();
        ctl.on_skeletons(frame);
        ctl.on_predictions(stamp, preds);
        ctl.on_joy(joy);
        let d = ctl.step(stamp);
        let ns = start.elapsed().as_nanos() as u64;
        checksum += d.output.linear.x;
        if k >= args.warmup {
            hist.record(ns.max(1)).context("recording a sample")?;
        }
    }
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let report = serde_json::json!({
        "benchmark": "in-process decision cycle (on_skeletons + on_predictions + on_joy + Controller::step)",
        "humans": args.humans,
        "cycles": args.cycles,
        "p50_us": us(0.5),
        "p99_us": us(0.99),
        "p999_us": us(0.999),
        "max_us": hist.max() as f64 / 1000.0,
        "mean_us": hist.mean() / 1000.0,
        "budget_p99_us": 100.0,
        "checksum": checksum,
    });
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("creating {}", args.out_dir.display()))?;
    std::fs::write(args.out_dir.join("bench_cycle.json"), serde_json::to_string_pretty(&report)?)?;
    let md = format!(
        "# Decision-cycle benchmark\n\n{} people in view, {} cycles after {} warm-up.\n\n| p50 [µs] | p99 [µs] | p99.9 [µs] | max [µs] | budget p99 [µs] |\n|---|---|---|---|---|\n| {:.2} | {:.2} | {:.2} | {:.2} | 100 |\n",
        args.humans, args.cycles, args.warmup, us(0.5), us(0.99), us(0.999), hist.max() as f64 / 1000.0
    );
    std::fs::write(args.out_dir.join("bench_cycle.md"), &md)?;
    println!("{md}");
    Ok(())
}
