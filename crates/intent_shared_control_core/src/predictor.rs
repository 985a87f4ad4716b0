//! The intent prediction pipeline of one node: skeleton captures → per-human windows (features) → one batched
//! model call → robot-frame [`HumanPrediction`]s. The model is any [`IntentModel`] (ONNX Runtime in the ROS
//! nodes, the constant-velocity baseline as fallback), so the pipeline runs the same on live data, in tests and
//! in offline replay. All buffers are kept between calls.

use nalgebra::Isometry2;

use crate::features::{FeatureBatch, FeatureConfig, FeatureError, FeaturePipeline, FeatureStats};
use crate::forecast_check::{ForecastBound, ForecastCheck};
use crate::model::{IntentModel, ModelError, ModelInfo, ModelInput, ModelOutput, HORIZON_STEP_S};
use crate::odometry::{OdometryConfig, OdometryError, OdometryHistory, OdometryStats};
use crate::prediction::HumanPrediction;
use crate::skeleton::SkeletonFrame;
use crate::time::Stamp;

/// Why a capture was not predicted.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error(transparent)]
    Model(#[from] ModelError),
    /// With odometry: no robot pose at the capture stamp (the capture is not added to the tracks either).
    #[error("no robot pose at the capture stamp: {0}")]
    NoPose(#[from] OdometryError),
}

/// Running totals of the pipeline (for diagnostics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PredictorCounters {
    /// Skeleton captures processed.
    pub frames: u64,
    /// Predictions produced.
    pub predictions: u64,
    /// Rows refused before or after the model (non-finite input or output).
    pub rejected_rows: u64,
    /// Captures not predicted for want of a robot pose (with odometry).
    pub no_pose: u64,
    /// Model calls that failed as a whole.
    pub model_errors: u64,
}

/// Features + model, batched per capture.
pub struct IntentPredictor {
    features: FeaturePipeline,
    batch: FeatureBatch,
    input: ModelInput,
    output: ModelOutput,
    model: Box<dyn IntentModel + Send>,
    counters: PredictorCounters,
    odometry: Option<OdometryHistory>,
    /// Hips below this confidence are not seen (the features' `min_keypoint_confidence`).
    min_confidence: f32,
    check: Option<ForecastCheck>,
}

impl IntentPredictor {
    /// `max_batch`: most humans predicted per capture (the rest are counted as skipped by the features).
    pub fn new(
        features: FeatureConfig,
        model: Box<dyn IntentModel + Send>,
        max_batch: usize,
    ) -> Result<Self, FeatureError> {
        let min_confidence = features.min_keypoint_confidence;
        Ok(IntentPredictor {
            features: FeaturePipeline::new(features)?,
            batch: FeatureBatch::with_capacity(max_batch.max(1)),
            input: ModelInput::with_capacity(max_batch.max(1)),
            output: ModelOutput::new(),
            model,
            counters: PredictorCounters::default(),
            odometry: None,
            min_confidence,
            check: None,
        })
    }

    /// From now on, every forecast is checked against the captures that follow it with `bound` (a model
    /// card's forecast error bound, see [`crate::forecast_check`]); in the odometry frame when odometry is used.
    pub fn check_forecasts(&mut self, bound: ForecastBound) {
        self.check = Some(ForecastCheck::new(bound, self.min_confidence));
    }

    /// The run-time check of the forecasts, when one was asked for.
    pub fn forecast_check(&self) -> Option<&ForecastCheck> {
        self.check.as_ref()
    }

    /// From now on, tracks are kept in the odometry frame: [`IntentPredictor::predict_capture`] moves each
    /// capture there with the pose from [`IntentPredictor::push_odometry`] at its stamp.
    pub fn use_odometry(&mut self, config: OdometryConfig) -> Result<(), OdometryError> {
        self.odometry = Some(OdometryHistory::new(config)?);
        self.features.reset();
        Ok(())
    }

    /// Whether captures are moved into the odometry frame.
    pub fn uses_odometry(&self) -> bool {
        self.odometry.is_some()
    }

    /// One odometry pose (base_link in odom, planar); false when rejected or when odometry is not used.
    pub fn push_odometry(&mut self, stamp: Stamp, x: f64, y: f64, yaw: f64) -> bool {
        self.odometry.as_mut().is_some_and(|o| o.push(stamp, x, y, yaw))
    }

    pub fn odometry_stats(&self) -> Option<OdometryStats> {
        self.odometry.as_ref().map(OdometryHistory::stats)
    }

    /// Stamp of the newest odometry pose.
    pub fn newest_odometry(&self) -> Option<Stamp> {
        self.odometry.as_ref().and_then(OdometryHistory::newest)
    }

    /// The capture through [`IntentPredictor::predict_in`] at its odometry pose when odometry is used, else
    /// through [`IntentPredictor::predict`]. Without a pose at the stamp the capture is skipped and counted.
    pub fn predict_capture(&mut self, frame: &SkeletonFrame) -> Result<Vec<HumanPrediction>, PredictError> {
        let Some(odometry) = &self.odometry else {
            return Ok(self.predict(frame)?);
        };
        match odometry.at(frame.stamp) {
            Ok(pose) => Ok(self.predict_in(frame, &pose)?),
            Err(e) => {
                self.counters.no_pose += 1;
                Err(e.into())
            }
        }
    }

    /// What runs the predictions.
    pub fn info(&self) -> &ModelInfo {
        self.model.info()
    }

    pub fn counters(&self) -> PredictorCounters {
        self.counters
    }

    pub fn feature_stats(&self) -> FeatureStats {
        self.features.stats()
    }

    /// Humans currently tracked by the feature pipeline.
    pub fn tracked_humans(&self) -> usize {
        self.features.tracked_humans()
    }

    /// Forgets every track and odometry pose (e.g. after a clock jump backwards).
    pub fn reset(&mut self) {
        self.features.reset();
        if let Some(o) = &mut self.odometry {
            o.reset();
        }
        if let Some(c) = &mut self.check {
            c.reset();
        }
    }

    /// Adds one capture to the tracks without predicting (for evaluations that ask for a forecast at chosen
    /// captures only; the robot is taken not to move, as in [`IntentPredictor::predict`]).
    pub fn observe(&mut self, frame: &SkeletonFrame) {
        self.features.push_in(frame, &Isometry2::identity());
    }

    /// Adds one capture and predicts every human in it that has a usable window. Humans whose rows are
    /// rejected (non-finite values) are counted and left out; a failing model call is an error and counted.
    /// The tracks are kept in the capture's frame: for a robot that does not move (else see
    /// [`IntentPredictor::predict_in`]).
    pub fn predict(&mut self, frame: &SkeletonFrame) -> Result<Vec<HumanPrediction>, ModelError> {
        self.predict_in(frame, &Isometry2::identity())
    }

    /// [`IntentPredictor::predict`] for a moving robot: `odom_from_robot` is the robot's pose in a fixed frame
    /// (odometry) at the capture stamp. Tracks are kept in the fixed frame, so the robot's own motion does not
    /// show as human motion; each window is built in the robot frame of its newest capture, so the predictions
    /// come out in the capture's frame as with [`IntentPredictor::predict`]. Feed one predictor either always
    /// through this or never.
    pub fn predict_in(
        &mut self,
        frame: &SkeletonFrame,
        odom_from_robot: &Isometry2<f64>,
    ) -> Result<Vec<HumanPrediction>, ModelError> {
        self.counters.frames += 1;
        if let Some(c) = &mut self.check {
            c.observe(frame, odom_from_robot);
        }
        self.features.push_in(frame, odom_from_robot);
        self.features.fill_batch_in(frame.stamp, &odom_from_robot.inverse(), &mut self.batch);
        self.input.clear();
        for row in 0..self.batch.len() {
            if let Some(window) = self.batch.window(row) {
                self.input.push_window(window)?;
            }
        }
        if self.input.is_empty() {
            return Ok(Vec::new());
        }
        if let Err(e) = self.model.predict_into(&self.input, &mut self.output) {
            self.counters.model_errors += 1;
            return Err(e);
        }
        let mut out = Vec::with_capacity(self.output.rows.len());
        for (meta, row) in self.batch.rows().iter().zip(&self.output.rows) {
            match row.as_ref().ok().and_then(|r| HumanPrediction::from_model_row(meta, r, HORIZON_STEP_S)) {
                Some(p) => out.push(p),
                None => self.counters.rejected_rows += 1,
            }
        }
        self.counters.predictions += out.len() as u64;
        if let Some(c) = &mut self.check {
            c.record(&out, odom_from_robot);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::constant_velocity::{ConstantVelocityConfig, ConstantVelocityModel};
    use crate::skeleton::{HumanSkeleton, Keypoint, NUM_KEYPOINTS};
    use crate::time::Stamp;
    use nalgebra::Point3;

    fn frame(t: f64, x: f64) -> SkeletonFrame {
        let mut keypoints = [Keypoint::MISSING; NUM_KEYPOINTS];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = Keypoint { position: Point3::new(x, 0.1 * (k % 3) as f64, 0.1 * (17 - k) as f64), confidence: 0.9 };
        }
        SkeletonFrame {
            stamp: Stamp::from_secs_f64(t),
            frame_id: "base_link".into(),
            humans: vec![HumanSkeleton { id: 5, keypoints }],
        }
    }

    #[test]
    fn walking_human_is_predicted_ahead() {
        let cv = ConstantVelocityModel::new(ConstantVelocityConfig::default()).expect("valid config");
        let mut p = IntentPredictor::new(FeatureConfig::default(), Box::new(cv), 8).expect("valid config");
        let mut last = Vec::new();
        for i in 0..45 {
            let t = i as f64 / 30.0;
            last = p.predict(&frame(t, 4.0 - t)).expect("prediction");
        }
        assert_eq!(last.len(), 1);
        let pred = &last[0];
        assert_eq!(pred.human_id, 5);
        // walking toward the robot at 1 m/s: one second ahead the torso is about 1 m closer
        let now_x = 4.0 - 44.0 / 30.0;
        assert!((pred.future[9][0].x - (now_x - 1.0)).abs() < 0.15, "{:?}", pred.future[9][0]);
        assert_eq!(p.counters().model_errors, 0);
        assert_eq!(p.tracked_humans(), 1);
    }

    #[test]
    fn odometry_keeps_a_standing_person_standing_for_a_moving_robot() {
        let cv = || Box::new(ConstantVelocityModel::new(ConstantVelocityConfig::default()).expect("valid config"));
        let mut plain = IntentPredictor::new(FeatureConfig::default(), cv(), 8).expect("valid config");
        let mut odom = IntentPredictor::new(FeatureConfig::default(), cv(), 8).expect("valid config");
        odom.use_odometry(crate::odometry::OdometryConfig::default()).expect("valid config");
        assert!(odom.uses_odometry() && !plain.uses_odometry());
        // Nothing before the first pose.
        assert!(matches!(odom.predict_capture(&frame(0.0, 4.0)), Err(PredictError::NoPose(_))));
        assert_eq!(odom.counters().no_pose, 1);
        // The robot drives at 1 m/s toward a person standing 4 m ahead of its start; odometry at 50 Hz.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..45 {
            let t = i as f64 / 30.0;
            for j in 0..2 {
                let to = t + j as f64 * 0.02;
                odom.push_odometry(Stamp::from_secs_f64(to), to, 0.0, 0.0);
            }
            a = plain.predict_capture(&frame(t, 4.0 - t)).expect("prediction");
            b = odom.predict_capture(&frame(t, 4.0 - t)).expect("prediction");
        }
        let now_x = 4.0 - 44.0 / 30.0;
        // In the capture's frame: without odometry the person seems to come 1 m closer in 1 s; with it, stays.
        assert!((a[0].future[9][0].x - (now_x - 1.0)).abs() < 0.15, "{:?}", a[0].future[9][0]);
        assert!((b[0].future[9][0].x - now_x).abs() < 0.05, "{:?}", b[0].future[9][0]);
        assert_eq!(odom.counters().no_pose, 1);
    }
}
