//! Constant-velocity predictor: the degraded-mode fallback and the simulator's and bag replay's constant-velocity
//! rows.
//!
//! For each predicted point (torso, left wrist, right wrist) it estimates the point's position and velocity at the
//! newest frame of the window and extrapolates them: `y(s) = y_now + v · s · horizon_step_s` for steps
//! `s = 1 … HORIZON_STEPS`. Positions are in the contract's output frame: relative to the newest torso point,
//! bearing-aligned. The estimate ([`VelocityFit`]) is by default a constant-velocity Kalman filter over the whole
//! window ([`crate::kalman`], ground plane and height apart), with the process and measurement noise the
//! evaluations choose on validation data (`DEFAULT_KALMAN_Q`, `DEFAULT_KALMAN_R`): on the generator's people and
//! on real pedestrians it is the strongest of the simple baselines, for torso and wrists alike
//! (`reports/intent_evaluation.md`, `reports/real_data_model.md`). A least-squares line over the last frames
//! (the fallback's fit before) stays available.
//!
//! Its intent output carries no information: all logits 0, so the probabilities are uniform (1/5 each), the
//! intent is `idle` and the confidence is 1/5, the lowest possible, with [`PredictionSource::ConstantVelocity`].

use nalgebra::Vector2;
use serde::{Deserialize, Serialize};

use super::{
    check_batch, feature_layout, IntentModel, ModelError, ModelInfo, PredictionSource, RawOutput, FEATURES_PER_FRAME,
    FUTURE_LEN, HORIZON_STEPS, HORIZON_STEP_S, MODEL_RATE_HZ, NUM_INTENTS, WINDOW_FRAMES, WINDOW_LEN,
};
use crate::kalman;
use crate::skeleton::keypoint;

/// Process noise (white-acceleration spectral density) of the default filter \[m²/s³\]: the real-data and the
/// synthetic evaluations' choice on validation.
pub const DEFAULT_KALMAN_Q: f64 = 0.25;
/// Position noise of the default filter \[m\].
pub const DEFAULT_KALMAN_R: f64 = 0.1;

/// How position and velocity at the newest frame are estimated from the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum VelocityFit {
    /// A constant-velocity Kalman filter ([`crate::kalman::filter`]) over every frame of the window, with
    /// white-acceleration process noise `q` \[m²/s³\] and position noise `r` \[m\], both > 0.
    Kalman { q: f64, r: f64 },
    /// A least-squares line through the last `frames` frames, in [2, 30] (6 frames span 1/6 s at 30 Hz).
    LeastSquares { frames: usize },
}

/// Settings of the constant-velocity predictor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantVelocityConfig {
    /// The estimate of position and velocity.
    pub fit: VelocityFit,
    /// Frame rate of the window \[Hz\], > 0.
    pub rate_hz: f64,
    /// Time between predicted steps \[s\], > 0.
    pub horizon_step_s: f64,
}

impl Default for ConstantVelocityConfig {
    fn default() -> Self {
        Self {
            fit: VelocityFit::Kalman { q: DEFAULT_KALMAN_Q, r: DEFAULT_KALMAN_R },
            rate_hz: MODEL_RATE_HZ,
            horizon_step_s: HORIZON_STEP_S,
        }
    }
}

impl ConstantVelocityConfig {
    /// A least-squares line over the last `frames` frames, the rest as the default.
    pub fn least_squares(frames: usize) -> Self {
        Self { fit: VelocityFit::LeastSquares { frames }, ..Self::default() }
    }

    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |field: &str, reason: String| {
            ModelError::Card(super::CardError::Invalid { field: format!("constant_velocity.{field}"), reason })
        };
        match self.fit {
            VelocityFit::Kalman { q, r } => {
                for (name, v) in [("q", q), ("r", r)] {
                    if !(v.is_finite() && v > 0.0) {
                        return Err(bad(&format!("fit.kalman.{name}"), format!("{v} is not finite and > 0")));
                    }
                }
            }
            VelocityFit::LeastSquares { frames } => {
                if !(2..=WINDOW_FRAMES).contains(&frames) {
                    return Err(bad("fit.least_squares.frames", format!("{frames} is not in [2, {WINDOW_FRAMES}]")));
                }
            }
        }
        if !(self.rate_hz.is_finite() && self.rate_hz > 0.0) {
            return Err(bad("rate_hz", format!("{} is not finite and > 0", self.rate_hz)));
        }
        if !(self.horizon_step_s.is_finite() && self.horizon_step_s > 0.0) {
            return Err(bad("horizon_step_s", format!("{} is not finite and > 0", self.horizon_step_s)));
        }
        Ok(())
    }
}

/// Constant-velocity predictor implementing [`IntentModel`].
#[derive(Clone, Debug)]
pub struct ConstantVelocityModel {
    config: ConstantVelocityConfig,
    info: ModelInfo,
}

impl ConstantVelocityModel {
    /// A predictor with a validated configuration.
    pub fn new(config: ConstantVelocityConfig) -> Result<Self, ModelError> {
        config.validate()?;
        let info = ModelInfo {
            name: "constant_velocity".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            temperature: 1.0,
            provider: "none".into(),
            source: PredictionSource::ConstantVelocity,
        };
        Ok(Self { config, info })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ConstantVelocityConfig {
        &self.config
    }

    /// Fills `out` (`FUTURE_LEN` values) with the extrapolation of one window.
    fn extrapolate(&self, window: &[f32], out: &mut [f32]) {
        let frame = |t: usize| &window[t * FEATURES_PER_FRAME..(t + 1) * FEATURES_PER_FRAME];
        let newest = frame(WINDOW_FRAMES - 1);
        // Torso relative to the newest torso: R·torso(t) − R·c.
        let torso = |t: usize, d: usize| {
            f64::from(frame(t)[feature_layout::TORSO.start + d]) - f64::from(newest[feature_layout::TORSO.start + d])
        };
        let keypoint_at =
            |k: usize| move |t: usize, d: usize| f64::from(frame(t)[feature_layout::KEYPOINTS.start + 3 * k + d]);
        let left = keypoint_at(keypoint::LEFT_WRIST);
        let right = keypoint_at(keypoint::RIGHT_WRIST);
        let points: [&dyn Fn(usize, usize) -> f64; 3] = [&torso, &left, &right];
        let dt = 1.0 / self.config.rate_hz;
        for (p, point) in points.iter().enumerate() {
            let (now, v) = match self.config.fit {
                VelocityFit::Kalman { q, r } => kalman_fit(point, dt, q, r),
                VelocityFit::LeastSquares { frames } => least_squares_fit(point, dt, frames),
            };
            for s in 0..HORIZON_STEPS {
                let t = (s + 1) as f64 * self.config.horizon_step_s;
                for d in 0..3 {
                    out[(s * 3 + p) * 3 + d] = (now[d] + v[d] * t) as f32;
                }
            }
        }
    }
}

/// Position and velocity at the newest frame of `point(t, axis)` by the Kalman filter over the whole window:
/// the ground plane (x, y) and the height (z) filtered apart.
fn kalman_fit(point: &dyn Fn(usize, usize) -> f64, dt: f64, q: f64, r: f64) -> ([f64; 3], [f64; 3]) {
    let track = |axes: [usize; 2]| -> Vec<(f64, Vector2<f64>)> {
        (0..WINDOW_FRAMES).map(|t| (t as f64 * dt, Vector2::new(point(t, axes[0]), point(t, axes[1])))).collect()
    };
    let zero = (Vector2::zeros(), Vector2::zeros());
    let (plane, plane_v) = kalman::filter(&track([0, 1]), q, r).unwrap_or(zero);
    // The height as the first axis of a second filter (its second axis is the same track again).
    let (height, height_v) = kalman::filter(&track([2, 2]), q, r).unwrap_or(zero);
    ([plane.x, plane.y, height.x], [plane_v.x, plane_v.y, height_v.x])
}

/// Position and velocity at the newest frame of `point(t, axis)` by a least-squares line through the last
/// `frames` frames.
fn least_squares_fit(point: &dyn Fn(usize, usize) -> f64, dt: f64, frames: usize) -> ([f64; 3], [f64; 3]) {
    let first = WINDOW_FRAMES - frames;
    // Times τ_i = (i − (n − 1)) · dt, i = 0 … n−1 (τ = 0 at the newest frame).
    let taus: Vec<f64> = (0..frames).map(|i| (i as f64 - (frames - 1) as f64) * dt).collect();
    let tau_mean = taus.iter().sum::<f64>() / frames as f64;
    let s_tt: f64 = taus.iter().map(|t| (t - tau_mean).powi(2)).sum();
    let (mut now, mut v) = ([0.0; 3], [0.0; 3]);
    for d in 0..3 {
        let ys: Vec<f64> = (0..frames).map(|i| point(first + i, d)).collect();
        let y_mean = ys.iter().sum::<f64>() / frames as f64;
        let s_ty: f64 = taus.iter().zip(&ys).map(|(t, y)| (t - tau_mean) * (y - y_mean)).sum();
        v[d] = s_ty / s_tt;
        now[d] = y_mean - v[d] * tau_mean;
    }
    (now, v)
}

impl IntentModel for ConstantVelocityModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run_valid(&mut self, windows: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), ModelError> {
        check_batch(windows, batch)?;
        raw.clear();
        raw.logits.resize(batch * NUM_INTENTS, 0.0);
        raw.future.resize(batch * FUTURE_LEN, 0.0);
        for (window, out) in windows.chunks_exact(WINDOW_LEN).zip(raw.future.chunks_exact_mut(FUTURE_LEN)) {
            self.extrapolate(window, out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Intent, ModelInput};

    /// A window in which the torso moves at `v_torso` and the left wrist at `v_wrist` [m/s]
    /// (bearing-aligned frame); the right wrist stays still relative to the torso.
    fn moving_window(v_torso: [f64; 3], v_wrist: [f64; 3]) -> Vec<f32> {
        let mut w = vec![0.0_f32; WINDOW_LEN];
        let c = [2.0, 0.0, 0.9];
        for t in 0..WINDOW_FRAMES {
            let tau = (t as f64 - (WINDOW_FRAMES - 1) as f64) / MODEL_RATE_HZ;
            let f = &mut w[t * FEATURES_PER_FRAME..(t + 1) * FEATURES_PER_FRAME];
            for d in 0..3 {
                // Torso relative to the robot; keypoints relative to the newest torso.
                f[feature_layout::TORSO.start + d] = (c[d] + v_torso[d] * tau) as f32;
                f[3 * keypoint::LEFT_WRIST + d] = (0.3 + v_wrist[d] * tau) as f32;
                f[3 * keypoint::RIGHT_WRIST + d] = (-0.3 + v_torso[d] * tau) as f32;
            }
            for v in &mut f[feature_layout::VISIBILITY] {
                *v = 1.0;
            }
        }
        w
    }

    /// The forecast of `window` by a model with `config`: per step, torso, left wrist and right wrist.
    fn forecast(config: ConstantVelocityConfig, window: &[f32]) -> Vec<[[f32; 3]; 3]> {
        let mut m = ConstantVelocityModel::new(config).expect("config");
        let out = m.predict(&ModelInput::from_flat(window).expect("input")).expect("predict");
        let row = out.rows[0].as_ref().expect("row");
        (0..HORIZON_STEPS).map(|s| std::array::from_fn(|p| row.future_point(s, p))).collect()
    }

    /// What linear motion of `moving_window` gives at step `s` (0-based).
    fn linear(v_torso: [f64; 3], v_wrist: [f64; 3], s: usize) -> [[f64; 3]; 3] {
        let t = (s + 1) as f64 * 0.1;
        [
            std::array::from_fn(|d| v_torso[d] * t),
            std::array::from_fn(|d| [0.3, 0.3, 0.3][d] + v_wrist[d] * t),
            std::array::from_fn(|d| -0.3 + v_torso[d] * t),
        ]
    }

    #[test]
    fn the_least_squares_line_extrapolates_linear_motion_exactly() {
        let (vt, vw) = ([-1.2, 0.4, 0.0], [0.5, 0.0, 0.8]);
        let f = forecast(ConstantVelocityConfig::least_squares(6), &moving_window(vt, vw));
        for (s, step) in f.iter().enumerate() {
            let expect = linear(vt, vw, s);
            for p in 0..3 {
                for d in 0..3 {
                    assert!((f64::from(step[p][d]) - expect[p][d]).abs() < 1e-4, "s {s} p {p}: {:?}", step[p]);
                }
            }
        }
    }

    #[test]
    fn the_kalman_filter_follows_linear_motion() {
        // Linear motion over the whole window: the filter, which starts from zero velocity, is within 2 cm of
        // the line at 1 s.
        let (vt, vw) = ([-1.2, 0.4, 0.0], [0.5, 0.0, 0.8]);
        let f = forecast(ConstantVelocityConfig::default(), &moving_window(vt, vw));
        for (s, step) in f.iter().enumerate() {
            let expect = linear(vt, vw, s);
            for p in 0..3 {
                let e: f64 = (0..3).map(|d| (f64::from(step[p][d]) - expect[p][d]).powi(2)).sum::<f64>().sqrt();
                assert!(e < 0.02, "s {s} p {p}: {:?} against {:?}", step[p], expect[p]);
            }
        }
    }

    #[test]
    fn on_a_noisy_walk_the_default_filter_beats_a_line_over_the_last_frames() {
        // A torso walking at 1.2 m/s, each frame off by up to ±5 cm (a fixed pseudo-random sequence): the line
        // over the last 6 frames (the fallback's old fit) turns that noise into velocity; the filter over the
        // window does not.
        let v = [1.2, 0.0, 0.0];
        let mut w = moving_window(v, v);
        let mut state = 0x2545_f491_u32;
        let mut newest_noise = [0.0; 2];
        for t in 0..WINDOW_FRAMES {
            for (d, newest) in newest_noise.iter_mut().enumerate() {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let noise = (f64::from(state) / f64::from(u32::MAX) - 0.5) * 0.1;
                w[t * FEATURES_PER_FRAME + feature_layout::TORSO.start + d] += noise as f32;
                *newest = noise;
            }
        }
        let ade = |config| {
            let f = forecast(config, &w);
            // Forecasts are relative to the newest observed torso, which is off the true one by its noise.
            (0..HORIZON_STEPS)
                .map(|s| {
                    let dx = f64::from(f[s][0][0]) - (v[0] * (s + 1) as f64 * 0.1 - newest_noise[0]);
                    let dy = f64::from(f[s][0][1]) + newest_noise[1];
                    (dx * dx + dy * dy).sqrt()
                })
                .sum::<f64>()
                / HORIZON_STEPS as f64
        };
        let (filter, line) = (ade(ConstantVelocityConfig::default()), ade(ConstantVelocityConfig::least_squares(6)));
        assert!(filter < 0.5 * line, "filter {filter:.3} m, line {line:.3} m");
    }

    #[test]
    fn intent_is_uniform_idle_with_the_lowest_confidence() {
        let mut m = ConstantVelocityModel::new(ConstantVelocityConfig::default()).expect("config");
        let out = m.predict(&ModelInput::from_flat(&moving_window([0.0; 3], [0.0; 3])).expect("in")).expect("p");
        let row = out.rows[0].as_ref().expect("row");
        assert_eq!(row.intent, Intent::Idle);
        assert_eq!(row.source, PredictionSource::ConstantVelocity);
        assert!(row.probabilities.iter().all(|p| (p - 0.2).abs() < 1e-6));
        assert!((row.confidence - 0.2).abs() < 1e-6);
        // Standing still: the future stays where the points are now.
        assert!(row.future_point(9, 0).iter().all(|v| v.abs() < 1e-6));
    }

    #[test]
    fn refuses_empty_batches_and_bad_config() {
        let mut m = ConstantVelocityModel::new(ConstantVelocityConfig::default()).expect("config");
        assert!(matches!(m.run_valid(&[], 0, &mut RawOutput::default()), Err(ModelError::EmptyBatch)));
        assert!(matches!(m.run_valid(&[0.0; 3], 1, &mut RawOutput::default()), Err(ModelError::InputLength { .. })));
        for bad in [
            ConstantVelocityConfig::least_squares(1),
            ConstantVelocityConfig::least_squares(31),
            ConstantVelocityConfig { fit: VelocityFit::Kalman { q: 0.0, r: 0.1 }, ..Default::default() },
            ConstantVelocityConfig { fit: VelocityFit::Kalman { q: 0.25, r: f64::NAN }, ..Default::default() },
            ConstantVelocityConfig { rate_hz: 0.0, ..Default::default() },
            ConstantVelocityConfig { horizon_step_s: f64::NAN, ..Default::default() },
        ] {
            assert!(ConstantVelocityModel::new(bad).is_err());
        }
    }
}
