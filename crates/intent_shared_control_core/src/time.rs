//! Time as data: stamps from messages or an injected clock, never read from the wall clock here.

use serde::{Deserialize, Serialize};

/// A point in time of whatever clock drives the system (wall, sim or bag), in nanoseconds since that clock's
/// epoch. Integer nanoseconds keep replays bit-identical.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp(pub i64);

impl Stamp {
    /// Builds a stamp from `builtin_interfaces/Time`-style seconds and nanoseconds.
    pub fn from_sec_nanosec(sec: i32, nanosec: u32) -> Self {
        Stamp(i64::from(sec) * 1_000_000_000 + i64::from(nanosec))
    }

    /// Splits into (seconds, nanoseconds in [0, 1e9)), the `builtin_interfaces/Time` layout.
    pub fn to_sec_nanosec(self) -> (i32, u32) {
        let sec = self.0.div_euclid(1_000_000_000);
        let nsec = self.0.rem_euclid(1_000_000_000);
        (sec.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32, nsec as u32)
    }

    /// Stamp from seconds (rounded to the nearest nanosecond).
    pub fn from_secs_f64(secs: f64) -> Self {
        Stamp((secs * 1e9).round() as i64)
    }

    /// Seconds since this clock's epoch.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }

    /// Signed time from `earlier` to `self` \[s\]; negative when `earlier` is in fact later.
    pub fn seconds_since(self, earlier: Stamp) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 * 1e-9
    }

    /// This stamp moved by `secs` seconds.
    pub fn add_secs(self, secs: f64) -> Stamp {
        Stamp(self.0.saturating_add((secs * 1e9).round() as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_nanosec_round_trip() {
        for (s, n) in [(0, 0), (1, 999_999_999), (-1, 5), (1_700_000_000, 123)] {
            assert_eq!(Stamp::from_sec_nanosec(s, n).to_sec_nanosec(), (s, n));
        }
    }

    #[test]
    fn seconds_since_is_signed() {
        let a = Stamp::from_secs_f64(10.0);
        let b = Stamp::from_secs_f64(10.25);
        assert!((b.seconds_since(a) - 0.25).abs() < 1e-12);
        assert!((a.seconds_since(b) + 0.25).abs() < 1e-12);
    }
}
