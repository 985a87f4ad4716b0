//! Arbitration and blending of the operator's and the assistance command.
//!
//! `u = α · u_assist + (1 − α) · u_user`, with
//!
//! - `α₀ = alpha_max · clamp((c − confidence_floor) / (confidence_full − confidence_floor), 0, 1)` from the
//!   calibrated confidence `c` of the assistance ([`crate::assist::AssistOutput::confidence`]);
//! - **operator authority**: the operator's push against the assist,
//!   `p = max(0, −⟨u_user, â⟩_w) / authority_full_push`, where `â` is the unit assist direction and `⟨·,·⟩_w`
//!   the dot product over (vx, vy, vz, ωx·L, ωy·L, ωz·L) with `L` = [`ArbitrationConfig::angular_length`];
//!   `α = α₀ · (1 − min(1, p))`: pushing fully against the assist takes the robot back;
//! - `α = 0` when there is no assistance this cycle (no fresh prediction, no fresh external command).
//!
//! A hold (zero assist command) has no direction: any operator command larger than `authority_full_push`
//! counts as a full push, so the operator can always override a hold.
//!
//! A way out's translation is a least motion away from someone, not a target
//! ([`AssistOutput::least_translation`]): when the operator already moves along it at least as fast
//! (`⟨u_user,lin, â_lin⟩ ≥ |u_assist,lin|`; always for a way out that only turns, the one from someone beside the
//! robot), the blend keeps the operator's translation, `u_lin = u_user,lin`, and blends the turn. Blending it
//! in would only take the operator's speed away (to 10 % of it at `alpha_max` 0.9 for a turn only, to
//! 0.19 m/s from 0.5 for a drive-on at 0.15 m/s) while the robot moves the way the assistance wants anyway;
//! separation monitoring limits that motion as any command.
//!
//! The hand-over creep ([`AssistPolicy::ApproachHandover`]) is an offer to the person, not a move for anyone's
//! safety: there the push is everything the operator asks besides the creep, `p = |u_user − max(0, ⟨u_user,
//! â⟩_w) · â|_w / authority_full_push`, so an operator steering elsewhere (across the creep, not only against
//! it) keeps the robot, and one who lets go of the stick or follows the creep lets it approach.

use serde::{Deserialize, Serialize};

use crate::assist::{AssistOutput, AssistPolicy};
use crate::config::{Bound, Cmp, ConfigError, FieldSpec, Range, Relation, Section};
use crate::twist::Twist;

/// Settings of the arbitration. Units in the field docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArbitrationConfig {
    /// Highest blend weight of the assistance, in [0, 1] (e.g. 0.9 keeps the operator in the loop).
    pub alpha_max: f64,
    /// Confidence at or below which α = 0, in [0, 1).
    pub confidence_floor: f64,
    /// Confidence at or above which α = `alpha_max`, in (`confidence_floor`, 1].
    pub confidence_full: f64,
    /// Operator speed against the assist that removes all assistance [m/s] (> 0).
    pub authority_full_push: f64,
    /// Length that converts angular rates into speeds for comparing commands [m/rad] (≥ 0). The default is
    /// the pad's linear scale over its angular scale (0.5 m/s ÷ 1.0 rad/s), so a push against the assist takes
    /// authority back at the same share of the stick on every axis.
    pub angular_length: f64,
}

impl Default for ArbitrationConfig {
    fn default() -> Self {
        ArbitrationConfig {
            alpha_max: 0.9,
            confidence_floor: 0.5,
            confidence_full: 0.9,
            authority_full_push: 0.3,
            angular_length: 0.5,
        }
    }
}

impl Section for ArbitrationConfig {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::real("alpha_max", Range::UNIT, "", "highest blend weight of the assistance", |c| c.alpha_max),
        FieldSpec::real(
            "confidence_floor",
            Range { lower: Bound::Closed(0.0), upper: Bound::Open(1.0) },
            "",
            "confidence at or below which alpha = 0",
            |c| c.confidence_floor,
        ),
        FieldSpec::real(
            "confidence_full",
            Range { lower: Bound::Open(0.0), upper: Bound::Closed(1.0) },
            "",
            "confidence at or above which alpha = alpha_max, above confidence_floor",
            |c| c.confidence_full,
        ),
        FieldSpec::real(
            "authority_full_push",
            Range::POSITIVE,
            "m/s",
            "operator speed against the assist that removes all assistance",
            |c| c.authority_full_push,
        ),
        FieldSpec::real(
            "angular_length",
            Range::NON_NEGATIVE,
            "m/rad",
            "length converting angular rates into speeds when comparing commands; the pad's linear over angular scale makes a push against the assist count the same share of the stick on every axis",
            |c| c.angular_length,
        ),
    ];
    const RELATIONS: &'static [Relation] =
        &[Relation { field: "confidence_full", cmp: Cmp::Greater, other: "confidence_floor", first: None }];
}

impl ArbitrationConfig {
    /// Checks every value against [`Section::FIELDS`] and [`Section::RELATIONS`]; names are relative.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
    }
}

/// Result of one arbitration.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Blend {
    /// Blend weight of the assistance [0, 1].
    pub alpha: f64,
    /// α before operator authority [0, 1].
    pub alpha_from_confidence: f64,
    /// `α · u_assist + (1 − α) · u_user`.
    pub twist: Twist,
    /// True when the operator's push reduced α.
    pub operator_override: bool,
}

/// Confidence-weighted arbitration with operator authority.
#[derive(Clone, Debug)]
pub struct Arbitrator {
    config: ArbitrationConfig,
}

impl Arbitrator {
    /// An arbitrator with `config` (validated by [`crate::control::ControllerConfig::validate`]).
    pub fn new(config: ArbitrationConfig) -> Self {
        Arbitrator { config }
    }

    /// The configuration.
    pub fn config(&self) -> &ArbitrationConfig {
        &self.config
    }

    /// Blends `user` with `assist` (see the module docs).
    pub fn blend(&self, user: &Twist, assist: &AssistOutput) -> Blend {
        let c = &self.config;
        if assist.policy == AssistPolicy::None || !assist.twist.is_finite() || !assist.confidence.is_finite() {
            return Blend { alpha: 0.0, alpha_from_confidence: 0.0, twist: *user, operator_override: false };
        }
        let span = c.confidence_full - c.confidence_floor;
        let alpha0 = c.alpha_max * ((assist.confidence - c.confidence_floor) / span).clamp(0.0, 1.0);
        let w = |t: &Twist| {
            let a = t.to_array();
            let l = c.angular_length;
            nalgebra::Vector6::new(a[0], a[1], a[2], a[3] * l, a[4] * l, a[5] * l)
        };
        let (u, a) = (w(user), w(&assist.twist));
        let against = match a.try_normalize(1e-9) {
            // The hand-over creep is an offer: whatever the operator asks besides it counts.
            Some(dir) if assist.policy == AssistPolicy::ApproachHandover => (u - dir * u.dot(&dir).max(0.0)).norm(),
            Some(dir) => (-u.dot(&dir)).max(0.0),
            None => u.norm(),
        };
        let push = (against / c.authority_full_push).min(1.0);
        let alpha = (alpha0 * (1.0 - push)).clamp(0.0, 1.0);
        let mut twist = user.lerp_toward(&assist.twist, alpha);
        if assist.least_translation {
            let a = assist.twist.linear;
            let least = a.norm();
            if least == 0.0 || user.linear.dot(&(a / least)) >= least {
                twist.linear = user.linear;
            }
        }
        Blend { alpha, alpha_from_confidence: alpha0, twist, operator_override: push > 0.0 && alpha0 > 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// The way out from someone beside the robot, on their left: a turn right only, at confidence 1.
    fn way_out_turning_right() -> AssistOutput {
        AssistOutput {
            twist: Twist::planar(0.0, 0.0, -1.0),
            policy: AssistPolicy::WayOut,
            confidence: 1.0,
            human: Some(5),
            least_translation: true,
        }
    }

    fn assist(twist: Twist, confidence: f64) -> AssistOutput {
        AssistOutput { twist, policy: AssistPolicy::BackOff, confidence, human: Some(1), least_translation: false }
    }

    #[test]
    fn alpha_follows_confidence_and_is_capped() {
        let arb = Arbitrator::new(ArbitrationConfig::default());
        let user = Twist::ZERO;
        let a = Twist::planar(-0.3, 0.0, 0.0);
        assert_eq!(arb.blend(&user, &assist(a, 0.5)).alpha, 0.0);
        assert_relative_eq!(arb.blend(&user, &assist(a, 0.7)).alpha, 0.45, epsilon = 1e-12);
        assert_relative_eq!(arb.blend(&user, &assist(a, 1.0)).alpha, 0.9, epsilon = 1e-12);
        let b = arb.blend(&user, &assist(a, 1.0));
        assert_relative_eq!(b.twist.linear.x, -0.27, epsilon = 1e-12);
    }

    #[test]
    fn no_assistance_means_alpha_zero_and_user_command() {
        let arb = Arbitrator::new(ArbitrationConfig::default());
        let user = Twist::planar(0.4, 0.0, 0.2);
        let b = arb.blend(&user, &AssistOutput::NONE);
        assert_eq!(b.alpha, 0.0);
        assert_eq!(b.twist, user);
    }

    #[test]
    fn pushing_against_the_assist_takes_authority_back() {
        let arb = Arbitrator::new(ArbitrationConfig::default());
        let a = assist(Twist::planar(-0.3, 0.0, 0.0), 1.0);
        let gentle = arb.blend(&Twist::planar(0.1, 0.0, 0.0), &a);
        let hard = arb.blend(&Twist::planar(0.5, 0.0, 0.0), &a);
        assert!(gentle.operator_override);
        assert_relative_eq!(gentle.alpha, 0.9 * (1.0 - 0.1 / 0.3), epsilon = 1e-12);
        assert_eq!(hard.alpha, 0.0);
        assert_eq!(hard.twist, Twist::planar(0.5, 0.0, 0.0));
        // Agreeing with the assist keeps α.
        let along = arb.blend(&Twist::planar(-0.5, 0.0, 0.0), &a);
        assert_relative_eq!(along.alpha, 0.9);
        assert!(!along.operator_override);
    }

    #[test]
    fn steering_across_a_hand_over_creep_takes_authority_back() {
        let arb = Arbitrator::new(ArbitrationConfig::default());
        let creep = AssistOutput {
            twist: Twist::planar(0.0, 0.15, 0.0),
            policy: AssistPolicy::ApproachHandover,
            confidence: 1.0,
            human: Some(3),
            least_translation: false,
        };
        // Driving on at 0.5 m/s, the hand to the left: the operator keeps the robot.
        let b = arb.blend(&Twist::planar(0.5, 0.0, 0.0), &creep);
        assert_eq!((b.alpha, b.twist), (0.0, Twist::planar(0.5, 0.0, 0.0)));
        assert!(b.operator_override);
        // Half as fast across it: half the authority; along the creep, or hands off the stick: all of α.
        assert_relative_eq!(arb.blend(&Twist::planar(0.15, 0.0, 0.0), &creep).alpha, 0.45, epsilon = 1e-12);
        assert_relative_eq!(arb.blend(&Twist::planar(0.0, 0.3, 0.0), &creep).alpha, 0.9);
        assert_relative_eq!(arb.blend(&Twist::ZERO, &creep).alpha, 0.9);
        // Every other policy counts only the push against it: the same command across a back-off keeps α.
        let backoff = AssistOutput { policy: AssistPolicy::BackOff, ..creep };
        assert_relative_eq!(arb.blend(&Twist::planar(0.5, 0.0, 0.0), &backoff).alpha, 0.9);
    }

    #[test]
    fn turning_against_a_way_out_takes_authority_back_at_the_same_share_of_the_stick_as_driving_against_it() {
        // The default pad: 0.5 m/s and 1.0 rad/s at full deflection. Pushing back at 60 % of the stick
        // (0.3 m/s) against a back-off takes the robot back; so does turning at 60 % of the stick (0.6 rad/s)
        // against a way-out turn, and a turn at 30 % takes half.
        let arb = Arbitrator::new(ArbitrationConfig::default());
        let back_off = assist(Twist::planar(-0.3, 0.0, 0.0), 1.0);
        assert_eq!(arb.blend(&Twist::planar(0.3, 0.0, 0.0), &back_off).alpha, 0.0);
        let turn_away = way_out_turning_right();
        let against = arb.blend(&Twist::planar(0.5, 0.0, 0.6), &turn_away);
        assert_eq!((against.alpha, against.twist), (0.0, Twist::planar(0.5, 0.0, 0.6)));
        assert_relative_eq!(arb.blend(&Twist::planar(0.5, 0.0, 0.3), &turn_away).alpha, 0.45, epsilon = 1e-12);
        // Turning with it, or driving straight on: the turn is not opposed.
        assert_relative_eq!(arb.blend(&Twist::planar(0.5, 0.0, -0.6), &turn_away).alpha, 0.9);
        assert_relative_eq!(arb.blend(&Twist::planar(0.5, 0.0, 0.0), &turn_away).alpha, 0.9);
    }

    #[test]
    fn a_way_out_s_translation_is_a_least_motion_the_operator_s_faster_driving_keeps() {
        let arb = Arbitrator::new(ArbitrationConfig::default());
        let turn_away = way_out_turning_right();
        // Driving on at 0.5 m/s past someone standing beside: the turn is blended in at α 0.9, the drive kept
        // (blending the way out's zero translation in would leave 0.05 m/s).
        let b = arb.blend(&Twist::planar(0.5, 0.1, 0.0), &turn_away);
        assert_relative_eq!(b.alpha, 0.9);
        assert_eq!((b.twist.linear.x, b.twist.linear.y), (0.5, 0.1));
        assert_relative_eq!(b.twist.angular.z, -0.9, epsilon = 1e-12);
        // Standing still, the operator gets the turn alone; reversing is kept too.
        assert_eq!(arb.blend(&Twist::ZERO, &turn_away).twist.linear.x, 0.0);
        assert_eq!(arb.blend(&Twist::planar(-0.2, 0.0, 0.0), &turn_away).twist.linear.x, -0.2);
        // A way out that drives on at 0.15 m/s (the person behind the beam): driving on at 0.5 m/s keeps the
        // operator's speed (blended in: 0.185 m/s); slower than the way out, or across it, the blend as always.
        let drive_on = AssistOutput { twist: Twist::planar(0.15, 0.0, -1.0), ..turn_away };
        assert_eq!(arb.blend(&Twist::planar(0.5, 0.0, 0.0), &drive_on).twist.linear.x, 0.5);
        assert_relative_eq!(arb.blend(&Twist::planar(0.1, 0.0, 0.0), &drive_on).twist.linear.x, 0.145, epsilon = 1e-12);
        assert_relative_eq!(arb.blend(&Twist::planar(0.0, 0.5, 0.0), &drive_on).twist.linear.y, 0.05, epsilon = 1e-12);
        // An assist whose translation is a target (a back-off) blends every axis.
        let back_off = AssistOutput {
            twist: Twist::planar(-0.15, 0.0, -1.0),
            policy: AssistPolicy::BackOff,
            least_translation: false,
            ..turn_away
        };
        let b = arb.blend(&Twist::planar(-0.5, 0.0, 0.0), &back_off);
        assert_relative_eq!(b.twist.linear.x, -0.185, epsilon = 1e-12);
    }

    #[test]
    fn operator_can_override_a_hold() {
        let arb = Arbitrator::new(ArbitrationConfig::default());
        let hold = AssistOutput {
            twist: Twist::ZERO,
            policy: AssistPolicy::Hold,
            confidence: 1.0,
            human: Some(2),
            least_translation: false,
        };
        assert_relative_eq!(arb.blend(&Twist::planar(0.05, 0.0, 0.0), &hold).alpha, 0.9 * (1.0 - 0.05 / 0.3));
        assert_eq!(arb.blend(&Twist::planar(0.6, 0.0, 0.0), &hold).alpha, 0.0);
    }
}
