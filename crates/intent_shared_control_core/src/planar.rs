//! Planar rigid motion: a robot's pose in a fixed frame, the motion of a body holding a twist, and points
//! moved between frames with their height kept.

use nalgebra::{Isometry2, Point2, Point3, Vector2};

use crate::twist::Twist;

/// Planar rigid motion of a body that holds `twist` (body frame: vx, vy, ωz) for `dt` seconds, as the pose at
/// the end in the frame at the start (exact for constant body-frame velocities).
pub fn planar_motion(twist: &Twist, dt: f64) -> Isometry2<f64> {
    let (vx, vy, w) = (twist.linear.x, twist.linear.y, twist.angular.z);
    let th = w * dt;
    // ∫₀^dt R(ω t) v dt, with the series form for small angles (no division by ω ≈ 0).
    let (s, c) = if th.abs() < 1e-6 {
        (dt * (1.0 - th * th / 6.0), dt * th / 2.0)
    } else {
        (th.sin() / w, (1.0 - th.cos()) / w)
    };
    Isometry2::new(Vector2::new(s * vx - c * vy, c * vx + s * vy), th)
}

/// `iso` applied to the horizontal coordinates of `p`, its height kept.
pub fn transform_planar(iso: &Isometry2<f64>, p: &Point3<f64>) -> Point3<f64> {
    let q = iso * Point2::new(p.x, p.y);
    Point3::new(q.x, q.y, p.z)
}

/// A robot's planar pose in a fixed frame (`fixed ← robot`), as the simulators and the bag generator keep it:
/// one [`Isometry2`], moved by [`planar_motion`] and read through [`transform_planar`].
pub trait RobotPose {
    /// The fixed-frame point `p` in the robot frame, its height kept.
    fn to_robot(&self, p: &Point3<f64>) -> Point3<f64>;
    /// Holds the body-frame `twist` for `dt` seconds (exact for a constant twist).
    fn integrate(&mut self, twist: &Twist, dt: f64);
}

impl RobotPose for Isometry2<f64> {
    fn to_robot(&self, p: &Point3<f64>) -> Point3<f64> {
        transform_planar(&self.inverse(), p)
    }

    fn integrate(&mut self, twist: &Twist, dt: f64) {
        *self *= planar_motion(twist, dt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn straight_and_turning_motion_integrate_exactly() {
        let m = planar_motion(&Twist::planar(1.0, 0.0, 0.0), 0.5);
        assert_relative_eq!(m.translation.vector, Vector2::new(0.5, 0.0), epsilon = 1e-12);
        // A quarter circle of radius 1: 1 m/s forward, 1 rad/s, π/2 s.
        let q = planar_motion(&Twist::planar(1.0, 0.0, 1.0), std::f64::consts::FRAC_PI_2);
        assert_relative_eq!(q.translation.vector, Vector2::new(1.0, 1.0), epsilon = 1e-9);
        assert_relative_eq!(q.rotation.angle(), std::f64::consts::FRAC_PI_2, epsilon = 1e-12);
        // Small-angle branch agrees with the exact one.
        let a = planar_motion(&Twist::planar(0.7, -0.2, 1e-8), 0.3);
        let b = planar_motion(&Twist::planar(0.7, -0.2, 1e-5), 0.3);
        assert_relative_eq!(a.translation.vector, b.translation.vector, epsilon = 1e-5);
    }

    #[test]
    fn a_pose_integrates_a_turn_and_sees_the_world_from_the_robot() {
        let mut pose = Isometry2::new(Vector2::new(1.0, 2.0), std::f64::consts::FRAC_PI_2);
        // Facing +y: a point 1 m further along +y is 1 m ahead, one along -x is 1 m to the left.
        assert_relative_eq!(pose.to_robot(&Point3::new(1.0, 3.0, 1.5)), Point3::new(1.0, 0.0, 1.5), epsilon = 1e-12);
        assert_relative_eq!(pose.to_robot(&Point3::new(0.0, 2.0, 0.0)), Point3::new(0.0, 1.0, 0.0), epsilon = 1e-12);
        // A quarter circle of radius 1 to the left, in two halves: ends at (0, 3) facing -x.
        let turn = Twist::planar(1.0, 0.0, 1.0);
        pose.integrate(&turn, std::f64::consts::FRAC_PI_4);
        pose.integrate(&turn, std::f64::consts::FRAC_PI_4);
        assert_relative_eq!(pose.translation.vector, Vector2::new(0.0, 3.0), epsilon = 1e-9);
        assert_relative_eq!(pose.rotation.angle(), std::f64::consts::PI, epsilon = 1e-9);
    }
}
