//! The simple forecasts a learned one has to beat, on what a tracker observed of one point of one person:
//! standing still, a least-squares constant velocity over the last 0.2 / 0.4 / 0.8 s, and a constant-velocity
//! Kalman filter ([`crate::real_eval::kalman`]) with three process noises. The same families as the real-data
//! evaluation ([`crate::real_eval::METHODS`]), here in 3-D (the filter runs on the ground plane and, as a second
//! filter of the same kind, on the height).
//!
//! Which of them is "the best baseline" is chosen on a validation set and then held fixed on the test set
//! ([`BaselineErrors::best`]), so the comparison does not favour the baseline with hindsight.

use nalgebra::{Point3, SVector, Vector2, Vector3};

use crate::metrics::DisplacementStats;
use crate::real_eval::{kalman, CV_WINDOWS_S, KF_Q, KF_R};

/// The baselines, in the order of [`forecasts`]'s output.
pub const BASELINES: [&str; 7] =
    ["still", "cv_ls_0.2s", "cv_ls_0.4s", "cv_ls_0.8s", "kalman_q0.25", "kalman_q1", "kalman_q4"];

/// Observations older than this are dropped from a [`History`] \[s\] (the Kalman filters see this much).
pub const HISTORY_S: f64 = 2.0;

/// Least-squares line through `(time, value)` samples, evaluated at `t`: `(value at t, slope per second)`.
/// One sample, or samples all at one time: that sample and a zero slope. `None` for no samples.
pub fn ls_line<const D: usize>(
    samples: &[(f64, SVector<f64, D>)],
    t: f64,
) -> Option<(SVector<f64, D>, SVector<f64, D>)> {
    let (last_t, last) = *samples.last()?;
    if samples.len() < 2 || samples.iter().all(|(s, _)| (s - last_t).abs() < 1e-9) {
        return Some((last, SVector::zeros()));
    }
    let n = samples.len() as f64;
    let mean_t = samples.iter().map(|(s, _)| s).sum::<f64>() / n;
    let mean_p = samples.iter().map(|(_, q)| q).sum::<SVector<f64, D>>() / n;
    let (mut num, mut den) = (SVector::zeros(), 0.0);
    for (s, q) in samples {
        num += (q - mean_p) * (s - mean_t);
        den += (s - mean_t).powi(2);
    }
    let slope = num / den;
    Some((mean_p + slope * (t - mean_t), slope))
}

/// Every baseline's forecast ([`BASELINES`] order) at `t + τ` for each `τ` of `lead_s`, from the observations
/// `(time, position)` of one point up to `t` (ascending times). `None` without observations.
/// Observations older than [`HISTORY_S`] before `t` are not used.
pub fn forecasts(history: &[(f64, Point3<f64>)], t: f64, lead_s: &[f64]) -> Option<Vec<Vec<Point3<f64>>>> {
    let first = history.iter().position(|(s, _)| *s >= t - HISTORY_S - 1e-9)?;
    let history = &history[first..];
    let &(_, last) = history.last()?;
    let line = |at: Vector3<f64>, v: Vector3<f64>| -> Vec<Point3<f64>> {
        lead_s.iter().map(|tau| Point3::from(at + v * *tau)).collect()
    };
    let mut out = vec![vec![last; lead_s.len()]];
    let samples: Vec<(f64, Vector3<f64>)> = history.iter().map(|(s, p)| (*s, p.coords)).collect();
    for w in CV_WINDOWS_S {
        let recent: Vec<_> = samples.iter().copied().filter(|(s, _)| *s >= t - w - 1e-9).collect();
        let (at, v) = ls_line(&recent, t).unwrap_or((last.coords, Vector3::zeros()));
        out.push(line(at, v));
    }
    let plane: Vec<(f64, Vector2<f64>)> = history.iter().map(|(s, p)| (*s, p.xy().coords)).collect();
    let height: Vec<(f64, Vector2<f64>)> = history.iter().map(|(s, p)| (*s, Vector2::new(p.z, 0.0))).collect();
    // The filters' state is at the last observation's time: carried to `t` first.
    let dt = t - history[history.len() - 1].0;
    for q in KF_Q {
        let (pp, pv) = kalman::filter(&plane, q, KF_R)?;
        let (hp, hv) = kalman::filter(&height, q, KF_R)?;
        out.push(line(
            Vector3::new(pp.x, pp.y, hp.x) + Vector3::new(pv.x, pv.y, hv.x) * dt,
            Vector3::new(pv.x, pv.y, hv.x),
        ));
    }
    Some(out)
}

/// Observations of one point of one person over the last [`HISTORY_S`].
#[derive(Clone, Debug, Default)]
pub struct History {
    samples: Vec<(f64, Point3<f64>)>,
}

impl History {
    /// Adds an observation at `t` (later than the previous ones) and forgets those older than [`HISTORY_S`].
    pub fn push(&mut self, t: f64, p: Point3<f64>) {
        self.samples.push((t, p));
        let keep_from = self.samples.iter().position(|(s, _)| *s >= t - HISTORY_S).unwrap_or(0);
        self.samples.drain(..keep_from);
    }

    pub fn samples(&self) -> &[(f64, Point3<f64>)] {
        &self.samples
    }
}

/// ADE / FDE of a forecast against the truth at the same times, in the ground plane and in 3-D; `None` when
/// the lengths differ, are zero or a distance is not finite.
pub fn plane_and_space_errors(forecast: &[Point3<f64>], truth: &[Point3<f64>]) -> Option<[(f64, f64); 2]> {
    if forecast.is_empty() || forecast.len() != truth.len() {
        return None;
    }
    let ade_fde = |d: Vec<f64>| -> Option<(f64, f64)> {
        d.iter().all(|x| x.is_finite()).then(|| (d.iter().sum::<f64>() / d.len() as f64, d[d.len() - 1]))
    };
    let plane = ade_fde(forecast.iter().zip(truth).map(|(a, b)| (a.xy() - b.xy()).norm()).collect())?;
    let space = ade_fde(forecast.iter().zip(truth).map(|(a, b)| (a - b).norm()).collect())?;
    Some([plane, space])
}

/// Errors of every baseline on one kind of point: `[plane, 3-D]` per [`BASELINES`] entry.
#[derive(Clone, Debug)]
pub struct BaselineErrors {
    pub stats: Vec<[DisplacementStats; 2]>,
}

impl Default for BaselineErrors {
    fn default() -> Self {
        BaselineErrors { stats: vec![[DisplacementStats::default(), DisplacementStats::default()]; BASELINES.len()] }
    }
}

impl BaselineErrors {
    /// Adds each baseline's forecast (as [`forecasts`] gives them) against `truth`.
    pub fn add(&mut self, forecasts: &[Vec<Point3<f64>>], truth: &[Point3<f64>]) {
        for (stats, f) in self.stats.iter_mut().zip(forecasts) {
            if let Some(e) = plane_and_space_errors(f, truth) {
                stats[0].add(e[0].0, e[0].1);
                stats[1].add(e[1].0, e[1].1);
            }
        }
    }

    /// The baseline with the lowest ground-plane ADE (index into [`BASELINES`]); `None` when nothing was added.
    pub fn best(&self) -> Option<usize> {
        self.stats
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s[0].ade().map(|a| (i, a)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn walk(v: Vector3<f64>, from: f64, to: f64) -> Vec<(f64, Point3<f64>)> {
        let n = ((to - from) * 30.0).round() as usize;
        (0..=n).map(|i| from + i as f64 / 30.0).map(|t| (t, Point3::new(1.0, 2.0, 0.9) + v * t)).collect()
    }

    #[test]
    fn a_steady_walk_is_extrapolated_exactly_by_every_constant_velocity_fit() {
        let v = Vector3::new(1.2, -0.4, 0.05);
        let history = walk(v, 0.0, 1.5);
        let lead = [0.5, 1.0];
        let f = forecasts(&history, 1.5, &lead).unwrap();
        assert_eq!(f.len(), BASELINES.len());
        let truth: Vec<Point3<f64>> = lead.iter().map(|tau| Point3::new(1.0, 2.0, 0.9) + v * (1.5 + tau)).collect();
        // Still: the last observation.
        assert_relative_eq!(f[0][1], history.last().unwrap().1);
        for (name, fc) in BASELINES.iter().zip(&f).skip(1).take(3) {
            for (a, b) in fc.iter().zip(&truth) {
                assert!((a - b).norm() < 1e-9, "{name}: {a} vs {b}");
            }
        }
        // The Kalman filters start at zero velocity: after 1.5 s of 30 Hz they are within a few centimetres.
        for (name, fc) in BASELINES.iter().zip(&f).skip(4) {
            assert!((fc[1] - truth[1]).norm() < 0.05, "{name}: {} vs {}", fc[1], truth[1]);
        }
    }

    #[test]
    fn the_fit_window_decides_what_a_turn_does_to_the_forecast() {
        // Along x for 1 s, then along y for 0.2 s: the 0.2 s fit follows y, the 0.8 s fit still mostly x.
        let mut history = walk(Vector3::new(1.0, 0.0, 0.0), 0.0, 1.0);
        let corner = history.last().unwrap().1;
        history.extend((1..=6).map(|i| {
            let s = i as f64 / 30.0;
            (1.0 + s, corner + Vector3::new(0.0, 1.0, 0.0) * s)
        }));
        let f = forecasts(&history, 1.2, &[1.0]).unwrap();
        let step = |k: usize| f[k][0] - history.last().unwrap().1;
        assert!(step(1).y > 0.9 && step(1).x.abs() < 0.1, "0.2 s: {}", step(1));
        assert!(step(3).x > step(3).y, "0.8 s: {}", step(3));
    }

    #[test]
    fn errors_split_the_ground_plane_from_the_height_and_the_best_is_the_lowest_plane_ade() {
        let truth = [Point3::new(1.0, 0.0, 1.0), Point3::new(2.0, 0.0, 1.0)];
        let forecast = [Point3::new(1.0, 0.0, 1.3), Point3::new(2.0, 0.4, 1.3)];
        let [plane, space] = plane_and_space_errors(&forecast, &truth).unwrap();
        assert_relative_eq!(plane.0, 0.2);
        assert_relative_eq!(plane.1, 0.4);
        assert_relative_eq!(space.0, (0.3 + 0.5) / 2.0);
        assert_relative_eq!(space.1, 0.5);
        assert!(plane_and_space_errors(&forecast[..1], &truth).is_none());

        let mut e = BaselineErrors::default();
        assert_eq!(e.best(), None);
        let mut fs = vec![forecast.to_vec(); BASELINES.len()];
        fs[2] = truth.to_vec();
        e.add(&fs, &truth);
        assert_eq!(e.best(), Some(2));
    }

    #[test]
    fn a_history_keeps_the_last_two_seconds() {
        let mut h = History::default();
        for i in 0..=90 {
            h.push(i as f64 / 30.0, Point3::origin());
        }
        assert_relative_eq!(h.samples().first().unwrap().0, 1.0, epsilon = 1e-9);
        assert_eq!(h.samples().len(), 61);
    }
}
