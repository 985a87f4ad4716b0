//! The three managed nodes and the parameters file rendered from their declarations.

pub mod intent_predictor;
pub mod params_file;
pub mod shared_control;
pub mod supervisor;
