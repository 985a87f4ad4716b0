//! Speed and separation monitoring (ISO/TS 15066, clause 5.5.4), evaluated on current and predicted keypoints.
//!
//! Protective separation distance for a robot approaching at `v_r` and a human approaching at `v_h`:
//!
//! ```text
//! S_p = S_h + S_r + S_s + C + Z_d + Z_r
//! S_h = v_h · (T_r + T_s)        human motion while the robot reacts and stops
//! S_r = v_r · T_r                robot motion during the reaction time
//! S_s = v_r² / (2 · a_s)         robot stopping distance at braking deceleration a_s, T_s = v_r / a_s
//! ```
//!
//! `C` is the intrusion distance, `Z_d` / `Z_r` the position uncertainties of human and robot. Solving
//! `S_p(v_r) = d` for `v_r` gives the highest admissible approach speed toward a point at distance `d`:
//!
//! ```text
//! D = d − v_h·T_r − C − Z_d − Z_r,   B = T_r + v_h / a_s
//! v_max = a_s · (−B + √(B² + 2·D / a_s))   (0 when D ≤ 0)
//! ```
//!
//! Human speed `v_h`:
//! - with a fresh prediction of confidence ≥ `min_confidence`: the largest predicted closing speed of the
//!   human's predicted points over the horizon, `max_k (d_now − d_k) / τ_k + prediction_uncertainty_rate` over
//!   the look-aheads `τ_k ≥ closing_speed_min_lookahead` (over a shorter one, keypoint noise and forecast error
//!   pass for speed: 3 cm over 0.1 s reads as 0.3 m/s), at least `min_human_speed`; every predicted point up to the command's stopping horizon is also checked as an
//!   obstacle of its own, at distance `d_k − prediction_uncertainty_rate · τ_k` with `v_h = 0` (its motion is
//!   already in its position). The stopping horizon is `T_r + v_max / a_s + prediction_time_margin`, `v_max`
//!   the fastest point of the robot under the command: where the person will be after the robot could have
//!   stopped does not bear on this command (the next cycles check their own commands against it);
//! - otherwise the standard's conservative speed: 2.0 m/s when the human is within 0.5 m, 1.6 m/s beyond
//!   (`human_speed_near`, `near_distance`, `human_speed_far`).
//!
//! Current keypoints are `observation_age` old when the cycle runs; every current distance is reduced by
//! `v_h · observation_age` (the sensing latency is part of the human's travel, not hidden in `T_r`).
//! Admissible speeds below `standstill_speed` count as 0, so the robot stops instead of creeping ever closer.
//! The command is scaled as a whole (direction kept) by `min(1, v_max / v_approach)` over every point it
//! approaches. A current keypoint already inside `S_p(0, v_h)` (no admissible approach speed at all) stops
//! every motion except one clearly away from it: `v_approach ≤ −min_away_fraction · |v_q|`, `v_q` the velocity
//! of the robot's nearest surface point (a person closing in on the side of a moving robot makes it stop; the
//! robot may back off). Otherwise a command that does not approach a point is never limited by it.

use nalgebra::Point2;
use serde::{Deserialize, Serialize};

use super::geometry::RobotShape;
use crate::prediction::HumanPrediction;
use crate::skeleton::HumanId;
use crate::time::Stamp;
use crate::twist::Twist;

/// Parameters of speed and separation monitoring. Units in the field docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeparationConfig {
    /// Robot extent in the horizontal plane.
    pub robot: RobotShape,
    /// Reaction time `T_r` of the robot system (sensing to braking onset: perception, control cycle, drive) [s].
    pub reaction_time: f64,
    /// Guaranteed braking deceleration `a_s` [m/s²].
    pub braking_deceleration: f64,
    /// Intrusion distance `C` [m].
    pub intrusion_distance: f64,
    /// Human position uncertainty `Z_d` [m]: keypoint noise plus the body's extent beyond its joints (keypoints
    /// are joint centres; the body surface lies up to ~0.15 m further out).
    pub human_uncertainty: f64,
    /// Robot position uncertainty `Z_r` [m].
    pub robot_uncertainty: f64,
    /// Conservative human speed beyond `near_distance` [m/s] (ISO 13855: 1.6).
    pub human_speed_far: f64,
    /// Conservative human speed within `near_distance` [m/s] (ISO 13855: 2.0).
    pub human_speed_near: f64,
    /// Distance below which `human_speed_near` applies [m] (ISO 13855: 0.5).
    pub near_distance: f64,
    /// A prediction is used only when its confidence is at least this [0, 1].
    pub min_confidence: f64,
    /// Lowest human speed assumed from a prediction [m/s].
    pub min_human_speed: f64,
    /// Growth of the predicted-position uncertainty with look-ahead time [m/s].
    pub prediction_uncertainty_rate: f64,
    /// The predicted closing speed is taken over look-aheads of at least this [s] (≥ 0; every predicted point is
    /// still checked as an obstacle of its own).
    pub closing_speed_min_lookahead: f64,
    /// Predicted points are checked up to the command's stopping time plus this [s] (one prediction step by
    /// default: the forecast is sampled every 0.1 s).
    pub prediction_time_margin: f64,
    /// Admissible approach speeds below this become 0 (standstill instead of an endless creep) [m/s].
    pub standstill_speed: f64,
    /// Inside `S_p(0, v_h)` of a current keypoint, a command counts as moving away only with at least this
    /// share of its surface speed away from the point [0, 1].
    pub min_away_fraction: f64,
}

impl Default for SeparationConfig {
    fn default() -> Self {
        SeparationConfig {
            robot: RobotShape::default(),
            reaction_time: 0.15,
            braking_deceleration: 1.5,
            intrusion_distance: 0.1,
            human_uncertainty: 0.2,
            robot_uncertainty: 0.05,
            human_speed_far: 1.6,
            human_speed_near: 2.0,
            near_distance: 0.5,
            min_confidence: 0.6,
            min_human_speed: 0.3,
            prediction_uncertainty_rate: 0.3,
            closing_speed_min_lookahead: 0.3,
            prediction_time_margin: 0.1,
            standstill_speed: 0.02,
            min_away_fraction: 0.3,
        }
    }
}

/// Observed keypoints of one human, projected on the horizontal plane of the robot frame [m].
#[derive(Clone, Debug, PartialEq)]
pub struct HumanPoints {
    pub id: HumanId,
    pub points: Vec<Point2<f64>>,
    /// Extra uncertainty of these points [m], subtracted from every distance: 0 for a human in the current
    /// frame, `occlusion_speed · age` for one remembered after it left the view.
    pub inflation: f64,
    /// The observed positions of the keypoints a prediction forecasts, in its order (torso = hip midpoint, left
    /// wrist, right wrist), when observed: the predicted closing speed compares each with its own forecast.
    pub tracked: [Option<Point2<f64>>; 3],
    /// Where a hidden hand may be: `(anchor, reach)`, the hand anywhere within `reach` [m] of the visible
    /// `anchor` (elbow or shoulder of an arm whose wrist is not seen).
    pub reach: Vec<(Point2<f64>, f64)>,
}

impl HumanPoints {
    /// Points of a human in the current frame.
    pub fn current(id: HumanId, points: Vec<Point2<f64>>) -> Self {
        HumanPoints { id, points, inflation: 0.0, tracked: [None; 3], reach: Vec::new() }
    }

    /// Applies `f` to every point (e.g. a change of frame).
    pub fn map_points(&mut self, f: impl Fn(Point2<f64>) -> Point2<f64>) {
        self.points.iter_mut().for_each(|p| *p = f(*p));
        self.tracked.iter_mut().flatten().for_each(|p| *p = f(*p));
        self.reach.iter_mut().for_each(|(p, _)| *p = f(*p));
    }

    /// Smallest surface distance of these points (and of the reach of hidden hands) to `shape`, inflation
    /// subtracted [m].
    pub fn distance(&self, shape: &RobotShape) -> f64 {
        let points = self.points.iter().map(|p| shape.closest(p).1);
        let reach = self.reach.iter().map(|(a, r)| shape.closest(a).1 - r);
        points.chain(reach).fold(f64::INFINITY, f64::min) - self.inflation
    }
}

/// Result of separation monitoring for one command.
#[derive(Clone, Debug, PartialEq)]
pub struct SeparationResult {
    /// The command after limiting.
    pub twist: Twist,
    /// Scale applied [0, 1].
    pub scale: f64,
    /// Nearest human (current keypoints) and its surface distance [m].
    pub nearest: Option<(HumanId, f64)>,
    /// `S_p` toward the nearest human at the limited command's approach speed [m].
    pub required_separation: f64,
    /// Human speed assumed for the nearest human [m/s].
    pub human_speed: f64,
    /// Humans whose prediction was used (fresh and confident).
    pub predictions_used: usize,
}

/// ISO/TS 15066 speed and separation monitor.
#[derive(Clone, Debug)]
pub struct SeparationMonitor {
    config: SeparationConfig,
}

impl SeparationMonitor {
    /// A monitor with `config` (validated by the controller's config).
    pub fn new(config: SeparationConfig) -> Self {
        SeparationMonitor { config }
    }

    /// The configuration.
    pub fn config(&self) -> &SeparationConfig {
        &self.config
    }

    /// `S_p` [m] for robot approach speed `v_r` [m/s] (negative counts as 0) and human speed `v_h` [m/s].
    pub fn required_separation(&self, v_r: f64, v_h: f64) -> f64 {
        let c = &self.config;
        let v_r = v_r.max(0.0);
        let t_s = v_r / c.braking_deceleration;
        v_h * (c.reaction_time + t_s)
            + v_r * c.reaction_time
            + v_r * v_r / (2.0 * c.braking_deceleration)
            + c.intrusion_distance
            + c.human_uncertainty
            + c.robot_uncertainty
    }

    /// Highest admissible approach speed [m/s] toward a point at surface distance `d` [m] for human speed `v_h`.
    pub fn max_approach_speed(&self, d: f64, v_h: f64) -> f64 {
        let c = &self.config;
        let a = c.braking_deceleration;
        let big_d = d - v_h * c.reaction_time - c.intrusion_distance - c.human_uncertainty - c.robot_uncertainty;
        // Written so that a NaN distance also gives 0 (stop), never a speed.
        if big_d.is_nan() || big_d <= 0.0 {
            return 0.0;
        }
        let b = c.reaction_time + v_h / a;
        (a * (-b + (b * b + 2.0 * big_d / a).sqrt())).max(0.0)
    }

    /// The standard's conservative human speed at surface distance `d` [m/s].
    pub fn conservative_human_speed(&self, d: f64) -> f64 {
        if d <= self.config.near_distance {
            self.config.human_speed_near
        } else {
            self.config.human_speed_far
        }
    }

    /// Limits `twist` against `humans` (current keypoints) and `predictions` (already validated; stale ones
    /// filtered out by the caller) at `now`.
    /// `observation_age` is how old the current keypoints are [s] (now − skeleton stamp, ≥ 0); the human may
    /// have moved `v_h · observation_age` toward the robot since, which is taken off every current distance.
    pub fn limit(
        &self,
        now: Stamp,
        twist: &Twist,
        humans: &[HumanPoints],
        predictions: &[&HumanPrediction],
        observation_age: f64,
    ) -> SeparationResult {
        let age = if observation_age.is_finite() { observation_age.max(0.0) } else { 0.0 };
        let c = &self.config;
        let shape = &c.robot;
        let mut scale: f64 = 1.0;
        let mut nearest: Option<(HumanId, f64, Point2<f64>, f64)> = None;
        let mut used = 0;
        // `d_override`: a predicted point's distance (uncertainty already taken off); only current points stop
        // sideways motion inside `S_p(0, v_h)`.
        let limit_point = |p: &Point2<f64>, d_override: Option<f64>, inflation: f64, v_h: f64, scale: &mut f64| {
            let rel = shape.relation(twist, p);
            let d = match d_override {
                Some(d) => d,
                None => rel.distance - inflation,
            };
            if rel.approach_speed <= 0.0 && (d_override.is_some() || rel.surface_speed <= 1e-9) {
                return;
            }
            let v_max = self.max_approach_speed(d, v_h);
            let v_max = if v_max < c.standstill_speed { 0.0 } else { v_max };
            if rel.approach_speed > v_max {
                *scale = scale.min(v_max / rel.approach_speed);
            } else if v_max == 0.0 && rel.approach_speed > -c.min_away_fraction * rel.surface_speed {
                *scale = 0.0;
            }
        };
        let mut predicted_ids = Vec::new();
        let horizon =
            c.reaction_time + shape.max_point_speed(twist) / c.braking_deceleration + c.prediction_time_margin;
        for h in humans {
            let d_now = h.distance(shape);
            if !d_now.is_finite() {
                continue;
            }
            let pred = predictions.iter().find(|p| p.human_id == h.id && f64::from(p.confidence) >= c.min_confidence);
            let v_h = match pred {
                Some(p) => {
                    used += 1;
                    predicted_ids.push(h.id);
                    self.predicted_human_speed(now, d_now, h, p)
                }
                None => self.conservative_human_speed(d_now),
            };
            for p in &h.points {
                limit_point(p, None, h.inflation + v_h * age, v_h, &mut scale);
            }
            for (a, r) in &h.reach {
                limit_point(a, None, h.inflation + r + v_h * age, v_h, &mut scale);
            }
            if let Some(p) = pred {
                self.for_each_predicted_point(now, horizon, p, |q, d| limit_point(q, Some(d), 0.0, 0.0, &mut scale));
            }
            let closest =
                h.points.iter().map(|p| (*p, shape.closest(p).1 - h.inflation)).min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((p, d)) = closest {
                if nearest.is_none_or(|n| d < n.1) {
                    nearest = Some((h.id, d, p, v_h));
                }
            }
        }
        // Confident predictions of humans not (or no longer) in the current frame still count as obstacles.
        for p in predictions {
            if f64::from(p.confidence) >= c.min_confidence && !predicted_ids.contains(&p.human_id) {
                self.for_each_predicted_point(now, horizon, p, |q, d| limit_point(q, Some(d), 0.0, 0.0, &mut scale));
            }
        }
        let scale = if scale.is_finite() { scale.clamp(0.0, 1.0) } else { 0.0 };
        let limited = twist.scaled(scale);
        let (required_separation, human_speed) = match nearest {
            Some((_, _, p, v_h)) => (self.required_separation(shape.relation(&limited, &p).approach_speed, v_h), v_h),
            None => (0.0, 0.0),
        };
        SeparationResult {
            twist: limited,
            scale,
            nearest: nearest.map(|n| (n.0, n.1)),
            required_separation,
            human_speed,
            predictions_used: used,
        }
    }

    /// Largest predicted closing speed of a human [m/s] (see the module docs): per forecast keypoint, its
    /// observed distance now against its predicted distances; the human's nearest point `d_now` against the
    /// nearest forecast point when none of them is observed now.
    fn predicted_human_speed(&self, now: Stamp, d_now: f64, h: &HumanPoints, p: &HumanPrediction) -> f64 {
        let c = &self.config;
        let dist = |q: &Point2<f64>| c.robot.closest(q).1;
        let tracked: Vec<(usize, f64)> =
            h.tracked.iter().enumerate().filter_map(|(j, q)| Some((j, dist(q.as_ref()?)))).collect();
        let mut v: f64 = 0.0;
        for (k, step) in p.future.iter().enumerate() {
            let tau = p.step_time_from(k, now);
            if tau < c.closing_speed_min_lookahead.max(0.05) {
                continue;
            }
            if tracked.is_empty() {
                let d_k = step.iter().map(|q| dist(&q.xy())).fold(f64::INFINITY, f64::min);
                v = v.max((d_now - d_k) / tau);
            } else {
                for &(j, d_j) in &tracked {
                    if let Some(q) = step.get(j) {
                        v = v.max((d_j - dist(&q.xy())) / tau);
                    }
                }
            }
        }
        (v + c.prediction_uncertainty_rate).max(c.min_human_speed)
    }

    /// Calls `f(point, distance − uncertainty)` for every predicted point ahead of `now` by at most `horizon` [s].
    fn for_each_predicted_point(
        &self,
        now: Stamp,
        horizon: f64,
        p: &HumanPrediction,
        mut f: impl FnMut(&Point2<f64>, f64),
    ) {
        let c = &self.config;
        for (k, step) in p.future.iter().enumerate() {
            let tau = p.step_time_from(k, now);
            if tau <= 0.0 {
                continue;
            }
            if tau > horizon {
                break;
            }
            for q in step {
                let q = q.xy();
                let d = c.robot.closest(&q).1 - c.prediction_uncertainty_rate * tau;
                f(&q, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use nalgebra::Point3;

    fn human(id: HumanId, x: f64, y: f64) -> HumanPoints {
        HumanPoints::current(id, vec![Point2::new(x, y)])
    }

    #[test]
    fn max_speed_solves_the_separation_equation() {
        let m = SeparationMonitor::new(SeparationConfig::default());
        for d in [0.5, 1.0, 2.0, 5.0] {
            for v_h in [0.0, 1.6, 2.0] {
                let v = m.max_approach_speed(d, v_h);
                if v > 0.0 {
                    assert_relative_eq!(m.required_separation(v, v_h), d, epsilon = 1e-9);
                }
            }
        }
        // Formula with the defaults: S_p(1 m/s, 1.6 m/s) = 1.6·(0.15 + 1/1.5) + 0.15 + 1/3 + (0.1 + 0.2 + 0.05).
        assert_relative_eq!(m.required_separation(1.0, 1.6), 1.6 * (0.15 + 1.0 / 1.5) + 0.15 + 1.0 / 3.0 + 0.35);
        assert_eq!(m.max_approach_speed(0.5, 1.6), 0.0);
    }

    #[test]
    fn approach_is_limited_and_retreat_is_not() {
        let m = SeparationMonitor::new(SeparationConfig::default());
        let h = [human(1, 1.5, 0.0)];
        let toward = m.limit(Stamp(0), &Twist::planar(1.0, 0.0, 0.0), &h, &[], 0.0);
        assert!(toward.scale < 1.0);
        assert_relative_eq!(toward.twist.linear.x, m.max_approach_speed(1.2, 1.6), epsilon = 1e-9);
        assert_relative_eq!(toward.required_separation, 1.2, epsilon = 1e-9);
        assert!(toward.twist.linear.x > 0.1);
        let away = m.limit(Stamp(0), &Twist::planar(-1.0, 0.0, 0.0), &h, &[], 0.0);
        assert_eq!(away.scale, 1.0);
        assert_eq!(away.nearest, Some((1, 1.2)));
        // Inside the no-approach distance: approach is stopped, sideways-away still allowed.
        let close = [human(2, 0.6, 0.0)];
        assert_eq!(m.limit(Stamp(0), &Twist::planar(0.5, 0.0, 0.0), &close, &[], 0.0).scale, 0.0);
        assert_eq!(m.limit(Stamp(0), &Twist::planar(-0.2, 0.3, 0.0), &close, &[], 0.0).scale, 1.0);
        // ... but sliding past (mostly sideways) is not moving away: stopped.
        assert_eq!(m.limit(Stamp(0), &Twist::planar(-0.05, 0.5, 0.0), &close, &[], 0.0).scale, 0.0);
        // Someone close beside the path of a robot driving forward: stopped; farther out, not limited.
        let beside = [human(3, 0.0, 0.8)];
        assert_eq!(m.limit(Stamp(0), &Twist::planar(0.5, 0.0, 0.0), &beside, &[], 0.0).scale, 0.0);
        let beside_far = [human(3, 0.0, 1.5)];
        assert_eq!(m.limit(Stamp(0), &Twist::planar(0.5, 0.0, 0.0), &beside_far, &[], 0.0).scale, 1.0);
        // Standing still is never limited.
        assert_eq!(m.limit(Stamp(0), &Twist::ZERO, &close, &[], 0.0).scale, 1.0);
    }

    #[test]
    fn conservative_speed_is_faster_near() {
        let m = SeparationMonitor::new(SeparationConfig::default());
        assert_eq!(m.conservative_human_speed(0.4), 2.0);
        assert_eq!(m.conservative_human_speed(0.6), 1.6);
    }

    fn prediction(id: HumanId, from: [f64; 2], vel: [f64; 2], confidence: f32) -> HumanPrediction {
        let future = (1..=10)
            .map(|k| {
                let t = k as f64 * 0.1;
                let p = Point3::new(from[0] + vel[0] * t, from[1] + vel[1] * t, 1.0);
                [p, p, p]
            })
            .collect();
        HumanPrediction {
            human_id: id,
            stamp: Stamp(0),
            probabilities: [0.2; 5],
            confidence,
            horizon_step: 0.1,
            future,
        }
    }

    #[test]
    fn confident_slow_prediction_allows_more_speed_than_the_fallback() {
        let m = SeparationMonitor::new(SeparationConfig::default());
        let h = [human(1, 1.5, 0.0)];
        let cmd = Twist::planar(1.0, 0.0, 0.0);
        let fallback = m.limit(Stamp(0), &cmd, &h, &[], 0.0);
        assert!(fallback.scale < 0.6);
        let standing = prediction(1, [1.5, 0.0], [0.0, 0.0], 0.9);
        let with_pred = m.limit(Stamp(0), &cmd, &h, &[&standing], 0.0);
        assert!(with_pred.scale > fallback.scale, "{} vs {}", with_pred.scale, fallback.scale);
        assert_eq!(with_pred.predictions_used, 1);
        assert_relative_eq!(with_pred.human_speed, 0.3);
        // Low confidence: falls back to 1.6 m/s.
        let unsure = prediction(1, [1.5, 0.0], [0.0, 0.0], 0.3);
        assert_eq!(m.limit(Stamp(0), &cmd, &h, &[&unsure], 0.0).scale, fallback.scale);
    }

    #[test]
    fn predicted_crossing_in_front_slows_the_robot() {
        let m = SeparationMonitor::new(SeparationConfig::default());
        // Human at the side walking across the robot's path at 1.5 m/s.
        let h = [human(1, 1.0, 1.5)];
        let crossing = prediction(1, [1.0, 1.5], [0.0, -1.5], 0.9);
        let cmd = Twist::planar(1.0, 0.0, 0.0);
        let r = m.limit(Stamp(0), &cmd, &h, &[&crossing], 0.0);
        let static_h = prediction(1, [1.0, 1.5], [0.0, 0.0], 0.9);
        let r_static = m.limit(Stamp(0), &cmd, &h, &[&static_h], 0.0);
        assert!(r.scale < r_static.scale);
    }
}
