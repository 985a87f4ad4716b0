//! The ROS plumbing the nodes share: message conversion, parameters, lifecycle services, diagnostics, metrics,
//! markers, logging and spin threads.

pub mod controller_params;
pub mod convert;
pub mod diagnostics;
pub mod lifecycle;
pub mod managed_node;
pub mod markers;
pub mod metrics;
pub mod node_util;
pub mod param_overrides;
pub mod param_server;
pub mod params;
