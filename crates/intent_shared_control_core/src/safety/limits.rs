//! Velocity, acceleration and jerk limits per axis (vx, vy, vz, ωx, ωy, ωz).
//!
//! With `v₋` the previous output, `a₋` the previous acceleration, `dt` the time since the previous cycle
//! (clamped to `max_dt`) and `v*` the requested command:
//!
//! 1. **Velocity**: `v*` is scaled uniformly (direction kept) so that `|v*_i| ≤ max_velocity_i` (`velocity_limit`).
//! 2. **Braking first**: axis `i` *speeds up* when `|v*_i| > |v₋_i|` with the same sign, and *brakes* otherwise
//!    (slows down or reverses). The speeding-up (and unchanged) axes move by one fraction `λ` of their requested
//!    change, the braking axes by their own fraction `λ_b ≥ λ`: `v_i = v₋_i + λ_i·(v*_i − v₋_i)`, `λ_i ∈ [0, 1]`.
//!    `λ` is bounded by every axis (3, 4); `λ_b` only by the braking axes, so an axis speeding up never slows
//!    braking (with one fraction for all, a turn starting at 2 rad/s² held the forward braking toward a person to
//!    a few percent of `max_deceleration`).
//! 3. **Acceleration**: `|v_i − v₋_i| ≤ A_i·dt`, where `A_i = max_acceleration_i` when axis `i` speeds up and
//!    `max_deceleration_i` when it brakes (`acceleration_limit`).
//! 4. **Jerk**: `|a_i − a₋_i| ≤ max_jerk_i·dt` with `a_i = (v_i − v₋_i)/dt`, applied by narrowing the fraction.
//!    When no fraction satisfies both (3) and (4) — e.g. braking hard after accelerating — or when the cycle is
//!    *urgent* (an earlier stage reduced the command for a person: separation monitoring or zones), safety wins:
//!    the jerk bound is dropped for that cycle and (3) alone applies (`jerk_relaxed`). On an urgent cycle `λ_b` is
//!    the braking axes' deceleration bound itself: the braking axis that bounds it brakes at `max_deceleration`,
//!    whatever the other axes do, so the separation monitor's braking deceleration is always available.
//!
//! **What the output keeps of the request.** Every axis stays between `v₋_i` and `v*_i` (never beyond the
//! request, never away from it). The braking axes together stay on the segment from their previous to their
//! requested values, and so do the speeding-up axes together. When no axis speeds up, or none brakes,
//! `λ_b = λ` and the whole output lies on the segment from `v₋` to `v*`: the speed toward any point never leaves
//! the range between the previous and the requested one (a reduction demanded by the separation monitor is never
//! turned into a transient increase). In a step where some axes brake while others speed up, the speed toward a
//! point `p`, linear in the twist (`s_p`), is
//! `s_p(v) = s_p(v₋ + λ_b·(v* − v₋)) − (λ_b − λ)·s_p(Δ_up)`, `Δ_up` the requested change of the speeding-up
//! axes: the segment's value at the braking fraction, higher only toward a point that the speeding-up axes were
//! to move away from, and by no more than the part of that move their acceleration bound has not yet allowed.
//! The range property therefore still holds toward every point whose speed does not depend on the speeding-up
//! axes — e.g. for a disc robot (its turn on the spot moves no point of the world, [`crate::safety::RobotBody::sweeps`])
//! whose turn speeds up while its linear axes brake, the case of a back-off with a turn away — and its upper half (never faster toward `p`
//! than both the previous and the requested motion) toward every point the speeding-up axes approach. Physically: the speeding-up axes cannot gain speed faster than their acceleration bound in
//! either design; holding the braking axes back for them (one fraction) kept the robot at its previous, faster
//! motion toward whatever it was braking for, while braking on its own removes that motion as fast as the
//! configured deceleration allows and only delays a move away that was not yet possible.
//!
//! `dt ≤ 0` (repeated or backwards stamp) holds the previous output (`limiter_dt_invalid`), except when the cycle is
//! urgent: then one braking step toward the reduced command is taken as if `REPEATED_STAMP_DT` had passed, so a
//! stop for a person is never held back by a clock that has not advanced (sim time between `/clock` ticks).

use serde::{Deserialize, Serialize};

use super::reason::{Reason, StageOutcome};
use crate::config::{Bound, Cmp, ConfigError, FieldSpec, Range, Relation, RunTime, Section};
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
        FieldSpec::<Self>::reals(
            "max_velocity",
            Range::NON_NEGATIVE,
            "m/s | rad/s",
            "highest speed per axis vx, vy, vz, wx, wy, wz",
            &LimitsConfig::AXES,
            |c| &c.max_velocity,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::reals(
            "max_acceleration",
            Range::POSITIVE,
            "m/s^2 | rad/s^2",
            "highest acceleration per axis when speeding up",
            &LimitsConfig::AXES,
            |c| &c.max_acceleration,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::reals(
            "max_deceleration",
            Range::POSITIVE,
            "m/s^2 | rad/s^2",
            "highest deceleration per axis when slowing down",
            &LimitsConfig::AXES,
            |c| &c.max_deceleration,
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::reals(
            "max_jerk",
            Range::POSITIVE,
            "m/s^3 | rad/s^3",
            "highest jerk per axis",
            &LimitsConfig::AXES,
            |c| &c.max_jerk,
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::real(
            "max_dt",
            Range { lower: Bound::Open(0.0), upper: Bound::Closed(1.0) },
            "s",
            "longest time step used by the limiter; longer gaps count as this",
            |c| c.max_dt,
        )
        .at_run_time(RunTime::Fixed),
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

    /// Goes on from `other`'s motion state (its last output, acceleration and stamp); this limiter's own
    /// configuration applies from the next step (a parameter change is no restart).
    pub fn continue_from(&mut self, other: &MotionLimiter) {
        self.last = other.last;
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
        let Some((prev_t, v0, a0)) = self.last else {
            // No motion state yet: the platform is taken to be at rest now. How long this first step lasts is not
            // known, so nothing moves before the next step (taking it as `max_dt` long let a fresh limiter jump
            // by `max_acceleration · max_dt` within one cycle).
            self.last = Some((now, [0.0; 6], [0.0; 6]));
            if t.iter().any(|v| v.abs() >= 1e-12) {
                reasons.push(Reason::AccelerationLimit);
            }
            return StageOutcome { twist: Twist::ZERO, scale: vscale, reasons };
        };
        let dt_raw = now.seconds_since(prev_t);
        let repeated = dt_raw <= 0.0;
        if repeated {
            reasons.push(Reason::LimiterDtInvalid);
            if !urgent {
                return StageOutcome { twist: Twist::from_array(v0), scale: vscale, reasons };
            }
        }
        // A repeated stamp (e.g. several decisions between two /clock ticks) still lets a reduction demanded for a
        // person through, one braking step of REPEATED_STAMP_DT at a time, instead of holding the previous command.
        let dt = if repeated { REPEATED_STAMP_DT.min(c.max_dt) } else { dt_raw.min(c.max_dt) };
        let delta: [f64; 6] = std::array::from_fn(|i| t[i] - v0[i]);
        // An axis brakes when it slows down or reverses; it speeds up when it gets faster in the same direction.
        let moving: [bool; 6] = std::array::from_fn(|i| delta[i].abs() >= 1e-12);
        let speeding_up: [bool; 6] = std::array::from_fn(|i| t[i].abs() > v0[i].abs() && t[i] * v0[i] >= 0.0);
        let braking: [bool; 6] = std::array::from_fn(|i| moving[i] && !speeding_up[i]);
        // One fraction for every axis, as the segment from v₋ to v* asks: the speeding-up axes move by it.
        // Urgent reductions (slower than now) brake at the deceleration limit without a jerk ramp.
        let slower = t.iter().map(|x| x * x).sum::<f64>() < v0.iter().map(|x| x * x).sum::<f64>();
        let common = Fraction::new(c, &delta, &speeding_up, &a0, dt, [true; 6], urgent && slower);
        // The braking axes' own fraction, from their deceleration and jerk alone (the jerk bound dropped on urgent
        // cycles): an axis speeding up never slows braking.
        let brake = Fraction::new(c, &delta, &speeding_up, &a0, dt, braking, urgent);
        if common.acc < 1.0 {
            reasons.push(Reason::AccelerationLimit);
        }
        if common.relaxed || (brake.relaxed && braking.contains(&true)) {
            reasons.push(Reason::JerkRelaxed);
        }
        let lam_brake = brake.lam.max(common.lam);
        let mut v = [0.0; 6];
        let mut a = [0.0; 6];
        for i in 0..6 {
            let lam = if braking[i] { lam_brake } else { common.lam };
            v[i] = v0[i] + lam * delta[i];
            a[i] = (v[i] - v0[i]) / dt;
        }
        self.last = Some((now, v, a));
        StageOutcome { twist: Twist::from_array(v), scale: vscale, reasons }
    }
}

/// The fraction `λ` of the requested change that a set of axes moves by in one step.
struct Fraction {
    /// The largest fraction the acceleration bounds allow.
    acc: f64,
    /// The fraction taken: the jerk-limited one, or `acc` when the jerk bound was dropped.
    lam: f64,
    /// Whether the jerk bound was dropped (none satisfies it together with the acceleration bound, or `relax`).
    relaxed: bool,
}

impl Fraction {
    /// The fraction over the axes in `axes`, with `delta` the requested change, `a0` the previous acceleration;
    /// `relax` drops the jerk bound where it would allow less than the acceleration bound.
    fn new(
        c: &LimitsConfig,
        delta: &[f64; 6],
        speeding_up: &[bool; 6],
        a0: &[f64; 6],
        dt: f64,
        axes: [bool; 6],
        relax: bool,
    ) -> Self {
        // Acceleration bound on λ.
        let mut acc: f64 = 1.0;
        for i in (0..6).filter(|&i| axes[i] && delta[i].abs() >= 1e-12) {
            let a_max = if speeding_up[i] { c.max_acceleration[i] } else { c.max_deceleration[i] };
            acc = acc.min(a_max * dt / delta[i].abs());
        }
        // Jerk bounds on λ: a_i = λ·delta_i/dt ∈ [a0_i − J_i·dt, a0_i + J_i·dt].
        let (mut lo, mut hi): (f64, f64) = (0.0, acc);
        for i in (0..6).filter(|&i| axes[i]) {
            let jdt = c.max_jerk[i] * dt;
            if delta[i].abs() < 1e-12 {
                if a0[i].abs() > jdt {
                    lo = f64::INFINITY;
                }
                continue;
            }
            // Arrive without overshoot: the acceleration reached must be removable at the jerk limit within the
            // remaining velocity change, a²/(2J) ≤ (1 − λ)|Δ|  ⇒  λ ≤ (√(1 + 4q) − 1)/(2q), q = |Δ|/(2J·dt²).
            let q = delta[i].abs() / (2.0 * c.max_jerk[i] * dt * dt);
            hi = hi.min(((1.0 + 4.0 * q).sqrt() - 1.0) / (2.0 * q));
            let k = delta[i] / dt;
            let (b1, b2) = ((a0[i] - jdt) / k, (a0[i] + jdt) / k);
            lo = lo.max(b1.min(b2));
            hi = hi.min(b1.max(b2));
        }
        let relaxed = lo > hi || (relax && hi < acc);
        let lam = if relaxed { acc } else { hi };
        Fraction { acc, lam: lam.clamp(0.0, 1.0), relaxed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        l.reset(at(0));
        let out = l.step(at(100), &Twist::planar(2.0, 0.5, 0.0), false);
        assert!((out.twist.linear.x - 1.0).abs() < 1e-12 && (out.twist.linear.y - 0.25).abs() < 1e-12, "{out:?}");
        assert!(out.reasons.contains(&Reason::VelocityLimit));
    }

    #[test]
    fn a_fresh_limiter_starts_from_rest_at_its_first_step() {
        // Its first step's length is unknown: nothing moves then; the next step, 20 ms on, accelerates for 20 ms
        // (it used to take the first step as max_dt long and jump to 0.1 m/s within one 20 ms cycle).
        let cfg = LimitsConfig::default();
        let mut l = MotionLimiter::new(cfg.clone());
        let first = l.step(at(0), &Twist::planar(1.0, 0.0, 0.0), false);
        assert_eq!(first.twist, Twist::ZERO);
        assert!(first.reasons.contains(&Reason::AccelerationLimit), "{first:?}");
        let next = l.step(at(20), &Twist::planar(1.0, 0.0, 0.0), false);
        assert!(next.twist.linear.x > 0.0 && next.twist.linear.x <= cfg.max_acceleration[0] * 0.02 + 1e-12, "{next:?}");
        // Asked for nothing, the first step reports nothing.
        let mut l = MotionLimiter::new(cfg);
        assert!(l.step(at(0), &Twist::ZERO, false).reasons.is_empty());
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

    /// The motion of the walker scenes' defect: driving forward toward a person, the chain asks for a back-off
    /// and a turn. The turn speeding up (at 2 rad/s²) must not slow the forward braking below
    /// `max_deceleration`.
    #[test]
    fn braking_is_not_slowed_by_an_axis_speeding_up() {
        let cfg = LimitsConfig::default();
        let mut l = MotionLimiter::new(cfg.clone());
        l.reset(at(0));
        for k in 1..=100 {
            l.step(at(k * 20), &Twist::planar(0.3, 0.0, 0.0), false);
        }
        assert_eq!(l.previous(), Twist::planar(0.3, 0.0, 0.0));
        let out = l.step(at(2020), &Twist::planar(-0.1, 0.0, -1.0), true).twist;
        let expected = 0.3 - cfg.max_deceleration[0] * 0.02;
        assert!((out.linear.x - expected).abs() < 1e-9, "forward {} instead of {expected}", out.linear.x);
        // the turn still starts, within its own acceleration bound
        assert!(out.angular.z < 0.0 && out.angular.z >= -cfg.max_acceleration[5] * 0.02 - 1e-12, "{}", out.angular.z);
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

    /// A limiter that moved at `v0` with acceleration `a0` at stamp 0.
    fn moving(v0: [f64; 6], a0: [f64; 6]) -> MotionLimiter {
        MotionLimiter { config: LimitsConfig::default(), last: Some((Stamp(0), v0, a0)) }
    }

    fn state() -> impl Strategy<Value = ([f64; 6], [f64; 6], [f64; 6])> {
        let max = LimitsConfig::default().max_velocity;
        let speed = move |i: usize| -max[i]..=max[i];
        let axes = || {
            (speed(0), speed(1), speed(2), speed(3), speed(4), speed(5)).prop_map(|t| [t.0, t.1, t.2, t.3, t.4, t.5])
        };
        (axes(), proptest::array::uniform6(-2.0f64..2.0), axes())
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Braking axes (slowing down or reversing) are never slowed by other axes: each moves at least as far
        /// toward its request as it would if no other axis moved at all, exactly as far on urgent cycles, where
        /// the axis that bounds the braking gets its full deceleration. Every axis stays between its previous and
        /// its requested value, within its acceleration bound.
        #[test]
        fn braking_axes_get_their_full_deceleration(
            (v0, a0, t) in state(),
            dt_ms in 1i64..=100,
            urgent in any::<bool>(),
        ) {
            let c = LimitsConfig::default();
            let dt = dt_ms as f64 * 1e-3;
            let now = Stamp(dt_ms * 1_000_000);
            let v = moving(v0, a0).step(now, &Twist::from_array(t), urgent).twist.to_array();
            let speeding_up = |i: usize| t[i].abs() > v0[i].abs() && t[i] * v0[i] >= 0.0;
            let braking: Vec<usize> = (0..6).filter(|&i| t[i] != v0[i] && !speeding_up(i)).collect();
            for i in 0..6 {
                let bound = if speeding_up(i) { c.max_acceleration[i] } else { c.max_deceleration[i] };
                prop_assert!((v[i] - v0[i]).abs() <= bound * dt + 1e-9, "axis {i}: {} → {}", v0[i], v[i]);
                prop_assert!((v[i] - v0[i]) * (t[i] - v[i]) >= -1e-12, "axis {i} not between {} and {}: {}", v0[i], t[i], v[i]);
            }
            // The braking axes alone: every other axis at rest and asked to stay there.
            let (mut v0_b, mut a0_b, mut t_b) = ([0.0; 6], [0.0; 6], [0.0; 6]);
            for &i in &braking {
                (v0_b[i], a0_b[i], t_b[i]) = (v0[i], a0[i], t[i]);
            }
            let alone = moving(v0_b, a0_b).step(now, &Twist::from_array(t_b), urgent).twist.to_array();
            for &i in &braking {
                let (got, own) = ((v[i] - v0[i]) / (t[i] - v0[i]), (alone[i] - v0[i]) / (t[i] - v0[i]));
                prop_assert!(got >= own - 1e-9, "axis {i} slowed by the others: {got} < {own}");
                if urgent {
                    prop_assert!((got - own).abs() < 1e-9, "axis {i}: {got} vs {own} alone");
                }
            }
            if urgent && !braking.is_empty() {
                // full deceleration: every braking axis arrives, or the one that bounds braking brakes at its limit
                let used = braking
                    .iter()
                    .map(|&i| ((v[i] - v0[i]).abs() / (c.max_deceleration[i] * dt)).max(if v[i] == t[i] { 1.0 } else { 0.0 }))
                    .fold(0.0, f64::max);
                prop_assert!((used - 1.0).abs() < 1e-9, "braking used {used} of its deceleration");
            }
        }
    }
}
