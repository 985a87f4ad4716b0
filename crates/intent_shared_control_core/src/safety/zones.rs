//! Stop and slowdown zones around people, with hysteresis.
//!
//! With `d` the surface distance from the robot to the nearest current keypoint of anyone:
//! - **stop zone**: entered when `d < stop_distance`, left when `d > stop_distance + hysteresis`. While inside,
//!   a command that approaches any keypoint within `stop_distance + hysteresis` becomes zero (`zone_stop`);
//!   "approaches" as separation monitoring judges it (beyond the [`ApproachTolerance`] for a person seen whole,
//!   anything but a motion clearly away for one seen in part). Sliding past or turning runs at slowdown speeds,
//!   motion clearly away stays free.
//! - **slowdown zone**: entered when `d < slowdown_distance`, left when `d > slowdown_distance + hysteresis`.
//!   While inside, a command that approaches any keypoint within `slowdown_distance + hysteresis` is scaled so
//!   that `|v| ≤ slowdown_linear_speed` and `|ω| ≤ slowdown_angular_speed` (`zone_slowdown`).

use serde::{Deserialize, Serialize};

use super::geometry::{ApproachTolerance, PointRelation, RobotBody};
use super::reason::{Reason, StageOutcome};
use super::separation::HumanPoints;
use crate::config::{Cmp, ConfigError, FieldSpec, Range, Relation, RunTime, Section};
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
    /// In the stop zone, for a person seen only in part, a command counts as moving away only when its speed
    /// away from every seen point in the zone is at least this fraction of the robot's linear speed [0, 1]; for
    /// anyone, a motion not this clearly away runs at slowdown speeds.
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

impl Section for ZoneConfig {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::<Self>::real(
            "stop_distance",
            Range::NON_NEGATIVE,
            "m",
            "stop zone radius from the robot's surface",
            |c| c.stop_distance,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "slowdown_distance",
            Range::NON_NEGATIVE,
            "m",
            "slowdown zone radius from the robot's surface, >= stop_distance",
            |c| c.slowdown_distance,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real("hysteresis", Range::NON_NEGATIVE, "m", "extra distance needed to leave a zone", |c| {
            c.hysteresis
        })
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "slowdown_linear_speed",
            Range::NON_NEGATIVE,
            "m/s",
            "linear speed limit in the slowdown zone",
            |c| c.slowdown_linear_speed,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "slowdown_angular_speed",
            Range::NON_NEGATIVE,
            "rad/s",
            "angular speed limit in the slowdown zone",
            |c| c.slowdown_angular_speed,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "min_away_fraction",
            Range::UNIT,
            "",
            "in the stop zone, a command counts as moving away only with at least this share of its speed away \
             from the human (a person seen only in part: else stopped; seen whole: else at slowdown speeds)",
            |c| c.min_away_fraction,
        )
        .at_run_time(RunTime::Raise),
    ];
    const RELATIONS: &'static [Relation] =
        &[Relation { field: "slowdown_distance", cmp: Cmp::AtLeast, other: "stop_distance", first: None }];
}

impl ZoneConfig {
    /// Checks every value against [`Section::FIELDS`] and [`Section::RELATIONS`]; names are relative.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
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

    /// Goes on from `other`'s zone (its hysteresis state) under this limiter's configuration.
    pub fn continue_from(&mut self, other: &ZoneLimiter) {
        self.zone = other.zone;
    }

    /// Current zone.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// Updates the zone from `humans` and limits `twist`: the twist, the scale applied and the reason
    /// (`zone_stop` or `zone_slowdown`, if any).
    pub fn limit(
        &mut self,
        shape: &RobotBody,
        tolerance: &ApproachTolerance,
        twist: &Twist,
        humans: &[HumanPoints],
    ) -> StageOutcome {
        let c = &self.config;
        let d = humans.iter().map(|h| h.distance(shape)).fold(f64::INFINITY, f64::min);
        self.zone = match self.zone {
            _ if d < c.stop_distance => Zone::Stop,
            Zone::Stop if d <= c.stop_distance + c.hysteresis => Zone::Stop,
            _ if d < c.slowdown_distance => Zone::Slowdown,
            Zone::Stop | Zone::Slowdown if d <= c.slowdown_distance + c.hysteresis => Zone::Slowdown,
            _ => Zone::Clear,
        };
        let linear = twist.linear.x.hypot(twist.linear.y);
        let sweeps = shape.sweeps(twist);
        // Any point (or the reach of a hidden hand) within `r` for which `counts(relation, whole)` holds.
        let any_within = |r: f64, counts: &dyn Fn(&PointRelation, bool) -> bool| {
            sweeps
                && humans.iter().any(|h| {
                    let points = h.points.iter().map(|p| (p, 0.0));
                    let reach = h.reach.iter().map(|(a, extra)| (a, *extra));
                    points.chain(reach).any(|(p, extra)| {
                        let rel = shape.relation(twist, p);
                        rel.distance - extra - h.inflation <= r && counts(&rel, h.whole)
                    })
                })
        };
        // Approaching: beyond the tolerance for a person seen whole; for one seen in part, anything but a
        // motion clearly away (an unseen limb may lie beside the seen points).
        let approaching = |rel: &PointRelation, whole: bool| {
            if whole {
                rel.approaches(tolerance)
            } else {
                rel.approach_speed > -c.min_away_fraction * linear || rel.approach_speed.is_nan()
            }
        };
        let not_clearly_away = |rel: &PointRelation, _: bool| {
            rel.approach_speed > -c.min_away_fraction * linear || rel.approach_speed.is_nan()
        };
        let stop_reach = c.stop_distance + c.hysteresis;
        match self.zone {
            Zone::Stop if any_within(stop_reach, &approaching) => {
                StageOutcome::scaled(Twist::ZERO, 0.0, Some(Reason::ZoneStop))
            }
            // Sliding past or turning right next to someone: allowed, at slowdown speeds.
            Zone::Stop if any_within(stop_reach, &not_clearly_away) => self.slowdown(twist),
            Zone::Stop | Zone::Slowdown
                if any_within(c.slowdown_distance + c.hysteresis, &|r, _| r.approach_speed > 1e-9) =>
            {
                self.slowdown(twist)
            }
            _ => StageOutcome::pass(*twist),
        }
    }

    /// `twist` scaled to the slowdown speeds.
    fn slowdown(&self, twist: &Twist) -> StageOutcome {
        let c = &self.config;
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
            StageOutcome::scaled(twist.scaled(k), k, Some(Reason::ZoneSlowdown))
        } else {
            StageOutcome::pass(*twist)
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Point3;

    fn at(x: f64) -> Vec<HumanPoints> {
        vec![HumanPoints { whole: true, ..HumanPoints::current(1, vec![Point3::new(x, 0.0, 0.0)]) }]
    }

    const TOL: ApproachTolerance = ApproachTolerance { fraction: 0.05, speed: 0.02 };

    #[test]
    fn zones_with_hysteresis() {
        let shape = RobotBody::planar(crate::safety::RobotShape::Radius { radius: 0.3 });
        let mut z = ZoneLimiter::new(ZoneConfig::default());
        let fwd = Twist::planar(0.8, 0.0, 0.0);
        assert_eq!(z.limit(&shape, &TOL, &fwd, &at(2.0)).reason(), None);
        assert_eq!(z.zone(), Zone::Clear);
        let StageOutcome { twist: t, scale: k, reasons: r } = z.limit(&shape, &TOL, &fwd, &at(1.2));
        assert_eq!((z.zone(), r), (Zone::Slowdown, vec![Reason::ZoneSlowdown]));
        assert!((t.linear.x - 0.3).abs() < 1e-12 && (k - 0.375).abs() < 1e-12);
        assert_eq!(z.limit(&shape, &TOL, &fwd, &at(0.55)).twist, Twist::ZERO);
        assert_eq!(z.zone(), Zone::Stop);
        // Within the hysteresis band the stop holds; beyond it, back to slowdown.
        z.limit(&shape, &TOL, &fwd, &at(0.65));
        assert_eq!(z.zone(), Zone::Stop);
        z.limit(&shape, &TOL, &fwd, &at(0.75));
        assert_eq!(z.zone(), Zone::Slowdown);
        z.limit(&shape, &TOL, &fwd, &at(1.35));
        assert_eq!(z.zone(), Zone::Slowdown);
        z.limit(&shape, &TOL, &fwd, &at(1.45));
        assert_eq!(z.zone(), Zone::Clear);
    }

    #[test]
    fn moving_away_is_allowed_in_the_stop_zone() {
        let shape = RobotBody::planar(crate::safety::RobotShape::Radius { radius: 0.3 });
        let mut z = ZoneLimiter::new(ZoneConfig::default());
        let back = Twist::planar(-0.8, 0.0, 0.0);
        assert_eq!(z.limit(&shape, &TOL, &back, &at(0.4)), StageOutcome::pass(back));
        assert_eq!(z.zone(), Zone::Stop);
        // Sliding past right next to the person goes on at slowdown speed; leaving at an angle away is free;
        // any approach beyond the tolerance is stopped.
        let sideways = Twist::planar(0.0, 0.5, 0.0);
        let out = z.limit(&shape, &TOL, &sideways, &at(0.4));
        assert_eq!((out.twist.linear.y, out.reason()), (0.3, Some(Reason::ZoneSlowdown)));
        let away_diag = Twist::planar(-0.4, 0.3, 0.0);
        assert_eq!(z.limit(&shape, &TOL, &away_diag, &at(0.4)).reason(), None);
        assert_eq!(z.limit(&shape, &TOL, &Twist::planar(0.03, 0.5, 0.0), &at(0.4)).reason(), Some(Reason::ZoneStop));
        // Seen only in part: sliding past is stopped, leaving at an angle away is not.
        let mut part = at(0.4);
        part[0].whole = false;
        assert_eq!(z.limit(&shape, &TOL, &sideways, &part).reason(), Some(Reason::ZoneStop));
        assert_eq!(z.limit(&shape, &TOL, &away_diag, &part).reason(), None);
    }
}
