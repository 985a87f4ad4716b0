//! Offline replay of a bag through the core, without DDS: the same [`InputHandler`] (and optionally the same
//! [`IntentPredictor`]) as the nodes, the same message conversions ([`crate::ros::convert`]), bag time as the clock.
//!
//! Two ways to decide when the controller steps:
//! - [`StepMode::Events`] (default) does what `shared_control` does: a decision after every accepted input,
//!   stamped with that input's log time, and a periodic decision every control period of bag time.
//! - [`StepMode::Recorded`] steps exactly at the stamps of the recorded `shared_control/status` messages, each
//!   with the inputs that decision was based on: the status names the header stamps of the newest joystick
//!   message, skeleton capture and prediction set the node had kept, so inputs the recorder received before
//!   the status but the node after its decision are held back, and a status the recorder received before one
//!   of its inputs waits for it. Used to check that a recorded run replays to the same decisions
//!   ([`Agreement`]).
//!
//! The replay is a pure function of the bag and the options: the same bag replays to bit-identical outputs.
//! A judge ([`ReplayMetrics`]) scores every replay on the thresholds of the scenario suite, on ground truth
//! (`/ground_truth/humans`, written by the scenario generator) when the bag has it, else on the observed
//! skeletons; [`replay`] lets it read the whole bag first, so that it knows where each person went next.
//!
//! [`InputHandler`]: intent_shared_control_core::InputHandler
//! [`IntentPredictor`]: intent_shared_control_core::predictor::IntentPredictor

mod engine;
mod helpers;
mod judge;
mod metrics;
mod options;
#[cfg(test)]
mod tests;

pub use engine::{replay, Replay, ReplayOutput};
pub use helpers::{
    has_odometry, load_cpu_model, metrics_json, mode_name, skeletons_to_msg, write_csv, write_outputs_bag, CSV_HEADER,
};
pub use intent_shared_control_sim::card_forecast_bound;
pub use metrics::{check_thresholds, ReplayMetrics, Thresholds};
pub use options::{Agreement, Cycle, InputCounts, PredictionSource, RecordedDecision, ReplayOptions, StepMode};

/// Topic names as the nodes resolve them in the root namespace, and their types.
pub mod topics {
    pub const JOY: &str = "/joy";
    pub const SKELETONS: &str = "/humans/skeletons";
    pub const INTENT: &str = "/humans/intent";
    pub const ASSIST: &str = "/assist/cmd_vel";
    pub const CMD_VEL: &str = "/cmd_vel";
    pub const STATUS: &str = "/shared_control/status";
    pub const CLOCK: &str = "/clock";
    /// Robot odometry (`odom` ← `base_link`): the predictor keeps the humans' tracks in `odom` with it.
    pub const ODOM: &str = "/odom";
    /// True keypoints of every human (robot frame), written by the scenario generator for the judge.
    pub const TRUTH: &str = "/ground_truth/humans";

    pub const JOY_TYPE: &str = "sensor_msgs/msg/Joy";
    pub const SKELETONS_TYPE: &str = "intent_shared_control_msgs/msg/HumanSkeletonArray";
    pub const INTENT_TYPE: &str = "intent_shared_control_msgs/msg/IntentPredictionArray";
    pub const TWIST_STAMPED_TYPE: &str = "geometry_msgs/msg/TwistStamped";
    pub const STATUS_TYPE: &str = "intent_shared_control_msgs/msg/SharedControlStatus";
    pub const CLOCK_TYPE: &str = "rosgraph_msgs/msg/Clock";
    pub const ODOM_TYPE: &str = "nav_msgs/msg/Odometry";
}
