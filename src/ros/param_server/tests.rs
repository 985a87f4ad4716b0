//! Unit tests of the declarations, value checks, override resolution and change planning.

use std::collections::BTreeMap;

use r2r::ParameterValue;

use super::change::name_changed_first;
use super::*;
use crate::ros::param_overrides::Override;

fn specs() -> Vec<ParamSpec> {
    vec![
        ParamSpec::new("rate", "rate [Hz]", ParameterValue::Double(50.0)).range(Range::Float(1.0, 100.0)),
        ParamSpec::new("n", "count [-]", ParameterValue::Integer(3)).range(Range::Int(1, 10)),
        ParamSpec::new("frame", "frame", ParameterValue::String("base_link".into())).read_only(),
        ParamSpec::new("lo", "lower [-]", ParameterValue::Double(0.2)),
        ParamSpec::new("hi", "upper [-]", ParameterValue::Double(0.8)).must_be(Cmp::Greater, "lo"),
        ParamSpec::new("v", "per axis [-]", ParameterValue::DoubleArray(vec![1.0, 2.0, 3.0]))
            .range(Range::Float(0.0, f64::MAX))
            .relation(Relation { op: Cmp::AtLeast, other: "lo".into(), first: Some(2) }),
    ]
}

fn named(kv: &[(&str, ParameterValue, bool)]) -> BTreeMap<String, Override> {
    kv.iter().map(|(k, v, n)| ((*k).to_owned(), Override { value: v.clone(), named: *n })).collect()
}

#[test]
fn resolve_applies_overrides() {
    let o = BTreeMap::from([("rate".to_owned(), ParameterValue::Double(20.0))]);
    let (v, r) = resolve(&specs(), &o);
    assert!(r.is_ok());
    assert_eq!(v["rate"], ParameterValue::Double(20.0));
    assert_eq!(v["n"], ParameterValue::Integer(3));
}

#[test]
fn integer_for_double_is_refused_with_how_to_write_it() {
    let s = specs();
    let e = check_value(&s[0], &ParameterValue::Integer(2)).expect_err("integer for double");
    assert!(e.contains("`rate` must be a double") && e.contains("`2.0`"), "{e}");
    let e = check_value(&s[5], &ParameterValue::IntegerArray(vec![1, 2])).expect_err("integer array");
    assert!(e.contains("`[1.0, 2.0]`"), "{e}");
    let e = check_value(&s[5], &ParameterValue::NotSet).expect_err("empty list");
    assert!(e.contains("empty list"), "{e}");
    let (_, r) = resolve(&s, &BTreeMap::from([("rate".to_owned(), ParameterValue::Integer(20))]));
    assert!(r.expect_err("file with an integer").contains("`20.0`"));
}

#[test]
fn resolve_names_every_problem() {
    let o = BTreeMap::from([
        ("rate".to_owned(), ParameterValue::Double(500.0)),
        ("nope".to_owned(), ParameterValue::Bool(true)),
        ("n".to_owned(), ParameterValue::String("x".into())),
    ]);
    let (v, r) = resolve(&specs(), &o);
    let e = r.expect_err("invalid");
    assert_eq!(v["rate"], ParameterValue::Double(50.0), "invalid values keep their defaults");
    assert!(e.contains("unknown parameter `nope`"), "{e}");
    assert!(e.contains("`rate` must be in [1, 100]"), "{e}");
    assert!(e.contains("`n` must be integer, got string"), "{e}");
}

#[test]
fn undeclared_keys_only_from_sections_for_everyone_are_ignored() {
    let r = resolve_overrides(
        &specs(),
        &named(&[
            ("model_path", ParameterValue::String("m.onnx".into()), false),
            ("rate", ParameterValue::Double(20.0), false),
        ]),
    );
    assert_eq!(r.outcome, Ok(()));
    assert_eq!(r.ignored, ["model_path"]);
    assert_eq!(r.values["rate"], ParameterValue::Double(20.0));
    // a typo in a section naming the node is still an error
    let r = resolve_overrides(&specs(), &named(&[("rte", ParameterValue::Double(20.0), true)]));
    assert_eq!(r.outcome, Err("unknown parameter `rte`".into()));
    // a bad value of a declared parameter is an error wherever it came from
    let r = resolve_overrides(&specs(), &named(&[("rate", ParameterValue::Double(0.0), false)]));
    assert!(r.outcome.is_err());
    let r = resolve_overrides(&specs(), &named(&[("rate", ParameterValue::Integer(5), false)]));
    assert!(r.outcome.is_err());
}

#[test]
fn ranges_check_arrays_and_say_what_is_allowed() {
    let s = specs();
    assert!(check_value(&s[5], &ParameterValue::DoubleArray(vec![0.0, f64::MAX])).is_ok());
    let e = check_value(&s[5], &ParameterValue::DoubleArray(vec![0.0, -1.0])).expect_err("negative element");
    assert_eq!(e, "`v`[1] must be >= 0, got -1");
    let e = check_value(&s[5], &ParameterValue::DoubleArray(vec![f64::INFINITY])).expect_err("inf");
    assert!(e.contains("`v`[0]"), "{e}");
    assert_eq!(Range::Float(-f64::MAX, f64::MAX).text(), "finite");
    assert_eq!(Range::Int(3, 100).text(), "in [3, 100]");
    assert_eq!(Range::Int(-1, i64::MAX).text(), ">= -1");
    let d = descriptor(&s[5]);
    assert_eq!(d.floating_point_range[0].to_value, f64::MAX);
    assert_eq!(d.type_, 8);
    assert_eq!(d.additional_constraints, "must be at least `lo` (the first 2 elements)");
    assert_eq!(descriptor(&s[1]).integer_range[0].from_value, 1);
}

#[test]
fn relations_name_the_parameter_being_set_first() {
    let s = specs();
    let mut values: BTreeMap<String, ParameterValue> = s.iter().map(|s| (s.name.clone(), s.default.clone())).collect();
    values.insert("hi".into(), ParameterValue::Double(0.1));
    let e = check_relations(&s, &values, &["hi".into()]).expect_err("hi below lo");
    assert_eq!(e, "`hi` (0.1) must be greater than `lo` (0.2)");
    values.insert("hi".into(), ParameterValue::Double(0.8));
    values.insert("lo".into(), ParameterValue::Double(0.9));
    let e = check_relations(&s, &values, &["lo".into()]).expect_err("lo above hi");
    assert_eq!(e, "`lo` (0.9) must be less than `hi` (0.8)");
    // array against scalar, only the first two elements
    values.insert("lo".into(), ParameterValue::Double(0.5));
    values.insert("v".into(), ParameterValue::DoubleArray(vec![1.0, 0.4, 0.0]));
    let e = check_relations(&s, &values, &["v".into()]).expect_err("v[1] below lo");
    assert_eq!(e, "`v`[1] (0.4) must be at least `lo` (0.5)");
    let e = check_relations(&s, &values, &["lo".into()]).expect_err("lo above v[1]");
    assert_eq!(e, "`lo` (0.5) must be at most `v`[1] (0.4)");
    values.insert("v".into(), ParameterValue::DoubleArray(vec![1.0, 0.5, 0.0]));
    assert!(check_relations(&s, &values, &["v".into(), "lo".into()]).is_ok());
    // unrelated changes do not trip over an existing inconsistency
    values.insert("lo".into(), ParameterValue::Double(0.95));
    assert!(check_relations(&s, &values, &["rate".into()]).is_ok());
}

#[test]
fn validation_errors_are_prefixed_with_the_changed_parameter() {
    let values = BTreeMap::from([("a".to_owned(), ParameterValue::Double(2.0))]);
    let changed = ["a".to_owned()];
    assert_eq!(name_changed_first("`a` = 2 is out of range".into(), &changed, &values), "`a` = 2 is out of range");
    assert_eq!(name_changed_first("parameter `a`: bad".into(), &changed, &values), "parameter `a`: bad");
    assert_eq!(name_changed_first("`a[vx]` = 2 bad".into(), &changed, &values), "`a[vx]` = 2 bad");
    assert_eq!(
        name_changed_first("`b` must be >= `a`".into(), &changed, &values),
        "`a` (2.0) rejected: `b` must be >= `a`"
    );
}

#[test]
fn value_msg_round_trip() {
    for v in [
        ParameterValue::Bool(true),
        ParameterValue::Integer(-3),
        ParameterValue::Double(0.5),
        ParameterValue::String("a".into()),
        ParameterValue::StringArray(vec!["x".into()]),
        ParameterValue::DoubleArray(vec![0.5, -0.5]),
    ] {
        assert_eq!(value_from_msg(&value_to_msg(&v)), v);
    }
}

fn defaults(s: &[ParamSpec]) -> BTreeMap<String, ParameterValue> {
    s.iter().map(|s| (s.name.clone(), s.default.clone())).collect()
}

#[test]
fn read_only_set_to_its_current_value_is_a_no_op() {
    let s = specs();
    let ok: Validator = &|_| Ok(());
    let same = [("frame".to_owned(), ParameterValue::String("base_link".into()))];
    let a = plan_change(&s, &defaults(&s), &same, ok).expect("no-op");
    assert!(a.changed.is_empty());
    let other = [("frame".to_owned(), ParameterValue::String("odom".into()))];
    let e = plan_change(&s, &defaults(&s), &other, ok).expect_err("read-only");
    assert!(e.contains("read-only"), "{e}");
    // mixed with a writable one: the writable one is set
    let mixed = [same[0].clone(), ("rate".to_owned(), ParameterValue::Double(20.0))];
    let a = plan_change(&s, &defaults(&s), &mixed, ok).expect("accepted");
    assert_eq!(a.changed, ["rate"]);
    assert_eq!(a.values["rate"], ParameterValue::Double(20.0));
}

#[test]
fn a_safety_margin_is_only_tightened_while_the_node_runs() {
    let s = vec![
        ParamSpec::new("timeout", "timeout [s]", ParameterValue::Double(0.5)).run_time(RunTime::Lower),
        ParamSpec::new("margin", "margin [m]", ParameterValue::DoubleArray(vec![0.3, 0.6])).run_time(RunTime::Raise),
        ParamSpec::new("slide", "switch", ParameterValue::Bool(true)).run_time(RunTime::Lower),
        ParamSpec::new("shape", "shape", ParameterValue::DoubleArray(vec![0.3])).run_time(RunTime::Fixed),
        ParamSpec::new("rate", "rate [Hz]", ParameterValue::Double(50.0)),
    ];
    let ok: Validator = &|_| Ok(());
    let values = defaults(&s);
    let set = |name: &str, v: ParameterValue| plan_change(&s, &values, &[(name.to_owned(), v)], ok);
    // Tightening, or setting the current value, is accepted; anything else does not touch the safety rule.
    assert_eq!(set("timeout", ParameterValue::Double(0.3)).expect("lowered").changed, ["timeout"]);
    assert!(set("timeout", ParameterValue::Double(0.5)).is_ok());
    assert!(set("margin", ParameterValue::DoubleArray(vec![0.4, 0.6])).is_ok());
    assert!(set("slide", ParameterValue::Bool(false)).is_ok());
    assert!(set("rate", ParameterValue::Double(20.0)).is_ok());
    // Loosening is refused, naming the parameter, the rule and both values.
    let e = set("timeout", ParameterValue::Double(1e9)).expect_err("raised");
    assert_eq!(
        e,
        "parameter `timeout` is only lowered while running: 1000000000.0 after 0.5 would loosen the safety chain \
         (set it in the params file and restart)"
    );
    let e = set("margin", ParameterValue::DoubleArray(vec![0.4, 0.5])).expect_err("one element lowered");
    assert!(e.contains("only raised while running"), "{e}");
    assert!(set("margin", ParameterValue::DoubleArray(vec![0.4])).is_err(), "another length");
    assert!(set("slide", ParameterValue::Bool(true)).is_ok());
    let on = BTreeMap::from([("slide".to_owned(), ParameterValue::Bool(false))]);
    let e = plan_change(&s, &on, &[("slide".to_owned(), ParameterValue::Bool(true))], ok).expect_err("switched on");
    assert!(e.contains("`slide` is only lowered while running"), "{e}");
    // Fixed: read-only.
    let e = set("shape", ParameterValue::DoubleArray(vec![0.2])).expect_err("fixed");
    assert!(e.contains("read-only"), "{e}");
}

#[test]
fn plan_change_order_of_checks() {
    let s = specs();
    let refuse_big: Validator = &|p| match p.f64_or("rate", 0.0) {
        Ok(r) if r > 90.0 => Err(format!("`rate` = {r} is out of range: allowed <= 90")),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    };
    let set = |name: &str, v: ParameterValue| plan_change(&s, &defaults(&s), &[(name.to_owned(), v)], refuse_big);
    // validation first (its own message), then the declared range
    assert_eq!(set("rate", ParameterValue::Double(95.0)), Err("`rate` = 95 is out of range: allowed <= 90".into()));
    assert_eq!(set("rate", ParameterValue::Double(0.5)), Err("`rate` must be in [1, 100], got 0.5".into()));
    assert!(set("rate", ParameterValue::Integer(20)).expect_err("integer").contains("`20.0`"));
    assert!(set("nope", ParameterValue::Double(1.0)).expect_err("undeclared").contains("not declared"));
    assert_eq!(set("hi", ParameterValue::Double(0.1)), Err("`hi` (0.1) must be greater than `lo` (0.2)".into()));
    let a = set("hi", ParameterValue::Double(0.3)).expect("valid");
    assert_eq!(a.changed, ["hi"]);
}

#[test]
fn use_sim_time_is_set_at_start() {
    assert!(use_sim_time_spec().read_only);
}
