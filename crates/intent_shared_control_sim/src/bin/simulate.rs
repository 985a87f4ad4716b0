//! `simulate`: runs N seeded closed-loop scenarios and writes `sim_report.json` (report + per-run metrics) and
//! `sim_report.md`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use intent_shared_control_core::sim::{PredictorKind, SimConfig};
use intent_shared_control_sim::{run_batch, standard_scenario};

#[derive(Copy, Clone, Debug, ValueEnum)]
enum Predictor {
    /// No predictions.
    None,
    /// Constant-velocity model through the feature pipeline.
    Cv,
    /// True intent and future motion with `--oracle-confidence`.
    Oracle,
}

#[derive(Parser, Debug)]
#[command(about = "Closed-loop shared-control simulation over seeded scenarios")]
struct Args {
    /// Number of scenarios.
    #[arg(long, default_value_t = 1000)]
    scenarios: usize,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Predictor feeding the controller.
    #[arg(long, value_enum, default_value_t = Predictor::Cv)]
    predictor: Predictor,
    /// Confidence of the oracle predictor [0.2, 1].
    #[arg(long, default_value_t = 0.9)]
    oracle_confidence: f32,
    /// Simulator settings (YAML `SimConfig`; unknown keys are errors). Flags above override its predictor.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "target/sim")]
    out_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut sim = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_yaml::from_str::<SimConfig>(&text).with_context(|| format!("parsing {}", p.display()))?
        }
        None => SimConfig::default(),
    };
    sim.predictor = match args.predictor {
        Predictor::None => PredictorKind::None,
        Predictor::Cv => PredictorKind::ConstantVelocity,
        Predictor::Oracle => PredictorKind::Oracle { confidence: args.oracle_confidence },
    };
    sim.validate().context("simulator configuration")?;
    let (report, runs) = run_batch(&sim, &standard_scenario(), args.seed, args.scenarios).context("running the batch")?;
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("creating {}", args.out_dir.display()))?;
    let json = serde_json::json!({ "report": report, "config": sim, "runs": runs });
    let json_path = args.out_dir.join("sim_report.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)?).with_context(|| format!("writing {}", json_path.display()))?;
    let md_path = args.out_dir.join("sim_report.md");
    std::fs::write(&md_path, report.to_markdown()).with_context(|| format!("writing {}", md_path.display()))?;
    println!("{}", report.to_markdown());
    println!("wrote {} and {}", json_path.display(), md_path.display());
    Ok(())
}
