//! Why an input was rejected: one closed set of reasons, counted by the input handler
//! ([`crate::input::InputHandler`]), the nodes' metrics and diagnostics, and the bag replay, under stable
//! snake_case names ([`Rejection::name`]) that dashboards and tests key on.

use std::fmt;

/// The kinds of input the shared-control handler takes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputKind {
    Joy,
    Skeletons,
    Predictions,
    Assist,
}

/// Why an input never reached the controller (or the predictor).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rejection {
    /// Stamped more than the tolerance ahead of the clock it arrived at.
    FutureStamp(InputKind),
    /// Stamped before the newest kept input of its kind.
    OutOfOrder(InputKind),
    /// A Joy message with more axes or buttons than any pad has.
    OversizedJoy,
    /// A skeleton array with more people than configured.
    TooManyHumans,
    /// A person with the wrong number of keypoints.
    KeypointCount,
    /// A person with a confidence count that does not match the keypoints.
    ConfidenceCount,
    /// The same tracker id twice in one array.
    DuplicateId,
    /// A message in another frame than the expected one.
    WrongFrame,
    /// A prediction message that does not hold a usable forecast.
    BadPrediction,
    /// A prediction array with more entries than configured.
    TooManyPredictions,
    /// An odometry message that cannot be used (frames, non-finite values).
    BadOdometry,
    /// An odometry message older than the newest kept one.
    OdometryOutOfOrder,
    /// An odometry message stamped more than the tolerance ahead of the clock it arrived at.
    OdometryFutureStamp,
    /// The predictor had no odometry pose at a capture's stamp.
    NoOdometryPose,
    /// The intent model failed on a capture.
    ModelError,
    /// The in-memory hand-over to the control node was full (the capture is dropped, never queued late).
    HandoffFull,
    /// An external assist command with a non-finite value.
    BadAssist,
}

impl Rejection {
    /// The stable counter name (`rejected_<name>` in diagnostics, `reason="<name>"` in metrics).
    pub const fn name(self) -> &'static str {
        use InputKind::*;
        match self {
            Rejection::FutureStamp(Joy) => "joy_future_stamp",
            Rejection::FutureStamp(Skeletons) => "skeletons_future_stamp",
            Rejection::FutureStamp(Predictions) => "predictions_future_stamp",
            Rejection::FutureStamp(Assist) => "assist_future_stamp",
            Rejection::OutOfOrder(Joy) => "joy_out_of_order",
            Rejection::OutOfOrder(Skeletons) => "skeletons_out_of_order",
            Rejection::OutOfOrder(Predictions) => "predictions_out_of_order",
            Rejection::OutOfOrder(Assist) => "assist_out_of_order",
            Rejection::OversizedJoy => "oversized_joy",
            Rejection::TooManyHumans => "too_many_humans",
            Rejection::KeypointCount => "keypoint_count",
            Rejection::ConfidenceCount => "confidence_count",
            Rejection::DuplicateId => "duplicate_id",
            Rejection::WrongFrame => "wrong_frame",
            Rejection::BadPrediction => "bad_prediction",
            Rejection::TooManyPredictions => "too_many_predictions",
            Rejection::BadOdometry => "bad_odometry",
            Rejection::OdometryOutOfOrder => "odometry_out_of_order",
            Rejection::OdometryFutureStamp => "odometry_future_stamp",
            Rejection::NoOdometryPose => "no_odometry_pose",
            Rejection::ModelError => "model_error",
            Rejection::HandoffFull => "handoff_full",
            Rejection::BadAssist => "bad_assist",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_snake_case_name() {
        let kinds = [InputKind::Joy, InputKind::Skeletons, InputKind::Predictions, InputKind::Assist];
        let mut all: Vec<Rejection> =
            kinds.iter().flat_map(|&k| [Rejection::FutureStamp(k), Rejection::OutOfOrder(k)]).collect();
        all.extend([
            Rejection::OversizedJoy,
            Rejection::TooManyHumans,
            Rejection::KeypointCount,
            Rejection::ConfidenceCount,
            Rejection::DuplicateId,
            Rejection::WrongFrame,
            Rejection::BadPrediction,
            Rejection::TooManyPredictions,
            Rejection::BadOdometry,
            Rejection::OdometryOutOfOrder,
            Rejection::OdometryFutureStamp,
            Rejection::NoOdometryPose,
            Rejection::ModelError,
            Rejection::HandoffFull,
            Rejection::BadAssist,
        ]);
        let names: std::collections::BTreeSet<&str> = all.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), all.len(), "two reasons share a name");
        for n in names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        }
        assert_eq!(Rejection::FutureStamp(InputKind::Joy).to_string(), "joy_future_stamp");
    }
}
