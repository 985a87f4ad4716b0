//! The core's [`ControllerConfig`] as ROS parameters.
//!
//! The parameters are derived from the configuration struct itself: its default is flattened into dotted
//! names (`safety.zones.stop_distance`), and a parameter set is turned back into the struct with serde
//! (unknown keys refused) and checked by [`ControllerConfig::validate`] — the one validation for the params
//! file and runtime changes. Two values that ROS parameters cannot hold directly are mapped explicitly:
//! an unused teleop axis is `axis: -1` (and `turbo_button: -1`), and the robot shape is
//! `safety.separation.robot.{type, radius, points}` with `points` a YAML string like `"[[0.4, 0.3], ...]"`
//! (as nav2 does for footprints).

use std::collections::BTreeMap;

use intent_shared_control_core::ControllerConfig;
use r2r::ParameterValue;
use serde_yaml::{Mapping, Value};

use crate::param_server::ParamSpec;
use crate::params::Params;

const TELEOP_AXES: [&str; 6] = ["linear_x", "linear_y", "linear_z", "angular_x", "angular_y", "angular_z"];
const ROBOT: &str = "safety.separation.robot";

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
        "assist.handover_standoff" => "hand-over: distance from the robot origin to the offered hand where the robot stops [m]",
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
        "safety.validation.min_keypoint_confidence" => "keypoints with a lower confidence are not obstacles for the safety chain [0, 1]",
        "safety.separation.robot.type" => "robot extent: radius | polygon | control_points",
        "safety.separation.robot.radius" => "disc radius (type radius) or radius around each control point [m]",
        "safety.separation.robot.points" => "polygon vertices or control points as a YAML list of [x, y] [m], e.g. \"[[0.4, 0.3], [-0.4, 0.3], [-0.4, -0.3], [0.4, -0.3]]\"",
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
        "safety.separation.min_away_fraction" => "inside S_p(0, v_h) of someone, a command counts as moving away only with at least this share of its speed away from them [0, 1]",
        "safety.occlusion_memory" => "a human who leaves the view stays an obstacle at its last seen keypoints for this long [s]",
        "safety.occlusion_speed" => "distances to a remembered (occluded) human shrink at this speed with its age [m/s]",
        "safety.ego_motion_compensation" => "move observed and predicted points into the robot frame of the cycle by the robot's own (commanded) motion since their stamp",
        "safety.zones.min_away_fraction" => "in the stop zone, a command counts as moving away only with at least this share of its speed away from the human [0, 1]",
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
    out.insert(
        format!("{ROBOT}.points"),
        ParameterValue::String(
            shape
                .get("points")
                .map_or("[]".to_owned(), |p| serde_yaml::to_string(p).unwrap_or_default().trim().to_owned()),
        ),
    );
    out
}

/// Declared parameters of the controller configuration.
pub fn specs() -> Vec<ParamSpec> {
    defaults()
        .into_iter()
        .map(|(name, default)| {
            let d = description(&name).unwrap_or("(undocumented)");
            ParamSpec::new(name, d, default)
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
    let points_text = p.string_or(&format!("{ROBOT}.points"), "[]").map_err(|e| e.to_string())?;
    let points: Value = serde_yaml::from_str(&points_text)
        .map_err(|e| format!("`{ROBOT}.points` is not a YAML list of [x, y]: {e}"))?;
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
            (
                "safety.separation.robot.points",
                ParameterValue::String("[[0.4, 0.3], [-0.4, 0.3], [-0.4, -0.3], [0.4, -0.3]]".into()),
            ),
        ]))
        .expect("valid");
        assert_eq!(cfg.safety.zones.stop_distance, 0.5);
        assert_eq!(cfg.safety.zones.slowdown_distance, 2.0);
        assert!(cfg.teleop.linear_x.is_none());
        assert_eq!(cfg.teleop.linear_y.as_ref().map(|b| b.axis), Some(3));
        assert!(
            matches!(cfg.safety.separation.robot, intent_shared_control_core::safety::RobotShape::Polygon { ref points } if points.len() == 4)
        );
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
