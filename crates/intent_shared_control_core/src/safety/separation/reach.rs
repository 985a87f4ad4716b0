//! How far a person can close in on the robot: the closing-speed bound of the reachable set
//! ([`ClosingBound`]) and the observed motion it starts from ([`ObservedMotion`]).

use nalgebra::Vector2;

/// A bound on how far a person (or one of their points) can close in on the robot over a time `t`: the
/// closing speed starts at `initial` (≥ 0), grows at `acceleration` up to `cap`; an arm point may in addition
/// reach out by up to `extension` at `extension_speed`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ClosingBound {
    pub initial: f64,
    pub cap: f64,
    pub acceleration: f64,
    pub extension: f64,
    pub extension_speed: f64,
}

impl ClosingBound {
    /// A constant closing speed `v` [m/s] (the standard's model).
    pub fn constant(v: f64) -> Self {
        ClosingBound { initial: v, cap: v, acceleration: 0.0, extension: 0.0, extension_speed: 0.0 }
    }

    /// True for a constant speed without extension.
    pub fn is_constant(&self) -> bool {
        (self.acceleration <= 0.0 || self.initial >= self.cap) && self.extension <= 0.0
    }

    /// Largest closing distance after `t` seconds \[m\].
    pub fn distance(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        let v0 = self.initial.max(0.0);
        let body = if self.acceleration <= 0.0 || v0 >= self.cap {
            v0 * t
        } else {
            let t1 = (self.cap - v0) / self.acceleration;
            if t <= t1 {
                v0 * t + 0.5 * self.acceleration * t * t
            } else {
                v0 * t1 + 0.5 * self.acceleration * t1 * t1 + self.cap * (t - t1)
            }
        };
        body + (self.extension_speed * t).min(self.extension.max(0.0))
    }

    /// The constant speed that closes the same distance over `t` [m/s].
    pub fn equivalent_speed(&self, t: f64) -> f64 {
        if t > 1e-9 {
            self.distance(t) / t
        } else {
            self.initial.max(0.0)
        }
    }

    /// The bound with its starting speed raised to at least `v` [m/s] (a forecast's closing speed).
    pub fn at_least(self, v: f64) -> Self {
        if v <= self.initial {
            return self;
        }
        ClosingBound { initial: v, cap: self.cap.max(v), ..self }
    }
}

/// An observed person's motion: torso velocity in the robot frame of the cycle (robot motion removed) [m/s],
/// and how long before the newest observation the fit describes \[s\].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ObservedMotion {
    pub velocity: Vector2<f64>,
    pub lag: f64,
}
