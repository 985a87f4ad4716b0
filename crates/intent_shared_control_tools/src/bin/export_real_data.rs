//! Exports training windows from the real ETH/UCY tracks (`real_eval::export`) as `.npy` files in the format of
//! `export_training_data`, for one leave-one-scene-out fold or for every recording:
//!
//! ```text
//! export_real_data --fold zara1 --out training/data/real_zara1   # train/ and val/ without the zara1 scene
//! export_real_data --all --out training/data/real_all            # train/ and val/ parts of every recording
//! ```
//!
//! `--fold S` takes the `train` and `val` splits of scene `S` in `data/ethucy/splits.json` (the train / val parts
//! of every recording but `S`'s); `--all` the train and val parts of all eight recordings.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::Parser;
use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::model::Intent;
use intent_shared_control_tools::export::Dataset;
use intent_shared_control_tools::real_eval::export::{export_recording, recording_file, Part};
use intent_shared_control_tools::real_eval::gait::GaitLibrary;
use intent_shared_control_tools::real_eval::{input_description, value_name, Bodies, InputModel, Sensor};

#[derive(Parser)]
#[command(about = "Training windows from real pedestrian tracks (ETH/UCY) with bodies and the sensor model")]
struct Args {
    /// Directory of the converted ETH/UCY data (splits.json and the recordings).
    #[arg(long, default_value = "data/ethucy")]
    data: PathBuf,
    /// Directory of the motion-capture clips (the gait library).
    #[arg(long, default_value = "data/mocap")]
    mocap: PathBuf,
    /// Leave this scene out: export the train and val splits of its fold.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    fold: Option<String>,
    /// Export the train and val parts of every recording.
    #[arg(long)]
    all: bool,
    /// Output directory; `train/` and `val/` are written into it.
    #[arg(long)]
    out: PathBuf,
    /// Keep every N-th 30 Hz frame of a track piece (per robot position).
    #[arg(long, default_value_t = 12)]
    stride: usize,
    /// Added to every piece's sensor seed.
    #[arg(long, default_value_t = 1 << 56)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Bodies::Mocap)]
    bodies: Bodies,
    #[arg(long, value_enum, default_value_t = Sensor::Generator)]
    sensor: Sensor,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let text = std::fs::read_to_string(args.data.join("splits.json")).context("reading splits.json")?;
    let splits: serde_json::Value = serde_json::from_str(&text).context("parsing splits.json")?;
    let recordings: Vec<String> =
        splits["recordings"].as_object().context("splits.json: no recordings")?.keys().cloned().collect();
    let parts = |split: &str| -> anyhow::Result<Vec<(String, Part)>> {
        match &args.fold {
            Some(scene) => {
                let list = splits["scenes"][scene][split]
                    .as_array()
                    .with_context(|| format!("splits.json: no scene `{scene}` with a `{split}` split"))?;
                list.iter()
                    .map(|p| {
                        let name = p["recording"].as_str().context("splits.json: part without recording")?;
                        Ok((name.to_string(), Part::parse(p["part"].as_str().unwrap_or("all"))?))
                    })
                    .collect()
            }
            None => Ok(recordings.iter().map(|r| (r.clone(), Part::parse(split).expect("train or val"))).collect()),
        }
    };
    let library = match args.bodies {
        Bodies::Mocap => Some(GaitLibrary::load(&args.mocap).context("the motion-capture gait library")?),
        Bodies::Kinematic => None,
    };
    let input = InputModel::new(args.bodies, args.sensor, library.as_ref())?;
    let features = FeatureConfig::default();
    for split in ["train", "val"] {
        let mut data = Dataset::default();
        let chosen = parts(split)?;
        if chosen.is_empty() {
            bail!("nothing to export for {split}");
        }
        for (name, part) in &chosen {
            let index = recordings.iter().position(|r| r == name).context("unknown recording")? as u64;
            let (path, period) = recording_file(&args.data, name)?;
            let before = data.len();
            export_recording(&path, period, *part, &input, &features, args.stride, index, args.seed, &mut data)?;
            eprintln!("{split}: {name} ({part:?}): {} windows", data.len() - before);
        }
        let config = serde_json::json!({
            "source": "ETH/UCY tracks (export_real_data)",
            "fold": args.fold,
            "parts": chosen.iter().map(|(n, p)| format!("{n}:{p:?}")).collect::<Vec<_>>(),
            "stride": args.stride,
            "seed": args.seed,
            "bodies": value_name(&args.bodies),
            "sensor": value_name(&args.sensor),
            "input": input_description(&input),
            "scenario": { "rate_hz": 30.0 },
        });
        let dir = args.out.join(split);
        data.write_npy_dir(&dir, &config)?;
        let counts = data.class_counts();
        eprintln!(
            "{}: {} windows ({})",
            dir.display(),
            data.len(),
            Intent::LABELS.iter().zip(counts).map(|(l, c)| format!("{l} {c}")).collect::<Vec<_>>().join(", ")
        );
    }
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
