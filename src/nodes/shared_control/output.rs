//! What goes out: `cmd_vel` (steady rate, [`OutputGate`]: which decisions between two ticks are published at
//! once), the status with every decision, the markers, and the counters of each decision.

use std::time::Instant;

use intent_shared_control_core::{Decision, Mode, Reason, Stamp};
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::intent_shared_control_msgs::msg::SharedControlStatus;
use r2r::visualization_msgs::msg::MarkerArray;
use tracing::warn;

use super::{OutputMode, SharedControl};
use crate::ros::convert;
use crate::ros::markers;
use crate::ros::metrics::Metrics;
use crate::ros::node_util::NodeClock;

/// Steady-rate output: which decisions between two ticks go out at once.
#[derive(Default)]
pub struct OutputGate {
    last: Option<(intent_shared_control_core::Twist, Mode)>,
}

/// Severity of a mode for the output gate: a move to a more severe mode is published at once.
fn severity(m: Mode) -> u8 {
    match m {
        Mode::Idle | Mode::Manual | Mode::Assisted => 0,
        Mode::Slowdown => 1,
        Mode::Stop => 2,
        Mode::Fault => 3,
    }
}

impl OutputGate {
    /// Whether `d` must be published now: always on a tick (or in event mode), otherwise when it is more
    /// restrictive than the last command published — a more severe mode, or a command no component of which
    /// is larger or of the other sign, and one smaller.
    pub fn admit(&mut self, d: &Decision, tick: bool, mode: OutputMode) -> bool {
        let now = tick || mode == OutputMode::Event || self.more_restrictive(d);
        if now {
            self.last = Some((d.output, d.mode));
        }
        now
    }

    fn more_restrictive(&self, d: &Decision) -> bool {
        let Some((out, mode)) = &self.last else { return true };
        if severity(d.mode) > severity(*mode) {
            return true;
        }
        let (new, old) = (d.output.to_array(), out.to_array());
        let within = new.iter().zip(&old).all(|(n, o)| *n == 0.0 || (n.signum() == o.signum() && n.abs() <= o.abs()));
        within && new.iter().zip(&old).any(|(n, o)| n.abs() < o.abs())
    }

    /// Forget the last command (after activation: the first decision goes out at once).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// The `cmd_vel`, status and marker publishers.
pub(super) struct Outputs {
    pub(super) cmd: r2r::Publisher<TwistStamped>,
    pub(super) status: r2r::Publisher<SharedControlStatus>,
    pub(super) markers: r2r::Publisher<MarkerArray>,
}

impl Outputs {
    /// The status goes out with every decision (a bag of it replays decision by decision).
    pub(super) fn status(&self, d: &Decision, frame: &str, arrival: Instant) {
        if let Err(e) = self.status.publish(&convert::status_msg(d, frame, arrival.elapsed().as_secs_f64())) {
            warn!("publishing status failed: {e}");
        }
    }

    /// `cmd_vel`, as the output mode says.
    pub(super) fn cmd(&self, d: &Decision, frame: &str) {
        if let Err(e) = self.cmd.publish(&convert::cmd_vel_msg(d, frame)) {
            warn!("publishing cmd_vel failed: {e}");
        }
    }

    /// A zero command and its status (deactivation, shutdown).
    pub(super) fn zero(&self, now: Stamp, reason: Reason, frame: &str) {
        let d = Decision::zero(now, Mode::Idle, reason);
        self.cmd(&d, frame);
        self.status(&d, frame, Instant::now());
    }
}

impl SharedControl {
    pub(super) fn frame(&self) -> String {
        self.state.as_ref().map_or("base_link".to_owned(), |s| s.params.cmd_frame_id.clone())
    }

    /// A decision after an accepted input (or a tick): published as the output mode says, counted, and drawn.
    pub(super) fn decide(
        &mut self,
        arrival: Instant,
        tick: bool,
        clock: &NodeClock,
        metrics: &Metrics,
    ) -> anyhow::Result<()> {
        let Some(s) = self.state.as_mut() else { return Ok(()) };
        let now = clock.now()?;
        let decision = s.decide(now);
        if s.output.admit(&decision, tick, s.params.output_mode) {
            self.out.cmd(&decision, &s.params.cmd_frame_id);
        }
        self.out.status(&decision, &s.params.cmd_frame_id, arrival);
        let latency = arrival.elapsed();
        s.latency.record(latency);
        metrics.decision_latency.observe(latency.as_secs_f64());
        // Counted when a rule starts acting, not per cycle: an idle robot or a long stop does not make the
        // counters race (alerts on their rate mean something).
        let previous = s.last_decision.as_ref();
        for r in &decision.reasons {
            if previous.is_none_or(|p| !p.reasons.contains(r)) {
                metrics.intervention(r.as_str());
                *s.interventions.entry(*r).or_default() += 1;
            }
        }
        if decision.mode == Mode::Stop && previous.is_none_or(|p| p.mode != Mode::Stop) {
            metrics.stops.inc();
        }
        s.decisions += 1;
        if s.params.markers_rate > 0.0 && self.last_markers.elapsed().as_secs_f64() >= 1.0 / s.params.markers_rate {
            self.last_markers = Instant::now();
            let m = markers::build(
                now,
                &s.params.cmd_frame_id,
                s.inputs.controller().latest_skeletons(),
                s.inputs.controller().predictions(),
                Some(&decision),
                0.5,
            );
            if let Err(e) = self.out.markers.publish(&m) {
                warn!("publishing markers failed: {e}");
            }
        }
        s.last_decision = Some(decision);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use intent_shared_control_core::Twist;

    fn decision(mode: Mode, vx: f64, wz: f64) -> Decision {
        let mut d = Decision::zero(Stamp(0), mode, Reason::ForcedStop);
        d.output = Twist::planar(vx, 0.0, wz);
        d
    }

    #[test]
    fn steady_output_lets_only_more_restrictive_decisions_through_between_ticks() {
        let mut g = OutputGate::default();
        let steady = OutputMode::Steady;
        assert!(g.admit(&decision(Mode::Manual, 0.5, 0.2), false, steady), "the first decision goes out");
        assert!(!g.admit(&decision(Mode::Manual, 0.5, 0.2), false, steady), "the same command waits for the tick");
        assert!(!g.admit(&decision(Mode::Manual, 0.6, 0.2), false, steady), "faster waits for the tick");
        assert!(!g.admit(&decision(Mode::Manual, 0.4, -0.1), false, steady), "a turn the other way waits");
        assert!(g.admit(&decision(Mode::Manual, 0.3, 0.2), false, steady), "slower goes out at once");
        assert!(g.admit(&decision(Mode::Slowdown, 0.3, 0.2), false, steady), "a slowdown goes out at once");
        assert!(g.admit(&decision(Mode::Stop, 0.0, 0.0), false, steady), "a stop goes out at once");
        assert!(!g.admit(&decision(Mode::Stop, 0.0, 0.0), false, steady), "a repeated stop waits for the tick");
        assert!(g.admit(&decision(Mode::Manual, 0.5, 0.0), true, steady), "every tick publishes");
        assert!(g.admit(&decision(Mode::Manual, 0.0, 0.0), false, steady), "zero after motion goes out at once");
        g.reset();
        assert!(g.admit(&decision(Mode::Manual, 0.5, 0.0), false, steady), "after a reset the first goes out");
    }

    #[test]
    fn event_output_publishes_every_decision() {
        let mut g = OutputGate::default();
        for _ in 0..3 {
            assert!(g.admit(&decision(Mode::Manual, 0.5, 0.2), false, OutputMode::Event));
        }
    }
}
