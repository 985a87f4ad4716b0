//! The shared-control decision: inputs in, one command and its explanation out, time passed in.
//!
//! One cycle ([`Controller::step`]):
//! `joy → teleop (user twist) → assist (policy per predicted intent, or external) → arbitration
//! (α, blend) → safety chain (validation → separation monitoring → zones → limits → watchdog) → output`.
//! The operator's enable (deadman) gates everything: without it the output is an explicit zero, assistance
//! included.
//!
//! **Re-arm.** After a stop caused by a fault (a stale or invalid joystick, a fault of the safety chain: missing, stale
//! or invalid skeletons, a stalled cycle, ...; captures that disagree about who is there), after a restart of the
//! controller (a new process, a lifecycle activation, a clock jump) the output stays an explicit zero, with the reason
//! `awaiting_rearm` ([`Reason::AwaitingRearm`]), until an accepted Joy with the deadman *released* has been seen after
//! the cause cleared, followed by one with it pressed: as enabling devices require, a fault never ends in motion the
//! operator did not ask for again. A joystick driver that publishes at a steady rate (as `joy` and `joy_linux` do)
//! shows the release as soon as the operator lets go.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::arbitration::{ArbitrationConfig, Arbitrator};
use crate::assist::{Assist, AssistConfig, AssistPolicy};
pub use crate::config::ConfigError;
use crate::config::{Catalog, FieldSpec, Section};
use crate::prediction::HumanPrediction;
use crate::safety::{Effect, Reason, SafetyChain, SafetyConfig, SafetyInput, Zone};
use crate::skeleton::{HumanId, HumanSkeleton, SkeletonFrame};
use crate::teleop::{Deadman, JoyInput, Teleop, TeleopConfig, TeleopState};
use crate::time::Stamp;
use crate::twist::Twist;

/// What the controller is doing (mirrors `SharedControlStatus.MODE_*`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// No operator input or enable released: explicit zero.
    Idle = 0,
    /// Operator command only (α = 0), not reduced by safety.
    Manual = 1,
    /// Assistance blended in (α > 0), not reduced by safety.
    Assisted = 2,
    /// Safety reduced the speed.
    Slowdown = 3,
    /// Safety stopped a motion the blend asked for.
    Stop = 4,
    /// An input or the cycle itself is faulty: explicit zero.
    Fault = 5,
}

/// One control cycle's outcome: the command to publish and why it is what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// Cycle time.
    pub stamp: Stamp,
    pub mode: Mode,
    /// Blend weight of the assistance command [0, 1].
    pub alpha: f64,
    /// Speed factor applied by the safety chain [0, 1] (0 on a forced stop).
    pub speed_scale: f64,
    /// Nearest human and the surface distance to it \[m\], if anyone is in view.
    pub nearest_human: Option<(HumanId, f64)>,
    /// Protective separation distance `S_p` toward the nearest human at the output's speed \[m\].
    pub required_separation: f64,
    /// Human speed assumed for the nearest human in `S_p` [m/s].
    pub human_speed: f64,
    pub humans_seen: usize,
    pub predictions_used: usize,
    /// Assistance policy of this cycle.
    pub assist_policy: AssistPolicy,
    /// Zone of the nearest human.
    pub zone: Zone,
    /// The rules that changed or explained the command, in order of application.
    pub reasons: Vec<Reason>,
    /// Motion waits for the operator to release and press the deadman again (see the module docs).
    pub awaiting_rearm: bool,
    /// Stamps of the newest inputs kept when deciding (what this decision is based on).
    pub inputs: InputStamps,
    pub user: Twist,
    pub assist: Twist,
    pub blended: Twist,
    pub output: Twist,
}

impl Decision {
    /// An explicit zero at `now` for `reason`, with nothing else known (deactivation, shutdown, clock jump).
    pub fn zero(now: Stamp, mode: Mode, reason: Reason) -> Decision {
        Decision {
            stamp: now,
            mode,
            alpha: 0.0,
            speed_scale: 0.0,
            nearest_human: None,
            required_separation: 0.0,
            human_speed: 0.0,
            humans_seen: 0,
            predictions_used: 0,
            assist_policy: AssistPolicy::None,
            zone: Zone::Clear,
            reasons: vec![reason],
            awaiting_rearm: false,
            inputs: InputStamps::default(),
            user: Twist::ZERO,
            assist: Twist::ZERO,
            blended: Twist::ZERO,
            output: Twist::ZERO,
        }
    }
}

/// Stamps of the newest joystick message, skeleton capture and prediction set a decision was based on
/// (`None`: none received yet).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct InputStamps {
    pub joy: Option<Stamp>,
    pub skeletons: Option<Stamp>,
    pub predictions: Option<Stamp>,
}

/// Configuration of the controller (YAML/JSON; unknown keys are errors, missing sections take defaults).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControllerConfig {
    pub teleop: TeleopConfig,
    pub assist: AssistConfig,
    pub arbitration: ArbitrationConfig,
    pub safety: SafetyConfig,
}

impl Section for ControllerConfig {
    /// No fields of its own: every number belongs to a section.
    const FIELDS: &'static [FieldSpec<Self>] = &[];

    fn declare_nested(catalog: &mut Catalog, prefix: &str) {
        let at = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        TeleopConfig::declare(catalog, &at("teleop"));
        AssistConfig::declare(catalog, &at("assist"));
        ArbitrationConfig::declare(catalog, &at("arbitration"));
        SafetyConfig::declare(catalog, &at("safety"));
    }
}

impl ControllerConfig {
    /// Checks every value, section by section (errors name the field from here: `safety.zones.stop_distance`);
    /// the same check serves the parameter file and runtime changes (validate, then swap).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.teleop.validate().map_err(|e| e.within("teleop"))?;
        self.assist.validate().map_err(|e| e.within("assist"))?;
        self.arbitration.validate().map_err(|e| e.within("arbitration"))?;
        self.safety.validate().map_err(|e| e.within("safety"))
    }

    /// Every declared field and relation with its full dotted name (`safety.zones.stop_distance`): what the
    /// ROS parameter layer declares its ranges and descriptions from.
    pub fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        ControllerConfig::declare(&mut catalog, "");
        catalog
    }

    /// The least hand-over stand-off (robot surface to the offered hand) \[m\], the assist's floor under
    /// `assist.handover_standoff`: it keeps the robot outside
    /// `S_p(0)` of a person seen at rest with their arm stretched out: `S_p(0)` with the reachable set of a
    /// standing person (starting speed
    /// `velocity_uncertainty + max_acceleration · velocity_window / 2`, no arm reach left, a fresh observation),
    /// or with the standard's near speed when the reachable set is off.
    pub fn min_handover_standoff(&self) -> f64 {
        use crate::safety::{ClosingBound, SeparationMonitor};
        let sep = &self.safety.separation;
        let r = &sep.reach;
        let standing = if r.enabled {
            let initial = r.velocity_uncertainty + r.max_acceleration * 0.5 * r.velocity_window;
            ClosingBound {
                initial,
                cap: r.max_speed.max(initial),
                acceleration: r.max_acceleration,
                extension: 0.0,
                extension_speed: 0.0,
            }
        } else {
            ClosingBound::constant(sep.human_speed_near)
        };
        SeparationMonitor::new(sep.clone()).required_separation_for(0.0, &standing, 0.0)
    }

    /// Parses YAML and validates.
    pub fn from_yaml(text: &str) -> Result<ControllerConfig, ControllerConfigLoadError> {
        let c: ControllerConfig = serde_yaml::from_str(text)?;
        c.validate()?;
        Ok(c)
    }
}

/// Why a configuration file could not be used.
#[derive(Debug, Error)]
pub enum ControllerConfigLoadError {
    #[error("cannot parse the controller configuration: {0}")]
    Parse(#[from] serde_yaml::Error),
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// Inputs → decision; see the module docs.
#[derive(Clone, Debug)]
pub struct Controller {
    config: ControllerConfig,
    teleop: Teleop,
    assist: Assist,
    arbitrator: Arbitrator,
    safety: SafetyChain,
    latest_humans: Option<SkeletonFrame>,
    /// When the kept skeleton frame arrived (node clock).
    humans_arrival: Option<Stamp>,
    /// When a capture older than the kept one arrived showing someone the kept one lacks (node clock), and
    /// whether a decision has seen it since (each such capture faults at least one decision, whatever
    /// `skeleton_timeout` is).
    skeletons_disagree: Option<(Stamp, bool)>,
    predictions: Vec<HumanPrediction>,
    predictions_stamp: Option<Stamp>,
    joy_stamp: Option<Stamp>,
    rearm: Rearm,
}

/// The re-arm latch (see the module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Rearm {
    /// Motion is inhibited until the operator re-arms.
    latched: bool,
    /// An accepted Joy with the deadman released was seen since the latch was last set.
    released_seen: bool,
}

impl Controller {
    /// A controller with `config`. The caller validates first ([`ControllerConfig::validate`], or use
    /// [`Controller::try_new`]); an unvalidated config with out-of-range values still never panics.
    pub fn new(config: ControllerConfig) -> Self {
        Controller {
            teleop: Teleop::new(config.teleop.clone()),
            // The hand-over assist never parks the robot inside the chain's own no-approach distance.
            assist: Assist::new(config.assist.clone())
                .for_robot(config.safety.separation.body(), config.min_handover_standoff())
                .moving_sideways(config.safety.limits.max_velocity[1] > 0.0),
            arbitrator: Arbitrator::new(config.arbitration.clone()),
            safety: SafetyChain::new(config.safety.clone()),
            config,
            latest_humans: None,
            humans_arrival: None,
            skeletons_disagree: None,
            predictions: Vec::new(),
            predictions_stamp: None,
            joy_stamp: None,
            // A new controller is a restart: the operator re-arms first.
            rearm: Rearm { latched: true, released_seen: false },
        }
    }

    /// Inhibits motion until the operator re-arms (a lifecycle activation, a clock jump, ...).
    pub fn latch_rearm(&mut self) {
        self.rearm = Rearm { latched: true, released_seen: false };
    }

    /// True while motion waits for a re-arm.
    pub fn awaiting_rearm(&self) -> bool {
        self.rearm.latched
    }

    /// Validates `config`, then builds the controller.
    pub fn try_new(config: ControllerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::new(config))
    }

    /// The configuration in use.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// Validates `config` and swaps it in; on error nothing changes. A parameter change is no restart: the
    /// inputs (joystick, skeletons, predictions, an external assist command), the operator's arming state (unless
    /// the pad mapping changed, [`TeleopConfig::same_mapping`]: then a re-arm) and what the safety chain knows
    /// ([`SafetyChain::reconfigured`]: remembered people, the robot's own motion, the output's motion state)
    /// carry over, so the next output goes on from the last one within the new limits.
    pub fn set_config(&mut self, config: ControllerConfig) -> Result<(), ConfigError> {
        config.validate()?;
        let mut next = Self::new(config);
        next.teleop = {
            let mut teleop = self.teleop.clone();
            teleop.set_config(next.config.teleop.clone());
            teleop
        };
        if let Some((stamp, twist)) = self.assist.external() {
            next.assist.on_external(stamp, twist);
        }
        next.safety = self.safety.reconfigured(next.config.safety.clone());
        next.latest_humans = self.latest_humans.take();
        next.humans_arrival = self.humans_arrival;
        next.skeletons_disagree = self.skeletons_disagree;
        next.predictions = std::mem::take(&mut self.predictions);
        next.predictions_stamp = self.predictions_stamp;
        next.joy_stamp = self.joy_stamp;
        // A new pad mapping (another deadman button, other axes or scales) is a new enabling device: motion waits
        // for the operator to release and press the deadman as the new mapping reads it.
        if self.config.teleop.same_mapping(&next.config.teleop) {
            next.rearm = self.rearm;
        }
        *self = next;
        Ok(())
    }

    /// Stores a joystick message that arrived at `arrival` (node clock); `false` when it was dropped as out of
    /// order. Stamp checks are [`crate::input::InputHandler`]'s.
    pub fn on_joy(&mut self, joy: JoyInput, arrival: Stamp) -> bool {
        let stamp = joy.stamp;
        let deadman = self.teleop.deadman(&joy);
        let kept = self.teleop.on_joy(joy, arrival);
        if kept {
            self.joy_stamp = Some(stamp);
            if self.rearm.latched {
                match deadman {
                    Deadman::Released if self.teleop.release_confirmed() => self.rearm.released_seen = true,
                    Deadman::Pressed if self.rearm.released_seen => self.rearm.latched = false,
                    _ => {}
                }
            }
        }
        kept
    }

    /// A rejected Joy read a released deadman: the robot stops as for an accepted release (but a rejected Joy
    /// never re-arms).
    pub fn on_rejected_release(&mut self) {
        self.teleop.on_rejected_release();
    }

    /// The teleop stage (its map tells where the deadman is).
    pub fn teleop(&self) -> &Teleop {
        &self.teleop
    }

    /// Stores a skeleton capture that arrived at `arrival`; `false` when it was dropped as older than the one kept. A
    /// dropped capture that shows someone the kept one lacks, or shows them elsewhere (not
    /// [`crate::safety::same_person`] over the stamps' difference), means the captures disagree about who is where (a
    /// second source stamping ahead of the tracker, or a clock fault): kept only by stamp, the newest capture would
    /// hide that person, at once or once the occlusion memory let them go, so the controller stops in fault
    /// ([`Reason::SkeletonsDisagree`]) for as long as such captures come and `skeleton_timeout` after, and motion then
    /// waits for a re-arm.
    pub fn on_skeletons(&mut self, frame: SkeletonFrame, arrival: Stamp) -> bool {
        if let Some(kept) = self.latest_humans.as_ref().filter(|f| frame.stamp < f.stamp) {
            let dt = kept.stamp.seconds_since(frame.stamp);
            let elsewhere = |h: &HumanSkeleton| match kept.humans.iter().find(|k| k.id == h.id) {
                None => true,
                Some(k) => {
                    let (a, b) = (h.observed().map(|k| k.position), k.observed().map(|k| k.position));
                    !crate::safety::same_person(a, b, dt)
                }
            };
            if frame.humans.iter().any(elsewhere) {
                self.skeletons_disagree = Some((arrival, false));
            }
            return false;
        }
        self.latest_humans = Some(frame);
        self.humans_arrival = Some(arrival);
        true
    }

    /// The newest skeleton frame kept.
    pub fn latest_skeletons(&self) -> Option<&SkeletonFrame> {
        self.latest_humans.as_ref()
    }

    /// The newest predictions kept.
    pub fn predictions(&self) -> &[HumanPrediction] {
        &self.predictions
    }

    /// Newest input stamps kept.
    pub fn input_stamps(&self) -> InputStamps {
        InputStamps {
            joy: self.joy_stamp,
            skeletons: self.latest_humans.as_ref().map(|f| f.stamp),
            predictions: self.predictions_stamp,
        }
    }

    /// Replaces the predictions with those of one predictor output stamped `stamp` (the skeleton stamp they
    /// came from); `false` when dropped as older than the set kept.
    pub fn on_predictions(&mut self, stamp: Stamp, predictions: Vec<HumanPrediction>) -> bool {
        if self.predictions_stamp.is_some_and(|s| stamp < s) {
            return false;
        }
        self.predictions_stamp = Some(stamp);
        self.predictions = predictions;
        true
    }

    /// Stores an external assist command stamped `stamp`; `false` when dropped as out of order.
    pub fn on_assist(&mut self, stamp: Stamp, twist: Twist) -> bool {
        self.assist.on_external(stamp, twist)
    }

    /// The `S_p` formula of the configured separation monitor \[m\] (for status displays and tests).
    pub fn required_separation(&self, robot_approach_speed: f64, human_speed: f64) -> f64 {
        self.safety.separation().required_separation(robot_approach_speed, human_speed)
    }

    /// Decides the command at `now`.
    pub fn step(&mut self, now: Stamp) -> Decision {
        let teleop = self.teleop.step(now);
        let mut reasons = Vec::new();
        reasons.extend(teleop.state.reason());
        // Only predictions that validation accepts may steer the assistance, and only those of people in the
        // newest skeleton capture, made from a capture no newer than it: a prediction of someone nobody sees (a
        // forged message, a stamp from the future) never moves the robot. The safety chain takes every
        // prediction, as restrictions only.
        let preds: &[HumanPrediction] = &self.predictions;
        let fresh_valid: Vec<HumanPrediction> = match (&self.latest_humans, teleop.state) {
            (Some(frame), TeleopState::Active) => preds
                .iter()
                .filter(|p| p.is_valid() && p.stamp <= frame.stamp && frame.humans.iter().any(|h| h.id == p.human_id))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let (assist, blend) = if teleop.state == TeleopState::Active {
            let assist = self.assist.step(now, &fresh_valid);
            let blend = self.arbitrator.blend(&teleop.twist, &assist);
            (assist, blend)
        } else {
            let assist = crate::assist::AssistOutput::NONE;
            let blend = self.arbitrator.blend(&Twist::ZERO, &assist);
            (assist, blend)
        };
        if blend.alpha > 0.0 {
            reasons.extend(assist.policy.reason());
        }
        if blend.operator_override {
            reasons.push(Reason::OperatorOverride);
        }
        let waiting = teleop.state == TeleopState::Active && self.rearm.latched;
        if waiting {
            reasons.push(Reason::AwaitingRearm);
        }
        let timeout = self.config.safety.watchdog.skeleton_timeout;
        let disagree = self.skeletons_disagree.as_mut().is_some_and(|(t, seen)| {
            let unseen = !std::mem::replace(seen, true);
            unseen || now.seconds_since(*t) <= timeout
        });
        if disagree {
            reasons.push(Reason::SkeletonsDisagree);
        }
        let inhibit = match teleop.state {
            _ if disagree => Some(Reason::SkeletonsDisagree),
            TeleopState::Active if waiting => Some(Reason::AwaitingRearm),
            TeleopState::Active => None,
            s => Some(s.reason().unwrap_or(Reason::TeleopInactive)),
        };
        let out = self.safety.step(SafetyInput {
            now,
            command: blend.twist,
            skeletons: self.latest_humans.as_ref(),
            skeletons_arrival: self.humans_arrival,
            predictions: preds,
            inhibit,
        });
        // A fault this cycle (or a joystick that is stale or invalid) sets the latch again; the release must
        // come after the cause cleared.
        if out.fault || disagree || matches!(teleop.state, TeleopState::Stale | TeleopState::Invalid) {
            self.latch_rearm();
        }
        reasons.extend(out.reasons.iter().copied());
        let mode = match teleop.state {
            TeleopState::Stale | TeleopState::Invalid => Mode::Fault,
            // Nothing asked: idle, even when the safety chain could not allow motion now (the reasons say why,
            // and the re-arm latch is set all the same). A robot nobody drives is not in fault.
            TeleopState::DeadmanReleased | TeleopState::NoInput => Mode::Idle,
            _ if out.fault || disagree => Mode::Fault,
            TeleopState::Active if waiting => Mode::Idle,
            // No fault and no inhibit: the chain's most restrictive effect is at most a stop for a person.
            TeleopState::Active => match out.effect() {
                Some(Effect::Stop) => Mode::Stop,
                Some(Effect::Slowdown) => Mode::Slowdown,
                _ if blend.alpha > 0.0 => Mode::Assisted,
                _ => Mode::Manual,
            },
        };
        Decision {
            stamp: now,
            mode,
            alpha: blend.alpha,
            speed_scale: out.speed_scale,
            nearest_human: out.nearest,
            required_separation: out.required_separation,
            human_speed: out.human_speed,
            humans_seen: out.humans_seen,
            predictions_used: out.predictions_used,
            assist_policy: if blend.alpha > 0.0 { assist.policy } else { AssistPolicy::None },
            zone: out.zone,
            reasons,
            awaiting_rearm: self.rearm.latched,
            inputs: self.input_stamps(),
            user: teleop.twist,
            assist: assist.twist,
            blended: blend.twist,
            output: out.twist,
        }
    }
}

#[cfg(test)]
mod tests;
