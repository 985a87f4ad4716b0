//! The shipped intent model on real pedestrian tracks (ETH/UCY, leave-one-scene-out test splits) and on real 3-D
//! bodies (CMU motion capture) against the strongest simple baselines, and the forecast error bound a safety
//! argument would need; see [`intent_shared_control_tools::real_eval`] for the method. Writes
//! `<out-dir>/<stem>.{json,md}`.
//!
//! ```text
//! cargo run --release -p intent_shared_control_tools --bin evaluate_real -- --out-dir reports
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use intent_shared_control_core::model::NUM_INTENTS;
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::ControllerConfig;
use intent_shared_control_inference::machine::MachineInfo;
use intent_shared_control_sim::{default_model_card, load_model_predictor};
use intent_shared_control_tools::card_update;
use intent_shared_control_tools::real_eval::calibration;
use intent_shared_control_tools::real_eval::gait::{self, GaitLibrary};
use intent_shared_control_tools::real_eval::mocap::{self, ClipAnchor, PLACEMENTS};
use intent_shared_control_tools::real_eval::report::{
    calibrate, errors, markdown, mocap_errors, plot, Errors, MocapClip, MocapErrors, MocapResult, Output, Report,
    SceneResult,
};
use intent_shared_control_tools::real_eval::{
    band, evaluate_recording, input_description, quantile, value_name, Anchor, Bodies, InputModel, Sensor, BANDS,
    CV_WINDOWS_S, GEOMETRIES, METHODS, STEPS, STEP_S,
};
use serde::Deserialize;

#[derive(Parser)]
#[command(about = "The intent model on real pedestrian tracks (ETH/UCY) against constant-velocity baselines")]
struct Args {
    /// Directory of the converted ETH/UCY data (splits.json and the recordings).
    #[arg(long, default_value = "data/ethucy")]
    data: PathBuf,
    /// Directory of the converted motion-capture clips (index.json and the clips).
    #[arg(long, default_value = "data/mocap")]
    mocap: PathBuf,
    /// Model card of the model to judge.
    #[arg(long)]
    card: Option<PathBuf>,
    /// ONNX Runtime library (default: ISC_ORT_LIB, then the set-up's).
    #[arg(long, env = "ISC_ORT_LIB")]
    ort_lib: Option<PathBuf>,
    #[arg(long, default_value = "reports")]
    out_dir: PathBuf,
    #[arg(long, default_value = "real_data_model")]
    stem: String,
    /// Fit the intent temperature on the validation part of every recording (all robot placements) against the
    /// intents geometry shows, write it into the card (`temperature`, provenance in `training`), then evaluate
    /// the updated card.
    #[arg(long)]
    update_card: bool,
    /// Quantile of the forecast error bound.
    #[arg(long, default_value_t = 0.999)]
    coverage: f64,
    /// The body put around each ETH/UCY track: `mocap` walks it with real motion-capture gait
    /// (`real_eval::gait`), `kinematic` with the walker scenes' kinematics.
    #[arg(long, value_enum, default_value_t = Bodies::Mocap)]
    bodies: Bodies,
    /// The keypoints the model and the baselines see on ETH/UCY tracks: `generator` applies the scenario
    /// generator's sensor model (noise, depth noise, dropouts, face self-occlusion), `exact` none. The truth is
    /// the track either way.
    #[arg(long, value_enum, default_value_t = Sensor::Generator)]
    sensor: Sensor,
}

#[derive(Deserialize)]
struct Splits {
    recordings: BTreeMap<String, Recording>,
    scenes: BTreeMap<String, Scene>,
}

#[derive(Deserialize)]
struct Recording {
    file: String,
    annotation_period_s: f64,
}

#[derive(Deserialize)]
struct Scene {
    test: Vec<Part>,
    val: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    recording: String,
    part: String,
}

/// The method of `candidates` (indices into [`METHODS`]) with the lowest ADE in `e`.
fn best(e: &Errors, candidates: impl Iterator<Item = usize>) -> usize {
    candidates.min_by(|&a, &b| e.ade[a].total_cmp(&e.ade[b])).unwrap_or(1)
}

/// Multiplies the card's `temperature` by the factor fitted on `samples` (rounded to 6 decimals) and records the
/// synthetic temperature and the factor in its `training` block; every other byte of the card is kept.
fn update_temperature(card: &std::path::Path, samples: &[([f32; NUM_INTENTS], usize)]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(card).with_context(|| card.display().to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| card.display().to_string())?;
    let current = json["temperature"].as_f64().context("card: no temperature")?;
    let synthetic = json["training"]["synthetic_temperature"].as_f64().unwrap_or(current);
    let factor = calibration::fit_factor(samples);
    let temperature = (current * factor * 1e6).round() / 1e6;
    let fields = [
        (
            "calibration",
            serde_json::json!(
                "temperature scaling (NLL) on the synthetic validation split (synthetic_temperature), then multiplied \
                 by a factor fitted on the validation part of every ETH/UCY recording against the intents geometry \
                 shows, robots at three places (evaluate_real --update-card)"
            ),
        ),
        ("synthetic_temperature", serde_json::json!(synthetic)),
        ("real_data_temperature_factor", serde_json::json!((temperature / synthetic * 1e6).round() / 1e6)),
        ("real_data_calibration_windows", serde_json::json!(samples.len())),
    ];
    let mut updated = text;
    for (key, value) in &fields {
        updated = card_update::set_nested_field(&updated, "training", key, value)?;
    }
    let updated = card_update::replace_field(&updated, "temperature", &serde_json::json!(temperature))?;
    std::fs::write(card, updated).with_context(|| card.display().to_string())?;
    eprintln!(
        "{}: temperature {current} -> {temperature} (factor {factor:.4} on {} windows)",
        card.display(),
        samples.len()
    );
    Ok(())
}

/// Records the forecast error bound in the card's `training` block: per look-ahead step the largest of the
/// scenes' split-conformal quantiles (each fitted on its scene's validation split), and each scene's.
fn update_bound(card: &std::path::Path, coverage: f64, scenes: &[SceneResult]) -> anyhow::Result<()> {
    let round = |v: f64| (v * 1e4).round() / 1e4;
    let worst: Vec<f64> = (0..STEPS)
        .map(|k| round(scenes.iter().map(|s| s.bound_model_m[k]).fold(f64::NEG_INFINITY, f64::max)))
        .collect();
    let by_scene: serde_json::Map<String, serde_json::Value> = scenes
        .iter()
        .map(|s| (s.scene.clone(), serde_json::json!(s.bound_model_m.iter().map(|v| round(*v)).collect::<Vec<_>>())))
        .collect();
    let value = serde_json::json!({
        "method": "split conformal: per ETH/UCY scene and look-ahead step, the quantile of (forecast - true) torso \
                   distance to a robot at the recording's centre over the scene's validation split; metres is the \
                   largest over the scenes (evaluate_real --update-card, reports/real_data_model.md)",
        "quantile": coverage,
        "step_s": STEP_S,
        "metres": worst,
        "by_scene": by_scene,
    });
    let text = std::fs::read_to_string(card).with_context(|| card.display().to_string())?;
    let updated = card_update::set_nested_field(&text, "training", "real_data_forecast_error_bound", &value)?;
    std::fs::write(card, updated).with_context(|| card.display().to_string())?;
    eprintln!("{}: forecast error bound {worst:?} m", card.display());
    Ok(())
}

#[derive(Deserialize)]
struct MocapIndex {
    clips: BTreeMap<String, MocapEntry>,
}

#[derive(Deserialize)]
struct MocapEntry {
    file: String,
    description: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let text = std::fs::read_to_string(args.data.join("splits.json")).context("reading splits.json")?;
    let splits: Splits = serde_json::from_str(&text).context("parsing splits.json")?;
    let card = args.card.clone().unwrap_or_else(default_model_card);
    let (mut predictor, mut model) = load_model_predictor(&card, args.ort_lib.as_deref())?;
    let library = match args.bodies {
        Bodies::Mocap => Some(GaitLibrary::load(&args.mocap).context("the motion-capture gait library")?),
        Bodies::Kinematic => None,
    };
    let input = InputModel::new(args.bodies, args.sensor, library.as_ref())?;
    let evaluate_all = |predictor: &mut IntentPredictor| -> anyhow::Result<BTreeMap<String, Vec<Anchor>>> {
        let mut by_recording = BTreeMap::new();
        for (name, r) in &splits.recordings {
            let path = args.data.parent().unwrap_or(&args.data).join(&r.file);
            let anchors = evaluate_recording(&path, r.annotation_period_s, predictor, &input)?;
            eprintln!("{name}: {} windows", anchors.len());
            by_recording.insert(name.clone(), anchors);
        }
        Ok(by_recording)
    };
    let mut by_recording = evaluate_all(&mut predictor)?;
    if args.update_card {
        // Calibrate on the validation part of every recording, then judge the calibrated card.
        let samples: Vec<([f32; NUM_INTENTS], usize)> =
            by_recording.values().flatten().filter(|a| a.val).map(|a| (a.probabilities, a.shown)).collect();
        update_temperature(&card, &samples)?;
        (predictor, model) = load_model_predictor(&card, args.ort_lib.as_deref())?;
        by_recording = evaluate_all(&mut predictor)?;
    }
    let rate = ControllerConfig::default().safety.separation.prediction_uncertainty_rate;
    let chain_margin_m: Vec<f64> = (1..=STEPS).map(|k| rate * k as f64 * STEP_S).collect();
    let mut scenes = Vec::new();
    for (scene, s) in &splits.scenes {
        let in_part = |p: &Part, a: &Anchor| match p.part.as_str() {
            "val" => a.val,
            "train" => !a.val,
            _ => true,
        };
        let pick_all = |parts: &[Part]| -> Vec<&Anchor> {
            parts.iter().flat_map(|p| by_recording[&p.recording].iter().filter(move |a| in_part(p, a))).collect()
        };
        // Forecast errors and the bound: the robot at the recording's centre.
        let pick =
            |parts: &[Part]| -> Vec<&Anchor> { pick_all(parts).into_iter().filter(|a| a.placement == 0).collect() };
        let (test, val) = (pick(&s.test), pick(&s.val));
        let val_errors = errors(val.iter().copied());
        let cv_ls = best(&val_errors, 2..2 + CV_WINDOWS_S.len());
        let kalman = best(&val_errors, 2 + CV_WINDOWS_S.len()..METHODS.len());
        let baseline = best(&val_errors, 1..METHODS.len());
        let bound = |method: usize| -> (Vec<f64>, Vec<f64>) {
            (0..STEPS)
                .map(|k| {
                    let mut cal: Vec<f64> = val.iter().map(|a| a.closer[method][k]).collect();
                    let q = quantile(&mut cal, args.coverage);
                    let covered = test.iter().filter(|a| a.closer[method][k] <= q).count() as f64 / test.len() as f64;
                    (q, covered)
                })
                .unzip()
        };
        let (bound_model_m, covered_model) = bound(0);
        let (bound_baseline_m, covered_baseline) = bound(baseline);
        // Consecutive held-out windows (0.4 s apart) of one piece and robot placement.
        let all_pairs: Vec<(&Anchor, &Anchor)> = s
            .test
            .iter()
            .flat_map(|p| {
                let all = &by_recording[&p.recording];
                all.iter().filter(move |a| in_part(p, a)).filter_map(|a| a.previous.map(|i| (&all[i], a)))
            })
            .collect();
        let pairs: Vec<(&Anchor, &Anchor)> = all_pairs.iter().copied().filter(|(_, a)| a.placement == 0).collect();
        let calibration = calibrate(&pick_all(&s.val), &pick_all(&s.test), &all_pairs);
        scenes.push(SceneResult {
            scene: scene.clone(),
            cv_ls,
            kalman,
            baseline,
            by_band: (0..BANDS.len()).map(|b| errors(test.iter().copied().filter(|a| band(a.speed) == b))).collect(),
            by_geometry: (0..GEOMETRIES.len())
                .map(|g| errors(test.iter().copied().filter(|a| a.geometry == g)))
                .collect(),
            starting: errors(test.iter().copied().filter(|a| a.starting)),
            test: errors(test.iter().copied()),
            bound_model_m,
            covered_model,
            bound_baseline_m,
            covered_baseline,
            mean_confidence: test.iter().map(|a| f64::from(a.confidence)).sum::<f64>() / test.len() as f64,
            confident_share: test.iter().filter(|a| a.confidence >= 0.9).count() as f64 / test.len() as f64,
            label_changes: pairs.iter().filter(|(a, b)| a.label != b.label).count() as f64 / pairs.len().max(1) as f64,
            calibration,
        });
    }
    if args.update_card {
        update_bound(&card, args.coverage, &scenes)?;
    }
    let mocap = evaluate_mocap(&args.mocap, &mut predictor)?;
    let report = Report {
        model,
        input: input_description(&input),
        real_training: real_training(&card)?,
        coverage: args.coverage,
        chain_margin_m,
        scenes,
        mocap,
        wall_s: started.elapsed().as_secs_f64(),
        machine: MachineInfo::collect(),
    };
    std::fs::create_dir_all(&args.out_dir)?;
    let json = args.out_dir.join(format!("{}.json", args.stem));
    std::fs::write(&json, serde_json::to_string_pretty(&report)? + "\n").with_context(|| json.display().to_string())?;
    let md = args.out_dir.join(format!("{}.md", args.stem));
    let output = Output {
        out_dir: args.out_dir.clone(),
        stem: args.stem.clone(),
        reproduce: format!(
            "cargo run --release -p intent_shared_control_tools --bin evaluate_real -- --data {} --mocap {} \
             --out-dir {} --stem {} --coverage {} --bodies {} --sensor {}",
            args.data.display(),
            args.mocap.display(),
            args.out_dir.display(),
            args.stem,
            args.coverage,
            value_name(&args.bodies),
            value_name(&args.sensor),
        ),
    };
    std::fs::write(&md, markdown(&report, &output)).with_context(|| md.display().to_string())?;
    plot(&report, &output)?;
    println!("wrote {} and {}", json.display(), md.display());
    Ok(())
}

/// The real parts the card's model was trained on (`data.real.train[*].export.parts`), joined; `None` when the
/// card records no real training data.
fn real_training(card: &std::path::Path) -> anyhow::Result<Option<String>> {
    let text = std::fs::read_to_string(card).with_context(|| card.display().to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| card.display().to_string())?;
    let Some(train) = json["data"]["real"]["train"].as_array() else { return Ok(None) };
    let parts: Vec<&str> = train
        .iter()
        .flat_map(|t| t["export"]["parts"].as_array().into_iter().flatten())
        .filter_map(|p| p.as_str())
        .collect();
    Ok(Some(parts.join(", ")))
}

fn evaluate_mocap(dir: &std::path::Path, predictor: &mut IntentPredictor) -> anyhow::Result<MocapResult> {
    let text = std::fs::read_to_string(dir.join("index.json")).context("reading the motion-capture index.json")?;
    let index: MocapIndex = serde_json::from_str(&text).context("parsing the motion-capture index.json")?;
    let (mut all, mut held_out): (Vec<ClipAnchor>, Vec<ClipAnchor>) = (Vec::new(), Vec::new());
    let mut clips = Vec::new();
    for (name, entry) in &index.clips {
        let path = dir.parent().unwrap_or(dir).join(&entry.file);
        let frames = mocap::read_clip(&path)?;
        let anchors = mocap::evaluate_clip(&frames, predictor).with_context(|| path.display().to_string())?;
        eprintln!("{name}: {} windows", anchors.len());
        clips.push(MocapClip {
            clip: name.clone(),
            description: entry.description.clone(),
            errors: mocap_errors(anchors.iter()),
        });
        if !gait::is_library_clip(name) {
            held_out.extend(anchors.iter().cloned());
        }
        all.extend(anchors);
    }
    let mut pooled: Vec<MocapErrors> =
        (0..PLACEMENTS.len()).map(|p| mocap_errors(all.iter().filter(|a| a.placement == p))).collect();
    pooled.push(mocap_errors(all.iter()));
    pooled.push(mocap_errors(held_out.iter()));
    let total = &pooled[PLACEMENTS.len()];
    let baseline = std::array::from_fn(|e| {
        (1..mocap::METHODS.len()).min_by(|&a, &b| total.ade[a][e].total_cmp(&total.ade[b][e])).unwrap_or(1)
    });
    Ok(MocapResult { baseline, pooled, clips })
}
