//! Parameter values: conversion to and from `rcl_interfaces/ParameterValue` and the checks of a value against its
//! declaration (exact type, range).

use intent_shared_control_core::config::RunTime;
use r2r::rcl_interfaces::msg as rm;
use r2r::ParameterValue;

use super::spec::{indexed, Num, ParamSpec, Range};

pub(super) fn type_id(v: &ParameterValue) -> u8 {
    match v {
        ParameterValue::NotSet => 0,
        ParameterValue::Bool(_) => 1,
        ParameterValue::Integer(_) => 2,
        ParameterValue::Double(_) => 3,
        ParameterValue::String(_) => 4,
        ParameterValue::ByteArray(_) => 5,
        ParameterValue::BoolArray(_) => 6,
        ParameterValue::IntegerArray(_) => 7,
        ParameterValue::DoubleArray(_) => 8,
        ParameterValue::StringArray(_) => 9,
    }
}

/// `rcl_interfaces/ParameterValue` → value.
pub fn value_from_msg(m: &rm::ParameterValue) -> ParameterValue {
    match m.type_ {
        1 => ParameterValue::Bool(m.bool_value),
        2 => ParameterValue::Integer(m.integer_value),
        3 => ParameterValue::Double(m.double_value),
        4 => ParameterValue::String(m.string_value.clone()),
        5 => ParameterValue::ByteArray(m.byte_array_value.clone()),
        6 => ParameterValue::BoolArray(m.bool_array_value.clone()),
        7 => ParameterValue::IntegerArray(m.integer_array_value.clone()),
        8 => ParameterValue::DoubleArray(m.double_array_value.clone()),
        9 => ParameterValue::StringArray(m.string_array_value.clone()),
        _ => ParameterValue::NotSet,
    }
}

/// Value → `rcl_interfaces/ParameterValue`.
pub fn value_to_msg(v: &ParameterValue) -> rm::ParameterValue {
    let mut m = rm::ParameterValue { type_: type_id(v), ..Default::default() };
    match v {
        ParameterValue::NotSet => {}
        ParameterValue::Bool(b) => m.bool_value = *b,
        ParameterValue::Integer(i) => m.integer_value = *i,
        ParameterValue::Double(d) => m.double_value = *d,
        ParameterValue::String(s) => m.string_value = s.clone(),
        ParameterValue::ByteArray(a) => m.byte_array_value = a.clone(),
        ParameterValue::BoolArray(a) => m.bool_array_value = a.clone(),
        ParameterValue::IntegerArray(a) => m.integer_array_value = a.clone(),
        ParameterValue::DoubleArray(a) => m.double_array_value = a.clone(),
        ParameterValue::StringArray(a) => m.string_array_value = a.clone(),
    }
    m
}

/// Whether a running node may change a value from `old` to `new` as `rule` says: numbers (each element of an
/// array, same length) and switches (off = 0, on = 1) compare; any other change passes `Any` only.
pub(super) fn run_time_allows(rule: RunTime, old: &ParameterValue, new: &ParameterValue) -> bool {
    use ParameterValue::{Bool, Double, DoubleArray, Integer};
    let pairs: Vec<(f64, f64)> = match (old, new) {
        (Double(a), Double(b)) => vec![(*a, *b)],
        (Integer(a), Integer(b)) => vec![(*a as f64, *b as f64)],
        (Bool(a), Bool(b)) => vec![(f64::from(u8::from(*a)), f64::from(u8::from(*b)))],
        (DoubleArray(a), DoubleArray(b)) if a.len() == b.len() => a.iter().copied().zip(b.iter().copied()).collect(),
        _ => return rule == RunTime::Any || old == new,
    };
    pairs.into_iter().all(|(a, b)| rule.allows(a, b))
}

/// A value as error messages show it: doubles always with a decimal point (`2.0`), strings quoted.
pub(super) fn show(v: &ParameterValue) -> String {
    match v {
        ParameterValue::NotSet => "nothing".to_owned(),
        ParameterValue::Bool(b) => b.to_string(),
        ParameterValue::Integer(i) => i.to_string(),
        ParameterValue::Double(d) => format!("{d:?}"),
        ParameterValue::String(s) => format!("{s:?}"),
        ParameterValue::ByteArray(a) => format!("{a:?}"),
        ParameterValue::BoolArray(a) => format!("{a:?}"),
        ParameterValue::IntegerArray(a) => format!("{a:?}"),
        ParameterValue::DoubleArray(a) => format!("{a:?}"),
        ParameterValue::StringArray(a) => format!("{a:?}"),
    }
}

/// Checks a value's type against its declaration. As in rclcpp, the type is exact: an integer is refused for a
/// double (the message says to write `2.0`).
pub fn check_type(spec: &ParamSpec, value: &ParameterValue) -> Result<ParameterValue, String> {
    let name = &spec.name;
    match (&spec.default, value) {
        (d, v) if type_id(d) == type_id(v) => Ok(v.clone()),
        (ParameterValue::Double(_), ParameterValue::Integer(i)) => {
            Err(format!("`{name}` must be a double, got the integer {i}: write it with a decimal point, e.g. `{i}.0`"))
        }
        (ParameterValue::DoubleArray(_), ParameterValue::IntegerArray(a)) => Err(format!(
            "`{name}` must be a double array, got the integer array {a:?}: write every element with a decimal \
             point, e.g. `{:?}`",
            a.iter().map(|x| *x as f64).collect::<Vec<_>>()
        )),
        (d, ParameterValue::NotSet) => Err(format!(
            "`{name}` must be {}, got no value (an empty list `[]` has no type in ROS parameters)",
            d.type_name()
        )),
        (d, v) => Err(format!("`{name}` must be {}, got {}", d.type_name(), v.type_name())),
    }
}

/// Checks a well-typed value against the declared range (each element of an array).
pub fn check_range(spec: &ParamSpec, value: &ParameterValue) -> Result<(), String> {
    let Some(range) = spec.range else { return Ok(()) };
    let bad =
        |i: Option<usize>, x: String| Err(format!("{} must be {}, got {x}", indexed(&spec.name, i), range.text()));
    let floats: Vec<Num> = match value {
        ParameterValue::Double(x) => vec![(None, *x)],
        ParameterValue::DoubleArray(a) => a.iter().enumerate().map(|(i, x)| (Some(i), *x)).collect(),
        _ => Vec::new(),
    };
    let ints: Vec<(Option<usize>, i64)> = match value {
        ParameterValue::Integer(x) => vec![(None, *x)],
        ParameterValue::IntegerArray(a) => a.iter().enumerate().map(|(i, x)| (Some(i), *x)).collect(),
        _ => Vec::new(),
    };
    match range {
        Range::Float(lo, hi) => {
            for (i, x) in floats {
                if !(x.is_finite() && x >= lo && x <= hi) {
                    return bad(i, format!("{x}"));
                }
            }
        }
        Range::Int(lo, hi) => {
            for (i, x) in ints {
                if !(x >= lo && x <= hi) {
                    return bad(i, format!("{x}"));
                }
            }
        }
    }
    Ok(())
}

/// Checks a value against its declaration: type ([`check_type`]) and range ([`check_range`]).
pub fn check_value(spec: &ParamSpec, value: &ParameterValue) -> Result<ParameterValue, String> {
    let v = check_type(spec, value)?;
    check_range(spec, &v)?;
    Ok(v)
}
