//! Ground-truth judging of commands, shared by the closed-loop simulator and the offline bag replay.
//!
//! Two questions, each on true keypoints (robot frame of the cycle), each person's true closing speed and,
//! when known, each person's true motion over the next second:
//! - **separation violation**: does the command approach a keypoint (`v_approach > min_speed`, rotation
//!   included) whose surface distance is below the *reference* `S_p(v_approach, v_h)`? The reference monitor
//!   stands for the physics (fixed parameters, independent of the controller's tuning: reaction 0.1 s, human
//!   uncertainty 0.1 m, otherwise the defaults and the robot's shape).
//! - **stop needed**: would the controller's *configured* chain have stopped the command had it known the truth
//!   (true positions now, no sensing delay, and a perfect forecast: the person's true torso and wrist positions
//!   over the horizon, fully confident)? With a known future that is the configured monitor
//!   ([`SeparationMonitor::limit`], every configured margin included: the reachable set of the true motion,
//!   `prediction_uncertainty_rate`, the stopping horizon) scaling the command to zero for that person. Without
//!   one (the end of a recording, a person the truth does not follow), a keypoint where the configured monitor
//!   admits no approach speed at the true closing speed (below its standstill speed) and the command does not
//!   clearly move away from it (`v_approach > −min_away_fraction · |v_q|`, robot moving faster than
//!   `min_speed`). Either way also an approached keypoint inside the configured stop zone
//!   (`stop_distance + hysteresis`). A `Stop` the configured chain would not have made with the truth is a
//!   **false stop**: the price of perception and prediction error, not of the configured margins. Stops that
//!   the reference physics would not need are reported separately.

use nalgebra::{Point2, Point3};

use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::safety::{
    HumanPoints, ObservedMotion, SeparationConfig, SeparationMonitor, ZoneConfig,
};
use intent_shared_control_core::skeleton::{keypoint as kp, NUM_KEYPOINTS};
use intent_shared_control_core::time::Stamp;
use intent_shared_control_core::twist::Twist;

/// Spacing of [`JudgedHuman::future`] \[s\] (the model's forecast step).
pub const FUTURE_STEP_S: f64 = 0.1;
/// Number of steps of [`JudgedHuman::future`] the judge uses (the model's horizon, 1 s).
pub const FUTURE_STEPS: usize = 10;

/// One person as the judge sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct JudgedHuman {
    /// True keypoints in the robot frame of the cycle (z up) \[m\].
    pub points: Vec<Point3<f64>>,
    /// True closing speed of the body toward the robot (robot motion removed), ≥ 0 [m/s].
    pub closing_speed: f64,
    /// True torso (hip midpoint), left and right wrist now, as a forecast names them (robot frame of the cycle).
    pub tracked: [Option<Point2<f64>>; 3],
    /// True torso, left and right wrist [`FUTURE_STEP_S`] · (k + 1) after the cycle, in the robot frame of the
    /// cycle (the robot's own later motion removed), for k = 0, 1, …; empty when the future is not known.
    pub future: Vec<[Point2<f64>; 3]>,
}

impl JudgedHuman {
    /// A person whose future is not known.
    pub fn present(points: Vec<Point3<f64>>, closing_speed: f64) -> Self {
        JudgedHuman { points, closing_speed, tracked: [None; 3], future: Vec::new() }
    }
}

/// The judge's answer for one command.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Reference `S_p` violated.
    pub violation: bool,
    /// The configured chain, knowing the truth, would have stopped the command.
    pub stop_needed: bool,
    /// Smallest surface distance to a keypoint approached faster than `min_speed` \[m\] (∞: none).
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

/// The reference physics: the defaults with reaction 0.1 s and human uncertainty 0.1 m, and the robot's body
/// (footprint, height, upper volume) of `configured`.
pub fn reference_separation(configured: &SeparationConfig) -> SeparationConfig {
    SeparationConfig {
        robot: configured.robot.clone(),
        robot_height: configured.robot_height,
        robot_upper: configured.robot_upper.clone(),
        reaction_time: 0.1,
        human_uncertainty: 0.1,
        ..SeparationConfig::default()
    }
}

impl Judge {
    /// A judge with the `reference` physics, the controller's `configured` separation and `zones`, counting
    /// approaches faster than `min_speed` [m/s].
    pub fn new(reference: SeparationConfig, configured: SeparationConfig, zones: ZoneConfig, min_speed: f64) -> Self {
        Judge {
            reference: SeparationMonitor::new(reference),
            configured: SeparationMonitor::new(configured),
            zones,
            min_speed,
        }
    }

    /// The reference monitor.
    pub fn reference(&self) -> &SeparationMonitor {
        &self.reference
    }

    /// Judges `twist` against `humans`.
    pub fn judge(&self, twist: &Twist, humans: &[JudgedHuman]) -> Verdict {
        let shape = self.configured.body();
        let zone_reach = self.zones.stop_distance + self.zones.hysteresis;
        let nearest =
            humans.iter().flat_map(|h| h.points.iter()).map(|p| shape.distance(p)).fold(f64::INFINITY, f64::min);
        let in_stop_zone = nearest < zone_reach;
        let mut v = Verdict { violation: false, stop_needed: false, min_distance_approaching: f64::INFINITY };
        for h in humans {
            if !h.points.is_empty() {
                v.stop_needed |= self.configured_stops_with_truth(twist, h);
            }
            for p in &h.points {
                let rel = shape.relation(twist, p);
                if rel.surface_speed <= self.min_speed {
                    continue;
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

    /// The configured monitor, given `h`'s true present (and, when known, true future as a fully confident
    /// forecast made now), scales `twist` to zero (ignores commands slower than `min_speed`, as the other
    /// questions do).
    fn configured_stops_with_truth(&self, twist: &Twist, h: &JudgedHuman) -> bool {
        if self.configured.body().max_point_speed(twist) <= self.min_speed {
            return false;
        }
        let now = Stamp(0);
        if h.future.is_empty() {
            let lag = 0.5 * self.configured.config().reach.velocity_window;
            return self.configured.limit(now, twist, &[h.monitor_points(lag)], &[], 0.0).scale == 0.0;
        }
        let mut probabilities = [0.0; intent_shared_control_core::model::NUM_INTENTS];
        probabilities[0] = 1.0;
        let forecast = HumanPrediction {
            human_id: 0,
            stamp: now,
            probabilities,
            confidence: 1.0,
            horizon_step: FUTURE_STEP_S,
            future: h
                .future
                .iter()
                .take(FUTURE_STEPS)
                // Torso and wrists on the floor: their planar distance (the judged future keeps no heights).
                .map(|s| s.map(|q| Point3::new(q.x, q.y, 0.0)))
                .collect(),
        };
        let lag = 0.5 * self.configured.config().reach.velocity_window;
        self.configured.limit(now, twist, &[h.monitor_points(lag)], &[&forecast], 0.0).scale == 0.0
    }
}

impl JudgedHuman {
    /// This person as the configured monitor would see them with perfect perception: the true points (arm
    /// points hanging from their shoulders when all 17 keypoints are given in COCO order) and, when the future
    /// is known, the true torso velocity, as a fit that is `lag` seconds old (the configured reachable set's
    /// margin for a fit over its window, half the window: a design margin of the chain, applied to the truth
    /// like every configured margin).
    pub fn monitor_points(&self, lag: f64) -> HumanPoints {
        let mut p = HumanPoints::current(0, self.points.clone());
        p.tracked = self.tracked;
        p.whole = self.points.len() == NUM_KEYPOINTS;
        if self.points.len() == NUM_KEYPOINTS {
            for (i, shoulder) in p.shoulders.iter_mut().enumerate() {
                *shoulder = match i {
                    kp::LEFT_ELBOW | kp::LEFT_WRIST => Some(Some((self.points[kp::LEFT_SHOULDER], 0.0))),
                    kp::RIGHT_ELBOW | kp::RIGHT_WRIST => Some(Some((self.points[kp::RIGHT_SHOULDER], 0.0))),
                    _ => None,
                };
            }
        }
        p.motion = match (self.tracked[0].or(self.points.first().map(|q| q.xy())), self.future.first()) {
            (Some(now), Some(next)) if self.tracked[0].is_some() => {
                Some(ObservedMotion { velocity: (next[0] - now) / FUTURE_STEP_S, lag })
            }
            // Only the closing speed is known: straight toward the robot's centre.
            (Some(now), _) => {
                let toward = (-now.coords).try_normalize(1e-9).unwrap_or(nalgebra::Vector2::new(-1.0, 0.0));
                Some(ObservedMotion { velocity: toward * self.closing_speed, lag })
            }
            _ => None,
        };
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge() -> Judge {
        let configured = SeparationConfig::default();
        Judge::new(reference_separation(&configured), configured, ZoneConfig::default(), 0.05)
    }

    fn at(x: f64, v_h: f64) -> JudgedHuman {
        JudgedHuman::present(vec![Point3::new(x, 0.0, 0.0)], v_h)
    }

    #[test]
    fn standing_person_ahead() {
        let j = judge();
        let slow = Twist::planar(0.2, 0.0, 0.0);
        // Surface distance 1.2 m: nothing needed.
        let far = j.judge(&slow, &[at(1.5, 0.0)]);
        assert!(!far.violation && !far.stop_needed);
        assert!((far.min_distance_approaching - 1.2).abs() < 1e-12);
        // 0.7 m: the configured chain (a person at rest who may start, 0.575 m/s + 2.5 m/s²) would only slow
        // down; no violation either.
        let mid = j.judge(&slow, &[at(1.0, 0.0)]);
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

    /// A person walking `vel` [m/s] from `(x, y)`: present point and true future (torso and both wrists on the
    /// body's path).
    fn walking(x: f64, y: f64, vel: [f64; 2]) -> JudgedHuman {
        let at = |t: f64| Point2::new(x + vel[0] * t, y + vel[1] * t);
        JudgedHuman {
            points: vec![Point3::new(x, y, 0.0)],
            closing_speed: 0.0,
            tracked: [Some(at(0.0)); 3],
            future: (1..=FUTURE_STEPS).map(|k| [at(k as f64 * FUTURE_STEP_S); 3]).collect(),
        }
    }

    #[test]
    fn a_known_future_decides_the_stop_as_the_configured_chain_would() {
        let j = judge();
        let cmd = Twist::planar(0.5, 0.0, 0.0);
        // Beside the path, 0.84 m from the surface: standing there needs no stop ...
        assert!(!j.judge(&cmd, &[walking(0.7, 0.9, [0.0, 0.0])]).stop_needed);
        // ... walking into the path does (the present alone would not say so: closing speed 0).
        assert!(!j.judge(&cmd, &[at_point(0.7, 0.9)]).stop_needed);
        assert!(j.judge(&cmd, &[walking(0.7, 0.9, [0.0, -1.5])]).stop_needed);
        // Walking away from a point where the present alone (0.3 m ahead, closing 0) calls for a stop: the
        // configured margins still stop it (the reachable set, the prediction uncertainty).
        assert!(j.judge(&Twist::planar(0.2, 0.0, 0.0), &[walking(0.6, 0.0, [1.0, 0.0])]).stop_needed);
        // Far ahead and leaving: nothing needed; backing off from a near person: nothing either.
        assert!(!j.judge(&cmd, &[walking(2.5, 0.0, [1.0, 0.0])]).stop_needed);
        assert!(!j.judge(&Twist::planar(-0.3, 0.0, 0.0), &[walking(0.6, 0.0, [-0.5, 0.0])]).stop_needed);
        // The verdict is the configured monitor's, given the truth as a confident forecast.
        let h = walking(1.0, 0.6, [0.0, -1.0]);
        let monitor = SeparationMonitor::new(SeparationConfig::default());
        for v in [0.1, 0.3, 0.6, 1.0] {
            let cmd = Twist::planar(v, 0.0, 0.0);
            assert_eq!(
                j.judge(&cmd, std::slice::from_ref(&h)).stop_needed,
                j.configured_stops_with_truth(&cmd, &h),
                "{v}"
            );
            let forecast = HumanPrediction {
                human_id: 0,
                stamp: Stamp(0),
                probabilities: [1.0, 0.0, 0.0, 0.0, 0.0],
                confidence: 1.0,
                horizon_step: FUTURE_STEP_S,
                future: h.future.iter().map(|s| s.map(|q| nalgebra::Point3::new(q.x, q.y, 0.0))).collect(),
            };
            let lag = 0.5 * monitor.config().reach.velocity_window;
            let r = monitor.limit(Stamp(0), &cmd, &[h.monitor_points(lag)], &[&forecast], 0.0);
            assert_eq!(j.judge(&cmd, std::slice::from_ref(&h)).stop_needed, r.scale == 0.0, "{v}");
        }
    }

    fn at_point(x: f64, y: f64) -> JudgedHuman {
        JudgedHuman::present(vec![Point3::new(x, y, 0.0)], 0.0)
    }

    #[test]
    fn a_fast_person_makes_the_stop_needed_farther_out() {
        let j = judge();
        let cmd = Twist::planar(0.3, 0.0, 0.0);
        assert!(!j.judge(&cmd, &[at(1.2, 0.0)]).stop_needed);
        assert!(j.judge(&cmd, &[at(1.0, 2.0)]).stop_needed);
        assert!(j.judge(&cmd, &[at(1.0, 2.0)]).violation);
    }
}
