//! Velocity, acceleration and jerk limits per axis (vx, vy, vz, ωx, ωy, ωz).
//!
//! With `v₋` the previous output, `a₋` the previous acceleration, `dt` the time since the previous cycle
//! (clamped to `max_dt`) and `v*` the requested command:
//!
//! 1. **Velocity**: `v*` is scaled uniformly (direction kept) so that `|v*_i| ≤ max_velocity_i` (`velocity_limit`).
//! 2. The output lies on the segment from `v₋` to `v*`: `v = v₋ + λ·(v* − v₋)`, `λ ∈ [0, 1]`. Staying on the
//!    segment keeps the direction of the change, so the speed toward any point never leaves the range between
//!    the previous and the requested one (a reduction demanded by the separation monitor is never turned into a
//!    transient increase).
//! 3. **Acceleration**: `|v_i − v₋_i| ≤ A_i·dt`, where `A_i = max_acceleration_i` when axis `i` speeds up
//!    (`|v*_i| > |v₋_i|` with the same sign) and `max_deceleration_i` otherwise (`acceleration_limit`).
//! 4. **Jerk**: `|a_i − a₋_i| ≤ max_jerk_i·dt` with `a_i = (v_i − v₋_i)/dt`, applied by narrowing `λ`. When no
//!    `λ` satisfies both (3) and (4) — e.g. braking hard after accelerating — or when the cycle is *urgent* (an
//!    earlier stage reduced the command for a person: separation monitoring or zones), safety wins: the jerk
//!    bound is dropped for that cycle and (3) alone applies (`jerk_relaxed`). Braking for a person is therefore
//!    never delayed by a jerk ramp; the separation monitor's braking deceleration is always available.
//!
//! `dt ≤ 0` (repeated or backwards stamp) holds the previous output (`limiter_dt_invalid`), except when the cycle is
//! urgent: then one braking step toward the reduced command is taken as if `REPEATED_STAMP_DT` had passed, so a
//! stop for a person is never held back by a clock that has not advanced (sim time between `/clock` ticks).

use serde::{Deserialize, Serialize};

use super::reason::{Reason, StageOutcome};
use crate::config::{Bound, Cmp, ConfigError, FieldSpec, Range, Relation, Section};
use crate::time::Stamp;
use crate::twist::Twist;

/// Per-axis limits, arrays in the order (vx, vy, vz, ωx, ωy, ωz): linear [m/s, m/s², m/s³], angular
/// [rad/s, rad/s², rad/s³].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Highest speed per axis [m/s | rad/s] (≥ 0; 0 locks the axis).
    pub max_velocity: [f64; 6],
    /// Highest acceleration when speeding up [m/s² | rad/s²] (> 0).
    pub max_acceleration: [f64; 6],
    /// Highest deceleration when slowing down [m/s² | rad/s²] (≥ `max_acceleration` and, for vx/vy, ≥ the
    /// separation monitor's braking deceleration).
    pub max_deceleration: [f64; 6],
    /// Highest jerk [m/s³ | rad/s³] (> 0).
    pub max_jerk: [f64; 6],
    /// Longest `dt` used for one step \[s\]; a longer gap is treated as `max_dt` (> 0).
    pub max_dt: f64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_velocity: [1.0, 0.5, 0.5, 1.0, 1.0, 1.5],
            max_acceleration: [1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
            max_deceleration: [2.0, 2.0, 2.0, 4.0, 4.0, 4.0],
            max_jerk: [10.0, 10.0, 10.0, 20.0, 20.0, 20.0],
            max_dt: 0.1,
        }
    }
}

impl Section for LimitsConfig {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::reals(
            "max_velocity",
            Range::NON_NEGATIVE,
            "m/s | rad/s",
            "highest speed per axis vx, vy, vz, wx, wy, wz",
            &LimitsConfig::AXES,
            |c| &c.max_velocity,
        ),
        FieldSpec::reals(
            "max_acceleration",
            Range::POSITIVE,
            "m/s^2 | rad/s^2",
            "highest acceleration per axis when speeding up",
            &LimitsConfig::AXES,
            |c| &c.max_acceleration,
        ),
        FieldSpec::reals(
            "max_deceleration",
            Range::POSITIVE,
            "m/s^2 | rad/s^2",
            "highest deceleration per axis when slowing down",
            &LimitsConfig::AXES,
            |c| &c.max_deceleration,
        ),
        FieldSpec::reals(
            "max_jerk",
            Range::POSITIVE,
            "m/s^3 | rad/s^3",
            "highest jerk per axis",
            &LimitsConfig::AXES,
            |c| &c.max_jerk,
        ),
        FieldSpec::real(
            "max_dt",
            Range { lower: Bound::Open(0.0), upper: Bound::Closed(1.0) },
            "s",
            "longest time step used by the limiter; longer gaps count as this",
            |c| c.max_dt,
        ),
    ];
    const RELATIONS: &'static [Relation] =
        &[Relation { field: "max_deceleration", cmp: Cmp::AtLeast, other: "max_acceleration", first: None }];
}

impl LimitsConfig {
    /// Names of the axes, in the order of the arrays.
    pub const AXES: [&'static str; 6] = ["vx", "vy", "vz", "wx", "wy", "wz"];

    /// Checks every value against [`Section::FIELDS`] and [`Section::RELATIONS`]; names are relative
    /// (`max_jerk[wz]`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
    }
}

/// Time step assumed for an urgent reduction at a repeated stamp \[s\].
pub const REPEATED_STAMP_DT: f64 = 0.01;

/// Stateful rate limiter.
#[derive(Clone, Debug)]
pub struct MotionLimiter {
    config: LimitsConfig,
    last: Option<(Stamp, [f64; 6], [f64; 6])>,
}

impl MotionLimiter {
    /// A limiter at rest.
    pub fn new(config: LimitsConfig) -> Self {
        MotionLimiter { config, last: None }
    }

    /// The configuration.
    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// Forgets the motion state; the next output starts from rest (used after a forced stop).
    pub fn reset(&mut self, now: Stamp) {
        self.last = Some((now, [0.0; 6], [0.0; 6]));
    }

    /// Previous output (zero at rest).
    pub fn previous(&self) -> Twist {
        self.last.map_or(Twist::ZERO, |(_, v, _)| Twist::from_array(v))
    }

    /// Limits `target` at `now`; `urgent` drops the jerk bound when it would slow down a speed reduction. The
    /// outcome's scale is the uniform scale of the velocity limit; its reasons are `velocity_limit`,
    /// `acceleration_limit`, `jerk_relaxed` and `limiter_dt_invalid`.
    pub fn step(&mut self, now: Stamp, target: &Twist, urgent: bool) -> StageOutcome {
        let c = &self.config;
        let mut reasons = Vec::new();
        let mut t = target.to_array();
        let mut vscale: f64 = 1.0;
        for (v, max) in t.iter().zip(&c.max_velocity) {
            if v.abs() > *max {
                vscale = vscale.min(max / v.abs());
            }
        }
        if vscale < 1.0 {
            reasons.push(Reason::VelocityLimit);
            for v in &mut t {
                *v *= vscale;
            }
        }
        let (prev_t, v0, a0) = self.last.unwrap_or((now, [0.0; 6], [0.0; 6]));
        let dt_raw = now.seconds_since(prev_t);
        let repeated = self.last.is_some() && dt_raw <= 0.0;
        if repeated {
            reasons.push(Reason::LimiterDtInvalid);
            if !urgent {
                return StageOutcome { twist: Twist::from_array(v0), scale: vscale, reasons };
            }
        }
        // A repeated stamp (e.g. several decisions between two /clock ticks) still lets a reduction demanded for a
        // person through, one braking step of REPEATED_STAMP_DT at a time, instead of holding the previous command.
        let dt = if self.last.is_none() {
            c.max_dt
        } else if repeated {
            REPEATED_STAMP_DT.min(c.max_dt)
        } else {
            dt_raw.min(c.max_dt)
        };
        // Acceleration bound on λ.
        let mut lam_acc: f64 = 1.0;
        for i in 0..6 {
            let delta = t[i] - v0[i];
            if delta.abs() < 1e-12 {
                continue;
            }
            let speeding_up = t[i].abs() > v0[i].abs() && t[i] * v0[i] >= 0.0;
            let a_max = if speeding_up { c.max_acceleration[i] } else { c.max_deceleration[i] };
            lam_acc = lam_acc.min(a_max * dt / delta.abs());
        }
        if lam_acc < 1.0 {
            reasons.push(Reason::AccelerationLimit);
        }
        // Jerk bounds on λ: a_i = λ·delta_i/dt ∈ [a0_i − J_i·dt, a0_i + J_i·dt].
        let (mut lo, mut hi): (f64, f64) = (0.0, lam_acc);
        for i in 0..6 {
            let delta = t[i] - v0[i];
            let jdt = c.max_jerk[i] * dt;
            // Arrive without overshoot: the acceleration reached must be removable at the jerk limit within the
            // remaining velocity change, a²/(2J) ≤ (1 − λ)|Δ|  ⇒  λ ≤ (√(1 + 4q) − 1)/(2q), q = |Δ|/(2J·dt²).
            if delta.abs() >= 1e-12 {
                let q = delta.abs() / (2.0 * c.max_jerk[i] * dt * dt);
                hi = hi.min(((1.0 + 4.0 * q).sqrt() - 1.0) / (2.0 * q));
            }
            if delta.abs() < 1e-12 {
                if a0[i].abs() > jdt {
                    lo = f64::INFINITY;
                }
                continue;
            }
            let k = delta / dt;
            let (b1, b2) = ((a0[i] - jdt) / k, (a0[i] + jdt) / k);
            lo = lo.max(b1.min(b2));
            hi = hi.min(b1.max(b2));
        }
        // Urgent reductions (slower than now) brake at the deceleration limit without a jerk ramp.
        let braking = t.iter().map(|x| x * x).sum::<f64>() < v0.iter().map(|x| x * x).sum::<f64>();
        let lam = if lo <= hi && !(urgent && braking && hi < lam_acc) {
            hi
        } else {
            reasons.push(Reason::JerkRelaxed);
            lam_acc
        };
        let lam = lam.clamp(0.0, 1.0);
        let mut v = [0.0; 6];
        let mut a = [0.0; 6];
        for i in 0..6 {
            v[i] = v0[i] + lam * (t[i] - v0[i]);
            a[i] = (v[i] - v0[i]) / dt;
        }
        self.last = Some((now, v, a));
        StageOutcome { twist: Twist::from_array(v), scale: vscale, reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Stamp {
        Stamp(ms * 1_000_000)
    }

    #[test]
    fn velocity_is_scaled_uniformly() {
        let mut l = MotionLimiter::new(LimitsConfig {
            max_acceleration: [1e9; 6],
            max_deceleration: [1e9; 6],
            max_jerk: [1e12; 6],
            ..LimitsConfig::default()
        });
        let out = l.step(at(0), &Twist::planar(2.0, 0.5, 0.0), false);
        assert!((out.twist.linear.x - 1.0).abs() < 1e-12 && (out.twist.linear.y - 0.25).abs() < 1e-12);
        assert!(out.reasons.contains(&Reason::VelocityLimit));
    }

    #[test]
    fn acceleration_and_jerk_ramp_up_without_overshoot() {
        let cfg = LimitsConfig::default();
        let mut l = MotionLimiter::new(cfg.clone());
        l.reset(at(0));
        let mut v_prev = 0.0;
        let mut a_prev = 0.0;
        for k in 1..=200 {
            let out = l.step(at(k * 20), &Twist::planar(0.8, 0.0, 0.0), false);
            let v = out.twist.linear.x;
            let a = (v - v_prev) / 0.02;
            assert!(v <= 0.8 + 1e-12);
            assert!(a <= cfg.max_acceleration[0] + 1e-9);
            assert!((a - a_prev).abs() <= cfg.max_jerk[0] * 0.02 + 1e-9, "jerk at step {k}");
            v_prev = v;
            a_prev = a;
        }
        assert!((v_prev - 0.8).abs() < 1e-9);
    }

    #[test]
    fn braking_uses_deceleration_and_never_speeds_up() {
        let cfg = LimitsConfig::default();
        let mut l = MotionLimiter::new(cfg.clone());
        l.reset(at(0));
        for k in 1..=100 {
            l.step(at(k * 20), &Twist::planar(1.0, 0.0, 0.0), false);
        }
        let mut v_prev = l.previous().linear.x;
        for k in 101..=200 {
            let out = l.step(at(k * 20), &Twist::ZERO, true);
            let v = out.twist.linear.x;
            assert!(v <= v_prev + 1e-12);
            assert!(v_prev - v <= cfg.max_deceleration[0] * 0.02 + 1e-9);
            v_prev = v;
        }
        assert_eq!(v_prev, 0.0);
    }

    #[test]
    fn urgent_braking_is_not_jerk_limited() {
        let cfg = LimitsConfig::default();
        let mut smooth = MotionLimiter::new(cfg.clone());
        smooth.reset(at(0));
        for k in 1..=100 {
            smooth.step(at(k * 20), &Twist::planar(1.0, 0.0, 0.0), false);
        }
        let mut urgent = smooth.clone();
        let v_smooth = smooth.step(at(2020), &Twist::ZERO, false).twist.linear.x;
        let out = urgent.step(at(2020), &Twist::ZERO, true);
        assert!((out.twist.linear.x - (1.0 - cfg.max_deceleration[0] * 0.02)).abs() < 1e-9);
        assert!(out.twist.linear.x < v_smooth);
        assert!(out.reasons.contains(&Reason::JerkRelaxed));
    }

    #[test]
    fn repeated_stamp_holds_the_output() {
        let mut l = MotionLimiter::new(LimitsConfig::default());
        l.reset(at(0));
        let a = l.step(at(20), &Twist::planar(1.0, 0.0, 0.0), false).twist;
        let b = l.step(at(20), &Twist::planar(1.0, 0.0, 0.0), false);
        assert_eq!(a, b.twist);
        assert!(b.reasons.contains(&Reason::LimiterDtInvalid));
    }

    #[test]
    fn repeated_stamp_still_brakes_for_a_person() {
        let mut l = MotionLimiter::new(LimitsConfig::default());
        l.reset(at(0));
        let mut v = 0.0;
        for k in 1..=10 {
            v = l.step(at(20 * k), &Twist::planar(1.0, 0.0, 0.0), false).twist.linear.x;
        }
        assert!(v > 0.15, "moving before the stop: {v}");
        // the clock does not advance, but separation monitoring demands a stop: brake, one step at a time
        let b = l.step(at(200), &Twist::ZERO, true);
        assert!(b.reasons.contains(&Reason::LimiterDtInvalid));
        let braked = b.twist.linear.x;
        let expected = v - LimitsConfig::default().max_deceleration[0] * REPEATED_STAMP_DT;
        assert!((braked - expected.max(0.0)).abs() < 1e-9, "{braked} vs {expected}");
        let c = l.step(at(200), &Twist::ZERO, true).twist.linear.x;
        assert!(c < braked || c == 0.0);
        // a non-urgent command at the repeated stamp is held, never increased
        let d = l.step(at(200), &Twist::planar(1.0, 0.0, 0.0), false).twist.linear.x;
        assert_eq!(d, c);
    }
}
