//! Stop and slowdown zones around people, with hysteresis.
//!
//! With `d` the surface distance from the robot to the nearest current keypoint of anyone:
//! - **stop zone**: entered when `d < stop_distance`, left when `d > stop_distance + hysteresis`. While inside,
//!   a command that approaches any keypoint within `stop_distance + hysteresis` becomes zero (`zone_stop`);
//!   motion away stays allowed.
//! - **slowdown zone**: entered when `d < slowdown_distance`, left when `d > slowdown_distance + hysteresis`.
//!   While inside, a command that approaches any keypoint within `slowdown_distance + hysteresis` is scaled so
//!   that `|v| ≤ slowdown_linear_speed` and `|ω| ≤ slowdown_angular_speed` (`zone_slowdown`).

use serde::{Deserialize, Serialize};

use super::geometry::RobotShape;
use super::separation::HumanPoints;
use crate::twist::Twist;

/// Zone distances \[m\] and speeds. Units in the field docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZoneConfig {
    /// Stop zone radius from the robot's surface \[m\].
    pub stop_distance: f64,
    /// Slowdown zone radius from the robot's surface \[m\] (≥ `stop_distance`).
    pub slowdown_distance: f64,
    /// Extra distance needed to leave a zone \[m\].
    pub hysteresis: f64,
    /// Linear speed limit in the slowdown zone [m/s].
    pub slowdown_linear_speed: f64,
    /// Angular speed limit in the slowdown zone [rad/s].
    pub slowdown_angular_speed: f64,
    /// In the stop zone a command counts as moving away only when its speed away from every keypoint in the
    /// zone is at least this fraction of the robot's linear speed [0, 1] (0 allows sliding past a person).
    pub min_away_fraction: f64,
}

impl Default for ZoneConfig {
    fn default() -> Self {
        ZoneConfig {
            stop_distance: 0.3,
            slowdown_distance: 1.0,
            hysteresis: 0.1,
            slowdown_linear_speed: 0.3,
            slowdown_angular_speed: 0.6,
            min_away_fraction: 0.3,
        }
    }
}

/// Which zone the nearest human is in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Zone {
    Clear,
    Slowdown,
    Stop,
}

/// Zone limiter with hysteresis.
#[derive(Clone, Debug)]
pub struct ZoneLimiter {
    config: ZoneConfig,
    zone: Zone,
}

impl ZoneLimiter {
    /// A limiter in the clear state.
    pub fn new(config: ZoneConfig) -> Self {
        ZoneLimiter { config, zone: Zone::Clear }
    }

    /// Current zone.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// Updates the zone from `humans` and limits `twist`; returns the twist, the scale applied and the reason.
    pub fn limit(
        &mut self,
        shape: &RobotShape,
        twist: &Twist,
        humans: &[HumanPoints],
    ) -> (Twist, f64, Option<&'static str>) {
        let c = &self.config;
        let d = humans.iter().map(|h| h.distance(shape)).fold(f64::INFINITY, f64::min);
        self.zone = match self.zone {
            _ if d < c.stop_distance => Zone::Stop,
            Zone::Stop if d <= c.stop_distance + c.hysteresis => Zone::Stop,
            _ if d < c.slowdown_distance => Zone::Slowdown,
            Zone::Stop | Zone::Slowdown if d <= c.slowdown_distance + c.hysteresis => Zone::Slowdown,
            _ => Zone::Clear,
        };
        let approaching_within = |r: f64, away: f64| {
            let margin = away * twist.linear.norm();
            humans.iter().any(|h| {
                let points = h.points.iter().map(|p| (p, 0.0));
                let reach = h.reach.iter().map(|(a, extra)| (a, *extra));
                points.chain(reach).any(|(p, extra)| {
                    let rel = shape.relation(twist, p);
                    rel.distance - extra - h.inflation <= r && rel.approach_speed > 1e-9 - margin && !twist.is_zero()
                })
            })
        };
        match self.zone {
            Zone::Stop if approaching_within(c.stop_distance + c.hysteresis, c.min_away_fraction) => {
                (Twist::ZERO, 0.0, Some("zone_stop"))
            }
            Zone::Stop | Zone::Slowdown if approaching_within(c.slowdown_distance + c.hysteresis, 0.0) => {
                let v = twist.linear.norm();
                let w = twist.angular.norm();
                let mut k: f64 = 1.0;
                if v > c.slowdown_linear_speed {
                    k = k.min(c.slowdown_linear_speed / v);
                }
                if w > c.slowdown_angular_speed {
                    k = k.min(c.slowdown_angular_speed / w);
                }
                if k < 1.0 {
                    (twist.scaled(k), k, Some("zone_slowdown"))
                } else {
                    (*twist, 1.0, None)
                }
            }
            _ => (*twist, 1.0, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Point2;

    fn at(x: f64) -> Vec<HumanPoints> {
        vec![HumanPoints::current(1, vec![Point2::new(x, 0.0)])]
    }

    #[test]
    fn zones_with_hysteresis() {
        let shape = RobotShape::Radius { radius: 0.3 };
        let mut z = ZoneLimiter::new(ZoneConfig::default());
        let fwd = Twist::planar(0.8, 0.0, 0.0);
        assert_eq!(z.limit(&shape, &fwd, &at(2.0)).2, None);
        assert_eq!(z.zone(), Zone::Clear);
        let (t, k, r) = z.limit(&shape, &fwd, &at(1.2));
        assert_eq!((z.zone(), r), (Zone::Slowdown, Some("zone_slowdown")));
        assert!((t.linear.x - 0.3).abs() < 1e-12 && (k - 0.375).abs() < 1e-12);
        assert_eq!(z.limit(&shape, &fwd, &at(0.55)).0, Twist::ZERO);
        assert_eq!(z.zone(), Zone::Stop);
        // Within the hysteresis band the stop holds; beyond it, back to slowdown.
        z.limit(&shape, &fwd, &at(0.65));
        assert_eq!(z.zone(), Zone::Stop);
        z.limit(&shape, &fwd, &at(0.75));
        assert_eq!(z.zone(), Zone::Slowdown);
        z.limit(&shape, &fwd, &at(1.35));
        assert_eq!(z.zone(), Zone::Slowdown);
        z.limit(&shape, &fwd, &at(1.45));
        assert_eq!(z.zone(), Zone::Clear);
    }

    #[test]
    fn moving_away_is_allowed_in_the_stop_zone() {
        let shape = RobotShape::Radius { radius: 0.3 };
        let mut z = ZoneLimiter::new(ZoneConfig::default());
        let back = Twist::planar(-0.8, 0.0, 0.0);
        assert_eq!(z.limit(&shape, &back, &at(0.4)), (back, 1.0, None));
        assert_eq!(z.zone(), Zone::Stop);
        // Sliding past right next to the person is stopped; leaving at an angle away is not.
        let sideways = Twist::planar(0.0, 0.5, 0.0);
        assert_eq!(z.limit(&shape, &sideways, &at(0.4)).2, Some("zone_stop"));
        let away_diag = Twist::planar(-0.4, 0.3, 0.0);
        assert_eq!(z.limit(&shape, &away_diag, &at(0.4)).2, None);
    }
}
