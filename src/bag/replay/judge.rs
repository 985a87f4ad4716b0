//! The ground-truth judge that scores a replay's decisions as they are made (running metrics).

use std::collections::BTreeMap;

use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::safety::{ApproachTolerance, RobotBody, RobotShape};
use intent_shared_control_core::skeleton::{keypoint as kp, SkeletonFrame};
use intent_shared_control_core::{ControllerConfig, Decision, Mode, Stamp, Twist};
use intent_shared_control_sim::judge::{
    reference_separation, Judge as GroundTruthJudge, JudgedHuman, Verdict, FUTURE_STEP_S,
};
use intent_shared_control_sim::score::{CycleFacts, StopEpisodes, APPROACH_EPS};
use intent_shared_control_sim::sim::{NEXT_TO_M, STILL_SPEED};
use nalgebra::Point2;

use super::{mode_name, ReplayMetrics};
use crate::bag::lookahead::{tracked_points, EpochCounter, Lookahead};

/// Closing speed and positions of the judged humans.
pub(super) struct Judge {
    shape: RobotShape,
    body: RobotBody,
    verdicts: GroundTruthJudge,
    /// Newest judged frame, the previous one, and closing speed per human id [m/s].
    frame: Option<SkeletonFrame>,
    closing: BTreeMap<u32, f64>,
    last_torso: BTreeMap<u32, (Stamp, f64, Point2<f64>)>,
    has_truth: bool,
    recorded_cmd: Twist,
    // running metrics
    m: ReplayMetrics,
    episodes: StopEpisodes,
    /// Start of the current uninterrupted `Stop`.
    stop_since: Option<Stamp>,
    /// Starts of the current holds: held still while the operator asks for a motion; of that, needlessly; and
    /// while someone touches the robot (see [`ReplayMetrics`]).
    held_since: Option<Stamp>,
    needless_since: Option<Stamp>,
    contact_since: Option<Stamp>,
    approach_tolerance: ApproachTolerance,
    first: Option<Stamp>,
    last: Option<Stamp>,
    /// The bag's future, when the whole bag was given ([`Replay::read_ahead`]).
    ///
    /// [`Replay::read_ahead`]: super::Replay::read_ahead
    pub(super) lookahead: Option<Lookahead>,
    pub(super) epochs: EpochCounter,
}

/// Look-ahead steps over which a person's torso speed decides whether they stand still (0.2 s, as the
/// closed-loop simulator).
const STILL_STEPS: usize = 2;

/// Approach speeds above this can violate the separation [m/s] (as the closed-loop simulator).
const VIOLATION_MIN_SPEED: f64 = 0.05;

impl Judge {
    pub(super) fn new(config: &ControllerConfig) -> Self {
        let separation = &config.safety.separation;
        let shape = separation.robot.clone();
        let verdicts = GroundTruthJudge::new(
            reference_separation(separation),
            separation.clone(),
            config.safety.zones.clone(),
            VIOLATION_MIN_SPEED,
        );
        Judge {
            shape,
            body: separation.body(),
            verdicts,
            frame: None,
            closing: BTreeMap::new(),
            last_torso: BTreeMap::new(),
            has_truth: false,
            recorded_cmd: Twist::ZERO,
            m: ReplayMetrics::default(),
            episodes: StopEpisodes::new(separation.braking_deceleration),
            stop_since: None,
            held_since: None,
            needless_since: None,
            contact_since: None,
            approach_tolerance: separation.approach_tolerance,
            first: None,
            last: None,
            lookahead: None,
            epochs: EpochCounter::default(),
        }
    }

    pub(super) fn on_truth(&mut self, frame: SkeletonFrame) {
        self.has_truth = true;
        self.set_frame(frame);
    }

    pub(super) fn on_observed(&mut self, frame: &SkeletonFrame) {
        if !self.has_truth {
            self.set_frame(frame.clone());
        }
    }

    pub(super) fn on_recorded_cmd(&mut self, t: Twist) {
        self.recorded_cmd = t;
    }

    /// Closing speed per human: change of the torso's surface distance, minus the robot's own approach
    /// (the recorded command, which moved the robot between the frames), floored at 0.
    fn set_frame(&mut self, frame: SkeletonFrame) {
        for h in &frame.humans {
            let (l, r) = (&h.keypoints[kp::LEFT_HIP], &h.keypoints[kp::RIGHT_HIP]);
            if !(l.is_observed() && r.is_observed()) {
                continue;
            }
            let torso = nalgebra::center(&l.position, &r.position).xy();
            let d = self.shape.closest(&torso).1;
            if let Some((t0, d0, _)) = self.last_torso.get(&h.id) {
                let dt = frame.stamp.seconds_since(*t0);
                if dt > 1e-4 && dt < 0.5 {
                    let robot = self.shape.relation(&self.recorded_cmd, &torso).approach_speed;
                    let v = ((d0 - d) / dt - robot).max(0.0);
                    let e = self.closing.entry(h.id).or_insert(v);
                    *e = 0.7 * *e + 0.3 * v;
                }
            }
            self.last_torso.insert(h.id, (frame.stamp, d, torso));
        }
        self.frame = Some(frame);
    }

    /// The judged humans of the newest frame, with their true future when `with_future` and the bag was read
    /// ahead (only the false-stop question needs it).
    fn judged_humans(&self, with_future: bool) -> Vec<JudgedHuman> {
        let Some(f) = &self.frame else { return Vec::new() };
        f.humans
            .iter()
            .map(|h| JudgedHuman {
                points: h.keypoints.iter().filter(|k| k.is_observed()).map(|k| k.position).collect(),
                closing_speed: self.closing.get(&h.id).copied().unwrap_or(0.0),
                tracked: tracked_points(h).map_or([None; 3], |t| t.map(Some)),
                future: match &self.lookahead {
                    Some(l) if with_future => l.future(self.epochs.current(), f.stamp, h.id),
                    _ => Vec::new(),
                },
            })
            .collect()
    }

    /// Replaces the forecast of every prediction in `preds` by the person's true future after the prediction's
    /// stamp, as far as the bag knows it (steps beyond that keep the forecast).
    pub(super) fn true_forecasts(&self, preds: &mut [HumanPrediction]) {
        let Some(l) = &self.lookahead else { return };
        for p in preds {
            let future = l.future(self.epochs.current(), p.stamp, p.human_id);
            // The lookahead's steps are FUTURE_STEP_S apart; a forecast on another grid keeps its own points (the
            // message carries the step as float32).
            if (p.horizon_step - FUTURE_STEP_S).abs() > 1e-6 {
                continue;
            }
            for (predicted, truth) in p.future.iter_mut().zip(future) {
                for (q, t) in predicted.iter_mut().zip(truth) {
                    *q = nalgebra::Point3::new(t.x, t.y, q.z);
                }
            }
        }
    }

    /// Largest approach speed of `twist` toward any of `humans`' points, and the ground-truth verdict.
    fn assess(&self, twist: &Twist, humans: &[JudgedHuman]) -> (f64, Verdict) {
        let max_approach = humans
            .iter()
            .flat_map(|h| h.points.iter())
            .map(|p| self.body.relation(twist, p).approach_speed)
            .fold(0.0, f64::max);
        (max_approach, self.verdicts.judge(twist, humans))
    }

    /// True when the nearest judged person (any point) is within [`NEXT_TO_M`] of the robot and stands still:
    /// their torso moves less than [`STILL_SPEED`] over the next 0.2 s, read ahead in the bag (`false` when
    /// the bag was not read ahead or ends before).
    fn nearest_stands_still(&self) -> bool {
        let (Some(f), Some(l)) = (&self.frame, &self.lookahead) else { return false };
        let nearest = f
            .humans
            .iter()
            .map(|h| {
                let d = h
                    .keypoints
                    .iter()
                    .filter(|k| k.is_observed())
                    .map(|k| self.body.distance(&k.position))
                    .fold(f64::INFINITY, f64::min);
                (h, d)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((h, d)) = nearest else { return false };
        if d >= NEXT_TO_M {
            return false;
        }
        let (Some(now), Some(later)) =
            (tracked_points(h), l.future(self.epochs.current(), f.stamp, h.id).get(STILL_STEPS - 1).copied())
        else {
            return false;
        };
        let dt = STILL_STEPS as f64 * FUTURE_STEP_S;
        (later[0] - now[0].xy()).norm() / dt < STILL_SPEED
    }

    /// Updates the three holds of [`ReplayMetrics`] (`longest_held_s`, `longest_needless_hold_s`,
    /// `longest_contact_hold_s`), as the closed-loop simulator defines them.
    fn update_holds(&mut self, d: &Decision, humans: &[JudgedHuman]) {
        let now = d.stamp;
        let held = !d.user.is_zero() && d.output.linear.norm() < 0.01 && d.output.angular.norm() < 0.01;
        let points = || humans.iter().flat_map(|h| h.points.iter());
        let contact = held && points().any(|p| self.body.distance(p) <= 0.0);
        let needless = held
            && !contact
            && !points().any(|p| self.body.relation(&d.user, p).approaches(&self.approach_tolerance))
            && self.nearest_stands_still();
        let m = &mut self.m;
        for (on, since, longest) in [
            (held, &mut self.held_since, &mut m.longest_held_s),
            (needless, &mut self.needless_since, &mut m.longest_needless_hold_s),
            (contact, &mut self.contact_since, &mut m.longest_contact_hold_s),
        ] {
            if on {
                *longest = longest.max(now.seconds_since(*since.get_or_insert(now)));
            } else {
                *since = None;
            }
        }
    }

    pub(super) fn on_decision(&mut self, d: &Decision) {
        let now = d.stamp;
        self.first.get_or_insert(now);
        self.last = Some(now);
        let m = &mut self.m;
        m.cycles += 1;
        *m.mode_cycles.entry(mode_name(d.mode).to_owned()).or_default() += 1;
        if !d.output.to_array().iter().all(|v| v.is_finite()) {
            self.m.non_finite_outputs += 1;
        }
        let speed = d.output.linear.norm();
        self.m.max_output_speed = self.m.max_output_speed.max(speed);
        let judged = self.judged_humans(false);
        let (approach, verdict) = self.assess(&d.output, &judged);
        self.update_holds(d, &judged);
        let m = &mut self.m;
        m.violation_cycles += u64::from(verdict.violation);
        let md = verdict.min_distance_approaching;
        if md.is_finite() {
            m.min_distance_approaching = Some(m.min_distance_approaching.map_or(md, |x| x.min(md)));
        }
        if d.mode == Mode::Stop {
            let since = *self.stop_since.get_or_insert(now);
            m.longest_stop_s = m.longest_stop_s.max(now.seconds_since(since));
            m.stop_rules.count(&d.reasons);
            m.stop_cycles += 1;
            let (_, asked) = self.assess(&d.blended, &self.judged_humans(true));
            self.m.false_stop_cycles += u64::from(!asked.stop_needed);
            self.m.stops_beyond_physics += u64::from(!asked.violation);
        } else {
            self.stop_since = None;
        }
        self.episodes.step(&CycleFacts {
            stamp: now,
            predicted_violation: d.reasons.iter().any(|r| r.is_stop()),
            approach,
            speed,
            angular: d.output.angular.norm(),
            commanded: d.user.linear.norm() > APPROACH_EPS || d.user.angular.norm() > APPROACH_EPS,
            active: !matches!(d.mode, Mode::Fault | Mode::Idle),
        });
    }

    pub(super) fn finish(mut self) -> ReplayMetrics {
        let mut m = std::mem::take(&mut self.m);
        m.episodes = self.episodes.finish();
        m.judged_on = if self.has_truth { "ground_truth".into() } else { "observed".into() };
        m.duration_s = match (self.first, self.last) {
            (Some(a), Some(b)) => b.seconds_since(a),
            _ => 0.0,
        };
        m.false_stop_fraction = if m.cycles == 0 { 0.0 } else { m.false_stop_cycles as f64 / m.cycles as f64 };
        m
    }
}
