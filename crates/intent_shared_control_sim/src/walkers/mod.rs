//! Walker scenes: seeded humans walking through the robot's workspace on straight lines, for the closed-loop
//! simulator ([`crate::sim`]).
//!
//! Coordinates are the simulator's world frame: the robot starts at the origin facing +x and drives toward a goal
//! at (8, 0); x forward, y left, z up, metres. Time 0 is `Stamp(0)`, the simulator's first cycle.
//!
//! Each human belongs to one [`WalkerFamily`] (head-on, overtaking, crossing, start from standing, slow down and
//! speed up again). A human moves on a straight line with a piecewise-constant acceleration, so position, speed
//! and acceleration are exact at any time: speeds stay ≤ [`MAX_SPEED`] and accelerations ≤ [`MAX_ACCEL`], below
//! the 2.5 m/s² that the safety chain's reachable set assumes. The body faces the walking direction, away from it
//! (walking backwards) or a random yaw ([`Facing`]), and either swings its legs and arms with a phase
//! proportional to the distance walked or moves rigidly ([`Gait`]).
//!
//! Skeletons are COCO-17 keypoints from the scenario generator's forward kinematics
//! ([`crate::scenario::Body`] dimensions: hips ≈ 0.53 · height, shoulders ≈ 0.82 · height, head centre ≈ 0.92 ·
//! height), walking only: no sway, lean, gestures or head turns. The pelvis stays at standing hip height on the
//! walking line, so the torso point (hip midpoint) moves exactly as the planned motion; the legs shorten a
//! little as they swing, so the feet never go below the ground.
//!
//! Observations ([`HumanSource::poll`]) are rendered at [`WalkerConfig::rate_hz`] (stamp = capture time, frame
//! `"world"`) through the sensor model of the scenario generator ([`NoiseConfig`]): keypoint noise (isotropic
//! plus depth noise along the viewing ray, seen from the robot's start pose at the origin), dropped keypoints,
//! confidences, occlusions, face self-occlusion, tracker id switches and swaps, stamp jitter and dropped frames.
//! Ground truth ([`HumanSource::truth`]) is noise-free and does not depend on the noise settings: the sensor
//! events are drawn from their own random streams, the noise of each frame from a stream of its own, so
//! observations are the same however the source is polled.
//!
//! Files: `config.rs` (families, facing, gait, the scene settings), `walker.rs` (one walker: its speed profile
//! and how it is drawn from the seed), `body.rs` (the figure, through the scenario generator's kinematics), `scene.rs` (the scene as a
//! [`HumanSource`]: sensor events, tracker ids, observations).
//!
//! [`HumanSource`]: crate::sim::HumanSource
//! [`HumanSource::poll`]: crate::sim::HumanSource::poll
//! [`HumanSource::truth`]: crate::sim::HumanSource::truth
//! [`NoiseConfig`]: crate::scenario::NoiseConfig

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

mod body;
mod config;
mod scene;
#[cfg(test)]
mod tests;
mod walker;

pub use body::{body_keypoints, walking_keypoints};
pub use config::{Facing, Gait, WalkerConfig, WalkerFamily};
pub use scene::WalkerHumans;
pub use walker::Walker;

/// Highest walking speed of any walker [m/s].
pub const MAX_SPEED: f64 = 2.0;
/// Highest acceleration of any walker's torso [m/s²].
pub const MAX_ACCEL: f64 = 2.0;
/// Highest acceleration when starting to walk from standing [m/s²].
pub const MAX_START_ACCEL: f64 = 1.5;
/// Frame id of the observations (the simulator moves them into the robot frame).
pub const WORLD_FRAME: &str = "world";
/// Number of walker families.
pub const NUM_FAMILIES: usize = 5;

/// Distance walked per full gait cycle (two steps), per metre of leg length [m/m].
const CYCLE_PER_LEG: f64 = 1.6;

/// A random sign.
fn sign(rng: &mut ChaCha8Rng) -> f64 {
    if rng.random_bool(0.5) {
        1.0
    } else {
        -1.0
    }
}
