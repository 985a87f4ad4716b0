//! The monitor: `S_p`, admissible approach speeds and the limiting of one command (see the module docs of
//! [`super`]).

use nalgebra::{Point2, Point3, Vector2};

use super::{ArmAnchor, ClosingBound, HumanPoints, SeparationConfig};
use crate::prediction::HumanPrediction;
use crate::safety::geometry::RobotBody;
use crate::safety::reason::{Reason, StageOutcome};
use crate::skeleton::HumanId;
use crate::time::Stamp;
use crate::twist::Twist;

/// Result of separation monitoring for one command.
#[derive(Clone, Debug, PartialEq)]
pub struct SeparationResult {
    /// The command after limiting.
    pub twist: Twist,
    /// Scale applied [0, 1].
    pub scale: f64,
    /// Nearest human (current keypoints) and its surface distance \[m\].
    pub nearest: Option<(HumanId, f64)>,
    /// `S_p` toward the nearest human at the limited command's approach speed \[m\].
    pub required_separation: f64,
    /// Human speed assumed for the nearest human [m/s].
    pub human_speed: f64,
    /// Humans whose prediction was used (fresh and confident).
    pub predictions_used: usize,
    /// The command was not scaled as a whole: its turn was kept (see [`SeparationMonitor::limit`]).
    pub turn_kept: bool,
    /// The command was not scaled as a whole: it slides past the people it approached (see
    /// [`SeparationMonitor::limit`]).
    pub slid: bool,
    /// Horizontal unit directions from the robot toward the points that limited the command.
    limiting: Vec<Vector2<f64>>,
}

impl SeparationResult {
    /// The stage's outcome: `ssm_stop` (scaled to 0) or `ssm_slowdown`, `ssm_turn_kept`, and
    /// `ssm_conservative_human_speed` when fewer than `humans_in_view` had a prediction used.
    pub fn outcome(&self, humans_in_view: usize) -> StageOutcome {
        let mut reasons = Vec::new();
        if self.scale < 1.0 {
            reasons.push(if self.scale == 0.0 { Reason::SsmStop } else { Reason::SsmSlowdown });
        }
        if self.turn_kept {
            reasons.push(Reason::SsmTurnKept);
        }
        if self.slid {
            reasons.push(Reason::SsmSlidePast);
        }
        if self.predictions_used < humans_in_view {
            reasons.push(Reason::SsmConservativeHumanSpeed);
        }
        StageOutcome { twist: self.twist, scale: self.scale, reasons }
    }
}

/// ISO/TS 15066 speed and separation monitor.
#[derive(Clone, Debug)]
pub struct SeparationMonitor {
    config: SeparationConfig,
    body: RobotBody,
    /// Highest sideways speed of the platform [m/s]; 0: no sliding past (see [`SeparationMonitor::limit`]).
    lateral_speed: f64,
}

impl SeparationMonitor {
    /// A monitor with `config` (validated by the controller's config).
    pub fn new(config: SeparationConfig) -> Self {
        let body = config.body();
        SeparationMonitor { config, body, lateral_speed: 0.0 }
    }

    /// The same monitor on a platform that moves sideways at up to `speed` [m/s]: with
    /// [`SeparationConfig::slide_past`], a command that must slow down may slide past instead (see
    /// [`Self::limit`]). 0 (or a non-finite value): no sliding.
    pub fn with_lateral_speed(mut self, speed: f64) -> Self {
        self.lateral_speed = if speed.is_finite() && self.config.slide_past { speed.max(0.0) } else { 0.0 };
        self
    }

    /// The configuration.
    pub fn config(&self) -> &SeparationConfig {
        &self.config
    }

    /// The robot's body in 3-D.
    pub fn body(&self) -> &RobotBody {
        &self.body
    }

    /// `S_p` \[m\] for robot approach speed `v_r` \[m/s\] (negative counts as 0) and human speed `v_h` \[m/s\].
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

    /// Highest admissible approach speed \[m/s\] toward a point at surface distance `d` \[m\] for human speed `v_h`.
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

    /// `S_p` \[m\] for robot approach speed `v_r` \[m/s\] against a person closing in as `bound` allows, observed
    /// `age` seconds ago: `D(age + T_r + T_s) + v_r·T_r + v_r²/(2·a_s) + C + Z_d + Z_r`.
    pub fn required_separation_for(&self, v_r: f64, bound: &ClosingBound, age: f64) -> f64 {
        let c = &self.config;
        let v_r = v_r.max(0.0);
        let t_s = v_r / c.braking_deceleration;
        bound.distance(age.max(0.0) + c.reaction_time + t_s)
            + v_r * c.reaction_time
            + v_r * v_r / (2.0 * c.braking_deceleration)
            + c.intrusion_distance
            + c.human_uncertainty
            + c.robot_uncertainty
    }

    /// Highest admissible approach speed \[m/s\] toward a point at surface distance `d` \[m\] against `bound`,
    /// observed `age` seconds ago. A constant bound is solved in closed form; otherwise by bisection (`S_p` grows
    /// with `v_r`), to well below a millimetre per second.
    pub fn max_approach_speed_for(&self, d: f64, bound: &ClosingBound, age: f64) -> f64 {
        let age = age.max(0.0);
        if bound.is_constant() {
            let v_h = bound.initial.max(0.0);
            return self.max_approach_speed(d - v_h * age, v_h);
        }
        // Written so that a NaN distance also gives 0 (stop), never a speed.
        if d.is_nan() || self.required_separation_for(0.0, bound, age) >= d {
            return 0.0;
        }
        let mut hi = 1.0;
        while self.required_separation_for(hi, bound, age) < d {
            hi *= 2.0;
            if hi > 1e3 {
                return hi;
            }
        }
        let mut lo = 0.0;
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if self.required_separation_for(mid, bound, age) < d {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// How a person with `h`'s observation may close in on point `p` (one of `h.points`, `shoulder` its arm's
    /// shoulder for an arm point) at surface distance `d_now` of the person.
    fn closing_bound(
        &self,
        h: &HumanPoints,
        p: &Point3<f64>,
        shoulder: Option<Option<ArmAnchor>>,
        d_now: f64,
    ) -> ClosingBound {
        let c = &self.config;
        let r = &c.reach;
        let Some(m) = h.motion.filter(|_| r.enabled) else {
            return ClosingBound::constant(self.conservative_human_speed(d_now));
        };
        // The body's (horizontal) velocity along the direction from the point toward the robot; inside the
        // robot every direction counts.
        let along = match self.body.direction_to(p) {
            Some(d) => -(m.velocity.x * d.x + m.velocity.y * d.y),
            None => m.velocity.norm(),
        };
        let initial = along.max(0.0) + r.velocity_uncertainty + r.max_acceleration * m.lag.max(0.0);
        let extension = match shoulder {
            None => 0.0,
            Some(None) => r.arm_length,
            Some(Some((anchor, slack))) => (r.arm_length - ((p.xy() - anchor.xy()).norm() - slack).max(0.0)).max(0.0),
        };
        ClosingBound {
            initial,
            cap: r.max_speed.max(initial),
            acceleration: r.max_acceleration,
            extension,
            extension_speed: r.hand_speed,
        }
    }

    /// Limits `twist` against `humans` (current keypoints) and `predictions` (already validated; stale ones
    /// filtered out by the caller) at `now`.
    /// `observation_age` is how old the current keypoints are \[s\] (now − skeleton stamp, ≥ 0); the human's
    /// travel is counted from then.
    ///
    /// When the command as a whole must slow down or stop, on a platform that moves sideways (see
    /// [`Self::with_lateral_speed`]) it first tries to **slide past**: the linear part with its components
    /// toward the points that limited it taken out (the nearest point to it in the cone of motions that
    /// approach none of them, found exactly in the plane: the command itself, its projection on one limiting
    /// direction's normal, or zero), leaning away from the points it passes tangentially by [`SLIDE_LEAN`]
    /// where that approaches no other, the turn kept, scaled down uniformly to the platform's sideways speed. The
    /// candidate is checked by the same monitor; points it newly approaches join the limiting ones and the
    /// candidate is made again (at most [`SLIDE_ROUNDS`] times). It is taken when admitted unscaled and when it
    /// makes more progress along the asked direction than the scaled command (`slid` reports it). By
    /// construction it is never faster than asked and never more than 90° off the asked direction.
    ///
    /// Otherwise the turn it asks for is kept where that is admissible on its own: first the turn with the
    /// linear part scaled as the whole command would be, then the turn alone (each candidate checked by the
    /// same monitor; `turn_kept` reports it). A robot asked to turn away while creeping toward someone turns
    /// away instead of freezing.
    pub fn limit(
        &self,
        now: Stamp,
        twist: &Twist,
        humans: &[HumanPoints],
        predictions: &[&HumanPrediction],
        observation_age: f64,
    ) -> SeparationResult {
        self.limit_with(now, twist, humans, predictions, observation_age, true)
    }

    /// [`Self::limit`], with the slide-past candidate only when `slide` (the safety chain falls back to
    /// `false` when the drive's limits would bend a slide into a motion the monitor does not admit).
    pub fn limit_with(
        &self,
        now: Stamp,
        twist: &Twist,
        humans: &[HumanPoints],
        predictions: &[&HumanPrediction],
        observation_age: f64,
        slide: bool,
    ) -> SeparationResult {
        let whole = self.limit_scaled(now, twist, humans, predictions, observation_age);
        if whole.scale >= 1.0 {
            return whole;
        }
        if let Some(slid) =
            slide.then(|| self.slide(now, twist, &whole, humans, predictions, observation_age)).flatten()
        {
            return slid;
        }
        if twist.angular.z.abs() <= 1e-9 {
            return whole;
        }
        let linear_scaled = Twist { linear: twist.linear * whole.scale, ..*twist };
        let turn_only = Twist { linear: twist.linear * 0.0, ..*twist };
        for candidate in [linear_scaled, turn_only] {
            let r = self.limit_scaled(now, &candidate, humans, predictions, observation_age);
            if r.scale >= 1.0 {
                let full = self.body.max_point_speed(twist);
                let scale = if full > 0.0 { (self.body.max_point_speed(&candidate) / full).min(1.0) } else { 1.0 };
                return SeparationResult { scale, turn_kept: true, ..r };
            }
        }
        whole
    }

    /// True when the monitor lets `twist` through unscaled.
    pub fn admits(
        &self,
        now: Stamp,
        twist: &Twist,
        humans: &[HumanPoints],
        predictions: &[&HumanPrediction],
        observation_age: f64,
    ) -> bool {
        self.limit_scaled(now, twist, humans, predictions, observation_age).scale >= 1.0
    }

    /// The slide-past candidate of [`Self::limit`], when admitted and better than `whole`.
    fn slide(
        &self,
        now: Stamp,
        twist: &Twist,
        whole: &SeparationResult,
        humans: &[HumanPoints],
        predictions: &[&HumanPrediction],
        observation_age: f64,
    ) -> Option<SeparationResult> {
        let asked = twist.linear.xy();
        let speed = asked.norm();
        if self.lateral_speed <= 0.0
            || !speed.is_finite()
            || speed <= self.config.standstill_speed
            || twist.linear.z != 0.0
        {
            return None;
        }
        let mut limiting = whole.limiting.clone();
        for _ in 0..SLIDE_ROUNDS {
            let mut v = slide_velocity(&asked, &limiting);
            // Lean away from the points the slide passes tangentially: at the no-approach distance keypoint
            // noise then reads as moving away, not as an approach that stops the next cycle.
            let touching: Vector2<f64> =
                limiting.iter().filter(|n| v.dot(n).abs() <= 1e-9 * speed).fold(Vector2::zeros(), |a, n| a + n);
            if let (Some(t), Some(dir)) = (touching.try_normalize(1e-9), v.try_normalize(1e-9)) {
                let leaned = (dir - t * SLIDE_LEAN).normalize() * v.norm();
                if limiting.iter().all(|n| leaned.dot(n) <= 0.0) && leaned.dot(&asked) > 0.0 {
                    v = leaned;
                }
            }
            if v.y.abs() > self.lateral_speed {
                v *= self.lateral_speed / v.y.abs();
            }
            // Progress along the asked direction: more than the whole command scaled, and a real motion.
            let progress = v.dot(&asked) / speed;
            if progress <= whole.scale * speed || v.norm() < self.config.standstill_speed {
                return None;
            }
            let candidate = Twist { linear: nalgebra::Vector3::new(v.x, v.y, 0.0), ..*twist };
            let r = self.limit_scaled(now, &candidate, humans, predictions, observation_age);
            if r.scale >= 1.0 {
                let full = self.body.max_point_speed(twist);
                let scale = if full > 0.0 { (self.body.max_point_speed(&candidate) / full).min(1.0) } else { 1.0 };
                // A candidate as fast as the command still reports the change (the mode says slowdown).
                let scale = scale.min(1.0 - f64::EPSILON);
                return Some(SeparationResult { scale, slid: true, ..r });
            }
            let before = limiting.len();
            for n in r.limiting {
                if !limiting.iter().any(|m| (m - n).norm() < 1e-9) {
                    limiting.push(n);
                }
            }
            if limiting.len() == before {
                return None;
            }
        }
        None
    }

    /// [`Self::limit`] with the command scaled as a whole.
    fn limit_scaled(
        &self,
        now: Stamp,
        twist: &Twist,
        humans: &[HumanPoints],
        predictions: &[&HumanPrediction],
        observation_age: f64,
    ) -> SeparationResult {
        let age = if observation_age.is_finite() { observation_age.max(0.0) } else { 0.0 };
        let c = &self.config;
        let shape = &self.body;
        let mut lim = Limiting { scale: 1.0, directions: Vec::new() };
        let mut nearest: Option<(HumanId, f64, Point3<f64>, ClosingBound)> = None;
        let mut used = 0;
        // `d_override`: a predicted point's distance (uncertainty already taken off); only current points stop
        // sideways motion inside `S_p(0)`.
        // `whole`: the person is seen whole (a motion that approaches none of their points may go on inside
        // `S_p(0)`); otherwise only one clearly away from each point does.
        // `ball`: the radius of the region the point stands for in the approach test (a hidden hand anywhere within
        // its reach of the shoulder); a seen or remembered point is judged at its position.
        let limit_point = |p: &Point3<f64>,
                           d_override: Option<f64>,
                           inflation: f64,
                           ball: f64,
                           bound: &ClosingBound,
                           age: f64,
                           whole: bool,
                           lim: &mut Limiting| {
            let rel = ball_relation(shape, twist, p, ball);
            let d = match d_override {
                Some(d) => d,
                None => rel.distance - inflation,
            };
            let approaches = rel.approaches(&c.approach_tolerance);
            if !approaches && (whole || !shape.sweeps(twist)) {
                return;
            }
            if !approaches {
                // Seen in part: inside `S_p(0)` only a motion clearly away from the point goes on.
                let v_max = self.max_approach_speed_for(d, bound, age);
                if v_max < c.standstill_speed && rel.approach_speed > -c.partial_view_away_fraction * rel.surface_speed
                {
                    lim.cut(0.0, shape.direction_to(p));
                }
                return;
            }
            // The command's own approach speed is admissible: nothing to solve (the common case far from people).
            if rel.approach_speed >= c.standstill_speed
                && self.required_separation_for(rel.approach_speed, bound, age) <= d
                && d.is_finite()
            {
                return;
            }
            let v_max = self.max_approach_speed_for(d, bound, age);
            let v_max = if v_max < c.standstill_speed { 0.0 } else { v_max };
            if rel.approach_speed > v_max {
                lim.cut(v_max / rel.approach_speed, shape.direction_to(p));
            }
        };
        let still = ClosingBound::constant(0.0);
        let mut predicted_ids = Vec::new();
        let horizon =
            c.reaction_time + shape.max_point_speed(twist) / c.braking_deceleration + c.prediction_time_margin;
        for h in humans {
            let d_now = h.distance(shape);
            if !d_now.is_finite() {
                continue;
            }
            let pred = predictions.iter().find(|p| p.human_id == h.id && f64::from(p.confidence) >= c.min_confidence);
            // A forecast may only raise the closing speed.
            let forecast = match pred {
                Some(p) => {
                    used += 1;
                    predicted_ids.push(h.id);
                    self.predicted_human_speed(now, d_now, h, p)
                }
                None => 0.0,
            };
            let body = self.closing_bound(h, &Point3::origin(), None, d_now).at_least(forecast);
            // Motion that approaches none of this person's points goes on next to them only when they are seen
            // whole and not closing in (standing, swaying, leaving): the geometry then changes only by the
            // robot's own motion, which every cycle sees.
            let free = h.whole
                && self.body_closing_speed(h).is_some_and(|v| v <= c.not_closing_speed)
                && forecast <= c.prediction_uncertainty_rate + c.not_closing_speed;
            let mut closest: Option<(Point3<f64>, f64, ClosingBound)> = None;
            for (k, p) in h.points.iter().enumerate() {
                let bound = if h.motion.is_some() && c.reach.enabled {
                    self.closing_bound(h, p, h.shoulders.get(k).copied().flatten(), d_now).at_least(forecast)
                } else {
                    body
                };
                limit_point(p, None, h.inflation, 0.0, &bound, age, free, &mut lim);
                let d = shape.distance(p) - h.inflation;
                if closest.is_none_or(|(_, best, _)| d < best) {
                    closest = Some((*p, d, bound));
                }
            }
            for (a, r) in &h.reach {
                let bound = if h.motion.is_some() && c.reach.enabled {
                    self.closing_bound(h, a, None, d_now).at_least(forecast)
                } else {
                    body
                };
                limit_point(a, None, h.inflation + r, h.inflation + r, &bound, age, free, &mut lim);
            }
            if let Some(p) = pred {
                self.for_each_predicted_point(now, horizon, p, |q, d| {
                    limit_point(q, Some(d), 0.0, 0.0, &still, 0.0, true, &mut lim)
                });
            }
            if let Some((p, d, bound)) = closest {
                if nearest.is_none_or(|n| d < n.1) {
                    nearest = Some((h.id, d, p, bound));
                }
            }
        }
        // Confident predictions of humans not (or no longer) in the current frame still count as obstacles.
        for p in predictions {
            if f64::from(p.confidence) >= c.min_confidence && !predicted_ids.contains(&p.human_id) {
                self.for_each_predicted_point(now, horizon, p, |q, d| {
                    limit_point(q, Some(d), 0.0, 0.0, &still, 0.0, true, &mut lim)
                });
            }
        }
        let Limiting { scale, directions: limiting } = lim;
        let scale = if scale.is_finite() { scale.clamp(0.0, 1.0) } else { 0.0 };
        let limited = twist.scaled(scale);
        let (required_separation, human_speed) = match nearest {
            Some((_, _, p, bound)) => {
                let v_r = shape.relation(&limited, &p).approach_speed.max(0.0);
                let t = age + c.reaction_time + v_r / c.braking_deceleration;
                (self.required_separation_for(v_r, &bound, 0.0), bound.equivalent_speed(t))
            }
            None => (0.0, 0.0),
        };
        SeparationResult {
            twist: limited,
            scale,
            nearest: nearest.map(|n| (n.0, n.1)),
            required_separation,
            human_speed,
            predictions_used: used,
            turn_kept: false,
            slid: false,
            limiting,
        }
    }

    /// `S_p` toward point `p` of `h` for `twist` (what the status reports for the nearest human): as
    /// [`Self::limit`] bounds the person, without the forecast.
    pub fn required_separation_toward(&self, twist: &Twist, h: &HumanPoints, p: &Point3<f64>) -> f64 {
        let d_now = h.distance(&self.body);
        let k = h.points.iter().position(|q| q == p);
        let shoulder = k.and_then(|k| h.shoulders.get(k).copied().flatten());
        let bound = self.closing_bound(h, p, shoulder, d_now);
        let v_r = self.body.relation(twist, p).approach_speed;
        self.required_separation_for(v_r, &bound, 0.0)
    }

    /// The observed body's speed toward the robot [m/s] (fitted torso velocity toward the robot's nearest
    /// surface point), when the person is well observed with a seen torso.
    fn body_closing_speed(&self, h: &HumanPoints) -> Option<f64> {
        let m = h.motion.filter(|_| self.config.reach.enabled)?;
        let torso = h.torso()?;
        let (nearest, d) = self.config.robot.closest(&torso);
        let toward = (nearest - torso).try_normalize(1e-9).filter(|_| d > 1e-9)?;
        Some(m.velocity.dot(&toward))
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
        v + c.prediction_uncertainty_rate
    }

    /// Calls `f(point, distance − uncertainty)` for every predicted point ahead of `now` by at most `horizon` [s].
    fn for_each_predicted_point(
        &self,
        now: Stamp,
        horizon: f64,
        p: &HumanPrediction,
        mut f: impl FnMut(&Point3<f64>, f64),
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
                let d = self.body.distance(q) - c.prediction_uncertainty_rate * tau;
                f(q, d);
            }
        }
    }
}

/// How `twist` relates to a ball of radius `inflation` around `p` (the reach of a hidden hand around its
/// shoulder, or a remembered keypoint grown by how far it may have moved): [`RobotBody::relation`] to the centre,
/// except that a ball reaching the robot's surface is approached by every motion that sweeps space (some point
/// of it lies on every side of the surface point nearest to it; a disc turning on the spot moves no point of the
/// world closer). A ball clear of the surface keeps the centre's approach speed and the approach tolerance, as a
/// seen point: a slide past a keypoint remembered over one dropped frame goes on.
fn ball_relation(
    shape: &RobotBody,
    twist: &Twist,
    p: &Point3<f64>,
    inflation: f64,
) -> crate::safety::geometry::PointRelation {
    let rel = shape.relation(twist, p);
    if inflation.is_nan() || inflation < rel.distance || !shape.sweeps(twist) {
        return rel;
    }
    crate::safety::geometry::PointRelation { approach_speed: rel.surface_speed.max(rel.approach_speed), ..rel }
}

/// Rounds of [`SeparationMonitor::limit`]'s slide-past candidate (each adds the points the last one approached).
pub const SLIDE_ROUNDS: usize = 4;

/// The slide-past candidate leans away from the points it passes tangentially by this tangent (about 11°),
/// where that approaches no other limiting point and keeps it within 90° of the asked direction.
pub const SLIDE_LEAN: f64 = 0.2;

/// The scale of one command and the directions toward the points that limited it.
struct Limiting {
    scale: f64,
    directions: Vec<Vector2<f64>>,
}

impl Limiting {
    /// A point allows at most `scale` of the command; `direction` from the robot toward it (3-D unit).
    fn cut(&mut self, scale: f64, direction: Option<nalgebra::Vector3<f64>>) {
        self.scale = self.scale.min(scale);
        if let Some(n) = direction.and_then(|d| d.xy().try_normalize(1e-6)) {
            self.directions.push(n);
        }
    }
}

/// The planar velocity nearest to `v` that approaches none of `directions` (unit vectors toward points):
/// the largest of `v` itself, its projections on each direction's normal line, and zero that satisfies
/// `u · n ≤ 0` for every direction (the feasible set is a cone at the origin, so its nearest point to `v` is
/// one of these).
pub fn slide_velocity(v: &Vector2<f64>, directions: &[Vector2<f64>]) -> Vector2<f64> {
    let admissible = |u: &Vector2<f64>| directions.iter().all(|n| u.dot(n) <= 1e-12 * v.norm());
    std::iter::once(*v)
        .chain(directions.iter().map(|n| v - n * v.dot(n)))
        .filter(admissible)
        .min_by(|a, b| (v - a).norm().total_cmp(&(v - b).norm()))
        .unwrap_or_else(Vector2::zeros)
}

#[cfg(test)]
mod tests;
