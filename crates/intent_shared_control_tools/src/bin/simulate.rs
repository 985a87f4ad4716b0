//! `simulate`: runs N seeded closed-loop scenarios and writes `<stem>.json` (report, configuration, machine,
//! reproduce command and per-run metrics) and `<stem>.md`.
//!
//! `--predictor model` (the default) is the product configuration: the shipped ONNX model
//! (`--model-card`, default `models/intent_model.card.json`) on ONNX Runtime's CPU provider with 1 intra-op
//! thread behind the feature pipeline; the library is `--ort-lib`, else the inference crate's
//! `default_ort_library` (`$ISC_ORT_LIB`, else `.setup/onnxruntime/lib/libonnxruntime.so.1.31.1` of the
//! workspace when it exists, else `libonnxruntime.so.1.31.1` on the loader's search path).
//!
//! `--scene walkers` draws the humans from the walker families (`intent_shared_control_sim::walkers`: head-on,
//! overtaking, crossing, start from standing, slow down and speed up again) instead of the scenario generator;
//! the report then names the scene kind and counts scenes and violations per family.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use intent_shared_control_inference::machine::MachineInfo;
use intent_shared_control_sim::scenario::ScenarioConfig;
use intent_shared_control_sim::sim::{PredictorKind, SimConfig};
use intent_shared_control_sim::{
    default_model_card, load_model_predictor, run_scene_batch_with_predictor, standard_scenario, standard_walkers,
    Scene,
};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Predictor {
    /// No predictions.
    None,
    /// Constant-velocity model through the feature pipeline.
    Cv,
    /// True intent and future motion with `--oracle-confidence`.
    Oracle,
    /// The shipped ONNX model (CPU) through the feature pipeline: the product configuration.
    Model,
}

impl Predictor {
    fn name(self) -> &'static str {
        match self {
            Predictor::None => "none",
            Predictor::Cv => "cv",
            Predictor::Oracle => "oracle",
            Predictor::Model => "model",
        }
    }
}

/// Where the humans come from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum SceneKind {
    /// The seeded scenario generator (humans carrying out intents).
    Scenario,
    /// The walker families (head-on, overtaking, crossing, start from standing, slow down / speed up).
    Walkers,
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
    /// Humans of the scenes.
    #[arg(long, value_enum, default_value_t = SceneKind::Scenario)]
    scene: SceneKind,
    /// Predictor feeding the controller.
    #[arg(long, value_enum, default_value_t = Predictor::Model)]
    predictor: Predictor,
    /// Confidence of the oracle predictor [0.2, 1].
    #[arg(long, default_value_t = 0.9)]
    oracle_confidence: f32,
    /// Model card of `--predictor model` (the ONNX file is named by the card, next to it)
    /// [default: models/intent_model.card.json of the workspace].
    #[arg(long)]
    model_card: Option<PathBuf>,
    /// ONNX Runtime library (libonnxruntime.so.1.31.x) for `--predictor model`
    /// [default: $ISC_ORT_LIB, else .setup/onnxruntime/lib/libonnxruntime.so.1.31.1 of the workspace when it exists,
    /// else libonnxruntime.so.1.31.1 on the loader's search path].
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Simulator settings (YAML `SimConfig`; unknown keys are errors). Flags above override its predictor.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Scenario scenes: people who approached or handed over walk away this long after the interaction \[s\]
    /// (default: they stay).
    #[arg(long)]
    leave_after: Option<f64>,
    /// Output directory.
    #[arg(long, default_value = "target/sim")]
    out_dir: PathBuf,
    /// File name stem of the outputs (`<stem>.json`, `<stem>.md`).
    #[arg(long, default_value = "sim_report")]
    stem: String,
}

fn reproduce(args: &Args) -> String {
    let mut cmd = String::new();
    if args.predictor == Predictor::Model && args.ort_lib.is_none() {
        cmd.push_str("ISC_ORT_LIB=<libonnxruntime.so.1.31.1> ");
    }
    cmd.push_str(&format!(
        "cargo run --release -p intent_shared_control_tools --bin simulate -- --scenarios {} --seed {} --predictor {}",
        args.scenarios,
        args.seed,
        args.predictor.name()
    ));
    if args.predictor == Predictor::Oracle {
        cmd.push_str(&format!(" --oracle-confidence {}", args.oracle_confidence));
    }
    if args.predictor == Predictor::Model {
        if let Some(c) = &args.model_card {
            cmd.push_str(&format!(" --model-card {}", c.display()));
        }
        if args.ort_lib.is_some() {
            cmd.push_str(" --ort-lib <libonnxruntime.so.1.31.1>");
        }
    }
    if args.scene == SceneKind::Walkers {
        cmd.push_str(" --scene walkers");
    }
    if let Some(w) = args.leave_after {
        cmd.push_str(&format!(" --leave-after {w}"));
    }
    if let Some(c) = &args.config {
        cmd.push_str(&format!(" --config {}", c.display()));
    }
    cmd.push_str(&format!(" --out-dir {} --stem {}", args.out_dir.display(), args.stem));
    cmd
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
        Predictor::Model => PredictorKind::Model,
    };
    sim.validate().context("simulator configuration")?;
    let mut model = match args.predictor {
        Predictor::Model => {
            let card = args.model_card.clone().unwrap_or_else(default_model_card);
            Some(load_model_predictor(&card, args.ort_lib.as_deref())?)
        }
        _ => None,
    };
    let scene = match args.scene {
        SceneKind::Scenario => {
            Scene::Scenario(ScenarioConfig { leave_after_interaction_s: args.leave_after, ..standard_scenario() })
        }
        SceneKind::Walkers => Scene::Walkers(standard_walkers()),
    };
    let started = Instant::now();
    let (mut report, runs) =
        run_scene_batch_with_predictor(&sim, &scene, args.seed, args.scenarios, model.as_mut().map(|m| &mut m.0))
            .context("running the batch")?;
    let wall_s = started.elapsed().as_secs_f64();
    if let Some((predictor, description)) = &model {
        report.model = Some(description.clone());
        let c = predictor.counters();
        eprintln!(
            "model predictor: {} frames, {} predictions, {} rejected rows, {} model errors",
            c.frames, c.predictions, c.rejected_rows, c.model_errors
        );
    }
    let machine = MachineInfo::collect();
    let command = reproduce(&args);
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("creating {}", args.out_dir.display()))?;
    let mut json = serde_json::json!({
        "report": report,
        "reproduce": command,
        "machine": machine,
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "wall_time_s": wall_s,
        "config": sim,
        "runs": runs,
    });
    if let Scene::Walkers(walkers) = &scene {
        json["walkers"] = serde_json::to_value(walkers)?;
    }
    let json_path = args.out_dir.join(format!("{}.json", args.stem));
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md = format!(
        "{}\n## Reproduce\n\n```sh\n{command}\n```\n\nMachine: {}. Build: {}. Wall time {:.1} s.\n",
        report.to_markdown(),
        machine.describe(),
        if cfg!(debug_assertions) { "debug" } else { "release" },
        wall_s
    );
    let md_path = args.out_dir.join(format!("{}.md", args.stem));
    std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
    println!("{md}");
    println!("wrote {} and {}", json_path.display(), md_path.display());
    Ok(())
}
