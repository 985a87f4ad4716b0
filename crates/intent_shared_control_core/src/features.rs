//! Skeletons → model input windows: the only implementation of the pre-processing of `docs/model_contract.md`.
//!
//! [`FeaturePipeline`] keeps a bounded ring buffer of raw skeletons per tracked human (keyed by tracker id),
//! and on request builds one `[30, 71]` window per human into a reused [`FeatureBatch`]:
//!
//! 1. **Resampling** to [`MODEL_RATE_HZ`] by stamp. The window's frames are at `T − (29 − k) / 30 s`,
//!    `k = 0 … 29`, where `T` is the human's newest stamp. Each keypoint is interpolated linearly between the two
//!    neighbouring *observations of that keypoint* when they are at most
//!    [`FeatureConfig::max_interpolation_gap_s`] apart; otherwise the nearest observation is held when it is at
//!    most half a sample period (1/60 s) away (no further extrapolation); otherwise the keypoint is missing in
//!    that frame. A keypoint is observed in a raw skeleton when its confidence is ≥
//!    [`FeatureConfig::min_keypoint_confidence`] and its position is finite.
//! 2. **Torso point** of a frame: the mean of its resampled hips (COCO 11, 12) that are present. Frames without a
//!    hip take the torso point of the last earlier frame that has one (forward fill), leading ones that of the
//!    first frame that has one (back fill). A window whose newest frame has no hip is not built
//!    ([`FeatureStats::skipped_no_hip`]).
//! 3. **Missing keypoints** are forward-filled from the last frame of the window where that keypoint is present,
//!    back-filled from its first presence at the start of the window, and set to the frame's torso point if it
//!    is never present in the window. Their visibility feature is 0.0; present keypoints have 1.0.
//! 4. **Normalisation** (`torso_centred_bearing_aligned`): with `c` the torso point of the newest frame and
//!    `θ = atan2(c.y, c.x)`, `R` rotates by `−θ` about z; features are `R·(p_k(t) − c)` (51), `R·torso(t)` (3) and
//!    the 17 visibility flags.
//!
//! Input hygiene: a skeleton whose stamp equals (duplicate) or precedes (out of order) its track's newest stamp
//! is rejected and counted; non-finite positions of confident keypoints are counted and treated as missing; a
//! track whose newest stamp is more than [`FeatureConfig::eviction_timeout_s`] older than the newest stamp seen
//! is evicted, and at most [`FeatureConfig::max_humans`] tracks are kept (the least recently seen goes first).
//! Memory is bounded by `max_humans × history_capacity` skeletons whatever the ids; buffers are reused, so the
//! steady state allocates nothing.

use std::collections::VecDeque;

use nalgebra::{Isometry2, Point2, Point3, Vector3};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{
    feature_layout, FEATURES_PER_FRAME, FUTURE_LEN, HORIZON_STEPS, MODEL_RATE_HZ, NUM_PREDICTED_POINTS, WINDOW_FRAMES,
    WINDOW_LEN,
};
use crate::skeleton::{keypoint, HumanId, HumanSkeleton, SkeletonFrame, NUM_KEYPOINTS};
use crate::time::Stamp;

/// Sample period of the model window [ns] (1/30 s, not an integer number of ns; see [`sample_offset_ns`]).
const SAMPLE_PERIOD_S: f64 = 1.0 / MODEL_RATE_HZ;

/// Offset of window frame `k` (0 = oldest) before the newest stamp \[ns\]: `round((29 − k) / 30 s)`.
pub fn sample_offset_ns(k: usize) -> i64 {
    let back = WINDOW_FRAMES.saturating_sub(1).saturating_sub(k) as f64;
    (back * SAMPLE_PERIOD_S * 1e9).round() as i64
}

/// Errors of the feature pipeline's configuration.
#[derive(Debug, Error, PartialEq)]
pub enum FeatureError {
    /// A configuration value is out of its valid range.
    #[error("feature config `{field}` = {value} is invalid: {reason}")]
    InvalidConfig { field: &'static str, value: String, reason: &'static str },
}

/// Feature pipeline settings (YAML/JSON; unknown keys are errors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureConfig {
    /// Keypoints with a lower confidence are missing, in [0, 1]. Must equal the model card's value.
    pub min_keypoint_confidence: f32,
    /// A human not seen for longer than this (relative to the newest stamp seen) is forgotten \[s\], > 0.
    pub eviction_timeout_s: f64,
    /// Hard cap on tracked humans, ≥ 1; a new id beyond it evicts the least recently seen human.
    pub max_humans: usize,
    /// Raw skeletons kept per human \[frames\], in [2, 4096]. Must cover the 1 s window at the input rate
    /// (e.g. 128 covers inputs up to ~120 Hz); older skeletons are dropped first.
    pub history_capacity: usize,
    /// Longest time between two observations of a keypoint that is interpolated across \[s\], ≥ 0.
    pub max_interpolation_gap_s: f64,
    /// A human needs at least this much history (newest − oldest kept stamp) before a window is built \[s\],
    /// in [0, 1].
    pub min_history_s: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            min_keypoint_confidence: 0.3,
            eviction_timeout_s: 1.0,
            max_humans: 64,
            history_capacity: 128,
            max_interpolation_gap_s: 0.2,
            min_history_s: 0.0,
        }
    }
}

impl FeatureConfig {
    /// Checks every value; the pipeline refuses an invalid config.
    pub fn validate(&self) -> Result<(), FeatureError> {
        fn bad(field: &'static str, value: impl ToString, reason: &'static str) -> Result<(), FeatureError> {
            Err(FeatureError::InvalidConfig { field, value: value.to_string(), reason })
        }
        if !(0.0..=1.0).contains(&self.min_keypoint_confidence) {
            return bad("min_keypoint_confidence", self.min_keypoint_confidence, "must be in [0, 1]");
        }
        if !(self.eviction_timeout_s.is_finite() && self.eviction_timeout_s > 0.0) {
            return bad("eviction_timeout_s", self.eviction_timeout_s, "must be finite and > 0");
        }
        if self.max_humans == 0 || self.max_humans > 4096 {
            return bad("max_humans", self.max_humans, "must be in [1, 4096]");
        }
        if !(2..=4096).contains(&self.history_capacity) {
            return bad("history_capacity", self.history_capacity, "must be in [2, 4096]");
        }
        if !(self.max_interpolation_gap_s.is_finite() && self.max_interpolation_gap_s >= 0.0) {
            return bad("max_interpolation_gap_s", self.max_interpolation_gap_s, "must be finite and >= 0");
        }
        if !(0.0..=1.0).contains(&self.min_history_s) {
            return bad("min_history_s", self.min_history_s, "must be in [0, 1]");
        }
        Ok(())
    }
}

/// Counters of everything the pipeline accepted, rejected, evicted or skipped (monotonic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureStats {
    /// Frames given to [`FeaturePipeline::push`].
    pub frames: u64,
    /// Skeletons accepted into a track.
    pub skeletons_accepted: u64,
    /// Skeletons with the same stamp as their track's newest (includes the same id twice in one frame).
    pub rejected_duplicate: u64,
    /// Skeletons older than their track's newest.
    pub rejected_out_of_order: u64,
    /// Confident keypoints with a non-finite position (treated as missing).
    pub non_finite_keypoints: u64,
    /// Tracks forgotten after [`FeatureConfig::eviction_timeout_s`].
    pub evicted_timeout: u64,
    /// Tracks forgotten to make room under [`FeatureConfig::max_humans`].
    pub evicted_capacity: u64,
    /// Windows written into a batch.
    pub windows_built: u64,
    /// Windows not built because the newest frame had no hip.
    pub skipped_no_hip: u64,
    /// Windows not built because the track had less than [`FeatureConfig::min_history_s`] of history.
    pub skipped_short_history: u64,
    /// Windows not built because the batch was full.
    pub skipped_batch_full: u64,
    /// Frames older than the newest stamp seen by more than the eviction timeout: the clock jumped back (a bag
    /// loop, a restarted simulator); every track was forgotten and the frame starts afresh.
    pub clock_jumps: u64,
}

/// What happened to one frame in [`FeaturePipeline::push`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushSummary {
    /// Skeletons accepted.
    pub accepted: usize,
    /// Skeletons rejected (duplicate or out-of-order stamp).
    pub rejected: usize,
    /// Tracks evicted (timeout or capacity) while handling this frame.
    pub evicted: usize,
}

/// Where a window's row came from, and how to map its outputs back to the robot frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowMeta {
    /// Tracker id of the human.
    pub human_id: HumanId,
    /// Stamp of the newest frame of the window (the source stamp of the prediction).
    pub stamp: Stamp,
    /// Reference point `c`: the torso point of the newest frame, robot frame \[m\].
    pub reference: Point3<f64>,
    /// Bearing `θ = atan2(c.y, c.x)` of the human from the robot \[rad\].
    pub bearing_rad: f64,
    /// Fraction of (frame, keypoint) pairs of the window that were present (not filled), in [0, 1].
    pub visible_fraction: f32,
}

impl RowMeta {
    /// Robot-frame point → model frame, `R·(p − c)` \[m\].
    pub fn to_model_frame(&self, p: &Point3<f64>) -> Vector3<f64> {
        rotate_by_minus(self.bearing_rad, &(p - self.reference))
    }

    /// Model-frame vector → robot-frame point, `c + Rᵀ·y` \[m\] (inverse of [`RowMeta::to_model_frame`]).
    pub fn to_robot_frame(&self, y: &Vector3<f64>) -> Point3<f64> {
        self.reference + rotate_by_minus(-self.bearing_rad, y)
    }

    /// Maps one row of `future_positions` (`[10, 3, 3]` row-major, [`FUTURE_LEN`] values) to robot-frame points
    /// `[step][point]`. `None` when the slice has the wrong length or holds a non-finite value.
    pub fn future_to_robot_frame(
        &self,
        future: &[f32],
    ) -> Option<[[Point3<f64>; NUM_PREDICTED_POINTS]; HORIZON_STEPS]> {
        if future.len() != FUTURE_LEN || future.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut out = [[Point3::origin(); NUM_PREDICTED_POINTS]; HORIZON_STEPS];
        for (s, step) in out.iter_mut().enumerate() {
            for (j, p) in step.iter_mut().enumerate() {
                let i = (s * NUM_PREDICTED_POINTS + j) * 3;
                let y = Vector3::new(f64::from(future[i]), f64::from(future[i + 1]), f64::from(future[i + 2]));
                *p = self.to_robot_frame(&y);
            }
        }
        Some(out)
    }
}

/// `iso` applied to the horizontal coordinates of `p`, its height kept.
pub fn transform_planar(iso: &Isometry2<f64>, p: &Point3<f64>) -> Point3<f64> {
    let q = iso * Point2::new(p.x, p.y);
    Point3::new(q.x, q.y, p.z)
}

/// Rotation by `−angle` about z.
fn rotate_by_minus(angle: f64, v: &Vector3<f64>) -> Vector3<f64> {
    rotate_by_minus_sc(angle.sin_cos(), v)
}

/// Rotation by `−angle` about z, given `(sin angle, cos angle)`.
fn rotate_by_minus_sc((s, c): (f64, f64), v: &Vector3<f64>) -> Vector3<f64> {
    Vector3::new(c * v.x + s * v.y, -s * v.x + c * v.y, v.z)
}

/// A batch of windows, row-major `[rows, 30, 71]` `f32`, with one [`RowMeta`] per row. Reuse it across calls:
/// [`FeaturePipeline::fill_batch`] clears it and refills it within the memory reserved by
/// [`FeatureBatch::with_capacity`], never allocating. (`Default` holds no row.)
#[derive(Clone, Debug, Default)]
pub struct FeatureBatch {
    data: Vec<f32>,
    rows: Vec<RowMeta>,
    max_rows: usize,
}

impl FeatureBatch {
    /// An empty batch that holds at most `max_rows` windows (memory reserved up front).
    pub fn with_capacity(max_rows: usize) -> Self {
        Self { data: Vec::with_capacity(max_rows * WINDOW_LEN), rows: Vec::with_capacity(max_rows), max_rows }
    }

    /// Removes all rows, keeping the memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.rows.clear();
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there is no window (never run a model on an empty batch).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Most windows this batch takes.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    /// All windows, row-major `[len, 30, 71]`: the `pose_window` tensor.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Window `row` (`[30, 71]` row-major), `None` when out of range.
    pub fn window(&self, row: usize) -> Option<&[f32]> {
        self.data.get(row * WINDOW_LEN..(row + 1) * WINDOW_LEN)
    }

    /// Per-row metadata, in row order.
    pub fn rows(&self) -> &[RowMeta] {
        &self.rows
    }
}

/// One raw skeleton as kept in a track.
#[derive(Clone, Copy, Debug)]
struct RawPose {
    stamp: Stamp,
    points: [Point3<f64>; NUM_KEYPOINTS],
    observed: [bool; NUM_KEYPOINTS],
}

#[derive(Clone, Debug)]
struct Track {
    id: HumanId,
    active: bool,
    history: VecDeque<RawPose>,
}

impl Track {
    fn newest(&self) -> Option<Stamp> {
        self.history.back().map(|p| p.stamp)
    }
}

/// Scratch space for one window (fixed size, lives in the pipeline so building a window never allocates).
#[derive(Clone, Debug)]
struct Scratch {
    points: [[Point3<f64>; NUM_KEYPOINTS]; WINDOW_FRAMES],
    present: [[bool; NUM_KEYPOINTS]; WINDOW_FRAMES],
    torso: [Option<Point3<f64>>; WINDOW_FRAMES],
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            points: [[Point3::origin(); NUM_KEYPOINTS]; WINDOW_FRAMES],
            present: [[false; NUM_KEYPOINTS]; WINDOW_FRAMES],
            torso: [None; WINDOW_FRAMES],
        }
    }
}

/// Per-human skeleton history → batched model input windows (see the module docs for the exact rules).
#[derive(Clone, Debug)]
pub struct FeaturePipeline {
    config: FeatureConfig,
    tracks: Vec<Track>,
    newest_seen: Option<Stamp>,
    stats: FeatureStats,
    scratch: Box<Scratch>,
}

impl FeaturePipeline {
    /// A pipeline with no tracked human. Fails on an invalid config.
    pub fn new(config: FeatureConfig) -> Result<Self, FeatureError> {
        config.validate()?;
        Ok(Self {
            tracks: Vec::with_capacity(config.max_humans),
            config,
            newest_seen: None,
            stats: FeatureStats::default(),
            scratch: Box::default(),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Counters since construction.
    pub fn stats(&self) -> FeatureStats {
        self.stats
    }

    /// Number of humans currently tracked.
    pub fn tracked_humans(&self) -> usize {
        self.tracks.iter().filter(|t| t.active).count()
    }

    /// True when `id` is tracked.
    pub fn is_tracked(&self, id: HumanId) -> bool {
        self.tracks.iter().any(|t| t.active && t.id == id)
    }

    /// Newest stamp of the track of `id`, if tracked.
    pub fn newest_stamp(&self, id: HumanId) -> Option<Stamp> {
        self.tracks.iter().find(|t| t.active && t.id == id).and_then(Track::newest)
    }

    /// Forgets every human.
    pub fn reset(&mut self) {
        for t in &mut self.tracks {
            t.active = false;
            t.history.clear();
        }
        self.newest_seen = None;
    }

    /// Adds the skeletons of one frame (stamp = capture time; positions in the robot frame \[m\]), kept in that
    /// frame: right for a robot that does not move, see [`FeaturePipeline::push_in`] for one that does.
    ///
    /// Evicts humans not seen within [`FeatureConfig::eviction_timeout_s`] of the newest stamp seen so far.
    pub fn push(&mut self, frame: &SkeletonFrame) -> PushSummary {
        self.push_in(frame, &Isometry2::identity())
    }

    /// Adds the skeletons of one frame, moved into a fixed frame by `fixed_from_frame` (e.g. `odom ← base_link`
    /// at the capture stamp; planar: x, y and the rotation about z, heights kept). A pipeline must be fed in one
    /// frame only: either always [`FeaturePipeline::push`] or always this.
    pub fn push_in(&mut self, frame: &SkeletonFrame, fixed_from_frame: &Isometry2<f64>) -> PushSummary {
        self.stats.frames += 1;
        let mut summary = PushSummary::default();
        if self.newest_seen.is_some_and(|s| s.seconds_since(frame.stamp) > self.config.eviction_timeout_s) {
            let stats = self.stats;
            self.reset();
            self.stats = FeatureStats { clock_jumps: stats.clock_jumps + 1, ..stats };
        }
        if self.newest_seen.is_none_or(|s| frame.stamp > s) {
            self.newest_seen = Some(frame.stamp);
        }
        summary.evicted += self.evict_stale();
        for human in &frame.humans {
            match self.push_skeleton(frame.stamp, human, fixed_from_frame) {
                Ok(evicted) => {
                    summary.accepted += 1;
                    summary.evicted += evicted;
                }
                Err(()) => summary.rejected += 1,
            }
        }
        summary
    }

    /// Evicts tracks whose newest stamp is older than the newest stamp seen minus the eviction timeout; returns
    /// how many.
    fn evict_stale(&mut self) -> usize {
        let Some(now) = self.newest_seen else {
            return 0;
        };
        let timeout = self.config.eviction_timeout_s;
        let mut n = 0;
        for t in &mut self.tracks {
            if t.active && t.newest().is_some_and(|s| now.seconds_since(s) > timeout) {
                t.active = false;
                t.history.clear();
                n += 1;
            }
        }
        self.stats.evicted_timeout += n as u64;
        n
    }

    /// Adds one skeleton; `Err(())` when rejected (counted), `Ok(evicted)` otherwise.
    fn push_skeleton(
        &mut self,
        stamp: Stamp,
        human: &HumanSkeleton,
        fixed_from_frame: &Isometry2<f64>,
    ) -> Result<usize, ()> {
        let mut evicted = 0;
        let slot = match self.tracks.iter().position(|t| t.active && t.id == human.id) {
            Some(i) => {
                if let Some(newest) = self.tracks[i].newest() {
                    if stamp == newest {
                        self.stats.rejected_duplicate += 1;
                        return Err(());
                    }
                    if stamp < newest {
                        self.stats.rejected_out_of_order += 1;
                        return Err(());
                    }
                }
                i
            }
            None => {
                let (i, was_evicted) = self.free_slot();
                evicted += usize::from(was_evicted);
                let t = &mut self.tracks[i];
                t.id = human.id;
                t.active = true;
                t.history.clear();
                i
            }
        };
        let min_conf = self.config.min_keypoint_confidence;
        let mut pose = RawPose { stamp, points: [Point3::origin(); NUM_KEYPOINTS], observed: [false; NUM_KEYPOINTS] };
        for (k, kp) in human.keypoints.iter().enumerate() {
            let finite = kp.position.iter().all(|v| v.is_finite());
            if kp.confidence >= min_conf && kp.confidence.is_finite() {
                if finite {
                    pose.points[k] = transform_planar(fixed_from_frame, &kp.position);
                    pose.observed[k] = true;
                } else {
                    self.stats.non_finite_keypoints += 1;
                }
            }
        }
        let cap = self.config.history_capacity;
        let history = &mut self.tracks[slot].history;
        if history.len() >= cap {
            history.pop_front();
        }
        history.push_back(pose);
        self.stats.skeletons_accepted += 1;
        Ok(evicted)
    }

    /// A free track slot (reusing an inactive one, growing up to `max_humans`, else evicting the least recently
    /// seen); the flag says whether a track was evicted.
    fn free_slot(&mut self) -> (usize, bool) {
        if let Some(i) = self.tracks.iter().position(|t| !t.active) {
            return (i, false);
        }
        if self.tracks.len() < self.config.max_humans {
            self.tracks.push(Track {
                id: 0,
                active: false,
                history: VecDeque::with_capacity(self.config.history_capacity),
            });
            return (self.tracks.len() - 1, false);
        }
        let oldest = self
            .tracks
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| (t.newest().unwrap_or(Stamp(i64::MIN)), t.id))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let t = &mut self.tracks[oldest];
        t.active = false;
        t.history.clear();
        self.stats.evicted_capacity += 1;
        (oldest, true)
    }

    /// Clears `batch` and writes one window for every tracked human whose newest skeleton has stamp `stamp`
    /// (i.e. the humans of the frame just pushed), in track order, up to the batch's `max_rows`.
    /// Returns the number of windows written.
    pub fn fill_batch(&mut self, stamp: Stamp, batch: &mut FeatureBatch) -> usize {
        self.fill_batch_in(stamp, &Isometry2::identity(), batch)
    }

    /// [`FeaturePipeline::fill_batch`] for a pipeline fed with [`FeaturePipeline::push_in`]: every window is
    /// built (and so normalised, and its predictions expressed) in the frame `view_from_fixed` maps to, e.g.
    /// `base_link ← odom` at `stamp`, the robot frame of the newest capture. The history then carries no
    /// ego-motion, and the bearing and distance of the normalisation are those from the robot where it is now.
    pub fn fill_batch_in(&mut self, stamp: Stamp, view_from_fixed: &Isometry2<f64>, batch: &mut FeatureBatch) -> usize {
        batch.clear();
        for i in 0..self.tracks.len() {
            let t = &self.tracks[i];
            if !t.active || t.newest() != Some(stamp) {
                continue;
            }
            if batch.len() >= batch.max_rows {
                self.stats.skipped_batch_full += 1;
                continue;
            }
            self.build_row(i, view_from_fixed, batch);
        }
        batch.len()
    }

    /// Resamples, fills, normalises and appends the window of track `i`; false when skipped (counted).
    fn build_row(&mut self, i: usize, view_from_fixed: &Isometry2<f64>, batch: &mut FeatureBatch) -> bool {
        let track = &self.tracks[i];
        let (Some(oldest), Some(newest)) = (track.history.front(), track.history.back()) else {
            return false;
        };
        if newest.stamp.seconds_since(oldest.stamp) + 1e-9 < self.config.min_history_s {
            self.stats.skipped_short_history += 1;
            return false;
        }
        let max_gap_ns = (self.config.max_interpolation_gap_s * 1e9).round() as i64;
        let s = &mut *self.scratch;
        resample(&track.history, newest.stamp, max_gap_ns, s);
        if *view_from_fixed != Isometry2::identity() {
            for (points, present) in s.points.iter_mut().zip(&s.present) {
                for (p, _) in points.iter_mut().zip(present).filter(|(_, &on)| on) {
                    *p = transform_planar(view_from_fixed, p);
                }
            }
        }
        if !fill_torso(s) {
            self.stats.skipped_no_hip += 1;
            return false;
        }
        let present_count = fill_missing(s);
        let c = match s.torso[WINDOW_FRAMES - 1] {
            Some(c) => c,
            None => {
                self.stats.skipped_no_hip += 1;
                return false;
            }
        };
        let theta = c.y.atan2(c.x);
        let sc = theta.sin_cos();
        for f in 0..WINDOW_FRAMES {
            let torso = s.torso[f].unwrap_or(c);
            for k in 0..NUM_KEYPOINTS {
                let v = rotate_by_minus_sc(sc, &(s.points[f][k] - c));
                batch.data.extend_from_slice(&[v.x as f32, v.y as f32, v.z as f32]);
            }
            let t = rotate_by_minus_sc(sc, &torso.coords);
            batch.data.extend_from_slice(&[t.x as f32, t.y as f32, t.z as f32]);
            for k in 0..NUM_KEYPOINTS {
                batch.data.push(if s.present[f][k] { 1.0 } else { 0.0 });
            }
        }
        debug_assert_eq!(batch.data.len() % WINDOW_LEN, 0);
        debug_assert_eq!(feature_layout::VISIBILITY.end, FEATURES_PER_FRAME);
        batch.rows.push(RowMeta {
            human_id: track.id,
            stamp: newest.stamp,
            reference: c,
            bearing_rad: theta,
            visible_fraction: present_count as f32 / (WINDOW_FRAMES * NUM_KEYPOINTS) as f32,
        });
        self.stats.windows_built += 1;
        true
    }
}

/// Resamples every keypoint of `history` (ascending stamps) at the window's frame times ending at `newest`.
/// Walks the ring buffer in place: making it contiguous would move up to `history_capacity` poses per call.
fn resample(history: &VecDeque<RawPose>, newest: Stamp, max_gap_ns: i64, s: &mut Scratch) {
    let hold_ns = (0.5 * SAMPLE_PERIOD_S * 1e9).round() as i64;
    let n = history.len();
    let mut times = [Stamp(0); WINDOW_FRAMES];
    for (f, t) in times.iter_mut().enumerate() {
        *t = Stamp(newest.0.saturating_sub(sample_offset_ns(f)));
    }
    // Skeletons older than the first frame time minus the interpolation gap and the hold can never contribute.
    let oldest_useful = newest.0.saturating_sub(sample_offset_ns(0)).saturating_sub(max_gap_ns.max(hold_ns));
    let first = history.partition_point(|p| p.stamp.0 < oldest_useful);
    for k in 0..NUM_KEYPOINTS {
        // Two pointers: `i` walks the history; `prev` is the last observation of k at or before the sample time.
        // `j` is the first observation of k at or after `i` (both only move forward: amortised O(n + 30)).
        let mut i = first;
        let mut j = first;
        let mut prev: Option<usize> = None;
        for (f, &t) in times.iter().enumerate() {
            while i < n && history[i].stamp <= t {
                if history[i].observed[k] {
                    prev = Some(i);
                }
                i += 1;
            }
            j = j.max(i);
            while j < n && !history[j].observed[k] {
                j += 1;
            }
            let next = (j < n).then_some(j);
            let value = match (prev, next) {
                (Some(p), _) if history[p].stamp == t => Some(history[p].points[k]),
                (Some(p), Some(q)) if history[q].stamp.0 - history[p].stamp.0 <= max_gap_ns => {
                    let (a, b) = (&history[p], &history[q]);
                    let w = (t.0 - a.stamp.0) as f64 / (b.stamp.0 - a.stamp.0) as f64;
                    Some(a.points[k] + (b.points[k] - a.points[k]) * w)
                }
                (Some(p), _) if t.0 - history[p].stamp.0 <= hold_ns => Some(history[p].points[k]),
                (_, Some(q)) if history[q].stamp.0 - t.0 <= hold_ns => Some(history[q].points[k]),
                _ => None,
            };
            s.present[f][k] = value.is_some();
            s.points[f][k] = value.unwrap_or_else(Point3::origin);
        }
    }
}

/// Torso point per frame (mean of present hips), forward- then back-filled. False when no frame has a hip or
/// the newest frame has none.
fn fill_torso(s: &mut Scratch) -> bool {
    for f in 0..WINDOW_FRAMES {
        let (l, r) = (keypoint::LEFT_HIP, keypoint::RIGHT_HIP);
        s.torso[f] = match (s.present[f][l], s.present[f][r]) {
            (true, true) => Some(nalgebra::center(&s.points[f][l], &s.points[f][r])),
            (true, false) => Some(s.points[f][l]),
            (false, true) => Some(s.points[f][r]),
            (false, false) => None,
        };
    }
    if s.torso[WINDOW_FRAMES - 1].is_none() {
        return false;
    }
    fill_series(&mut s.torso);
    true
}

/// Forward fill, then back fill of an optional series; leaves it all `None` if nothing is present.
fn fill_series(series: &mut [Option<Point3<f64>>; WINDOW_FRAMES]) {
    let mut last = None;
    for v in series.iter_mut() {
        match v {
            Some(p) => last = Some(*p),
            None => *v = last,
        }
    }
    if let Some(first) = series.iter().flatten().next().copied() {
        for v in series.iter_mut() {
            if v.is_some() {
                break;
            }
            *v = Some(first);
        }
    }
}

/// Fills the missing keypoints per the contract; returns the number of present (frame, keypoint) pairs.
fn fill_missing(s: &mut Scratch) -> usize {
    let mut present = 0;
    for k in 0..NUM_KEYPOINTS {
        let mut series: [Option<Point3<f64>>; WINDOW_FRAMES] = [None; WINDOW_FRAMES];
        for (f, slot) in series.iter_mut().enumerate() {
            if s.present[f][k] {
                *slot = Some(s.points[f][k]);
                present += 1;
            }
        }
        fill_series(&mut series);
        for (f, filled) in series.iter().enumerate() {
            s.points[f][k] = match filled {
                Some(p) => *p,
                None => s.torso[f].unwrap_or_else(Point3::origin),
            };
        }
    }
    present
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::Keypoint;

    const TORSO: usize = feature_layout::TORSO.start;
    const VIS: usize = feature_layout::VISIBILITY.start;

    /// A skeleton whose keypoint k sits at `base + (0.01·k, 0, 0.1·k)`; hips at base ± 0.1 y.
    fn skeleton(id: HumanId, base: Point3<f64>) -> HumanSkeleton {
        let mut kps = [Keypoint { position: Point3::origin(), confidence: 0.9 }; NUM_KEYPOINTS];
        for (k, kp) in kps.iter_mut().enumerate() {
            kp.position = base + Vector3::new(0.01 * k as f64, 0.0, 0.1 * k as f64);
        }
        kps[keypoint::LEFT_HIP].position = base + Vector3::new(0.0, 0.1, 0.9);
        kps[keypoint::RIGHT_HIP].position = base + Vector3::new(0.0, -0.1, 0.9);
        HumanSkeleton { id, keypoints: kps }
    }

    fn frame(stamp_ns: i64, humans: Vec<HumanSkeleton>) -> SkeletonFrame {
        SkeletonFrame { stamp: Stamp(stamp_ns), frame_id: "base_link".into(), humans }
    }

    fn at(window: &[f32], f: usize, i: usize) -> f32 {
        window[f * FEATURES_PER_FRAME + i]
    }

    fn pipeline() -> FeaturePipeline {
        FeaturePipeline::new(FeatureConfig::default()).expect("valid config")
    }

    /// Pushes a human at 30 Hz walking at `vel` [m/s] from `start` for `n` frames; returns the last stamp.
    fn walk(p: &mut FeaturePipeline, id: HumanId, start: Point3<f64>, vel: Vector3<f64>, n: usize) -> Stamp {
        let mut last = Stamp(0);
        for i in 0..n {
            let t = i as f64 / 30.0;
            last = Stamp::from_secs_f64(t);
            p.push(&frame(last.0, vec![skeleton(id, start + vel * t)]));
        }
        last
    }

    #[test]
    fn config_validation_and_unknown_keys() {
        assert!(FeatureConfig::default().validate().is_ok());
        let bad = FeatureConfig { max_humans: 0, ..FeatureConfig::default() };
        assert!(matches!(FeaturePipeline::new(bad), Err(FeatureError::InvalidConfig { field: "max_humans", .. })));
        let bad = FeatureConfig { eviction_timeout_s: f64::NAN, ..FeatureConfig::default() };
        assert!(bad.validate().is_err());
        let bad = FeatureConfig { history_capacity: 1, ..FeatureConfig::default() };
        assert!(bad.validate().is_err());
        assert!(serde_yaml::from_str::<FeatureConfig>("max_humans: 3\nmax_human: 4\n").is_err());
        let ok: FeatureConfig = serde_yaml::from_str("max_humans: 3\n").expect("parse");
        assert_eq!(ok.max_humans, 3);
    }

    #[test]
    fn stationary_human_window_is_centred_and_bearing_aligned() {
        let mut p = pipeline();
        let base = Point3::new(2.0, 2.0, 0.0);
        let last = walk(&mut p, 7, base, Vector3::zeros(), 40);
        let mut batch = FeatureBatch::with_capacity(4);
        assert_eq!(p.fill_batch(last, &mut batch), 1);
        let meta = batch.rows()[0];
        assert_eq!(meta.human_id, 7);
        assert!((meta.bearing_rad - std::f64::consts::FRAC_PI_4).abs() < 1e-12);
        assert!((meta.reference - Point3::new(2.0, 2.0, 0.9)).norm() < 1e-12);
        assert_eq!(meta.visible_fraction, 1.0);
        let w = batch.window(0).expect("row 0");
        assert_eq!(w.len(), WINDOW_LEN);
        for f in 0..WINDOW_FRAMES {
            // Torso feature: distance along +x (radial), nothing tangential.
            assert!((at(w, f, TORSO) - (8.0f64).sqrt() as f32).abs() < 1e-5);
            assert!(at(w, f, TORSO + 1).abs() < 1e-5);
            assert!((at(w, f, TORSO + 2) - 0.9).abs() < 1e-6);
            // Left hip at +0.1 y in the robot frame: rotated by -45°, relative to c.
            let lh = keypoint::LEFT_HIP * 3;
            let s = 0.1 / 2f64.sqrt();
            assert!((at(w, f, lh) - s as f32).abs() < 1e-6, "{}", at(w, f, lh));
            assert!((at(w, f, lh + 1) - s as f32).abs() < 1e-6);
            for k in 0..NUM_KEYPOINTS {
                assert_eq!(at(w, f, VIS + k), 1.0);
            }
        }
        let round = meta.to_robot_frame(&meta.to_model_frame(&Point3::new(1.0, -3.0, 0.5)));
        assert!((round - Point3::new(1.0, -3.0, 0.5)).norm() < 1e-12);
    }

    #[test]
    fn resampling_interpolates_by_stamp() {
        // Input at 20 Hz with a constant velocity: resampled torso features must lie on the line exactly.
        let mut p = pipeline();
        let v = Vector3::new(0.0, 1.0, 0.0);
        let start = Point3::new(3.0, 0.0, 0.0);
        let mut last = Stamp(0);
        for i in 0..=40 {
            let t = i as f64 / 20.0;
            last = Stamp::from_secs_f64(t);
            p.push(&frame(last.0, vec![skeleton(1, start + v * t)]));
        }
        let mut batch = FeatureBatch::with_capacity(1);
        assert_eq!(p.fill_batch(last, &mut batch), 1);
        let meta = batch.rows()[0];
        let w = batch.window(0).expect("row");
        for f in 0..WINDOW_FRAMES {
            let t = last.as_secs_f64() - sample_offset_ns(f) as f64 * 1e-9;
            let expected = meta.to_model_frame(&(start + v * t + Vector3::new(0.0, 0.0, 0.9)));
            let torso_rel = Vector3::new(
                f64::from(at(w, f, keypoint::LEFT_HIP * 3) + at(w, f, keypoint::RIGHT_HIP * 3)) / 2.0,
                f64::from(at(w, f, keypoint::LEFT_HIP * 3 + 1) + at(w, f, keypoint::RIGHT_HIP * 3 + 1)) / 2.0,
                f64::from(at(w, f, keypoint::LEFT_HIP * 3 + 2) + at(w, f, keypoint::RIGHT_HIP * 3 + 2)) / 2.0,
            );
            assert!((torso_rel - expected).norm() < 1e-5, "frame {f}: {torso_rel} vs {expected}");
        }
    }

    #[test]
    fn gap_longer_than_limit_is_not_interpolated() {
        let mut p = pipeline();
        let start = Point3::new(3.0, 0.0, 0.0);
        // Frames at 0 … 0.5 s, then a 0.4 s hole, then 0.9 … 1.2 s.
        let mut last = Stamp(0);
        for i in 0..=36 {
            if (16..27).contains(&i) {
                continue;
            }
            let t = i as f64 / 30.0;
            last = Stamp::from_secs_f64(t);
            p.push(&frame(last.0, vec![skeleton(1, start + Vector3::new(0.0, t, 0.0))]));
        }
        let mut batch = FeatureBatch::with_capacity(1);
        assert_eq!(p.fill_batch(last, &mut batch), 1);
        let w = batch.window(0).expect("row");
        let gap_frames: Vec<usize> = (0..WINDOW_FRAMES).filter(|&f| at(w, f, VIS) == 0.0).collect();
        // Window frame f is at raw frame f + 7 (30 Hz grid); raw frames 16..=26 are missing → f = 9..=19.
        assert_eq!(gap_frames, (9..=19).collect::<Vec<_>>());
        // Forward fill: missing frames repeat the last present value.
        for f in 9..=19 {
            assert_eq!(at(w, f, 0), at(w, 8, 0));
            assert_eq!(at(w, f, 1), at(w, 8, 1));
        }
    }

    #[test]
    fn missing_keypoints_forward_back_and_torso_filled() {
        let mut p = pipeline();
        let base = Point3::new(2.0, 0.0, 0.0);
        for i in 0..30 {
            let mut s = skeleton(1, base + Vector3::new(0.01 * i as f64, 0.0, 0.0));
            // Nose: only observed in frames 10..=14 → back-filled before, forward-filled after.
            if !(10..=14).contains(&i) {
                s.keypoints[keypoint::NOSE].confidence = 0.1;
            }
            // Left ear: never observed (NaN position with high confidence counts as missing too).
            s.keypoints[keypoint::LEFT_EAR].position = Point3::new(f64::NAN, 0.0, 0.0);
            p.push(&frame(Stamp::from_secs_f64(i as f64 / 30.0).0, vec![s]));
        }
        assert_eq!(p.stats().non_finite_keypoints, 30);
        let mut batch = FeatureBatch::with_capacity(1);
        assert_eq!(p.fill_batch(Stamp::from_secs_f64(29.0 / 30.0), &mut batch), 1);
        let w = batch.window(0).expect("row");
        for f in 0..WINDOW_FRAMES {
            let nose_present = (10..=14).contains(&f);
            assert_eq!(at(w, f, VIS + keypoint::NOSE), if nose_present { 1.0 } else { 0.0 }, "frame {f}");
            if f < 10 {
                assert_eq!(at(w, f, 0), at(w, 10, 0));
            }
            if f > 14 {
                assert_eq!(at(w, f, 0), at(w, 14, 0));
            }
            assert_eq!(at(w, f, VIS + keypoint::LEFT_EAR), 0.0);
            // Never observed → torso point of that frame, i.e. the hip midpoint.
            let e = keypoint::LEFT_EAR * 3;
            let lh = keypoint::LEFT_HIP * 3;
            let rh = keypoint::RIGHT_HIP * 3;
            for d in 0..3 {
                let mid = (at(w, f, lh + d) + at(w, f, rh + d)) / 2.0;
                assert!((at(w, f, e + d) - mid).abs() < 1e-6);
            }
        }
        let expected = (WINDOW_FRAMES * NUM_KEYPOINTS - 25 - 30) as f32 / (WINDOW_FRAMES * NUM_KEYPOINTS) as f32;
        assert!((batch.rows()[0].visible_fraction - expected).abs() < 1e-6);
        assert!(batch.as_slice().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn newest_frame_without_hip_is_skipped_and_one_hip_suffices() {
        let mut p = pipeline();
        let base = Point3::new(2.0, 0.0, 0.0);
        let mut s = skeleton(1, base);
        p.push(&frame(0, vec![s.clone()]));
        s.keypoints[keypoint::LEFT_HIP].confidence = 0.0;
        p.push(&frame(33_333_333, vec![s.clone()]));
        let mut batch = FeatureBatch::with_capacity(1);
        assert_eq!(p.fill_batch(Stamp(33_333_333), &mut batch), 1);
        assert!((batch.rows()[0].reference - Point3::new(2.0, -0.1, 0.9)).norm() < 1e-12);
        s.keypoints[keypoint::RIGHT_HIP].confidence = 0.0;
        p.push(&frame(66_666_667, vec![s]));
        assert_eq!(p.fill_batch(Stamp(66_666_667), &mut batch), 0);
        assert_eq!(p.stats().skipped_no_hip, 1);
        assert!(batch.is_empty());
    }

    #[test]
    fn duplicate_and_out_of_order_stamps_are_rejected_and_counted() {
        let mut p = pipeline();
        let s = skeleton(1, Point3::new(2.0, 0.0, 0.0));
        assert_eq!(p.push(&frame(100, vec![s.clone()])).accepted, 1);
        assert_eq!(p.push(&frame(100, vec![s.clone()])).rejected, 1);
        assert_eq!(p.push(&frame(50, vec![s.clone()])).rejected, 1);
        // The same id twice in one frame: the second is a duplicate.
        let r = p.push(&frame(200, vec![s.clone(), s.clone()]));
        assert_eq!((r.accepted, r.rejected), (1, 1));
        let st = p.stats();
        assert_eq!((st.rejected_duplicate, st.rejected_out_of_order, st.skeletons_accepted), (2, 1, 2));
        assert_eq!(p.newest_stamp(1), Some(Stamp(200)));
        // A jump back by more than the eviction timeout is a clock jump: the tracks start afresh.
        let later = Stamp::from_secs_f64(5.0).0;
        assert_eq!(p.push(&frame(later, vec![s.clone()])).accepted, 1);
        assert_eq!(p.push(&frame(later - 2_000_000_000, vec![s])).accepted, 1);
        assert_eq!(p.stats().clock_jumps, 1);
        assert_eq!(p.newest_stamp(1), Some(Stamp(later - 2_000_000_000)));
    }

    #[test]
    fn stale_humans_are_evicted_and_capacity_is_bounded() {
        let config = FeatureConfig { max_humans: 3, eviction_timeout_s: 0.5, ..FeatureConfig::default() };
        let mut p = FeaturePipeline::new(config).expect("config");
        let base = Point3::new(2.0, 0.0, 0.0);
        p.push(&frame(0, vec![skeleton(1, base), skeleton(2, base)]));
        p.push(&frame(400_000_000, vec![skeleton(2, base)]));
        assert_eq!(p.tracked_humans(), 2);
        p.push(&frame(600_000_000, vec![skeleton(2, base)]));
        assert!(!p.is_tracked(1) && p.is_tracked(2));
        assert_eq!(p.stats().evicted_timeout, 1);
        // A flood of new ids never holds more than max_humans tracks; the least recently seen goes first.
        for i in 0..1000u32 {
            p.push(&frame(700_000_000 + i64::from(i), vec![skeleton(100 + i, base)]));
            assert!(p.tracked_humans() <= 3);
        }
        assert!(p.is_tracked(1099) && p.is_tracked(1098) && p.is_tracked(1097) && !p.is_tracked(2));
        assert!(p.tracks.len() <= 3);
        assert_eq!(p.stats().evicted_capacity, 998);
    }

    #[test]
    fn history_is_bounded_and_short_history_can_be_required() {
        let config = FeatureConfig { history_capacity: 8, min_history_s: 0.5, ..FeatureConfig::default() };
        let mut p = FeaturePipeline::new(config).expect("config");
        let last = walk(&mut p, 1, Point3::new(2.0, 0.0, 0.0), Vector3::zeros(), 12);
        assert_eq!(p.tracks[0].history.len(), 8);
        let mut batch = FeatureBatch::with_capacity(1);
        // 8 frames at 30 Hz = 0.23 s < 0.5 s.
        assert_eq!(p.fill_batch(last, &mut batch), 0);
        assert_eq!(p.stats().skipped_short_history, 1);
    }

    #[test]
    fn short_history_is_back_filled() {
        let mut p = pipeline();
        let last = walk(&mut p, 1, Point3::new(2.0, 0.0, 0.0), Vector3::new(0.3, 0.0, 0.0), 5);
        let mut batch = FeatureBatch::with_capacity(1);
        assert_eq!(p.fill_batch(last, &mut batch), 1);
        let w = batch.window(0).expect("row");
        // Frames before the first observation (more than half a period earlier) are back-filled and invisible.
        assert_eq!(at(w, 0, VIS), 0.0);
        assert_eq!(at(w, 24, VIS), 0.0);
        assert_eq!(at(w, 25, VIS), 1.0);
        assert_eq!(at(w, 0, TORSO), at(w, 25, TORSO));
    }

    #[test]
    fn batch_reuse_does_not_reallocate_and_respects_max_rows() {
        let mut p = pipeline();
        let mut batch = FeatureBatch::with_capacity(2);
        let cap = batch.as_slice().as_ptr();
        for i in 0..60 {
            let stamp = Stamp::from_secs_f64(i as f64 / 30.0);
            let humans = (1..=3).map(|id| skeleton(id, Point3::new(2.0, f64::from(id), 0.0))).collect();
            p.push(&frame(stamp.0, humans));
            assert_eq!(p.fill_batch(stamp, &mut batch), 2);
            assert_eq!(batch.as_slice().len(), 2 * WINDOW_LEN);
            assert_eq!(batch.as_slice().as_ptr(), cap);
        }
        assert_eq!(p.stats().skipped_batch_full, 60);
        // Humans not in the newest frame are not in its batch.
        p.push(&frame(Stamp::from_secs_f64(2.0).0, vec![skeleton(3, Point3::new(2.0, 3.0, 0.0))]));
        assert_eq!(p.fill_batch(Stamp::from_secs_f64(2.0), &mut batch), 1);
        assert_eq!(batch.rows()[0].human_id, 3);
    }

    #[test]
    fn odometry_removes_the_robots_own_motion() {
        // A person standing 3 m ahead in odom, seen from a robot that drives at 1 m/s and turns at 0.5 rad/s.
        let person = Point3::new(3.0, 0.5, 0.0);
        let pose = |t: f64| Isometry2::new(nalgebra::Vector2::new(t, 0.2 * t), 0.5 * t);
        let (mut plain, mut compensated, mut still) = (pipeline(), pipeline(), pipeline());
        let mut last = Stamp(0);
        for i in 0..40 {
            let t = f64::from(i) / 30.0;
            last = Stamp::from_secs_f64(t);
            let seen = transform_planar(&pose(t).inverse(), &person);
            plain.push(&frame(last.0, vec![skeleton(1, seen)]));
            compensated.push_in(&frame(last.0, vec![skeleton(1, seen)]), &pose(t));
        }
        // The same person as a robot standing where this one is now sees it.
        let now = transform_planar(&pose(last.seconds_since(Stamp(0))).inverse(), &person);
        for i in 0..40 {
            still.push(&frame(Stamp::from_secs_f64(f64::from(i) / 30.0).0, vec![skeleton(1, now)]));
        }
        let (mut a, mut b, mut c) =
            (FeatureBatch::with_capacity(1), FeatureBatch::with_capacity(1), FeatureBatch::with_capacity(1));
        assert_eq!(plain.fill_batch(last, &mut a), 1);
        assert_eq!(compensated.fill_batch_in(last, &pose(last.seconds_since(Stamp(0))).inverse(), &mut b), 1);
        assert_eq!(still.fill_batch(last, &mut c), 1);
        let diff = |x: &FeatureBatch, y: &FeatureBatch| {
            x.as_slice().iter().zip(y.as_slice()).map(|(u, v)| (u - v).abs()).fold(0.0f32, f32::max)
        };
        // Skeletons here are not rotated with the person, so compare the torso track (translation only).
        let torso_track = |x: &FeatureBatch| {
            (0..WINDOW_FRAMES).map(|f| [at(x.as_slice(), f, TORSO), at(x.as_slice(), f, TORSO + 1)]).collect::<Vec<_>>()
        };
        let (tb, tc) = (torso_track(&b), torso_track(&c));
        for (u, v) in tb.iter().zip(&tc) {
            assert!((u[0] - v[0]).abs() < 1e-5 && (u[1] - v[1]).abs() < 1e-5, "{u:?} vs {v:?}");
        }
        // Without odometry the standing person seems to walk toward the robot (and around it).
        let ta = torso_track(&a);
        assert!((ta[0][0] - ta[WINDOW_FRAMES - 1][0]).abs() > 0.5, "{:?}", ta[0]);
        assert!(diff(&a, &c) > 0.5);
        // The reference point (and so the predictions) are in the robot frame of the newest capture.
        assert!((b.rows()[0].reference.xy() - c.rows()[0].reference.xy()).norm() < 1e-9);
    }

    #[test]
    fn future_positions_map_back_to_the_robot_frame() {
        let meta = RowMeta {
            human_id: 1,
            stamp: Stamp(0),
            reference: Point3::new(1.0, 1.0, 0.9),
            bearing_rad: std::f64::consts::FRAC_PI_4,
            visible_fraction: 1.0,
        };
        let mut future = vec![0.0f32; FUTURE_LEN];
        // Step 9, torso: 1 m radially outward.
        future[9 * NUM_PREDICTED_POINTS * 3] = 1.0;
        let pts = meta.future_to_robot_frame(&future).expect("valid");
        let s = 1.0 / 2f64.sqrt();
        assert!((pts[9][0] - Point3::new(1.0 + s, 1.0 + s, 0.9)).norm() < 1e-6);
        assert!((pts[0][1] - meta.reference).norm() < 1e-12);
        future[3] = f32::NAN;
        assert!(meta.future_to_robot_frame(&future).is_none());
        assert!(meta.future_to_robot_frame(&future[1..]).is_none());
    }
}
