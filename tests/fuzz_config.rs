//! Fuzzing of configuration parsing: the controller parameters (`controller_params::from_params`,
//! `SharedControlParams::from_params`), the parameter server's `resolve` / `check_value` with arbitrary names and
//! values of every ROS parameter type, and `ControllerConfig::from_yaml` with arbitrary text and with mutated
//! copies of the default configuration. These are no-panic properties (0 panics), plus: what is accepted is
//! valid, and a YAML configuration rejected by validation gets the typed `ConfigError`, out-of-range errors naming
//! a declared field. The parameter layer's errors are messages (strings): only their presence is checked.
//!
//! Needs no DDS. Case count: `PROPTEST_CASES` (proptest's default, 256, when unset). Long profile:
//! `PROPTEST_CASES=1000000 cargo test --release --test fuzz_config` (or `scripts/bench.sh fuzz`).
use std::collections::{BTreeMap, HashMap};

use intent_shared_control::nodes::shared_control::SharedControlParams;
use intent_shared_control::nodes::{
    intent_predictor as intent_predictor_node, shared_control as shared_control_node, supervisor as supervisor_node,
};
use intent_shared_control::ros::controller_params;
use intent_shared_control::ros::param_server::{check_value, resolve, ParamSpec};
use intent_shared_control::ros::params::Params;
use intent_shared_control_core::control::ControllerConfigLoadError;
use intent_shared_control_core::{ConfigError, ControllerConfig};
use proptest::prelude::*;
use r2r::ParameterValue;
use serde_yaml::Value;

fn f64_any() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        3 => -10.0..10.0f64,
        1 => proptest::num::f64::ANY,
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN, -0.0, 0.0, 1e-300]),
    ]
}

fn i64_any() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![3 => -3i64..70, 1 => any::<i64>()]
}

/// A value of any ROS parameter type, plausible ones over-represented.
fn value() -> impl Strategy<Value = ParameterValue> {
    prop_oneof![
        1 => Just(ParameterValue::NotSet),
        2 => any::<bool>().prop_map(ParameterValue::Bool),
        3 => i64_any().prop_map(ParameterValue::Integer),
        4 => f64_any().prop_map(ParameterValue::Double),
        2 => prop_oneof![Just("radius".to_owned()), Just("polygon".to_owned()), Just("control_points".to_owned()), Just("[[0.4, 0.3], [-0.4, 0.3], [-0.4, -0.3]]".to_owned()), Just("[[1e309, 0]]".to_owned()), ".{0,30}"].prop_map(ParameterValue::String),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(ParameterValue::ByteArray),
        1 => prop::collection::vec(any::<bool>(), 0..8).prop_map(ParameterValue::BoolArray),
        1 => prop::collection::vec(i64_any(), 0..8).prop_map(ParameterValue::IntegerArray),
        3 => prop::collection::vec(f64_any(), 0..8).prop_map(ParameterValue::DoubleArray),
        1 => prop::collection::vec(".{0,8}", 0..4).prop_map(ParameterValue::StringArray),
    ]
}

fn all_specs() -> Vec<ParamSpec> {
    let mut v = shared_control_node::param_specs();
    v.extend(intent_predictor_node::param_specs());
    v.extend(supervisor_node::param_specs());
    v
}

/// A parameter name: usually a declared one, sometimes a near miss or anything.
fn name(names: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(names.clone()),
        1 => prop::sample::select(names).prop_map(|n| format!("{n}x")),
        1 => "[a-z_.]{0,30}",
    ]
}

fn declared_names() -> Vec<String> {
    let mut n: Vec<String> = all_specs().into_iter().map(|s| s.name).collect();
    n.extend(controller_params::defaults().into_keys());
    n.sort();
    n.dedup();
    n
}

fn overrides() -> impl Strategy<Value = Vec<(String, ParameterValue)>> {
    prop::collection::vec((name(declared_names()), value()), 0..12)
}

/// A YAML scalar or small collection of any kind.
fn yaml_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        i64_any().prop_map(|i| Value::Number(i.into())),
        f64_any().prop_map(|f| Value::Number(f.into())),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..7).prop_map(Value::Sequence),
            prop::collection::vec(("[a-z_]{1,10}", inner), 0..3)
                .prop_map(|kv| Value::Mapping(kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
        ]
    })
}

/// Leaf paths of a YAML mapping tree.
fn leaf_paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                if let Some(k) = k.as_str() {
                    prefix.push(k.to_owned());
                    leaf_paths(child, prefix, out);
                    prefix.pop();
                }
            }
        }
        _ => out.push(prefix.clone()),
    }
}

fn set_path(v: &mut Value, path: &[String], new: Value) {
    let mut cur = v;
    for p in path {
        let Some(next) = cur.get_mut(p.as_str()) else { return };
        cur = next;
    }
    *cur = new;
}

fn default_yaml() -> Value {
    serde_yaml::to_value(ControllerConfig::default()).expect("the default configuration serialises")
}

/// The default configuration with a few leaves replaced by arbitrary YAML (and sometimes an unknown key added).
fn mutated_config() -> impl Strategy<Value = String> {
    let mut paths = Vec::new();
    leaf_paths(&default_yaml(), &mut Vec::new(), &mut paths);
    (prop::collection::vec((prop::sample::select(paths), yaml_value()), 1..4), prop::option::of("[a-z_]{1,12}"))
        .prop_map(|(changes, extra)| {
            let mut v = default_yaml();
            for (path, new) in changes {
                set_path(&mut v, &path, new);
            }
            if let (Some(k), Some(m)) = (extra, v.as_mapping_mut()) {
                m.insert(Value::String(k), Value::Number(1.into()));
            }
            serde_yaml::to_string(&v).unwrap_or_default()
        })
}

/// `ControllerConfig::from_yaml(text)`: an accepted configuration is valid; one that parses but is rejected gets
/// the typed error of its validation, an out-of-range one naming a declared field.
fn check_yaml(text: &str) -> Result<(), TestCaseError> {
    match ControllerConfig::from_yaml(text) {
        Ok(c) => prop_assert!(c.validate().is_ok()),
        Err(ControllerConfigLoadError::Parse(_)) => {}
        Err(ControllerConfigLoadError::Invalid(e)) => {
            let parsed: ControllerConfig = serde_yaml::from_str(text).expect("rejected after parsing");
            // Compared as text: a NaN value is not equal to itself.
            prop_assert_eq!(parsed.validate().err().map(|x| x.to_string()), Some(e.to_string()));
            if let ConfigError::OutOfRange { field, .. } = &e {
                let name = field.split('[').next().unwrap_or_default();
                prop_assert!(ControllerConfig::catalog().field(name).is_some(), "undeclared `{}`", field);
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn controller_from_params_never_panics(ov in overrides()) {
        let values: HashMap<String, ParameterValue> = ov.into_iter().collect();
        let p = Params::from_values(values);
        match controller_params::from_params(&p) {
            Ok(c) => prop_assert!(c.validate().is_ok(), "accepted an invalid configuration"),
            Err(e) => prop_assert!(!e.is_empty()),
        }
        let _ = SharedControlParams::from_params(&p);
    }

    #[test]
    fn resolve_and_check_value_never_panic(ov in overrides()) {
        let specs = all_specs();
        let overrides: BTreeMap<String, ParameterValue> = ov.into_iter().collect();
        let (values, outcome) = resolve(&specs, &overrides);
        // Every declared parameter has a value, and every value it holds passes its own check.
        for s in &specs {
            let v = values.get(&s.name);
            prop_assert!(v.is_some(), "`{}` has no value", s.name);
            if let Some(v) = v {
                if overrides.get(&s.name).is_some_and(|o| check_value(s, o).is_ok()) {
                    prop_assert!(check_value(s, v).is_ok());
                }
            }
        }
        let unknown = overrides.keys().any(|k| !specs.iter().any(|s| &s.name == k));
        if unknown {
            prop_assert!(outcome.is_err());
        }
    }

    #[test]
    fn check_value_never_panics(idx in any::<prop::sample::Index>(), v in value()) {
        let specs = all_specs();
        let spec = &specs[idx.index(specs.len())];
        if let Ok(accepted) = check_value(spec, &v) {
            prop_assert_eq!(std::mem::discriminant(&accepted), std::mem::discriminant(&spec.default));
            if let ParameterValue::Double(x) = accepted {
                prop_assert!(spec.range.is_none() || x.is_finite());
            }
        }
    }

    #[test]
    fn controller_from_arbitrary_yaml_never_panics(text in ".{0,200}") {
        check_yaml(&text)?;
    }

    #[test]
    fn controller_from_mutated_yaml_never_panics(text in mutated_config()) {
        check_yaml(&text)?;
    }
}
