//! Declared parameters with descriptions, units and ranges, served through the standard `rcl_interfaces`
//! services (`~/get_parameters`, `~/set_parameters`, `~/set_parameters_atomically`, `~/list_parameters`,
//! `~/describe_parameters`, `~/get_parameter_types`) and announced on `/parameter_events`.
//!
//! As in rclcpp: start-up overrides come from the params-file sections that match the node's fully qualified
//! name ([`crate::ros::param_overrides`]); types are exact (an integer is refused for a double). `use_sim_time` is
//! set at start (read-only, unlike rclcpp: see [`use_sim_time_spec`]). A read-only parameter cannot change at run time; setting it to its current value is accepted as a
//! no-op (rclcpp refuses it), so the output of `ros2 param dump` loads back with `ros2 param load`.
//!
//! Every change goes through the node's one validation function before it is applied: a rejected
//! `ros2 param set` leaves the old value in place and answers with the reason, naming the parameter being set
//! first (validate, then swap).

mod change;
mod server;
mod spec;
mod value;

#[cfg(test)]
mod tests;

pub use change::{check_relations, plan_change, resolve, resolve_overrides, Accepted, Resolution, Validator};
pub use server::ParamServer;
pub use spec::{descriptor, use_sim_time_spec, Cmp, ParamSpec, Range, Relation, RunTime};
pub use value::{check_range, check_type, check_value, value_from_msg, value_to_msg};
