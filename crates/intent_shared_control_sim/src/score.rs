//! One definition of the stop-episode metrics, scored the same way by the closed-loop simulator
//! ([`crate::sim`]) and the bag replay: both feed [`StopEpisodes`] one [`CycleFacts`] per decision.
//!
//! Definitions (`ε` = [`APPROACH_EPS`]):
//! - **predicted violation**: a cycle whose reasons contain a stop (`ssm_stop` or `zone_stop`); consecutive
//!   such cycles form an *episode*;
//! - **approach**: the largest speed at which the output moves the robot's surface toward a judged point
//!   (the simulator: every true keypoint; the replay: the ground truth the bag carries, else the observed
//!   skeletons); the robot *approaches* when it is above `ε`;
//! - **time to stop** (to braking): from the first cycle of an episode that started while the robot approached
//!   someone to the first cycle that brakes (approach lower than the cycle before, or none), or to the episode's
//!   end if it clears first;
//! - **time to standstill**: from the same cycle to the first cycle without approach, with the bound
//!   `v₀ / braking_deceleration` it is judged against (`v₀`: the larger of output speed and approach on the
//!   cycle before the episode; the chain brakes at the deceleration `S_p` assumes);
//! - **hold stop**: of the episode's cycles from the first one at which the robot does not move at all after the
//!   standstill, those without approach (a robot moving away from someone who overtakes it has no approach
//!   without standing still);
//! - **resume**: from the first cycle after an episode (the operator still commanding motion, the chain not in
//!   Fault or Idle) to the first cycle with an output above `ε`; an episode the run ends before resuming after
//!   more than [`RESUME_MISSING_AFTER_S`] counts as *resume missing*.

use serde::{Deserialize, Serialize};

use intent_shared_control_core::Stamp;

/// Approach speeds (and output speeds) above this count as motion \[m/s, rad/s\].
pub const APPROACH_EPS: f64 = 0.01;
/// A run that ends this long after an episode cleared without resuming counts it as missing \[s\].
pub const RESUME_MISSING_AFTER_S: f64 = 0.5;

/// What the scorer needs from one control cycle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CycleFacts {
    pub stamp: Stamp,
    /// The chain reported a predicted violation (a stop reason).
    pub predicted_violation: bool,
    /// Largest approach speed of the output toward any judged point \[m/s\] (0 when none).
    pub approach: f64,
    /// Output linear speed \[m/s\].
    pub speed: f64,
    /// Output angular speed \[rad/s\].
    pub angular: f64,
    /// The operator commands a motion (linear or angular above [`APPROACH_EPS`]).
    pub commanded: bool,
    /// The chain is neither faulted nor idle (a resume is possible).
    pub active: bool,
}

/// Stop-episode metrics of one run (definitions: the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StopEpisodeMetrics {
    pub predicted_violation_cycles: u64,
    /// Time from a predicted violation to braking \[s\].
    pub time_to_stop_s: Vec<f64>,
    /// Time from a predicted violation to no approach \[s\], and the braking bound it is judged against.
    pub time_to_standstill_s: Vec<f64>,
    pub standstill_bound_s: Vec<f64>,
    pub hold_stop_cycles: u64,
    pub hold_stop_ok: u64,
    /// `hold_stop_ok / hold_stop_cycles` (1 when there are none).
    pub hold_stop_fraction: f64,
    pub resume_s: Vec<f64>,
    /// Episodes that cleared while the operator commanded motion and never resumed before the run ended.
    pub resume_missing: u64,
}

impl StopEpisodeMetrics {
    /// Appends `other` (a later run) and recomputes the hold fraction.
    pub fn add(&mut self, other: &StopEpisodeMetrics) {
        self.predicted_violation_cycles += other.predicted_violation_cycles;
        self.time_to_stop_s.extend_from_slice(&other.time_to_stop_s);
        self.time_to_standstill_s.extend_from_slice(&other.time_to_standstill_s);
        self.standstill_bound_s.extend_from_slice(&other.standstill_bound_s);
        self.hold_stop_cycles += other.hold_stop_cycles;
        self.hold_stop_ok += other.hold_stop_ok;
        self.resume_s.extend_from_slice(&other.resume_s);
        self.resume_missing += other.resume_missing;
        self.hold_stop_fraction = hold_fraction(self.hold_stop_ok, self.hold_stop_cycles);
    }
}

fn hold_fraction(ok: u64, cycles: u64) -> f64 {
    if cycles == 0 {
        1.0
    } else {
        ok as f64 / cycles as f64
    }
}

/// The episode scorer: feed every cycle in order with [`StopEpisodes::step`], then [`StopEpisodes::finish`].
#[derive(Clone, Debug)]
pub struct StopEpisodes {
    braking_deceleration: f64,
    m: StopEpisodeMetrics,
    previous: Option<CycleFacts>,
    /// Start of the current episode's clock (it started while approaching, and has not reached standstill).
    started: Option<Stamp>,
    braked: bool,
    stood_still: bool,
    /// The robot stood still (no motion at all) since the standstill: the hold is judged from then.
    held: bool,
    v0: f64,
    resume_from: Option<Stamp>,
}

impl StopEpisodes {
    /// A scorer for a chain that brakes at `braking_deceleration` \[m/s²\] (the separation monitor's).
    pub fn new(braking_deceleration: f64) -> Self {
        StopEpisodes {
            braking_deceleration: braking_deceleration.max(1e-6),
            m: StopEpisodeMetrics::default(),
            previous: None,
            started: None,
            braked: false,
            stood_still: false,
            held: false,
            v0: 0.0,
            resume_from: None,
        }
    }

    /// Scores one cycle.
    pub fn step(&mut self, c: &CycleFacts) {
        let (prev_predicted, prev_approach, prev_speed) =
            self.previous.map_or((false, 0.0, 0.0), |p| (p.predicted_violation, p.approach, p.speed));
        let now = c.stamp;
        let m = &mut self.m;
        if c.predicted_violation {
            m.predicted_violation_cycles += 1;
            if !prev_predicted {
                let moving = prev_approach > APPROACH_EPS;
                self.started = moving.then_some(now);
                self.braked = !moving;
                self.stood_still = !moving;
                self.held = false;
                self.v0 = prev_speed.max(prev_approach);
                self.resume_from = None;
            }
            if let Some(t0) = self.started {
                if !self.braked && (c.approach <= APPROACH_EPS || c.approach < prev_approach - 1e-9) {
                    m.time_to_stop_s.push(now.seconds_since(t0));
                    self.braked = true;
                }
                if !self.stood_still && c.approach <= APPROACH_EPS {
                    m.time_to_standstill_s.push(now.seconds_since(t0));
                    m.standstill_bound_s.push(self.v0 / self.braking_deceleration);
                    self.stood_still = true;
                    self.started = None;
                }
            }
            self.held |= self.stood_still && c.speed <= APPROACH_EPS && c.angular <= APPROACH_EPS;
            if self.held {
                m.hold_stop_cycles += 1;
                m.hold_stop_ok += u64::from(c.approach <= APPROACH_EPS);
            }
        } else {
            if prev_predicted {
                if let Some(t0) = self.started.take() {
                    // Cleared before braking or standing still: the time to the clear counts.
                    if !self.braked {
                        m.time_to_stop_s.push(now.seconds_since(t0));
                    }
                }
                self.resume_from = Some(now);
            }
            if let Some(t0) = self.resume_from {
                if !c.commanded || !c.active {
                    self.resume_from = None;
                } else if c.speed > APPROACH_EPS || c.angular > APPROACH_EPS {
                    m.resume_s.push(now.seconds_since(t0));
                    self.resume_from = None;
                }
            }
        }
        self.previous = Some(*c);
    }

    /// The run's metrics (a resume still pending at the last cycle may count as missing).
    pub fn finish(self) -> StopEpisodeMetrics {
        let mut m = self.m;
        if let (Some(t0), Some(last)) = (self.resume_from, self.previous) {
            if last.stamp.seconds_since(t0) > RESUME_MISSING_AFTER_S {
                m.resume_missing += 1;
            }
        }
        m.hold_stop_fraction = hold_fraction(m.hold_stop_ok, m.hold_stop_cycles);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(t: f64, predicted: bool, approach: f64, speed: f64) -> CycleFacts {
        CycleFacts {
            stamp: Stamp::from_secs_f64(t),
            predicted_violation: predicted,
            approach,
            speed,
            angular: 0.0,
            commanded: true,
            active: true,
        }
    }

    fn score(cycles: &[CycleFacts]) -> StopEpisodeMetrics {
        let mut s = StopEpisodes::new(2.0);
        for c in cycles {
            s.step(c);
        }
        s.finish()
    }

    #[test]
    fn an_episode_that_starts_in_motion_is_timed_to_braking_and_to_standstill() {
        let m = score(&[
            cycle(0.00, false, 0.8, 0.8),
            cycle(0.02, true, 0.8, 0.8), // predicted, still approaching at the same speed
            cycle(0.04, true, 0.5, 0.5), // brakes
            cycle(0.06, true, 0.2, 0.2),
            cycle(0.08, true, 0.0, 0.0), // standstill
            cycle(0.10, true, 0.0, 0.0),
        ]);
        assert_eq!(m.predicted_violation_cycles, 5);
        assert_eq!(m.time_to_stop_s.len(), 1);
        assert!((m.time_to_stop_s[0] - 0.02).abs() < 1e-9, "{m:?}");
        assert!((m.time_to_standstill_s[0] - 0.06).abs() < 1e-9, "{m:?}");
        assert!((m.standstill_bound_s[0] - 0.4).abs() < 1e-9, "v₀ 0.8 / 2.0: {m:?}");
        assert_eq!((m.hold_stop_cycles, m.hold_stop_ok), (2, 2));
        assert_eq!(m.hold_stop_fraction, 1.0);
    }

    #[test]
    fn an_episode_that_starts_at_rest_times_nothing_and_an_approach_while_held_counts_against_the_hold() {
        let m = score(&[
            cycle(0.00, false, 0.0, 0.0),
            cycle(0.02, true, 0.0, 0.0),
            cycle(0.04, true, 0.0, 0.0),
            cycle(0.06, true, 0.05, 0.05), // creeps toward someone while the violation is predicted
        ]);
        assert!(m.time_to_stop_s.is_empty() && m.time_to_standstill_s.is_empty());
        assert_eq!((m.hold_stop_cycles, m.hold_stop_ok), (3, 2));
        assert!((m.hold_stop_fraction - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn an_episode_that_clears_before_braking_is_timed_to_the_clear_and_the_resume_is_timed() {
        let m = score(&[
            cycle(0.00, false, 0.5, 0.5),
            cycle(0.02, true, 0.5, 0.5),
            cycle(0.04, false, 0.0, 0.0), // cleared; held still for one more cycle
            cycle(0.06, false, 0.0, 0.0),
            cycle(0.08, false, 0.3, 0.3), // moves again
        ]);
        assert_eq!(m.time_to_stop_s.len(), 1);
        assert!((m.time_to_stop_s[0] - 0.02).abs() < 1e-9, "{m:?}");
        assert!(m.time_to_standstill_s.is_empty());
        assert_eq!(m.resume_s.len(), 1);
        assert!((m.resume_s[0] - 0.04).abs() < 1e-9, "{m:?}");
        assert_eq!(m.resume_missing, 0);
    }

    #[test]
    fn a_run_that_ends_waiting_long_after_the_clear_counts_a_missing_resume() {
        let mut cycles = vec![cycle(0.0, false, 0.0, 0.0), cycle(0.02, true, 0.0, 0.0)];
        cycles.extend((2..40).map(|k| cycle(0.02 * k as f64, false, 0.0, 0.0)));
        assert_eq!(score(&cycles).resume_missing, 1, "cleared at 0.04 s, still at rest at 0.78 s");
        cycles.truncate(20);
        assert_eq!(score(&cycles).resume_missing, 0, "0.34 s after the clear is not yet missing");
        // The operator letting go ends the wait: nothing is missing.
        let mut let_go = cycles.clone();
        let_go.extend((20..40).map(|k| CycleFacts { commanded: false, ..cycle(0.02 * k as f64, false, 0.0, 0.0) }));
        assert_eq!(score(&let_go).resume_missing, 0);
    }

    #[test]
    fn runs_add_up() {
        let a = score(&[cycle(0.0, false, 0.5, 0.5), cycle(0.02, true, 0.0, 0.0)]);
        let mut total = StopEpisodeMetrics::default();
        total.add(&a);
        total.add(&a);
        assert_eq!(total.time_to_stop_s.len(), 2);
        assert_eq!(total.predicted_violation_cycles, 2);
        assert_eq!(total.hold_stop_fraction, 1.0);
    }
}
