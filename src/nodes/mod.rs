//! The three managed nodes (each on the host [`crate::ros::managed_node`]), the in-memory hand-over between two of
//! them, and the parameters file rendered from their declarations.

pub mod handoff;
pub mod intent_predictor;
pub mod params_file;
pub mod shared_control;
pub mod supervisor;
