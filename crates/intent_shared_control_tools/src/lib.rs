//! Offline tools of `intent_shared_control`: every report-writing binary that needs no ROS (`simulate`,
//! `bench_cycle`, `export_training_data`, `evaluate_intent`, `bench_intent`) and the modules only they use.
//!
//! [`export`] turns seeded scenarios ([`intent_shared_control_sim::scenario`]) into model training data by
//! running the very feature pipeline the robot runs ([`intent_shared_control_core::features`]), so training
//! and inference cannot drift apart.

pub mod baselines;
pub mod card_update;
pub mod export;
pub mod metrics;
pub mod model_args;
pub mod real_eval;
