//! The shared-control decision: inputs in, one command and its explanation out, time passed in.

use crate::skeleton::{HumanId, SkeletonFrame};
use crate::teleop::{JoyInput, Teleop, TeleopConfig, TeleopState};
use crate::time::Stamp;
use crate::twist::Twist;

/// What the controller is doing (mirrors `SharedControlStatus.MODE_*`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Idle = 0,
    Manual = 1,
    Assisted = 2,
    Slowdown = 3,
    Stop = 4,
    Fault = 5,
}

/// One control cycle's outcome: the command to publish and why it is what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub stamp: Stamp,
    pub mode: Mode,
    /// Blend weight of the assistance command [0, 1].
    pub alpha: f64,
    /// Speed factor applied by the safety chain [0, 1].
    pub speed_scale: f64,
    /// Nearest human and the distance to it [m], if anyone is in view.
    pub nearest_human: Option<(HumanId, f64)>,
    /// Protective separation distance required at the current speed [m].
    pub required_separation: f64,
    pub humans_seen: usize,
    pub predictions_used: usize,
    /// Names of the rules that changed the command, in order of application.
    pub reasons: Vec<&'static str>,
    pub user: Twist,
    pub assist: Twist,
    pub blended: Twist,
    pub output: Twist,
}

/// Configuration of the controller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControllerConfig {
    pub teleop: TeleopConfig,
}

/// Inputs → decision. Currently teleop with deadman and staleness; assistance, blending and the safety chain
/// plug in between `user` and `output`.
#[derive(Clone, Debug)]
pub struct Controller {
    teleop: Teleop,
    latest_humans: Option<SkeletonFrame>,
}

impl Controller {
    pub fn new(config: ControllerConfig) -> Self {
        Controller { teleop: Teleop::new(config.teleop), latest_humans: None }
    }

    /// Stores a joystick message; `false` when it was dropped as out of order.
    pub fn on_joy(&mut self, joy: JoyInput) -> bool {
        self.teleop.on_joy(joy)
    }

    /// Stores a skeleton capture; `false` when it was dropped as older than the one kept.
    pub fn on_skeletons(&mut self, frame: SkeletonFrame) -> bool {
        if self.latest_humans.as_ref().is_some_and(|f| frame.stamp < f.stamp) {
            return false;
        }
        self.latest_humans = Some(frame);
        true
    }

    /// Decides the command at `now`.
    pub fn step(&mut self, now: Stamp) -> Decision {
        let teleop = self.teleop.step(now);
        let mut reasons = Vec::new();
        if let Some(r) = teleop.state.reason() {
            reasons.push(r);
        }
        let mode = match teleop.state {
            TeleopState::Active => Mode::Manual,
            TeleopState::DeadmanReleased | TeleopState::NoInput => Mode::Idle,
            TeleopState::Stale | TeleopState::Invalid => Mode::Fault,
        };
        let humans_seen = self.latest_humans.as_ref().map_or(0, |f| f.humans.len());
        let nearest_human = self.latest_humans.as_ref().and_then(|f| {
            f.humans
                .iter()
                .filter_map(|h| {
                    h.observed()
                        .map(|k| k.position.coords.xy().norm())
                        .min_by(f64::total_cmp)
                        .map(|d| (h.id, d))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
        });
        Decision {
            stamp: now,
            mode,
            alpha: 0.0,
            speed_scale: 1.0,
            nearest_human,
            required_separation: 0.0,
            humans_seen,
            predictions_used: 0,
            reasons,
            user: teleop.twist,
            assist: Twist::ZERO,
            blended: teleop.twist,
            output: teleop.twist,
        }
    }
}
