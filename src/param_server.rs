//! Declared parameters with descriptions, units and ranges, served through the standard `rcl_interfaces`
//! services (`~/get_parameters`, `~/set_parameters`, `~/set_parameters_atomically`, `~/list_parameters`,
//! `~/describe_parameters`, `~/get_parameter_types`) and announced on `/parameter_events`.
//!
//! Every change goes through the node's one validation function before it is applied: a rejected
//! `ros2 param set` leaves the old value in place and answers with the reason (validate, then swap).

use std::collections::BTreeMap;
use std::pin::Pin;

use anyhow::Context as _;
use futures::{Stream, StreamExt};
use r2r::rcl_interfaces::msg as rm;
use r2r::rcl_interfaces::srv::{
    DescribeParameters, GetParameterTypes, GetParameters, ListParameters, SetParameters, SetParametersAtomically,
};
use r2r::{ParameterValue, QosProfile, ServiceRequest};
use tracing::{info, warn};

use crate::convert::stamp_to_msg;
use crate::node_util::NodeClock;
use crate::params::Params;

/// Allowed numeric range of a parameter (inclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    Float(f64, f64),
    Int(i64, i64),
}

/// One declared parameter.
#[derive(Clone, Debug)]
pub struct ParamSpec {
    pub name: String,
    /// What it does, with its unit in brackets, e.g. "periodic decision rate \[Hz\]".
    pub description: String,
    pub default: ParameterValue,
    pub range: Option<Range>,
    /// Only settable at start-up (file or command line).
    pub read_only: bool,
}

impl ParamSpec {
    pub fn new(name: impl Into<String>, description: impl Into<String>, default: ParameterValue) -> Self {
        ParamSpec { name: name.into(), description: description.into(), default, range: None, read_only: false }
    }
    pub fn range(mut self, r: Range) -> Self {
        self.range = Some(r);
        self
    }
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

/// The standard `use_sim_time` parameter every node declares.
pub fn use_sim_time_spec() -> ParamSpec {
    ParamSpec::new(
        "use_sim_time",
        "follow /clock instead of the system clock (bag replay, simulation)",
        ParameterValue::Bool(false),
    )
    .read_only()
}

fn type_id(v: &ParameterValue) -> u8 {
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

/// Checks a value against its declaration: type (an integer is accepted for a double) and range.
pub fn check_value(spec: &ParamSpec, value: &ParameterValue) -> Result<ParameterValue, String> {
    let value = match (&spec.default, value) {
        (ParameterValue::Double(_), ParameterValue::Integer(i)) => ParameterValue::Double(*i as f64),
        (d, v) if type_id(d) == type_id(v) => v.clone(),
        (d, v) => return Err(format!("`{}` must be {}, got {}", spec.name, d.type_name(), v.type_name())),
    };
    match (spec.range, &value) {
        (Some(Range::Float(lo, hi)), ParameterValue::Double(x)) if !(x.is_finite() && *x >= lo && *x <= hi) => {
            Err(format!("`{}` must be in [{lo}, {hi}], got {x}", spec.name))
        }
        (Some(Range::Int(lo, hi)), ParameterValue::Integer(x)) if !(*x >= lo && *x <= hi) => {
            Err(format!("`{}` must be in [{lo}, {hi}], got {x}", spec.name))
        }
        _ => Ok(value),
    }
}

/// Resolves declared parameters against the overrides a node was started with (params file, `-p`).
/// Unknown names and wrongly typed or out-of-range values are errors that say what to fix; the valid
/// overrides are applied either way (so e.g. `autostart` still takes effect and the node reports the error).
pub fn resolve(
    specs: &[ParamSpec],
    overrides: &BTreeMap<String, ParameterValue>,
) -> (BTreeMap<String, ParameterValue>, Result<(), String>) {
    let mut values: BTreeMap<String, ParameterValue> =
        specs.iter().map(|s| (s.name.clone(), s.default.clone())).collect();
    let mut errors = Vec::new();
    for (name, v) in overrides {
        match specs.iter().find(|s| s.name == *name) {
            None => errors.push(format!("unknown parameter `{name}`")),
            Some(spec) => match check_value(spec, v) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(e) => errors.push(e),
            },
        }
    }
    let outcome = if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) };
    (values, outcome)
}

type Requests<T> = Pin<Box<dyn Stream<Item = ServiceRequest<T>> + Send>>;

/// Serves a node's declared parameters.
pub struct ParamServer {
    specs: Vec<ParamSpec>,
    values: BTreeMap<String, ParameterValue>,
    get: Requests<GetParameters::Service>,
    get_types: Requests<GetParameterTypes::Service>,
    set: Requests<SetParameters::Service>,
    set_atomically: Requests<SetParametersAtomically::Service>,
    list: Requests<ListParameters::Service>,
    describe: Requests<DescribeParameters::Service>,
    events: r2r::Publisher<rm::ParameterEvent>,
    clock: NodeClock,
    node_fqn: String,
}

/// Node-specific validation of a complete candidate parameter set; `Err` carries the reason shown to the user.
pub type Validator<'a> = &'a dyn Fn(&Params) -> Result<(), String>;

impl ParamServer {
    /// Declares `specs` on `node` and resolves the start-up overrides (params file, `-p`). Returns the server
    /// and the outcome of that resolution: on error the server holds the defaults for the invalid entries and
    /// the node must refuse to configure, reporting the error (it says what to fix).
    pub fn new(
        node: &mut r2r::Node,
        specs: Vec<ParamSpec>,
        clock: NodeClock,
    ) -> anyhow::Result<(Self, Result<(), String>)> {
        let overrides: BTreeMap<String, ParameterValue> = match node.params.lock() {
            Ok(p) => p.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
            Err(poisoned) => poisoned.into_inner().iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        };
        let (values, startup) = resolve(&specs, &overrides);
        let qos = QosProfile::services_default();
        let server = ParamServer {
            get: Box::pin(node.create_service::<GetParameters::Service>("~/get_parameters", qos.clone())?),
            get_types: Box::pin(
                node.create_service::<GetParameterTypes::Service>("~/get_parameter_types", qos.clone())?,
            ),
            set: Box::pin(node.create_service::<SetParameters::Service>("~/set_parameters", qos.clone())?),
            set_atomically: Box::pin(
                node.create_service::<SetParametersAtomically::Service>("~/set_parameters_atomically", qos.clone())?,
            ),
            list: Box::pin(node.create_service::<ListParameters::Service>("~/list_parameters", qos.clone())?),
            describe: Box::pin(node.create_service::<DescribeParameters::Service>("~/describe_parameters", qos)?),
            events: node
                .create_publisher::<rm::ParameterEvent>("/parameter_events", QosProfile::parameter_events())
                .context("creating /parameter_events")?,
            specs,
            values,
            clock,
            node_fqn: node.fully_qualified_name()?,
        };
        Ok((server, startup))
    }

    /// Current values as typed accessors.
    pub fn params(&self) -> Params {
        Params::from_values(self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn descriptor(&self, name: &str) -> rm::ParameterDescriptor {
        let Some(spec) = self.specs.iter().find(|s| s.name == *name) else {
            return rm::ParameterDescriptor { name: name.to_owned(), ..Default::default() };
        };
        let mut d = rm::ParameterDescriptor {
            name: name.to_owned(),
            type_: type_id(&spec.default),
            description: spec.description.clone(),
            read_only: spec.read_only,
            ..Default::default()
        };
        match spec.range {
            Some(Range::Float(lo, hi)) => {
                d.floating_point_range = vec![rm::FloatingPointRange { from_value: lo, to_value: hi, step: 0.0 }]
            }
            Some(Range::Int(lo, hi)) => {
                d.integer_range = vec![rm::IntegerRange { from_value: lo, to_value: hi, step: 0 }]
            }
            None => {}
        }
        d
    }

    /// Applies a batch of changes if every value is declared, writable, well-typed, in range, and the
    /// whole resulting set passes `validate`; otherwise nothing changes. Returns the reason on rejection.
    pub fn try_set(&mut self, changes: &[(String, ParameterValue)], validate: Validator) -> Result<(), String> {
        let mut candidate = self.values.clone();
        for (name, value) in changes {
            let spec = self
                .specs
                .iter()
                .find(|s| s.name == *name)
                .ok_or_else(|| format!("parameter `{name}` is not declared"))?;
            if spec.read_only {
                return Err(format!("parameter `{name}` is read-only (set it in the params file and restart)"));
            }
            candidate.insert(name.clone(), check_value(spec, value)?);
        }
        let params = Params::from_values(candidate.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        validate(&params)?;
        let changed: Vec<rm::Parameter> = changes
            .iter()
            .filter_map(|(n, _)| candidate.get(n).map(|v| rm::Parameter { name: n.clone(), value: value_to_msg(v) }))
            .collect();
        self.values = candidate;
        let stamp = self.clock.now().map(stamp_to_msg).unwrap_or_default();
        let ev = rm::ParameterEvent {
            stamp,
            node: self.node_fqn.clone(),
            changed_parameters: changed,
            ..Default::default()
        };
        if let Err(e) = self.events.publish(&ev) {
            warn!("publishing /parameter_events failed: {e}");
        }
        info!("parameters changed: {}", changes.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "));
        Ok(())
    }

    /// Serves parameter requests until one changes a value; returns after an accepted change so the node can
    /// swap in the new configuration (`self.params()`).
    pub async fn next_change(&mut self, validate: Validator<'_>) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                req = self.get.next() => {
                    let req = req.context("get_parameters closed")?;
                    let values = req.message.names.iter().map(|n| value_to_msg(self.values.get(n).unwrap_or(&ParameterValue::NotSet))).collect();
                    let _ = req.respond(GetParameters::Response { values });
                }
                req = self.get_types.next() => {
                    let req = req.context("get_parameter_types closed")?;
                    let types = req.message.names.iter().map(|n| self.values.get(n).map_or(0, type_id)).collect();
                    let _ = req.respond(GetParameterTypes::Response { types });
                }
                req = self.list.next() => {
                    let req = req.context("list_parameters closed")?;
                    let prefixes = &req.message.prefixes;
                    let names: Vec<String> = self.values.keys()
                        .filter(|n| prefixes.is_empty() || prefixes.iter().any(|p| n.starts_with(&format!("{p}."))))
                        .cloned().collect();
                    let mut pre: Vec<String> = names.iter().filter_map(|n| n.rsplit_once('.').map(|(p, _)| p.to_owned())).collect();
                    pre.dedup();
                    let _ = req.respond(ListParameters::Response { result: rm::ListParametersResult { names, prefixes: pre } });
                }
                req = self.describe.next() => {
                    let req = req.context("describe_parameters closed")?;
                    let descriptors = req.message.names.iter().map(|n| self.descriptor(n)).collect();
                    let _ = req.respond(DescribeParameters::Response { descriptors });
                }
                req = self.set.next() => {
                    let req = req.context("set_parameters closed")?;
                    // Each parameter is applied on its own, as rclcpp does for SetParameters.
                    let mut results = Vec::new();
                    let mut any = false;
                    for p in &req.message.parameters {
                        let r = self.try_set(&[(p.name.clone(), value_from_msg(&p.value))], validate);
                        any |= r.is_ok();
                        results.push(result_msg(r));
                    }
                    let _ = req.respond(SetParameters::Response { results });
                    if any { return Ok(()); }
                }
                req = self.set_atomically.next() => {
                    let req = req.context("set_parameters_atomically closed")?;
                    let changes: Vec<_> = req.message.parameters.iter().map(|p| (p.name.clone(), value_from_msg(&p.value))).collect();
                    let r = self.try_set(&changes, validate);
                    let ok = r.is_ok();
                    let _ = req.respond(SetParametersAtomically::Response { result: result_msg(r) });
                    if ok { return Ok(()); }
                }
            }
        }
    }
}

fn result_msg(r: Result<(), String>) -> rm::SetParametersResult {
    match r {
        Ok(()) => rm::SetParametersResult { successful: true, reason: String::new() },
        Err(reason) => {
            warn!("parameter change rejected: {reason}");
            rm::SetParametersResult { successful: false, reason }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec::new("rate", "rate [Hz]", ParameterValue::Double(50.0)).range(Range::Float(1.0, 100.0)),
            ParamSpec::new("n", "count [-]", ParameterValue::Integer(3)).range(Range::Int(1, 10)),
            ParamSpec::new("frame", "frame", ParameterValue::String("base_link".into())).read_only(),
        ]
    }

    #[test]
    fn resolve_applies_overrides_and_coerces_integers() {
        let o = BTreeMap::from([("rate".to_owned(), ParameterValue::Integer(20))]);
        let (v, r) = resolve(&specs(), &o);
        assert!(r.is_ok());
        assert_eq!(v["rate"], ParameterValue::Double(20.0));
        assert_eq!(v["n"], ParameterValue::Integer(3));
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
    fn value_msg_round_trip() {
        for v in [
            ParameterValue::Bool(true),
            ParameterValue::Integer(-3),
            ParameterValue::Double(0.5),
            ParameterValue::String("a".into()),
            ParameterValue::StringArray(vec!["x".into()]),
        ] {
            assert_eq!(value_from_msg(&value_to_msg(&v)), v);
        }
    }
}
