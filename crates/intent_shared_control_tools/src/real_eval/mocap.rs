//! The intent model on real 3-D bodies: CMU motion-capture clips (`data/mocap`, 17 COCO keypoints at 30 Hz,
//! z up, see `data/README.md`), where wrists, heights and gait are measured instead of drawn by our kinematics.
//!
//! Each clip is played three times, with a virtual robot (facing +x, the clip's axes) placed where the person
//! walks toward it ([`PLACEMENTS`]: 1 m beyond the clip's last torso position along the overall walking
//! direction), beside the walk (2 m to the left of its middle) and behind it (1.5 m behind the start). Every frame
//! goes through the product's [`IntentPredictor`]; a forecast is asked every third frame that has a full window
//! (30 frames) and 1 s of future. Errors per look-ahead step 0.1 … 1.0 s for the torso (hip midpoint) and the
//! wrists (mean of both), in the ground plane and in 3-D.
//!
//! Baselines: standing still and constant velocity of each point, fitted by least squares over the last
//! 0.2 / 0.4 / 0.8 s. No clip was used to train or tune the model; the baseline window is the best one over all
//! clips (chosen on the test data itself, which favours the baseline).

use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{bail, Context as _};
use flate2::read::GzDecoder;
use intent_shared_control_core::prediction::{LEFT_WRIST, RIGHT_WRIST, TORSO};
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::skeleton::{keypoint, HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS};
use intent_shared_control_core::Stamp;
use nalgebra::{Point3, Vector2, Vector3};
use serde::{Deserialize, Serialize};

use super::{ls_slope, CV_WINDOWS_S, FRAME_RATE, STEPS};

/// Where the virtual robot stands relative to the clip's walk.
pub const PLACEMENTS: [&str; 3] = ["ahead", "beside", "behind"];
/// Forecasting methods on motion capture: the model, standing still, one constant velocity per [`CV_WINDOWS_S`].
pub const METHODS: [&str; 5] = ["model", "still", "cv_ls_0.2s", "cv_ls_0.4s", "cv_ls_0.8s"];
/// Error kinds, in this order in [`ClipAnchor`].
pub const ERRORS: [&str; 4] = ["torso, ground plane", "torso, 3-D", "wrists, ground plane", "wrists, 3-D"];
/// Frames between two forecasts.
const ANCHOR_EVERY: usize = 3;
/// Frames of the observed window (the model's) and frames per look-ahead step (0.1 s).
const WINDOW_FRAMES: usize = 30;
const STEP_FRAMES: usize = 3;

/// One frame: the 17 keypoints in the clip's frame \[m\].
pub type Pose = [Point3<f64>; NUM_KEYPOINTS];

/// Reads one `data/mocap/<clip>.csv.gz`.
pub fn read_clip(path: &Path) -> anyhow::Result<Vec<Pose>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut frames = Vec::new();
    for (i, line) in BufReader::new(GzDecoder::new(file)).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 1 + 3 * NUM_KEYPOINTS {
            bail!("{}:{}: {} columns, expected {}", path.display(), i + 1, f.len(), 1 + 3 * NUM_KEYPOINTS);
        }
        if i == 0 {
            if f[0] != "t_s" || f[1] != "nose_x" || f[3 * NUM_KEYPOINTS] != "right_ankle_z" {
                bail!("{}: unexpected header", path.display());
            }
            continue;
        }
        let v: Vec<f64> = f[1..]
            .iter()
            .map(|s| s.parse::<f64>().with_context(|| format!("{}:{}: `{s}`", path.display(), i + 1)))
            .collect::<anyhow::Result<_>>()?;
        frames.push(std::array::from_fn(|k| Point3::new(v[3 * k], v[3 * k + 1], v[3 * k + 2])));
    }
    Ok(frames)
}

/// One forecast on a clip.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClipAnchor {
    /// Index into [`PLACEMENTS`].
    pub placement: usize,
    /// Torso ground speed over the observed window \[m/s\].
    pub speed: f64,
    /// Per method of [`METHODS`], per error kind of [`ERRORS`]: ADE and FDE (at 1 s) \[m\].
    pub ade: Vec<[f64; 4]>,
    pub fde: Vec<[f64; 4]>,
}

fn torso(p: &Pose) -> Point3<f64> {
    nalgebra::center(&p[keypoint::LEFT_HIP], &p[keypoint::RIGHT_HIP])
}

/// The three predicted points of a pose: torso, left wrist, right wrist (the prediction's order).
fn tracked(p: &Pose) -> [Point3<f64>; 3] {
    let mut out = [Point3::origin(); 3];
    out[TORSO] = torso(p);
    out[LEFT_WRIST] = p[keypoint::LEFT_WRIST];
    out[RIGHT_WRIST] = p[keypoint::RIGHT_WRIST];
    out
}

/// Robot positions (ground plane, clip frame) for [`PLACEMENTS`].
pub fn placements(frames: &[Pose]) -> [Vector2<f64>; 3] {
    let (s0, s1) = (torso(&frames[0]).xy().coords, torso(&frames[frames.len() - 1]).xy().coords);
    let travel = s1 - s0;
    let dir = if travel.norm() > 0.5 { travel.normalize() } else { Vector2::x() };
    let left = Vector2::new(-dir.y, dir.x);
    [s1 + dir, (s0 + s1) / 2.0 + left * 2.0, s0 - dir * 1.5]
}

/// Ground-plane and 3-D error of `forecast` against `truth` per step, for the torso and the wrists.
fn step_errors(forecast: &[[Point3<f64>; 3]], truth: &[[Point3<f64>; 3]]) -> Vec<[f64; 4]> {
    forecast
        .iter()
        .zip(truth)
        .map(|(f, t)| {
            let d = |i: usize| f[i] - t[i];
            let plane = |v: Vector3<f64>| v.xy().norm();
            [
                plane(d(TORSO)),
                d(TORSO).norm(),
                (plane(d(LEFT_WRIST)) + plane(d(RIGHT_WRIST))) / 2.0,
                (d(LEFT_WRIST).norm() + d(RIGHT_WRIST).norm()) / 2.0,
            ]
        })
        .collect()
}

/// All forecasts on one clip, for each robot placement.
pub fn evaluate_clip(frames: &[Pose], predictor: &mut IntentPredictor) -> anyhow::Result<Vec<ClipAnchor>> {
    let horizon = STEPS * STEP_FRAMES;
    let mut out = Vec::new();
    if frames.len() < WINDOW_FRAMES + horizon {
        return Ok(out);
    }
    for (placement, robot) in placements(frames).into_iter().enumerate() {
        predictor.reset();
        let offset = Vector3::new(robot.x, robot.y, 0.0);
        let in_robot_frame = |p: &Pose| -> Pose { std::array::from_fn(|k| p[k] - offset) };
        for (k, pose) in frames.iter().enumerate() {
            let local = in_robot_frame(pose);
            let frame = SkeletonFrame {
                stamp: Stamp::from_secs_f64(k as f64 / FRAME_RATE),
                frame_id: "base_link".into(),
                humans: vec![HumanSkeleton {
                    id: 1,
                    keypoints: local.map(|position| Keypoint { position, confidence: 1.0 }),
                }],
            };
            let anchor = k + 1 >= WINDOW_FRAMES && k + horizon < frames.len() && k % ANCHOR_EVERY == 0;
            if !anchor {
                predictor.observe(&frame);
                continue;
            }
            let preds = predictor.predict(&frame).context("model")?;
            let Some(pred) = preds.first().filter(|p| p.future.len() >= STEPS) else { continue };
            let truth: Vec<[Point3<f64>; 3]> =
                (1..=STEPS).map(|j| tracked(&in_robot_frame(&frames[k + j * STEP_FRAMES]))).collect();
            let now = tracked(&local);
            let mut forecasts: Vec<Vec<[Point3<f64>; 3]>> = vec![pred.future[..STEPS].to_vec(), vec![now; STEPS]];
            for w in CV_WINDOWS_S {
                let n = (w * FRAME_RATE).round() as usize + 1;
                let history: Vec<[Point3<f64>; 3]> =
                    frames[k + 1 - n..=k].iter().map(|p| tracked(&in_robot_frame(p))).collect();
                let v: [Vector3<f64>; 3] = std::array::from_fn(|i| {
                    let samples: Vec<Vector3<f64>> = history.iter().map(|h| h[i].coords).collect();
                    ls_slope(&samples, FRAME_RATE)
                });
                let tau = |j: usize| j as f64 * STEP_FRAMES as f64 / FRAME_RATE;
                forecasts.push((1..=STEPS).map(|j| std::array::from_fn(|i| now[i] + v[i] * tau(j))).collect());
            }
            let first = torso(&frames[k + 1 - WINDOW_FRAMES]).xy();
            let speed = (torso(pose).xy() - first).norm() / ((WINDOW_FRAMES - 1) as f64 / FRAME_RATE);
            let (mut ade, mut fde) = (Vec::new(), Vec::new());
            for f in &forecasts {
                let e = step_errors(f, &truth);
                ade.push(std::array::from_fn(|i| e.iter().map(|s| s[i]).sum::<f64>() / STEPS as f64));
                fde.push(e[STEPS - 1]);
            }
            out.push(ClipAnchor { placement, speed, ade, fde });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(frames: usize, speed: f64) -> Vec<Pose> {
        (0..frames)
            .map(|k| {
                let x = speed * k as f64 / FRAME_RATE;
                std::array::from_fn(|i| Point3::new(x, 0.1 * i as f64, 0.05 * i as f64))
            })
            .collect()
    }

    #[test]
    fn placements_are_ahead_beside_and_behind_the_walk() {
        let frames = walk(91, 1.5);
        let [ahead, beside, behind] = placements(&frames);
        let (s0, s1) = (torso(&frames[0]).xy().coords, torso(&frames[90]).xy().coords);
        assert!((ahead - (s1 + Vector2::x())).norm() < 1e-12);
        assert!((beside - ((s0 + s1) / 2.0 + Vector2::y() * 2.0)).norm() < 1e-12);
        assert!((behind - (s0 - Vector2::x() * 1.5)).norm() < 1e-12);
    }

    #[test]
    fn errors_split_plane_and_height() {
        let t = [Point3::new(1.0, 0.0, 1.0), Point3::new(0.0, 1.0, 1.0), Point3::new(0.0, -1.0, 1.0)];
        let mut f = t;
        f[TORSO].z += 0.3;
        f[LEFT_WRIST].x += 0.4;
        let e = step_errors(&[f], &[t]);
        for (got, want) in e[0].iter().zip([0.0, 0.3, 0.2, 0.2]) {
            assert!((got - want).abs() < 1e-12, "{:?}", e[0]);
        }
    }
}
