//! The core's [`ControllerConfig`] as ROS parameters.
//!
//! The parameters are derived from the configuration struct itself: its default is flattened into dotted
//! names (`safety.zones.stop_distance`), and a parameter set is turned back into the struct with serde
//! (unknown keys refused) and checked by [`ControllerConfig::validate`] — the one validation for the params
//! file and runtime changes. Two values that ROS parameters cannot hold directly are mapped explicitly:
//! an unused teleop axis is `axis: -1` (and `turbo_button: -1`), and the robot shape is
//! `safety.separation.robot.{type, radius, points}` with `points` a flat double array `[x1, y1, x2, y2, ...]`
//! (it survives `ros2 param dump` / `load` and rcl's YAML parser; it is never empty by default, since an empty
//! list has no type in ROS parameters).
//!
//! Every number the validation bounds has a descriptor range ([`range`], one table), shown by
//! `ros2 param describe` and enforced; a test proves the table and the validation agree. The validation stays
//! the authority: where it leaves a bound open (`> 0`, `< 1`) the range ends at the closest sensible closed
//! value ([`OPEN_MIN`], `0.999`), where it has no upper bound the range ends at `f64::MAX` (every finite value),
//! and constraints between parameters are declared as relations ([`crate::param_server::Relation`]).

use std::collections::BTreeMap;

use intent_shared_control_core::ControllerConfig;
use r2r::ParameterValue;
use serde_yaml::{Mapping, Value};

use crate::param_server::{Cmp, ParamSpec, Range, Relation};
use crate::params::Params;

const TELEOP_AXES: [&str; 6] = ["linear_x", "linear_y", "linear_z", "angular_x", "angular_y", "angular_z"];
const ROBOT: &str = "safety.separation.robot";
const POINTS: &str = "safety.separation.robot.points";

/// Default of `points` when the default shape has none (a radius robot): a 0.6 m square around the origin, as
/// an example to edit. ROS parameters cannot type an empty list, so the default is never empty.
const EXAMPLE_POINTS: [f64; 8] = [0.3, 0.3, -0.3, 0.3, -0.3, -0.3, 0.3, -0.3];

/// Closed lower end of a range where the validation requires `> 0`: 1 ms, 1 mm, 1 mm/s, ... is the smallest
/// value that is sensible for any of these parameters.
pub const OPEN_MIN: f64 = 1e-3;

/// One end of a descriptor range and how it relates to [`ControllerConfig::validate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum End {
    /// The validation's own closed bound (`f64::MAX`: every finite value): just beyond it the validation
    /// rejects.
    Exact(f64),
    /// Chosen inside a bound the validation leaves open (`> 0` → [`OPEN_MIN`], `< 1` → `0.999`) or where the
    /// validation accepts more (a teleop index below -1 means "unused" like -1): the range refuses what lies
    /// between.
    Chosen(f64),
}

impl End {
    /// The value of the end.
    pub fn value(self) -> f64 {
        match self {
            End::Exact(x) | End::Chosen(x) => x,
        }
    }
}

/// The range of a controller parameter as (lower end, upper end), for doubles, double arrays (each element)
/// and integers (ends converted). `None`: not a number the validation bounds (booleans, strings).
pub fn range(key: &str) -> Option<(End, End)> {
    use End::{Chosen, Exact};
    const MAX: f64 = f64::MAX;
    // i64::MAX as f64 converts back to i64::MAX (saturating)
    const IMAX: f64 = i64::MAX as f64;
    let nonneg = Some((Exact(0.0), Exact(MAX)));
    let positive = Some((Chosen(OPEN_MIN), Exact(MAX)));
    let unit = Some((Exact(0.0), Exact(1.0)));
    if let Some(field) = key.strip_prefix("teleop.").and_then(|k| k.split_once('.')).map(|(_, f)| f) {
        return match field {
            "axis" => Some((Chosen(-1.0), Exact(IMAX))),
            "scale" | "scale_turbo" => Some((Exact(-MAX), Exact(MAX))),
            _ => None,
        };
    }
    match key {
        "teleop.deadman_button" => Some((Exact(0.0), Exact(IMAX))),
        "teleop.turbo_button" => Some((Chosen(-1.0), Exact(IMAX))),
        "teleop.deadzone" => Some((Exact(0.0), Chosen(0.999))),
        "teleop.timeout" => positive,
        "teleop.max_future" => nonneg,
        "assist.min_probability" | "assist.external_confidence" => unit,
        "assist.prediction_timeout" | "assist.external_timeout" => positive,
        "assist.backoff_distance"
        | "assist.backoff_speed"
        | "assist.handover_standoff"
        | "assist.handover_speed"
        | "assist.handover_gain"
        | "assist.yaw_gain"
        | "assist.max_yaw_rate"
        | "assist.hold_distance"
        | "assist.way_out_distance"
        | "assist.way_out_yaw_rate"
        | "assist.way_out_speed" => nonneg,
        "assist.way_out_straight_bearing" => Some((Exact(0.0), Exact(std::f64::consts::FRAC_PI_2))),
        "assist.way_out_max_bearing" => Some((Exact(0.0), Exact(std::f64::consts::PI))),
        "arbitration.alpha_max" => unit,
        "arbitration.confidence_floor" => Some((Exact(0.0), Chosen(0.999))),
        // > confidence_floor >= 0 (relation), <= 1
        "arbitration.confidence_full" => Some((Chosen(OPEN_MIN), Exact(1.0))),
        "arbitration.authority_full_push" => positive,
        "arbitration.angular_length" => nonneg,
        "safety.validation.max_linear"
        | "safety.validation.max_angular"
        | "safety.validation.max_range"
        | "safety.validation.prediction_timeout" => positive,
        "safety.validation.max_future" => nonneg,
        "safety.validation.min_keypoint_confidence" => unit,
        "safety.validation.hidden_hand_reach" => Some((Exact(0.0), Exact(2.0))),
        "safety.validation.max_lowest_keypoint_z" => Some((Exact(0.0), Exact(3.0))),
        "safety.separation.robot.radius" => Some((Exact(0.0), Exact(10.0))),
        "safety.separation.robot.points" => Some((Exact(-MAX), Exact(MAX))),
        "safety.separation.robot_height"
        | "safety.separation.robot_upper.radius"
        | "safety.separation.robot_upper.top" => Some((Exact(0.0), Exact(10.0))),
        "safety.separation.robot_upper.x" | "safety.separation.robot_upper.y" => Some((Exact(-10.0), Exact(10.0))),
        "safety.separation.reaction_time" => Some((Exact(0.0), Exact(2.0))),
        "safety.separation.braking_deceleration" => Some((Chosen(OPEN_MIN), Exact(20.0))),
        "safety.separation.intrusion_distance"
        | "safety.separation.human_uncertainty"
        | "safety.separation.robot_uncertainty"
        | "safety.separation.near_distance"
        | "safety.separation.prediction_uncertainty_rate"
        | "safety.separation.reach.velocity_uncertainty" => nonneg,
        "safety.separation.human_speed_far" | "safety.separation.reach.max_speed" | "safety.occlusion_speed" => {
            Some((Exact(1.6), Exact(MAX)))
        }
        // also >= human_speed_far (relation)
        "safety.separation.human_speed_near" | "safety.separation.reach.hand_speed" => Some((Exact(2.0), Exact(MAX))),
        "safety.separation.min_confidence" | "safety.separation.partial_view_away_fraction" => unit,
        "safety.separation.approach_tolerance.fraction" => Some((Exact(0.0), Exact(0.2))),
        "safety.separation.approach_tolerance.speed" => Some((Exact(0.0), Exact(0.05))),
        "safety.separation.not_closing_speed" => Some((Exact(0.0), Exact(0.5))),
        "safety.separation.reach.max_acceleration" => Some((Exact(1.0), Exact(MAX))),
        "safety.separation.reach.velocity_window" => Some((Exact(0.1), Exact(1.0))),
        "safety.separation.reach.min_observations" => Some((Exact(3.0), Exact(100.0))),
        "safety.separation.reach.arm_length" => Some((Exact(0.5), Exact(1.5))),
        "safety.separation.closing_speed_min_lookahead" => Some((Exact(0.0), Exact(1.0))),
        "safety.separation.prediction_time_margin" => Some((Exact(0.0), Exact(5.0))),
        "safety.separation.standstill_speed" => Some((Exact(0.0), Exact(0.1))),
        // slowdown_distance also >= stop_distance (relation)
        "safety.zones.stop_distance"
        | "safety.zones.slowdown_distance"
        | "safety.zones.hysteresis"
        | "safety.zones.slowdown_linear_speed"
        | "safety.zones.slowdown_angular_speed" => nonneg,
        "safety.zones.min_away_fraction" => unit,
        "safety.limits.max_velocity" => nonneg,
        // max_deceleration also >= max_acceleration and (vx, vy) >= braking_deceleration (relations)
        "safety.limits.max_acceleration" | "safety.limits.max_deceleration" | "safety.limits.max_jerk" => positive,
        "safety.limits.max_dt" => Some((Chosen(OPEN_MIN), Exact(1.0))),
        "safety.occlusion_memory" => Some((Exact(0.0), Exact(10.0))),
        "safety.keypoint_memory" => Some((Exact(0.0), Exact(2.0))),
        "safety.watchdog.skeleton_timeout" | "safety.watchdog.max_cycle_gap" => positive,
        _ => None,
    }
}

/// The descriptor range of a controller parameter with default `default` (see [`range`]).
fn spec_range(key: &str, default: &ParameterValue) -> Option<Range> {
    let (lo, hi) = range(key)?;
    Some(match default {
        ParameterValue::Integer(_) | ParameterValue::IntegerArray(_) => {
            Range::Int(lo.value() as i64, hi.value() as i64)
        }
        _ => Range::Float(lo.value(), hi.value()),
    })
}

/// Constraints between controller parameters that [`ControllerConfig::validate`] enforces, as
/// (parameter, comparison, other parameter, only the first elements): declared so that a rejected change names
/// the parameter being set first.
pub const RELATIONS: [(&str, Cmp, &str, Option<usize>); 5] = [
    ("arbitration.confidence_full", Cmp::Greater, "arbitration.confidence_floor", None),
    ("safety.separation.human_speed_near", Cmp::AtLeast, "safety.separation.human_speed_far", None),
    ("safety.zones.slowdown_distance", Cmp::AtLeast, "safety.zones.stop_distance", None),
    ("safety.limits.max_deceleration", Cmp::AtLeast, "safety.limits.max_acceleration", None),
    // vx and vy: the drive brakes at least as hard as separation monitoring assumes
    ("safety.limits.max_deceleration", Cmp::AtLeast, "safety.separation.braking_deceleration", Some(2)),
];

/// Description (with unit) of every controller parameter. A test checks that the table covers exactly the
/// parameters the configuration has.
fn description(key: &str) -> Option<&'static str> {
    let axis_field = key.strip_prefix("teleop.").and_then(|k| k.split_once('.')).map(|(_, f)| f);
    if let Some(f) = axis_field {
        return match f {
            "axis" => Some("Joy.axes index driving this twist component, -1 = unused [index]"),
            "scale" => Some("output at full deflection [m/s or rad/s]"),
            "scale_turbo" => Some("output at full deflection with the turbo button held [m/s or rad/s]"),
            _ => None,
        };
    }
    Some(match key {
        "teleop.deadman_button" => "Joy.buttons index that must be held to move [index]",
        "teleop.turbo_button" => "Joy.buttons index selecting the *_turbo scales, -1 = none [index]",
        "teleop.deadzone" => "axis values below this magnitude count as 0 [-]",
        "teleop.timeout" => "a Joy older than this (header stamp) yields an explicit zero [s]",
        "teleop.max_future" => "a Joy stamped further than this in the future is rejected [s]",
        "assist.builtin_enabled" => "use the built-in intent policies when no fresh external assist command is present",
        "assist.min_probability" => "minimum probability of the most likely intent for a policy to act [0, 1]",
        "assist.prediction_timeout" => "a prediction older than this is ignored by the assistance [s]",
        "assist.backoff_distance" => "back-off acts when an approaching human's torso is closer than this [m]",
        "assist.backoff_speed" => "back-off speed, straight away from the human [m/s]",
        "assist.handover_standoff" => "hand-over: distance from the robot's surface to the offered hand where the robot stops [m]; never less than S_p(0) of a person standing still (the chain's own no-approach distance, 0.46 m with the defaults)",
        "assist.way_out_distance" => "way out: acts for an idle person whose torso is ahead of or beside the robot (within way_out_max_bearing) and closer to its origin than this [m]",
        "assist.way_out_max_bearing" => "way out: acts for a person within this bearing of the robot's heading [rad] (a little past abeam)",
        "assist.way_out_yaw_rate" => "way out: yaw rate turning away from the person's side [rad/s]",
        "assist.way_out_speed" => "way out: backing-off speed while the person is nearly straight ahead [m/s]",
        "assist.way_out_straight_bearing" => "way out: the person counts as straight ahead within this bearing [rad]",
        "assist.handover_speed" => "hand-over: highest approach speed [m/s]",
        "assist.handover_gain" => "hand-over: approach speed per metre of remaining distance [1/s]",
        "assist.yaw_gain" => "hand-over: yaw rate per radian of bearing to the hand [1/s]",
        "assist.max_yaw_rate" => "hand-over: highest yaw rate [rad/s]",
        "assist.hold_distance" => "hold acts when a passing human's predicted torso path comes closer than this [m]",
        "assist.external_timeout" => "an external assist command (assist/cmd_vel) older than this is ignored [s]",
        "assist.external_confidence" => "confidence attached to a fresh external assist command [0, 1]",
        "arbitration.alpha_max" => "highest blend weight of the assistance [0, 1]",
        "arbitration.confidence_floor" => "confidence at or below which alpha = 0 [0, 1)",
        "arbitration.confidence_full" => "confidence at or above which alpha = alpha_max (confidence_floor, 1]",
        "arbitration.authority_full_push" => "operator speed against the assist that removes all assistance [m/s]",
        "arbitration.angular_length" => "length converting angular rates into speeds when comparing commands [m/rad]",
        "safety.validation.expected_frame" => "frame the skeletons must be in (the robot's command frame)",
        "safety.validation.max_linear" => "largest plausible linear command component; beyond it the command is rejected [m/s]",
        "safety.validation.max_angular" => "largest plausible angular command component; beyond it the command is rejected [rad/s]",
        "safety.validation.max_range" => "largest plausible keypoint distance from the robot [m]",
        "safety.validation.require_skeletons" => "stop while no skeleton capture was received yet (people cannot be seen)",
        "safety.validation.max_future" => "a stamp further than this ahead of the cycle time is invalid [s]",
        "safety.validation.prediction_timeout" => "a prediction older than this is not used by the safety chain [s]",
        "safety.validation.hidden_hand_reach" => "reach of a hidden hand from the visible elbow, the visible shoulder of its arm, and the other shoulder; 0 turns a case off [m]",
        "safety.validation.max_lowest_keypoint_z" => "a person whose lowest seen keypoint is higher than this above z = 0 of the robot frame (legs hidden, wrong heights, a forged message) is checked in the plane, heights not believed [m]",
        "safety.validation.min_keypoint_confidence" => "keypoints with a lower confidence are not obstacles for the safety chain [0, 1]",
        "safety.separation.robot.type" => "robot extent: radius | polygon | control_points",
        "safety.separation.robot.radius" => "disc radius (type radius) or radius around each control point [m]",
        "safety.separation.robot.points" => "polygon vertices (type polygon, >= 3) or control points (type control_points, >= 1) as a flat list x1, y1, x2, y2, ... [m], e.g. [0.4, 0.3, -0.4, 0.3, -0.4, -0.3, 0.4, -0.3]; not used with type radius",
        "safety.separation.robot_height" => "top of the robot's base above z = 0 of the command frame [m]: keypoint distances are 3-D, to the footprint extruded up to this height (10: taller than anyone, the planar check)",
        "safety.separation.robot_upper.radius" => "optional upper part above the base (mast, arm envelope, load): vertical cylinder radius [m], 0 = none",
        "safety.separation.robot_upper.x" => "axis of the upper cylinder in the command frame, x [m]",
        "safety.separation.robot_upper.y" => "axis of the upper cylinder in the command frame, y [m]",
        "safety.separation.robot_upper.top" => "top of the upper cylinder above z = 0 of the command frame [m]",
        "safety.separation.reaction_time" => "reaction time T_r of the robot system, sensing to braking onset [s]",
        "safety.separation.braking_deceleration" => "guaranteed braking deceleration a_s [m/s^2]",
        "safety.separation.intrusion_distance" => "intrusion distance C [m]",
        "safety.separation.human_uncertainty" => "human position uncertainty Z_d [m]",
        "safety.separation.robot_uncertainty" => "robot position uncertainty Z_r [m]",
        "safety.separation.human_speed_far" => "conservative human speed beyond near_distance [m/s] (ISO 13855: 1.6)",
        "safety.separation.human_speed_near" => "conservative human speed within near_distance [m/s] (ISO 13855: 2.0)",
        "safety.separation.near_distance" => "distance below which human_speed_near applies [m] (ISO 13855: 0.5)",
        "safety.separation.min_confidence" => "a prediction is used only when its confidence is at least this [0, 1]",
        "safety.separation.reach.enabled" => "use the reachable set of observed people; false: the standard's constant human speeds for everyone",
        "safety.separation.reach.max_speed" => "speed a person may reach toward the robot; an observed faster person keeps their speed [m/s]",
        "safety.separation.reach.max_acceleration" => "largest acceleration of a person's body toward the robot [m/s^2]",
        "safety.separation.reach.velocity_uncertainty" => "added to the fitted closing speed for keypoint noise [m/s]",
        "safety.separation.reach.velocity_window" => "time span of torso positions the velocity is fitted over [s]",
        "safety.separation.reach.min_observations" => "fewer torso positions in the window: the standard's speeds [-]",
        "safety.separation.reach.hand_speed" => "speed of a hand reaching out relative to the body [m/s]",
        "safety.separation.reach.arm_length" => "how far a hand reaches from its shoulder [m]",
        "safety.separation.prediction_uncertainty_rate" => "growth of the predicted-position uncertainty with look-ahead time [m/s]",
        "safety.separation.closing_speed_min_lookahead" => "the predicted closing speed is taken over look-aheads of at least this (shorter ones turn keypoint noise into speed) [s]",
        "safety.separation.prediction_time_margin" => "predicted points are checked up to the command's stopping time (reaction + braking) plus this [s]",
        "safety.separation.standstill_speed" => "admissible approach speeds below this count as 0, so the robot stops instead of creeping closer [m/s]",
        "safety.separation.partial_view_away_fraction" => "for a person seen only in part: inside S_p(0, v_h), a command counts as moving away only with at least this share of its speed away from them [0, 1]",
        "safety.separation.approach_tolerance.fraction" => "a command whose speed toward a point is at most this share of the robot surface's speed there (and at most approach_tolerance.speed) does not approach it: turning, sliding past and moving away go on next to a person seen whole [0, 0.2]",
        "safety.separation.not_closing_speed" => "next to a person seen whole whose fitted torso velocity toward the robot is at most this (standing, swaying, leaving), a motion that approaches none of their points goes on inside S_p(0) [m/s]",
        "safety.separation.approach_tolerance.speed" => "a command whose speed toward a point is at most this (and at most approach_tolerance.fraction of the surface speed) does not approach it [m/s]",
        "safety.occlusion_memory" => "a human who leaves the view stays an obstacle at its last seen keypoints for this long [s]",
        "safety.keypoint_memory" => "a keypoint missing from a frame but seen at most this long before stays an obstacle where it was seen, inflated by occlusion_speed times its age; a person with every keypoint seen or so bounded counts as seen whole [s]",
        "safety.occlusion_speed" => "distances to a remembered (occluded) human shrink at this speed with its age [m/s]",
        "safety.ego_motion_compensation" => "move observed and predicted points into the robot frame of the cycle by the robot's own (commanded) motion since their stamp",
        "safety.zones.min_away_fraction" => "in the stop zone, a command counts as moving away only with at least this share of its speed away from the human (a person seen only in part: else stopped; seen whole: else at slowdown speeds) [0, 1]",
        "safety.zones.stop_distance" => "stop zone radius from the robot's surface [m]",
        "safety.zones.slowdown_distance" => "slowdown zone radius from the robot's surface, >= stop_distance [m]",
        "safety.zones.hysteresis" => "extra distance needed to leave a zone [m]",
        "safety.zones.slowdown_linear_speed" => "linear speed limit in the slowdown zone [m/s]",
        "safety.zones.slowdown_angular_speed" => "angular speed limit in the slowdown zone [rad/s]",
        "safety.limits.max_velocity" => "highest speed per axis vx, vy, vz, wx, wy, wz [m/s | rad/s]",
        "safety.limits.max_acceleration" => "highest acceleration per axis when speeding up [m/s^2 | rad/s^2]",
        "safety.limits.max_deceleration" => "highest deceleration per axis when slowing down [m/s^2 | rad/s^2]",
        "safety.limits.max_jerk" => "highest jerk per axis [m/s^3 | rad/s^3]",
        "safety.limits.max_dt" => "longest time step used by the limiter; longer gaps count as this [s]",
        "safety.watchdog.skeleton_timeout" => "skeletons older than this are stale: protective stop [s]",
        "safety.watchdog.max_cycle_gap" => "longest allowed time between two control cycles [s]",
        _ => return None,
    })
}

fn to_param(v: &Value) -> Option<ParameterValue> {
    match v {
        Value::Bool(b) => Some(ParameterValue::Bool(*b)),
        Value::Number(n) if n.is_i64() => n.as_i64().map(ParameterValue::Integer),
        Value::Number(n) => n.as_f64().map(ParameterValue::Double),
        Value::String(s) => Some(ParameterValue::String(s.clone())),
        Value::Sequence(seq) => {
            let nums: Option<Vec<f64>> = seq.iter().map(|x| x.as_f64()).collect();
            nums.map(ParameterValue::DoubleArray)
        }
        _ => None,
    }
}

fn to_yaml(v: &ParameterValue) -> Value {
    match v {
        ParameterValue::Bool(b) => Value::Bool(*b),
        ParameterValue::Integer(i) => Value::Number((*i).into()),
        ParameterValue::Double(d) => Value::Number((*d).into()),
        ParameterValue::String(s) => Value::String(s.clone()),
        ParameterValue::DoubleArray(a) => Value::Sequence(a.iter().map(|x| Value::Number((*x).into())).collect()),
        ParameterValue::IntegerArray(a) => Value::Sequence(a.iter().map(|x| Value::Number((*x).into())).collect()),
        ParameterValue::StringArray(a) => Value::Sequence(a.iter().map(|x| Value::String(x.clone())).collect()),
        ParameterValue::BoolArray(a) => Value::Sequence(a.iter().map(|x| Value::Bool(*x)).collect()),
        ParameterValue::ByteArray(_) | ParameterValue::NotSet => Value::Null,
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, ParameterValue>) {
    if let Value::Mapping(m) = v {
        for (k, child) in m {
            if let Some(k) = k.as_str() {
                let key = if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
                flatten(&key, child, out);
            }
        }
    } else if let Some(p) = to_param(v) {
        out.insert(prefix.to_owned(), p);
    }
}

/// The default configuration as parameter values (the controller part of the node's parameters).
pub fn defaults() -> BTreeMap<String, ParameterValue> {
    let mut v = serde_yaml::to_value(ControllerConfig::default()).unwrap_or(Value::Null);
    // unused teleop axes and no turbo button → -1 (a parameter cannot be null)
    if let Some(t) = v.get_mut("teleop").and_then(Value::as_mapping_mut) {
        for axis in TELEOP_AXES {
            if t.get(axis).is_none_or(Value::is_null) {
                let mut b = Mapping::new();
                b.insert("axis".into(), Value::Number((-1).into()));
                b.insert("scale".into(), Value::Number(0.0.into()));
                b.insert("scale_turbo".into(), Value::Number(0.0.into()));
                t.insert(axis.into(), Value::Mapping(b));
            }
        }
        if t.get("turbo_button").is_none_or(Value::is_null) {
            t.insert("turbo_button".into(), Value::Number((-1).into()));
        }
    }
    let mut out = BTreeMap::new();
    flatten("", &v, &mut out);
    // robot shape: always the three parameters, whatever the default variant
    out.retain(|k, _| !k.starts_with(ROBOT));
    let shape = serde_yaml::to_value(&ControllerConfig::default().safety.separation.robot).unwrap_or(Value::Null);
    out.insert(
        format!("{ROBOT}.type"),
        ParameterValue::String(shape.get("type").and_then(Value::as_str).unwrap_or("radius").to_owned()),
    );
    out.insert(
        format!("{ROBOT}.radius"),
        ParameterValue::Double(shape.get("radius").and_then(Value::as_f64).unwrap_or(0.3)),
    );
    let points: Vec<f64> = shape
        .get("points")
        .and_then(Value::as_sequence)
        .map(|pts| pts.iter().filter_map(Value::as_sequence).flatten().filter_map(Value::as_f64).collect())
        .filter(|p: &Vec<f64>| !p.is_empty())
        .unwrap_or_else(|| EXAMPLE_POINTS.to_vec());
    out.insert(POINTS.to_owned(), ParameterValue::DoubleArray(points));
    out
}

/// Declared parameters of the controller configuration, with their ranges and relations.
pub fn specs() -> Vec<ParamSpec> {
    defaults()
        .into_iter()
        .map(|(name, default)| {
            let d = description(&name).unwrap_or("(undocumented)");
            let r = spec_range(&name, &default);
            let mut spec = ParamSpec::new(name, d, default).range_opt(r);
            for (key, op, other, first) in RELATIONS {
                if key == spec.name {
                    spec = spec.relation(Relation { op, other: other.to_owned(), first });
                }
            }
            spec
        })
        .collect()
}

fn insert_path(root: &mut Mapping, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.into(), value);
            return;
        }
        let entry = cur.entry(part.into()).or_insert_with(|| Value::Mapping(Mapping::new()));
        if !entry.is_mapping() {
            *entry = Value::Mapping(Mapping::new());
        }
        match entry.as_mapping_mut() {
            Some(m) => cur = m,
            None => return,
        }
    }
}

/// Builds and validates the controller configuration from the node's parameters (only keys of
/// [`defaults`] are read). The error names the parameter and what is allowed.
pub fn from_params(p: &Params) -> Result<ControllerConfig, String> {
    let mut root = Mapping::new();
    for key in defaults().keys() {
        if key.starts_with(ROBOT) {
            continue;
        }
        if let Some(v) = p.value(key) {
            insert_path(&mut root, key, to_yaml(v));
        }
    }
    if let Some(Value::Mapping(t)) = root.get_mut("teleop") {
        for axis in TELEOP_AXES {
            if t.get(axis).and_then(|b| b.get("axis")).and_then(Value::as_i64).is_some_and(|a| a < 0) {
                t.insert(axis.into(), Value::Null);
            }
        }
        if t.get("turbo_button").and_then(Value::as_i64).is_some_and(|b| b < 0) {
            t.insert("turbo_button".into(), Value::Null);
        }
    }
    let kind = p.string_or(&format!("{ROBOT}.type"), "radius").map_err(|e| e.to_string())?;
    let radius = p.f64_or(&format!("{ROBOT}.radius"), 0.3).map_err(|e| e.to_string())?;
    let flat = p.f64_array_or(POINTS, &EXAMPLE_POINTS).map_err(|e| e.to_string())?;
    if flat.len() % 2 != 0 {
        return Err(format!("`{POINTS}` must list x, y pairs (an even count of numbers), got {}", flat.len()));
    }
    let points = Value::Sequence(
        flat.chunks(2).map(|c| Value::Sequence(c.iter().map(|x| Value::Number((*x).into())).collect())).collect(),
    );
    let mut shape = Mapping::new();
    shape.insert("type".into(), Value::String(kind.clone()));
    match kind.as_str() {
        "radius" => {
            shape.insert("radius".into(), Value::Number(radius.into()));
        }
        "polygon" => {
            shape.insert("points".into(), points);
        }
        "control_points" => {
            shape.insert("points".into(), points);
            shape.insert("radius".into(), Value::Number(radius.into()));
        }
        other => return Err(format!("`{ROBOT}.type` must be radius, polygon or control_points, got `{other}`")),
    }
    insert_path(&mut root, ROBOT, Value::Mapping(shape));
    let cfg: ControllerConfig =
        serde_yaml::from_value(Value::Mapping(root)).map_err(|e| format!("controller parameters: {e}"))?;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(over: &[(&str, ParameterValue)]) -> Params {
        let mut v: std::collections::HashMap<String, ParameterValue> = defaults().into_iter().collect();
        for (k, x) in over {
            v.insert((*k).to_owned(), x.clone());
        }
        Params::from_values(v)
    }

    #[test]
    fn every_parameter_is_documented() {
        let missing: Vec<String> = defaults().into_keys().filter(|k| description(k).is_none()).collect();
        assert!(missing.is_empty(), "parameters without a description: {missing:?}");
    }

    #[test]
    fn defaults_round_trip() {
        assert_eq!(from_params(&params(&[])).expect("defaults are valid"), ControllerConfig::default());
    }

    #[test]
    fn changes_and_special_mappings_apply() {
        let cfg = from_params(&params(&[
            ("safety.zones.stop_distance", ParameterValue::Double(0.5)),
            ("safety.zones.slowdown_distance", ParameterValue::Integer(2)),
            ("teleop.linear_x.axis", ParameterValue::Integer(-1)),
            ("teleop.linear_y.axis", ParameterValue::Integer(3)),
            ("teleop.linear_y.scale", ParameterValue::Double(0.2)),
            ("safety.separation.robot.type", ParameterValue::String("polygon".into())),
            (POINTS, ParameterValue::DoubleArray(vec![0.4, 0.3, -0.4, 0.3, -0.4, -0.3, 0.4, -0.25])),
        ]))
        .expect("valid");
        assert_eq!(cfg.safety.zones.stop_distance, 0.5);
        assert_eq!(cfg.safety.zones.slowdown_distance, 2.0);
        assert!(cfg.teleop.linear_x.is_none());
        assert_eq!(cfg.teleop.linear_y.as_ref().map(|b| b.axis), Some(3));
        assert!(
            matches!(cfg.safety.separation.robot, intent_shared_control_core::safety::RobotShape::Polygon { ref points } if points.len() == 4 && points[3] == [0.4, -0.25])
        );
    }

    #[test]
    fn robot_points_are_a_flat_list_of_pairs() {
        assert_eq!(defaults()[POINTS], ParameterValue::DoubleArray(EXAMPLE_POINTS.to_vec()), "never empty");
        let polygon = |pts: Vec<f64>| {
            from_params(&params(&[
                ("safety.separation.robot.type", ParameterValue::String("polygon".into())),
                (POINTS, ParameterValue::DoubleArray(pts)),
            ]))
        };
        let e = polygon(vec![0.4, 0.3, -0.4]).expect_err("odd count");
        assert!(e.contains("x, y pairs"), "{e}");
        assert!(polygon(vec![0.4, 0.3, -0.4, 0.3]).is_err(), "a polygon needs 3 vertices");
        let cfg = from_params(&params(&[
            ("safety.separation.robot.type", ParameterValue::String("control_points".into())),
            (POINTS, ParameterValue::DoubleArray(vec![0.2, 0.0])),
        ]))
        .expect("one control point");
        assert!(matches!(
            cfg.safety.separation.robot,
            intent_shared_control_core::safety::RobotShape::ControlPoints { ref points, radius } if points == &[[0.2, 0.0]] && radius == 0.3
        ));
    }

    /// The other parameters set so that the relations hold while `key` is at `x` (every element of an array).
    fn companions(key: &str, x: f64) -> Vec<(String, ParameterValue)> {
        use ParameterValue::{Double, DoubleArray, Integer, String as Str};
        let axis = key.strip_prefix("teleop.").and_then(|k| k.split_once('.')).map(|(a, _)| a);
        match key {
            "arbitration.confidence_full" => vec![("arbitration.confidence_floor".into(), Double(0.0))],
            "arbitration.confidence_floor" => vec![("arbitration.confidence_full".into(), Double(1.0))],
            "safety.separation.human_speed_far" => {
                vec![("safety.separation.human_speed_near".into(), Double(x.max(2.0)))]
            }
            "safety.separation.human_speed_near" => vec![("safety.separation.human_speed_far".into(), Double(1.6))],
            "safety.zones.stop_distance" => vec![("safety.zones.slowdown_distance".into(), Double(x.max(0.0)))],
            "safety.zones.slowdown_distance" => vec![("safety.zones.stop_distance".into(), Double(0.0))],
            "safety.limits.max_acceleration" | "safety.separation.braking_deceleration" => {
                vec![("safety.limits.max_deceleration".into(), DoubleArray(vec![f64::MAX; 6]))]
            }
            "safety.limits.max_deceleration" => vec![
                ("safety.limits.max_acceleration".into(), DoubleArray(vec![x.min(1.0); 6])),
                ("safety.separation.braking_deceleration".into(), Double(x.min(1.5))),
            ],
            POINTS => vec![("safety.separation.robot.type".into(), Str("polygon".into()))],
            _ if key.ends_with(".scale") || key.ends_with(".scale_turbo") => {
                vec![(format!("teleop.{}.axis", axis.unwrap_or_default()), Integer(0))]
            }
            _ => vec![],
        }
    }

    /// `key` at `x` (every element of an array), as the declared type holds it.
    fn at(default: &ParameterValue, x: f64) -> ParameterValue {
        match default {
            ParameterValue::Integer(_) => ParameterValue::Integer(x as i64),
            ParameterValue::DoubleArray(a) => ParameterValue::DoubleArray(vec![x; a.len()]),
            _ => ParameterValue::Double(x),
        }
    }

    /// Just beyond an end, away from the range (`None`: nothing lies beyond, e.g. `i64::MAX`).
    fn beyond(default: &ParameterValue, end: f64, upward: bool) -> Option<f64> {
        let sign = if upward { 1.0 } else { -1.0 };
        match default {
            ParameterValue::Integer(_) if end >= i64::MAX as f64 => None,
            ParameterValue::Integer(_) => Some(end + sign),
            _ if end.abs() == f64::MAX => Some(sign * f64::INFINITY),
            _ => Some(end + sign * 1e-9 * end.abs().max(1.0)),
        }
    }

    fn with(key: &str, v: ParameterValue, x: f64) -> Params {
        let mut over: Vec<(String, ParameterValue)> = companions(key, x);
        over.push((key.to_owned(), v));
        let refs: Vec<(&str, ParameterValue)> = over.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        params(&refs)
    }

    /// The descriptor ranges agree with the validation, starting from the defaults: both ends of every range are
    /// accepted by the full check (type and range, then [`from_params`]); just beyond an `Exact` end the validation
    /// alone rejects the value; just beyond a `Chosen` end the validation alone accepts it and the range refuses
    /// it. Relations are kept satisfied by [`companions`] (e.g. `confidence_full` at its lower end with
    /// `confidence_floor` 0).
    #[test]
    fn ranges_agree_with_the_validation() {
        let specs = specs();
        let mut checked = 0;
        for spec in specs.iter().filter(|s| s.range.is_some()) {
            let (lo, hi) = range(&spec.name).expect("a range comes from the table");
            for (end, upward) in [(lo, false), (hi, true)] {
                let x = end.value();
                let v = at(&spec.default, x);
                let checked_v = crate::param_server::check_value(spec, &v)
                    .unwrap_or_else(|e| panic!("`{}` end {x} refused by its own range: {e}", spec.name));
                if let Err(e) = from_params(&with(&spec.name, checked_v, x)) {
                    panic!("`{}` at its range end {x} is rejected by the validation: {e}", spec.name);
                }
                let Some(out) = beyond(&spec.default, x, upward) else { continue };
                let v_out = at(&spec.default, out);
                let validation = from_params(&with(&spec.name, v_out.clone(), out));
                match end {
                    End::Exact(_) => assert!(
                        validation.is_err(),
                        "`{}` = {out} (just beyond the exact end {x}) is accepted by the validation",
                        spec.name
                    ),
                    End::Chosen(_) => {
                        assert!(
                            validation.is_ok(),
                            "`{}` = {out}: the chosen end {x} is not inside: {validation:?}",
                            spec.name
                        );
                        assert!(crate::param_server::check_value(spec, &v_out).is_err(), "`{}` = {out}", spec.name);
                    }
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked}");
    }

    /// Every relation names two controller parameters (that every number has a range is checked for all
    /// nodes in `params_file`).
    #[test]
    fn relations_name_controller_parameters() {
        for (key, _, other, _) in RELATIONS {
            assert!(defaults().contains_key(key) && defaults().contains_key(other), "{key} / {other}");
        }
    }

    /// Each declared relation is enforced by the validation: violated, the validation rejects; at equality it
    /// accepts (`AtLeast`) or rejects (`Greater`).
    #[test]
    fn relations_agree_with_the_validation() {
        use ParameterValue::{Double, DoubleArray};
        let cases: [(&[(&str, ParameterValue)], bool); 12] = [
            (&[("arbitration.confidence_full", Double(0.5))], false),
            (&[("arbitration.confidence_full", Double(0.51))], true),
            (&[("arbitration.confidence_floor", Double(0.9))], false),
            (&[("safety.separation.human_speed_far", Double(2.0))], true),
            (&[("safety.separation.human_speed_far", Double(2.1))], false),
            (&[("safety.zones.slowdown_distance", Double(0.3))], true),
            (&[("safety.zones.stop_distance", Double(1.01))], false),
            (&[("safety.limits.max_deceleration", DoubleArray(vec![2.0, 2.0, 1.0, 2.0, 2.0, 2.0]))], true),
            (&[("safety.limits.max_deceleration", DoubleArray(vec![2.0, 2.0, 0.9, 4.0, 4.0, 4.0]))], false),
            (&[("safety.limits.max_deceleration", DoubleArray(vec![1.4, 2.0, 2.0, 4.0, 4.0, 4.0]))], false),
            (&[("safety.separation.braking_deceleration", Double(2.0))], true),
            (&[("safety.separation.braking_deceleration", Double(2.1))], false),
        ];
        let specs = specs();
        let defaults: std::collections::BTreeMap<String, ParameterValue> = defaults();
        for (over, valid) in cases {
            let p = params(over);
            assert_eq!(from_params(&p).is_ok(), valid, "validation of {over:?}");
            let mut values = defaults.clone();
            values.extend(over.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            let changed: Vec<String> = over.iter().map(|(k, _)| (*k).to_owned()).collect();
            let r = crate::param_server::check_relations(&specs, &values, &changed);
            assert_eq!(r.is_ok(), valid, "relations of {over:?}: {r:?}");
            if let Err(e) = r {
                assert!(e.starts_with(&format!("`{}`", changed[0])), "names the changed parameter first: {e}");
            }
        }
    }

    #[test]
    fn unsafe_values_are_rejected_with_the_field_name() {
        let e = from_params(&params(&[("safety.separation.human_speed_far", ParameterValue::Double(1.0))]))
            .expect_err("unsafe");
        assert!(e.contains("safety.separation.human_speed_far"), "{e}");
        let e = from_params(&params(&[("safety.separation.robot.type", ParameterValue::String("blob".into()))]))
            .expect_err("bad shape");
        assert!(e.contains("robot.type"), "{e}");
    }
}
