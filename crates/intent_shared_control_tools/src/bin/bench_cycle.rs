//! `bench_cycle`: latency of the in-process decision, as p50 / p99 / p99.9 / max from HDR histograms. Writes
//! `<stem>.json` and `<stem>.md`. A benchmark, not a timed test: build with `--release`.
//!
//! Rows (each for 1 and `--humans` people in view):
//! - **whole cycle, model** (the product path): one new skeleton capture → `IntentPredictor::predict` (feature
//!   windows + the shipped ONNX model on ONNX Runtime's CPU provider, 1 intra-op thread, all people in one
//!   batch) → `on_skeletons` + `on_predictions` + `on_joy` + `InputHandler::decide` (teleop, assist, blend, safety
//!   chain), the forecasts checked against the card's real-data error bound as the predictor node checks them
//!   (`forecast_check`). Captures are scenario skeletons at 30 Hz, one cycle per capture.
//! - **whole cycle, model, no forecast check**: the same without the check (what the check costs).
//! - **whole cycle, cv**: the same with the constant-velocity model in place of ONNX (baseline, same run).
//! - **controller only**: `on_skeletons` + `on_predictions` + `on_joy` + `InputHandler::decide` with ready-made
//!   predictions at 200 Hz (the rate of the control loop between captures).
//!
//! Rows are measured in alternating rounds in one process so that drifts of a shared machine hit all of them.
//! Inputs are built outside the timed section; the cycle takes ownership of them as the ROS adapters would.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::model::{ConstantVelocityConfig, ConstantVelocityModel};
use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::skeleton::{HumanSkeleton, Keypoint};
use intent_shared_control_core::{ControllerConfig, InputHandler, JoyInput, SkeletonFrame, Stamp};
use intent_shared_control_inference::machine::MachineInfo;
use intent_shared_control_sim::scenario::{NoiseConfig, Scenario, ScenarioConfig};
use intent_shared_control_sim::{card_forecast_bound, default_model_card, load_model_predictor};
use nalgebra::Point3;
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(about = "In-process decision-cycle latency benchmark")]
struct Args {
    /// Measured cycles per row.
    #[arg(long, default_value_t = 30_000)]
    cycles: u64,
    /// Warm-up cycles per row (not recorded).
    #[arg(long, default_value_t = 3_000)]
    warmup: u64,
    /// Rounds the measured cycles are split into (rows alternate between rounds).
    #[arg(long, default_value_t = 3)]
    rounds: u64,
    /// People in view of the multi-person rows (the other rows have 1).
    #[arg(long, default_value_t = 4)]
    humans: usize,
    /// Model card of the shipped model [default: models/intent_model.card.json of the workspace].
    #[arg(long)]
    model_card: Option<PathBuf>,
    /// ONNX Runtime library [default: $ISC_ORT_LIB, else .setup/onnxruntime/lib/libonnxruntime.so.1.31.1 of
    /// the workspace when it exists, else libonnxruntime.so.1.31.1 on the loader's search path].
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Skip the rows with the ONNX model (no ONNX Runtime needed).
    #[arg(long)]
    no_model: bool,
    /// Output directory.
    #[arg(long, default_value = "target/bench")]
    out_dir: PathBuf,
    /// File name stem of the outputs.
    #[arg(long, default_value = "bench_cycle")]
    stem: String,
}

/// Whole-cycle budget at p99 with one person in view \[µs\].
const BUDGET_P99_US: f64 = 100.0;
/// Capture rate of the whole-cycle rows \[Hz\].
const CAPTURE_HZ: f64 = 30.0;

/// Ready-made inputs of the controller-only row (control cycles at 200 Hz).
fn controller_inputs(k: u64, humans: usize) -> (Stamp, SkeletonFrame, Vec<HumanPrediction>, JoyInput) {
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
    (stamp, frame, preds, joy(stamp))
}

fn joy(stamp: Stamp) -> JoyInput {
    JoyInput { stamp, axes: vec![0.1, 0.8, 0.0, 0.0], buttons: vec![0, 0, 0, 0, 1, 0, 0, 0] }
}

/// The node's input handler, armed by the operator (deadman seen released before the first cycle), so that the
/// cycles measured drive the whole chain.
fn armed() -> anyhow::Result<InputHandler> {
    let mut h = InputHandler::new(ControllerConfig::default()).context("default configuration")?;
    let released = JoyInput { stamp: Stamp(-1_000_000), axes: vec![0.0; 4], buttons: vec![0; 8] };
    let _ = h.on_joy(Stamp(-1_000_000), released);
    Ok(h)
}

/// A minute of scenario skeletons with exactly `humans` people in every frame (sensor noise, no occlusion or
/// dropped frames), replayed cyclically with stamps continuing at 30 Hz.
struct Captures {
    frames: Vec<SkeletonFrame>,
}

impl Captures {
    fn new(humans: usize, seed: u64) -> anyhow::Result<Self> {
        let noise =
            NoiseConfig { occlusion_rate_hz: 0.0, frame_drop_prob: 0.0, stamp_jitter_s: 0.0, ..NoiseConfig::default() };
        let config = ScenarioConfig {
            rate_hz: CAPTURE_HZ,
            duration_s: 60.0,
            humans: [humans, humans],
            noise,
            ..ScenarioConfig::default()
        };
        let mut scenario = Scenario::new(config, seed).context("benchmark scenario")?;
        let mut frames = Vec::new();
        while let Some((frame, _)) = scenario.step() {
            frames.push(frame);
        }
        anyhow::ensure!(!frames.is_empty(), "empty benchmark scenario");
        Ok(Captures { frames })
    }

    fn get(&self, k: u64) -> SkeletonFrame {
        let mut f = self.frames[(k % self.frames.len() as u64) as usize].clone();
        f.stamp = Stamp(1_000_000_000 + (k as f64 * 1e9 / CAPTURE_HZ).round() as i64);
        f.frame_id = "base_link".into();
        f
    }
}

#[derive(Serialize)]
struct Row {
    name: String,
    cycle: &'static str,
    humans: usize,
    cycles: u64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    mean_us: f64,
    /// The prediction part alone (features + model), for the whole-cycle rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    predict_p50_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    predict_p99_us: Option<f64>,
    /// The controller part alone, for the whole-cycle rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    controller_p50_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    controller_p99_us: Option<f64>,
    /// Predictions produced per cycle (mean), for the whole-cycle rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    predictions_per_cycle: Option<f64>,
}

enum Kind {
    Controller,
    Whole { predictor: Box<IntentPredictor>, captures: Captures },
}

struct Bench {
    name: String,
    humans: usize,
    kind: Kind,
    ctl: InputHandler,
    k: u64,
    total: Histogram<u64>,
    predict: Histogram<u64>,
    control: Histogram<u64>,
    predictions: u64,
    recorded: u64,
    checksum: f64,
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).context("histogram bounds")
}

impl Bench {
    fn new(name: &str, humans: usize, kind: Kind) -> anyhow::Result<Self> {
        Ok(Bench {
            name: name.into(),
            humans,
            kind,
            ctl: armed()?,
            k: 0,
            total: histogram()?,
            predict: histogram()?,
            control: histogram()?,
            predictions: 0,
            recorded: 0,
            checksum: 0.0,
        })
    }

    /// Runs `n` cycles, recording them when `record`.
    fn run(&mut self, n: u64, record: bool) -> anyhow::Result<()> {
        for _ in 0..n {
            let k = self.k;
            self.k += 1;
            match &mut self.kind {
                Kind::Controller => {
                    let (stamp, frame, preds, joy) = controller_inputs(k, self.humans);
                    let start = Instant::now();
                    let _ = self.ctl.on_skeletons(stamp, frame);
                    let _ = self.ctl.on_predictions(stamp, stamp, preds);
                    let _ = self.ctl.on_joy(stamp, joy);
                    let d = self.ctl.decide(stamp);
                    let ns = start.elapsed().as_nanos() as u64;
                    self.checksum += d.output.linear.x;
                    if record {
                        self.total.record(ns.max(1))?;
                        self.recorded += 1;
                    }
                }
                Kind::Whole { predictor, captures } => {
                    let frame = captures.get(k);
                    let stamp = frame.stamp;
                    let joy = joy(stamp);
                    let start = Instant::now();
                    let preds = predictor.predict(&frame).context("prediction")?;
                    let mid = Instant::now();
                    let n_preds = preds.len() as u64;
                    let _ = self.ctl.on_skeletons(stamp, frame);
                    let _ = self.ctl.on_predictions(stamp, stamp, preds);
                    let _ = self.ctl.on_joy(stamp, joy);
                    let d = self.ctl.decide(stamp);
                    let end = Instant::now();
                    self.checksum += d.output.linear.x;
                    if record {
                        self.total.record(((end - start).as_nanos() as u64).max(1))?;
                        self.predict.record(((mid - start).as_nanos() as u64).max(1))?;
                        self.control.record(((end - mid).as_nanos() as u64).max(1))?;
                        self.predictions += n_preds;
                        self.recorded += 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn row(&self) -> Row {
        let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let whole = matches!(self.kind, Kind::Whole { .. });
        Row {
            name: self.name.clone(),
            cycle: if whole {
                "capture → features + model → on_skeletons + on_predictions + on_joy + step"
            } else {
                "on_skeletons + on_predictions + on_joy + step (predictions given)"
            },
            humans: self.humans,
            cycles: self.recorded,
            p50_us: us(&self.total, 0.5),
            p99_us: us(&self.total, 0.99),
            p999_us: us(&self.total, 0.999),
            max_us: self.total.max() as f64 / 1000.0,
            mean_us: self.total.mean() / 1000.0,
            predict_p50_us: whole.then(|| us(&self.predict, 0.5)),
            predict_p99_us: whole.then(|| us(&self.predict, 0.99)),
            controller_p50_us: whole.then(|| us(&self.control, 0.5)),
            controller_p99_us: whole.then(|| us(&self.control, 0.99)),
            predictions_per_cycle: whole.then(|| self.predictions as f64 / self.recorded.max(1) as f64),
        }
    }
}

fn cv_predictor() -> anyhow::Result<Box<IntentPredictor>> {
    let cv = ConstantVelocityModel::new(ConstantVelocityConfig::default()).context("constant-velocity model")?;
    Ok(Box::new(IntentPredictor::new(FeatureConfig::default(), Box::new(cv), 64).context("feature pipeline")?))
}

fn reproduce(args: &Args) -> String {
    let mut cmd = String::new();
    if !args.no_model && args.ort_lib.is_none() {
        cmd.push_str("ISC_ORT_LIB=<libonnxruntime.so.1.31.1> ");
    }
    cmd.push_str(&format!(
        "cargo run --release -p intent_shared_control_tools --bin bench_cycle -- --cycles {} --warmup {} --rounds {} --humans {}",
        args.cycles, args.warmup, args.rounds, args.humans
    ));
    if let Some(c) = &args.model_card {
        cmd.push_str(&format!(" --model-card {}", c.display()));
    }
    if args.ort_lib.is_some() {
        cmd.push_str(" --ort-lib <libonnxruntime.so.1.31.1>");
    }
    if args.no_model {
        cmd.push_str(" --no-model");
    }
    cmd.push_str(&format!(" --out-dir {} --stem {}", args.out_dir.display(), args.stem));
    cmd
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.rounds >= 1 && args.cycles >= args.rounds, "need --rounds >= 1 and --cycles >= --rounds");
    anyhow::ensure!(args.humans >= 1, "need --humans >= 1");
    let mut counts = vec![1];
    if args.humans != 1 {
        counts.push(args.humans);
    }
    let card = args.model_card.clone().unwrap_or_else(default_model_card);
    let mut model_description = None;
    let bound = if args.no_model { None } else { card_forecast_bound(&card).context("the card's error bound")? };
    let mut benches = Vec::new();
    for &n in &counts {
        if !args.no_model {
            // As the predictor node runs it: forecasts checked against the card's error bound when it states one.
            let (mut predictor, description) = load_model_predictor(&card, args.ort_lib.as_deref())?;
            if let Some(bound) = bound.clone() {
                predictor.check_forecasts(bound);
            }
            model_description = Some(description);
            benches.push(Bench::new(
                "whole cycle, model",
                n,
                Kind::Whole { predictor: Box::new(predictor), captures: Captures::new(n, 7)? },
            )?);
            if bound.is_some() {
                let (predictor, _) = load_model_predictor(&card, args.ort_lib.as_deref())?;
                benches.push(Bench::new(
                    "whole cycle, model, no forecast check",
                    n,
                    Kind::Whole { predictor: Box::new(predictor), captures: Captures::new(n, 7)? },
                )?);
            }
        }
        benches.push(Bench::new(
            "whole cycle, cv (baseline)",
            n,
            Kind::Whole { predictor: cv_predictor()?, captures: Captures::new(n, 7)? },
        )?);
        benches.push(Bench::new("controller only", n, Kind::Controller)?);
    }
    for b in &mut benches {
        b.run(args.warmup, false)?;
    }
    let per_round = args.cycles / args.rounds;
    for round in 0..args.rounds {
        let n = if round + 1 == args.rounds { args.cycles - per_round * (args.rounds - 1) } else { per_round };
        for b in &mut benches {
            b.run(n, true)?;
        }
    }
    let rows: Vec<Row> = benches.iter().map(Bench::row).collect();
    let checksum: f64 = benches.iter().map(|b| b.checksum).sum();
    let target = rows.iter().find(|r| r.name == "whole cycle, model" && r.humans == 1).map(|r| r.p99_us);
    let verdict = match target {
        Some(p99) if p99 <= BUDGET_P99_US => format!("met (p99 {p99:.1} µs)"),
        Some(p99) => format!("NOT met (p99 {p99:.1} µs)"),
        None => "not measured (--no-model)".into(),
    };
    let machine = MachineInfo::collect();
    let command = reproduce(&args);
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    let report = serde_json::json!({
        "benchmark": "in-process decision cycle",
        "rows": rows,
        "budget": { "row": "whole cycle, model", "humans": 1, "p99_us": BUDGET_P99_US, "verdict": verdict },
        "model": model_description,
        "cycles_per_row": args.cycles,
        "warmup_per_row": args.warmup,
        "rounds": args.rounds,
        "capture_rate_hz": CAPTURE_HZ,
        "reproduce": command,
        "machine": machine,
        "build": build,
        "checksum": checksum,
    });
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("creating {}", args.out_dir.display()))?;
    std::fs::write(args.out_dir.join(format!("{}.json", args.stem)), serde_json::to_string_pretty(&report)?)?;
    let mut md = String::from("# Decision-cycle benchmark\n\n");
    md.push_str(&format!(
        "{} measured cycles per row after {} warm-up, in {} alternating rounds; {} build. Model: {}.\n\n",
        args.cycles,
        args.warmup,
        args.rounds,
        build,
        model_description.as_deref().unwrap_or("not run")
    ));
    md.push_str("| row | people | p50 [µs] | p99 [µs] | p99.9 [µs] | max [µs] | predict p50 / p99 [µs] | controller p50 / p99 [µs] |\n|---|---|---|---|---|---|---|---|\n");
    for r in &rows {
        let part = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{a:.1} / {b:.1}"),
            _ => "–".into(),
        };
        md.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
            r.name,
            r.humans,
            r.p50_us,
            r.p99_us,
            r.p999_us,
            r.max_us,
            part(r.predict_p50_us, r.predict_p99_us),
            part(r.controller_p50_us, r.controller_p99_us)
        ));
    }
    md.push_str(&format!("\nTarget: whole cycle with the model, 1 person, p99 ≤ {BUDGET_P99_US:.0} µs: {verdict}.\n"));
    md.push_str(
        "\nWhole cycle: one new skeleton capture (scenario skeletons, 30 Hz) → feature windows + model (all people \
         in one batch; ONNX Runtime CPU provider, 1 intra-op thread) → `on_skeletons` + `on_predictions` + `on_joy` + \
         `Controller::step` (teleop, assist, blend, safety chain); with the model, the forecasts are checked against \
         the card's real-data error bound as the predictor node does (`forecast_check`; the row without it shows \
         what the check costs). Controller only: the same controller calls at 200 Hz with ready-made predictions. \
         Inputs are built outside the timed section.\n",
    );
    md.push_str(&format!("\n## Reproduce\n\n```sh\n{command}\n```\n\nMachine: {}.\n", machine.describe()));
    std::fs::write(args.out_dir.join(format!("{}.md", args.stem)), &md)?;
    println!("{md}");
    Ok(())
}
