//! The forecast error bound of a model card, checked at run time against what then happened.
//!
//! A model card may state how far its forecasts may be trusted on real people: per look-ahead step, a high
//! quantile of how much closer to a robot a real person came than the forecast said, from held-out real data
//! (`training.real_data_forecast_error_bound`, see [`ForecastBound`]). Whether that holds on *this* robot's
//! people (another site, another tracker, odometry, a model other than the one evaluated) only shows when the
//! forecasts meet the captures that follow them. [`ForecastCheck`] makes that comparison:
//!
//! - each forecast's torso points are kept in a fixed frame (odometry; without it the capture's own frame, in
//!   which a moving robot's own motion toward someone counts as theirs), with where the robot was when the
//!   forecast was made — at most one forecast per person per look-ahead step (a 30 Hz tracker would keep three
//!   times as many for nothing);
//! - when the same person is seen again past a step's time, their torso at that time (interpolated between the
//!   two captures around it, at most [`MAX_GAP_S`] apart; a longer gap leaves the step unchecked) is compared
//!   with the forecast: the error is the forecast torso's distance to where the robot was minus the seen
//!   one's, positive when the person came closer than forecast — the quantity the card's bound is a quantile
//!   of;
//! - at look-ahead `τ` only forecasts of a person at least `τ` apart are counted, so that the counted checks
//!   do not overlap in time: one event (a person who turns, a tracker that swaps two people) is one check at
//!   each step, not `τ / step` of them, and the counts may be judged as independent;
//! - per step it counts checks and errors above the bound, since the start and over the last [`WINDOW`] checks
//!   of the last [`WINDOW_S`] seconds (what the diagnostics show), and raises an alarm on the evidence that
//!   errors above the bound come more often than the card's quantile allows: Page's CUSUM of the
//!   log-likelihood ratio of [`ALARM_RATE_FACTOR`] times the allowed rate against the allowed rate (see
//!   [`Cusum`]). It is raised when that evidence reaches [`ALARM_EVIDENCE`] and cleared when it has fallen back
//!   to nothing; the evidence is capped there, so after the misses stop a raised alarm clears within 1547
//!   checks within the bound at 99.9 % (at 10 checks a second, under three minutes), however long they lasted.
//!   For independent checks at exactly the card's rate (99.9 %) a step raises it about once in 3.7 × 10⁸
//!   checks (hundreds of hours of several people in view); at ten times that rate within about 900 checks
//!   (median), and when every other check misses at the 13th. Misses that come in clusters raise it far
//!   sooner than that figure says: a person swapped with someone closer and back is two misses at 0.1 s, and
//!   four such swaps within half a minute raise it. Whether it was raised at some time is kept too.
//!
//! A capture older than the newest one (the clock went back, or captures came out of order) starts the check
//! afresh: pending forecasts, sightings and the recent window are dropped (the totals and the alarm's
//! evidence, which came from valid comparisons, stay), so no forecast is
//! compared with a position from another stretch of time. A repeated stamp is no new sighting. Memory is bounded
//! by [`MAX_PEOPLE`] people with [`MAX_PENDING_PER_PERSON`] forecasts each, whatever the stamps and ids.
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

/// Most recent checks per look-ahead step shown as the recent count.
pub const WINDOW: usize = 600;
/// Checks older than this (before the newest capture) leave the recent count \[s\].
pub const WINDOW_S: f64 = 300.0;
/// The alarm weighs the card's allowed rate of errors above the bound against this many times that rate.
pub const ALARM_RATE_FACTOR: f64 = 10.0;
/// Evidence (natural log of the likelihood ratio, see [`Cusum`]) at which the alarm is raised: at the 99.9 %
/// quantile seven misses in a row, no fewer.
pub const ALARM_EVIDENCE: f64 = 14.0;
/// Longest time between the two captures a step's time is interpolated between \[s\].
pub const MAX_GAP_S: f64 = 0.2;
/// The lowest quantile a bound may be at: below it, [`ALARM_RATE_FACTOR`] times the allowed rate is too close
/// to every check missing for the alarm to mean anything.
pub const MIN_QUANTILE: f64 = 0.99;
/// Most people followed at once (the one longest without a sighting or a forecast makes room).
pub const MAX_PEOPLE: usize = 256;
/// Most forecasts of one person waiting for their steps' times (the oldest makes room).
pub const MAX_PENDING_PER_PERSON: usize = 32;

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
        if !(self.quantile >= MIN_QUANTILE && self.quantile < 1.0) {
            return Err(format!("`quantile` must be in [{MIN_QUANTILE}, 1) for the check, got {}", self.quantile));
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

    /// How long a forecast can wait for its last step \[s\].
    fn horizon(&self) -> f64 {
        self.lookahead(self.metres.len().saturating_sub(1)) + MAX_GAP_S
    }
}

/// Page's CUSUM for the rate of errors above a bound at `quantile`: the log-likelihood ratio of "errors above
/// it at [`ALARM_RATE_FACTOR`] times the allowed rate `1 − quantile`" against "at the allowed rate", summed
/// over the checks, floored at 0 and capped at [`ALARM_EVIDENCE`] (a miss adds `ln 10`, a check within the
/// bound takes off `−ln((1 − 10·p)/(1 − p))`, 0.00905 at 99.9 %). The alarm is raised when the sum reaches
/// [`ALARM_EVIDENCE`] and cleared when it is back at 0: the cap makes that at most
/// `ALARM_EVIDENCE / 0.00905` = 1547 checks within the bound after the misses stop, however long they lasted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cusum {
    /// Added by an error above the bound.
    miss: f64,
    /// Added (negative) by one within it.
    hold: f64,
    evidence: f64,
    raised: bool,
}

impl Cusum {
    /// A test of a bound at `quantile`, which [`ForecastBound::validated`] keeps in [[`MIN_QUANTILE`], 1); a
    /// value outside (a bound made by hand) is taken as the nearest inside it, NaN as [`MIN_QUANTILE`] (the
    /// readier alarm).
    pub fn new(quantile: f64) -> Self {
        debug_assert!((MIN_QUANTILE..1.0).contains(&quantile), "quantile {quantile}");
        let quantile = if quantile.is_nan() { MIN_QUANTILE } else { quantile.clamp(MIN_QUANTILE, 1.0 - 1e-12) };
        let allowed = 1.0 - quantile;
        let alarm_rate = ALARM_RATE_FACTOR * allowed;
        Cusum {
            miss: (alarm_rate / allowed).ln(),
            hold: ((1.0 - alarm_rate) / (1.0 - allowed)).ln(),
            evidence: 0.0,
            raised: false,
        }
    }

    /// One check; returns whether the alarm is raised after it.
    pub fn push(&mut self, exceeded: bool) -> bool {
        self.evidence = (self.evidence + if exceeded { self.miss } else { self.hold }).clamp(0.0, ALARM_EVIDENCE);
        if self.evidence >= ALARM_EVIDENCE {
            self.raised = true;
        } else if self.evidence == 0.0 {
            self.raised = false;
        }
        self.raised
    }

    /// The evidence now (natural log of the likelihood ratio, in [0, [`ALARM_EVIDENCE`]]).
    pub fn evidence(&self) -> f64 {
        self.evidence
    }

    /// The alarm is raised.
    pub fn raised(&self) -> bool {
        self.raised
    }

    /// Checks within the bound that would clear a raised alarm (0 when it is not raised).
    pub fn checks_to_clear(&self) -> u64 {
        if self.raised {
            (self.evidence / -self.hold).ceil() as u64
        } else {
            0
        }
    }
}

/// One step's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct StepCounts {
    /// Checks since the start.
    pub checks: u64,
    /// Errors above the bound since the start.
    pub exceeded: u64,
    /// Largest error since the start \[m\] (−∞ before the first check).
    pub largest_error: f64,
    /// The alarm was raised at some time since the start.
    pub alarmed: bool,
    /// The alarm's test.
    pub cusum: Cusum,
    /// The recent outcomes, newest last: capture stamp and whether above the bound.
    recent: VecDeque<(Stamp, bool)>,
    recent_exceeded: usize,
}

impl StepCounts {
    /// No checks yet, of a bound at `quantile`.
    pub fn new(quantile: f64) -> Self {
        StepCounts {
            checks: 0,
            exceeded: 0,
            largest_error: f64::NEG_INFINITY,
            alarmed: false,
            cusum: Cusum::new(quantile),
            recent: VecDeque::new(),
            recent_exceeded: 0,
        }
    }

    /// Checks and errors above the bound in the recent window.
    pub fn recent(&self) -> (usize, usize) {
        (self.recent.len(), self.recent_exceeded)
    }

    fn push(&mut self, at: Stamp, error: f64, bound: f64) {
        let exceeded = error > bound;
        self.checks += 1;
        self.exceeded += u64::from(exceeded);
        self.largest_error = self.largest_error.max(error);
        if self.recent.len() == WINDOW {
            self.pop();
        }
        self.recent.push_back((at, exceeded));
        self.recent_exceeded += usize::from(exceeded);
        self.alarmed |= self.cusum.push(exceeded);
    }

    fn pop(&mut self) {
        if let Some((_, e)) = self.recent.pop_front() {
            self.recent_exceeded -= usize::from(e);
        }
    }

    /// Drops the checks older than [`WINDOW_S`] before `now`.
    fn expire(&mut self, now: Stamp) {
        while self.recent.front().is_some_and(|(t, _)| now.seconds_since(*t) > WINDOW_S) {
            self.pop();
        }
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
    /// The alarm is raised: errors above the bound come more often than the card's quantile allows.
    pub alarm: bool,
    /// The alarm's evidence ([`Cusum::evidence`]; raised at [`ALARM_EVIDENCE`]).
    pub evidence: f64,
    /// Checks within the bound that would clear the alarm ([`Cusum::checks_to_clear`]).
    pub checks_to_clear: u64,
    /// The alarm was raised at some time since the start.
    pub alarmed: bool,
}

/// What a check found, for reports: per look-ahead step since the start, and the steps whose alarm is or was
/// raised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForecastCheckReport {
    /// The card's quantile.
    pub quantile: f64,
    pub by_lookahead: Vec<StepReport>,
    /// Look-aheads whose alarm is raised at the end \[s\].
    pub alarm_lookahead_s: Vec<f64>,
    /// Look-aheads whose alarm was raised at some time \[s\].
    pub alarmed_lookahead_s: Vec<f64>,
    /// Forecasts not checked because their step differs from the bound's.
    pub not_comparable: u64,
    /// Forecasts dropped unchecked to keep memory bounded ([`MAX_PEOPLE`], [`MAX_PENDING_PER_PERSON`]).
    pub dropped: u64,
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
    stamp: Stamp,
    /// Where the robot was at `stamp`, fixed frame.
    origin: Point2<f64>,
    /// Forecast torso per step, fixed frame.
    torso: Vec<Point2<f64>>,
    /// First step not yet checked or passed.
    next: usize,
}

/// What the check keeps of one person.
#[derive(Clone, Debug)]
struct Person {
    /// Newest torso seen: stamp and fixed-frame position.
    seen: Option<(Stamp, Point2<f64>)>,
    /// Stamp of the newest forecast kept.
    kept: Option<Stamp>,
    /// Per step: the stamp of the forecast whose check was counted last.
    counted: Vec<Option<Stamp>>,
    pending: VecDeque<Pending>,
    /// Newest stamp of a sighting or a forecast.
    active: Stamp,
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct ForecastCheck {
    bound: ForecastBound,
    steps: Vec<StepCounts>,
    people: HashMap<HumanId, Person>,
    /// Newest capture stamp seen.
    newest: Option<Stamp>,
    /// Forecasts not kept because their step differs from the bound's.
    incomparable: u64,
    /// Forecasts dropped to keep memory bounded.
    dropped: u64,
    /// Hips below this confidence are not seen (as the feature pipeline counts them).
    min_confidence: f32,
}

impl ForecastCheck {
    /// A check of `bound`; hips below `min_confidence` count as not seen (the feature pipeline's
    /// `min_keypoint_confidence`).
    pub fn new(bound: ForecastBound, min_confidence: f32) -> Self {
        let steps = vec![StepCounts::new(bound.quantile); bound.metres.len()];
        ForecastCheck {
            bound,
            steps,
            people: HashMap::new(),
            newest: None,
            incomparable: 0,
            dropped: 0,
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

    /// Forecasts dropped unchecked to keep memory bounded.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets pending forecasts, sightings and the recent window (e.g. after a clock jump backwards); the
    /// totals and the alarm's evidence stay.
    pub fn reset(&mut self) {
        self.people.clear();
        self.newest = None;
        for s in &mut self.steps {
            s.recent.clear();
            s.recent_exceeded = 0;
        }
    }

    /// A capture: checks the pending forecasts of the people in it whose step times it passes.
    /// `fixed_from_robot`: the robot's pose at the capture's stamp in the fixed frame the forecasts are kept in.
    pub fn observe(&mut self, frame: &SkeletonFrame, fixed_from_robot: &Isometry2<f64>) {
        let t = frame.stamp;
        if self.newest.is_some_and(|n| t < n) {
            self.reset();
        }
        let newest = self.newest.map_or(t, |n| n.max(t));
        self.newest = Some(newest);
        for h in &frame.humans {
            let [torso, ..] = h.observed_points(self.min_confidence);
            let Some(torso) = torso.map(|p| fixed_from_robot * Point2::new(p.x, p.y)) else { continue };
            if !(torso.x.is_finite() && torso.y.is_finite()) {
                continue;
            }
            let n_steps = self.steps.len();
            let person = person(&mut self.people, &mut self.dropped, n_steps, h.id, t);
            person.active = person.active.max(t);
            // A repeated stamp is no new sighting.
            if person.seen.is_some_and(|(t0, _)| t <= t0) {
                continue;
            }
            let Some((t0, p0)) = person.seen.replace((t, torso)) else { continue };
            // Times relative to the previous sighting (absolute seconds would lose sub-microsecond steps).
            let gap = t.seconds_since(t0);
            let Person { pending, counted, .. } = person;
            for f in pending.iter_mut() {
                while f.next < f.torso.len() {
                    let k = f.next;
                    let target = f.stamp.seconds_since(t0) + self.bound.lookahead(k);
                    if target > gap {
                        break;
                    }
                    let spaced = counted[k].is_none_or(|s| f.stamp.seconds_since(s) >= self.bound.lookahead(k) - 1e-6);
                    if target >= 0.0 && gap <= MAX_GAP_S && spaced {
                        let at = p0 + (torso - p0) * (target / gap);
                        let error = (f.torso[k] - f.origin).norm() - (at - f.origin).norm();
                        if error.is_finite() {
                            counted[k] = Some(f.stamp);
                            self.steps[k].push(t, error, self.bound.metres[k]);
                        }
                    }
                    f.next += 1;
                }
            }
            pending.retain(|f| f.next < f.torso.len());
        }
        // What is done, or too old to be checked any more, is forgotten.
        let horizon = self.bound.horizon();
        self.people.retain(|_, p| {
            p.pending.retain(|f| newest.seconds_since(f.stamp) <= horizon);
            !p.pending.is_empty() || newest.seconds_since(p.active) <= horizon
        });
        for s in &mut self.steps {
            s.expire(newest);
        }
    }

    /// Forecasts made from a capture at `fixed_from_robot` (robot frame of the capture; see [`Self::observe`]):
    /// kept until their steps' times pass, at most one per person per step of the bound.
    pub fn record(&mut self, predictions: &[HumanPrediction], fixed_from_robot: &Isometry2<f64>) {
        let origin = Point2::from(fixed_from_robot.translation.vector);
        let (step_s, len) = (self.bound.step_s, self.bound.metres.len());
        for p in predictions {
            if (p.horizon_step - step_s).abs() > 1e-6 {
                self.incomparable += 1;
                continue;
            }
            let torso: Vec<Point2<f64>> = p
                .future
                .iter()
                .take(len)
                .map(|step| {
                    let q: Point3<f64> = step[TORSO];
                    fixed_from_robot * Point2::new(q.x, q.y)
                })
                .collect();
            if torso.is_empty() || torso.iter().any(|q| !(q.x.is_finite() && q.y.is_finite())) {
                continue;
            }
            let person = person(&mut self.people, &mut self.dropped, self.steps.len(), p.human_id, p.stamp);
            // One forecast per step; an older one (the clock went back less than a jump) is not kept either.
            if person.kept.is_some_and(|s| p.stamp.seconds_since(s) < step_s - 1e-6) {
                continue;
            }
            person.kept = Some(p.stamp);
            person.active = person.active.max(p.stamp);
            let full = person.pending.len() >= MAX_PENDING_PER_PERSON;
            if full {
                person.pending.pop_front();
            }
            person.pending.push_back(Pending { stamp: p.stamp, origin, torso, next: 0 });
            self.dropped += u64::from(full);
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
        let summary = self.summary();
        ForecastCheckReport {
            quantile: self.bound.quantile,
            by_lookahead,
            alarm_lookahead_s: summary.iter().filter(|s| s.alarm).map(|s| s.lookahead_s).collect(),
            alarmed_lookahead_s: summary.iter().filter(|s| s.alarmed).map(|s| s.lookahead_s).collect(),
            not_comparable: self.incomparable,
            dropped: self.dropped,
        }
    }

    /// Per step: the recent counts and the alarm.
    pub fn summary(&self) -> Vec<StepSummary> {
        self.steps
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let (n, e) = c.recent();
                StepSummary {
                    lookahead_s: self.bound.lookahead(k),
                    bound_m: self.bound.metres[k],
                    recent_checks: n,
                    recent_exceeded: e,
                    alarm: c.cusum.raised(),
                    evidence: c.cusum.evidence(),
                    checks_to_clear: c.cusum.checks_to_clear(),
                    alarmed: c.alarmed,
                }
            })
            .collect()
    }
}

/// The entry of person `id` in `people`, made when new (the person longest inactive making room first, their
/// pending forecasts counted in `dropped`).
fn person<'a>(
    people: &'a mut HashMap<HumanId, Person>,
    dropped: &mut u64,
    steps: usize,
    id: HumanId,
    at: Stamp,
) -> &'a mut Person {
    if !people.contains_key(&id) && people.len() >= MAX_PEOPLE {
        // Ties broken by id, so that replays stay bit-identical.
        let oldest = people.iter().min_by_key(|(id, p)| (p.active, **id)).map(|(id, _)| *id);
        if let Some(p) = oldest.and_then(|o| people.remove(&o)) {
            *dropped += p.pending.len() as u64;
        }
    }
    people.entry(id).or_insert_with(|| Person {
        seen: None,
        kept: None,
        counted: vec![None; steps],
        pending: VecDeque::new(),
        active: at,
    })
}

#[cfg(test)]
mod tests;
