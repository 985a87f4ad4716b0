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
}
