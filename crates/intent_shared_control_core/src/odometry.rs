//! The robot's recent poses in its odometry frame (`odom ← base_link`, planar), looked up at any stamp.
//!
//! The intent model must see a person's track in a frame that does not move with the robot: a person standing
//! still in front of a robot driving at 1 m/s otherwise looks like a person walking toward it at 1 m/s. The
//! predictor node keeps the poses of `nav_msgs/Odometry` here and moves every skeleton capture into `odom` at
//! its capture stamp ([`crate::predictor::IntentPredictor::predict_in`]).
//!
//! Lookups interpolate between the two poses around the stamp (position linearly, heading along the shorter
//! arc). A stamp after the newest pose is extrapolated with the last two poses' velocity by at most
//! [`OdometryConfig::max_extrapolation_s`]; anything older than the history or further ahead is an error, as in
//! tf2 (no guessing where the robot was). Poses that are non-finite, repeated or older than the newest are
//! rejected and counted, except a stamp more than [`OdometryConfig::history_s`] before the newest: that is the
//! clock jumping back (a bag loop, a restarted simulator), and the history starts again from it. Odometry is
//! continuous by definition (REP 105), so a jump in position is not looked for.

use std::collections::VecDeque;

use nalgebra::{Isometry2, Vector2};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::time::Stamp;

/// Settings (YAML/JSON; unknown keys are errors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OdometryConfig {
    /// Poses older than this before the newest are dropped \[s\], > 0. Must cover the skeleton latency.
    pub history_s: f64,
    /// Longest extrapolation past the newest pose \[s\], ≥ 0 (odometry at 20 Hz needs 0.05).
    pub max_extrapolation_s: f64,
    /// Hard cap on kept poses, ≥ 2 (memory bound whatever the rate).
    pub capacity: usize,
}

impl Default for OdometryConfig {
    fn default() -> Self {
        OdometryConfig { history_s: 2.0, max_extrapolation_s: 0.1, capacity: 512 }
    }
}

/// Why a pose could not be given.
#[derive(Clone, Copy, Debug, Error, PartialEq)]
pub enum OdometryError {
    #[error("no odometry received yet")]
    Empty,
    #[error("stamp is {0:.3} s before the oldest odometry pose")]
    TooOld(f64),
    #[error("stamp is {0:.3} s after the newest odometry pose (more than the allowed extrapolation)")]
    TooNew(f64),
    #[error("invalid odometry config: {0}")]
    InvalidConfig(&'static str),
}

/// Counters of rejected poses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OdometryStats {
    pub accepted: u64,
    pub rejected_non_finite: u64,
    pub rejected_out_of_order: u64,
    /// Histories restarted by a stamp far before the newest.
    pub clock_jumps: u64,
}

/// Recent `odom ← base_link` poses; see the module docs.
#[derive(Clone, Debug)]
pub struct OdometryHistory {
    config: OdometryConfig,
    poses: VecDeque<(Stamp, Isometry2<f64>)>,
    stats: OdometryStats,
}

impl OdometryHistory {
    pub fn new(config: OdometryConfig) -> Result<Self, OdometryError> {
        if !(config.history_s.is_finite() && config.history_s > 0.0) {
            return Err(OdometryError::InvalidConfig("history_s must be > 0"));
        }
        if !(config.max_extrapolation_s.is_finite() && config.max_extrapolation_s >= 0.0) {
            return Err(OdometryError::InvalidConfig("max_extrapolation_s must be >= 0"));
        }
        if config.capacity < 2 {
            return Err(OdometryError::InvalidConfig("capacity must be >= 2"));
        }
        Ok(OdometryHistory { poses: VecDeque::with_capacity(config.capacity), config, stats: OdometryStats::default() })
    }

    pub fn stats(&self) -> OdometryStats {
        self.stats
    }

    /// Stamp of the newest pose.
    pub fn newest(&self) -> Option<Stamp> {
        self.poses.back().map(|p| p.0)
    }

    /// Forgets every pose (e.g. after a clock jump backwards).
    pub fn reset(&mut self) {
        self.poses.clear();
    }

    /// Adds the pose at `stamp`: position `(x, y)` \[m\] and heading `yaw` \[rad\] of base_link in odom. Returns
    /// false when rejected (non-finite, or not newer than the newest pose).
    pub fn push(&mut self, stamp: Stamp, x: f64, y: f64, yaw: f64) -> bool {
        if !(x.is_finite() && y.is_finite() && yaw.is_finite()) {
            self.stats.rejected_non_finite += 1;
            return false;
        }
        if self.newest().is_some_and(|n| n.seconds_since(stamp) > self.config.history_s) {
            self.poses.clear();
            self.stats.clock_jumps += 1;
        }
        if self.newest().is_some_and(|n| stamp <= n) {
            self.stats.rejected_out_of_order += 1;
            return false;
        }
        while self.poses.len() >= self.config.capacity
            || self.poses.front().is_some_and(|(t, _)| stamp.seconds_since(*t) > self.config.history_s)
        {
            self.poses.pop_front();
        }
        self.poses.push_back((stamp, Isometry2::new(Vector2::new(x, y), yaw)));
        self.stats.accepted += 1;
        true
    }

    /// `odom ← base_link` at `stamp`.
    pub fn at(&self, stamp: Stamp) -> Result<Isometry2<f64>, OdometryError> {
        let (Some(&(t0, first)), Some(&(tn, newest))) = (self.poses.front(), self.poses.back()) else {
            return Err(OdometryError::Empty);
        };
        if stamp < t0 {
            return Err(OdometryError::TooOld(t0.seconds_since(stamp)));
        }
        if stamp >= tn {
            let ahead = stamp.seconds_since(tn);
            if ahead > self.config.max_extrapolation_s {
                return Err(OdometryError::TooNew(ahead));
            }
            if ahead == 0.0 || self.poses.len() < 2 {
                return Ok(if self.poses.len() < 2 { first } else { newest });
            }
            let (tp, prev) = self.poses[self.poses.len() - 2];
            return Ok(blend(&prev, &newest, 1.0 + ahead / tn.seconds_since(tp)));
        }
        // First pose after `stamp` (exists: stamp < tn), and the one before it.
        let j = self.poses.partition_point(|(t, _)| *t <= stamp);
        let (ta, a) = self.poses[j - 1];
        let (tb, b) = self.poses[j];
        Ok(blend(&a, &b, stamp.seconds_since(ta) / tb.seconds_since(ta)))
    }
}

/// `a` + w·(`b` − `a`): position linearly, heading along the shorter arc (w > 1 extrapolates).
fn blend(a: &Isometry2<f64>, b: &Isometry2<f64>, w: f64) -> Isometry2<f64> {
    let dp = b.translation.vector - a.translation.vector;
    let dyaw = a.rotation.angle_to(&b.rotation);
    Isometry2::new(a.translation.vector + dp * w, a.rotation.angle() + dyaw * w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn history() -> OdometryHistory {
        OdometryHistory::new(OdometryConfig::default()).expect("valid config")
    }

    #[test]
    fn interpolates_and_extrapolates_a_little() {
        let mut h = history();
        assert_eq!(h.at(Stamp(0)), Err(OdometryError::Empty));
        for i in 0..=10 {
            let t = f64::from(i) * 0.05;
            assert!(h.push(Stamp::from_secs_f64(t), t, -0.5 * t, 0.2 * t));
        }
        let p = h.at(Stamp::from_secs_f64(0.123)).expect("inside");
        assert_relative_eq!(p.translation.vector.x, 0.123, epsilon = 1e-9);
        assert_relative_eq!(p.translation.vector.y, -0.0615, epsilon = 1e-9);
        assert_relative_eq!(p.rotation.angle(), 0.0246, epsilon = 1e-9);
        let ahead = h.at(Stamp::from_secs_f64(0.55)).expect("within the extrapolation");
        assert_relative_eq!(ahead.translation.vector.x, 0.55, epsilon = 1e-9);
        assert!(matches!(h.at(Stamp::from_secs_f64(0.7)), Err(OdometryError::TooNew(_))));
        assert!(matches!(h.at(Stamp::from_secs_f64(-0.1)), Err(OdometryError::TooOld(_))));
    }

    #[test]
    fn heading_is_interpolated_across_pi() {
        let mut h = history();
        h.push(Stamp::from_secs_f64(0.0), 0.0, 0.0, 3.1);
        h.push(Stamp::from_secs_f64(0.1), 0.0, 0.0, -3.1);
        let mid = h.at(Stamp::from_secs_f64(0.05)).expect("inside");
        assert!(mid.rotation.angle().abs() > 3.1, "{}", mid.rotation.angle());
    }

    #[test]
    fn bad_poses_are_rejected_and_memory_is_bounded() {
        let mut h = OdometryHistory::new(OdometryConfig { capacity: 8, ..OdometryConfig::default() }).expect("valid");
        assert!(h.push(Stamp(10), 0.0, 0.0, 0.0));
        assert!(!h.push(Stamp(10), 1.0, 0.0, 0.0));
        assert!(!h.push(Stamp(5), 1.0, 0.0, 0.0));
        assert!(!h.push(Stamp(20), f64::NAN, 0.0, 0.0));
        assert_eq!(
            h.stats(),
            OdometryStats { accepted: 1, rejected_non_finite: 1, rejected_out_of_order: 2, clock_jumps: 0 }
        );
        for i in 1..100 {
            h.push(Stamp(10 + i * 1_000_000), 0.0, 0.0, 0.0);
        }
        assert_eq!(h.poses.len(), 8);
        // Poses beyond `history_s` go too.
        h.push(Stamp::from_secs_f64(10.0), 0.0, 0.0, 0.0);
        assert_eq!(h.poses.len(), 1);
        // A clock jump back restarts the history.
        assert!(h.push(Stamp::from_secs_f64(5.0), 1.0, 0.0, 0.0));
        assert_eq!(h.stats().clock_jumps, 1);
        assert_eq!(h.newest(), Some(Stamp::from_secs_f64(5.0)));
        assert!(OdometryHistory::new(OdometryConfig { capacity: 1, ..OdometryConfig::default() }).is_err());
        assert!(OdometryHistory::new(OdometryConfig { history_s: f64::NAN, ..OdometryConfig::default() }).is_err());
    }
}
