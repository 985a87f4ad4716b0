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
