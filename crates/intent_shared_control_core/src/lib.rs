//! Pure core of `intent_shared_control`.
//!
//! Everything that decides what the robot does lives here, free of ROS, of any async runtime and of the wall
//! clock: time is always an argument ([`Stamp`]), so the same code runs on wall time, sim time and bag time and
//! replays bit-identically. The ROS layer (crate `intent_shared_control`) only converts messages to these types,
//! calls `step`, and converts the result back.

pub mod arbitration;
pub mod assist;
pub mod config;
pub mod control;
pub mod features;
pub mod forecast_check;
pub mod health;
pub mod input;
pub mod kalman;
pub mod lifecycle;
pub mod model;
pub mod odometry;
pub mod planar;
pub mod prediction;
pub mod predictor;
pub mod rejection;
pub mod safety;
pub mod skeleton;
pub mod teleop;
pub mod time;
pub mod twist;

pub use control::{ConfigError, Controller, ControllerConfig, Decision, Mode};
pub use input::InputHandler;
pub use model::{IntentModel, ModelCard, ModelError, ModelInput, ModelOutput};
pub use prediction::{HumanPrediction, Intent};
pub use safety::Reason;
pub use skeleton::{HumanId, HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS};
pub use teleop::{JoyInput, Teleop, TeleopConfig, TeleopOutput, TeleopState};
pub use time::Stamp;
pub use twist::Twist;
