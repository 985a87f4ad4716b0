//! Why the command is what it is: [`Reason`], one variant per rule that changed or explained a command, and
//! [`StageOutcome`], what one stage of the safety chain made of the command.
//!
//! A reason leaves the process as its name ([`Reason::as_str`]): in `SharedControlStatus.reasons`, the bag
//! reports, the metrics and the diagnostics. The names are part of the interface and never change;
//! [`Reason::from_str`](std::str::FromStr) reads one back.
//!
//! Each reason has an [`Effect`] on the command. The chain folds the outcomes of its stages as nav2's
//! collision monitor folds the actions of its polygons: the most restrictive wins (a fault over a stop over a
//! slowdown), and the mode of the decision follows from it ([`crate::control::Mode`]).

use std::fmt;
use std::str::FromStr;

use crate::twist::Twist;

/// What a reason does to the command, from the least to the most restrictive.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    /// Explains or shapes the command without reducing it for a person (assistance, a dropped prediction,
    /// acceleration and jerk limits, ...).
    Note,
    /// The speed was reduced (`Mode::Slowdown`).
    Slowdown,
    /// A motion toward a person was stopped (`Mode::Stop`).
    Stop,
    /// Nothing may move: no operator command, the enable released, waiting for a re-arm, the node going down.
    /// Forces an explicit zero.
    Inhibit,
    /// An input or the cycle itself is faulty. Forces an explicit zero and sets the re-arm latch.
    Fault,
}

macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $effect:ident;)*) => {
        /// A rule that changed or explained the command. The table in `docs/safety_chain.md` ("Reasons") lists
        /// every one with its stage.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Reason {
            $($(#[$doc])* $variant,)*
        }

        impl Reason {
            /// Every reason, in the order of the stages.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The name as it appears in `SharedControlStatus.reasons`, bag reports, metrics and diagnostics.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $name,)*
                }
            }

            /// What the reason does to the command.
            pub const fn effect(self) -> Effect {
                match self {
                    $(Reason::$variant => Effect::$effect,)*
                }
            }
        }
    };
}

reasons! {
    // Teleop (the operator's input).
    /// No joystick message yet.
    JoyMissing = "joy_missing", Inhibit;
    /// The enable (deadman) button is released.
    DeadmanReleased = "deadman_released", Inhibit;
    /// The joystick went quiet.
    JoyStale = "joy_stale", Fault;
    /// The joystick message is unusable (non-finite axes, a stamp from the future).
    JoyInvalid = "joy_invalid", Fault;
    /// Teleop is not active for another cause (a fallback name; every teleop state names its own).
    TeleopInactive = "teleop_inactive", Inhibit;
    // Assistance and arbitration.
    /// An external assist command is blended in.
    AssistExternal = "assist_external", Note;
    /// The back-off policy is blended in.
    AssistBackOff = "assist_back_off", Note;
    /// The hand-over approach is blended in.
    AssistApproachHandover = "assist_approach_handover", Note;
    /// The hold-for-a-passer-by policy is blended in.
    AssistHoldPassBy = "assist_hold_pass_by", Note;
    /// The way-out policy is blended in.
    AssistWayOut = "assist_way_out", Note;
    /// The operator pushes against the assistance.
    OperatorOverride = "operator_override", Note;
    /// Motion waits for the operator to release and press the deadman again.
    AwaitingRearm = "awaiting_rearm", Inhibit;
    // Inputs.
    /// A capture older than the one kept showed someone that one lacks (a second writer, or a clock fault).
    SkeletonsDisagree = "skeletons_disagree", Fault;
    // 3.1 Input validation.
    /// The command has NaN or Inf.
    CmdNonFinite = "cmd_non_finite", Fault;
    /// A command component is beyond the plausible bounds.
    CmdOutOfBounds = "cmd_out_of_bounds", Fault;
    /// No skeleton frame was received yet.
    SkeletonsMissing = "skeletons_missing", Fault;
    /// The skeletons are in another frame than expected.
    SkeletonsWrongFrame = "skeletons_wrong_frame", Fault;
    /// The skeleton stamp is ahead of the cycle time.
    SkeletonsFutureStamp = "skeletons_future_stamp", Fault;
    /// A confident keypoint is non-finite or out of range.
    SkeletonInvalid = "skeleton_invalid", Fault;
    /// A prediction is non-finite or out of range.
    PredictionInvalid = "prediction_invalid", Fault;
    /// A prediction is too old (or from the future) and not used.
    PredictionStale = "prediction_stale", Note;
    // 3.2 Speed and separation monitoring.
    /// Separation monitoring stopped the motion.
    SsmStop = "ssm_stop", Stop;
    /// Separation monitoring scaled the motion down.
    SsmSlowdown = "ssm_slowdown", Slowdown;
    /// The turn of a reduced command was kept.
    SsmTurnKept = "ssm_turn_kept", Note;
    /// A command that had to slow down for a person slides past them instead (its components toward them
    /// taken out).
    SsmSlidePast = "ssm_slide_past", Note;
    /// Someone in view is bounded by the standard's conservative speed (no fresh, confident prediction).
    SsmConservativeHumanSpeed = "ssm_conservative_human_speed", Note;
    /// A person who left the view is kept as an obstacle.
    OccludedHumanRemembered = "occluded_human_remembered", Note;
    // 3.3 Zones.
    /// The stop zone zeroed the motion.
    ZoneStop = "zone_stop", Stop;
    /// The slowdown zone scaled the motion down.
    ZoneSlowdown = "zone_slowdown", Slowdown;
    // 3.4 Limits.
    /// The velocity limit scaled the command.
    VelocityLimit = "velocity_limit", Slowdown;
    /// The acceleration limit shaped the command.
    AccelerationLimit = "acceleration_limit", Note;
    /// The jerk bound was dropped for an urgent braking.
    JerkRelaxed = "jerk_relaxed", Note;
    /// The limiter's time step was not positive.
    LimiterDtInvalid = "limiter_dt_invalid", Note;
    // 3.5 Watchdog.
    /// The newest skeleton frame is too old.
    SkeletonsStale = "skeletons_stale", Fault;
    /// Too long since the previous cycle.
    CycleGap = "cycle_gap", Fault;
    /// The cycle time went back.
    ClockBackwards = "clock_backwards", Fault;
    // The chain and the node.
    /// A fault or an inhibit forced an explicit zero.
    ForcedStop = "forced_stop", Inhibit;
    /// The node was deactivated.
    Deactivated = "deactivated", Inhibit;
    /// The node is shutting down.
    Shutdown = "shutdown", Inhibit;
}

impl Reason {
    /// A motion toward a person was stopped (separation monitoring or the stop zone).
    pub fn is_stop(self) -> bool {
        self.effect() == Effect::Stop
    }

    /// The speed was reduced (separation monitoring, the slowdown zone, the velocity limit).
    pub fn is_slowdown(self) -> bool {
        self.effect() == Effect::Slowdown
    }

    /// An input or the cycle is faulty: an explicit zero and the re-arm latch.
    pub fn is_fault(self) -> bool {
        self.effect() == Effect::Fault
    }

    /// The most restrictive effect of `reasons` (`None` when there are none).
    pub fn most_restrictive(reasons: &[Reason]) -> Option<Effect> {
        reasons.iter().map(|r| r.effect()).max()
    }

    /// The names of `reasons` joined by `sep` (as the status, CSV and diagnostics show them).
    pub fn join(reasons: &[Reason], sep: &str) -> String {
        reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(sep)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no [`Reason`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown reason `{0}`")]
pub struct UnknownReason(pub String);

impl FromStr for Reason {
    type Err = UnknownReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::ALL.iter().copied().find(|r| r.as_str() == s).ok_or_else(|| UnknownReason(s.to_owned()))
    }
}

/// What one stage of the chain made of the command: the command it passes on, the uniform speed scale it
/// applied, and the reasons it recorded, in the order found.
#[derive(Clone, Debug, PartialEq)]
pub struct StageOutcome {
    /// The command after the stage.
    pub twist: Twist,
    /// Uniform scale the stage applied to the command [0, 1] (1: speed not reduced).
    pub scale: f64,
    pub reasons: Vec<Reason>,
}

impl StageOutcome {
    /// `twist` passed on unchanged, nothing to report.
    pub fn pass(twist: Twist) -> Self {
        StageOutcome { twist, scale: 1.0, reasons: Vec::new() }
    }

    /// `twist` scaled by `scale`, for `reason` when there is one.
    pub fn scaled(twist: Twist, scale: f64, reason: Option<Reason>) -> Self {
        StageOutcome { twist, scale, reasons: reason.into_iter().collect() }
    }

    /// The first reason recorded, if any (for the stages that record at most one).
    pub fn reason(&self) -> Option<Reason> {
        self.reasons.first().copied()
    }

    /// The most restrictive effect of the reasons (`None`: nothing to report).
    pub fn effect(&self) -> Option<Effect> {
        Reason::most_restrictive(&self.reasons)
    }

    /// A reason of the stage is a fault.
    pub fn has_fault(&self) -> bool {
        self.reasons.iter().any(|r| r.is_fault())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_read_back() {
        for r in Reason::ALL {
            assert_eq!(r.as_str().parse::<Reason>(), Ok(*r));
            assert_eq!(r.to_string(), r.as_str());
            assert_eq!(Reason::ALL.iter().filter(|q| q.as_str() == r.as_str()).count(), 1, "{r:?}");
        }
        assert_eq!("ssm_stopp".parse::<Reason>(), Err(UnknownReason("ssm_stopp".into())));
    }

    #[test]
    fn the_most_restrictive_effect_wins() {
        assert_eq!(Reason::most_restrictive(&[]), None);
        let slow = [Reason::AccelerationLimit, Reason::ZoneSlowdown, Reason::PredictionStale];
        assert_eq!(Reason::most_restrictive(&slow), Some(Effect::Slowdown));
        assert_eq!(Reason::most_restrictive(&[Reason::VelocityLimit, Reason::SsmStop]), Some(Effect::Stop));
        assert_eq!(Reason::most_restrictive(&[Reason::ZoneStop, Reason::CycleGap]), Some(Effect::Fault));
        let stops: Vec<Reason> = Reason::ALL.iter().copied().filter(|r| r.is_stop()).collect();
        assert_eq!(stops, [Reason::SsmStop, Reason::ZoneStop]);
        let slowdowns: Vec<Reason> = Reason::ALL.iter().copied().filter(|r| r.is_slowdown()).collect();
        assert_eq!(slowdowns, [Reason::SsmSlowdown, Reason::ZoneSlowdown, Reason::VelocityLimit]);
    }

    /// The table "Reasons" in `docs/safety_chain.md` lists every reason, in the enum's order, with its effect.
    #[test]
    fn the_docs_list_every_reason() {
        let doc = include_str!("../../../../docs/safety_chain.md");
        let table = doc.split("\n## Reasons").nth(1).expect("a section `## Reasons`");
        let rows: Vec<(String, String)> = table
            .lines()
            .skip_while(|l| !l.starts_with("| `"))
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`').to_owned(), cells[4].to_owned())
            })
            .collect();
        let expected: Vec<(String, String)> =
            Reason::ALL.iter().map(|r| (r.as_str().to_owned(), format!("{:?}", r.effect()))).collect();
        assert_eq!(rows, expected);
    }
}
