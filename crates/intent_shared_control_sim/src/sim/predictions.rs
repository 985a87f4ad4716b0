//! The simulator's prediction front end (constant velocity, the caller's model, or the oracle).

use super::*;

/// Prediction front end for the simulator.
pub(super) struct Predictions<'a> {
    pub(super) kind: PredictorKind,
    /// The feature pipeline + model of `ConstantVelocity` (own) or `Model` (the caller's).
    pub(super) predictor: Option<PredictorRef<'a>>,
    pub(super) frames: usize,
    pub(super) every: usize,
}

pub(super) enum PredictorRef<'a> {
    Own(Box<IntentPredictor>),
    Caller(&'a mut IntentPredictor),
}

impl Predictions<'_> {
    /// `external` is used by `PredictorKind::Model` (reset first: no tracks carried over from another run).
    pub(super) fn new(
        kind: PredictorKind,
        every: usize,
        external: Option<&mut IntentPredictor>,
    ) -> Result<Predictions<'_>, SimError> {
        let predictor = match kind {
            PredictorKind::ConstantVelocity => {
                let cv = ConstantVelocityModel::new(ConstantVelocityConfig::default())?;
                Some(PredictorRef::Own(Box::new(IntentPredictor::new(FeatureConfig::default(), Box::new(cv), 16)?)))
            }
            PredictorKind::Model => {
                let p = external.ok_or(SimError::MissingModel)?;
                p.reset();
                Some(PredictorRef::Caller(p))
            }
            PredictorKind::None | PredictorKind::Oracle { .. } => None,
        };
        Ok(Predictions { kind, predictor, frames: 0, every })
    }

    /// World-frame predictions for the frame just observed, or `None` when none are due this frame.
    pub(super) fn on_frame(
        &mut self,
        frame: &SkeletonFrame,
        source: &dyn HumanSource,
    ) -> Result<Option<Vec<HumanPrediction>>, SimError> {
        self.frames += 1;
        match self.kind {
            PredictorKind::None => Ok(None),
            PredictorKind::ConstantVelocity | PredictorKind::Model => {
                let predictor = match self.predictor.as_mut() {
                    Some(PredictorRef::Own(p)) => &mut **p,
                    Some(PredictorRef::Caller(p)) => &mut **p,
                    None => return Err(SimError::MissingModel),
                };
                // Every frame goes through the predictor (as in the predictor node); the controller gets every
                // `every`-th output.
                let preds = predictor.predict(frame)?;
                if !self.frames.is_multiple_of(self.every) {
                    return Ok(None);
                }
                Ok(Some(preds))
            }
            PredictorKind::Oracle { confidence } => {
                if !self.frames.is_multiple_of(self.every) {
                    return Ok(None);
                }
                let now = source.truth(frame.stamp);
                let futures: Vec<Vec<TrueHuman>> = (1..=HORIZON_STEPS)
                    .map(|k| source.truth(frame.stamp.add_secs(k as f64 * HORIZON_STEP_S)))
                    .collect();
                let preds = frame
                    .humans
                    .iter()
                    .filter_map(|h| {
                        let t = now.iter().find(|t| t.tracker_id == h.id)?;
                        let mut probabilities = [(1.0 - confidence) / 4.0; 5];
                        probabilities[t.intent.index()] = confidence;
                        let future = futures
                            .iter()
                            .map(|step| {
                                let s = step.iter().find(|s| s.tracker_id == h.id).unwrap_or(t);
                                tracked_points(&s.keypoints)
                            })
                            .collect();
                        Some(HumanPrediction {
                            human_id: h.id,
                            stamp: frame.stamp,
                            probabilities,
                            confidence,
                            horizon_step: HORIZON_STEP_S,
                            future,
                        })
                    })
                    .collect();
                Ok(Some(preds))
            }
        }
    }
}
