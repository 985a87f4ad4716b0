//! Offline tools of `intent_shared_control`.
//!
//! [`export`] turns seeded scenarios ([`intent_shared_control_sim::scenario`]) into model training data by
//! running the very feature pipeline the robot runs ([`intent_shared_control_core::features`]), so training
//! and inference cannot drift apart.

pub mod card_update;
pub mod export;
pub mod metrics;
pub mod model_args;
