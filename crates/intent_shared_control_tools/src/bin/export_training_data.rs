//! Exports model training data (windows, labels, future targets, metadata) as `.npy` files.
//!
//! ```text
//! export_training_data --seed 1 --scenarios 400 --out training/data/train
//! export_training_data --walkers --seed 101 --scenarios 120 --out training/data/walkers_train
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::model::Intent;
use intent_shared_control_sim::scenario::ScenarioConfig;
use intent_shared_control_sim::walkers::WalkerConfig;
use intent_shared_control_tools::export::{generate, generate_walkers, ExportConfig, WalkerExportConfig};

/// Generates seeded scenarios, runs the robot's feature pipeline on them and writes `.npy` arrays.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Base seed; scenario i uses seed `seed * 1000000 + i`.
    #[arg(long)]
    seed: u64,
    /// Number of scenarios (walker scenes with `--walkers`).
    #[arg(long)]
    scenarios: u64,
    /// Export walker scenes (people who walk at, past and across a standing robot and keep walking; labels from
    /// geometry) instead of the scenario generator's episodes.
    #[arg(long)]
    walkers: bool,
    /// Output directory (created; existing files of the same names are overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Keep every N-th frame's windows.
    #[arg(long, default_value_t = 3)]
    stride: usize,
    /// Scenario config (YAML, `ScenarioConfig` fields, or `WalkerConfig` fields with `--walkers`; unknown keys are
    /// errors). Defaults when absent.
    #[arg(long)]
    scenario_config: Option<PathBuf>,
    /// Feature config (YAML, `FeatureConfig` fields). Defaults when absent.
    #[arg(long)]
    feature_config: Option<PathBuf>,
}

fn read_yaml<T: serde::de::DeserializeOwned + Default>(path: Option<&PathBuf>) -> Result<T> {
    match path {
        None => Ok(T::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_yaml::from_str(&text).with_context(|| format!("parsing {}", p.display()))
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let features = read_yaml::<FeatureConfig>(args.feature_config.as_ref())?;
    let started = Instant::now();
    let data = if args.walkers {
        let config = WalkerExportConfig {
            seed: args.seed,
            scenes: args.scenarios,
            stride: args.stride,
            walkers: read_yaml::<WalkerConfig>(args.scenario_config.as_ref())?,
            features,
        };
        let data = generate_walkers(&config)?;
        data.write_npy_dir(&args.out, &serde_json::json!({ "source": "walkers", "config": config }))?;
        data
    } else {
        let config = ExportConfig {
            seed: args.seed,
            scenarios: args.scenarios,
            stride: args.stride,
            scenario: read_yaml::<ScenarioConfig>(args.scenario_config.as_ref())?,
            features,
        };
        let data = generate(&config)?;
        data.write_npy_dir(&args.out, &config)?;
        data
    };
    let counts = data.class_counts();
    let summary: Vec<String> = Intent::LABELS.iter().zip(counts).map(|(l, c)| format!("{l}={c}")).collect();
    println!(
        "wrote {} samples from {} scenarios (seed {}) to {} in {:.1} s: {}",
        data.len(),
        args.scenarios,
        args.seed,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        summary.join(" ")
    );
    Ok(())
}
