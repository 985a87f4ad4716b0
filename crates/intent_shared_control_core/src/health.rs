//! Health monitors (like diagnostic_updater's frequency and timestamp status), as values with a level and a
//! reason; mapped to `diagnostic_msgs` only in the ROS adapter. Time is passed in.

use std::collections::VecDeque;

use crate::time::Stamp;

/// Severity, ordered like `diagnostic_msgs/DiagnosticStatus` levels.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Ok = 0,
    Warn = 1,
    Error = 2,
    Stale = 3,
}

/// One monitor's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    pub level: Level,
    pub message: String,
}

impl Health {
    pub fn ok(message: impl Into<String>) -> Self {
        Health { level: Level::Ok, message: message.into() }
    }
}

/// Rate of an input over a sliding window of arrival stamps, checked against an expected rate ± tolerance.
#[derive(Clone, Debug)]
pub struct RateMonitor {
    expected_hz: f64,
    tolerance: f64,
    window_s: f64,
    arrivals: VecDeque<Stamp>,
    capacity: usize,
}

impl RateMonitor {
    /// `expected_hz` \[Hz\], `tolerance` as a fraction (0.1 = ±10 %), `window_s` \[s\] over which the rate is measured.
    pub fn new(expected_hz: f64, tolerance: f64, window_s: f64) -> Self {
        let capacity = ((expected_hz * window_s * 4.0).ceil() as usize).clamp(8, 100_000);
        RateMonitor { expected_hz, tolerance, window_s, arrivals: VecDeque::with_capacity(capacity), capacity }
    }

    /// Records one arrival at `now`.
    pub fn tick(&mut self, now: Stamp) {
        if self.arrivals.len() == self.capacity {
            self.arrivals.pop_front();
        }
        self.arrivals.push_back(now);
    }

    /// Measured rate over the window ending at `now` \[Hz\].
    pub fn rate(&mut self, now: Stamp) -> f64 {
        while self.arrivals.front().is_some_and(|t| now.seconds_since(*t) > self.window_s) {
            self.arrivals.pop_front();
        }
        self.arrivals.len() as f64 / self.window_s
    }

    /// OK within tolerance, WARN outside it, ERROR when nothing arrived in the window.
    pub fn check(&mut self, now: Stamp) -> Health {
        let rate = self.rate(now);
        let lo = self.expected_hz * (1.0 - self.tolerance);
        let hi = self.expected_hz * (1.0 + self.tolerance);
        let message = format!("{rate:.1} Hz (expected {:.1} Hz ± {:.0} %)", self.expected_hz, self.tolerance * 100.0);
        let level = if rate == 0.0 {
            Level::Error
        } else if rate < lo || rate > hi {
            Level::Warn
        } else {
            Level::Ok
        };
        Health { level, message }
    }
}

/// Age of the newest message stamp relative to `now`, against warn/error thresholds \[s\].
#[derive(Clone, Debug)]
pub struct StampAgeMonitor {
    warn_s: f64,
    error_s: f64,
    newest: Option<Stamp>,
}

impl StampAgeMonitor {
    pub fn new(warn_s: f64, error_s: f64) -> Self {
        StampAgeMonitor { warn_s, error_s, newest: None }
    }

    pub fn observe(&mut self, stamp: Stamp) {
        self.newest = Some(self.newest.map_or(stamp, |n| n.max(stamp)));
    }

    /// Age \[s\] of the newest stamp at `now`, if any was seen.
    pub fn age(&self, now: Stamp) -> Option<f64> {
        self.newest.map(|n| now.seconds_since(n))
    }

    pub fn check(&self, now: Stamp) -> Health {
        match self.age(now) {
            None => Health { level: Level::Error, message: "no message received".into() },
            Some(age) if age > self.error_s => {
                Health { level: Level::Error, message: format!("stamp age {age:.3} s > {:.3} s", self.error_s) }
            }
            Some(age) if age > self.warn_s || age < -self.warn_s => {
                Health { level: Level::Warn, message: format!("stamp age {age:.3} s") }
            }
            Some(age) => Health::ok(format!("stamp age {age:.3} s")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_monitor_levels() {
        let mut m = RateMonitor::new(30.0, 0.2, 1.0);
        let t0 = Stamp::from_secs_f64(100.0);
        assert_eq!(m.check(t0).level, Level::Error);
        for i in 0..30 {
            m.tick(t0.add_secs(i as f64 / 30.0));
        }
        assert_eq!(m.check(t0.add_secs(0.99)).level, Level::Ok);
        assert_eq!(m.check(t0.add_secs(1.5)).level, Level::Warn); // half the window is empty
        assert_eq!(m.check(t0.add_secs(5.0)).level, Level::Error);
    }

    #[test]
    fn stamp_age_levels() {
        let mut m = StampAgeMonitor::new(0.1, 0.5);
        let t0 = Stamp::from_secs_f64(10.0);
        assert_eq!(m.check(t0).level, Level::Error);
        m.observe(t0);
        assert_eq!(m.check(t0.add_secs(0.05)).level, Level::Ok);
        assert_eq!(m.check(t0.add_secs(0.2)).level, Level::Warn);
        assert_eq!(m.check(t0.add_secs(0.6)).level, Level::Error);
        m.observe(t0.add_secs(-1.0)); // an older stamp does not make it younger or older
        assert_eq!(m.age(t0.add_secs(0.05)).map(|a| (a * 100.0).round()), Some(5.0));
    }
}
