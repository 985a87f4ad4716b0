//! Assistance: what the robot would do on its own, given the predicted intents of the people around it.
//!
//! The assist command is one input of the blend ([`crate::arbitration`]); it never bypasses the safety chain.
//! Two sources, in this order:
//!
//! 1. **External** assist twist (e.g. an autonomy stack on `assist/cmd_vel`) with its stamp: used while it is
//!    fresh (age ≤ [`AssistConfig::external_timeout`]), with the fixed confidence
//!    [`AssistConfig::external_confidence`]; stale or non-finite → ignored.
//! 2. **Built-in policies**, chosen per human from the predicted intent. Only fresh, valid predictions whose
//!    most likely intent has probability ≥ [`AssistConfig::min_probability`] are considered. Per intent:
//!    - `approach_robot` → [`AssistPolicy::BackOff`]: when the human is within
//!      [`AssistConfig::backoff_distance`], move straight away from the human's torso at
//!      [`AssistConfig::backoff_speed`], no rotation.
//!    - `reach_handover` → [`AssistPolicy::ApproachHandover`]: turn toward the offered hand (the predicted wrist
//!      nearest to the robot at the end of the horizon) with `ω = yaw_gain · bearing` and creep toward it,
//!      `v = min(handover_speed, handover_gain · (d − handover_standoff))` along the bearing, `d` the hand's
//!      distance from the robot's surface, never closer than the standoff (no backwards creep either: v ≥ 0).
//!    - `pass_by` → [`AssistPolicy::Hold`]: when the predicted path comes within [`AssistConfig::hold_distance`]
//!      of the robot, command zero (the blend then slows the operator's command while the person passes).
//!    - `idle` → [`AssistPolicy::WayOut`]: when the person stands ahead of or beside the robot (bearing of the
//!      torso within ±[`AssistConfig::way_out_max_bearing`]) closer than [`AssistConfig::way_out_distance`]
//!      (after a hand-over, or in the path), offer a way out. On a platform that moves sideways
//!      ([`Assist::moving_sideways`]: the default platform), with two or more idle people within
//!      `way_out_distance`, or one nearly straight ahead (within [`AssistConfig::way_out_straight_bearing`]),
//!      the **way around**: from all of them at once, the direction nearest the robot's heading that moves away
//!      from every one, at least [`AssistConfig::way_around_angle`] past the tangent to each, at
//!      [`AssistConfig::way_around_speed`], no turn (a person straight ahead: sideways, a little back, to the
//!      right; two people on two sides: the one direction that leaves both). Otherwise (one person off to a
//!      side, surrounded, or a platform that cannot move sideways) per person: turn away from their
//!      side at [`AssistConfig::way_out_yaw_rate`], back off at [`AssistConfig::way_out_speed`] while they are
//!      nearly straight ahead (within [`AssistConfig::way_out_straight_bearing`]) and drive on at that speed
//!      while they are behind the beam (bearing beyond ±90°): either way the robot moves away from them; in
//!      between (beside the robot) it only turns. A way out's translation is the least motion away
//!      ([`AssistOutput::least_translation`]): an operator already driving that way at least as fast keeps
//!      their translation (beside someone, any driving), which separation monitoring limits as any command;
//!      the turn is blended. The operator accepts it by pushing (the blend and its authority rules as for every policy);
//!      the safety chain keeps the turn when the operator's forward push must stop. Farther away or farther
//!      behind the robot: no assistance.
//!    - `retreat` → no assistance: the person leaves, the operator keeps full authority (α = 0).
//!
//!    With several people, the most safety-relevant policy wins: back-off, then hold, then hand-over, then way
//!    out; among equals the nearest person.

use std::f64::consts::FRAC_PI_2;

use nalgebra::{Rotation2, Vector2};
use serde::{Deserialize, Serialize};

use crate::config::{Bound, ConfigError, FieldSpec, Range, Section};
use crate::prediction::{HumanPrediction, Intent, TORSO};
use crate::safety::{Reason, RobotBody, SeparationConfig};
use crate::skeleton::HumanId;
use crate::time::Stamp;
use crate::twist::Twist;

/// Settings of the assistance policies. Units in the field docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssistConfig {
    /// Use the built-in intent policies when no fresh external assist command is present.
    pub builtin_enabled: bool,
    /// Minimum probability of the most likely intent for a policy to act [0, 1].
    pub min_probability: f64,
    /// A prediction older than this is ignored \[s\].
    pub prediction_timeout: f64,
    /// Back-off acts when the approaching human's torso is closer than this \[m\].
    pub backoff_distance: f64,
    /// Back-off speed, straight away from the human [m/s].
    pub backoff_speed: f64,
    /// Hand-over: distance from the robot's surface (its 3-D body) to the offered hand at which the robot
    /// stops \[m\]; never less than the safety chain's no-approach distance of a person standing still
    /// ([`crate::control::ControllerConfig::min_handover_standoff`], 0.46 m with the defaults).
    pub handover_standoff: f64,
    /// Hand-over: highest approach speed [m/s].
    pub handover_speed: f64,
    /// Hand-over: approach speed per metre of remaining distance [1/s].
    pub handover_gain: f64,
    /// Hand-over: yaw rate per radian of bearing to the hand [1/s].
    pub yaw_gain: f64,
    /// Hand-over: highest yaw rate [rad/s].
    pub max_yaw_rate: f64,
    /// Hold acts when a passing human's predicted torso path comes closer than this \[m\].
    pub hold_distance: f64,
    /// Way out: acts for an idle person whose torso is ahead and closer to the robot origin than this \[m\].
    pub way_out_distance: f64,
    /// Way out: yaw rate turning away from the person's side [rad/s].
    pub way_out_yaw_rate: f64,
    /// Way out: backing-off speed while the person is nearly straight ahead [m/s].
    pub way_out_speed: f64,
    /// Way out: the person counts as straight ahead within this bearing \[rad\] (backed off from; on a platform
    /// that moves sideways, a person alone is gone round only within it).
    pub way_out_straight_bearing: f64,
    /// Way out: acts for a person within this bearing of the robot's heading \[rad\] (a little past abeam: a
    /// person abeam still blocks a robot whose forward motion brushes past them).
    pub way_out_max_bearing: f64,
    /// Way around (a platform that moves sideways): speed of the way out [m/s].
    pub way_around_speed: f64,
    /// Way around (a platform that moves sideways): the way out leaves every idle person close by at least
    /// this far past the tangent to them \[rad\].
    pub way_around_angle: f64,
    /// An external assist command older than this is ignored \[s\].
    pub external_timeout: f64,
    /// Confidence attached to a fresh external assist command [0, 1].
    pub external_confidence: f64,
}

impl Default for AssistConfig {
    fn default() -> Self {
        AssistConfig {
            builtin_enabled: true,
            min_probability: 0.5,
            prediction_timeout: 0.3,
            backoff_distance: 2.0,
            backoff_speed: 0.3,
            handover_standoff: 0.6,
            handover_speed: 0.15,
            handover_gain: 0.5,
            yaw_gain: 1.0,
            max_yaw_rate: 0.5,
            hold_distance: 2.0,
            way_out_distance: 1.5,
            way_out_yaw_rate: 1.0,
            way_out_speed: 0.15,
            way_out_straight_bearing: 0.35,
            way_out_max_bearing: 1.9,
            way_around_speed: 0.4,
            way_around_angle: 0.2,
            external_timeout: 0.2,
            external_confidence: 0.8,
        }
    }
}

impl Section for AssistConfig {
    const FIELDS: &'static [FieldSpec<Self>] = {
        use std::f64::consts::PI;
        const NONNEG: Range = Range::NON_NEGATIVE;
        &[
            FieldSpec::other(
                "builtin_enabled",
                "use the built-in intent policies when no fresh external assist command is present",
            ),
            FieldSpec::real(
                "min_probability",
                Range::UNIT,
                "",
                "minimum probability of the most likely intent for a policy to act",
                |c| c.min_probability,
            ),
            FieldSpec::real(
                "prediction_timeout",
                Range::POSITIVE,
                "s",
                "a prediction older than this is ignored by the assistance",
                |c| c.prediction_timeout,
            ),
            FieldSpec::real(
                "backoff_distance",
                NONNEG,
                "m",
                "back-off acts when an approaching human's torso is closer than this",
                |c| c.backoff_distance,
            ),
            FieldSpec::real("backoff_speed", NONNEG, "m/s", "back-off speed, straight away from the human", |c| {
                c.backoff_speed
            }),
            FieldSpec::real(
                "handover_standoff",
                NONNEG,
                "m",
                "hand-over: distance from the robot's surface to the offered hand where the robot stops; never \
                 less than S_p(0) of a person standing still (the chain's own no-approach distance, 0.46 m with \
                 the defaults)",
                |c| c.handover_standoff,
            ),
            FieldSpec::real("handover_speed", NONNEG, "m/s", "hand-over: highest approach speed", |c| c.handover_speed),
            FieldSpec::real(
                "handover_gain",
                NONNEG,
                "1/s",
                "hand-over: approach speed per metre of remaining distance",
                |c| c.handover_gain,
            ),
            FieldSpec::real("yaw_gain", NONNEG, "1/s", "hand-over: yaw rate per radian of bearing to the hand", |c| {
                c.yaw_gain
            }),
            FieldSpec::real("max_yaw_rate", NONNEG, "rad/s", "hand-over: highest yaw rate", |c| c.max_yaw_rate),
            FieldSpec::real(
                "hold_distance",
                NONNEG,
                "m",
                "hold acts when a passing human's predicted torso path comes closer than this",
                |c| c.hold_distance,
            ),
            FieldSpec::real(
                "way_out_distance",
                NONNEG,
                "m",
                "way out: acts for an idle person whose torso is ahead of or beside the robot (within \
                 way_out_max_bearing) and closer to its origin than this",
                |c| c.way_out_distance,
            ),
            FieldSpec::real(
                "way_out_yaw_rate",
                NONNEG,
                "rad/s",
                "way out: yaw rate turning away from the person's side",
                |c| c.way_out_yaw_rate,
            ),
            FieldSpec::real(
                "way_out_speed",
                NONNEG,
                "m/s",
                "way out: backing-off speed while the person is nearly straight ahead, driving-on speed while they \
                 are behind the beam",
                |c| c.way_out_speed,
            ),
            FieldSpec::real(
                "way_out_straight_bearing",
                Range::closed(0.0, FRAC_PI_2),
                "rad",
                "way out: the person counts as straight ahead within this bearing (backed off from; on a platform that \
                 moves sideways, a person alone is gone round only within it)",
                |c| c.way_out_straight_bearing,
            ),
            FieldSpec::real(
                "way_out_max_bearing",
                Range::closed(0.0, PI),
                "rad",
                "way out: acts for a person within this bearing of the robot's heading (a little past abeam)",
                |c| c.way_out_max_bearing,
            ),
            FieldSpec::real(
                "way_around_speed",
                NONNEG,
                "m/s",
                "way around (a platform that moves sideways): speed of the way out",
                |c| c.way_around_speed,
            ),
            FieldSpec::real(
                "way_around_angle",
                Range { lower: Bound::Closed(0.0), upper: Bound::Open(FRAC_PI_2) },
                "rad",
                "way around (a platform that moves sideways): the way out leaves every idle person close by at \
                 least this far past the tangent to them",
                |c| c.way_around_angle,
            ),
            FieldSpec::real(
                "external_timeout",
                Range::POSITIVE,
                "s",
                "an external assist command (assist/cmd_vel) older than this is ignored",
                |c| c.external_timeout,
            ),
            FieldSpec::real(
                "external_confidence",
                Range::UNIT,
                "",
                "confidence attached to a fresh external assist command",
                |c| c.external_confidence,
            ),
        ]
    };
}

impl AssistConfig {
    /// Checks every value against [`Section::FIELDS`]; names are relative (`min_probability`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
    }
}

/// Which assistance produced the assist command.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistPolicy {
    /// No assistance this cycle (α will be 0).
    None,
    /// External assist twist.
    External,
    /// Move away from a human approaching the robot.
    BackOff,
    /// Creep toward a human offering a hand-over.
    ApproachHandover,
    /// Stand still while a human passes by.
    Hold,
    /// Turn away from (and back off from) an idle person standing close ahead.
    WayOut,
}

impl AssistPolicy {
    /// The reason in the decision's reasons when this policy is blended in.
    pub fn reason(self) -> Option<Reason> {
        match self {
            AssistPolicy::None => None,
            AssistPolicy::External => Some(Reason::AssistExternal),
            AssistPolicy::BackOff => Some(Reason::AssistBackOff),
            AssistPolicy::ApproachHandover => Some(Reason::AssistApproachHandover),
            AssistPolicy::Hold => Some(Reason::AssistHoldPassBy),
            AssistPolicy::WayOut => Some(Reason::AssistWayOut),
        }
    }

    /// Priority among built-in policies (higher wins).
    fn priority(self) -> u8 {
        match self {
            AssistPolicy::BackOff => 4,
            AssistPolicy::Hold => 3,
            AssistPolicy::ApproachHandover => 2,
            AssistPolicy::WayOut => 1,
            AssistPolicy::None | AssistPolicy::External => 0,
        }
    }
}

/// The assist command of one cycle.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AssistOutput {
    /// Assist twist (zero when `policy` is `None`).
    pub twist: Twist,
    /// Which policy produced it.
    pub policy: AssistPolicy,
    /// Calibrated confidence behind it [0, 1]: the intent probability, or the external confidence; 0 for `None`.
    pub confidence: f64,
    /// Human the policy reacts to.
    pub human: Option<HumanId>,
    /// The translation is the least motion away from someone (a way out), not a target: an operator already
    /// moving along it at least as fast keeps their translation in the blend; with none (a way out that only
    /// turns) any driving is kept ([`crate::arbitration`]).
    pub least_translation: bool,
}

impl AssistOutput {
    /// No assistance.
    pub const NONE: AssistOutput = AssistOutput {
        twist: Twist::ZERO,
        policy: AssistPolicy::None,
        confidence: 0.0,
        human: None,
        least_translation: false,
    };
}

/// Assistance policy selector; holds the latest external assist command.
#[derive(Clone, Debug)]
pub struct Assist {
    config: AssistConfig,
    external: Option<(Stamp, Twist)>,
    /// The robot's body (hand-over distances are from its surface).
    robot: RobotBody,
    /// The least stand-off: the safety chain's no-approach distance of a person standing still \[m\].
    min_standoff: f64,
    /// The platform moves sideways (its `vy` limit is above 0): the way out goes around people.
    sideways: bool,
}

impl Assist {
    /// A selector with `config` (validated by [`crate::control::ControllerConfig::validate`]).
    pub fn new(config: AssistConfig) -> Self {
        Assist { config, external: None, robot: SeparationConfig::default().body(), min_standoff: 0.0, sideways: false }
    }

    /// The same with the robot's body `robot` (hand-over distances are from its surface) and the least
    /// stand-off `min_standoff` \[m\] (the hand-over stops at `max(handover_standoff, min_standoff)`; see
    /// [`crate::control::ControllerConfig::min_handover_standoff`]).
    pub fn for_robot(self, robot: RobotBody, min_standoff: f64) -> Self {
        Assist { robot, min_standoff, ..self }
    }

    /// The same on a platform that moves sideways (`sideways`: its `vy` limit is above 0), where the way out
    /// goes around the people standing close by instead of turning away from them.
    pub fn moving_sideways(self, sideways: bool) -> Self {
        Assist { sideways, ..self }
    }

    /// The configuration.
    pub fn config(&self) -> &AssistConfig {
        &self.config
    }

    /// Replaces the configuration (validated by the caller).
    pub fn set_config(&mut self, config: AssistConfig) {
        self.config = config;
    }

    /// The kept external assist command and its stamp.
    pub fn external(&self) -> Option<(Stamp, Twist)> {
        self.external
    }

    /// Stores an external assist command stamped `stamp`; `false` (dropped) when it is older than the kept one.
    pub fn on_external(&mut self, stamp: Stamp, twist: Twist) -> bool {
        if self.external.is_some_and(|(s, _)| stamp < s) {
            return false;
        }
        self.external = Some((stamp, twist));
        true
    }

    /// The assist command at `now` for the given predictions (robot frame).
    pub fn step(&self, now: Stamp, predictions: &[HumanPrediction]) -> AssistOutput {
        if let Some((stamp, twist)) = self.external {
            let age = now.seconds_since(stamp);
            if twist.is_finite() && (0.0..=self.config.external_timeout).contains(&age) {
                return AssistOutput {
                    twist,
                    policy: AssistPolicy::External,
                    confidence: self.config.external_confidence,
                    human: None,
                    least_translation: false,
                };
            }
        }
        if !self.config.builtin_enabled {
            return AssistOutput::NONE;
        }
        let mut best: Option<(AssistOutput, f64)> = None;
        for p in predictions {
            let Some((intent, prob)) = self.acting_intent(now, p) else { continue };
            let Some((twist, policy, distance)) = self.policy_for(intent, p) else { continue };
            let least_translation = policy == AssistPolicy::WayOut;
            let candidate =
                AssistOutput { twist, policy, confidence: prob, human: Some(p.human_id), least_translation };
            let better = match &best {
                None => true,
                Some((b, d)) => {
                    policy.priority() > b.policy.priority()
                        || (policy.priority() == b.policy.priority() && distance < *d)
                }
            };
            if better {
                best = Some((candidate, distance));
            }
        }
        if self.sideways && best.as_ref().is_none_or(|(b, _)| b.policy == AssistPolicy::WayOut) {
            if let Some(o) = self.way_around(now, predictions) {
                return o;
            }
        }
        best.map_or(AssistOutput::NONE, |(o, _)| o)
    }

    /// The most likely intent of `p` and its probability when the prediction may steer the assistance: valid,
    /// fresh (age ≤ `prediction_timeout`), with a future, and the intent at least `min_probability`.
    fn acting_intent(&self, now: Stamp, p: &HumanPrediction) -> Option<(Intent, f64)> {
        let age = now.seconds_since(p.stamp);
        if !p.is_valid() || !(0.0..=self.config.prediction_timeout).contains(&age) || p.future.is_empty() {
            return None;
        }
        let intent = p.intent();
        let prob = f64::from(p.probability(intent));
        (prob >= self.config.min_probability).then_some((intent, prob))
    }

    /// The way out on a platform that moves sideways ([`Assist::moving_sideways`]), from every idle person
    /// close by at once (see the module docs): `None` when nobody idle stands close ahead or beside, or when
    /// no direction moves away from all of them.
    fn way_around(&self, now: Stamp, predictions: &[HumanPrediction]) -> Option<AssistOutput> {
        let c = &self.config;
        // Torsos (robot frame, planar) of the idle people within way_out_distance, with their probability.
        let idle: Vec<(Vector2<f64>, f64, HumanId)> = predictions
            .iter()
            .filter_map(|p| {
                let (intent, prob) = self.acting_intent(now, p)?;
                let torso = p.future.first()?[TORSO].coords.xy();
                let d = torso.norm();
                (intent == Intent::Idle && d < c.way_out_distance && d > 1e-6).then_some((torso, prob, p.human_id))
            })
            .collect();
        // The way out is offered for the nearest of them ahead of or beside the robot. A person alone goes
        // round only when nearly straight ahead, where the per-person way out would back off (which a forward
        // push cancels); off to one side, turning away from them is the way out.
        let (trigger, prob, id) = idle
            .iter()
            .filter(|(t, _, _)| t.y.atan2(t.x).abs() < c.way_out_max_bearing)
            .min_by(|a, b| a.0.norm().total_cmp(&b.0.norm()))?;
        if idle.len() == 1 && trigger.y.atan2(trigger.x).abs() >= c.way_out_straight_bearing {
            return None;
        }
        let away = c.way_around_angle.sin();
        let bearings: Vec<Vector2<f64>> = idle.iter().map(|(t, _, _)| t.normalize()).collect();
        let moves_away = |d: &Vector2<f64>| bearings.iter().all(|b| d.dot(b) <= -away + 1e-9);
        // The best direction is the heading itself or lies on the edge of one person's half-plane: turned
        // 90° + way_around_angle from the bearing to them, to either side.
        let turn = FRAC_PI_2 + c.way_around_angle;
        let edges = bearings.iter().flat_map(|b| [Rotation2::new(turn) * b, Rotation2::new(-turn) * b]);
        // The most forward; on a tie (a person exactly ahead) away from their side, right when they are
        // exactly ahead.
        let side = if trigger.y >= 0.0 { -1.0 } else { 1.0 };
        let order = |a: &Vector2<f64>, b: &Vector2<f64>| {
            if (a.x - b.x).abs() > 1e-9 {
                a.x.total_cmp(&b.x)
            } else {
                (side * a.y).total_cmp(&(side * b.y))
            }
        };
        let d = std::iter::once(Vector2::x()).chain(edges).filter(moves_away).max_by(order)?;
        let v = d * c.way_around_speed;
        Some(AssistOutput {
            twist: Twist::planar(v.x, v.y, 0.0),
            policy: AssistPolicy::WayOut,
            confidence: *prob,
            human: Some(*id),
            least_translation: true,
        })
    }

    /// The built-in policy for one human: twist, policy and the distance used to rank humans [m].
    fn policy_for(&self, intent: Intent, p: &HumanPrediction) -> Option<(Twist, AssistPolicy, f64)> {
        let c = &self.config;
        let torso_now = p.future.first()?[TORSO].coords.xy();
        let d_torso = torso_now.norm();
        match intent {
            Intent::ApproachRobot => {
                if d_torso >= c.backoff_distance || d_torso < 1e-6 {
                    return None;
                }
                let away = -torso_now / d_torso * c.backoff_speed;
                Some((Twist::planar(away.x, away.y, 0.0), AssistPolicy::BackOff, d_torso))
            }
            Intent::ReachHandover => {
                let last = p.future.last()?;
                let (hand3, d) = [last[1], last[2]]
                    .into_iter()
                    .map(|q| (q, self.robot.distance(&q)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))?;
                let hand = hand3.coords.xy();
                if hand.norm() < 1e-6 {
                    return None;
                }
                let bearing = hand.y.atan2(hand.x);
                let wz = (c.yaw_gain * bearing).clamp(-c.max_yaw_rate, c.max_yaw_rate);
                // Creep only while roughly facing the hand (|bearing| < 45°), so the robot turns first.
                let facing = bearing.abs() < std::f64::consts::FRAC_PI_4;
                let v = if facing {
                    (c.handover_gain * (d - c.handover_standoff.max(self.min_standoff))).clamp(0.0, c.handover_speed)
                } else {
                    0.0
                };
                let dir = hand / hand.norm() * v;
                Some((Twist::planar(dir.x, dir.y, wz), AssistPolicy::ApproachHandover, d))
            }
            Intent::PassBy => {
                let closest = p.future.iter().map(|s| s[TORSO].coords.xy().norm()).fold(f64::INFINITY, f64::min);
                (closest < c.hold_distance).then_some((Twist::ZERO, AssistPolicy::Hold, closest))
            }
            Intent::Idle => {
                let bearing = torso_now.y.atan2(torso_now.x);
                if d_torso >= c.way_out_distance || d_torso < 1e-6 || bearing.abs() >= c.way_out_max_bearing {
                    return None;
                }
                // Turn away from the person's side (right when they are exactly ahead); back off while they are
                // nearly straight ahead, drive on while they are behind the beam (both move away from them).
                let wz = if bearing > 0.0 { -c.way_out_yaw_rate } else { c.way_out_yaw_rate };
                let v = if bearing.abs() < c.way_out_straight_bearing {
                    -c.way_out_speed
                } else if bearing.abs() > FRAC_PI_2 {
                    c.way_out_speed
                } else {
                    0.0
                };
                Some((Twist::planar(v, 0.0, wz), AssistPolicy::WayOut, d_torso))
            }
            Intent::Retreat => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use nalgebra::Point3;

    fn pred(intent: Intent, prob: f32, torso: [f64; 2], vel: [f64; 2], hand: Option<[f64; 2]>) -> HumanPrediction {
        let mut probabilities = [(1.0 - prob) / 4.0; 5];
        probabilities[intent.index()] = prob;
        let future = (1..=10)
            .map(|k| {
                let t = k as f64 * 0.1;
                let torso = Point3::new(torso[0] + vel[0] * t, torso[1] + vel[1] * t, 1.0);
                let h = hand.map_or(torso, |h| Point3::new(h[0], h[1], 1.2));
                [torso, h, torso]
            })
            .collect();
        HumanPrediction { human_id: 7, stamp: Stamp(0), probabilities, confidence: prob, horizon_step: 0.1, future }
    }

    #[test]
    fn approaching_human_makes_the_robot_back_off() {
        let a = Assist::new(AssistConfig::default());
        let out = a.step(Stamp(0), &[pred(Intent::ApproachRobot, 0.9, [1.0, 0.0], [-0.5, 0.0], None)]);
        assert_eq!(out.policy, AssistPolicy::BackOff);
        assert!(out.twist.linear.x < 0.0);
        assert_relative_eq!(out.twist.linear.norm(), 0.3, epsilon = 1e-9);
        assert_relative_eq!(out.confidence, 0.9, epsilon = 1e-6);
        // Far away: no back-off.
        let out = a.step(Stamp(0), &[pred(Intent::ApproachRobot, 0.9, [5.0, 0.0], [-0.5, 0.0], None)]);
        assert_eq!(out.policy, AssistPolicy::None);
    }

    #[test]
    fn handover_creeps_toward_the_hand_and_stops_at_the_standoff() {
        let a = Assist::new(AssistConfig::default());
        let out = a.step(Stamp(0), &[pred(Intent::ReachHandover, 0.8, [1.5, 0.0], [0.0, 0.0], Some([1.0, 0.0]))]);
        assert_eq!(out.policy, AssistPolicy::ApproachHandover);
        // The hand 1.2 m up, 1.0 m ahead: 0.7 m beyond the rim, 0.7 m above the base's top.
        let d = 0.7f64.hypot(0.7);
        assert_relative_eq!(out.twist.linear.x, 0.15f64.min(0.5 * (d - 0.6)), epsilon = 1e-9);
        // A hand held 0.6 m up, 0.2 m beyond the rim: 0.22 m from the surface, inside the stand-off: no creep.
        let mut low = pred(Intent::ReachHandover, 0.8, [0.9, 0.0], [0.0, 0.0], Some([0.5, 0.0]));
        low.future.iter_mut().for_each(|s| s[1].z = 0.6);
        assert_eq!(a.step(Stamp(0), &[low]).twist.linear.x, 0.0);
        // The stand-off is from the surface: a larger robot stops farther from the hand.
        let big = RobotBody {
            footprint: crate::safety::RobotShape::Radius { radius: 0.5 },
            ..SeparationConfig::default().body()
        };
        let far = pred(Intent::ReachHandover, 0.8, [1.5, 0.0], [0.0, 0.0], Some([1.0, 0.0]));
        let v_big =
            Assist::new(AssistConfig::default()).for_robot(big.clone(), 0.0).step(Stamp(0), std::slice::from_ref(&far));
        assert_relative_eq!(v_big.twist.linear.x, 0.5 * (0.5f64.hypot(0.7) - 0.6), epsilon = 1e-9);
        // A stand-off configured inside the chain's no-approach distance is raised to it.
        let tight = AssistConfig { handover_standoff: 0.1, ..AssistConfig::default() };
        let v = Assist::new(tight).for_robot(big, 0.8).step(Stamp(0), &[far]).twist.linear.x;
        assert_relative_eq!(v, 0.5 * (0.5f64.hypot(0.7) - 0.8), epsilon = 1e-9);
        // Hand to the side: turn first, do not creep.
        let out = a.step(Stamp(0), &[pred(Intent::ReachHandover, 0.8, [0.0, 1.5], [0.0, 0.0], Some([0.0, 1.0]))]);
        assert_eq!(out.twist.linear.norm(), 0.0);
        assert_relative_eq!(out.twist.angular.z, 0.5);
    }

    #[test]
    fn pass_by_holds_retreat_does_not_assist() {
        let a = Assist::new(AssistConfig::default());
        let out = a.step(Stamp(0), &[pred(Intent::PassBy, 0.9, [1.5, 2.0], [0.0, -1.5], None)]);
        assert_eq!(out.policy, AssistPolicy::Hold);
        assert!(out.twist.is_zero());
        let retreat = pred(Intent::Retreat, 0.95, [1.0, 0.0], [0.0, 0.0], None);
        assert_eq!(a.step(Stamp(0), &[retreat]).policy, AssistPolicy::None);
    }

    #[test]
    fn on_a_platform_that_moves_sideways_the_way_out_goes_around_everyone_idle_close_by() {
        let a = Assist::new(AssistConfig::default()).moving_sideways(true);
        let idle = |id: HumanId, torso: [f64; 2]| HumanPrediction {
            human_id: id,
            ..pred(Intent::Idle, 0.9, torso, [0.0, 0.0], None)
        };
        // The direction nearest the heading that is 90° + way_around_angle (0.2 rad) off every bearing, at
        // way_around_speed (0.4 m/s), no turn.
        let dir = |deg: f64| {
            let r = deg.to_radians();
            (0.4 * r.cos(), 0.4 * r.sin())
        };
        let turn = 90.0 + 0.2f64.to_degrees();
        let check = |out: AssistOutput, deg: f64| {
            assert_eq!(out.policy, AssistPolicy::WayOut);
            let (vx, vy) = dir(deg);
            assert_relative_eq!(out.twist.linear.x, vx, epsilon = 1e-9);
            assert_relative_eq!(out.twist.linear.y, vy, epsilon = 1e-9);
            assert_eq!(out.twist.angular.z, 0.0);
        };
        // Alone and exactly ahead: sideways to the right, a little back; nearly ahead on the left (11.3°, within
        // way_out_straight_bearing): round them on the right, 101.5° off them.
        check(a.step(Stamp(0), &[idle(1, [1.0, 0.0])]), -turn);
        check(a.step(Stamp(0), &[idle(1, [1.0, 0.2])]), 0.2f64.atan2(1.0).to_degrees() - turn);
        // Alone and off to one side (63.4°): the per-person way out, turn away from them.
        let out = a.step(Stamp(0), &[idle(1, [0.5, 1.0])]);
        assert_eq!(
            (out.policy, out.twist.linear.x, out.twist.linear.y, out.twist.angular.z),
            (AssistPolicy::WayOut, 0.0, 0.0, -1.0)
        );
        // Boxed in on two sides, ahead-left (26.6°) and right (−90°): every forward direction brings one of
        // them closer (the per-person way out flips between "back off and turn right" and "drive on and turn
        // left"); the way around is back and to the left, 101.5° off the person ahead.
        let two = [idle(1, [1.0, 0.5]), idle(2, [0.0, -1.0])];
        let out = a.step(Stamp(0), &two);
        check(out, 0.5f64.atan2(1.0).to_degrees() + turn);
        assert_eq!(out.human, Some(2), "offered for the nearest ahead or beside");
        // Surrounded: no direction leaves everyone; the per-person way out (turn away, back off) stays.
        let four = [idle(1, [1.0, 0.1]), idle(2, [0.0, -1.1]), idle(3, [-1.0, 0.0]), idle(4, [0.0, 1.2])];
        let out = a.step(Stamp(0), &four);
        assert_eq!((out.policy, out.twist.linear.x, out.twist.angular.z), (AssistPolicy::WayOut, -0.15, -1.0));
        // Nobody idle ahead or beside (behind, or farther than way_out_distance): no way out. People behind
        // still bound the way around for one ahead: with someone behind on the right, around to the left.
        assert_eq!(a.step(Stamp(0), &[idle(1, [-1.0, 0.3])]).policy, AssistPolicy::None);
        assert_eq!(a.step(Stamp(0), &[idle(1, [1.6, 0.0])]).policy, AssistPolicy::None);
        let out = a.step(Stamp(0), &[idle(1, [1.0, 0.0]), idle(2, [-0.5, -1.0])]);
        check(out, turn);
        // A hand-over in progress wins over the way around.
        let handover = HumanPrediction {
            human_id: 5,
            ..pred(Intent::ReachHandover, 0.8, [1.5, 0.5], [0.0, 0.0], Some([1.2, 0.4]))
        };
        assert_eq!(a.step(Stamp(0), &[two[0].clone(), handover]).policy, AssistPolicy::ApproachHandover);
    }

    #[test]
    fn idle_person_close_ahead_gets_a_way_out() {
        let a = Assist::new(AssistConfig::default());
        let idle = |torso: [f64; 2]| a.step(Stamp(0), &[pred(Intent::Idle, 0.9, torso, [0.0, 0.0], None)]);
        // Straight ahead: back off and turn away (right when exactly ahead).
        let out = idle([1.0, 0.0]);
        assert_eq!((out.policy, out.twist.linear.x, out.twist.angular.z.abs()), (AssistPolicy::WayOut, -0.15, 1.0));
        assert!(out.least_translation);
        // Ahead to the left: turn right, no backing off; ahead to the right: turn left. A turn only: the
        // operator's driving is left as it is (a way out's translation is a least motion).
        let out = idle([0.5, 1.0]);
        assert_eq!((out.policy, out.twist.linear.x, out.twist.angular.z), (AssistPolicy::WayOut, 0.0, -1.0));
        assert!(out.least_translation);
        assert_eq!(idle([0.5, -1.0]).twist.angular.z, 1.0);
        // Just behind the beam: still in the way of a robot brushing past; it drives on, away from them, turning
        // away. Farther behind, or farther than way_out_distance: no way out.
        let out = idle([-0.1, 1.0]);
        assert_eq!((out.policy, out.twist.linear.x, out.twist.angular.z), (AssistPolicy::WayOut, 0.15, -1.0));
        assert!(out.least_translation);
        assert_eq!(idle([-0.6, 1.0]).policy, AssistPolicy::None);
        assert_eq!(idle([1.6, 0.0]).policy, AssistPolicy::None);
        // A hand-over in progress wins over a way out.
        let out = a.step(
            Stamp(0),
            &[
                pred(Intent::Idle, 0.9, [1.0, 0.0], [0.0, 0.0], None),
                pred(Intent::ReachHandover, 0.8, [1.5, 0.5], [0.0, 0.0], Some([1.2, 0.4])),
            ],
        );
        assert_eq!(out.policy, AssistPolicy::ApproachHandover);
    }

    #[test]
    fn low_probability_and_stale_predictions_are_ignored() {
        let a = Assist::new(AssistConfig::default());
        let p = pred(Intent::ApproachRobot, 0.4, [1.0, 0.0], [-0.5, 0.0], None);
        assert_eq!(a.step(Stamp(0), &[p]).policy, AssistPolicy::None);
        let p = pred(Intent::ApproachRobot, 0.9, [1.0, 0.0], [-0.5, 0.0], None);
        assert_eq!(a.step(Stamp::from_secs_f64(0.31), &[p]).policy, AssistPolicy::None);
    }

    #[test]
    fn back_off_beats_handover() {
        let a = Assist::new(AssistConfig::default());
        let out = a.step(
            Stamp(0),
            &[
                pred(Intent::ReachHandover, 0.9, [1.0, 0.0], [0.0, 0.0], Some([0.8, 0.0])),
                pred(Intent::ApproachRobot, 0.6, [0.0, 1.5], [0.0, -0.5], None),
            ],
        );
        assert_eq!(out.policy, AssistPolicy::BackOff);
        assert!(out.twist.linear.y < 0.0);
    }

    #[test]
    fn external_assist_is_used_while_fresh_and_finite() {
        let mut a = Assist::new(AssistConfig::default());
        assert!(a.on_external(Stamp::from_secs_f64(1.0), Twist::planar(0.2, 0.0, 0.1)));
        assert!(!a.on_external(Stamp::from_secs_f64(0.5), Twist::ZERO));
        let out = a.step(Stamp::from_secs_f64(1.1), &[]);
        assert_eq!(out.policy, AssistPolicy::External);
        assert_relative_eq!(out.confidence, 0.8);
        assert_eq!(a.step(Stamp::from_secs_f64(1.3), &[]).policy, AssistPolicy::None);
        a.on_external(Stamp::from_secs_f64(2.0), Twist::planar(f64::NAN, 0.0, 0.0));
        assert_eq!(a.step(Stamp::from_secs_f64(2.0), &[]).policy, AssistPolicy::None);
    }
}
