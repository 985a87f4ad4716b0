//! Writes the suite's scenario bags (rosbag2 MCAP) from the shared scenario generator.
//!
//! ```text
//! bag_scenario --out DIR [--kind intrusion ...] [--seed 7] [--predictor model|constant-velocity]
//! ```
//! One bag directory per kind, `DIR/<kind>_s<seed>`; `--kind all` (default) writes every kind.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use intent_shared_control::bag::scenarios::{generate, write_bag, GeneratorOptions, GeneratorPredictor, ScenarioKind};

#[derive(Parser, Debug)]
#[command(about = "Writes scenario bags from the seeded scenario generator")]
struct Args {
    /// Output directory (created).
    #[arg(long)]
    out: PathBuf,
    /// Scenario kinds (intrusion, pass_by, hand_over, retreat, several_humans, skeleton_dropout, nan_burst,
    /// joystick_loss, clock_jump) or `all`.
    #[arg(long, default_value = "all")]
    kind: Vec<String>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// What predicts the intents: the shipped model (ONNX Runtime from $ISC_ORT_LIB) or the constant-velocity
    /// baseline (for comparison: the chain then uses the standard's human speed).
    #[arg(long, value_enum, default_value = "model")]
    predictor: Predictor,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Predictor {
    Model,
    ConstantVelocity,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let kinds: Vec<ScenarioKind> = if args.kind.iter().any(|k| k == "all") {
        ScenarioKind::ALL.to_vec()
    } else {
        args.kind
            .iter()
            .map(|k| ScenarioKind::from_name(k).with_context(|| format!("unknown scenario kind `{k}`")))
            .collect::<Result<_, _>>()?
    };
    std::fs::create_dir_all(&args.out)?;
    let mut options = GeneratorOptions::default();
    if let Predictor::ConstantVelocity = args.predictor {
        options.predictor = GeneratorPredictor::ConstantVelocity;
    }
    for kind in kinds {
        let messages = generate(kind, args.seed, &options)?;
        let dir = write_bag(&args.out.join(format!("{}_s{}", kind.name(), args.seed)), &messages)?;
        println!("{} ({} messages)", dir.display(), messages.len());
    }
    Ok(())
}
