//! Ground-truth judging of commands, shared by the closed-loop simulator and the offline bag replay.
//!
//! Two questions, each on true keypoints (robot frame of the cycle) and each person's true closing speed:
//! - **separation violation**: does the command approach a keypoint (`v_approach > min_speed`, rotation
//!   included) whose surface distance is below the *reference* `S_p(v_approach, v_h)`? The reference monitor
//!   stands for the physics (fixed parameters, independent of the controller's tuning: reaction 0.1 s, human
//!   uncertainty 0.1 m, otherwise the defaults and the robot's shape).
//! - **stop needed**: would the controller's *configured* chain have stopped the command had it known the truth
//!   (true positions now, true speeds, no sensing delay)? That is, a keypoint where the configured monitor
//!   admits no approach speed (below its standstill speed) and the command does not clearly move away from it
//!   (`v_approach > −min_away_fraction · |v_q|`, robot moving faster than `min_speed`), or an approached keypoint
//!   inside the configured stop zone (`stop_distance + hysteresis`). A `Stop` the configured chain would not have made with
//!   the truth is a **false stop**: the price of perception and prediction uncertainty, not of the configured
//!   margins. Stops that the reference physics would not need are reported separately.

use nalgebra::Point2;

use crate::safety::{RobotShape, SeparationConfig, SeparationMonitor, ZoneConfig};
use crate::twist::Twist;

/// One person as the judge sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct JudgedHuman {
    /// True keypoints in the robot frame of the cycle, horizontal plane [m].
    pub points: Vec<Point2<f64>>,
    /// True closing speed of the body toward the robot (robot motion removed), ≥ 0 [m/s].
    pub closing_speed: f64,
}

/// The judge's answer for one command.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Reference `S_p` violated.
    pub violation: bool,
    /// The configured chain, knowing the truth, would have stopped the command.
    pub stop_needed: bool,
    /// Smallest surface distance to a keypoint approached faster than `min_speed` [m] (∞: none).
    pub min_distance_approaching: f64,
}

/// Ground-truth judge; see the module docs.
#[derive(Clone, Debug)]
pub struct Judge {
    reference: SeparationMonitor,
    configured: SeparationMonitor,
    zones: ZoneConfig,
    min_speed: f64,
}

/// The reference physics: the defaults with reaction 0.1 s and human uncertainty 0.1 m, and `robot`.
pub fn reference_separation(robot: RobotShape) -> SeparationConfig {
    SeparationConfig { robot, reaction_time: 0.1, human_uncertainty: 0.1, ..SeparationConfig::default() }
}

impl Judge {
    /// A judge with the `reference` physics, the controller's `configured` separation and `zones`, counting
    /// approaches faster than `min_speed` [m/s].
    pub fn new(reference: SeparationConfig, configured: SeparationConfig, zones: ZoneConfig, min_speed: f64) -> Self {
        Judge { reference: SeparationMonitor::new(reference), configured: SeparationMonitor::new(configured), zones, min_speed }
    }

    /// The reference monitor.
    pub fn reference(&self) -> &SeparationMonitor {
        &self.reference
    }

    /// Judges `twist` against `humans`.
    pub fn judge(&self, twist: &Twist, humans: &[JudgedHuman]) -> Verdict {
        let shape = &self.configured.config().robot;
        let standstill = self.configured.config().standstill_speed;
        let away = self.configured.config().min_away_fraction;
        let zone_reach = self.zones.stop_distance + self.zones.hysteresis;
        let nearest = humans
            .iter()
            .flat_map(|h| h.points.iter())
            .map(|p| shape.closest(p).1)
            .fold(f64::INFINITY, f64::min);
        let in_stop_zone = nearest < zone_reach;
        let mut v = Verdict { violation: false, stop_needed: false, min_distance_approaching: f64::INFINITY };
        for h in humans {
            for p in &h.points {
                let rel = shape.relation(twist, p);
                if rel.surface_speed <= self.min_speed {
                    continue;
                }
                let admissible = self.configured.max_approach_speed(rel.distance, h.closing_speed);
                if admissible < standstill && rel.approach_speed > -away * rel.surface_speed {
                    v.stop_needed = true;
                }
                if rel.approach_speed <= self.min_speed {
                    continue;
                }
                v.min_distance_approaching = v.min_distance_approaching.min(rel.distance);
                if rel.distance < self.reference.required_separation(rel.approach_speed, h.closing_speed) {
                    v.violation = true;
                }
                if in_stop_zone && rel.distance < zone_reach {
                    v.stop_needed = true;
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge() -> Judge {
        let configured = SeparationConfig::default();
        Judge::new(reference_separation(configured.robot.clone()), configured, ZoneConfig::default(), 0.05)
    }

    fn at(x: f64, v_h: f64) -> JudgedHuman {
        JudgedHuman { points: vec![Point2::new(x, 0.0)], closing_speed: v_h }
    }

    #[test]
    fn standing_person_ahead() {
        let j = judge();
        let slow = Twist::planar(0.2, 0.0, 0.0);
        // Surface distance 1.2 m: nothing needed.
        let far = j.judge(&slow, &[at(1.5, 0.0)]);
        assert!(!far.violation && !far.stop_needed);
        assert!((far.min_distance_approaching - 1.2).abs() < 1e-12);
        // 0.45 m: the configured chain would only slow down (0.37 m/s admissible); no violation either.
        let mid = j.judge(&slow, &[at(0.75, 0.0)]);
        assert!(!mid.violation && !mid.stop_needed, "{mid:?}");
        // 0.3 m: inside the configured no-approach distance (0.35 m) but outside the reference one at 0.2 m/s
        // (0.25 m + 0.02 m + 0.013 m).
        let near = j.judge(&slow, &[at(0.6, 0.0)]);
        assert!(!near.violation && near.stop_needed, "{near:?}");
        // 0.2 m: both.
        let touch = j.judge(&slow, &[at(0.5, 0.0)]);
        assert!(touch.violation && touch.stop_needed);
    }

    #[test]
    fn moving_away_and_creeping_are_never_judged() {
        let j = judge();
        for twist in [Twist::planar(-0.5, 0.0, 0.0), Twist::planar(0.04, 0.0, 0.0), Twist::ZERO] {
            let v = j.judge(&twist, &[at(0.4, 1.0)]);
            assert!(!v.violation && !v.stop_needed, "{twist:?}");
        }
    }

    #[test]
    fn a_fast_person_makes_the_stop_needed_farther_out() {
        let j = judge();
        let cmd = Twist::planar(0.3, 0.0, 0.0);
        assert!(!j.judge(&cmd, &[at(0.9, 0.0)]).stop_needed);
        assert!(j.judge(&cmd, &[at(0.9, 2.0)]).stop_needed);
        assert!(j.judge(&cmd, &[at(1.0, 2.0)]).violation);
    }
}
