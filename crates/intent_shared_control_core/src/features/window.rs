//! One window: resampling of a track's history at the model rate, torso points, filling of missing keypoints.

use std::collections::VecDeque;

use nalgebra::Point3;

use super::{RawPose, Scratch};
use crate::model::{MODEL_RATE_HZ, WINDOW_FRAMES};
use crate::skeleton::{keypoint, NUM_KEYPOINTS};
use crate::time::Stamp;

/// Sample period of the model window [ns] (1/30 s, not an integer number of ns; see [`sample_offset_ns`]).
const SAMPLE_PERIOD_S: f64 = 1.0 / MODEL_RATE_HZ;

/// Offset of window frame `k` (0 = oldest) before the newest stamp \[ns\]: `round((29 − k) / 30 s)`.
pub fn sample_offset_ns(k: usize) -> i64 {
    let back = WINDOW_FRAMES.saturating_sub(1).saturating_sub(k) as f64;
    (back * SAMPLE_PERIOD_S * 1e9).round() as i64
}

/// Resamples every keypoint of `history` (ascending stamps) at the window's frame times ending at `newest`.
/// Walks the ring buffer in place: making it contiguous would move up to `history_capacity` poses per call.
pub(super) fn resample(history: &VecDeque<RawPose>, newest: Stamp, max_gap_ns: i64, s: &mut Scratch) {
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
pub(super) fn fill_torso(s: &mut Scratch) -> bool {
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
pub(super) fn fill_missing(s: &mut Scratch) -> usize {
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
