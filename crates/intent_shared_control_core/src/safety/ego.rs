//! Ego-motion compensation: observations stamped at `s` in the robot frame *at `s`* are moved into the robot
//! frame *now*, using the robot's own motion since `s`.
//!
//! Skeletons arrive in the robot frame at their capture time; predictions are expressed in that same frame. By
//! the time a cycle uses them the robot may have moved (a 30 Hz skeleton stream is up to 33 ms old between
//! frames; a prediction made every third frame up to 100 ms; a remembered, occluded person up to a second). At
//! 1 m/s that is 3–10 cm, or more when turning — distances the separation monitor would otherwise get wrong in
//! the unsafe direction. The motion is dead-reckoned from the commands the chain itself sent (each output held
//! until the next cycle), which is what the drive executes within its own acceleration limits; the difference to
//! the true motion is the drive's tracking error, which the robot position uncertainty `Z_r` covers.

use std::collections::VecDeque;

use nalgebra::{Isometry2, Point2};

use crate::planar::planar_motion;
use crate::time::Stamp;
use crate::twist::Twist;

/// History of the commands sent, for [`EgoMotion::since`].
#[derive(Clone, Debug)]
pub struct EgoMotion {
    /// `(stamp, command)`: the command held from `stamp` until the next entry (or now), oldest first.
    history: VecDeque<(Stamp, Twist)>,
    /// Entries older than this before the newest are dropped [s].
    keep: f64,
}

impl EgoMotion {
    /// An empty history (robot at rest) that keeps `keep` seconds.
    pub fn new(keep: f64) -> Self {
        EgoMotion { history: VecDeque::new(), keep }
    }

    /// Records that `command` is sent at `stamp` (held until the next record). Stamps going backwards clear the
    /// history (the clock was reset; nothing before it can be trusted).
    pub fn record(&mut self, stamp: Stamp, command: Twist) {
        if self.history.back().is_some_and(|(s, _)| *s > stamp) {
            self.history.clear();
        }
        let planar = Twist::planar(command.linear.x, command.linear.y, command.angular.z);
        let planar = if planar.is_finite() { planar } else { Twist::ZERO };
        self.history.push_back((stamp, planar));
        // Keep the newest entry that starts at or before `stamp − keep`: it covers the start of the window.
        while self.history.len() > 1 && stamp.seconds_since(self.history[1].0) >= self.keep {
            self.history.pop_front();
        }
    }

    /// Takes over `other`'s history, kept from now on for this one's duration.
    pub fn continue_from(&mut self, other: &EgoMotion) {
        self.history = other.history.clone();
    }

    /// Forgets the history (robot at rest).
    pub fn clear(&mut self) {
        self.history.clear();
    }

    /// The robot's pose at `to` in its frame at `from` (identity when `to ≤ from`). Before the first record the
    /// robot is taken to be at rest.
    pub fn since(&self, from: Stamp, to: Stamp) -> Isometry2<f64> {
        let mut pose = Isometry2::identity();
        if to <= from {
            return pose;
        }
        // The last entry starting at or before `from` is the first one that matters.
        let first = self.history.partition_point(|(s, _)| *s <= from).saturating_sub(1);
        for (i, (start, twist)) in self.history.iter().enumerate().skip(first) {
            if *start >= to {
                break;
            }
            let end = self.history.get(i + 1).map_or(to, |(s, _)| *s).min(to);
            let start = (*start).max(from);
            if end <= start {
                continue;
            }
            pose *= planar_motion(twist, end.seconds_since(start));
        }
        pose
    }

    /// `p`, observed in the robot frame at `from`, in the robot frame at `to`.
    pub fn to_current(&self, from: Stamp, to: Stamp, p: &Point2<f64>) -> Point2<f64> {
        self.since(from, to).inverse_transform_point(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn a_point_ahead_comes_closer_while_driving_toward_it() {
        let mut e = EgoMotion::new(2.0);
        e.record(Stamp::from_secs_f64(0.0), Twist::planar(1.0, 0.0, 0.0));
        e.record(Stamp::from_secs_f64(0.1), Twist::planar(0.5, 0.0, 0.0));
        let p = e.to_current(Stamp::from_secs_f64(0.05), Stamp::from_secs_f64(0.2), &Point2::new(2.0, 0.0));
        // 0.05 s at 1 m/s + 0.1 s at 0.5 m/s = 0.1 m.
        assert_relative_eq!(p, Point2::new(1.9, 0.0), epsilon = 1e-12);
        // A point to the left moves to the right side of the frame after turning left by 90°.
        let mut t = EgoMotion::new(2.0);
        t.record(Stamp::from_secs_f64(0.0), Twist::planar(0.0, 0.0, 1.0));
        let q = t.to_current(
            Stamp::from_secs_f64(0.0),
            Stamp::from_secs_f64(std::f64::consts::FRAC_PI_2),
            &Point2::new(0.0, 1.0),
        );
        assert_relative_eq!(q, Point2::new(1.0, 0.0), epsilon = 1e-9);
    }

    #[test]
    fn before_history_and_backwards_time_mean_no_motion() {
        let mut e = EgoMotion::new(1.0);
        assert_eq!(e.since(Stamp::from_secs_f64(0.0), Stamp::from_secs_f64(1.0)), Isometry2::identity());
        e.record(Stamp::from_secs_f64(1.0), Twist::planar(1.0, 0.0, 0.0));
        assert_eq!(e.since(Stamp::from_secs_f64(2.0), Stamp::from_secs_f64(1.5)), Isometry2::identity());
        // Motion only from the first record on.
        assert_relative_eq!(
            e.since(Stamp::from_secs_f64(0.0), Stamp::from_secs_f64(1.5)).translation.x,
            0.5,
            epsilon = 1e-12
        );
        // Clock reset: history cleared, the new command starts from rest.
        e.record(Stamp::from_secs_f64(0.2), Twist::planar(0.1, 0.0, 0.0));
        assert_relative_eq!(
            e.since(Stamp::from_secs_f64(0.0), Stamp::from_secs_f64(1.2)).translation.x,
            0.1,
            epsilon = 1e-12
        );
        // Non-finite commands count as no motion.
        e.record(Stamp::from_secs_f64(1.2), Twist::planar(f64::NAN, 0.0, 0.0));
        assert_relative_eq!(e.since(Stamp::from_secs_f64(1.2), Stamp::from_secs_f64(2.0)).translation.x, 0.0);
    }

    #[test]
    fn history_is_bounded_but_covers_the_window() {
        let mut e = EgoMotion::new(0.5);
        for k in 0..1000 {
            e.record(Stamp::from_secs_f64(k as f64 * 0.01), Twist::planar(1.0, 0.0, 0.0));
        }
        assert!(e.history.len() <= 52, "{}", e.history.len());
        let now = Stamp::from_secs_f64(9.99);
        assert_relative_eq!(e.since(now.add_secs(-0.5), now).translation.x, 0.5, epsilon = 1e-9);
    }
}
