//! The one place that decides which inputs the controller gets: the shared_control node, the offline bag replay,
//! the bag generator and the closed-loop simulator all drive an [`InputHandler`], so a bag or simulator test
//! tests what the node does.
//!
//! Every input comes with its header stamp and `now`, the node's clock when it arrived (wall, sim or bag time).
//!
//! | rule | effect | counted as |
//! |---|---|---|
//! | stamp more than the tolerance ahead of `now` (`teleop.max_future` for Joy, `safety.validation.max_future` for the rest) | rejected, never stored | `<input>_future_stamp` |
//! | stamp older than the newest kept one of its kind | rejected | `<input>_out_of_order` |
//! | a skeleton capture older than the one kept that shows someone the kept one lacks (a second writer stamping ahead of the tracker, a clock fault) | rejected, and a fault (`skeletons_disagree`) from then until `watchdog.skeleton_timeout` after the last such capture, re-arm needed | `skeletons_out_of_order` |
//! | Joy with more than [`MAX_JOY_CHANNELS`] axes or buttons | rejected | `oversized_joy` |
//! | a rejected Joy that reads the deadman released | the robot stops as for a released deadman | (as above) |
//! | `now` earlier than the previous decision (sim time reset, bag loop, clock stepped) | every input and the motion state dropped, a fault zero, re-arm needed | `clock_backwards` |
//!
//! A stamp can therefore be at most the tolerance ahead of the time it arrived, and every kept input goes stale
//! a fixed time after its arrival (see [`crate::teleop`] and the watchdog): no single message, whatever its
//! stamp, can block later good ones or stretch motion. Conversion errors found in the ROS layer (malformed
//! messages) are counted here too ([`InputHandler::reject`]).

use std::collections::BTreeMap;

use crate::control::{ConfigError, Controller, ControllerConfig, Decision, Mode};
use crate::prediction::HumanPrediction;
pub use crate::rejection::{InputKind, Rejection};
use crate::safety::Reason;
use crate::skeleton::SkeletonFrame;
pub use crate::teleop::MAX_JOY_CHANNELS;
use crate::teleop::{Deadman, JoyInput};
use crate::time::Stamp;
use crate::twist::Twist;

/// Inputs → controller → decisions, with the bookkeeping of what was rejected and why.
#[derive(Clone, Debug)]
pub struct InputHandler {
    controller: Controller,
    /// Clock time of the previous decision (to detect the clock jumping back).
    last_cycle: Option<Stamp>,
    /// Rejected inputs by reason.
    rejections: BTreeMap<Rejection, u64>,
}

impl InputHandler {
    /// A handler with a validated `config`; the controller starts waiting for the operator to re-arm.
    pub fn new(config: ControllerConfig) -> Result<Self, ConfigError> {
        Ok(InputHandler { controller: Controller::try_new(config)?, last_cycle: None, rejections: BTreeMap::new() })
    }

    /// The controller (its configuration, the inputs it keeps).
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// Validates `config` and swaps it in (inputs and the arming state are kept); on error nothing changes.
    pub fn set_config(&mut self, config: ControllerConfig) -> Result<(), ConfigError> {
        self.controller.set_config(config)
    }

    /// Starts again from rest with no inputs (a lifecycle activation): motion waits for a re-arm. Rejection
    /// counts are kept.
    pub fn restart(&mut self) {
        self.controller = Controller::new(self.controller.config().clone());
        self.last_cycle = None;
    }

    /// Rejected inputs by reason, since the handler was made.
    pub fn rejections(&self) -> &BTreeMap<Rejection, u64> {
        &self.rejections
    }

    /// Counts a rejection found elsewhere (a message that could not be converted); returns the reason.
    pub fn reject(&mut self, reason: Rejection) -> Rejection {
        *self.rejections.entry(reason).or_default() += 1;
        reason
    }

    /// `Err(reason)` (counted) when an input of `kind` stamped `stamp` arriving at `now` is from the future.
    fn check_stamp(&mut self, kind: InputKind, now: Stamp, stamp: Stamp) -> Result<(), Rejection> {
        let c = self.controller.config();
        let tolerance = if kind == InputKind::Joy { c.teleop.max_future } else { c.safety.validation.max_future };
        if stamp.seconds_since(now) > tolerance {
            return Err(self.reject(Rejection::FutureStamp(kind)));
        }
        Ok(())
    }

    /// A joystick message arriving at `now`.
    pub fn on_joy(&mut self, now: Stamp, joy: JoyInput) -> Result<(), Rejection> {
        let released = self.controller.teleop().deadman(&joy) == Deadman::Released;
        let verdict = if joy.axes.len() > MAX_JOY_CHANNELS || joy.buttons.len() > MAX_JOY_CHANNELS {
            Err(self.reject(Rejection::OversizedJoy))
        } else {
            self.check_stamp(InputKind::Joy, now, joy.stamp).and_then(|()| {
                if self.controller.on_joy(joy, now) {
                    Ok(())
                } else {
                    Err(self.reject(Rejection::OutOfOrder(InputKind::Joy)))
                }
            })
        };
        if verdict.is_err() && released {
            self.controller.on_rejected_release();
        }
        verdict
    }

    /// A skeleton capture arriving at `now`.
    pub fn on_skeletons(&mut self, now: Stamp, frame: SkeletonFrame) -> Result<(), Rejection> {
        self.check_stamp(InputKind::Skeletons, now, frame.stamp)?;
        if self.controller.on_skeletons(frame, now) {
            Ok(())
        } else {
            Err(self.reject(Rejection::OutOfOrder(InputKind::Skeletons)))
        }
    }

    /// The predictions made from the capture stamped `stamp`, arriving at `now`.
    pub fn on_predictions(
        &mut self,
        now: Stamp,
        stamp: Stamp,
        predictions: Vec<HumanPrediction>,
    ) -> Result<(), Rejection> {
        self.check_stamp(InputKind::Predictions, now, stamp)?;
        // Each prediction's own stamp (the capture it came from) too: one stamped ahead would act when it came
        // due. Such entries are rejected and counted; the rest of the array (everyone else's forecast, which
        // the safety chain takes as restrictions) is kept.
        let tolerance = self.controller.config().safety.validation.max_future;
        let before = predictions.len();
        let predictions: Vec<HumanPrediction> =
            predictions.into_iter().filter(|p| p.stamp.seconds_since(now) <= tolerance).collect();
        let ahead = predictions.len() < before;
        if !self.controller.on_predictions(stamp, predictions) {
            return Err(self.reject(Rejection::OutOfOrder(InputKind::Predictions)));
        }
        if ahead {
            return Err(self.reject(Rejection::FutureStamp(InputKind::Predictions)));
        }
        Ok(())
    }

    /// An external assist command stamped `stamp`, arriving at `now`.
    pub fn on_assist(&mut self, now: Stamp, stamp: Stamp, twist: Twist) -> Result<(), Rejection> {
        self.check_stamp(InputKind::Assist, now, stamp)?;
        // Never stored: a non-finite command would replace the last good one as the newest.
        if !twist.is_finite() {
            return Err(self.reject(Rejection::BadAssist));
        }
        if self.controller.on_assist(stamp, twist) {
            Ok(())
        } else {
            Err(self.reject(Rejection::OutOfOrder(InputKind::Assist)))
        }
    }

    /// The decision at `now`. When the clock went back (sim time reset or looped, system clock stepped), every
    /// input kept is stamped on the old time line and would look fresh again once the clock catches up with it
    /// (and newer inputs on the new time line would be dropped as out of order meanwhile): all inputs and the
    /// motion state are dropped, this cycle is a fault zero, and motion waits for a re-arm.
    pub fn decide(&mut self, now: Stamp) -> Decision {
        let jumped = self.last_cycle.is_some_and(|last| now < last);
        self.last_cycle = Some(now);
        if !jumped {
            return self.controller.step(now);
        }
        self.restart();
        self.last_cycle = Some(now);
        let mut d = Decision::zero(now, Mode::Fault, Reason::ClockBackwards);
        d.reasons.push(Reason::ForcedStop);
        d.awaiting_rearm = true;
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::{HumanSkeleton, Keypoint};
    use nalgebra::Point3;

    fn t(s: f64) -> Stamp {
        Stamp::from_secs_f64(s)
    }

    fn joy(stamp: f64, forward: f32, deadman: bool) -> JoyInput {
        let mut buttons = vec![0; 8];
        buttons[4] = i32::from(deadman);
        JoyInput { stamp: t(stamp), axes: vec![0.0, forward], buttons }
    }

    fn frame(stamp: f64, humans: &[(u32, f64)]) -> SkeletonFrame {
        SkeletonFrame {
            stamp: t(stamp),
            frame_id: "base_link".into(),
            humans: humans
                .iter()
                .map(|&(id, x)| {
                    let mut keypoints = [Keypoint::MISSING; 17];
                    keypoints[11] = Keypoint { position: Point3::new(x, 0.1, 0.9), confidence: 0.9 };
                    keypoints[12] = Keypoint { position: Point3::new(x, -0.1, 0.9), confidence: 0.9 };
                    HumanSkeleton { id, keypoints }
                })
                .collect(),
        }
    }

    /// A handler fed at 50 Hz from `from` to `to` with an empty scene and the given joystick; returns the last
    /// decision.
    fn drive(h: &mut InputHandler, from: f64, to: f64, forward: f32, deadman: bool) -> Decision {
        let mut s = from;
        let mut last = None;
        while s <= to + 1e-9 {
            h.on_skeletons(t(s), frame(s, &[])).expect("fresh frame");
            let _ = h.on_joy(t(s), joy(s, forward, deadman));
            last = Some(h.decide(t(s)));
            s += 0.02;
        }
        last.expect("at least one cycle")
    }

    /// Released for a while, then pressed: the operator re-arms.
    fn armed(from: f64) -> InputHandler {
        let mut h = InputHandler::new(ControllerConfig::default()).expect("defaults are valid");
        drive(&mut h, from, from + 0.2, 0.0, false);
        let d = drive(&mut h, from + 0.22, from + 1.0, 1.0, true);
        assert!(d.output.linear.x > 0.4, "{d:?}");
        h
    }

    #[test]
    fn captures_stamped_ahead_by_a_second_source_never_hide_a_person() {
        // Someone stands 0.8 m ahead in the tracker's 30 Hz captures; the operator pushes toward them: stopped.
        // From 2 s a second writer sends empty captures ("nobody there") every 5 ms, each stamped 50 ms ahead
        // (within `max_future`), so every real capture arrives older than the one kept and is dropped. Before,
        // the person stayed remembered for `occlusion_memory` (1 s) and was then forgotten: the robot drove at
        // them at 0.5 m/s from 3 s on. Now the dropped captures show someone the kept one lacks: a fault.
        let mut h = armed(0.0);
        let mut decisions = Vec::new();
        for ms in (1000..6000).step_by(5) {
            let now = f64::from(ms) / 1000.0;
            if ms % 35 == 0 {
                let tracker = if ms < 4500 { frame(now, &[(1, 0.8)]) } else { frame(now, &[]) };
                let _ = h.on_skeletons(t(now), tracker);
            }
            if (2000..4000).contains(&ms) {
                let _ = h.on_skeletons(t(now), frame(now + 0.05, &[]));
            }
            if ms % 20 == 0 {
                let _ = h.on_joy(t(now), joy(now, 1.0, true));
                decisions.push((now, h.decide(t(now))));
            }
        }
        // Held next to the person before the second writer starts (a crawl of at most a few cm/s, as the
        // physics of someone standing allows), never faster after.
        let before = decisions.iter().filter(|(s, _)| (1.5..2.0).contains(s));
        assert!(before.clone().count() > 20 && before.clone().all(|(_, d)| d.output.linear.x < 0.05));
        let after = decisions.iter().filter(|(s, _)| *s >= 2.0);
        let toward: Vec<_> = after.filter(|(_, d)| d.output.linear.x >= 0.05).map(|(s, _)| *s).collect();
        assert!(toward.is_empty(), "moved toward the person at {toward:?}");
        // In fault from the first dropped capture that showed the person until `skeleton_timeout` after the last.
        let faulted =
            |(_, d): &&(f64, Decision)| d.mode == Mode::Fault && d.reasons.contains(&Reason::SkeletonsDisagree);
        let first = decisions.iter().find(faulted).expect("never in fault").0;
        let last = decisions.iter().rfind(faulted).expect("in fault").0;
        assert!(first < 2.06 && (4.0..4.35).contains(&last), "fault from {first} to {last}");
        // Every real capture from 2.03 s to 4.025 s (the last one still older than the last forged stamp), counted.
        assert_eq!(h.rejections().get(&Rejection::OutOfOrder(InputKind::Skeletons)).copied().unwrap_or(0), 58);
        // Then the person leaves and the second writer is gone: still no motion until the operator re-arms.
        let (_, d) = decisions.last().expect("decisions");
        assert!(d.awaiting_rearm && d.output == Twist::ZERO, "{d:?}");
        drive(&mut h, 6.0, 6.2, 0.0, false);
        assert!(drive(&mut h, 6.22, 7.0, 1.0, true).output.linear.x > 0.3);
    }

    #[test]
    fn nothing_moves_before_the_operator_re_arms() {
        let mut h = InputHandler::new(ControllerConfig::default()).expect("defaults are valid");
        // Deadman held from the start: a restart never ends in motion.
        let d = drive(&mut h, 0.0, 1.0, 1.0, true);
        assert_eq!((d.output, d.mode), (Twist::ZERO, Mode::Idle));
        assert!(d.awaiting_rearm && d.reasons.contains(&Reason::AwaitingRearm), "{d:?}");
        // Released, then pressed: motion.
        drive(&mut h, 1.02, 1.1, 0.0, false);
        let d = drive(&mut h, 1.12, 2.0, 1.0, true);
        assert!(!d.awaiting_rearm && d.output.linear.x > 0.4, "{d:?}");
    }

    #[test]
    fn a_future_stamped_joy_is_rejected_and_blocks_nothing() {
        let mut h = armed(0.0);
        // One Joy stamped 3 s ahead, deadman held.
        assert_eq!(h.on_joy(t(1.0), joy(4.0, 1.0, true)), Err(Rejection::FutureStamp(InputKind::Joy)));
        // The operator releases: the release is used at once, and the robot stops.
        h.on_joy(t(1.02), joy(1.02, 0.0, false)).expect("fresh joy");
        assert_eq!(h.decide(t(1.02)).output, Twist::ZERO);
        // Then silence: nothing moves when the future stamp comes due.
        for k in 0..200 {
            let s = 1.04 + 0.02 * f64::from(k);
            h.on_skeletons(t(s), frame(s, &[])).expect("fresh frame");
            assert_eq!(h.decide(t(s)).output, Twist::ZERO, "at {s}");
        }
        assert_eq!(h.rejections().get(&Rejection::FutureStamp(InputKind::Joy)), Some(&1));
        // Extreme stamps too; good Joys are used right after.
        assert!(h
            .on_joy(t(5.0), JoyInput { stamp: Stamp(i64::from(i32::MAX) * 1_000_000_000), ..joy(0.0, 1.0, true) })
            .is_err());
        drive(&mut h, 5.1, 5.3, 0.0, false);
        let d = drive(&mut h, 5.32, 6.0, 1.0, true);
        assert!(d.output.linear.x > 0.4, "{d:?}");
    }

    #[test]
    fn a_joy_stamped_slightly_ahead_lives_no_longer_than_timeout_after_arrival() {
        let mut h = armed(0.0);
        // Within the tolerance (0.1 s ahead), then silence.
        h.on_joy(t(1.0), joy(1.1, 1.0, true)).expect("within the tolerance");
        for k in 1..=26 {
            let s = 1.0 + 0.02 * f64::from(k);
            h.on_skeletons(t(s), frame(s, &[])).expect("fresh frame");
            let d = h.decide(t(s));
            assert_eq!(d.output == Twist::ZERO, s > 1.5, "at {s}: {d:?}");
        }
    }

    #[test]
    fn a_released_deadman_in_a_rejected_joy_stops() {
        for bad in [
            joy(0.0, 0.0, false), // stamped 1 s back: out of order
            joy(3.0, 0.0, false), // from the future
            JoyInput { buttons: vec![0; MAX_JOY_CHANNELS + 1], ..joy(1.0, 0.0, false) }, // 65 buttons
        ] {
            let mut h = armed(0.0);
            h.on_joy(t(1.0), joy(1.0, 1.0, true)).expect("fresh");
            assert!(h.on_joy(t(1.01), bad.clone()).is_err());
            let d = h.decide(t(1.01));
            assert_eq!(d.output, Twist::ZERO, "{bad:?}");
            assert!(d.reasons.contains(&Reason::DeadmanReleased), "{d:?}");
            // A rejected Joy that reads pressed is no operator input either.
            let mut h = armed(0.0);
            h.on_joy(t(1.0), joy(1.0, 0.0, false)).expect("fresh");
            let pressed = JoyInput { buttons: bad.buttons.iter().map(|_| 1).collect(), axes: vec![0.0, 1.0], ..bad };
            assert!(h.on_joy(t(1.01), pressed).is_err());
            assert_eq!(h.decide(t(1.01)).output, Twist::ZERO);
        }
    }

    #[test]
    fn a_rejected_release_does_not_re_arm() {
        let mut h = InputHandler::new(ControllerConfig::default()).expect("defaults are valid");
        drive(&mut h, 0.0, 0.5, 1.0, true);
        // Released only in a rejected message, then pressed: still waiting.
        assert!(h.on_joy(t(0.52), joy(0.1, 0.0, false)).is_err());
        let d = drive(&mut h, 0.54, 1.0, 1.0, true);
        assert!(d.awaiting_rearm && d.output == Twist::ZERO, "{d:?}");
    }

    #[test]
    fn future_and_out_of_order_skeletons_are_rejected_and_a_person_stays() {
        let mut h = armed(0.0);
        h.on_skeletons(t(1.0), frame(1.0, &[(7, 1.0)])).expect("fresh");
        // An empty array stamped 3 s ahead is rejected; the person stays in view.
        assert_eq!(h.on_skeletons(t(1.02), frame(4.02, &[])), Err(Rejection::FutureStamp(InputKind::Skeletons)));
        assert_eq!(h.on_skeletons(t(1.02), frame(0.5, &[])), Err(Rejection::OutOfOrder(InputKind::Skeletons)));
        let d = h.decide(t(1.02));
        assert_eq!(d.humans_seen, 1);
        assert_eq!(d.nearest_human.map(|n| n.0), Some(7));
    }

    #[test]
    fn a_prediction_of_someone_nobody_sees_or_from_the_future_never_moves_the_robot() {
        use crate::prediction::{HumanPrediction, Intent};
        // A confident `approach_robot` 1 m ahead: the back-off would drive the robot backwards (α 0.9).
        let approach = |id: u32, stamp: f64| {
            let mut probabilities = [0.0; 5];
            probabilities[Intent::ApproachRobot.index()] = 1.0;
            HumanPrediction {
                human_id: id,
                stamp: t(stamp),
                probabilities,
                confidence: 1.0,
                horizon_step: 0.1,
                future: vec![[Point3::new(1.0, 0.0, 1.0), Point3::new(0.9, 0.2, 1.0), Point3::new(0.9, -0.2, 1.0)]; 10],
            }
        };
        let mut h = armed(0.0);
        // The operator holds the deadman, stick at rest; the person seen is 7, the forged prediction is for 99.
        let step = |h: &mut InputHandler, s: f64| {
            h.on_skeletons(t(s), frame(s, &[(7, 3.0)])).expect("fresh");
            h.on_joy(t(s), joy(s, 0.0, true)).expect("fresh");
            h.decide(t(s))
        };
        // Stick at rest until the robot stands.
        for k in 0..50 {
            step(&mut h, 1.02 + 0.02 * f64::from(k));
        }
        h.on_predictions(t(2.03), t(2.02), vec![approach(99, 2.02)]).expect("stamps in order");
        for k in 0..25 {
            let d = step(&mut h, 2.04 + 0.02 * f64::from(k));
            assert_eq!((d.alpha, d.output), (0.0, Twist::ZERO), "{d:?}");
        }
        // A prediction whose own stamp lies 3 s ahead (the array's header is now) is rejected and counted.
        assert_eq!(
            h.on_predictions(t(2.6), t(2.6), vec![approach(7, 5.6)]),
            Err(Rejection::FutureStamp(InputKind::Predictions))
        );
        // Within the tolerance but newer than the newest capture: kept, not acted on.
        h.on_predictions(t(2.62), t(2.62), vec![approach(7, 2.7)]).expect("within max_future");
        assert_eq!(step(&mut h, 2.62).alpha, 0.0);
        // The same prediction for the person in view, from the capture seen: the back-off is blended in.
        h.on_predictions(t(2.65), t(2.64), vec![approach(7, 2.64)]).expect("fresh");
        let d = step(&mut h, 2.66);
        assert!(d.alpha > 0.8 && d.blended.linear.x < 0.0, "{d:?}");
    }

    #[test]
    fn a_non_finite_assist_command_is_rejected_and_counted() {
        let mut h = armed(0.0);
        let bad = Twist::planar(f64::NAN, 0.0, 0.0);
        assert_eq!(h.on_assist(t(1.0), t(1.0), bad), Err(Rejection::BadAssist));
        assert_eq!(h.on_assist(t(1.0), t(1.0), Twist::planar(0.0, 0.0, f64::INFINITY)), Err(Rejection::BadAssist));
        assert_eq!(h.rejections().get(&Rejection::BadAssist), Some(&2));
        assert!(h.on_assist(t(1.02), t(1.02), Twist::planar(-0.1, 0.0, 0.0)).is_ok());
    }

    #[test]
    fn clock_jump_back_drops_inputs_and_needs_a_re_arm() {
        let mut h = armed(10.0);
        let d = h.decide(t(5.0));
        assert_eq!((d.mode, d.output), (Mode::Fault, Twist::ZERO));
        assert!(d.reasons.contains(&Reason::ClockBackwards) && d.awaiting_rearm);
        // Inputs of the old time line are from the future now.
        assert_eq!(h.on_joy(t(5.0), joy(10.9, 1.0, true)), Err(Rejection::FutureStamp(InputKind::Joy)));
        let d = drive(&mut h, 5.02, 5.5, 1.0, true);
        assert_eq!(d.output, Twist::ZERO);
        drive(&mut h, 5.52, 5.7, 0.0, false);
        let d = drive(&mut h, 5.72, 6.5, 1.0, true);
        assert!(d.output.linear.x > 0.4, "{d:?}");
    }

    #[test]
    fn a_fault_needs_a_re_arm_after_it_cleared() {
        let mut h = armed(0.0);
        // The joystick goes silent for 0.6 s (stale: a fault), then comes back held.
        let mut s = 1.02;
        while s < 1.62 {
            h.on_skeletons(t(s), frame(s, &[])).expect("fresh");
            h.decide(t(s));
            s += 0.02;
        }
        let d = drive(&mut h, 1.62, 2.5, 1.0, true);
        assert!(d.awaiting_rearm && d.output == Twist::ZERO, "{d:?}");
        // Released and pressed during a fault does not count: no skeletons from 2.5 s (stale from 2.8 s), the
        // deadman released until 2.9 s and pressed after.
        let mut s = 2.52;
        while s < 3.0 {
            let _ = h.on_joy(t(s), joy(s, 0.0, s >= 2.9));
            h.decide(t(s));
            s += 0.02;
        }
        let d = drive(&mut h, 3.0, 3.5, 1.0, true);
        assert!(d.awaiting_rearm && d.output == Twist::ZERO, "{d:?}");
        drive(&mut h, 3.52, 3.6, 0.0, false);
        let d = drive(&mut h, 3.62, 4.5, 1.0, true);
        assert!(d.output.linear.x > 0.4, "{d:?}");
    }
}
