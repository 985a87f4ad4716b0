//! The judge's verdict on a replay (running metrics), the suite's thresholds and the threshold check.

use std::collections::BTreeMap;

use intent_shared_control_sim::score::StopEpisodeMetrics;
use intent_shared_control_sim::sim::StopRules;
use serde::Serialize;

/// Thresholds of the scenario suite (nav2 collision_monitor bag-test style).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// Largest time from a predicted separation violation to the first braking cycle (the approach speed
    /// falls) \[s\]: one control period.
    pub time_to_stop_s: f64,
    /// Standstill (no approach) must follow within `v₀ / braking_deceleration` plus this margin \[s\]
    /// (`v₀`: output speed when the violation was predicted; braking is part of `S_p`).
    pub standstill_margin_s: f64,
    /// Smallest fraction of predicted-violation cycles (after the time to stop) without approach.
    pub hold_stop_fraction: f64,
    /// Largest time from the violation clearing to the robot moving again \[s\].
    pub resume_s: f64,
    /// Largest fraction of Stop cycles the ground truth did not require, over all cycles.
    pub false_stop_fraction: f64,
    /// Most cycles with a separation violation.
    pub violation_cycles: u64,
    /// Longest needless hold (`ReplayMetrics::longest_needless_hold_s`) \[s\].
    pub needless_hold_s: f64,
}

impl Thresholds {
    /// The suite's values for a controller deciding at `control_rate` \[Hz\].
    pub fn for_rate(control_rate: f64) -> Self {
        Thresholds {
            time_to_stop_s: 1.0 / control_rate + 1e-6,
            standstill_margin_s: 2.0 / control_rate,
            hold_stop_fraction: 1.0,
            resume_s: 0.5,
            // 2 % before the reachable set: a hand may reach out at 2 m/s during the sensing latency (up to
            // ~50 ms in the scenario bags), which perfect perception would not have to allow for
            // (docs/bags.md).
            false_stop_fraction: 0.05,
            violation_cycles: 0,
            // What a user feels as "it will not let me leave" (the closed-loop simulator's target).
            needless_hold_s: 5.0,
        }
    }
}

/// The judge's verdict on one replay. Definitions:
/// - *predicted violation*, *approach*, *time to stop*, *time to standstill*, *hold stop* and *resume*: one
///   definition with the closed-loop simulator, [`intent_shared_control_sim::score`] (judged points: ground
///   truth when the bag has it, else the observed skeletons); time to standstill is judged against
///   `v₀ / braking_deceleration` + a margin;
/// - *separation violation* and *false stop*: as in the closed-loop simulator, by the shared ground-truth judge
///   ([`intent_shared_control_sim::judge`]) on the judged points, `v_h` the judged human's closing speed (torso,
///   robot motion removed): a violation breaks the reference `S_p` (reaction 0.1 s, human uncertainty 0.1 m);
///   a false stop is a Stop cycle the configured chain would not have made knowing the truth: the judged
///   points now and, read ahead in the bag ([`Replay::read_ahead`], [`crate::bag::lookahead`]), each person's torso
///   and wrists over the next second as a fully confident forecast (every configured margin still applies).
///   The false-stop fraction is over all cycles; `stops_beyond_physics` counts Stop cycles the reference `S_p`
///   would not need.
///
/// [`Replay::read_ahead`]: super::Replay::read_ahead
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReplayMetrics {
    pub judged_on: String,
    pub cycles: u64,
    pub duration_s: f64,
    pub mode_cycles: BTreeMap<String, u64>,
    /// Stop episodes: time to stop and to standstill, hold, resume (one definition with the simulator).
    #[serde(flatten)]
    pub episodes: StopEpisodeMetrics,
    pub stop_cycles: u64,
    pub false_stop_cycles: u64,
    pub false_stop_fraction: f64,
    pub stops_beyond_physics: u64,
    pub violation_cycles: u64,
    /// Smallest judged distance while approaching faster than 0.05 m/s \[m\] (null: never).
    pub min_distance_approaching: Option<f64>,
    pub max_output_speed: f64,
    pub non_finite_outputs: u64,
    /// `Stop` cycles by the rule that stopped, counted as the simulator counts them.
    pub stop_rules: StopRules,
    /// Longest uninterrupted `Stop` \[s\] (decision stamps).
    pub longest_stop_s: f64,
    /// Longest time held still (output below 0.01 m/s and rad/s) while the operator asks for a motion \[s\],
    /// whatever the mode from one cycle to the next (as the closed-loop simulator).
    pub longest_held_s: f64,
    /// Of that, the longest hold next to a person standing still (the nearest judged person within 1.5 m,
    /// torso slower than 0.1 m/s over the next 0.2 s, read ahead in the bag) while the operator asks for a
    /// motion that brings no judged point closer (the chain's approach tolerance) and nobody touches the robot
    /// \[s\]: a stop no physics asks for. 0 when the bag was not read ahead.
    pub longest_needless_hold_s: f64,
    /// Of that, the longest hold while someone touches the robot (a judged point inside its volume) \[s\].
    pub longest_contact_hold_s: f64,
}

/// Failed thresholds, as readable lines (empty: passed).
pub fn check_thresholds(m: &ReplayMetrics, t: &Thresholds) -> Vec<String> {
    let mut f = Vec::new();
    if let Some(worst) = m.episodes.time_to_stop_s.iter().copied().reduce(f64::max) {
        if worst > t.time_to_stop_s {
            f.push(format!("time to stop {worst:.3} s > {:.3} s", t.time_to_stop_s));
        }
    }
    for (ts, bound) in m.episodes.time_to_standstill_s.iter().zip(&m.episodes.standstill_bound_s) {
        if *ts > bound + t.standstill_margin_s {
            f.push(format!("standstill after {ts:.3} s > braking bound {bound:.3} s + {:.3} s", t.standstill_margin_s));
        }
    }
    if m.episodes.hold_stop_fraction < t.hold_stop_fraction {
        f.push(format!(
            "hold stop {:.2} % < {:.2} %",
            100.0 * m.episodes.hold_stop_fraction,
            100.0 * t.hold_stop_fraction
        ));
    }
    if let Some(worst) = m.episodes.resume_s.iter().copied().reduce(f64::max) {
        if worst > t.resume_s {
            f.push(format!("resume {worst:.3} s > {:.3} s", t.resume_s));
        }
    }
    if m.episodes.resume_missing > 0 {
        f.push(format!("{} stop episodes never resumed", m.episodes.resume_missing));
    }
    if m.false_stop_fraction > t.false_stop_fraction {
        f.push(format!("false stops {:.2} % > {:.2} %", 100.0 * m.false_stop_fraction, 100.0 * t.false_stop_fraction));
    }
    if m.violation_cycles > t.violation_cycles {
        f.push(format!("{} separation violation cycles > {}", m.violation_cycles, t.violation_cycles));
    }
    if m.longest_needless_hold_s > t.needless_hold_s {
        f.push(format!(
            "held {:.2} s next to a person standing still, asked for a motion that brings no point closer > {:.2} s",
            m.longest_needless_hold_s, t.needless_hold_s
        ));
    }
    if m.non_finite_outputs > 0 {
        f.push(format!("{} non-finite outputs", m.non_finite_outputs));
    }
    f
}
