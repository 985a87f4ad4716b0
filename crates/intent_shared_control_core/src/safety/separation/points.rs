//! The points of one person the monitor checks ([`HumanPoints`]): observed keypoints, hidden hands' reach, arm
//! anchors.

use nalgebra::{Point2, Point3};

use super::ObservedMotion;
use crate::safety::geometry::RobotBody;
use crate::skeleton::HumanId;

/// What bounds how far an arm point already reaches out: `(anchor, slack)`, see [`HumanPoints::shoulders`].
pub type ArmAnchor = (Point3<f64>, f64);

/// Largest horizontal distance of a shoulder from the hip midpoint \[m\]: half a broad shoulder width plus a lean.
pub const SHOULDER_FROM_TORSO: f64 = 0.3;

/// Observed keypoints of one human in the robot frame (z up) \[m\].
#[derive(Clone, Debug, PartialEq)]
pub struct HumanPoints {
    pub id: HumanId,
    pub points: Vec<Point3<f64>>,
    /// Extra uncertainty of these points \[m\], subtracted from every distance: 0 for a human in the current
    /// frame, `occlusion_speed · age` for one remembered after it left the view.
    pub inflation: f64,
    /// The observed positions of the keypoints a prediction forecasts, in its order (torso = hip midpoint, left
    /// wrist, right wrist), when observed: the predicted closing speed compares each with its own forecast.
    pub tracked: [Option<Point2<f64>>; 3],
    /// Where a hidden hand may be: `(anchor, reach)`, the hand anywhere within `reach` \[m\] of the visible
    /// `anchor` (elbow or shoulder of an arm whose wrist is not seen).
    pub reach: Vec<(Point3<f64>, f64)>,
    /// Per point of `points`: for arm points (elbows, wrists), what bounds how far the arm already reaches out:
    /// `Some(Some((anchor, slack)))`, the point is at least `|p − anchor| − slack` from its shoulder (the shoulder
    /// itself with slack 0, or the torso with [`SHOULDER_FROM_TORSO`] when the shoulder is not seen);
    /// `Some(None)`: nothing known, the whole arm may reach out; `None`: a body point.
    pub shoulders: Vec<Option<Option<ArmAnchor>>>,
    /// The person's motion from their track, when well observed.
    pub motion: Option<ObservedMotion>,
    /// Every body part is seen or bounded: each keypoint observed, a hidden wrist within `reach`, the face by any
    /// one face point, a keypoint seen moments ago within `reach` of where it was. `false` (the default) for
    /// anything less, and for a person remembered after leaving the view.
    pub whole: bool,
    /// COCO index of each of `points`, when known (from a skeleton).
    pub indices: Vec<usize>,
    /// COCO indices neither seen nor bounded; `whole` is true when none are left.
    pub unbounded: Vec<usize>,
}

impl HumanPoints {
    /// Points of a human in the current frame.
    pub fn current(id: HumanId, points: Vec<Point3<f64>>) -> Self {
        let shoulders = vec![None; points.len()];
        HumanPoints {
            id,
            points,
            inflation: 0.0,
            tracked: [None; 3],
            reach: Vec::new(),
            shoulders,
            motion: None,
            whole: false,
            indices: Vec::new(),
            unbounded: Vec::new(),
        }
    }

    /// Applies the horizontal rigid motion `f` to every point, heights kept (e.g. a change of frame).
    pub fn map_points(&mut self, f: impl Fn(Point2<f64>) -> Point2<f64>) {
        let f3 = |p: Point3<f64>| {
            let q = f(p.xy());
            Point3::new(q.x, q.y, p.z)
        };
        self.points.iter_mut().for_each(|p| *p = f3(*p));
        self.tracked.iter_mut().flatten().for_each(|p| *p = f(*p));
        self.reach.iter_mut().for_each(|(p, _)| *p = f3(*p));
        self.shoulders.iter_mut().flatten().flatten().for_each(|(p, _)| *p = f3(*p));
        if let Some(m) = &mut self.motion {
            // A velocity turns with the frame; `f` is rigid, so the difference of two mapped points does it.
            let v = f(Point2::new(m.velocity.x, m.velocity.y)) - f(Point2::origin());
            m.velocity = v;
        }
    }

    /// The torso (hip midpoint) when seen.
    pub fn torso(&self) -> Option<Point2<f64>> {
        self.tracked[0]
    }

    /// Smallest surface distance of these points (and of the reach of hidden hands) to `shape`, inflation
    /// subtracted \[m\].
    pub fn distance(&self, body: &RobotBody) -> f64 {
        let points = self.points.iter().map(|p| body.distance(p));
        let reach = self.reach.iter().map(|(a, r)| body.distance(a) - r);
        points.chain(reach).fold(f64::INFINITY, f64::min) - self.inflation
    }
}
