//! The forecast error bound of a model card, checked at run time against what then happened.
//!
//! A model card may state how far its forecasts may be trusted on real people: per look-ahead step, a high
//! quantile of how much closer to a robot a real person came than the forecast said, from held-out real data
//! (`training.real_data_forecast_error_bound`, see [`ForecastBound`]). Whether that holds on *this* robot's
//! people (another site, another tracker, odometry, a model other than the one evaluated) only shows when the
//! forecasts meet the captures that follow them. [`ForecastCheck`] makes that comparison:
//!
//! - each forecast's torso points are kept in a fixed frame (odometry; the capture's own frame for a robot
//!   that does not move), with where the robot was when the forecast was made — at most one forecast per
//!   person per look-ahead step, so a 30 Hz tracker does not count one situation three times;
//! - when the same person is seen again past a step's time, their torso at that time (interpolated between the
//!   two captures around it, at most [`MAX_GAP_S`] apart; a longer gap leaves the step unchecked) is compared
//!   with the forecast: the error is the forecast torso's distance to where the robot was minus the seen
//!   one's, positive when the person came closer than forecast — the quantity the card's bound is a quantile
//!   of;
//! - per step it counts checks and errors above the bound, since the start and over the last [`WINDOW`] checks,
//!   and raises an alarm when the recent count is more than the card's quantile allows: at least
//!   [`ALARM_RATE_FACTOR`] times the expected rate and a Poisson tail probability below [`ALARM_P`].
//!
//! The check changes no forecast and no limit: the safety chain uses forecasts only to add restrictions and
//! bounds every person by the reachable set whatever the forecast says (`docs/safety_chain.md`). It is the
//! run-time evidence a forecast-based exception would need, and tells an integrator when the model meets
//! people unlike those its card was shown on. The observed torso carries the tracker's noise, which the card's
//! bound (measured against the true track) does not: the check errs toward alarms.

use std::collections::{HashMap, VecDeque};

use nalgebra::{Isometry2, Point2, Point3};
use serde::Serialize;

use crate::prediction::{HumanPrediction, TORSO};
use crate::skeleton::{HumanId, SkeletonFrame};
use crate::time::Stamp;

/// Recent checks per look-ahead step that the alarm looks at.
pub const WINDOW: usize = 600;
/// The alarm needs at least this many times the rate the card's quantile allows.
pub const ALARM_RATE_FACTOR: f64 = 10.0;
/// ...and a count that the allowed rate gives with less than this probability (Poisson tail).
pub const ALARM_P: f64 = 1e-3;
/// Longest time between the two captures a step's time is interpolated between \[s\].
pub const MAX_GAP_S: f64 = 0.2;
/// Most forecasts waiting for their steps' times (the oldest are dropped beyond it).
pub const MAX_PENDING: usize = 1024;

/// A card's forecast error bound: per look-ahead step `(k + 1) · step_s`, the `quantile` of (forecast − seen)
/// torso distance to the robot \[m\].
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastBound {
    /// Time between two steps \[s\], > 0.
    pub step_s: f64,
    /// The bound per step \[m\], finite, ≥ 0.
    pub metres: Vec<f64>,
    /// The quantile the bound is, in (0, 1).
    pub quantile: f64,
}

impl ForecastBound {
    /// The bound from a card's `training.real_data_forecast_error_bound` (`step_s`, `metres`, `quantile`):
    /// `None` when the card states none, an error naming the field when it states one that is not usable.
    pub fn from_card_training(training: &serde_json::Value) -> Option<Result<ForecastBound, String>> {
        let b = training.get("real_data_forecast_error_bound")?;
        let field = |name: &str| b.get(name).ok_or_else(|| format!("`{name}` missing"));
        let parse = || -> Result<ForecastBound, String> {
            let step_s = field("step_s")?.as_f64().ok_or("`step_s` is not a number")?;
            let quantile = field("quantile")?.as_f64().ok_or("`quantile` is not a number")?;
            let metres = field("metres")?
                .as_array()
                .ok_or("`metres` is not an array")?
                .iter()
                .map(|v| v.as_f64().ok_or_else(|| "`metres` holds a value that is not a number".to_owned()))
                .collect::<Result<Vec<f64>, String>>()?;
            ForecastBound { step_s, metres, quantile }.validated()
        };
        Some(parse().map_err(|e| format!("training.real_data_forecast_error_bound: {e}")))
    }

    /// The bound when every number is in range.
    pub fn validated(self) -> Result<ForecastBound, String> {
        if !(self.step_s.is_finite() && self.step_s > 0.0) {
            return Err(format!("`step_s` must be > 0, got {}", self.step_s));
        }
        if !(self.quantile > 0.0 && self.quantile < 1.0) {
            return Err(format!("`quantile` must be in (0, 1), got {}", self.quantile));
        }
        if self.metres.is_empty() || self.metres.iter().any(|m| !(m.is_finite() && *m >= 0.0)) {
            return Err("`metres` must hold at least one finite value ≥ 0, and only such values".into());
        }
        Ok(self)
    }

    /// Look-ahead of step `k` (0-based) \[s\].
    pub fn lookahead(&self, k: usize) -> f64 {
        (k as f64 + 1.0) * self.step_s
    }
}

/// One step's counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepCounts {
    /// Checks since the start.
    pub checks: u64,
    /// Errors above the bound since the start.
    pub exceeded: u64,
    /// Largest error since the start \[m\] (−∞ before the first check).
    pub largest_error: f64,
    /// The last [`WINDOW`] outcomes, newest last (`true`: above the bound).
    recent: VecDeque<bool>,
}

impl StepCounts {
    /// Checks and errors above the bound among the last [`WINDOW`].
    pub fn recent(&self) -> (usize, usize) {
        (self.recent.len(), self.recent.iter().filter(|e| **e).count())
    }
}

/// One step's verdict (see [`ForecastCheck::summary`]).
#[derive(Clone, Debug, PartialEq)]
pub struct StepSummary {
    /// Look-ahead \[s\].
    pub lookahead_s: f64,
    /// The card's bound \[m\].
    pub bound_m: f64,
    /// Recent checks and errors above the bound.
    pub recent_checks: usize,
    pub recent_exceeded: usize,
    /// The recent count is more than the card's quantile allows.
    pub alarm: bool,
}

/// What a check found, for reports: per look-ahead step since the start, and the steps whose recent misses
/// raise the alarm.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForecastCheckReport {
    /// The card's quantile.
    pub quantile: f64,
    pub by_lookahead: Vec<StepReport>,
    /// Look-aheads whose recent misses are more than the quantile allows \[s\].
    pub alarm_lookahead_s: Vec<f64>,
    /// Forecasts not checked because their step differs from the bound's.
    pub not_comparable: u64,
}

/// One look-ahead step of a [`ForecastCheckReport`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepReport {
    pub lookahead_s: f64,
    pub bound_m: f64,
    pub checks: u64,
    pub exceeded: u64,
    /// Largest error \[m\] (positive: the person came closer than forecast); `None` before the first check.
    pub largest_error_m: Option<f64>,
}

/// A forecast waiting for its steps' times.
#[derive(Clone, Debug)]
struct Pending {
    id: HumanId,
    stamp: Stamp,
    /// Where the robot was at `stamp`, fixed frame.
    origin: Point2<f64>,
    /// Forecast torso per step, fixed frame.
    torso: Vec<Point2<f64>>,
    /// First step not yet checked or passed.
    next: usize,
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct ForecastCheck {
    bound: ForecastBound,
    steps: Vec<StepCounts>,
    pending: VecDeque<Pending>,
    /// Newest torso seen per person: stamp and fixed-frame position.
    seen: HashMap<HumanId, (Stamp, Point2<f64>)>,
    /// Stamp of the newest forecast kept per person.
    kept: HashMap<HumanId, Stamp>,
    /// Forecasts not kept because their step differs from the bound's.
    incomparable: u64,
    /// Hips below this confidence are not seen (as the feature pipeline counts them).
    min_confidence: f32,
}

impl ForecastCheck {
    /// A check of `bound`; hips below `min_confidence` count as not seen (the feature pipeline's
    /// `min_keypoint_confidence`).
    pub fn new(bound: ForecastBound, min_confidence: f32) -> Self {
        let steps = vec![StepCounts { largest_error: f64::NEG_INFINITY, ..StepCounts::default() }; bound.metres.len()];
        ForecastCheck {
            bound,
            steps,
            pending: VecDeque::new(),
            seen: HashMap::new(),
            kept: HashMap::new(),
            incomparable: 0,
            min_confidence,
        }
    }

    pub fn bound(&self) -> &ForecastBound {
        &self.bound
    }

    /// Counts per step of the bound.
    pub fn steps(&self) -> &[StepCounts] {
        &self.steps
    }

    /// Forecasts not checked because their step differs from the bound's.
    pub fn incomparable(&self) -> u64 {
        self.incomparable
    }

    /// Forgets pending forecasts and sightings (e.g. after a clock jump backwards); the counts stay.
    pub fn reset(&mut self) {
        self.pending.clear();
        self.seen.clear();
        self.kept.clear();
    }

    /// A capture: checks the pending forecasts of the people in it whose step times it passes.
    /// `fixed_from_robot`: the robot's pose at the capture's stamp in the fixed frame the forecasts are kept in.
    pub fn observe(&mut self, frame: &SkeletonFrame, fixed_from_robot: &Isometry2<f64>) {
        let t = frame.stamp;
        let horizon = self.bound.lookahead(self.bound.metres.len().saturating_sub(1)) + MAX_GAP_S;
        for h in &frame.humans {
            let [torso, ..] = h.observed_points(self.min_confidence);
            let Some(torso) = torso.map(|p| fixed_from_robot * Point2::new(p.x, p.y)) else { continue };
            if !(torso.x.is_finite() && torso.y.is_finite()) {
                continue;
            }
            let before = self.seen.insert(h.id, (t, torso));
            let Some((t0, p0)) = before.filter(|(t0, _)| t.seconds_since(*t0) > 0.0) else { continue };
            let gap = t.seconds_since(t0);
            for f in self.pending.iter_mut().filter(|f| f.id == h.id) {
                while f.next < f.torso.len() {
                    let target = f.stamp.as_secs_f64() + self.bound.lookahead(f.next);
                    let (a, b) = (t0.as_secs_f64(), t.as_secs_f64());
                    if target > b {
                        break;
                    }
                    if target >= a && gap <= MAX_GAP_S {
                        let s = (target - a) / (b - a);
                        let at = p0 + (torso - p0) * s;
                        let error = (f.torso[f.next] - f.origin).norm() - (at - f.origin).norm();
                        let counts = &mut self.steps[f.next];
                        let exceeded = error > self.bound.metres[f.next];
                        counts.checks += 1;
                        counts.exceeded += u64::from(exceeded);
                        counts.largest_error = counts.largest_error.max(error);
                        if counts.recent.len() == WINDOW {
                            counts.recent.pop_front();
                        }
                        counts.recent.push_back(exceeded);
                    }
                    f.next += 1;
                }
            }
        }
        // Done, or too old to be checked any more.
        self.pending.retain(|f| f.next < f.torso.len() && t.seconds_since(f.stamp) <= horizon);
        self.seen.retain(|_, (s, _)| t.seconds_since(*s) <= horizon);
        self.kept.retain(|_, s| t.seconds_since(*s) <= horizon);
    }

    /// Forecasts made from a capture at `fixed_from_robot` (robot frame of the capture; see [`Self::observe`]):
    /// kept until their steps' times pass, at most one per person per step of the bound.
    pub fn record(&mut self, predictions: &[HumanPrediction], fixed_from_robot: &Isometry2<f64>) {
        let origin = Point2::from(fixed_from_robot.translation.vector);
        for p in predictions {
            if (p.horizon_step - self.bound.step_s).abs() > 1e-6 {
                self.incomparable += 1;
                continue;
            }
            if self.kept.get(&p.human_id).is_some_and(|s| p.stamp.seconds_since(*s) < self.bound.step_s - 1e-6) {
                continue;
            }
            let torso: Vec<Point2<f64>> = p
                .future
                .iter()
                .take(self.bound.metres.len())
                .map(|step| {
                    let q: Point3<f64> = step[TORSO];
                    fixed_from_robot * Point2::new(q.x, q.y)
                })
                .collect();
            if torso.is_empty() || torso.iter().any(|q| !(q.x.is_finite() && q.y.is_finite())) {
                continue;
            }
            self.kept.insert(p.human_id, p.stamp);
            if self.pending.len() == MAX_PENDING {
                self.pending.pop_front();
            }
            self.pending.push_back(Pending { id: p.human_id, stamp: p.stamp, origin, torso, next: 0 });
        }
    }

    /// The counts since the start and the alarms now.
    pub fn report(&self) -> ForecastCheckReport {
        let by_lookahead = self
            .steps
            .iter()
            .enumerate()
            .map(|(k, c)| StepReport {
                lookahead_s: self.bound.lookahead(k),
                bound_m: self.bound.metres[k],
                checks: c.checks,
                exceeded: c.exceeded,
                largest_error_m: (c.checks > 0).then_some(c.largest_error),
            })
            .collect();
        let alarm_lookahead_s = self.summary().iter().filter(|s| s.alarm).map(|s| s.lookahead_s).collect();
        ForecastCheckReport {
            quantile: self.bound.quantile,
            by_lookahead,
            alarm_lookahead_s,
            not_comparable: self.incomparable,
        }
    }

    /// Per step: the recent counts and whether they are more than the card's quantile allows.
    pub fn summary(&self) -> Vec<StepSummary> {
        let allowed = 1.0 - self.bound.quantile;
        self.steps
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let (n, e) = c.recent();
                let expected = n as f64 * allowed;
                let alarm =
                    n > 0 && e as f64 >= ALARM_RATE_FACTOR * expected && e > 0 && poisson_tail(e, expected) < ALARM_P;
                StepSummary {
                    lookahead_s: self.bound.lookahead(k),
                    bound_m: self.bound.metres[k],
                    recent_checks: n,
                    recent_exceeded: e,
                    alarm,
                }
            })
            .collect()
    }
}

/// P(X ≥ k) for X ~ Poisson(λ).
pub fn poisson_tail(k: usize, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let mut term = (-lambda).exp();
    let mut below = term;
    for i in 1..k {
        term *= lambda / i as f64;
        below += term;
    }
    (1.0 - below).max(0.0)
}

#[cfg(test)]
mod tests;
