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
//! Ranges, relations and descriptions are not written here: they come from the core's declaration of each
//! configuration field ([`ControllerConfig::catalog`], one table next to each configuration type), the same
//! tables [`ControllerConfig::validate`] checks. Every number the validation bounds has a descriptor range
//! ([`range`]), shown by `ros2 param describe` and enforced; a test proves the ranges and the validation agree.
//! Where the validation leaves a bound open (`> 0`, `< 1`) the range ends at the closest sensible closed value
//! ([`OPEN_MIN`], `0.999`), where it has no upper bound the range ends at `f64::MAX` (every finite value),
//! and constraints between parameters are declared as relations ([`crate::ros::param_server::Relation`]). Only what
//! the parameters add to the core is this module's own: `-1` for an unset index and the robot shape's three
//! parameters.

use std::collections::BTreeMap;

use std::sync::OnceLock;

use intent_shared_control_core::config::{
    Bound, Catalog, Cmp as CoreCmp, Range as CoreRange, Relation as CoreRelation,
};
use intent_shared_control_core::safety::RobotShape;
use intent_shared_control_core::{ControllerConfig, TeleopConfig};
use r2r::ParameterValue;
use serde_yaml::{Mapping, Value};

use crate::ros::param_server::{Cmp, ParamSpec, Range, Relation, RunTime};
use crate::ros::params::Params;

const TELEOP_AXES: [&str; 6] = TeleopConfig::BINDINGS;
const ROBOT: &str = "safety.separation.robot";
const ROBOT_TYPE: &str = "safety.separation.robot.type";
const ROBOT_RADIUS: &str = "safety.separation.robot.radius";
const POINTS: &str = "safety.separation.robot.points";

/// Default of `points` when the default shape has none (a radius robot): a 0.6 m square around the origin, as
/// an example to edit. ROS parameters cannot type an empty list, so the default is never empty.
const EXAMPLE_POINTS: [f64; 8] = [0.3, 0.3, -0.3, 0.3, -0.3, -0.3, 0.3, -0.3];

/// Closed lower end of a range where the validation requires `> 0` (and the step inside any open end of a
/// real number: `< 1` → `0.999`): 1 ms, 1 mm, 1 mm/s, ... is the smallest value that is sensible for any of
/// these parameters.
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

/// The core's declared fields and relations ([`ControllerConfig::catalog`]): the one source of the controller
/// parameters' ranges, relations and descriptions.
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(ControllerConfig::catalog)
}

/// What `-1` stands for where a parameter writes an optional index (an unset `Option` in the core).
fn unset_index(key: &str) -> Option<&'static str> {
    let axis = key.strip_prefix("teleop.").and_then(|k| k.strip_suffix(".axis"));
    match key {
        "teleop.turbo_button" => Some("none"),
        _ if axis.is_some_and(|a| TELEOP_AXES.contains(&a)) => Some("unused"),
        _ => None,
    }
}

/// The descriptor ends of a core [`CoreRange`]: closed bounds exactly, open ones one step inside
/// ([`OPEN_MIN`] for reals, 1 for integers), no bound the largest value of the type.
fn ends(range: CoreRange, integer: bool) -> (End, End) {
    let (max, step) = if integer { (i64::MAX as f64, 1.0) } else { (f64::MAX, OPEN_MIN) };
    let lo = match range.lower {
        Bound::Unbounded => End::Exact(-max),
        Bound::Closed(x) => End::Exact(x),
        Bound::Open(x) => End::Chosen(x + step),
    };
    let hi = match range.upper {
        Bound::Unbounded => End::Exact(max),
        Bound::Closed(x) => End::Exact(x),
        Bound::Open(x) => End::Chosen(x - step),
    };
    (lo, hi)
}

/// The range of a controller parameter as (lower end, upper end), for doubles, double arrays (each element)
/// and integers (ends converted), from the core's declaration of the field. `None`: not a number the validation
/// bounds (booleans, strings).
pub fn range(key: &str) -> Option<(End, End)> {
    match key {
        _ if key == ROBOT_RADIUS => return Some(ends(RobotShape::RADIUS, false)),
        POINTS => return Some(ends(CoreRange::FINITE, false)),
        _ => {}
    }
    let field = catalog().field(key)?;
    let (lo, hi) = ends(field.range?, field.integer);
    // -1 (and below) stands for an unset index
    Some((if unset_index(key).is_some() { End::Chosen(-1.0) } else { lo }, hi))
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

/// Constraints between controller parameters that [`ControllerConfig::validate`] enforces (the core's
/// declared relations): declared so that a rejected change names the parameter being set first.
pub fn relations() -> &'static [CoreRelation<String>] {
    &catalog().relations
}

/// Description (with unit) of every controller parameter: the core's declaration of the field, with what `-1`
/// means for an optional index; the robot shape's three parameters are this layer's own. A test checks that
/// every parameter has one.
fn description(key: &str) -> Option<String> {
    let shape = match key {
        ROBOT_TYPE => Some("robot extent: radius | polygon | control_points"),
        ROBOT_RADIUS => Some("disc radius (type radius) or radius around each control point [m]"),
        POINTS => Some(
            "polygon vertices (type polygon, >= 3) or control points (type control_points, >= 1) as a flat list \
             x1, y1, x2, y2, ... [m], e.g. [0.4, 0.3, -0.4, 0.3, -0.4, -0.3, 0.4, -0.3]; not used with type radius",
        ),
        _ => None,
    };
    if let Some(d) = shape {
        return Some(d.to_owned());
    }
    let field = catalog().field(key)?;
    Some(match (unset_index(key), field.unit_text()) {
        (Some(none), Some(unit)) => format!("{}, -1 = {none} {unit}", field.doc),
        _ => field.description(),
    })
}

/// How a running node may change the parameter `key` ([`RunTime`], from the core's declaration); the robot's
/// shape is set at start.
fn run_time(key: &str) -> RunTime {
    if key.starts_with(ROBOT) {
        return RunTime::Fixed;
    }
    catalog().field(key).map_or(RunTime::Any, |f| f.run_time)
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
            let d = description(&name).unwrap_or_else(|| "(undocumented)".to_owned());
            let r = spec_range(&name, &default);
            let own = relations().iter().filter(|r| r.field == name);
            let mut spec = ParamSpec::new(name.clone(), d, default).range_opt(r).run_time(run_time(&name));
            for rel in own {
                let op = match rel.cmp {
                    CoreCmp::Greater => Cmp::Greater,
                    CoreCmp::AtLeast => Cmp::AtLeast,
                };
                spec = spec.relation(Relation { op, other: rel.other.clone(), first: rel.first });
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
                let checked_v = crate::ros::param_server::check_value(spec, &v)
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
                        assert!(
                            crate::ros::param_server::check_value(spec, &v_out).is_err(),
                            "`{}` = {out}",
                            spec.name
                        );
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
        for r in relations() {
            assert!(defaults().contains_key(&r.field) && defaults().contains_key(&r.other), "{r:?}");
        }
        assert_eq!(relations().len(), 5);
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
            let r = crate::ros::param_server::check_relations(&specs, &values, &changed);
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
