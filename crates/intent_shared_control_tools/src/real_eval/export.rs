//! Training windows from real tracks: the ETH/UCY pieces walked by a body ([`walk_piece`]), seen through the
//! sensor model, pushed through the robot's [`FeaturePipeline`] exactly as [`crate::export`] does for the scenario
//! generator, and written in the same format ([`Dataset`]), so that `training/train.py` can mix them in.
//!
//! Per recording, robot position ([`placements`]) and track piece, every `stride`-th 30 Hz frame with a full
//! window and 1 s of future in the piece becomes a sample of the requested part (`train` or `val`, the
//! benchmark's cut in time):
//! - `inputs`: the window the pipeline builds from the seen keypoints;
//! - `labels`: the intent the person shows toward that robot position ([`calibration::geometric_intent`]);
//! - `futures`: the true torso (on the track) and wrists (the body's) at `t + 0.1 … 1.0 s` in the window's model
//!   frame;
//! - metadata: `scenario` = recording index, `scenario_seed` = the sensor seed of the piece, `human` = track id,
//!   `tracker_id` = 1, `episode_intent` = the label, `stamp_ns`, onsets NaN (a track has none), visible fraction.

use std::path::Path;

use anyhow::{bail, Context as _};
use intent_shared_control_core::features::{FeatureBatch, FeatureConfig, FeaturePipeline};
use intent_shared_control_core::model::{FUTURE_LEN, HORIZON_STEPS, HORIZON_STEP_S, NUM_PREDICTED_POINTS, WINDOW_LEN};
use intent_shared_control_core::skeleton::{tracked_points, HumanSkeleton, SkeletonFrame};
use intent_shared_control_core::Stamp;

use super::{calibration, pieces, placements, read_recording, walk_piece, InputModel, FRAME_RATE, WINDOW_S};
use crate::export::Dataset;

/// Which part of a recording to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    All,
    Train,
    Val,
}

impl Part {
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "all" => Part::All,
            "train" => Part::Train,
            "val" => Part::Val,
            other => bail!("part `{other}`: expected all, train or val"),
        })
    }

    fn admits(self, val: bool) -> bool {
        match self {
            Part::All => true,
            Part::Train => !val,
            Part::Val => val,
        }
    }
}

/// Appends the samples of `part` of one recording to `data`. `recording` is its index in the export (the
/// `scenario` column); sensor seeds are `seed_base + (recording << 40 | placement << 32 | piece)`.
#[allow(clippy::too_many_arguments)]
pub fn export_recording(
    path: &Path,
    period: f64,
    part: Part,
    input: &InputModel,
    features: &FeatureConfig,
    stride: usize,
    recording: u64,
    seed_base: u64,
    data: &mut Dataset,
) -> anyhow::Result<()> {
    anyhow::ensure!(stride >= 1, "stride must be >= 1");
    let rows = read_recording(path)?;
    if rows.is_empty() {
        bail!("{}: no annotations", path.display());
    }
    let robots = placements(&rows.iter().map(|r| r.xy).collect::<Vec<_>>());
    let mut batch = FeatureBatch::with_capacity(features.max_humans);
    let steps_ahead = (HORIZON_STEP_S * FRAME_RATE).round() as usize;
    for (placement, centre) in robots.into_iter().enumerate() {
        for (index, piece) in pieces(&rows, period).iter().enumerate() {
            let (t0, t_end) = (piece.t[0], piece.t[piece.t.len() - 1]);
            if t_end - t0 < WINDOW_S + 1.0 - 1e-9 {
                continue;
            }
            let seed = seed_base.wrapping_add(recording << 40 | (placement as u64) << 32 | index as u64);
            let walk = walk_piece(piece, centre, input, seed);
            let mut pipeline = FeaturePipeline::new(features.clone())?;
            for (k, f) in walk.iter().enumerate() {
                let stamp = Stamp::from_secs_f64(f.t);
                pipeline.push(&SkeletonFrame {
                    stamp,
                    frame_id: "base_link".into(),
                    humans: vec![HumanSkeleton { id: 1, keypoints: f.seen }],
                });
                let (t, p) = (f.t, piece.at(f.t));
                let val = piece.val[piece.t.partition_point(|&s| s < t - 1e-6).min(piece.val.len() - 1)];
                let keep = k % stride == 0 && t - t0 >= WINDOW_S - 1e-9 && t + 1.0 <= t_end + 1e-9 && part.admits(val);
                if !keep || k + HORIZON_STEPS * steps_ahead >= walk.len() {
                    continue;
                }
                pipeline.fill_batch(stamp, &mut batch);
                let (Some(meta), Some(window)) = (batch.rows().first(), batch.window(0)) else { continue };
                if window.len() != WINDOW_LEN {
                    continue;
                }
                let mut future = [0f32; FUTURE_LEN];
                for step in 0..HORIZON_STEPS {
                    let truth = tracked_points(&walk[k + (step + 1) * steps_ahead].truth);
                    for (j, q) in truth.iter().enumerate() {
                        let y = meta.to_model_frame(q);
                        let i = (step * NUM_PREDICTED_POINTS + j) * 3;
                        future[i..i + 3].copy_from_slice(&[y.x as f32, y.y as f32, y.z as f32]);
                    }
                }
                let label = calibration::geometric_intent(piece.at(t - WINDOW_S), p, piece.at(t + 1.0), centre).index();
                data.inputs.extend_from_slice(window);
                data.futures.extend_from_slice(&future);
                data.labels.push(label as i64);
                data.scenario.push(recording as i64);
                data.scenario_seed.push(seed);
                data.human.push(i64::from(piece.track));
                data.tracker_id.push(1);
                data.episode_intent.push(label as i64);
                data.stamp_ns.push(stamp.0);
                data.time_since_onset_s.push(f32::NAN);
                data.time_since_episode_onset_s.push(f32::NAN);
                data.visible_fraction.push(meta.visible_fraction);
            }
            data.add_feature_stats(&pipeline.stats());
        }
    }
    Ok(())
}

/// Reads `splits.json`'s recording table entry for `name` from the data directory: the file and its annotation
/// period.
pub fn recording_file(data_dir: &Path, name: &str) -> anyhow::Result<(std::path::PathBuf, f64)> {
    let text = std::fs::read_to_string(data_dir.join("splits.json")).context("reading splits.json")?;
    let json: serde_json::Value = serde_json::from_str(&text).context("parsing splits.json")?;
    let r = &json["recordings"][name];
    let file = r["file"].as_str().with_context(|| format!("splits.json: no recording `{name}`"))?;
    let period = r["annotation_period_s"].as_f64().with_context(|| format!("splits.json: `{name}` has no period"))?;
    Ok((data_dir.parent().unwrap_or(data_dir).join(file), period))
}
