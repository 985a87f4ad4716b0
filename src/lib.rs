//! ROS 2 layer of `intent_shared_control`: message conversion, parameters, lifecycle and the nodes.
//!
//! The nodes are thin: they convert messages into core types ([`convert`]), call the core's `step` with the
//! time taken from the node's clock or the message stamps, convert the result back and publish. All decisions
//! live in `intent_shared_control_core`.

pub mod bag;
pub mod bag_scenarios;
pub mod bag_types;
pub mod controller_params;
pub mod convert;
pub mod diagnostics;
pub mod intent_predictor_node;
pub mod lifecycle;
pub mod lookahead;
pub mod markers;
pub mod metrics;
pub mod node_util;
pub mod param_overrides;
pub mod param_server;
pub mod params;
pub mod params_file;
pub mod replay;
pub mod shared_control_node;
pub mod supervisor_node;
