//! The intent model judged on real people: ETH/UCY pedestrian tracks (`data/ethucy`, see `data/README.md`)
//! with a body put around each track by the walker scenes' kinematics ([`walking_keypoints`]), a virtual robot
//! standing at the centre of each recording, and the leave-one-scene-out splits of the benchmark.
//!
//! Per track piece (annotations at most 1.5 periods apart) the track is interpolated linearly to 30 Hz (as the
//! feature pipeline resamples skeletons), a body walks it (chest toward the heading, gait from the distance
//! walked and the speed), and every 30 Hz frame goes through the product's [`IntentPredictor`]; a forecast is
//! asked at every annotation time `T` whose piece covers `[T − 29/30 s, T + 1 s]` (the model's window and
//! horizon). Ground truth is the track itself (the torso, the hip midpoint, stands on the track). Errors are in
//! the ground plane (what the separation monitor uses).
//!
//! Baselines: standing still; constant velocity with the velocity fitted by least squares over the last
//! 0.2 / 0.4 / 0.8 s of the interpolated window (anchors are annotation times and tracks are linear between
//! annotations 0.4 s apart, so the 0.2 s and 0.4 s fits see the same segment and agree); and a constant-velocity
//! Kalman filter ([`kalman`]) with process noise from [`KF_Q`] and position noise [`KF_R`]. With the sensor model
//! on (what the reports use) every baseline sees what the model sees, the observed hip midpoints at 30 Hz
//! ([`observed_baselines`]; the filter over the last [`HISTORY_S`](crate::baselines::HISTORY_S) of them); on
//! clean tracks the filter runs over the raw 2.5 Hz annotations of the piece (the interpolation between them is not
//! a measurement). The strongest baseline is the one with the lowest ADE on each scene's validation split.
//!
//! Real 3-D bodies: [`mocap`] runs the model on motion-capture clips, where wrists and heights are measured.
//!
//! The forecast error that matters to safety is how much closer a person truly is than forecast: per look-ahead
//! step `k`, `e_k = d_forecast,k − d_true,k` with `d` the ground-plane distance to the robot. Its 99.9 % quantile
//! on the scene's validation split (split conformal) is checked for coverage on the held-out scene and compared
//! with the margin the separation monitor adds to a forecast (`prediction_uncertainty_rate · τ_k`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::baselines::forecasts;
use anyhow::{bail, Context as _};
use flate2::read::GzDecoder;
use intent_shared_control_core::model::NUM_INTENTS;
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::skeleton::{keypoint, HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS};
use intent_shared_control_core::Stamp;
use intent_shared_control_sim::scenario::{Body, NoiseConfig, SensorModel};
use intent_shared_control_sim::walkers::walking_keypoints;
use nalgebra::{Point3, SVector, Vector2};
use serde::{Deserialize, Serialize};

pub mod calibration;
pub mod export;
pub mod gait;
pub use intent_shared_control_core::kalman;
pub mod mocap;
pub mod plots;
pub mod report;

use gait::{GaitBody, GaitLibrary};

/// Frames per second fed to the predictor (the model's rate).
pub const FRAME_RATE: f64 = 30.0;
/// The observed window: 30 frames, `T − 29/30 s … T`.
pub const WINDOW_S: f64 = 29.0 / 30.0;
/// Look-ahead steps (0.1 … 1.0 s).
pub const STEPS: usize = 10;
pub const STEP_S: f64 = 0.1;
/// Least-squares windows of the constant-velocity baseline \[s\].
pub const CV_WINDOWS_S: [f64; 3] = [0.2, 0.4, 0.8];
/// Process noise spectral densities of the Kalman baseline \[m²/s³\].
pub const KF_Q: [f64; 3] = [0.25, 1.0, 4.0];
/// Position noise assumed by the Kalman baseline (an ETH/UCY annotation, or an observed hip midpoint) \[m\].
pub const KF_R: f64 = 0.1;
/// Speed bands (observed displacement over the window / its duration) \[m/s\]: standing below the first, slow
/// below the second, normal below the third, fast above.
pub const BAND_EDGES: [f64; 3] = [0.2, 0.8, 1.6];
pub const BANDS: [&str; 4] = ["standing", "slow", "normal", "fast"];
pub const GEOMETRIES: [&str; 4] = ["standing", "toward", "passing", "away"];

/// One annotation of a recording.
#[derive(Clone, Copy, Debug)]
struct Row {
    t: f64,
    track: u32,
    xy: Vector2<f64>,
    val: bool,
}

/// Reads one `data/ethucy/<recording>.csv.gz`.
fn read_recording(path: &Path) -> anyhow::Result<Vec<Row>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, line) in BufReader::new(GzDecoder::new(file)).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if i == 0 {
            if line != "frame,t_s,track_id,x_m,y_m,part" {
                bail!("{}: unexpected header `{line}`", path.display());
            }
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let [_, t, track, x, y, part] = f[..] else { bail!("{}:{}: {} columns", path.display(), i + 1, f.len()) };
        let num = |s: &str| s.parse::<f64>().with_context(|| format!("{}:{}: `{s}`", path.display(), i + 1));
        rows.push(Row {
            t: num(t)?,
            track: track.parse().with_context(|| format!("{}:{}: track `{track}`", path.display(), i + 1))?,
            xy: Vector2::new(num(x)?, num(y)?),
            val: part == "val",
        });
    }
    Ok(rows)
}

/// A contiguous piece of one track.
pub struct Piece {
    track: u32,
    t: Vec<f64>,
    xy: Vec<Vector2<f64>>,
    val: Vec<bool>,
}

impl Piece {
    /// Position at `t` (linear between annotations, clamped at the ends).
    pub fn at(&self, t: f64) -> Vector2<f64> {
        let i = self.t.partition_point(|&s| s <= t);
        if i == 0 {
            return self.xy[0];
        }
        if i >= self.t.len() {
            return self.xy[self.t.len() - 1];
        }
        let (t0, t1) = (self.t[i - 1], self.t[i]);
        let w = (t - t0) / (t1 - t0);
        self.xy[i - 1] * (1.0 - w) + self.xy[i] * w
    }
}

/// Splits each track where annotations are more than 1.5 periods apart.
fn pieces(rows: &[Row], period: f64) -> Vec<Piece> {
    let mut by_track: BTreeMap<u32, Vec<Row>> = BTreeMap::new();
    for r in rows {
        by_track.entry(r.track).or_default().push(*r);
    }
    let mut out = Vec::new();
    for (r_track, mut rs) in by_track {
        rs.sort_by(|a, b| a.t.total_cmp(&b.t));
        let mut cur = Piece { track: r_track, t: Vec::new(), xy: Vec::new(), val: Vec::new() };
        for r in rs {
            if cur.t.last().is_some_and(|&last| r.t - last > 1.5 * period) {
                out.push(std::mem::replace(
                    &mut cur,
                    Piece { track: r.track, t: Vec::new(), xy: Vec::new(), val: Vec::new() },
                ));
            }
            cur.t.push(r.t);
            cur.xy.push(r.xy);
            cur.val.push(r.val);
        }
        out.push(cur);
    }
    out
}

/// Least-squares velocity of `p` over `n` samples `1/FRAME_RATE` apart ending at `t`.
fn ls_velocity(p: &Piece, t: f64, window_s: f64) -> Vector2<f64> {
    let n = (window_s * FRAME_RATE).round() as usize + 1;
    let ps: Vec<Vector2<f64>> = (0..n).rev().map(|i| p.at(t - i as f64 / FRAME_RATE)).collect();
    ls_slope(&ps, FRAME_RATE)
}

/// Least-squares slope of `samples` taken `1/rate` apart (per second); zero for fewer than two samples.
pub fn ls_slope<const D: usize>(samples: &[SVector<f64, D>], rate: f64) -> SVector<f64, D> {
    let n = samples.len();
    if n < 2 {
        return SVector::zeros();
    }
    let mean_i = (n - 1) as f64 / 2.0;
    let mean_p = samples.iter().sum::<SVector<f64, D>>() / n as f64;
    let (mut num, mut den) = (SVector::zeros(), 0.0);
    for (i, &q) in samples.iter().enumerate() {
        let di = i as f64 - mean_i;
        num += (q - mean_p) * di;
        den += di * di;
    }
    num / den * rate
}

/// One forecast asked at an annotation time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Anchor {
    /// Index of the virtual robot's position ([`placements`]); 0 is the recording's centre.
    pub placement: usize,
    /// From the recording's validation part.
    pub val: bool,
    /// Observed speed (displacement over the window / its duration) \[m/s\].
    pub speed: f64,
    pub geometry: usize,
    /// Standing (below the first band edge) and ≥ 0.5 m from the last observed position 1 s later.
    pub starting: bool,
    /// ADE and FDE (at 1 s) per method of [`METHODS`].
    pub ade: Vec<f64>,
    pub fde: Vec<f64>,
    /// Error per look-ahead step per method of [`METHODS`] \[m\].
    pub step_error: Vec<[f64; STEPS]>,
    /// Forecast minus true distance to the robot per step, per method of [`METHODS`] \[m\].
    pub closer: Vec<[f64; STEPS]>,
    /// The model's top intent probability and label, and all its intent probabilities.
    pub confidence: f32,
    pub label: usize,
    pub probabilities: [f32; NUM_INTENTS],
    /// The intent the person shows toward this robot position ([`calibration::geometric_intent`], index).
    pub shown: usize,
    /// Index of the previous anchor of the same piece 0.4 s earlier (label stability), if any.
    pub previous: Option<usize>,
    /// With `previous`: the pair is settled ([`calibration::settled`]).
    pub settled: bool,
    /// With `previous`: the intent shown at it.
    pub previous_shown: Option<usize>,
}

/// Forecasting methods: the model, then the baselines (still, one per [`CV_WINDOWS_S`], one per [`KF_Q`]).
pub const METHODS: [&str; 8] =
    ["model", "still", "cv_ls_0.2s", "cv_ls_0.4s", "cv_ls_0.8s", "kalman_q0.25", "kalman_q1", "kalman_q4"];

/// Virtual robot positions in a recording: the centre of its annotations (placement 0), then halfway from the
/// centre to the upper and to the lower corner of their bounding box.
pub fn placements(points: &[Vector2<f64>]) -> [Vector2<f64>; 3] {
    let centre = points.iter().sum::<Vector2<f64>>() / points.len().max(1) as f64;
    let lo = points.iter().fold(centre, |m, p| m.inf(p));
    let hi = points.iter().fold(centre, |m, p| m.sup(p));
    [centre, (centre + hi) / 2.0, (centre + lo) / 2.0]
}

/// The body put around a 2-D track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Bodies {
    /// Real motion-capture gait ([`gait`]).
    Mocap,
    /// The walker scenes' kinematics ([`walking_keypoints`]).
    Kinematic,
}

/// The keypoints the model and the baselines see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sensor {
    /// The scenario generator's sensor model ([`SensorModel`], default noise).
    Generator,
    /// Exact keypoints.
    Exact,
}

/// The name clap gives a value of `v`.
pub fn value_name<T: clap::ValueEnum>(v: &T) -> String {
    v.to_possible_value().map_or_else(String::new, |p| p.get_name().to_string())
}

/// What a report says of the input: the bodies (with the gait library's cycles) and the sensor model.
pub fn input_description(input: &InputModel) -> String {
    let body = match input.gait {
        Some(lib) => format!(
            "bodies walking the tracks with real motion-capture gait (`real_eval::gait`: one stride from each of {}, \
             blended by speed, toward the standing pose of {} below {} m/s)",
            lib.cycles
                .iter()
                .map(|c| format!("{} ({:.2} m/s, stride {:.2} m)", c.clip, c.speed, c.stride))
                .collect::<Vec<_>>()
                .join(", "),
            gait::STANDING_CLIP,
            gait::FULL_GAIT_SPEED
        ),
        None => "bodies from the walker scenes' kinematics".to_string(),
    };
    let seen = if input.sensor.is_some() {
        "the scenario generator's sensor model on the keypoints (noise, depth noise, dropouts, face self-occlusion; \
         `SensorModel`), the baselines fitted on the observed hip midpoints"
    } else {
        "exact keypoints, the baselines on the track"
    };
    format!("{body}; {seen}")
}

/// How the model's input is made from a 2-D track.
#[derive(Clone, Debug, Default)]
pub struct InputModel<'a> {
    /// The body around the track: real motion-capture gait ([`gait`]), or `None` for the walker scenes'
    /// kinematics ([`walking_keypoints`]).
    pub gait: Option<&'a GaitLibrary>,
    /// The scenario generator's sensor model ([`SensorModel`]) on the keypoints the model and the baselines see;
    /// `None`: exact keypoints. The truth stays the track.
    pub sensor: Option<NoiseConfig>,
}

impl<'a> InputModel<'a> {
    /// The input for a choice of bodies (`library` must be loaded for [`Bodies::Mocap`]) and sensor.
    pub fn new(bodies: Bodies, sensor: Sensor, library: Option<&'a GaitLibrary>) -> anyhow::Result<Self> {
        let gait = match bodies {
            Bodies::Mocap => Some(library.context("motion-capture bodies need the gait library")?),
            Bodies::Kinematic => None,
        };
        Ok(Self { gait, sensor: (sensor == Sensor::Generator).then(NoiseConfig::default) })
    }
}

/// Confidence from which an observed hip counts for the baselines' torso (the sensor model gives a dropped
/// keypoint less than 0.25, a seen one at least 0.55).
const HIP_CONFIDENCE: f32 = 0.5;

/// The hip midpoint of an observation when both hips are seen.
fn observed_torso(keypoints: &[Keypoint]) -> Option<Vector2<f64>> {
    let (l, r) = (&keypoints[keypoint::LEFT_HIP], &keypoints[keypoint::RIGHT_HIP]);
    let seen = |k: &Keypoint| k.confidence >= HIP_CONFIDENCE && k.position.iter().all(|v| v.is_finite());
    (seen(l) && seen(r)).then(|| (l.position.xy().coords + r.position.xy().coords) / 2.0)
}

/// One 30 Hz frame of a body walking a track piece.
pub struct TrackFrame {
    pub t: f64,
    /// True keypoints, robot frame \[m\].
    pub truth: [Point3<f64>; NUM_KEYPOINTS],
    /// What the model sees of them ([`InputModel::sensor`]).
    pub seen: [Keypoint; NUM_KEYPOINTS],
}

/// A body walking `piece` at 30 Hz from its first annotation to its last, in the frame of a robot at `centre`
/// (facing +x): chest toward the track's heading over ±0.1 s (kept while slower than the standing band), its
/// gait from [`InputModel::gait`], seen through [`InputModel::sensor`] drawn from `seed`.
pub fn walk_piece(piece: &Piece, centre: Vector2<f64>, input: &InputModel, seed: u64) -> Vec<TrackFrame> {
    let body = Body::from_height(1.75, || 1.0);
    let (t0, t_end) = (piece.t[0], piece.t[piece.t.len() - 1]);
    let frames = ((t_end - t0) * FRAME_RATE + 1e-6).floor() as usize;
    let mut yaw = {
        let d = piece.xy[piece.xy.len() - 1] - piece.xy[0];
        d.y.atan2(d.x)
    };
    let mut walked = 0.0;
    let mut gait = input.gait.map(GaitBody::new);
    let mut sensor = input.sensor.clone().map(|n| SensorModel::new(n, seed));
    (0..=frames)
        .map(|k| {
            let t = t0 + k as f64 / FRAME_RATE;
            let p = piece.at(t);
            let step = if k > 0 { (p - piece.at(t - 1.0 / FRAME_RATE)).norm() } else { 0.0 };
            walked += step;
            let v = (piece.at(t + STEP_S) - piece.at(t - STEP_S)) / (2.0 * STEP_S);
            if v.norm() > BAND_EDGES[0] {
                yaw = v.y.atan2(v.x);
            }
            let truth = match gait.as_mut() {
                Some(g) => g.step(p - centre, yaw, step, v.norm()),
                None => walking_keypoints(&body, p - centre, yaw, walked, v.norm()),
            };
            let seen = match sensor.as_mut() {
                Some(s) => s.observe(&truth, yaw),
                None => truth.map(|position| Keypoint { position, confidence: 1.0 }),
            };
            TrackFrame { t, truth, seen }
        })
        .collect()
}

/// All anchors of one recording, for each robot position of [`placements`].
pub fn evaluate_recording(
    path: &Path,
    period: f64,
    predictor: &mut IntentPredictor,
    input: &InputModel,
) -> anyhow::Result<Vec<Anchor>> {
    let rows = read_recording(path)?;
    if rows.is_empty() {
        bail!("{}: no annotations", path.display());
    }
    let robots = placements(&rows.iter().map(|r| r.xy).collect::<Vec<_>>());
    let per_annotation = (period * FRAME_RATE).round() as usize;
    let mut out: Vec<Anchor> = Vec::new();
    let all_pieces = pieces(&rows, period);
    for (placement, centre) in robots.into_iter().enumerate() {
        for (piece_index, piece) in all_pieces.iter().enumerate() {
            let (t0, t_end) = (piece.t[0], piece.t[piece.t.len() - 1]);
            if t_end - t0 < WINDOW_S + 1.0 - 1e-9 {
                continue;
            }
            predictor.reset();
            let walk = walk_piece(piece, centre, input, (placement as u64) << 32 | piece_index as u64);
            let mut last_anchor: Option<usize> = None;
            let first = out.len();
            // Observed torso (recording frame) per frame, when the sensor model is on.
            let mut observed: Vec<(f64, Option<Vector2<f64>>)> = Vec::new();
            for (k, f) in walk.into_iter().enumerate() {
                let (t, p) = (f.t, piece.at(f.t));
                if input.sensor.is_some() {
                    observed.push((t, observed_torso(&f.seen).map(|q| q + centre)));
                }
                let frame = SkeletonFrame {
                    stamp: Stamp::from_secs_f64(t),
                    frame_id: "base_link".into(),
                    humans: vec![HumanSkeleton { id: 1, keypoints: f.seen }],
                };
                let anchor = k % per_annotation == 0 && t - t0 >= WINDOW_S - 1e-9 && t + 1.0 <= t_end + 1e-9;
                if !anchor {
                    predictor.observe(&frame);
                    continue;
                }
                let preds = predictor.predict(&frame).with_context(|| format!("{}: model", path.display()))?;
                let Some(pred) = preds.first().filter(|p| p.future.len() >= STEPS) else { continue };
                let truth: Vec<Vector2<f64>> = (1..=STEPS).map(|j| piece.at(t + j as f64 * STEP_S)).collect();
                let model: Vec<Vector2<f64>> = pred.future[..STEPS].iter().map(|q| q[0].xy().coords + centre).collect();
                let mut forecasts = vec![model];
                if input.sensor.is_some() {
                    // The baselines see what the model sees: the observed hip midpoints, every frame of them.
                    let seen: Vec<(f64, Vector2<f64>)> =
                        observed.iter().filter_map(|(s, q)| q.map(|q| (*s, q))).collect();
                    forecasts.extend(observed_baselines(&seen, t, p));
                } else {
                    forecasts.push(vec![p; STEPS]);
                    for w in CV_WINDOWS_S {
                        let v = ls_velocity(piece, t, w);
                        forecasts.push((1..=STEPS).map(|j| p + v * (j as f64 * STEP_S)).collect());
                    }
                    let annotations: Vec<(f64, Vector2<f64>)> = piece
                        .t
                        .iter()
                        .copied()
                        .zip(piece.xy.iter().copied())
                        .take_while(|(s, _)| *s <= t + 1e-9)
                        .collect();
                    for q in KF_Q {
                        let (kp, kv) = kalman::filter(&annotations, q, KF_R).unwrap_or((p, Vector2::zeros()));
                        forecasts.push((1..=STEPS).map(|j| kp + kv * (j as f64 * STEP_S)).collect());
                    }
                }
                let err =
                    |f: &[Vector2<f64>]| -> Vec<f64> { f.iter().zip(&truth).map(|(a, b)| (a - b).norm()).collect() };
                let dist = |q: &Vector2<f64>| (q - centre).norm();
                let observed = p - piece.at(t - WINDOW_S);
                let speed = observed.norm() / WINDOW_S;
                let to_robot = centre - p;
                let cos = observed.dot(&to_robot) / (observed.norm() * to_robot.norm()).max(1e-9);
                let geometry = if speed < BAND_EDGES[0] {
                    0
                } else if cos > 0.5 {
                    1
                } else if cos < -0.5 {
                    3
                } else {
                    2
                };
                let step_error: Vec<[f64; STEPS]> = forecasts
                    .iter()
                    .map(|f| {
                        let e = err(f);
                        std::array::from_fn(|j| e[j])
                    })
                    .collect();
                let index_val = piece.t.partition_point(|&s| s < t - 1e-6).min(piece.val.len() - 1);
                let shown = calibration::geometric_intent(piece.at(t - WINDOW_S), p, piece.at(t + 1.0), centre);
                out.push(Anchor {
                    placement,
                    val: piece.val[index_val],
                    speed,
                    geometry,
                    starting: speed < BAND_EDGES[0] && (piece.at(t + 1.0) - p).norm() >= 0.5,
                    ade: step_error.iter().map(|e| e.iter().sum::<f64>() / STEPS as f64).collect(),
                    fde: step_error.iter().map(|e| e[STEPS - 1]).collect(),
                    step_error,
                    closer: forecasts.iter().map(|f| std::array::from_fn(|j| dist(&f[j]) - dist(&truth[j]))).collect(),
                    confidence: pred.confidence,
                    label: pred.intent().index(),
                    probabilities: pred.probabilities,
                    shown: shown.index(),
                    previous: last_anchor,
                    settled: false,
                    previous_shown: last_anchor.map(|i| out[i].shown),
                });
                last_anchor = Some(out.len() - 1);
            }
            let shown: Vec<usize> = out[first..].iter().map(|a| a.shown).collect();
            for (a, s) in out[first..].iter_mut().zip(calibration::settled(&shown)) {
                a.settled = s;
            }
        }
    }
    Ok(out)
}

/// The baselines' forecasts (the [`METHODS`] after the model: standing still, one least-squares constant velocity
/// per [`CV_WINDOWS_S`], one Kalman filter per [`KF_Q`]) at `t + k·STEP_S`, `k = 1…STEPS`, from what a tracker saw
/// of one person's torso: `seen`, `(time, ground-plane position)` in ascending time, none after `t`; every
/// observation counts (a frame the sensor dropped is simply missing). These are [`crate::baselines::forecasts`] in
/// the ground plane: the filters run over the last [`HISTORY_S`](crate::baselines::HISTORY_S) and are carried from
/// the last observation to `t`. Without observations every baseline stands at `fallback`.
pub fn observed_baselines(seen: &[(f64, Vector2<f64>)], t: f64, fallback: Vector2<f64>) -> Vec<Vec<Vector2<f64>>> {
    let history: Vec<(f64, Point3<f64>)> = seen.iter().map(|(s, q)| (*s, Point3::new(q.x, q.y, 0.0))).collect();
    let lead: Vec<f64> = (1..=STEPS).map(|j| j as f64 * STEP_S).collect();
    match forecasts(&history, t, &lead) {
        Some(all) => all.into_iter().map(|f| f.into_iter().map(|q| q.xy().coords).collect()).collect(),
        None => vec![vec![fallback; STEPS]; METHODS.len() - 1],
    }
}

/// The speed band of `speed`.
pub fn band(speed: f64) -> usize {
    BAND_EDGES.iter().take_while(|&&e| speed >= e).count()
}

/// The `q`-quantile (linear interpolation between order statistics); NaN for no values.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(points: &[(f64, f64, f64)]) -> Piece {
        Piece {
            track: 1,
            t: points.iter().map(|p| p.0).collect(),
            xy: points.iter().map(|p| Vector2::new(p.1, p.2)).collect(),
            val: vec![false; points.len()],
        }
    }

    #[test]
    fn tracks_interpolate_and_split_at_gaps() {
        let p = piece(&[(0.0, 0.0, 0.0), (0.4, 0.4, 0.0), (0.8, 0.4, 0.4)]);
        assert!((p.at(0.2) - Vector2::new(0.2, 0.0)).norm() < 1e-12);
        assert!((p.at(0.6) - Vector2::new(0.4, 0.2)).norm() < 1e-12);
        assert_eq!(p.at(5.0), Vector2::new(0.4, 0.4));
        let row = |t: f64| Row { t, track: 3, xy: Vector2::zeros(), val: false };
        let rows = [row(0.0), row(0.4), row(0.8), row(1.6), row(2.0)];
        let ps = pieces(&rows, 0.4);
        assert_eq!(ps.iter().map(|p| p.t.len()).collect::<Vec<_>>(), vec![3, 2], "a 0.8 s gap splits the track");
    }

    #[test]
    fn least_squares_velocity_of_a_straight_walk_is_its_speed() {
        let p = piece(&[(0.0, 0.0, 0.0), (2.0, 2.6, -0.4)]);
        for w in CV_WINDOWS_S {
            let v = ls_velocity(&p, 1.5, w);
            assert!((v - Vector2::new(1.3, -0.2)).norm() < 1e-9, "{w}: {v}");
        }
    }

    /// A walk at 1.3 m/s with a turn, observed at 30 Hz through 5 cm of position noise (a fixed pseudo-random
    /// sequence), forecast every 0.4 s: `(ADE of the 0.8 s line, ADE of the best Kalman filter)` over the anchors.
    fn noisy_walk_errors(every: u32) -> (f64, f64) {
        let truth = |t: f64| {
            let heading = 0.3 * (t / 4.0).sin();
            Vector2::new(heading.cos(), heading.sin()) * 1.3 * t
        };
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut noise = || {
            // Sum of four uniforms, scaled to a standard deviation of 5 cm.
            (0..4)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
                })
                .sum::<f64>()
                * 0.05
                * 3f64.sqrt()
        };
        let mut seen = Vec::new();
        let (mut line_err, mut kf_err, mut n) = (0.0, [0.0; 3], 0.0);
        for k in 0..=600_u32 {
            let t = f64::from(k) / FRAME_RATE;
            let observed = truth(t) + Vector2::new(noise(), noise());
            if k % every == 0 {
                seen.push((t, observed));
            }
            if k >= 60 && k % 12 == 0 {
                let f = observed_baselines(&seen, t, Vector2::zeros());
                let ade = |m: &[Vector2<f64>]| -> f64 {
                    m.iter().enumerate().map(|(j, q)| (q - truth(t + (j + 1) as f64 * STEP_S)).norm()).sum::<f64>()
                        / STEPS as f64
                };
                line_err += ade(&f[3]);
                for (e, m) in kf_err.iter_mut().zip(&f[4..]) {
                    *e += ade(m);
                }
                n += 1.0;
            }
        }
        (line_err / n, kf_err.into_iter().fold(f64::INFINITY, f64::min) / n)
    }

    #[test]
    fn the_kalman_baseline_uses_every_observed_frame_and_beats_the_line_on_a_noisy_walk() {
        let (line, kf) = noisy_walk_errors(1);
        assert!(kf < 0.98 * line, "Kalman ADE {kf:.4} m, 0.8 s line {line:.4} m");
        // The same filter fed only every 12th frame (one per 0.4 s, as annotations come) is the weaker baseline.
        let (_, sparse) = noisy_walk_errors(12);
        assert!(sparse > kf * 1.05, "every 12th frame {sparse:.4} m, every frame {kf:.4} m");
    }

    #[test]
    fn observed_baselines_carry_the_filter_to_the_forecast_time_and_stand_without_observations() {
        let walk: Vec<(f64, Vector2<f64>)> =
            (0..=60).map(|k| f64::from(k) / 30.0).map(|t| (t, Vector2::new(1.0 * t, 0.0))).collect();
        // The last observation 0.2 s before the forecast time (dropouts): every moving baseline starts from t.
        let f = observed_baselines(&walk, 2.2, Vector2::zeros());
        assert_eq!(f.len(), METHODS.len() - 1);
        assert_eq!(f[0][0], Vector2::new(2.0, 0.0), "standing still: the last observation");
        // The 0.2 s line sees one observation and stands; the longer lines and the filters go on.
        for (m, name) in f.iter().zip(&METHODS[1..]).skip(2) {
            assert!((m[9] - Vector2::new(3.2, 0.0)).norm() < 0.02, "{name}: {}", m[9]);
        }
        let none = observed_baselines(&[], 1.0, Vector2::new(4.0, 5.0));
        assert!(none.iter().all(|m| m.iter().all(|q| *q == Vector2::new(4.0, 5.0))));
    }

    #[test]
    fn bands_and_quantiles() {
        assert_eq!([0.0, 0.2, 0.79, 0.8, 1.6, 3.0].map(band), [0, 1, 1, 2, 3, 3]);
        let mut v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.5), 50.0);
        assert!((quantile(&mut v, 0.999) - 99.9).abs() < 1e-9);
        assert!(quantile(&mut [], 0.5).is_nan());
    }
}
