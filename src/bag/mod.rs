//! Bags: rosbag2 MCAP files, their offline replay and judge, and the generated scenario bags.

pub mod lookahead;
pub mod replay;
pub mod rosbag;
pub mod scenarios;
pub mod types;

pub use rosbag::{mcap_path, read_bag, serialize, BagMessage, BagWriter};
