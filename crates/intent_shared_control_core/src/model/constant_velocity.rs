//! Constant-velocity predictor: the evaluation baseline and the degraded-mode fallback.
//!
//! For each predicted point (torso, left wrist, right wrist) it fits a straight line by least squares to the
//! point's positions in the last `velocity_frames` frames of the window and extrapolates it:
//! `y(s) = y_now + v · s · horizon_step_s` for steps `s = 1 … HORIZON_STEPS`, where `y_now` is the fitted
//! position at the newest frame and `v` the fitted velocity [m/s]. Positions are in the contract's output frame:
//! relative to the newest torso point, bearing-aligned.
//!
//! Its intent output carries no information: all logits 0, so the probabilities are uniform (1/5 each), the
//! intent is `idle` and the confidence is 1/5, the lowest possible, with [`PredictionSource::ConstantVelocity`].

use serde::{Deserialize, Serialize};

use super::{
    check_batch, feature_layout, IntentModel, ModelError, ModelInfo, PredictionSource, RawOutput, FEATURES_PER_FRAME,
    FUTURE_LEN, HORIZON_STEPS, HORIZON_STEP_S, MODEL_RATE_HZ, NUM_INTENTS, WINDOW_FRAMES, WINDOW_LEN,
};
use crate::skeleton::keypoint;

/// Settings of the constant-velocity predictor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantVelocityConfig {
    /// Frames (newest last) used to fit the velocity, in [2, 30]. 6 frames span 1/6 s at 30 Hz.
    pub velocity_frames: usize,
    /// Frame rate of the window \[Hz\], > 0.
    pub rate_hz: f64,
    /// Time between predicted steps \[s\], > 0.
    pub horizon_step_s: f64,
}

impl Default for ConstantVelocityConfig {
    fn default() -> Self {
        Self { velocity_frames: 6, rate_hz: MODEL_RATE_HZ, horizon_step_s: HORIZON_STEP_S }
    }
}

impl ConstantVelocityConfig {
    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |field: &str, reason: String| {
            ModelError::Card(super::CardError::Invalid { field: format!("constant_velocity.{field}"), reason })
        };
        if !(2..=WINDOW_FRAMES).contains(&self.velocity_frames) {
            return Err(bad("velocity_frames", format!("{} is not in [2, {WINDOW_FRAMES}]", self.velocity_frames)));
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

        let n = self.config.velocity_frames;
        let dt = 1.0 / self.config.rate_hz;
        let first = WINDOW_FRAMES - n;
        // Least squares on times τ_i = (i − (n − 1)) · dt, i = 0 … n−1 (τ = 0 at the newest frame).
        let taus: Vec<f64> = (0..n).map(|i| (i as f64 - (n - 1) as f64) * dt).collect();
        let tau_mean = taus.iter().sum::<f64>() / n as f64;
        let s_tt: f64 = taus.iter().map(|t| (t - tau_mean).powi(2)).sum();
        for (p, point) in points.iter().enumerate() {
            for d in 0..3 {
                let ys: Vec<f64> = (0..n).map(|i| point(first + i, d)).collect();
                let y_mean = ys.iter().sum::<f64>() / n as f64;
                let s_ty: f64 = taus.iter().zip(&ys).map(|(t, y)| (t - tau_mean) * (y - y_mean)).sum();
                let v = s_ty / s_tt;
                let y_now = y_mean - v * tau_mean;
                for s in 0..HORIZON_STEPS {
                    let t = (s + 1) as f64 * self.config.horizon_step_s;
                    out[(s * 3 + p) * 3 + d] = (y_now + v * t) as f32;
                }
            }
        }
    }
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

    #[test]
    #[allow(clippy::needless_range_loop)] // indexes the forecast and the expectation alike
    fn extrapolates_linear_motion_exactly() {
        let mut m = ConstantVelocityModel::new(ConstantVelocityConfig::default()).expect("config");
        let input = ModelInput::from_flat(&moving_window([-1.2, 0.4, 0.0], [0.5, 0.0, 0.8])).expect("input");
        let out = m.predict(&input).expect("predict");
        let row = out.rows[0].as_ref().expect("row");
        for s in 0..HORIZON_STEPS {
            let t = (s + 1) as f32 * 0.1;
            let expect =
                [[-1.2 * t, 0.4 * t, 0.0], [0.3 + 0.5 * t, 0.3, 0.3 + 0.8 * t], [-0.3 - 1.2 * t, -0.3 + 0.4 * t, -0.3]];
            for p in 0..3 {
                for d in 0..3 {
                    assert!(
                        (row.future_point(s, p)[d] - expect[p][d]).abs() < 1e-4,
                        "s {s} p {p} d {d}: {:?}",
                        row.future_point(s, p)
                    );
                }
            }
        }
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
            ConstantVelocityConfig { velocity_frames: 1, ..Default::default() },
            ConstantVelocityConfig { velocity_frames: 31, ..Default::default() },
            ConstantVelocityConfig { rate_hz: 0.0, ..Default::default() },
            ConstantVelocityConfig { horizon_step_s: f64::NAN, ..Default::default() },
        ] {
            assert!(ConstantVelocityModel::new(bad).is_err());
        }
    }
}
