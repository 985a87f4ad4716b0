//! Teleop: joystick state → operator twist, with deadman (enable) button, deadzone, scale and turbo.
//!
//! Safety rule of this stage: the output is an explicit [`Twist::ZERO`] whenever the deadman button is not held,
//! the joystick message is older than `timeout` (by its stamp or by its arrival, whichever is older), its stamp
//! lies in the future beyond `max_future`, or it is malformed (non-finite axes). A Joy that was rejected (see
//! [`crate::input::InputHandler`]) but reads a released deadman still releases ([`Teleop::on_rejected_release`]):
//! a release is fail-safe information whatever else is wrong with the message. Silence is never an output.

use serde::{Deserialize, Serialize};

use crate::config::{Bound, Catalog, ConfigError, FieldSpec, Range, RunTime, Section};
use crate::safety::Reason;

use crate::time::Stamp;
use crate::twist::Twist;

/// A `sensor_msgs/Joy` as the core sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct JoyInput {
    /// Header stamp of the Joy message (the joystick driver's sample time).
    pub stamp: Stamp,
    /// Axis values, nominally [-1, 1].
    pub axes: Vec<f32>,
    /// Button states (1 = pressed).
    pub buttons: Vec<i32>,
}

/// Maps one joystick axis to one twist component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisBinding {
    /// Index into `Joy.axes`.
    pub axis: usize,
    /// Output at full deflection, normal speed [m/s or rad/s].
    pub scale: f64,
    /// Output at full deflection with the turbo button held [m/s or rad/s].
    pub scale_turbo: f64,
}

/// Axis and button map plus timing. Units are in the field names' docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeleopConfig {
    /// Index into `Joy.buttons` of the deadman (enable) button; nothing moves unless it is held.
    pub deadman_button: usize,
    /// Index into `Joy.buttons` of the turbo button (uses `scale_turbo`), if any.
    pub turbo_button: Option<usize>,
    /// Axis values with |v| below this are treated as 0; the rest is rescaled to keep the output continuous [-].
    pub deadzone: f64,
    /// A Joy message older than this is stale and yields zero \[s\].
    pub timeout: f64,
    /// A Joy stamp further than this in the future of the cycle time is rejected \[s\].
    pub max_future: f64,
    /// A press of the deadman, and the release that re-arms, count only once accepted Joys stamped at least this
    /// far apart agree (a release stops at once): no single message arms or moves the robot \[s\].
    #[serde(default = "default_deadman_confirm")]
    pub deadman_confirm: f64,
    /// Bindings for linear x, y, z and angular x, y, z; `None` leaves the component at 0.
    pub linear_x: Option<AxisBinding>,
    pub linear_y: Option<AxisBinding>,
    pub linear_z: Option<AxisBinding>,
    pub angular_x: Option<AxisBinding>,
    pub angular_y: Option<AxisBinding>,
    pub angular_z: Option<AxisBinding>,
}

impl TeleopConfig {
    /// Whether `other` reads the pad the same way: the same deadman and turbo buttons and the same axis
    /// bindings (axis, scales, signs). Deadzone and timing do not change what an input means.
    pub fn same_mapping(&self, other: &TeleopConfig) -> bool {
        self.deadman_button == other.deadman_button
            && self.turbo_button == other.turbo_button
            && self.linear_x == other.linear_x
            && self.linear_y == other.linear_y
            && self.linear_z == other.linear_z
            && self.angular_x == other.angular_x
            && self.angular_y == other.angular_y
            && self.angular_z == other.angular_z
    }
}

/// Default [`TeleopConfig::deadman_confirm`]: three Joys at 50 Hz, two at the 20 Hz autorepeat of the ROS
/// joystick drivers \[s\].
pub const DEADMAN_CONFIRM_S: f64 = 0.04;

fn default_deadman_confirm() -> f64 {
    DEADMAN_CONFIRM_S
}

impl Default for TeleopConfig {
    /// Planar base on an Xbox-style pad: left stick = x / yaw, LB = deadman, RB = turbo.
    fn default() -> Self {
        TeleopConfig {
            deadman_button: 4,
            turbo_button: Some(5),
            deadzone: 0.05,
            timeout: 0.5,
            max_future: 0.1,
            deadman_confirm: DEADMAN_CONFIRM_S,
            linear_x: Some(AxisBinding { axis: 1, scale: 0.5, scale_turbo: 1.0 }),
            linear_y: None,
            linear_z: None,
            angular_x: None,
            angular_y: None,
            angular_z: Some(AxisBinding { axis: 0, scale: 1.0, scale_turbo: 1.5 }),
        }
    }
}

/// Common gamepads, with the axis and button layout that the ROS 2 joystick drivers publish for them.
///
/// | preset | driver / mode | deadman | turbo | left stick (x, y) | right stick (x, y) | d-pad (x, y) |
/// |---|---|---|---|---|---|---|
/// | `xbox` | `joy_linux` (xpad); also Logitech F710 in X mode | LB = 4 | RB = 5 | axes 0, 1 | axes 3, 4 | axes 6, 7 |
/// | `ps4` | `joy_linux` (hid-sony, DualShock 4) | L1 = 4 | R1 = 5 | axes 0, 1 | axes 3, 4 | axes 6, 7 |
/// | `logitech_f710` | `joy_linux`, F710 in D (DirectInput) mode | LB = 4 | RB = 5 | axes 0, 1 | axes 2, 3 | axes 4, 5 |
/// | `generic` | `joy` (SDL2 game-controller layout, any pad SDL knows) | LB = 9 | RB = 10 | axes 0, 1 | axes 2, 3 | none |
///
/// Axis sign convention of all drivers: left and up are positive, so every scale is positive (stick up =
/// forward, stick left = +y / counter-clockwise yaw).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GamepadPreset {
    Xbox,
    #[serde(alias = "dualshock")]
    Ps4,
    LogitechF710,
    Generic,
}

/// Which twist components a preset drives.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwistProfile {
    /// Mobile base: left stick = linear x (up/down) and linear y (left/right), right stick x = yaw.
    Planar,
    /// Full 6-DoF (e.g. an arm's end effector or a holonomic/aerial base): planar as above plus right stick y =
    /// linear z, d-pad x = roll, d-pad y = pitch (no roll/pitch on `generic`, whose d-pad is buttons).
    Full6Dof,
}

/// Full-deflection speeds of the presets: linear [m/s] and angular [rad/s], normal and turbo.
const PRESET_LINEAR: (f64, f64) = (0.5, 1.0);
const PRESET_ANGULAR: (f64, f64) = (1.0, 1.5);

impl TeleopConfig {
    /// The map of a common gamepad (see [`GamepadPreset`] for the layouts), deadzone 0.05, timeout 0.5 s,
    /// linear 0.5 m/s (turbo 1.0 m/s), angular 1.0 rad/s (turbo 1.5 rad/s).
    pub fn preset(pad: GamepadPreset, profile: TwistProfile) -> TeleopConfig {
        // (deadman, turbo, left x, left y, right x, right y, d-pad x, d-pad y)
        let (deadman, turbo, lx, ly, rx, ry, dx, dy) = match pad {
            GamepadPreset::Xbox | GamepadPreset::Ps4 => (4, 5, 0, 1, 3, 4, Some(6), Some(7)),
            GamepadPreset::LogitechF710 => (4, 5, 0, 1, 2, 3, Some(4), Some(5)),
            GamepadPreset::Generic => (9, 10, 0, 1, 2, 3, None, None),
        };
        let lin = |axis| Some(AxisBinding { axis, scale: PRESET_LINEAR.0, scale_turbo: PRESET_LINEAR.1 });
        let ang = |axis| Some(AxisBinding { axis, scale: PRESET_ANGULAR.0, scale_turbo: PRESET_ANGULAR.1 });
        let full = profile == TwistProfile::Full6Dof;
        TeleopConfig {
            deadman_button: deadman,
            turbo_button: Some(turbo),
            deadzone: 0.05,
            timeout: 0.5,
            max_future: 0.1,
            deadman_confirm: DEADMAN_CONFIRM_S,
            linear_x: lin(ly),
            linear_y: lin(lx),
            linear_z: if full { lin(ry) } else { None },
            angular_x: if full { dx.and_then(ang) } else { None },
            angular_y: if full { dy.and_then(ang) } else { None },
            angular_z: ang(rx),
        }
    }
}

impl Section for AxisBinding {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::count("axis", Range::NON_NEGATIVE, "index", "Joy.axes index driving this twist component", |b| {
            Some(b.axis)
        }),
        FieldSpec::real("scale", Range::FINITE, "m/s or rad/s", "output at full deflection", |b| b.scale),
        FieldSpec::real(
            "scale_turbo",
            Range::FINITE,
            "m/s or rad/s",
            "output at full deflection with the turbo button held",
            |b| b.scale_turbo,
        ),
    ];
}

impl Section for TeleopConfig {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::count(
            "deadman_button",
            Range::NON_NEGATIVE,
            "index",
            "Joy.buttons index that must be held to move",
            |c| Some(c.deadman_button),
        ),
        FieldSpec::count(
            "turbo_button",
            Range::NON_NEGATIVE,
            "index",
            "Joy.buttons index selecting the *_turbo scales",
            |c| c.turbo_button,
        ),
        FieldSpec::real(
            "deadzone",
            Range { lower: Bound::Closed(0.0), upper: Bound::Open(1.0) },
            "",
            "axis values below this magnitude count as 0",
            |c| c.deadzone,
        ),
        FieldSpec::<Self>::real(
            "timeout",
            Range::POSITIVE,
            "s",
            "a Joy older than this (header stamp) yields an explicit zero",
            |c| c.timeout,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "max_future",
            Range::NON_NEGATIVE,
            "s",
            "a Joy stamped further than this in the future is rejected",
            |c| c.max_future,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "deadman_confirm",
            Range::closed(0.0, 0.5),
            "s",
            "a deadman press, and the release that re-arms, count once accepted Joys stamped at least this far apart agree (a release stops at once); 0: one message",
            |c| c.deadman_confirm,
        )
        .at_run_time(RunTime::Raise),
    ];

    /// One [`AxisBinding`] section per twist component (`linear_x`, ..., `angular_z`).
    fn declare_nested(catalog: &mut Catalog, prefix: &str) {
        for name in TeleopConfig::BINDINGS {
            AxisBinding::declare(catalog, &format!("{prefix}.{name}"));
        }
    }
}

impl TeleopConfig {
    /// Names of the six axis bindings, in the order of the twist's components.
    pub const BINDINGS: [&'static str; 6] = ["linear_x", "linear_y", "linear_z", "angular_x", "angular_y", "angular_z"];

    /// Checks every value against [`Section::FIELDS`], then each binding's (`linear_x.scale`); names are relative
    /// (`timeout`), the same check serves the parameter file and runtime changes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()?;
        for (name, b) in self.bindings() {
            if let Some(b) = b {
                b.check_declared().map_err(|e| e.within(name))?;
            }
        }
        Ok(())
    }

    fn bindings(&self) -> [(&'static str, &Option<AxisBinding>); 6] {
        let [lx, ly, lz, ax, ay, az] = TeleopConfig::BINDINGS;
        [
            (lx, &self.linear_x),
            (ly, &self.linear_y),
            (lz, &self.linear_z),
            (ax, &self.angular_x),
            (ay, &self.angular_y),
            (az, &self.angular_z),
        ]
    }
}

/// What teleop made of the joystick this cycle.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TeleopState {
    /// No Joy message received yet.
    NoInput,
    /// Deadman held, command mapped.
    Active,
    /// Deadman button not held.
    DeadmanReleased,
    /// Latest Joy is older than the timeout.
    Stale,
    /// Latest Joy is malformed (non-finite axis, stamp too far in the future, missing deadman index).
    Invalid,
}

impl TeleopState {
    /// The reason this state gives the decision (`None` while active).
    pub fn reason(self) -> Option<Reason> {
        match self {
            TeleopState::Active => None,
            TeleopState::NoInput => Some(Reason::JoyMissing),
            TeleopState::DeadmanReleased => Some(Reason::DeadmanReleased),
            TeleopState::Stale => Some(Reason::JoyStale),
            TeleopState::Invalid => Some(Reason::JoyInvalid),
        }
    }
}

/// Output of one teleop step.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TeleopOutput {
    pub twist: Twist,
    pub state: TeleopState,
}

/// Largest joystick accepted (axes and buttons each).
pub const MAX_JOY_CHANNELS: usize = 64;

/// What a joystick message says about the deadman button.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Deadman {
    Pressed,
    Released,
    /// The message has no such button.
    Unknown,
}

/// Joystick → operator twist.
#[derive(Clone, Debug)]
pub struct Teleop {
    config: TeleopConfig,
    /// The newest accepted Joy and its arrival time.
    last: Option<(JoyInput, Stamp)>,
    /// A rejected Joy read a released deadman after the newest accepted one.
    released_by_rejected: bool,
    /// The deadman state of the newest accepted Joys and the stamp of the first of them that read it (the run
    /// of agreeing messages so far).
    run: Option<(Deadman, Stamp)>,
}

impl Teleop {
    pub fn new(config: TeleopConfig) -> Self {
        Teleop { config, last: None, released_by_rejected: false, run: None }
    }

    /// True when the newest accepted Joys agree on `state` over at least `deadman_confirm` of their stamps.
    fn confirmed(&self, state: Deadman) -> bool {
        match (&self.run, &self.last) {
            (Some((s, since)), Some((joy, _))) if *s == state => {
                joy.stamp.seconds_since(*since) >= self.config.deadman_confirm - 1e-9
            }
            _ => false,
        }
    }

    /// True when the newest accepted Joys read the deadman released over at least `deadman_confirm`: a release
    /// that may re-arm (one message never does).
    pub fn release_confirmed(&self) -> bool {
        self.confirmed(Deadman::Released)
    }

    /// The deadman state `joy` reports under this map.
    pub fn deadman(&self, joy: &JoyInput) -> Deadman {
        match joy.buttons.get(self.config.deadman_button) {
            None => Deadman::Unknown,
            Some(0) => Deadman::Released,
            Some(_) => Deadman::Pressed,
        }
    }

    /// Stamp of the newest accepted Joy.
    pub fn newest_stamp(&self) -> Option<Stamp> {
        self.last.as_ref().map(|(j, _)| j.stamp)
    }

    pub fn config(&self) -> &TeleopConfig {
        &self.config
    }

    /// Replaces the configuration (already validated by the caller).
    pub fn set_config(&mut self, config: TeleopConfig) {
        if config.deadman_button != self.config.deadman_button {
            // The run was read with another button.
            self.run = None;
        }
        self.config = config;
    }

    /// Stores a joystick message that arrived at `arrival` (node clock) and was accepted by the caller
    /// (ordering and stamp checks are [`crate::input::InputHandler`]'s). Out-of-order messages (older stamp than
    /// the kept one) are still ignored here and reported as `false`.
    pub fn on_joy(&mut self, joy: JoyInput, arrival: Stamp) -> bool {
        if self.last.as_ref().is_some_and(|(last, _)| joy.stamp < last.stamp) {
            return false;
        }
        let state = self.deadman(&joy);
        if self.run.is_none_or(|(s, _)| s != state) {
            self.run = Some((state, joy.stamp));
        }
        self.last = Some((joy, arrival));
        self.released_by_rejected = false;
        true
    }

    /// A Joy that was rejected read a released deadman: the operator's enable counts as released until the next
    /// accepted Joy.
    pub fn on_rejected_release(&mut self) {
        self.released_by_rejected = true;
    }

    /// The operator command at time `now`.
    pub fn step(&self, now: Stamp) -> TeleopOutput {
        let zero = |state| TeleopOutput { twist: Twist::ZERO, state };
        let Some((joy, arrival)) = &self.last else {
            return zero(if self.released_by_rejected { TeleopState::DeadmanReleased } else { TeleopState::NoInput });
        };
        let age = now.seconds_since(joy.stamp);
        if age < -self.config.max_future || joy.axes.iter().any(|a| !a.is_finite()) {
            return zero(TeleopState::Invalid);
        }
        // A Joy is used at most `timeout` after its stamp and after its arrival: a stamp slightly ahead of the
        // clock cannot stretch its life.
        if age.max(now.seconds_since(*arrival)) > self.config.timeout {
            return zero(TeleopState::Stale);
        }
        match self.deadman(joy) {
            Deadman::Unknown => return zero(TeleopState::Invalid),
            Deadman::Released => return zero(TeleopState::DeadmanReleased),
            Deadman::Pressed if self.released_by_rejected => return zero(TeleopState::DeadmanReleased),
            // A press counts once a second message confirms it.
            Deadman::Pressed if !self.confirmed(Deadman::Pressed) => return zero(TeleopState::DeadmanReleased),
            Deadman::Pressed => {}
        }
        let turbo = self.config.turbo_button.and_then(|i| joy.buttons.get(i)).is_some_and(|&b| b != 0);
        let mut out = [0.0; 6];
        for (slot, (_, binding)) in out.iter_mut().zip(self.config.bindings()) {
            if let Some(b) = binding {
                let raw = joy.axes.get(b.axis).copied().unwrap_or(0.0) as f64;
                let scale = if turbo { b.scale_turbo } else { b.scale };
                *slot = apply_deadzone(raw.clamp(-1.0, 1.0), self.config.deadzone) * scale;
            }
        }
        TeleopOutput { twist: Twist::from_array(out), state: TeleopState::Active }
    }
}

/// Zero inside the deadzone, then rescaled so that the output rises continuously from 0 to ±1.
fn apply_deadzone(v: f64, deadzone: f64) -> f64 {
    if v.abs() < deadzone {
        0.0
    } else {
        v.signum() * (v.abs() - deadzone) / (1.0 - deadzone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// A teleop that acts on one message (no deadman confirmation): the mapping and timing tests.
    fn one_message(config: TeleopConfig) -> Teleop {
        Teleop::new(TeleopConfig { deadman_confirm: 0.0, ..config })
    }

    /// Stores `j` as arriving at its own stamp.
    fn on(t: &mut Teleop, j: JoyInput) -> bool {
        let arrival = j.stamp;
        t.on_joy(j, arrival)
    }

    fn joy(t: f64, axes: &[f32], deadman: bool) -> JoyInput {
        let mut buttons = vec![0; 8];
        buttons[4] = i32::from(deadman);
        JoyInput { stamp: Stamp::from_secs_f64(t), axes: axes.to_vec(), buttons }
    }

    #[test]
    fn a_press_or_a_re_arming_release_counts_once_two_messages_agree_over_deadman_confirm() {
        let mut t = Teleop::new(TeleopConfig::default());
        let at = |s: f64| Stamp::from_secs_f64(s);
        for s in [0.0, 0.02, 0.04] {
            on(&mut t, joy(s, &[0.0, 1.0], false));
        }
        assert!(t.release_confirmed(), "released over 0.04 s");
        // One pressed message, then a second 20 ms later: not yet; the third, 40 ms after the first: pressed.
        on(&mut t, joy(0.06, &[0.0, 1.0], true));
        assert_eq!(t.step(at(0.06)).state, TeleopState::DeadmanReleased);
        assert!(!t.release_confirmed());
        on(&mut t, joy(0.08, &[0.0, 1.0], true));
        assert_eq!(t.step(at(0.08)).twist, Twist::ZERO);
        on(&mut t, joy(0.10, &[0.0, 1.0], true));
        assert_eq!((t.step(at(0.10)).state, t.step(at(0.10)).twist.linear.x), (TeleopState::Active, 0.5));
        // A release stops at once; one released message among pressed ones never counts as a re-arming release,
        // and the press after it needs confirming again.
        on(&mut t, joy(0.12, &[0.0, 1.0], false));
        assert_eq!(t.step(at(0.12)).state, TeleopState::DeadmanReleased);
        assert!(!t.release_confirmed());
        on(&mut t, joy(0.14, &[0.0, 1.0], true));
        assert_eq!(t.step(at(0.14)).twist, Twist::ZERO);
        // With deadman_confirm 0 one message is enough (teleop_twist_joy's behaviour).
        let mut one = one_message(TeleopConfig::default());
        on(&mut one, joy(0.0, &[0.0, 1.0], true));
        assert_eq!(one.step(at(0.0)).state, TeleopState::Active);
    }

    #[test]
    fn deadman_held_maps_axes() {
        let mut t = one_message(TeleopConfig::default());
        on(&mut t, joy(1.0, &[0.5, 1.0], true));
        let out = t.step(Stamp::from_secs_f64(1.01));
        assert_eq!(out.state, TeleopState::Active);
        assert_relative_eq!(out.twist.linear.x, 0.5);
        assert_relative_eq!(out.twist.angular.z, (0.5 - 0.05) / 0.95);
    }

    #[test]
    fn deadman_released_is_zero() {
        let mut t = one_message(TeleopConfig::default());
        on(&mut t, joy(1.0, &[0.5, 1.0], false));
        let out = t.step(Stamp::from_secs_f64(1.01));
        assert_eq!(out, TeleopOutput { twist: Twist::ZERO, state: TeleopState::DeadmanReleased });
    }

    #[test]
    fn stale_joy_is_zero() {
        let mut t = one_message(TeleopConfig::default());
        on(&mut t, joy(1.0, &[0.5, 1.0], true));
        assert_eq!(t.step(Stamp::from_secs_f64(1.49)).state, TeleopState::Active);
        let out = t.step(Stamp::from_secs_f64(1.51));
        assert_eq!(out, TeleopOutput { twist: Twist::ZERO, state: TeleopState::Stale });
    }

    #[test]
    fn nan_axis_and_future_stamp_are_invalid() {
        let mut t = one_message(TeleopConfig::default());
        on(&mut t, joy(1.0, &[f32::NAN, 1.0], true));
        assert_eq!(t.step(Stamp::from_secs_f64(1.0)).state, TeleopState::Invalid);
        let mut t = one_message(TeleopConfig::default());
        on(&mut t, joy(5.0, &[0.5, 1.0], true));
        assert_eq!(t.step(Stamp::from_secs_f64(1.0)).twist, Twist::ZERO);
    }

    #[test]
    fn staleness_counts_from_the_arrival_too() {
        // Stamped 0.1 s ahead of its arrival: still used at most `timeout` after it arrived.
        let mut t = one_message(TeleopConfig::default());
        t.on_joy(joy(1.1, &[0.5, 1.0], true), Stamp::from_secs_f64(1.0));
        assert_eq!(t.step(Stamp::from_secs_f64(1.49)).state, TeleopState::Active);
        assert_eq!(t.step(Stamp::from_secs_f64(1.51)).state, TeleopState::Stale);
    }

    #[test]
    fn a_rejected_release_releases_until_the_next_accepted_joy() {
        let mut t = one_message(TeleopConfig::default());
        on(&mut t, joy(1.0, &[0.0, 1.0], true));
        t.on_rejected_release();
        assert_eq!(
            t.step(Stamp::from_secs_f64(1.01)),
            TeleopOutput { twist: Twist::ZERO, state: TeleopState::DeadmanReleased }
        );
        on(&mut t, joy(1.02, &[0.0, 1.0], true));
        assert_eq!(t.step(Stamp::from_secs_f64(1.02)).state, TeleopState::Active);
        assert_eq!(t.deadman(&joy(0.0, &[], false)), Deadman::Released);
        assert_eq!(t.deadman(&JoyInput { stamp: Stamp(0), axes: vec![], buttons: vec![1] }), Deadman::Unknown);
    }

    #[test]
    fn out_of_order_joy_is_ignored() {
        let mut t = one_message(TeleopConfig::default());
        assert!(on(&mut t, joy(2.0, &[0.0, 1.0], true)));
        assert!(!on(&mut t, joy(1.0, &[0.0, 0.0], false)));
        assert_eq!(t.step(Stamp::from_secs_f64(2.0)).state, TeleopState::Active);
    }

    #[test]
    fn empty_buttons_is_invalid_not_panic() {
        let mut t = one_message(TeleopConfig::default());
        on(&mut t, JoyInput { stamp: Stamp(0), axes: vec![], buttons: vec![] });
        assert_eq!(t.step(Stamp(0)).state, TeleopState::Invalid);
    }

    fn pad_joy(t: f64, axes: &[f32], pressed: &[usize]) -> JoyInput {
        let mut buttons = vec![0; 16];
        for &b in pressed {
            buttons[b] = 1;
        }
        JoyInput { stamp: Stamp::from_secs_f64(t), axes: axes.to_vec(), buttons }
    }

    #[test]
    fn presets_validate_and_map_planar_sticks() {
        for pad in [GamepadPreset::Xbox, GamepadPreset::Ps4, GamepadPreset::LogitechF710, GamepadPreset::Generic] {
            for profile in [TwistProfile::Planar, TwistProfile::Full6Dof] {
                let c = TeleopConfig::preset(pad, profile);
                assert!(c.validate().is_ok(), "{pad:?} {profile:?}");
                let mut t = one_message(c.clone());
                // Left stick fully up: forward at the normal scale.
                let mut axes = vec![0.0; 8];
                axes[1] = 1.0;
                on(&mut t, pad_joy(0.0, &axes, &[c.deadman_button]));
                let out = t.step(Stamp(0));
                assert_eq!(out.state, TeleopState::Active);
                assert_relative_eq!(out.twist.linear.x, 0.5);
                assert_eq!(out.twist.linear.y, 0.0);
                // Turbo raises the speed; releasing the deadman gives zero.
                on(&mut t, pad_joy(0.01, &axes, &[c.deadman_button, c.turbo_button.unwrap_or(0)]));
                assert_relative_eq!(t.step(Stamp::from_secs_f64(0.01)).twist.linear.x, 1.0);
                on(&mut t, pad_joy(0.02, &axes, &[]));
                assert_eq!(t.step(Stamp::from_secs_f64(0.02)).twist, Twist::ZERO);
            }
        }
    }

    #[test]
    fn full_6dof_uses_right_stick_and_dpad() {
        let c = TeleopConfig::preset(GamepadPreset::Xbox, TwistProfile::Full6Dof);
        let mut t = one_message(c);
        let axes = [0.0, 0.0, 0.0, 1.0, -1.0, 0.0, 1.0, 1.0];
        on(&mut t, pad_joy(0.0, &axes, &[4]));
        let tw = t.step(Stamp(0)).twist;
        assert_relative_eq!(tw.angular.z, 1.0);
        assert_relative_eq!(tw.linear.z, -0.5);
        assert_relative_eq!(tw.angular.x, 1.0);
        assert_relative_eq!(tw.angular.y, 1.0);
        let planar = TeleopConfig::preset(GamepadPreset::Xbox, TwistProfile::Planar);
        assert!(planar.linear_z.is_none() && planar.angular_x.is_none() && planar.angular_y.is_none());
    }

    #[test]
    fn generic_map_from_yaml_refuses_unknown_keys() {
        let yaml = "deadman_button: 9\nturbo_button: 10\ndeadzone: 0.1\ntimeout: 0.3\nmax_future: 0.05\n\
                    linear_x: {axis: 1, scale: 0.4, scale_turbo: 0.8}\nlinear_y: null\nlinear_z: null\n\
                    angular_x: null\nangular_y: null\nangular_z: {axis: 2, scale: 0.9, scale_turbo: 1.2}\n";
        let c: TeleopConfig = serde_yaml::from_str(yaml).expect("valid map");
        assert_eq!(c.deadman_button, 9);
        assert!(c.validate().is_ok());
        let typo = yaml.replace("deadzone", "dead_zone");
        assert!(serde_yaml::from_str::<TeleopConfig>(&typo).is_err());
        let preset: GamepadPreset = serde_yaml::from_str("dualshock").expect("alias");
        assert_eq!(preset, GamepadPreset::Ps4);
    }

    #[test]
    fn deadzone_is_continuous_and_scaled() {
        let mut t = one_message(TeleopConfig::default());
        on(&mut t, joy(1.0, &[0.0, 0.04], true));
        assert_eq!(t.step(Stamp::from_secs_f64(1.0)).twist.linear.x, 0.0);
        on(&mut t, joy(1.1, &[0.0, 0.0501], true));
        let v = t.step(Stamp::from_secs_f64(1.1)).twist.linear.x;
        assert!(v > 0.0 && v < 1e-3);
        on(&mut t, joy(1.2, &[0.0, 2.0], true));
        assert_relative_eq!(t.step(Stamp::from_secs_f64(1.2)).twist.linear.x, 0.5);
    }

    #[test]
    fn validate_rejects_bad_values() {
        assert!(TeleopConfig { timeout: 0.0, ..TeleopConfig::default() }.validate().is_err());
        assert!(TeleopConfig { deadzone: f64::NAN, ..TeleopConfig::default() }.validate().is_err());
        assert!(TeleopConfig::default().validate().is_ok());
    }
}
