//! The pipeline: per-human tracks, input hygiene and eviction, and the batch of windows per frame.

use std::collections::VecDeque;

use nalgebra::{Isometry2, Point3};
use serde::{Deserialize, Serialize};

use super::window::{fill_missing, fill_torso, resample};
use super::{rotate_by_minus_sc, FeatureBatch, FeatureConfig, FeatureError, FeaturePipeline, RawPose, RowMeta, Track};
use crate::model::{feature_layout, FEATURES_PER_FRAME, WINDOW_FRAMES, WINDOW_LEN};
use crate::planar::transform_planar;
use crate::skeleton::{HumanId, HumanSkeleton, SkeletonFrame, NUM_KEYPOINTS};
use crate::time::Stamp;

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
