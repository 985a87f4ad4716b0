//! Training data export: scenarios → feature pipeline → windows, labels, future targets, metadata.
//!
//! For scenario `i` of an export with base seed `S`, the scenario seed is [`scenario_seed`]`(S, i)`. Every
//! frame of the scenario is pushed through a [`FeaturePipeline`]; every `stride`-th frame (counted per scenario),
//! each window the pipeline builds becomes one sample:
//! - `inputs`: the window, `[30, 71]` f32, exactly as inference sees it;
//! - `labels`: the current intent of the true human behind the window's tracker id at the window's stamp
//!   (index in the contract's label order);
//! - `futures`: the true torso, left wrist and right wrist at `stamp + 0.1 … 1.0 s`, in the window's
//!   model frame `R·(p − c)` (the `future_positions` contract), `[10, 3, 3]` f32;
//! - metadata: scenario index, scenario seed, human index, tracker id, episode intent, stamp, time since the
//!   current intent's onset and since the episode's onset (NaN when there is none), visible fraction.
//!
//! [`Dataset::write_npy_dir`] writes one `.npy` file per array plus `meta.json` (see `training/README.md`).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use intent_shared_control_core::features::{FeatureBatch, FeatureConfig, FeaturePipeline, FeatureStats, RowMeta};
use intent_shared_control_core::model::{
    Intent, FEATURES_PER_FRAME, FUTURE_LEN, HORIZON_STEPS, HORIZON_STEP_S, NUM_PREDICTED_POINTS, WINDOW_FRAMES,
    WINDOW_LEN,
};
use intent_shared_control_core::skeleton::tracked_points;
use intent_shared_control_core::{HumanId, Stamp};
use intent_shared_control_sim::scenario::{Scenario, ScenarioConfig};
use intent_shared_control_sim::sim::HumanSource;
use intent_shared_control_sim::walkers::{WalkerConfig, WalkerHumans};
use nalgebra::{Point3, Vector2};
use npyz::WriterBuilder;
use serde::{Deserialize, Serialize};

use crate::real_eval::calibration::geometric_intent;

/// Seed of scenario `index` of an export with base seed `base`: `base · 1 000 000 + index` (wrapping).
pub fn scenario_seed(base: u64, index: u64) -> u64 {
    base.wrapping_mul(1_000_000).wrapping_add(index)
}

/// What to export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    /// Base seed.
    pub seed: u64,
    /// Number of scenarios.
    pub scenarios: u64,
    /// Keep every `stride`-th frame's windows (≥ 1).
    pub stride: usize,
    /// Scenario settings.
    pub scenario: ScenarioConfig,
    /// Feature settings (as on the robot).
    pub features: FeatureConfig,
}

/// Exported samples, struct of arrays.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// `[n, 30, 71]` windows.
    pub inputs: Vec<f32>,
    /// `[n]` intent index (current label).
    pub labels: Vec<i64>,
    /// `[n, 10, 3, 3]` future targets in the window's model frame \[m\].
    pub futures: Vec<f32>,
    /// `[n]` scenario index within the export.
    pub scenario: Vec<i64>,
    /// `[n]` scenario seed.
    pub scenario_seed: Vec<u64>,
    /// `[n]` human index within the scenario.
    pub human: Vec<i64>,
    /// `[n]` tracker id of the window.
    pub tracker_id: Vec<i64>,
    /// `[n]` episode intent index of the human.
    pub episode_intent: Vec<i64>,
    /// `\[n\]` window stamp \[ns\].
    pub stamp_ns: Vec<i64>,
    /// `\[n\]` time since the onset of the current intent \[s\]; NaN while the label is idle.
    pub time_since_onset_s: Vec<f32>,
    /// `\[n\]` time since the episode's motion onset \[s\] (negative before it); NaN for idle episodes.
    pub time_since_episode_onset_s: Vec<f32>,
    /// `[n]` fraction of present (not filled) keypoints in the window.
    pub visible_fraction: Vec<f32>,
    /// Feature pipeline counters summed over all scenarios.
    pub feature_stats: FeatureStats,
}

/// What one sample is, beside its window and targets.
struct SampleMeta {
    label: Intent,
    scenario: u64,
    seed: u64,
    human: usize,
    tracker_id: HumanId,
    episode_intent: Intent,
    stamp: Stamp,
    time_since_onset_s: f32,
    time_since_episode_onset_s: f32,
    visible_fraction: f32,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Appends one sample.
    fn push(&mut self, window: &[f32], future: &[f32; FUTURE_LEN], m: SampleMeta) {
        self.inputs.extend_from_slice(window);
        self.futures.extend_from_slice(future);
        self.labels.push(m.label.index() as i64);
        self.scenario.push(m.scenario as i64);
        self.scenario_seed.push(m.seed);
        self.human.push(m.human as i64);
        self.tracker_id.push(i64::from(m.tracker_id));
        self.episode_intent.push(m.episode_intent.index() as i64);
        self.stamp_ns.push(m.stamp.0);
        self.time_since_onset_s.push(m.time_since_onset_s);
        self.time_since_episode_onset_s.push(m.time_since_episode_onset_s);
        self.visible_fraction.push(m.visible_fraction);
    }

    /// Adds one pipeline's counters to [`Dataset::feature_stats`].
    pub fn add_feature_stats(&mut self, s: &FeatureStats) {
        let acc = &mut self.feature_stats;
        acc.frames += s.frames;
        acc.skeletons_accepted += s.skeletons_accepted;
        acc.rejected_duplicate += s.rejected_duplicate;
        acc.rejected_out_of_order += s.rejected_out_of_order;
        acc.non_finite_keypoints += s.non_finite_keypoints;
        acc.evicted_timeout += s.evicted_timeout;
        acc.evicted_capacity += s.evicted_capacity;
        acc.windows_built += s.windows_built;
        acc.skipped_no_hip += s.skipped_no_hip;
        acc.skipped_short_history += s.skipped_short_history;
        acc.skipped_batch_full += s.skipped_batch_full;
    }

    /// Samples per intent, in label order.
    pub fn class_counts(&self) -> [usize; Intent::ALL.len()] {
        let mut c = [0; Intent::ALL.len()];
        for &l in &self.labels {
            if let Some(slot) = usize::try_from(l).ok().and_then(|i| c.get_mut(i)) {
                *slot += 1;
            }
        }
        c
    }

    /// Writes every array as `<name>.npy` into `dir` (created if needed) and `meta.json` describing them, with
    /// `config` (what was exported) under `export`.
    pub fn write_npy_dir(&self, dir: &Path, config: &impl Serialize) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let n = self.len() as u64;
        write_npy(dir, "inputs", &[n, WINDOW_FRAMES as u64, FEATURES_PER_FRAME as u64], &self.inputs)?;
        write_npy(dir, "labels", &[n], &self.labels)?;
        write_npy(dir, "futures", &[n, HORIZON_STEPS as u64, NUM_PREDICTED_POINTS as u64, 3], &self.futures)?;
        write_npy(dir, "scenario", &[n], &self.scenario)?;
        write_npy(dir, "scenario_seed", &[n], &self.scenario_seed)?;
        write_npy(dir, "human", &[n], &self.human)?;
        write_npy(dir, "tracker_id", &[n], &self.tracker_id)?;
        write_npy(dir, "episode_intent", &[n], &self.episode_intent)?;
        write_npy(dir, "stamp_ns", &[n], &self.stamp_ns)?;
        write_npy(dir, "time_since_onset_s", &[n], &self.time_since_onset_s)?;
        write_npy(dir, "time_since_episode_onset_s", &[n], &self.time_since_episode_onset_s)?;
        write_npy(dir, "visible_fraction", &[n], &self.visible_fraction)?;
        let meta = serde_json::json!({
            "format": "intent_shared_control training export v1",
            "samples": n,
            "labels": Intent::LABELS,
            "class_counts": self.class_counts(),
            "window": WINDOW_FRAMES,
            "features_per_frame": FEATURES_PER_FRAME,
            "horizon_steps": HORIZON_STEPS,
            "horizon_step_s": HORIZON_STEP_S,
            "scenario_seed_rule": "base_seed * 1000000 + scenario_index",
            "export": config,
            "feature_stats": self.feature_stats,
        });
        let path = dir.join("meta.json");
        std::fs::write(&path, serde_json::to_string_pretty(&meta)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// The true torso and wrists at `stamp + 0.1 … 1.0 s` in the window's model frame (`truth` gives them in the
/// frame the window was built in); `None` when one of them is unknown.
fn future_targets(
    stamp: Stamp,
    meta: &RowMeta,
    truth: impl Fn(Stamp) -> Option<[Point3<f64>; NUM_PREDICTED_POINTS]>,
) -> Option<[f32; FUTURE_LEN]> {
    let mut future = [0f32; FUTURE_LEN];
    for step in 0..HORIZON_STEPS {
        let points = truth(stamp.add_secs(HORIZON_STEP_S * (step + 1) as f64))?;
        for (j, p) in points.iter().enumerate() {
            let y = meta.to_model_frame(p);
            let i = (step * NUM_PREDICTED_POINTS + j) * 3;
            future[i..i + 3].copy_from_slice(&[y.x as f32, y.y as f32, y.z as f32]);
        }
    }
    Some(future)
}

/// Writes one little-endian `.npy` array of `shape` (row-major).
pub fn write_npy<T: npyz::AutoSerialize>(dir: &Path, name: &str, shape: &[u64], data: &[T]) -> Result<()> {
    let expected: u64 = shape.iter().product();
    ensure!(expected == data.len() as u64, "{name}: shape {shape:?} needs {expected} values, got {}", data.len());
    let path = dir.join(format!("{name}.npy"));
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(BufWriter::new(file))
        .begin_nd()
        .with_context(|| format!("writing the header of {}", path.display()))?;
    writer.extend(data.iter()).with_context(|| format!("writing {}", path.display()))?;
    writer.finish().with_context(|| format!("finishing {}", path.display()))?;
    Ok(())
}

/// Runs the export (deterministic for a given config).
pub fn generate(config: &ExportConfig) -> Result<Dataset> {
    ensure!(config.stride >= 1, "stride must be >= 1");
    config.scenario.validate()?;
    config.features.validate()?;
    let mut data = Dataset::default();
    let mut batch = FeatureBatch::with_capacity(config.features.max_humans);
    for index in 0..config.scenarios {
        let seed = scenario_seed(config.seed, index);
        let mut scenario =
            Scenario::new(config.scenario.clone(), seed).with_context(|| format!("scenario {index} (seed {seed})"))?;
        let mut pipeline = FeaturePipeline::new(config.features.clone())?;
        let mut frame_no = 0usize;
        while let Some((frame, truth)) = scenario.step() {
            pipeline.push(&frame);
            let keep = frame_no.is_multiple_of(config.stride);
            frame_no += 1;
            if !keep {
                continue;
            }
            pipeline.fill_batch(frame.stamp, &mut batch);
            for (row, meta) in batch.rows().iter().enumerate() {
                let Some(gt) = truth.humans.iter().find(|h| h.published && h.tracker_id == meta.human_id) else {
                    continue;
                };
                let Some(window) = batch.window(row).filter(|w| w.len() == WINDOW_LEN) else {
                    continue;
                };
                let Some(future) = future_targets(frame.stamp, meta, |t| scenario.true_torso_wrists(gt.human, t))
                else {
                    continue;
                };
                let since = |o: Option<Stamp>| o.map_or(f32::NAN, |o| frame.stamp.seconds_since(o) as f32);
                data.push(
                    window,
                    &future,
                    SampleMeta {
                        label: gt.intent,
                        scenario: index,
                        seed,
                        human: gt.human,
                        tracker_id: meta.human_id,
                        episode_intent: gt.episode_intent,
                        stamp: frame.stamp,
                        time_since_onset_s: since(gt.onset),
                        time_since_episode_onset_s: since(gt.episode_onset),
                        visible_fraction: meta.visible_fraction,
                    },
                );
            }
        }
        data.add_feature_stats(&pipeline.stats());
    }
    Ok(data)
}

/// What to export from walker scenes ([`intent_shared_control_sim::walkers`]): people who walk at, past and
/// across a standing robot and keep walking (the scenario generator's approaches all end in front of the robot).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkerExportConfig {
    /// Base seed; scene `i` uses [`scenario_seed`]`(seed, i)`.
    pub seed: u64,
    /// Number of scenes.
    pub scenes: u64,
    /// Keep every `stride`-th observation's windows (≥ 1).
    pub stride: usize,
    /// Scene settings.
    pub walkers: WalkerConfig,
    /// Feature settings (as on the robot).
    pub features: FeatureConfig,
}

/// Runs a walker export (deterministic for a given config). The robot stands at the scene's origin facing +x;
/// observations go through the feature pipeline as the robot would see them. The label is the intent the person
/// shows toward the robot from the true torso 1 s before, at and 1 s after the window's stamp
/// ([`geometric_intent`], as on real tracks: a walker's family names its plan, not what it shows once it has
/// walked past the robot); windows without 1 s of truth before and after are skipped. Metadata: `scenario` is
/// the scene index, `episode_intent` the label and `time_since_onset_s` / `time_since_episode_onset_s` NaN (a
/// label from geometry has no onset).
pub fn generate_walkers(config: &WalkerExportConfig) -> Result<Dataset> {
    ensure!(config.stride >= 1, "stride must be >= 1");
    config.walkers.validate()?;
    config.features.validate()?;
    let period = 1.0 / config.walkers.rate_hz;
    let mut data = Dataset::default();
    let mut batch = FeatureBatch::with_capacity(config.features.max_humans);
    for index in 0..config.scenes {
        let seed = scenario_seed(config.seed, index);
        let mut scene = WalkerHumans::new(config.walkers.clone(), seed)
            .with_context(|| format!("walker scene {index} (seed {seed})"))?;
        let mut pipeline = FeaturePipeline::new(config.features.clone())?;
        let end = scene.end().as_secs_f64();
        let tracked = |scene: &WalkerHumans, human: usize, t: f64| -> Option<[Point3<f64>; NUM_PREDICTED_POINTS]> {
            if !(0.0..=end).contains(&t) {
                return None;
            }
            scene.truth(Stamp::from_secs_f64(t)).get(human).map(|h| tracked_points(&h.keypoints))
        };
        let ground = |p: &Point3<f64>| Vector2::new(p.x, p.y);
        let mut frame_no = 0usize;
        // Polling half a period after each nominal capture time returns that capture (stamp jitter stays within
        // ±0.3 periods), or nothing when it was dropped.
        for k in 0.. {
            let now = (k as f64 + 0.5) * period;
            if now > end + period {
                break;
            }
            let Some(frame) = scene.poll(Stamp::from_secs_f64(now)) else {
                continue;
            };
            pipeline.push(&frame);
            let keep = frame_no.is_multiple_of(config.stride);
            frame_no += 1;
            if !keep {
                continue;
            }
            let t = frame.stamp.as_secs_f64();
            let truth = scene.truth(frame.stamp);
            pipeline.fill_batch(frame.stamp, &mut batch);
            for (row, meta) in batch.rows().iter().enumerate() {
                let Some(human) = truth.iter().position(|h| h.tracker_id == meta.human_id) else {
                    continue;
                };
                let Some(window) = batch.window(row).filter(|w| w.len() == WINDOW_LEN) else {
                    continue;
                };
                let (Some(before), Some(now_pts), Some(after)) =
                    (tracked(&scene, human, t - 1.0), tracked(&scene, human, t), tracked(&scene, human, t + 1.0))
                else {
                    continue;
                };
                let Some(future) = future_targets(frame.stamp, meta, |s| tracked(&scene, human, s.as_secs_f64()))
                else {
                    continue;
                };
                let label =
                    geometric_intent(ground(&before[0]), ground(&now_pts[0]), ground(&after[0]), Vector2::zeros());
                data.push(
                    window,
                    &future,
                    SampleMeta {
                        label,
                        scenario: index,
                        seed,
                        human,
                        tracker_id: meta.human_id,
                        episode_intent: label,
                        stamp: frame.stamp,
                        time_since_onset_s: f32::NAN,
                        time_since_episode_onset_s: f32::NAN,
                        visible_fraction: meta.visible_fraction,
                    },
                );
            }
        }
        data.add_feature_stats(&pipeline.stats());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use intent_shared_control_core::model::feature_layout;
    use intent_shared_control_sim::scenario::NoiseConfig;
    use intent_shared_control_sim::walkers::WalkerFamily;

    fn config(seed: u64, noise: NoiseConfig) -> ExportConfig {
        ExportConfig {
            seed,
            scenarios: 3,
            stride: 5,
            scenario: ScenarioConfig { duration_s: 6.0, noise, ..ScenarioConfig::default() },
            features: FeatureConfig::default(),
        }
    }

    #[test]
    fn export_is_deterministic_and_consistent() {
        let a = generate(&config(7, NoiseConfig::default())).expect("export");
        let b = generate(&config(7, NoiseConfig::default())).expect("export");
        assert!(a.len() > 50);
        assert_eq!(
            a.inputs.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.inputs.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.inputs.len(), a.len() * WINDOW_LEN);
        assert_eq!(a.futures.len(), a.len() * FUTURE_LEN);
        assert!(a.inputs.iter().all(|v| v.is_finite()) && a.futures.iter().all(|v| v.is_finite()));
        assert!(a.labels.iter().all(|&l| (0..5).contains(&l)));
        // A sample with a current non-idle label has a non-negative time since onset, idle ones NaN.
        for (l, t) in a.labels.iter().zip(&a.time_since_onset_s) {
            assert_eq!(*l == 0, t.is_nan());
            assert!(t.is_nan() || *t >= 0.0);
        }
        let c = generate(&config(8, NoiseConfig::default())).expect("export");
        assert_ne!(a.inputs, c.inputs);
    }

    #[test]
    fn noise_free_targets_start_at_the_newest_torso() {
        let d = generate(&config(3, NoiseConfig::none())).expect("export");
        for i in 0..d.len() {
            let w = &d.inputs[i * WINDOW_LEN..(i + 1) * WINDOW_LEN];
            let newest = &w[(WINDOW_FRAMES - 1) * FEATURES_PER_FRAME..];
            // The newest torso feature is (distance, 0, height): bearing-aligned.
            assert!(newest[feature_layout::TORSO.start + 1].abs() < 1e-4);
            // The first future torso point is within 0.1 s of walking (< 0.25 m) of the reference point c.
            let f = &d.futures[i * FUTURE_LEN..i * FUTURE_LEN + 3];
            let dist = (f[0] * f[0] + f[1] * f[1]).sqrt();
            assert!(dist < 0.25, "sample {i}: first step {dist} m from c");
            assert!(f[2].abs() < 0.05);
        }
    }

    fn walker_config(seed: u64, walkers: WalkerConfig) -> WalkerExportConfig {
        WalkerExportConfig {
            seed,
            scenes: 6,
            stride: 3,
            walkers: WalkerConfig { duration_s: 10.0, ..walkers },
            features: FeatureConfig::default(),
        }
    }

    #[test]
    fn walker_export_is_deterministic_and_labelled_from_geometry() {
        let a = generate_walkers(&walker_config(5, WalkerConfig::default())).expect("export");
        let b = generate_walkers(&walker_config(5, WalkerConfig::default())).expect("export");
        assert!(a.len() > 200, "{} samples", a.len());
        // (Not `a == b`: the NaN onsets never compare equal.)
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert!(bits(&a.inputs) == bits(&b.inputs) && bits(&a.futures) == bits(&b.futures));
        assert!(a.labels == b.labels && a.stamp_ns == b.stamp_ns && a.tracker_id == b.tracker_id);
        assert_ne!(a.inputs, generate_walkers(&walker_config(6, WalkerConfig::default())).expect("export").inputs);
        assert_eq!(a.inputs.len(), a.len() * WINDOW_LEN);
        assert_eq!(a.futures.len(), a.len() * FUTURE_LEN);
        assert!(a.inputs.iter().all(|v| v.is_finite()) && a.futures.iter().all(|v| v.is_finite()));
        // Geometry shows no hand-over; every other intent a walker can show is there.
        let counts = a.class_counts();
        assert_eq!(counts[Intent::ReachHandover.index()], 0);
        for intent in [Intent::PassBy, Intent::ApproachRobot, Intent::Retreat] {
            assert!(counts[intent.index()] > 0, "{intent:?}: {counts:?}");
        }
        assert_eq!(a.labels, a.episode_intent);
        assert!(a.time_since_onset_s.iter().chain(&a.time_since_episode_onset_s).all(|t| t.is_nan()));
        assert!(a.scenario_seed.iter().all(|&s| (5_000_000..5_000_006).contains(&s)));
    }

    #[test]
    fn head_on_walkers_keep_walking_through_the_robots_place_in_the_targets() {
        let mut walkers = WalkerConfig::only(WalkerFamily::HeadOn);
        walkers.noise = NoiseConfig::none();
        let d = generate_walkers(&walker_config(9, walkers)).expect("export");
        let mut close_and_walking_on = 0;
        for i in 0..d.len() {
            let w = &d.inputs[i * WINDOW_LEN..(i + 1) * WINDOW_LEN];
            let newest = &w[(WINDOW_FRAMES - 1) * FEATURES_PER_FRAME..];
            let distance = newest[feature_layout::TORSO.start];
            let f = &d.futures[i * FUTURE_LEN..(i + 1) * FUTURE_LEN];
            // Noise-free: the first target is within 0.1 s of walking (≤ 0.2 m at 2 m/s) of the reference point.
            assert!(f[0].hypot(f[1]) < 0.25, "sample {i}");
            // Torso 1 s ahead, ground plane.
            let last = &f[(HORIZON_STEPS - 1) * NUM_PREDICTED_POINTS * 3..];
            let travel = last[0].hypot(last[1]);
            if d.labels[i] == Intent::ApproachRobot.index() as i64 && distance < 2.0 && travel > 0.7 {
                close_and_walking_on += 1;
            }
        }
        // The generator's approaches end standing in front of the robot; these walk on at >= 0.8 m/s.
        assert!(close_and_walking_on >= 10, "{close_and_walking_on} of {} samples", d.len());
    }

    #[test]
    fn npy_files_round_trip() {
        let d = generate(&ExportConfig { scenarios: 1, ..config(1, NoiseConfig::default()) }).expect("export");
        let dir = std::env::temp_dir().join(format!("isc_export_test_{}", std::process::id()));
        d.write_npy_dir(&dir, &config(1, NoiseConfig::default())).expect("write");
        let bytes = std::fs::read(dir.join("inputs.npy")).expect("read");
        let npy = npyz::NpyFile::new(&bytes[..]).expect("npy");
        assert_eq!(npy.shape(), &[d.len() as u64, 30, 71]);
        let back: Vec<f32> = npy.into_vec().expect("data");
        assert_eq!(back, d.inputs);
        let bytes = std::fs::read(dir.join("labels.npy")).expect("read");
        let labels: Vec<i64> = npyz::NpyFile::new(&bytes[..]).expect("npy").into_vec().expect("data");
        assert_eq!(labels, d.labels);
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).expect("meta")).expect("json");
        assert_eq!(meta["samples"], d.len() as u64);
        assert!(write_npy(&dir, "bad", &[3], &[1.0f32, 2.0]).is_err());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
