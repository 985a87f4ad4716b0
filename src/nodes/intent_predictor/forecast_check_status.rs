//! The `forecast_check` diagnostics status from the counts of the run-time check of the forecasts against the
//! model card's error bound ([`intent_shared_control_core::forecast_check`]).

use intent_shared_control_core::forecast_check::{ForecastCheck, StepSummary, ALARM_EVIDENCE, WINDOW_S};
use intent_shared_control_core::health::Level;

use crate::ros::diagnostics::Status;

/// What the status is made from.
pub(super) struct Counts {
    pub summary: Vec<StepSummary>,
    /// Checks and errors above the bound since the start, all look-aheads.
    pub checks: u64,
    pub exceeded: u64,
    pub quantile: f64,
    pub incomparable: u64,
    pub dropped: u64,
    /// Forecasts and sightings are kept in the odometry frame; otherwise in each capture's own frame.
    pub odometry: bool,
}

impl Counts {
    pub fn of(check: &ForecastCheck, odometry: bool) -> Self {
        Counts {
            summary: check.summary(),
            checks: check.steps().iter().map(|c| c.checks).sum(),
            exceeded: check.steps().iter().map(|c| c.exceeded).sum(),
            quantile: check.bound().quantile,
            incomparable: check.incomparable(),
            dropped: check.dropped(),
            odometry,
        }
    }
}

/// WARN while the alarm of some look-ahead is raised, or when no forecast can be compared; OK otherwise.
pub(super) fn status(c: &Counts) -> Status {
    let rate = |x: &StepSummary| {
        if x.recent_checks == 0 {
            0.0
        } else {
            x.recent_exceeded as f64 / x.recent_checks as f64
        }
    };
    let recent = |x: &StepSummary| {
        if x.recent_checks == 0 {
            format!("no check at {:.1} s in the last {WINDOW_S:.0} s", x.lookahead_s)
        } else {
            format!(
                "{:.2} % of the last {} checks at {:.1} s above it",
                100.0 * rate(x),
                x.recent_checks,
                x.lookahead_s
            )
        }
    };
    let allowed = 100.0 * (1.0 - c.quantile);
    // Without odometry a robot driving toward someone makes their forecasts miss by its own travel.
    let cause = if c.odometry {
        "people here move unlike the data the bound comes from, or tracking or odometry is off"
    } else {
        "people here move unlike the data the bound comes from, or tracking is off, or the robot moves (no odometry: its own motion toward people counts as theirs)"
    };
    let raised: Vec<&StepSummary> = c.summary.iter().filter(|x| x.alarm).collect();
    let (level, message) = if c.checks == 0 && c.incomparable > 0 {
        (
            Level::Warn,
            "no forecast can be compared with the model card's error bound (their look-ahead step differs)".to_owned(),
        )
    } else if c.checks == 0 {
        (Level::Ok, "no forecast checked yet".to_owned())
    } else if let Some(w) = raised.iter().max_by_key(|x| x.checks_to_clear) {
        let at: Vec<String> = raised.iter().map(|x| format!("{:.1} s", x.lookahead_s)).collect();
        (
            Level::Warn,
            format!(
                "forecasts miss the model card's real-data error bound more often than it allows at {} (clears after {} checks within the bound at {:.1} s; {}; card allows {allowed:.2} %): {cause}",
                at.join(", "),
                w.checks_to_clear,
                w.lookahead_s,
                recent(w),
            ),
        )
    } else {
        let strongest = c.summary.iter().max_by(|a, b| a.evidence.total_cmp(&b.evidence));
        let worst = c.summary.iter().filter(|x| x.recent_checks > 0).max_by(|a, b| rate(a).total_cmp(&rate(b)));
        let evidence =
            strongest.map(|x| format!("evidence {:.1} of {ALARM_EVIDENCE} at {:.1} s", x.evidence, x.lookahead_s));
        let recent = match worst {
            Some(w) => format!("worst: {}", recent(w)),
            None => format!("no check in the last {WINDOW_S:.0} s"),
        };
        (
            Level::Ok,
            format!(
                "no alarm: not enough evidence that forecasts miss the model card's real-data error bound more often than it allows ({}; {recent}; card allows {allowed:.2} %)",
                evidence.unwrap_or_default(),
            ),
        )
    };
    let list = |f: &dyn Fn(&StepSummary) -> Option<String>| {
        let v: Vec<String> = c.summary.iter().filter_map(f).collect();
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(" ")
        }
    };
    Status::new("forecast_check", level, message)
        .kv("checks_total", c.checks)
        .kv("bound_exceeded_total", c.exceeded)
        .kv(
            "recent_exceeded_by_lookahead",
            list(&|x| Some(format!("{:.1}:{}/{}", x.lookahead_s, x.recent_exceeded, x.recent_checks))),
        )
        .kv("bound_m_by_lookahead", list(&|x| Some(format!("{:.2}", x.bound_m))))
        .kv("quantile", c.quantile)
        .kv("alarm_evidence_by_lookahead", list(&|x| Some(format!("{:.1}:{:.2}", x.lookahead_s, x.evidence))))
        .kv("alarm_evidence_threshold", ALARM_EVIDENCE)
        .kv("alarm_raised_at_lookahead_s", list(&|x| x.alarm.then(|| format!("{:.1}", x.lookahead_s))))
        .kv("alarm_raised_since_start_at_lookahead_s", list(&|x| x.alarmed.then(|| format!("{:.1}", x.lookahead_s))))
        .kv("forecasts_dropped", c.dropped)
        .kv("forecasts_not_comparable", c.incomparable)
        .kv("frame", if c.odometry { "odometry" } else { "capture (no odometry)" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(lookahead_s: f64, recent: (usize, usize), evidence: f64, alarm: bool, to_clear: u64) -> StepSummary {
        StepSummary {
            lookahead_s,
            bound_m: 0.1 * lookahead_s * 10.0,
            recent_checks: recent.0,
            recent_exceeded: recent.1,
            alarm,
            alarmed: alarm,
            evidence,
            checks_to_clear: to_clear,
        }
    }

    fn counts(summary: Vec<StepSummary>, checks: u64, incomparable: u64) -> Counts {
        Counts { summary, checks, exceeded: 0, quantile: 0.999, incomparable, dropped: 0, odometry: true }
    }

    fn says(s: &Status, parts: &[&str]) {
        for part in parts {
            assert!(s.message.contains(part), "`{part}` not in: {}", s.message);
        }
    }

    fn value<'a>(s: &'a Status, key: &str) -> &'a str {
        s.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {key}"))
    }

    #[test]
    fn the_status_names_what_the_check_found_in_every_case() {
        // Nothing checked, nothing comparable: a warning (the card's bound does not fit the forecasts).
        let s = status(&counts(vec![step(0.1, (0, 0), 0.0, false, 0)], 0, 5));
        assert_eq!(s.level, Level::Warn);
        assert!(s.message.contains("no forecast can be compared"), "{}", s.message);
        // Nothing checked yet.
        let s = status(&counts(vec![step(0.1, (0, 0), 0.0, false, 0)], 0, 0));
        assert_eq!((s.level, s.message.as_str()), (Level::Ok, "no forecast checked yet"));
        // Checked, one comparable forecast among others that are not: judged on the checks.
        let s = status(&counts(vec![step(0.1, (40, 1), 2.3, false, 0), step(0.2, (20, 0), 0.0, false, 0)], 60, 3));
        assert_eq!(s.level, Level::Ok);
        assert!(s.message.starts_with("no alarm: not enough evidence"), "{}", s.message);
        says(&s, &["evidence 2.3 of 14 at 0.1 s", "worst: 2.50 % of the last 40 checks at 0.1 s above it"]);
        assert_eq!(value(&s, "alarm_evidence_by_lookahead"), "0.1:2.30 0.2:0.00");
        assert_eq!(value(&s, "alarm_raised_at_lookahead_s"), "none");
        // Checked earlier, nobody seen for the window since.
        let s = status(&counts(vec![step(0.1, (0, 0), 1.0, false, 0)], 60, 0));
        assert_eq!(s.level, Level::Ok);
        assert!(s.message.contains("no check in the last 300 s"), "{}", s.message);
        // Raised at two look-aheads: the one farthest from clearing is named, with its recent share.
        let s =
            status(&counts(vec![step(0.1, (600, 9), 14.0, true, 1547), step(0.2, (300, 8), 3.0, true, 331)], 900, 0));
        assert_eq!(s.level, Level::Warn);
        says(
            &s,
            &[
                "more often than it allows at 0.1 s, 0.2 s",
                "clears after 1547 checks within the bound at 0.1 s",
                "1.50 % of the last 600 checks at 0.1 s above it",
            ],
        );
        assert_eq!(value(&s, "alarm_raised_at_lookahead_s"), "0.1 0.2");
        assert!(s.message.ends_with("tracking or odometry is off"), "{}", s.message);
        assert_eq!(value(&s, "frame"), "odometry");
        // Raised, and nobody seen since: the message says no check has come to clear it.
        let s = status(&counts(vec![step(0.1, (0, 0), 14.0, true, 1547)], 900, 0));
        assert_eq!(s.level, Level::Warn);
        assert!(s.message.contains("no check at 0.1 s in the last 300 s"), "{}", s.message);
        // Without odometry the warning names the robot's own motion as a cause.
        let s = status(&Counts { odometry: false, ..counts(vec![step(0.1, (600, 9), 14.0, true, 1547)], 900, 0) });
        assert!(s.message.contains("the robot moves (no odometry"), "{}", s.message);
        assert_eq!(value(&s, "frame"), "capture (no odometry)");
    }
}
