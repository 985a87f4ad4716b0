//! Velocity commands.

use nalgebra::Vector3;
use serde::{Deserialize, Serialize};

/// A velocity command in the robot's command frame: linear [m/s] and angular [rad/s].
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Twist {
    /// Linear velocity [m/s] (x forward, y left, z up).
    pub linear: Vector3<f64>,
    /// Angular velocity [rad/s] about x, y, z.
    pub angular: Vector3<f64>,
}

impl Twist {
    /// The explicit stop command.
    pub const ZERO: Twist = Twist { linear: Vector3::new(0.0, 0.0, 0.0), angular: Vector3::new(0.0, 0.0, 0.0) };

    /// Planar twist (x, y, yaw).
    pub fn planar(vx: f64, vy: f64, wz: f64) -> Twist {
        Twist { linear: Vector3::new(vx, vy, 0.0), angular: Vector3::new(0.0, 0.0, wz) }
    }

    /// True when all six components are finite.
    pub fn is_finite(&self) -> bool {
        self.linear.iter().chain(self.angular.iter()).all(|v| v.is_finite())
    }

    /// True when all six components are exactly zero.
    pub fn is_zero(&self) -> bool {
        self.linear.iter().chain(self.angular.iter()).all(|v| *v == 0.0)
    }

    /// The six components as `[vx, vy, vz, wx, wy, wz]`.
    pub fn to_array(&self) -> [f64; 6] {
        [self.linear.x, self.linear.y, self.linear.z, self.angular.x, self.angular.y, self.angular.z]
    }

    /// Inverse of [`Twist::to_array`].
    pub fn from_array(a: [f64; 6]) -> Twist {
        Twist { linear: Vector3::new(a[0], a[1], a[2]), angular: Vector3::new(a[3], a[4], a[5]) }
    }

    /// Component-wise `alpha * self + (1 - alpha) * other`.
    pub fn lerp_toward(&self, other: &Twist, alpha: f64) -> Twist {
        Twist {
            linear: self.linear * (1.0 - alpha) + other.linear * alpha,
            angular: self.angular * (1.0 - alpha) + other.angular * alpha,
        }
    }

    /// Every component multiplied by `k`.
    pub fn scaled(&self, k: f64) -> Twist {
        Twist { linear: self.linear * k, angular: self.angular * k }
    }
}
