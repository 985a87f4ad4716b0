//! Robot geometry for separation monitoring: distances from human points to the robot's surface and the
//! robot's speed toward them, in the horizontal plane of the robot frame.

use nalgebra::{Point2, Vector2};
use serde::{Deserialize, Serialize};

use crate::twist::Twist;

/// The robot's extent in the horizontal plane of its command frame \[m\].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RobotShape {
    /// A disc of `radius` \[m\] around the frame origin.
    Radius { radius: f64 },
    /// A simple polygon (footprint), vertices `[x, y]` \[m\] in order (either direction), at least 3.
    Polygon { points: Vec<[f64; 2]> },
    /// Discs of `radius` \[m\] around control points `[x, y]` \[m\] (e.g. along an arm or a long base).
    ControlPoints { points: Vec<[f64; 2]>, radius: f64 },
}

impl Default for RobotShape {
    fn default() -> Self {
        RobotShape::Radius { radius: 0.3 }
    }
}

/// How a human point relates to the robot.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct PointRelation {
    /// Distance from the robot's surface to the point \[m\]; ≤ 0 when the point is inside the footprint.
    pub distance: f64,
    /// Speed of the robot's nearest surface point toward the human point [m/s]; > 0 approaching, < 0 moving
    /// away. For a point inside the footprint (contact, or a perception error) it is the surface's speed
    /// outward, toward the point's side of the footprint (deeper into the person); with no direction at all
    /// (the point on the surface) it is the full speed of that point (conservative).
    pub approach_speed: f64,
    /// Speed of that nearest surface point [m/s] (≥ |approach_speed|).
    pub surface_speed: f64,
}

impl RobotShape {
    /// Nearest surface point of the robot to `p` and the signed distance \[m\].
    pub fn closest(&self, p: &Point2<f64>) -> (Point2<f64>, f64) {
        match self {
            RobotShape::Radius { radius } => {
                let r = p.coords.norm();
                let dir = p.coords.try_normalize(1e-12).unwrap_or(Vector2::x());
                (Point2::from(dir * *radius), r - radius)
            }
            RobotShape::ControlPoints { points, radius } => {
                let mut best = (Point2::origin(), f64::INFINITY);
                for c in points {
                    let c = Point2::new(c[0], c[1]);
                    let v = p - c;
                    let d = v.norm() - radius;
                    if d < best.1 {
                        let dir = v.try_normalize(1e-12).unwrap_or(Vector2::x());
                        best = (c + dir * *radius, d);
                    }
                }
                best
            }
            RobotShape::Polygon { points } => {
                let n = points.len();
                let mut best = (Point2::origin(), f64::INFINITY);
                let mut inside = false;
                for i in 0..n {
                    let a = Point2::new(points[i][0], points[i][1]);
                    let b = Point2::new(points[(i + 1) % n][0], points[(i + 1) % n][1]);
                    let ab = b - a;
                    let t = if ab.norm_squared() > 0.0 {
                        ((p - a).dot(&ab) / ab.norm_squared()).clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    let q = a + ab * t;
                    let d = (p - q).norm();
                    if d < best.1 {
                        best = (q, d);
                    }
                    if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x) {
                        inside = !inside;
                    }
                }
                if inside {
                    best.1 = -best.1;
                }
                best
            }
        }
    }

    /// Distance to `p` and the robot's speed toward it under `twist` (planar part: vx, vy, ωz).
    pub fn relation(&self, twist: &Twist, p: &Point2<f64>) -> PointRelation {
        let (q, distance) = self.closest(p);
        let w = twist.angular.z;
        let vq = Vector2::new(twist.linear.x - w * q.y, twist.linear.y + w * q.x);
        let toward = if distance > 1e-9 { p - q } else { q - p };
        let approach_speed = toward.try_normalize(1e-9).map_or(vq.norm(), |n| vq.dot(&n));
        PointRelation { distance, approach_speed, surface_speed: vq.norm() }
    }

    /// Highest speed of any point of the robot under `twist` (planar part) [m/s].
    pub fn max_point_speed(&self, twist: &Twist) -> f64 {
        let w = twist.angular.z;
        let v = Vector2::new(twist.linear.x, twist.linear.y);
        let at = |x: f64, y: f64| (v + Vector2::new(-w * y, w * x)).norm();
        match self {
            RobotShape::Radius { radius } => v.norm() + w.abs() * radius,
            RobotShape::ControlPoints { points, radius } => {
                points.iter().map(|c| at(c[0], c[1]) + w.abs() * radius).fold(0.0, f64::max)
            }
            RobotShape::Polygon { points } => points.iter().map(|c| at(c[0], c[1])).fold(0.0, f64::max),
        }
    }

    /// Checks the shape's numbers: `Err(reason)` names what is wrong.
    pub fn check(&self) -> Result<(), &'static str> {
        let finite = |pts: &[[f64; 2]]| pts.iter().flatten().all(|v| v.is_finite());
        match self {
            RobotShape::Radius { radius } if radius.is_finite() && *radius >= 0.0 && *radius <= 10.0 => Ok(()),
            RobotShape::Radius { .. } => Err("radius must be in [0, 10] m"),
            RobotShape::Polygon { points } if points.len() >= 3 && finite(points) => Ok(()),
            RobotShape::Polygon { .. } => Err("polygon needs >= 3 finite vertices [m]"),
            RobotShape::ControlPoints { points, radius }
                if !points.is_empty() && finite(points) && radius.is_finite() && *radius >= 0.0 && *radius <= 10.0 =>
            {
                Ok(())
            }
            RobotShape::ControlPoints { .. } => Err("control points need >= 1 finite point and a radius in [0, 10] m"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn radius_distance_and_approach() {
        let s = RobotShape::Radius { radius: 0.3 };
        let r = s.relation(&Twist::planar(1.0, 0.0, 0.0), &Point2::new(2.0, 0.0));
        assert_relative_eq!(r.distance, 1.7);
        assert_relative_eq!(r.approach_speed, 1.0);
        let r = s.relation(&Twist::planar(-0.5, 0.0, 0.0), &Point2::new(2.0, 0.0));
        assert_relative_eq!(r.approach_speed, -0.5);
        // Turning in place does not approach anyone with a round robot.
        let r = s.relation(&Twist::planar(0.0, 0.0, 1.0), &Point2::new(0.0, 1.0));
        assert_relative_eq!(r.approach_speed, 0.0, epsilon = 1e-12);
    }

    #[test]
    fn polygon_inside_is_negative_and_rotation_sweeps_corners() {
        let s = RobotShape::Polygon { points: vec![[0.5, 0.3], [-0.5, 0.3], [-0.5, -0.3], [0.5, -0.3]] };
        assert_relative_eq!(s.closest(&Point2::new(1.5, 0.0)).1, 1.0);
        assert!(s.closest(&Point2::new(0.1, 0.0)).1 < 0.0);
        // A point to the side of the front corner: turning left swings the front toward it.
        let r = s.relation(&Twist::planar(0.0, 0.0, 1.0), &Point2::new(0.5, 1.0));
        assert!(r.approach_speed > 0.4);
        // A point inside the footprint: pushing further out toward its side approaches, backing off does not.
        let inside = Point2::new(0.45, 0.0);
        assert_relative_eq!(s.relation(&Twist::planar(0.2, 0.0, 0.0), &inside).approach_speed, 0.2);
        assert_relative_eq!(s.relation(&Twist::planar(-0.2, 0.0, 0.0), &inside).approach_speed, -0.2);
        // The fastest point: the tip of the footprint under rotation, the rim of a turning disc.
        assert_relative_eq!(RobotShape::Radius { radius: 0.3 }.max_point_speed(&Twist::planar(0.3, 0.4, 1.0)), 0.8);
        let square = RobotShape::Polygon { points: vec![[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]] };
        assert_relative_eq!(square.max_point_speed(&Twist::planar(0.0, 0.0, 1.0)), 2f64.sqrt());
    }

    #[test]
    fn control_points_take_the_nearest() {
        let s = RobotShape::ControlPoints { points: vec![[0.0, 0.0], [1.0, 0.0]], radius: 0.1 };
        assert_relative_eq!(s.closest(&Point2::new(2.0, 0.0)).1, 0.9);
        assert!(RobotShape::ControlPoints { points: vec![], radius: 0.1 }.check().is_err());
        assert!(RobotShape::Radius { radius: f64::NAN }.check().is_err());
    }
}
