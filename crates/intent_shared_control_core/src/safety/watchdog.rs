//! Stale-input watchdog: the last stage of the safety chain. Forces an explicit zero when the people sensor has
//! gone quiet, when the control cycle itself stalled or ran backwards, or when an earlier stage (or the
//! operator's enable) demanded a stop.
//!
//! | condition | reason |
//! |---|---|
//! | newest skeleton stamp older than `skeleton_timeout` | `skeletons_stale` |
//! | time since the previous cycle > `max_cycle_gap` | `cycle_gap` (forces one zero cycle, then resumes from rest) |
//! | cycle time earlier than the previous one | `clock_backwards` |

use serde::{Deserialize, Serialize};

use super::reason::{Reason, StageOutcome};
use crate::config::{ConfigError, FieldSpec, Range, RunTime, Section};
use crate::time::Stamp;
use crate::twist::Twist;

/// Watchdog timeouts \[s\].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchdogConfig {
    /// Skeletons older than this are stale \[s\] (> 0).
    pub skeleton_timeout: f64,
    /// Longest allowed time between two control cycles \[s\] (> 0).
    pub max_cycle_gap: f64,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        WatchdogConfig { skeleton_timeout: 0.3, max_cycle_gap: 0.25 }
    }
}

impl Section for WatchdogConfig {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::<Self>::real(
            "skeleton_timeout",
            Range::POSITIVE,
            "s",
            "skeletons older than this are stale: protective stop",
            |c| c.skeleton_timeout,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "max_cycle_gap",
            Range::POSITIVE,
            "s",
            "longest allowed time between two control cycles",
            |c| c.max_cycle_gap,
        )
        .at_run_time(RunTime::Lower),
    ];
}

impl WatchdogConfig {
    /// Checks every value against [`Section::FIELDS`]; names are relative.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
    }
}

/// The watchdog stage.
#[derive(Clone, Debug)]
pub struct StaleInputWatchdog {
    config: WatchdogConfig,
    last_cycle: Option<Stamp>,
}

impl StaleInputWatchdog {
    pub fn new(config: WatchdogConfig) -> Self {
        StaleInputWatchdog { config, last_cycle: None }
    }

    /// Goes on from `other`'s last cycle (a gap across a parameter change is still a gap).
    pub fn continue_from(&mut self, other: &StaleInputWatchdog) {
        self.last_cycle = other.last_cycle;
    }

    /// The configuration.
    pub fn config(&self) -> &WatchdogConfig {
        &self.config
    }

    /// Checks the cycle at `now` with the newest skeleton stamp: `twist` passed on, or zero (scale 0) with the
    /// reasons, all faults, that force a stop.
    pub fn check(&mut self, now: Stamp, newest_skeleton: Option<Stamp>, twist: &Twist) -> StageOutcome {
        let mut reasons = Vec::new();
        if newest_skeleton.is_some_and(|s| now.seconds_since(s) > self.config.skeleton_timeout) {
            reasons.push(Reason::SkeletonsStale);
        }
        match self.last_cycle {
            Some(last) if now < last => reasons.push(Reason::ClockBackwards),
            Some(last) if now.seconds_since(last) > self.config.max_cycle_gap => reasons.push(Reason::CycleGap),
            _ => {}
        }
        if self.last_cycle.is_none_or(|l| now > l) {
            self.last_cycle = Some(now);
        }
        if reasons.is_empty() {
            StageOutcome::pass(*twist)
        } else {
            StageOutcome { twist: Twist::ZERO, scale: 0.0, reasons }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_skeletons_gaps_and_backwards_time() {
        let mut w = StaleInputWatchdog::new(WatchdogConfig::default());
        let s = |t: f64| Stamp::from_secs_f64(t);
        let go = Twist::planar(0.5, 0.0, 0.0);
        assert_eq!(w.check(s(1.0), Some(s(0.9)), &go), StageOutcome::pass(go));
        let stale = w.check(s(1.1), Some(s(0.7)), &go);
        assert_eq!((stale.twist, stale.reasons), (Twist::ZERO, vec![Reason::SkeletonsStale]));
        assert_eq!(w.check(s(1.5), Some(s(1.5)), &go).reasons, vec![Reason::CycleGap]);
        assert_eq!(w.check(s(1.4), Some(s(1.4)), &go).reasons, vec![Reason::ClockBackwards]);
        assert!(w.check(s(1.52), Some(s(1.5)), &go).reasons.is_empty());
    }
}
