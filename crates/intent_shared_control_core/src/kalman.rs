//! A constant-velocity Kalman filter per ground-plane axis: the textbook tracker a forecast has to beat, the
//! constant-velocity predictor's estimate ([`crate::model::constant_velocity`]) and the evaluations' baseline.
//!
//! State `[p, v]`, transition `p += v·dt`, white-acceleration process noise of spectral density `q`
//! (`Q = q·[[dt³/3, dt²/2], [dt²/2, dt]]`), position measurements of standard deviation `r`. The first
//! measurement sets the position; the velocity starts at 0 with a standard deviation of
//! [`INITIAL_SPEED_STD`].

use nalgebra::{Matrix2, Vector2};

/// Prior standard deviation of the velocity before the second measurement \[m/s\].
pub const INITIAL_SPEED_STD: f64 = 2.0;

/// Filtered position and velocity after the last of `measurements` (time \[s\], position \[m\]), or `None`
/// for no measurements. Times must not decrease.
pub fn filter(measurements: &[(f64, Vector2<f64>)], q: f64, r: f64) -> Option<(Vector2<f64>, Vector2<f64>)> {
    let &(t0, p0) = measurements.first()?;
    // One state [p, v] per axis; both axes share the covariance (same model, same noise, same times).
    let mut x = [Vector2::new(p0.x, 0.0), Vector2::new(p0.y, 0.0)];
    let mut cov = Matrix2::new(r * r, 0.0, 0.0, INITIAL_SPEED_STD * INITIAL_SPEED_STD);
    let mut t = t0;
    for &(tm, z) in &measurements[1..] {
        let dt = tm - t;
        t = tm;
        let f = Matrix2::new(1.0, dt, 0.0, 1.0);
        let q_dt = Matrix2::new(dt.powi(3) / 3.0, dt.powi(2) / 2.0, dt.powi(2) / 2.0, dt) * q;
        cov = f * cov * f.transpose() + q_dt;
        let s = cov[(0, 0)] + r * r;
        let gain = Vector2::new(cov[(0, 0)], cov[(1, 0)]) / s;
        for (axis, zi) in x.iter_mut().zip([z.x, z.y]) {
            let predicted = f * *axis;
            *axis = predicted + gain * (zi - predicted[0]);
        }
        cov = (Matrix2::identity() - Matrix2::new(gain[0], 0.0, gain[1], 0.0)) * cov;
    }
    Some((Vector2::new(x[0][0], x[1][0]), Vector2::new(x[0][1], x[1][1])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_walk_is_tracked_to_its_speed() {
        let v = Vector2::new(1.2, -0.5);
        let m: Vec<(f64, Vector2<f64>)> =
            (0..12).map(|i| (0.4 * f64::from(i), Vector2::new(3.0, 1.0) + v * 0.4 * f64::from(i))).collect();
        let (p, vel) = filter(&m, 0.5, 0.05).unwrap();
        assert!((p - m[11].1).norm() < 1e-3, "{p}");
        assert!((vel - v).norm() < 1e-2, "{vel}");
    }

    #[test]
    fn one_measurement_is_a_standing_person_and_none_is_nothing() {
        let (p, v) = filter(&[(2.0, Vector2::new(1.0, 2.0))], 1.0, 0.05).unwrap();
        assert_eq!((p, v), (Vector2::new(1.0, 2.0), Vector2::zeros()));
        assert!(filter(&[], 1.0, 0.05).is_none());
    }

    #[test]
    fn a_larger_process_noise_follows_a_turn_sooner() {
        // Walk along x for 4 s, then along y for 0.8 s, measured with 0.3 m noise: the nimbler filter's velocity
        // points more along y, the steadier one still mostly along x.
        let mut m: Vec<(f64, Vector2<f64>)> =
            (0..=10).map(|i| (0.4 * f64::from(i), Vector2::new(0.4 * f64::from(i), 0.0))).collect();
        m.push((4.4, Vector2::new(4.0, 0.4)));
        m.push((4.8, Vector2::new(4.0, 0.8)));
        let (_, slow) = filter(&m, 0.1, 0.3).unwrap();
        let (_, quick) = filter(&m, 10.0, 0.3).unwrap();
        assert!(quick.y > slow.y && quick.x < slow.x && slow.x > slow.y, "slow {slow}, quick {quick}");
    }
}
