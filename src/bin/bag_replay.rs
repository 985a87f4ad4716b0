//! Offline replay of a rosbag2 MCAP bag through the shared-control core, without DDS.
//!
//! ```text
//! bag_replay <bag> [--out DIR] [--predictions recorded|constant-velocity|model|none] [--step events|recorded]
//!            [--params config/params.yaml] [--control-rate 50] [--namespace /robot1] [--odom-frame odom]
//!            [--no-progress]
//! ```
//! Writes `DIR/outputs/` (bag: cmd_vel + shared_control/status), `DIR/decisions.csv` and `DIR/metrics.json`
//! (judge metrics, thresholds, failures, replay speed). Exit status 0 also when thresholds fail; `--strict`
//! makes failed thresholds exit 2.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use intent_shared_control::bag::read_bag;
use intent_shared_control::bag::replay::{self, metrics_json, PredictionSource, ReplayOptions, StepMode, Thresholds};
use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::model::{ConstantVelocityConfig, ConstantVelocityModel, IntentModel};
use intent_shared_control_core::odometry::OdometryConfig;
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::ControllerConfig;

#[derive(Copy, Clone, Debug, ValueEnum)]
enum Predictions {
    /// The recorded humans/intent.
    Recorded,
    /// The constant-velocity predictor on the recorded skeletons.
    ConstantVelocity,
    /// The ONNX model (models/intent_model.card.json; ONNX Runtime from ISC_ORT_LIB) on the recorded skeletons.
    Model,
    /// The recorded humans/intent with each forecast replaced by the person's true future (ground truth, else
    /// the observed skeletons, moved with /odom or the recorded cmd_vel): a perfect forecast, for comparison.
    TrueFuture,
    /// No predictions.
    None,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum Step {
    Events,
    Recorded,
}

#[derive(Parser, Debug)]
#[command(about = "Replays a bag through the shared-control core offline (bag time, deterministic)")]
struct Args {
    /// Bag directory (metadata.yaml + .mcap) or .mcap file.
    bag: PathBuf,
    /// Output directory (created).
    #[arg(long, default_value = "bag_replay_out")]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "recorded")]
    predictions: Predictions,
    #[arg(long, value_enum, default_value = "events")]
    step: Step,
    /// Controller configuration: a YAML file in the ControllerConfig layout (defaults when absent).
    #[arg(long)]
    controller_config: Option<PathBuf>,
    /// Periodic decision rate \[Hz\].
    #[arg(long, default_value_t = 50.0)]
    control_rate: f64,
    /// Topic prefix of the recorded system.
    #[arg(long, default_value = "")]
    namespace: String,
    /// Frame of the bag's odometry poses (the predictor node's `odometry_frame_id`); poses in another frame are
    /// rejected as the node rejects them.
    #[arg(long, default_value = intent_shared_control::ros::convert::ODOM_FRAME)]
    odom_frame: String,
    /// Model card for `--predictions model`.
    #[arg(long, default_value = "models/intent_model.card.json")]
    model_card: PathBuf,
    /// ONNX Runtime library for `--predictions model` (default: $ISC_ORT_LIB, else the one of scripts/setup.sh).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Skip the outputs bag (CSV and metrics only).
    #[arg(long)]
    no_bag: bool,
    #[arg(long)]
    no_progress: bool,
    /// Exit 2 when a threshold fails.
    #[arg(long)]
    strict: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let controller = match &args.controller_config {
        Some(p) => ControllerConfig::from_yaml(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )?,
        None => ControllerConfig::default(),
    };
    let mut options = ReplayOptions {
        controller,
        control_rate: args.control_rate,
        namespace: args.namespace.clone(),
        odom_frame: args.odom_frame.clone(),
        ..ReplayOptions::default()
    };
    options.skeleton_limits.expected_frame = options.controller.safety.validation.expected_frame.clone();
    options.step = match args.step {
        Step::Events => StepMode::Events,
        Step::Recorded => StepMode::Recorded,
    };
    let (source, model): (PredictionSource, Option<Box<dyn IntentModel + Send>>) = match args.predictions {
        Predictions::Recorded => (PredictionSource::Recorded, None),
        Predictions::TrueFuture => (PredictionSource::TrueFuture, None),
        Predictions::None => (PredictionSource::None, None),
        Predictions::ConstantVelocity => (
            PredictionSource::Predictor,
            Some(Box::new(ConstantVelocityModel::new(ConstantVelocityConfig::default())?)),
        ),
        Predictions::Model => {
            (PredictionSource::Predictor, Some(replay::load_cpu_model(&args.model_card, args.ort_lib.as_deref())?))
        }
    };
    options.predictions = source;
    let mut predictor = model.map(|m| IntentPredictor::new(FeatureConfig::default(), m, 64)).transpose()?;
    // As the predictor node: the model's forecasts checked against its card's error bound. The constant-velocity
    // forecasts are checked against the same bound for comparison only (the node checks none in its fallback),
    // when the card can be read: that replay needs no card otherwise.
    if let Some(p) = predictor.as_mut() {
        let bound = match args.predictions {
            Predictions::Model => replay::card_forecast_bound(&args.model_card)?,
            Predictions::ConstantVelocity => replay::card_forecast_bound(&args.model_card).unwrap_or_else(|e| {
                eprintln!("constant-velocity forecasts not checked against a model card's error bound: {e:#}");
                None
            }),
            _ => None,
        };
        if let Some(bound) = bound {
            p.check_forecasts(bound);
        }
    }

    let t_read = Instant::now();
    let messages = read_bag(&args.bag)?;
    let read_s = t_read.elapsed().as_secs_f64();
    // As the predictor node: the humans' tracks in the odometry frame when the robot's odometry is there.
    if let Some(p) = predictor.as_mut().filter(|_| replay::has_odometry(&messages, &options.namespace)) {
        p.use_odometry(OdometryConfig::default())?;
    }
    let bar = if args.no_progress {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(messages.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} replay [{bar:40}] {pos}/{len} msgs {per_sec} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    let t0 = Instant::now();
    let out = replay::replay(&messages, options.clone(), predictor, |n| bar.set_position(n as u64))?;
    let replay_s = t0.elapsed().as_secs_f64();
    bar.finish_and_clear();

    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    if !args.no_bag {
        let dir = args.out.join("outputs");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        replay::write_outputs_bag(&dir, &out.cycles, &options.cmd_frame_id)?;
    }
    replay::write_csv(&args.out.join("decisions.csv"), &out.cycles)?;
    let bag_s = match (messages.iter().map(|m| m.log_time).min(), messages.iter().map(|m| m.log_time).max()) {
        (Some(a), Some(b)) => (b - a) as f64 * 1e-9,
        _ => 0.0,
    };
    let thresholds = Thresholds::for_rate(args.control_rate);
    let speed = if replay_s > 0.0 { bag_s / replay_s } else { f64::INFINITY };
    // Wall-clock figures go to a separate file so metrics.json stays bit-identical between runs.
    let timing = serde_json::json!({ "bag_s": bag_s, "messages": messages.len(), "read_s": read_s, "replay_s": replay_s, "x_real_time": speed });
    let run = serde_json::json!({
        "bag": args.bag.file_name().map(|s| s.to_string_lossy().into_owned()),
        "predictions": format!("{:?}", args.predictions).to_lowercase(),
        "step": format!("{:?}", args.step).to_lowercase(),
        "control_rate_hz": args.control_rate,
    });
    let json = metrics_json(&out, &thresholds, run);
    std::fs::write(args.out.join("metrics.json"), serde_json::to_string_pretty(&json)? + "\n")?;
    std::fs::write(args.out.join("timing.json"), serde_json::to_string_pretty(&timing)? + "\n")?;
    let failures = replay::check_thresholds(&out.metrics, &thresholds);
    println!(
        "{} messages, {:.1} s of bag time, {} decisions in {:.3} s ({:.0}x real time); judged on {}: {}",
        messages.len(),
        bag_s,
        out.cycles.len(),
        replay_s,
        speed,
        out.metrics.judged_on,
        if failures.is_empty() { "all thresholds met".to_owned() } else { failures.join("; ") }
    );
    if let Some(a) = &out.agreement {
        println!(
            "agreement with the recorded decisions: {}/{} same mode, max |Δoutput| {:.3e}, {} output mismatches",
            a.same_mode, a.compared, a.max_output_diff, a.output_mismatches
        );
    }
    if let Some(c) = &out.forecast_check {
        let worst = c
            .by_lookahead
            .iter()
            .filter(|s| s.checks > 0)
            .max_by(|a, b| (a.exceeded as f64 / a.checks as f64).total_cmp(&(b.exceeded as f64 / b.checks as f64)));
        let checks: u64 = c.by_lookahead.iter().map(|s| s.checks).sum();
        match worst {
            Some(w) => println!(
                "forecasts against the model card's error bound: {checks} checks, worst {:.2} % above it at {:.1} s (card {:.2} %){}",
                100.0 * w.exceeded as f64 / w.checks as f64,
                w.lookahead_s,
                100.0 * (1.0 - c.quantile),
                if c.alarmed_lookahead_s.is_empty() { String::new() } else { format!("; alarm raised at {:?} s", c.alarmed_lookahead_s) }
            ),
            None => println!("forecasts against the model card's error bound: none checked"),
        }
    }
    if args.strict && !failures.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
