//! Robot geometry for separation monitoring: distances from human points to the robot's surface and the
//! robot's speed toward them, in the horizontal plane of the robot frame.

use nalgebra::{Point2, Point3, Vector2, Vector3};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, FieldSpec, Range, RunTime, Section};

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

/// When a command counts as bringing the robot closer to a point: its nearest surface point's speed toward the
/// point exceeds `min(fraction · |v_q|, speed)`, `v_q` that surface point's velocity. Below it the motion
/// turns on the spot, slides past or moves away (rounding and a slight inward angle included), and separation
/// monitoring and the stop zone let it go; see docs/safety_chain.md for why this is safe and why both bounds
/// are needed (a slow creep straight at someone approaches with its full speed and is never tolerated).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApproachTolerance {
    /// Largest share of the surface point's speed toward a point that does not count as approaching [0, 0.2].
    pub fraction: f64,
    /// Largest speed toward a point that does not count as approaching, whatever the share [m/s] ([0, 0.05]).
    pub speed: f64,
}

impl Default for ApproachTolerance {
    fn default() -> Self {
        ApproachTolerance { fraction: 0.05, speed: 0.02 }
    }
}

impl Section for ApproachTolerance {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::<Self>::real(
            "fraction",
            Range::closed(0.0, 0.2),
            "",
            "a command whose speed toward a point is at most this share of the robot surface's speed there (and \
             at most approach_tolerance.speed) does not approach it: turning, sliding past and moving away go on \
             next to a person seen whole",
            |t| t.fraction,
        )
        .at_run_time(RunTime::Lower),
        FieldSpec::<Self>::real(
            "speed",
            Range::closed(0.0, 0.05),
            "m/s",
            "a command whose speed toward a point is at most this (and at most approach_tolerance.fraction of the \
             surface speed) does not approach it",
            |t| t.speed,
        )
        .at_run_time(RunTime::Lower),
    ];
}

impl ApproachTolerance {
    /// Checks every value against [`Section::FIELDS`]; names are relative.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
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

impl PointRelation {
    /// True when the command brings the robot closer to the point beyond `tolerance` (a NaN counts as closer).
    pub fn approaches(&self, tolerance: &ApproachTolerance) -> bool {
        let allowed = (tolerance.fraction * self.surface_speed).min(tolerance.speed);
        self.approach_speed > allowed || self.approach_speed.is_nan()
    }
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

    /// True when `twist` changes the space the robot occupies (false for standing still and for a disc turning
    /// on the spot: no point of the world gets closer to it, seen or not).
    pub fn sweeps(&self, twist: &Twist) -> bool {
        let linear = twist.linear.x.hypot(twist.linear.y);
        match self {
            RobotShape::Radius { .. } => linear > 1e-9 || linear.is_nan(),
            _ => {
                let v = self.max_point_speed(twist);
                v > 1e-9 || v.is_nan()
            }
        }
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

    /// Allowed radius of a disc robot and around each control point \[m\].
    pub const RADIUS: Range = Range::closed(0.0, 10.0);

    /// Checks the shape's numbers: `Err(reason)` names what is wrong.
    pub fn check(&self) -> Result<(), &'static str> {
        let finite = |pts: &[[f64; 2]]| pts.iter().flatten().all(|v| v.is_finite());
        match self {
            RobotShape::Radius { radius } if RobotShape::RADIUS.contains(*radius) => Ok(()),
            RobotShape::Radius { .. } => Err("radius must be in [0, 10] m"),
            RobotShape::Polygon { points } if points.len() >= 3 && finite(points) => Ok(()),
            RobotShape::Polygon { .. } => Err("polygon needs >= 3 finite vertices [m]"),
            RobotShape::ControlPoints { points, radius }
                if !points.is_empty() && finite(points) && RobotShape::RADIUS.contains(*radius) =>
            {
                Ok(())
            }
            RobotShape::ControlPoints { .. } => Err("control points need >= 1 finite point and a radius in [0, 10] m"),
        }
    }
}

/// An optional upper part of the robot above its base: a vertical cylinder of `radius` around `[x, y]` from the
/// floor up to `top` (a mast, a manipulator's reach envelope, a load) \[m\]. `radius` 0: none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpperVolume {
    /// Cylinder radius \[m\] (0: no upper volume).
    pub radius: f64,
    /// Cylinder axis in the command frame \[m\].
    pub x: f64,
    /// Cylinder axis in the command frame \[m\].
    pub y: f64,
    /// Top of the cylinder above the command frame's z = 0 \[m\].
    pub top: f64,
}

impl Default for UpperVolume {
    fn default() -> Self {
        UpperVolume { radius: 0.0, x: 0.0, y: 0.0, top: 0.0 }
    }
}

impl Section for UpperVolume {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::<Self>::real(
            "radius",
            Range::closed(0.0, 10.0),
            "m",
            "optional upper part above the base (mast, arm envelope, load): vertical cylinder radius, 0 = none",
            |u| u.radius,
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::real(
            "x",
            Range::closed(-10.0, 10.0),
            "m",
            "axis of the upper cylinder in the command frame, x",
            |u| u.x,
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::real(
            "y",
            Range::closed(-10.0, 10.0),
            "m",
            "axis of the upper cylinder in the command frame, y",
            |u| u.y,
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::real(
            "top",
            Range::closed(0.0, 10.0),
            "m",
            "top of the upper cylinder above z = 0 of the command frame",
            |u| u.top,
        )
        .at_run_time(RunTime::Fixed),
    ];
}

impl UpperVolume {
    /// Checks every value against [`Section::FIELDS`]; names are relative (`radius`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
    }
}

/// The robot's body in 3-D: its footprint extruded from below up to `height`, plus an optional
/// [`UpperVolume`]. Human keypoints are 3-D points in the command frame (z up); each one's distance is to this
/// volume, so a head above the base or a hand held over it is as far away as it really is.
#[derive(Clone, Debug, PartialEq)]
pub struct RobotBody {
    pub footprint: RobotShape,
    /// Top of the base above the command frame's z = 0 \[m\] (≥ any person's height: the planar footprint).
    pub height: f64,
    pub upper: UpperVolume,
}

/// The nearest surface point of a [`RobotBody`] to a point: its horizontal position (where the robot's velocity
/// is taken), the signed distance, and the unit direction from it to the point (`None` when on the surface).
#[derive(Copy, Clone, Debug)]
struct Nearest {
    at: Point2<f64>,
    distance: f64,
    direction: Option<Vector3<f64>>,
}

impl RobotBody {
    /// A planar body: the footprint at every height.
    pub fn planar(footprint: RobotShape) -> Self {
        RobotBody { footprint, height: f64::INFINITY, upper: UpperVolume::default() }
    }

    /// One part: a prism over a horizontal nearest point `q` at horizontal signed distance `dh`, top `top`.
    fn part(p: &Point3<f64>, q: Point2<f64>, dh: f64, top: f64) -> Nearest {
        let dz = (p.z - top).max(0.0);
        if dz <= 0.0 {
            // Beside the part (or inside it): the planar geometry; inside, the direction toward the point's side.
            let toward = if dh > 1e-9 { p.xy() - q } else { q - p.xy() };
            let direction = toward.try_normalize(1e-9).map(|n| Vector3::new(n.x, n.y, 0.0));
            return Nearest { at: q, distance: dh, direction };
        }
        if dh <= 0.0 {
            // Above the part: the nearest point lies straight below; horizontal motion does not change it.
            return Nearest { at: p.xy(), distance: dz, direction: Some(Vector3::z()) };
        }
        let v = Vector3::new(p.x - q.x, p.y - q.y, dz);
        let distance = v.norm();
        Nearest { at: q, distance, direction: Some(v / distance) }
    }

    fn nearest(&self, p: &Point3<f64>) -> Nearest {
        let (q, dh) = self.footprint.closest(&p.xy());
        let base = Self::part(p, q, dh, self.height);
        let u = &self.upper;
        if u.radius <= 0.0 {
            return base;
        }
        let c = Point2::new(u.x, u.y);
        let v = p.xy() - c;
        let dir = v.try_normalize(1e-12).unwrap_or(Vector2::x());
        let upper = Self::part(p, c + dir * u.radius, v.norm() - u.radius, u.top);
        if upper.distance < base.distance {
            upper
        } else {
            base
        }
    }

    /// Unit direction from the robot's nearest surface point to `p` (inside: toward `p`'s side), `None` on
    /// the surface.
    pub fn direction_to(&self, p: &Point3<f64>) -> Option<Vector3<f64>> {
        let n = self.nearest(p);
        if n.distance > 1e-9 {
            n.direction
        } else {
            None
        }
    }

    /// Largest horizontal distance of any point of the robot from the frame origin \[m\].
    pub fn extent(&self) -> f64 {
        let footprint = match &self.footprint {
            RobotShape::Radius { radius } => *radius,
            RobotShape::Polygon { points } => points.iter().map(|p| p[0].hypot(p[1])).fold(0.0, f64::max),
            RobotShape::ControlPoints { points, radius } => {
                points.iter().map(|p| p[0].hypot(p[1]) + radius).fold(0.0, f64::max)
            }
        };
        let u = &self.upper;
        let upper = if u.radius > 0.0 { u.x.hypot(u.y) + u.radius } else { 0.0 };
        footprint.max(upper)
    }

    /// Signed distance from the robot's surface to `p` \[m\] (≤ 0 inside).
    pub fn distance(&self, p: &Point3<f64>) -> f64 {
        self.nearest(p).distance
    }

    /// Distance to `p` and the robot's speed toward it under `twist` (planar motion: vx, vy, ωz), as
    /// [`RobotShape::relation`] in 3-D: the nearest surface point's velocity along the direction to `p`.
    pub fn relation(&self, twist: &Twist, p: &Point3<f64>) -> PointRelation {
        let n = self.nearest(p);
        let w = twist.angular.z;
        let vq = Vector2::new(twist.linear.x - w * n.at.y, twist.linear.y + w * n.at.x);
        let approach_speed = n.direction.map_or(vq.norm(), |d| vq.x * d.x + vq.y * d.y);
        PointRelation { distance: n.distance, approach_speed, surface_speed: vq.norm() }
    }

    /// Highest speed of any point of the robot under `twist` [m/s].
    pub fn max_point_speed(&self, twist: &Twist) -> f64 {
        let base = self.footprint.max_point_speed(twist);
        let u = &self.upper;
        if u.radius <= 0.0 {
            return base;
        }
        let w = twist.angular.z;
        let at = Vector2::new(twist.linear.x - w * u.y, twist.linear.y + w * u.x).norm() + w.abs() * u.radius;
        base.max(at)
    }

    /// True when `twist` changes the space the robot occupies (see [`RobotShape::sweeps`]).
    pub fn sweeps(&self, twist: &Twist) -> bool {
        let u = &self.upper;
        let upper = u.radius > 0.0
            && (twist.linear.x.hypot(twist.linear.y) > 1e-9
                || (twist.angular.z.abs() > 1e-12 && u.x.hypot(u.y) > 1e-9));
        self.footprint.sweeps(twist) || upper
    }

    /// Checks the numbers: `Err(reason)` names what is wrong.
    pub fn check(&self) -> Result<(), &'static str> {
        self.footprint.check()?;
        if self.height.is_nan() || self.height < 0.0 {
            return Err("robot_height must be >= 0 m");
        }
        self.upper.validate().map_err(|_| "robot_upper: radius and top in [0, 10] m, axis x and y in [-10, 10] m")
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
    fn approaching_is_judged_with_a_tolerance_relative_and_absolute() {
        let tol = ApproachTolerance::default();
        let s = RobotShape::Radius { radius: 0.3 };
        let beside = Point2::new(0.0, 0.6);
        // Turning on the spot and sliding past (the person abeam) do not approach; moving away does not.
        assert!(!s.relation(&Twist::planar(0.0, 0.0, 1.5), &beside).approaches(&tol));
        assert!(!s.relation(&Twist::planar(0.8, 0.0, 0.0), &beside).approaches(&tol));
        assert!(!s.relation(&Twist::planar(0.0, -0.5, 0.0), &beside).approaches(&tol));
        // Sliding past at a slight inward angle: 0.5 m/s at 2° is 0.017 m/s toward the point (3.5 %): tolerated;
        // at 4° it is 0.035 m/s (7 %): approaching.
        let at = |deg: f64| {
            let a = deg.to_radians();
            s.relation(&Twist::planar(0.5 * a.cos(), 0.5 * a.sin(), 0.0), &beside)
        };
        assert!(!at(2.0).approaches(&tol));
        assert!(at(4.0).approaches(&tol));
        // Fast sliding: the absolute bound holds (1.5 m/s at 1.5° is 0.039 m/s, 2.6 %, above 0.02 m/s).
        let fast = s.relation(&Twist::planar(1.5 * 1.5f64.to_radians().sin(), -1.5, 0.0), &Point2::new(0.6, 0.0));
        assert!(fast.approaches(&tol), "{fast:?}");
        // A creep straight at someone approaches with its whole speed: never tolerated, however slow.
        assert!(s.relation(&Twist::planar(0.0, 0.005, 0.0), &beside).approaches(&tol));
        // A NaN counts as approaching.
        let nan = PointRelation { distance: 0.1, approach_speed: f64::NAN, surface_speed: 0.1 };
        assert!(nan.approaches(&tol));
    }

    #[test]
    fn body_distances_in_3d_hand_computed() {
        let body =
            RobotBody { footprint: RobotShape::Radius { radius: 0.3 }, height: 0.5, upper: UpperVolume::default() };
        // Beside the base, below its top: the planar distance.
        assert_relative_eq!(body.distance(&Point3::new(1.0, 0.0, 0.3)), 0.7);
        // A head 1.6 m up, 0.3 m beyond the rim: sqrt(0.3² + 1.1²).
        assert_relative_eq!(body.distance(&Point3::new(0.6, 0.0, 1.6)), (0.09f64 + 1.21).sqrt());
        // A hand held over the base: straight down to its top.
        assert_relative_eq!(body.distance(&Point3::new(0.1, 0.1, 0.8)), 0.3);
        // Driving at the head: only the horizontal share of the direction closes the distance.
        let r = body.relation(&Twist::planar(1.0, 0.0, 0.0), &Point3::new(0.6, 0.0, 1.6));
        assert_relative_eq!(r.approach_speed, 0.3 / (0.09f64 + 1.21).sqrt(), epsilon = 1e-12);
        // Driving under a hand held over the base does not bring it closer.
        let r = body.relation(&Twist::planar(1.0, 0.0, 0.0), &Point3::new(0.1, 0.0, 0.8));
        assert_relative_eq!(r.approach_speed, 0.0);
        // A mast of radius 0.1 m at x = 0.1 up to 1.8 m: the head beside it is 0.4 m from it.
        let mast = RobotBody { upper: UpperVolume { radius: 0.1, x: 0.1, y: 0.0, top: 1.8 }, ..body.clone() };
        assert_relative_eq!(mast.distance(&Point3::new(0.6, 0.0, 1.6)), 0.4);
        // Turning on the spot sweeps with an off-centre mast, not with the round base alone.
        assert!(!body.sweeps(&Twist::planar(0.0, 0.0, 1.0)));
        assert!(mast.sweeps(&Twist::planar(0.0, 0.0, 1.0)));
        assert_relative_eq!(mast.max_point_speed(&Twist::planar(0.0, 0.0, 1.0)), 0.3);
        // Planar: as tall as anyone.
        assert_relative_eq!(RobotBody::planar(RobotShape::default()).distance(&Point3::new(0.6, 0.0, 1.6)), 0.3);
        assert!(RobotBody { height: f64::NAN, ..body }.check().is_err());
    }

    #[test]
    fn control_points_take_the_nearest() {
        let s = RobotShape::ControlPoints { points: vec![[0.0, 0.0], [1.0, 0.0]], radius: 0.1 };
        assert_relative_eq!(s.closest(&Point2::new(2.0, 0.0)).1, 0.9);
        assert!(RobotShape::ControlPoints { points: vec![], radius: 0.1 }.check().is_err());
        assert!(RobotShape::Radius { radius: f64::NAN }.check().is_err());
    }
}
