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
//!
//! Files: `config.rs` (settings), `pipeline.rs` (tracks, input hygiene, batch building), `window.rs` (resampling
//! and filling of one window), `frame.rs` (robot frame ⇄ model frame). The types whose fields several of them
//! use are defined here.
//!
//! [`MODEL_RATE_HZ`]: crate::model::MODEL_RATE_HZ

use std::collections::VecDeque;

use nalgebra::{Point3, Vector3};

use crate::model::{WINDOW_FRAMES, WINDOW_LEN};
use crate::skeleton::{HumanId, NUM_KEYPOINTS};
use crate::time::Stamp;

mod config;
mod frame;
mod pipeline;
#[cfg(test)]
mod tests;
mod window;

pub use config::{FeatureConfig, FeatureError};
pub use frame::RowMeta;
pub use pipeline::{FeatureStats, PushSummary};
pub use window::sample_offset_ns;

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
