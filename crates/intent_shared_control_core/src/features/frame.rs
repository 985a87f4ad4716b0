//! Robot frame ⇄ model frame of one window: where a row came from and how its outputs map back.

use nalgebra::{Point3, Vector3};

use super::{rotate_by_minus, rotate_by_minus_sc};
use crate::model::{FUTURE_LEN, HORIZON_STEPS, NUM_PREDICTED_POINTS};
use crate::skeleton::HumanId;
use crate::time::Stamp;

/// Where a window's row came from, and how to map its outputs back to the robot frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowMeta {
    /// Tracker id of the human.
    pub human_id: HumanId,
    /// Stamp of the newest frame of the window (the source stamp of the prediction).
    pub stamp: Stamp,
    /// Reference point `c`: the torso point of the newest frame, robot frame \[m\].
    pub reference: Point3<f64>,
    /// Bearing `θ = atan2(c.y, c.x)` of the human from the robot \[rad\].
    pub bearing_rad: f64,
    /// Fraction of (frame, keypoint) pairs of the window that were present (not filled), in [0, 1].
    pub visible_fraction: f32,
}

impl RowMeta {
    /// Robot-frame point → model frame, `R·(p − c)` \[m\].
    pub fn to_model_frame(&self, p: &Point3<f64>) -> Vector3<f64> {
        rotate_by_minus(self.bearing_rad, &(p - self.reference))
    }

    /// Model-frame vector → robot-frame point, `c + Rᵀ·y` \[m\] (inverse of [`RowMeta::to_model_frame`]).
    pub fn to_robot_frame(&self, y: &Vector3<f64>) -> Point3<f64> {
        self.reference + rotate_by_minus(-self.bearing_rad, y)
    }

    /// Maps one row of `future_positions` (`[10, 3, 3]` row-major, [`FUTURE_LEN`] values, as
    /// [`RowPrediction::future`](crate::model::RowPrediction::future) holds it) to robot-frame points, one
    /// `[torso, left wrist, right wrist]` per step. `None` when the slice has the wrong length or holds a
    /// non-finite value.
    pub fn future_to_robot_frame(&self, future: &[f32]) -> Option<Vec<[Point3<f64>; NUM_PREDICTED_POINTS]>> {
        if future.len() != FUTURE_LEN || future.iter().any(|v| !v.is_finite()) {
            return None;
        }
        // The rotation back by the bearing, once for the row (the same numbers as `to_robot_frame` per point).
        let sc = (-self.bearing_rad).sin_cos();
        let point = |xyz: &[f32]| {
            let y = Vector3::new(f64::from(xyz[0]), f64::from(xyz[1]), f64::from(xyz[2]));
            self.reference + rotate_by_minus_sc(sc, &y)
        };
        let mut out = Vec::with_capacity(HORIZON_STEPS);
        for step in future.chunks_exact(NUM_PREDICTED_POINTS * 3) {
            let mut points = [Point3::origin(); NUM_PREDICTED_POINTS];
            for (p, xyz) in points.iter_mut().zip(step.chunks_exact(3)) {
                *p = point(xyz);
            }
            out.push(points);
        }
        Some(out)
    }
}
