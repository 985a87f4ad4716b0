//! Seeded, deterministic synthetic humans: COCO-17 3-D skeletons carrying out intents near the robot.
//!
//! One source of truth for human motion: the demo's simulated humans, the tests, the closed-loop simulator and
//! the training export all use [`Scenario`]. Coordinates are the robot frame (robot at the origin, x forward,
//! y left, z up) in metres; stamps are [`Stamp`]s starting at [`ScenarioConfig::start_stamp_ns`].
//!
//! How it works:
//! - [`Scenario::new`] draws every human's plan from the seed (ChaCha8, no OS entropy): body size (height and
//!   per-segment variation), start pose, the episode intent and its motion onset, speeds, gestures, head
//!   glances, occlusions and tracker id switches. It then integrates each human's planar motion (acceleration
//!   and turn-rate limited) on a 120 Hz grid that extends [`FUTURE_MARGIN_S`] past the end, so true positions
//!   are available at any time, including the prediction horizon after the last frame.
//! - The skeleton at any time comes from forward kinematics of that state: walking gait (hip/knee flexion, arm
//!   swing opposite to the legs, pelvis bob), standing sway, arm gestures (minimum-jerk), torso lean, head yaw.
//! - [`Scenario::step`] produces the next [`SkeletonFrame`] (nominal rate [`ScenarioConfig::rate_hz`], optional
//!   stamp jitter and dropped frames) with keypoint noise (growing with distance), dropped keypoints, occlusions,
//!   face self-occlusion when a human looks away, and tracker id switches; plus the [`GroundTruth`].
//!
//! Intents (labels as in the model contract; each non-idle human first stands idle until the onset):
//! - `idle`: stands, sways, glances around, makes arm gestures (hand to face, looking at a phone, arm to the
//!   side), shuffles a little and turns in place.
//! - `pass_by`: walks along a line whose closest approach to the robot is [`ScenarioConfig::pass_distance_m`].
//! - `approach_robot`: turns toward the robot, walks to it and stops at [`ScenarioConfig::stop_distance_m`];
//!   from the stop on, the label is `idle`.
//! - `reach_handover`: faces the robot, takes a few slow steps if farther than arm's reach, and extends one arm
//!   toward the robot at chest height, holds, and lowers it; the label is `idle` once the hold ends.
//! - `retreat`: (stood facing the robot) optionally steps back, turns away and walks off.
//!
//! [`Stamp`]: intent_shared_control_core::time::Stamp
//! [`SkeletonFrame`]: intent_shared_control_core::skeleton::SkeletonFrame

mod config;
mod human;
mod kinematics;
mod motion;
mod sample;
mod sensor;
mod stepping;
#[cfg(test)]
mod tests;

pub use config::{NoiseConfig, ScenarioConfig, ScenarioError};
pub use human::Episode;
pub use kinematics::{Body, Side};
pub use sensor::SensorModel;
pub use stepping::{GroundTruth, HumanTruth, Scenario};

// The walker scenes ([`crate::walkers`]) draw and observe their humans with the same code.
pub(crate) use kinematics::{figure_keypoints, FigurePose};
pub(crate) use sample::{exponential, gauss, uniform};
pub(crate) use sensor::{observe, NoiseOrder, OCCLUSION_GROUPS};

/// Internal integration step of the human motion [s] (120 Hz).
const GRID_DT_S: f64 = 1.0 / 120.0;
/// True motion is available this long after the scenario's end \[s\] (covers the 1 s prediction horizon).
pub const FUTURE_MARGIN_S: f64 = 2.0;
/// Acceleration limit of the planar motion [m/s²].
const MAX_ACCEL: f64 = 1.2;
/// Turn-rate limit of the body yaw [rad/s].
const MAX_YAW_RATE: f64 = 2.8;
/// Hip flexion amplitude at a normal walk [rad].
const HIP_AMPLITUDE: f64 = 0.36;
/// Peak swing-knee flexion at a normal walk [rad].
const KNEE_AMPLITUDE: f64 = 1.0;
/// Arm swing amplitude at a normal walk [rad].
const ARM_SWING: f64 = 0.32;
