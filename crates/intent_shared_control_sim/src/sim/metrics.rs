//! Per-run results and the counters behind them.

use super::*;
use crate::score::StopEpisodeMetrics;

/// Per-run results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    pub seed: u64,
    pub careless_operator: bool,
    /// Control cycles simulated.
    pub cycles: u64,
    /// Cycles with a separation violation (ground truth).
    pub violation_cycles: u64,
    /// Smallest true surface distance to anyone while the robot approached them \[m\] (∞ if never).
    pub min_distance_approaching: f64,
    /// Cycles in `Stop` mode.
    pub stop_cycles: u64,
    /// `Stop` cycles the configured chain would not have made knowing the truth.
    pub false_stop_cycles: u64,
    /// `Stop` cycles whose blended command would not have violated the reference `S_p`.
    pub stops_beyond_physics: u64,
    /// False stops by cause.
    pub false_stop_causes: FalseStopCauses,
    /// Stop episodes: time to stop and to standstill, hold, resume ([`crate::score`]).
    #[serde(flatten)]
    pub episodes: StopEpisodeMetrics,
    /// Cycles where assistance or safety changed the operator's command.
    pub intervention_cycles: u64,
    /// Cycles with α > 0.
    pub assisted_cycles: u64,
    /// Goal reached after this long \[s\] (`None`: not within the scene).
    pub completion_s: Option<f64>,
    /// Same operator with raw teleop: completion \[s\].
    pub raw_completion_s: Option<f64>,
    /// Raw teleop: cycles with a separation violation.
    pub raw_violation_cycles: u64,
    /// Same operator with raw teleop through the platform's velocity, acceleration and jerk limits only (a
    /// velocity smoother, no safety stage): completion \[s\].
    #[serde(default)]
    pub raw_limited_completion_s: Option<f64>,
    /// That pass: cycles with a separation violation.
    #[serde(default)]
    pub raw_limited_violation_cycles: u64,
    /// `Stop` cycles by the rule that stopped.
    #[serde(default)]
    pub stop_rules: StopRules,
    /// Longest time the robot was held still (output below 0.01 m/s and rad/s) while the operator asked for a
    /// motion \[s\], whatever the mode from one cycle to the next.
    #[serde(default)]
    pub longest_stop_s: f64,
    /// Longest such hold next to a person who stands still (the nearest person within
    /// [`NEXT_TO_M`], true torso speed below [`STILL_SPEED`]) while the operator asks for a motion that brings no
    /// true keypoint of anyone closer (the chain's approach tolerance), and nobody touches the robot (no true
    /// keypoint inside its volume) \[s\]: a stop no physics asks for.
    #[serde(default)]
    pub longest_needless_stop_s: f64,
    /// Longest hold while someone touches the robot (a true keypoint inside its volume, base or upper body)
    /// and the operator asks for a motion \[s\]. Separation is then zero: the robot stays still whatever the
    /// motion asked (moving in contact is power and force limiting, not separation monitoring), so such a hold
    /// is not needless; kept apart so what causes it can be seen.
    #[serde(default)]
    pub longest_contact_stop_s: f64,
    /// Cycles with a scenario person's true torso (hip centre) inside the robot's footprint: the generator's
    /// people walk to points fixed relative to the robot's *start* pose and never see the robot, so after it
    /// has moved one can walk into it — a scene no robot meets, counted so that what it causes can be told
    /// apart.
    #[serde(default)]
    pub person_inside_footprint_cycles: u64,
    /// Cycles with α > 0 by the assistance policy blended in.
    #[serde(default)]
    pub assist_policies: AssistCycles,
    /// Distance to the goal when the run ended \[m\].
    #[serde(default)]
    pub final_goal_distance: f64,
    /// Cycles in which separation monitoring slid the command past someone (`ssm_slide_past`).
    #[serde(default)]
    pub slide_cycles: u64,
}

/// Assisted cycles (α > 0) by policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssistCycles {
    pub back_off: u64,
    pub hold: u64,
    pub handover: u64,
    pub way_out: u64,
    /// An external assist command.
    pub external: u64,
}

impl AssistCycles {
    /// Counts one cycle blended with `policy` at weight `alpha`.
    pub fn count(&mut self, policy: AssistPolicy, alpha: f64) {
        if alpha <= 0.0 {
            return;
        }
        match policy {
            AssistPolicy::None => {}
            AssistPolicy::External => self.external += 1,
            AssistPolicy::BackOff => self.back_off += 1,
            AssistPolicy::ApproachHandover => self.handover += 1,
            AssistPolicy::Hold => self.hold += 1,
            AssistPolicy::WayOut => self.way_out += 1,
        }
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &AssistCycles) {
        self.back_off += other.back_off;
        self.hold += other.hold;
        self.handover += other.handover;
        self.way_out += other.way_out;
        self.external += other.external;
    }
}

/// A person this close to the robot's surface counts as next to it \[m\].
pub const NEXT_TO_M: f64 = 1.5;
/// A person whose true torso moves slower than this stands still [m/s].
pub const STILL_SPEED: f64 = 0.1;

/// `Stop` cycles by the rule that stopped (first match in this order).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StopRules {
    /// Separation monitoring (`ssm_stop`).
    pub separation: u64,
    /// The stop zone (`zone_stop`).
    pub zone: u64,
    /// Anything else: a fault, a forced stop, a stale input, a re-arm wait.
    pub other: u64,
}

impl StopRules {
    /// Counts one `Stop` cycle with `reasons`.
    pub fn count(&mut self, reasons: &[Reason]) {
        if reasons.contains(&Reason::SsmStop) {
            self.separation += 1;
        } else if reasons.contains(&Reason::ZoneStop) {
            self.zone += 1;
        } else {
            self.other += 1;
        }
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &StopRules) {
        self.separation += other.separation;
        self.zone += other.zone;
        self.other += other.other;
    }
}

/// Run lengths of a condition over consecutive cycles \[s\].
#[derive(Default)]
pub(super) struct Streak {
    pub(super) since: Option<f64>,
    pub(super) longest: f64,
}

impl Streak {
    pub(super) fn update(&mut self, on: bool, t: f64, dt: f64) {
        if on {
            let since = *self.since.get_or_insert(t);
            self.longest = self.longest.max(t + dt - since);
        } else {
            self.since = None;
        }
    }
}

/// False stops by the rule that stopped, first match in this order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FalseStopCauses {
    /// Stop zone (`zone_stop`) without `ssm_stop`.
    pub zone: u64,
    /// `ssm_stop` while someone was remembered after leaving the view.
    pub occluded_memory: u64,
    /// `ssm_stop` with the standard's conservative human speed for someone (no fresh, confident prediction).
    pub conservative_speed: u64,
    /// `ssm_stop` with predictions for everyone in view.
    pub predicted: u64,
}

impl FalseStopCauses {
    pub(super) fn count(&mut self, reasons: &[Reason]) {
        let has = |r: Reason| reasons.contains(&r);
        let slot = if !has(Reason::SsmStop) {
            &mut self.zone
        } else if has(Reason::OccludedHumanRemembered) {
            &mut self.occluded_memory
        } else if has(Reason::SsmConservativeHumanSpeed) {
            &mut self.conservative_speed
        } else {
            &mut self.predicted
        };
        *slot += 1;
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &FalseStopCauses) {
        self.zone += other.zone;
        self.occluded_memory += other.occluded_memory;
        self.conservative_speed += other.conservative_speed;
        self.predicted += other.predicted;
    }
}
