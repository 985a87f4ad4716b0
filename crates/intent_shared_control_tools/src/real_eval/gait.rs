//! Bodies for 2-D tracks from real motion-capture gait.
//!
//! A [`GaitLibrary`] holds one gait cycle (a stride: left ankle passing the right going forward, to the next
//! time it does) from each of a few CMU walking clips at different speeds, and a standing pose from a clip that
//! starts and stops. Each cycle is cut from the clip's steady part, put into the body frame (hip midpoint on the
//! ground-plane origin, x along the cycle's travel, z up, heights kept) and scaled to the reference stature (mean
//! hip height of a 1.75 m person, as the walker bodies); the small mismatch between its first and last frame is
//! spread linearly over the cycle, so the loop closes.
//!
//! A [`GaitBody`] walks a track with them: its gait phase advances by the distance walked divided by the stride
//! length at the current speed (interpolated between the cycles, shorter below the slowest one), its pose is the
//! blend of the two cycles whose speeds bracket the current speed at that phase, and below
//! [`FULL_GAIT_SPEED`] it is blended toward the standing pose in proportion to the speed, so starts and stops
//! move from standing to walking. Turns are the track's: the body faces the heading it is given.

use std::path::Path;

use anyhow::{bail, ensure, Context as _};
use intent_shared_control_core::skeleton::{keypoint, NUM_KEYPOINTS};
use intent_shared_control_sim::scenario::Body;
use nalgebra::{Point3, Rotation2, Vector2, Vector3};

use super::mocap::{read_clip, Pose};
use super::FRAME_RATE;

/// Walking clips the library takes a gait cycle from (CMU subject 7: slow, normal and brisk walks). Held out of
/// nothing else: the motion-capture evaluation reports them apart ([`is_library_clip`]).
pub const GAIT_CLIPS: [&str; 5] = ["cmu_07_04", "cmu_07_05", "cmu_07_01", "cmu_07_08", "cmu_07_12"];
/// The clip the standing pose comes from (subject 131, start, walk, stop).
pub const STANDING_CLIP: &str = "cmu_131_01";
/// Speed at and above which the body walks with a full gait; below it the pose is blended toward standing in
/// proportion to the speed \[m/s\].
pub const FULL_GAIT_SPEED: f64 = 0.6;
/// Shortest stride, as a fraction of the slowest cycle's \[-\].
pub const MIN_STRIDE_FRACTION: f64 = 0.4;

/// Keypoints in the body frame: x forward, y left, z up, the hip midpoint above the origin \[m\].
type Local = [Vector3<f64>; NUM_KEYPOINTS];

/// True when `clip` gives the library a gait cycle or its standing pose.
pub fn is_library_clip(clip: &str) -> bool {
    GAIT_CLIPS.contains(&clip) || clip == STANDING_CLIP
}

/// One gait cycle.
#[derive(Clone, Debug)]
pub struct GaitCycle {
    /// Clip it comes from.
    pub clip: String,
    /// Mean ground speed of the hip midpoint over the cycle \[m/s\].
    pub speed: f64,
    /// Ground distance the hip midpoint travels in the cycle, after scaling \[m\].
    pub stride: f64,
    /// Poses at the cycle's frames, with the fraction of the stride travelled at each (0 … 1).
    fraction: Vec<f64>,
    poses: Vec<Local>,
}

impl GaitCycle {
    /// The pose at `phase` (cycles; only the fractional part counts), linear between frames.
    fn at(&self, phase: f64) -> Local {
        let u = phase.rem_euclid(1.0);
        let i = self.fraction.partition_point(|&f| f <= u).clamp(1, self.fraction.len() - 1);
        let (f0, f1) = (self.fraction[i - 1], self.fraction[i]);
        let w = if f1 > f0 { ((u - f0) / (f1 - f0)).clamp(0.0, 1.0) } else { 0.0 };
        std::array::from_fn(|k| self.poses[i - 1][k] * (1.0 - w) + self.poses[i][k] * w)
    }
}

/// Gait cycles sorted by speed and a standing pose.
#[derive(Clone, Debug)]
pub struct GaitLibrary {
    pub cycles: Vec<GaitCycle>,
    standing: Local,
}

fn hip_mid(p: &Pose) -> Point3<f64> {
    nalgebra::center(&p[keypoint::LEFT_HIP], &p[keypoint::RIGHT_HIP])
}

/// `p` in the body frame of a hip midpoint at `origin` heading along `heading` (unit), scaled by `scale`.
fn local(p: &Pose, origin: Vector2<f64>, heading: Vector2<f64>, scale: f64) -> Local {
    let to_body = Rotation2::rotation_between(&heading, &Vector2::x());
    std::array::from_fn(|k| {
        let xy = to_body * (p[k].xy().coords - origin);
        Vector3::new(xy.x, xy.y, p[k].z) * scale
    })
}

/// Scale that brings the mean hip height of `frames` to the reference stature's.
fn stature_scale(frames: &[Pose]) -> f64 {
    let reference = Body::from_height(1.75, || 1.0).hip_height();
    let mean = frames.iter().map(|p| hip_mid(p).z).sum::<f64>() / frames.len().max(1) as f64;
    reference / mean
}

/// Ground speed of the hip midpoint at every frame: central difference over ±`half` frames (one-sided at the
/// ends) \[m/s\].
fn speeds(frames: &[Pose], half: usize) -> Vec<f64> {
    let n = frames.len();
    (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half).min(n - 1));
            if b == a {
                return 0.0;
            }
            (hip_mid(&frames[b]).xy() - hip_mid(&frames[a]).xy()).norm() * FRAME_RATE / (b - a) as f64
        })
        .collect()
}

/// The gait cycle of a walking clip: the stride nearest the middle of the longest run of frames whose speed over
/// ±0.5 s is within 20 % of the clip's median, from one upward crossing of (left − right ankle) along the travel
/// to the next.
pub fn gait_cycle(clip: &str, frames: &[Pose]) -> anyhow::Result<GaitCycle> {
    ensure!(frames.len() > 30, "{clip}: {} frames, too short for a gait cycle", frames.len());
    let v = speeds(frames, 15);
    let mut sorted = v.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    ensure!(median > 0.3, "{clip}: median speed {median:.2} m/s is not a walk");
    let steady: Vec<bool> = v.iter().map(|s| (s - median).abs() <= 0.2 * median).collect();
    let (mut best, mut start) = ((0, 0), None);
    for i in 0..=steady.len() {
        match (steady.get(i).copied().unwrap_or(false), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s > best.1 - best.0 {
                    best = (s, i);
                }
                start = None;
            }
            _ => {}
        }
    }
    let (s0, s1) = best;
    ensure!(s1 > s0 + 1, "{clip}: no steady walking");
    let travel = hip_mid(&frames[s1 - 1]).xy() - hip_mid(&frames[s0]).xy();
    let forward = travel.normalize();
    let signal: Vec<f64> = (s0..s1)
        .map(|i| (frames[i][keypoint::LEFT_ANKLE].xy() - frames[i][keypoint::RIGHT_ANKLE].xy()).dot(&forward))
        .collect();
    let crossings: Vec<usize> =
        (1..signal.len()).filter(|&i| signal[i - 1] < 0.0 && signal[i] >= 0.0).map(|i| s0 + i).collect();
    let middle = (s0 + s1) / 2;
    let (i0, i1) = crossings
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| (0.7..=1.8).contains(&((b - a) as f64 / FRAME_RATE)))
        .min_by_key(|(a, b)| ((a + b) / 2).abs_diff(middle))
        .with_context(|| format!("{clip}: no whole stride in the steady part (frames {s0}..{s1})"))?;
    let scale = stature_scale(&frames[i0..=i1]);
    let (start, end) = (hip_mid(&frames[i0]).xy().coords, hip_mid(&frames[i1]).xy().coords);
    let heading = (end - start).normalize();
    let stride_raw = (end - start).norm();
    let fraction: Vec<f64> = (i0..=i1)
        .map(|i| ((hip_mid(&frames[i]).xy().coords - start).dot(&heading) / stride_raw).clamp(0.0, 1.0))
        .collect();
    ensure!(fraction.windows(2).all(|w| w[1] >= w[0] - 0.02), "{clip}: the hip midpoint goes backwards in the stride");
    let mut fraction_mono = fraction.clone();
    for i in 1..fraction_mono.len() {
        fraction_mono[i] = fraction_mono[i].max(fraction_mono[i - 1]);
    }
    let raw: Vec<Local> =
        (i0..=i1).map(|i| local(&frames[i], hip_mid(&frames[i]).xy().coords, heading, scale)).collect();
    let gap: Local = std::array::from_fn(|k| raw[raw.len() - 1][k] - raw[0][k]);
    let poses = raw
        .iter()
        .zip(&fraction_mono)
        .map(|(p, &u)| std::array::from_fn(|k| p[k] - gap[k] * u))
        .collect::<Vec<Local>>();
    Ok(GaitCycle {
        clip: clip.to_string(),
        speed: stride_raw * FRAME_RATE / (i1 - i0) as f64,
        stride: stride_raw * scale,
        fraction: fraction_mono,
        poses,
    })
}

/// The standing pose of a clip: the middle frame of its first run of ≥ 0.5 s with the hip midpoint slower than
/// 0.05 m/s, facing where the hips face.
pub fn standing_pose(clip: &str, frames: &[Pose]) -> anyhow::Result<Local> {
    let v = speeds(frames, 5);
    let need = (0.5 * FRAME_RATE) as usize;
    let mut run = 0;
    for (i, s) in v.iter().enumerate() {
        run = if *s < 0.05 { run + 1 } else { 0 };
        if run >= need {
            let f = &frames[i + 1 - need + need / 2];
            let across = f[keypoint::LEFT_HIP].xy() - f[keypoint::RIGHT_HIP].xy();
            let heading = Vector2::new(across.y, -across.x).normalize();
            let scale = stature_scale(&frames[i + 1 - need..=i]);
            return Ok(local(f, hip_mid(f).xy().coords, heading, scale));
        }
    }
    bail!("{clip}: no 0.5 s of standing still")
}

impl GaitLibrary {
    /// Reads [`GAIT_CLIPS`] and [`STANDING_CLIP`] from `dir` (`<clip>.csv.gz`, see `data/README.md`).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |clip: &str| read_clip(&dir.join(format!("{clip}.csv.gz")));
        let mut cycles =
            GAIT_CLIPS.iter().map(|c| gait_cycle(c, &read(c)?)).collect::<anyhow::Result<Vec<GaitCycle>>>()?;
        cycles.sort_by(|a, b| a.speed.total_cmp(&b.speed));
        let standing = standing_pose(STANDING_CLIP, &read(STANDING_CLIP)?)?;
        Ok(Self { cycles, standing })
    }

    /// Stride length at `speed` \[m\]: interpolated between the cycles, the fastest's scaled with the speed above
    /// it, and below the slowest shrinking with the square root of the speed (to [`MIN_STRIDE_FRACTION`] of it).
    pub fn stride(&self, speed: f64) -> f64 {
        let (lo, hi) = (&self.cycles[0], &self.cycles[self.cycles.len() - 1]);
        if speed <= lo.speed {
            return lo.stride * (speed.max(0.0) / lo.speed).sqrt().max(MIN_STRIDE_FRACTION);
        }
        if speed >= hi.speed {
            return hi.stride * speed / hi.speed;
        }
        let (a, b, w) = self.bracket(speed);
        a.stride * (1.0 - w) + b.stride * w
    }

    /// The cycles bracketing `speed` and the weight of the faster one.
    fn bracket(&self, speed: f64) -> (&GaitCycle, &GaitCycle, f64) {
        let i = self.cycles.partition_point(|c| c.speed <= speed).clamp(1, self.cycles.len() - 1);
        let (a, b) = (&self.cycles[i - 1], &self.cycles[i]);
        (a, b, ((speed - a.speed) / (b.speed - a.speed)).clamp(0.0, 1.0))
    }

    /// The body-frame pose at gait `phase` and `speed`.
    pub fn pose(&self, phase: f64, speed: f64) -> Local {
        let walking = if self.cycles.len() == 1 {
            self.cycles[0].at(phase)
        } else {
            let (a, b, w) = self.bracket(speed);
            let (pa, pb) = (a.at(phase), b.at(phase));
            std::array::from_fn(|k| pa[k] * (1.0 - w) + pb[k] * w)
        };
        let g = (speed / FULL_GAIT_SPEED).clamp(0.0, 1.0);
        std::array::from_fn(|k| self.standing[k] + (walking[k] - self.standing[k]) * g)
    }
}

/// A body walking a track with a [`GaitLibrary`]'s gait.
pub struct GaitBody<'a> {
    library: &'a GaitLibrary,
    phase: f64,
}

impl<'a> GaitBody<'a> {
    /// A body at the start of a stride.
    pub fn new(library: &'a GaitLibrary) -> Self {
        Self { library, phase: 0.0 }
    }

    /// Keypoints after walking `step` \[m\] more, now at `pos` facing `yaw` and moving at `speed` \[m/s\].
    pub fn step(&mut self, pos: Vector2<f64>, yaw: f64, step: f64, speed: f64) -> [Point3<f64>; NUM_KEYPOINTS] {
        self.phase += step / self.library.stride(speed);
        let pose = self.library.pose(self.phase, speed);
        let to_world = Rotation2::new(yaw);
        std::array::from_fn(|k| {
            let xy = pos + to_world * pose[k].xy();
            Point3::new(xy.x, xy.y, pose[k].z)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic walk along x at `speed`: hips fixed on the body, ankles swinging with a stride of
    /// `stride` m, `frames` frames.
    fn synthetic_walk(speed: f64, stride: f64, frames: usize) -> Vec<Pose> {
        (0..frames)
            .map(|i| {
                let x = speed * i as f64 / FRAME_RATE;
                let phase = std::f64::consts::TAU * x / stride;
                let mut p: Pose = [Point3::new(x, 0.0, 1.4); NUM_KEYPOINTS];
                p[keypoint::LEFT_HIP] = Point3::new(x, 0.1, 0.9);
                p[keypoint::RIGHT_HIP] = Point3::new(x, -0.1, 0.9);
                p[keypoint::LEFT_ANKLE] = Point3::new(x + 0.3 * phase.sin(), 0.1, 0.08);
                p[keypoint::RIGHT_ANKLE] = Point3::new(x - 0.3 * phase.sin(), -0.1, 0.08);
                p
            })
            .collect()
    }

    #[test]
    fn a_cycle_is_one_stride_in_the_body_frame() {
        let frames = synthetic_walk(1.2, 1.3, 150);
        let c = gait_cycle("synthetic", &frames).expect("cycle");
        assert!((c.speed - 1.2).abs() < 0.02, "speed {}", c.speed);
        let scale = Body::from_height(1.75, || 1.0).hip_height() / 0.9;
        assert!((c.stride - 1.3 * scale).abs() < 0.05, "stride {} vs {}", c.stride, 1.3 * scale);
        // The hip midpoint is on the origin, hips across y, heights scaled.
        let p = c.at(0.3);
        assert!((p[keypoint::LEFT_HIP].y - 0.1 * scale).abs() < 1e-9 && p[keypoint::LEFT_HIP].x.abs() < 1e-9);
        assert!((p[keypoint::LEFT_HIP].z - 0.9 * scale).abs() < 1e-9);
        // The loop closes: phase 0 and phase 1 give the same pose.
        let (a, b) = (c.at(0.0), c.at(0.999_999));
        assert!((0..NUM_KEYPOINTS).all(|k| (a[k] - b[k]).norm() < 1e-3));
        // Half a stride later the ankles have swapped.
        let half = c.at(0.25);
        assert!(half[keypoint::LEFT_ANKLE].x > 0.25 * scale, "{}", half[keypoint::LEFT_ANKLE].x);
    }

    #[test]
    fn a_walk_with_a_standing_clip_gives_strides_poses_and_a_body_on_the_track() {
        let slow = gait_cycle("slow", &synthetic_walk(1.0, 1.2, 150)).expect("cycle");
        let fast = gait_cycle("fast", &synthetic_walk(2.0, 1.6, 150)).expect("cycle");
        let mut still = synthetic_walk(0.0, 1.0, 40);
        still.extend(synthetic_walk(0.0, 1.0, 1));
        let standing = standing_pose("still", &still).expect("standing");
        let lib = GaitLibrary { cycles: vec![slow.clone(), fast.clone()], standing };
        assert!((lib.stride(1.5) - (slow.stride + fast.stride) / 2.0).abs() < 1e-9);
        assert!((lib.stride(4.0) - fast.stride * 2.0).abs() < 1e-9);
        assert!((lib.stride(0.25) - slow.stride * 0.5).abs() < 1e-9);
        assert!((lib.stride(0.0) - slow.stride * MIN_STRIDE_FRACTION).abs() < 1e-9);
        // Standing still is the standing pose whatever the phase; half the full-gait speed is halfway.
        let s = lib.pose(0.37, 0.0);
        assert!((0..NUM_KEYPOINTS).all(|k| (s[k] - lib.standing[k]).norm() < 1e-12));
        let (h, w) = (lib.pose(0.25, FULL_GAIT_SPEED / 2.0), slow.at(0.25));
        let k = keypoint::LEFT_ANKLE;
        assert!((h[k] - (lib.standing[k] + w[k]) / 2.0).norm() < 1e-9);
        // A body facing +y at (3, 4) has its hip midpoint there and its left hip toward −x.
        let mut body = GaitBody::new(&lib);
        let p = body.step(Vector2::new(3.0, 4.0), std::f64::consts::FRAC_PI_2, 0.1, 1.2);
        let mid = nalgebra::center(&p[keypoint::LEFT_HIP], &p[keypoint::RIGHT_HIP]);
        assert!((mid.xy() - Point3::new(3.0, 4.0, 0.0).xy()).norm() < 1e-9);
        assert!(p[keypoint::LEFT_HIP].x < 3.0 && (p[keypoint::LEFT_HIP].y - 4.0).abs() < 1e-9);
    }

    #[test]
    fn the_shipped_clips_give_a_library_of_real_strides() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mocap");
        let lib = GaitLibrary::load(&dir).expect("library");
        assert_eq!(lib.cycles.len(), GAIT_CLIPS.len());
        for c in &lib.cycles {
            // Adult walking: 0.9–2.3 m/s, strides (two steps) of 1.0–2.0 m at the reference stature.
            assert!((0.8..2.4).contains(&c.speed), "{}: {} m/s", c.clip, c.speed);
            assert!((1.0..2.0).contains(&c.stride), "{}: stride {} m", c.clip, c.stride);
        }
        assert!(lib.cycles.windows(2).all(|w| w[0].speed <= w[1].speed));
        let ref_hip = Body::from_height(1.75, || 1.0).hip_height();
        let hip = (lib.standing[keypoint::LEFT_HIP].z + lib.standing[keypoint::RIGHT_HIP].z) / 2.0;
        assert!((hip - ref_hip).abs() < 0.01, "standing hip height {hip}");
        let head = lib.standing[keypoint::NOSE].z;
        assert!((1.45..1.8).contains(&head), "standing nose height {head}");
    }
}
