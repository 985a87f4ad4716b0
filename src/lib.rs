//! ROS 2 layer of `intent_shared_control`: message conversion, parameters, lifecycle and the nodes.
//!
//! The nodes are thin: they convert messages into core types ([`ros::convert`]), call the core's `step` with the
//! time taken from the node's clock or the message stamps, convert the result back and publish. All decisions
//! live in `intent_shared_control_core`.
//!
//! Layers: [`ros`] (the plumbing every node shares, the managed-node host [`ros::managed_node`] among it),
//! [`nodes`] (the three nodes, each on that host), [`bag`] (bags, their replay and the generated scenarios).

pub mod bag;
pub mod nodes;
pub mod ros;

// The flat module paths from before `ros/`, `nodes/` and `bag/`, kept for code written against them.
pub use bag::{lookahead, replay, scenarios as bag_scenarios, types as bag_types};
pub use nodes::{
    intent_predictor as intent_predictor_node, params_file, shared_control as shared_control_node,
    supervisor as supervisor_node,
};
pub use ros::{
    controller_params, convert, diagnostics, lifecycle, managed_node, markers, metrics, node_util, param_overrides,
    param_server, params,
};
