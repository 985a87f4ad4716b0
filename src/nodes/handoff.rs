//! What the predictor hands over to shared_control in memory in the composed executable (`Wiring::link` of
//! both nodes), so that neither node imports the other.

use std::time::Instant;

use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::{SkeletonFrame, Stamp};

/// What the predictor hands over in memory in the composed executable: each capture as soon as it is
/// converted (the decision on it does not wait for inference, as with separate processes), then the
/// predictions made from it.
pub enum Handoff {
    Skeletons {
        frame: SkeletonFrame,
        /// When the skeleton message arrived at the predictor (decision latency is measured from here).
        arrival: Instant,
    },
    Predictions {
        stamp: Stamp,
        predictions: Vec<HumanPrediction>,
        arrival: Instant,
    },
}
