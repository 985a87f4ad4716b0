//! The intent prediction pipeline of one node: skeleton captures → per-human windows (features) → one batched
//! model call → robot-frame [`HumanPrediction`]s. The model is any [`IntentModel`] (ONNX Runtime in the ROS
//! nodes, the constant-velocity baseline as fallback), so the pipeline runs the same on live data, in tests and
//! in offline replay. All buffers are kept between calls.

use nalgebra::Isometry2;

use crate::features::{FeatureBatch, FeatureConfig, FeatureError, FeaturePipeline, FeatureStats};
use crate::model::{IntentModel, ModelError, ModelInfo, ModelInput, ModelOutput, HORIZON_STEP_S};
use crate::prediction::HumanPrediction;
use crate::skeleton::SkeletonFrame;

/// Running totals of the pipeline (for diagnostics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PredictorCounters {
    /// Skeleton captures processed.
    pub frames: u64,
    /// Predictions produced.
    pub predictions: u64,
    /// Rows refused before or after the model (non-finite input or output).
    pub rejected_rows: u64,
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
}

impl IntentPredictor {
    /// `max_batch`: most humans predicted per capture (the rest are counted as skipped by the features).
    pub fn new(features: FeatureConfig, model: Box<dyn IntentModel + Send>, max_batch: usize) -> Result<Self, FeatureError> {
        Ok(IntentPredictor {
            features: FeaturePipeline::new(features)?,
            batch: FeatureBatch::with_capacity(max_batch.max(1)),
            input: ModelInput::with_capacity(max_batch.max(1)),
            output: ModelOutput::new(),
            model,
            counters: PredictorCounters::default(),
        })
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

    /// Forgets every track (e.g. after a clock jump backwards).
    pub fn reset(&mut self) {
        self.features.reset();
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
    pub fn predict_in(&mut self, frame: &SkeletonFrame, odom_from_robot: &Isometry2<f64>) -> Result<Vec<HumanPrediction>, ModelError> {
        self.counters.frames += 1;
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
        SkeletonFrame { stamp: Stamp::from_secs_f64(t), frame_id: "base_link".into(), humans: vec![HumanSkeleton { id: 5, keypoints }] }
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
}
