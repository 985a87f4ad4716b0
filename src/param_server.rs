//! Declared parameters with descriptions, units and ranges, served through the standard `rcl_interfaces`
//! services (`~/get_parameters`, `~/set_parameters`, `~/set_parameters_atomically`, `~/list_parameters`,
//! `~/describe_parameters`, `~/get_parameter_types`) and announced on `/parameter_events`.
//!
//! As in rclcpp: start-up overrides come from the params-file sections that match the node's fully qualified
//! name ([`crate::param_overrides`]); types are exact (an integer is refused for a double); `use_sim_time` is
//! writable. A read-only parameter cannot change at run time; setting it to its current value is accepted as a
//! no-op (rclcpp refuses it), so the output of `ros2 param dump` loads back with `ros2 param load`.
//!
//! Every change goes through the node's one validation function before it is applied: a rejected
//! `ros2 param set` leaves the old value in place and answers with the reason, naming the parameter being set
//! first (validate, then swap).

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
use crate::param_overrides::{self, Override};
use crate::params::Params;

/// Allowed numeric range of a parameter (inclusive); for an array parameter, of each element.
///
/// A side the validation leaves unbounded ends at `f64::MAX` / `i64::MAX` (every finite value, which is what the
/// validation accepts there); the descriptor shows the range to `ros2 param describe`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    /// Doubles (and elements of double arrays) in `[lo, hi]`, finite.
    Float(f64, f64),
    /// Integers (and elements of integer arrays) in `[lo, hi]`.
    Int(i64, i64),
}

impl Range {
    /// `[lo, hi]`, `>= lo` or `finite`, as the error messages say it.
    pub fn text(&self) -> String {
        match *self {
            Range::Float(lo, hi) if lo == -f64::MAX && hi == f64::MAX => "finite".to_owned(),
            Range::Float(lo, hi) if hi == f64::MAX => format!(">= {lo}"),
            Range::Float(lo, hi) => format!("in [{lo}, {hi}]"),
            Range::Int(lo, hi) if hi == i64::MAX => format!(">= {lo}"),
            Range::Int(lo, hi) => format!("in [{lo}, {hi}]"),
        }
    }
}

/// Comparison in a [`Relation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// Strictly greater.
    Greater,
    /// Greater or equal.
    AtLeast,
}

impl Cmp {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Greater => a > b,
            Cmp::AtLeast => a >= b,
        }
    }
    fn words(self) -> &'static str {
        match self {
            Cmp::Greater => "greater than",
            Cmp::AtLeast => "at least",
        }
    }
    /// The same relation read from the other side.
    fn inverse_words(self) -> &'static str {
        match self {
            Cmp::Greater => "less than",
            Cmp::AtLeast => "at most",
        }
    }
}

/// A constraint between two parameters that the node's validation enforces: `this op other`. Declared so that a
/// rejected change names the parameter being set first, whichever side of the relation it is on. Arrays compare
/// element by element (with an array `other`) or each element against a scalar `other`.
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    /// How this parameter compares with `other`.
    pub op: Cmp,
    /// The other parameter.
    pub other: String,
    /// Only the first elements of an array parameter take part (`None`: all).
    pub first: Option<usize>,
}

/// One number of a value with its index (`None` for a scalar).
type Num = (Option<usize>, f64);

/// Elements of a numeric value with their index (`None` for a scalar).
fn numbers(v: &ParameterValue) -> Vec<Num> {
    match v {
        ParameterValue::Double(x) => vec![(None, *x)],
        ParameterValue::Integer(i) => vec![(None, *i as f64)],
        ParameterValue::DoubleArray(a) => a.iter().enumerate().map(|(i, x)| (Some(i), *x)).collect(),
        ParameterValue::IntegerArray(a) => a.iter().enumerate().map(|(i, x)| (Some(i), *x as f64)).collect(),
        _ => Vec::new(),
    }
}

fn indexed(name: &str, i: Option<usize>) -> String {
    match i {
        Some(i) => format!("`{name}`[{i}]"),
        None => format!("`{name}`"),
    }
}

impl Relation {
    /// Checks `this` (named `name`) against `other`; the error names the parameter being set first: `name` when
    /// `name_this_first`, else `other`. Non-finite values are left to the validation.
    pub fn check(
        &self,
        name: &str,
        this: &ParameterValue,
        other: &ParameterValue,
        name_this_first: bool,
    ) -> Result<(), String> {
        let a = numbers(this);
        let b = numbers(other);
        let pairs: Vec<(Num, Num)> = match (a.len(), b.len()) {
            (_, 1) if b[0].0.is_none() => a.iter().map(|x| (*x, b[0])).collect(),
            _ => a.iter().copied().zip(b.iter().copied()).collect(),
        };
        for ((ia, x), (ib, y)) in pairs {
            if ia.is_some_and(|i| self.first.is_some_and(|n| i >= n)) || !x.is_finite() || !y.is_finite() {
                continue;
            }
            if !self.op.holds(x, y) {
                return Err(if name_this_first {
                    format!(
                        "{} ({x:?}) must be {} {} ({y:?})",
                        indexed(name, ia),
                        self.op.words(),
                        indexed(&self.other, ib)
                    )
                } else {
                    format!(
                        "{} ({y:?}) must be {} {} ({x:?})",
                        indexed(&self.other, ib),
                        self.op.inverse_words(),
                        indexed(name, ia)
                    )
                });
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let first = self.first.map_or(String::new(), |n| format!(" (the first {n} elements)"));
        format!("must be {} `{}`{first}", self.op.words(), self.other)
    }
}

/// One declared parameter.
#[derive(Clone, Debug)]
pub struct ParamSpec {
    /// Dotted name, e.g. `safety.zones.stop_distance`.
    pub name: String,
    /// What it does, with its unit in brackets, e.g. "periodic decision rate \[Hz\]".
    pub description: String,
    /// Default value; also fixes the type.
    pub default: ParameterValue,
    /// Allowed range, shown by `ros2 param describe` and enforced.
    pub range: Option<Range>,
    /// Only settable at start-up (file or command line); setting it to its current value is a no-op.
    pub read_only: bool,
    /// Constraints against other parameters (see [`Relation`]).
    pub relations: Vec<Relation>,
}

impl ParamSpec {
    /// A writable parameter without range.
    pub fn new(name: impl Into<String>, description: impl Into<String>, default: ParameterValue) -> Self {
        ParamSpec {
            name: name.into(),
            description: description.into(),
            default,
            range: None,
            read_only: false,
            relations: Vec::new(),
        }
    }
    /// With an allowed range.
    pub fn range(mut self, r: Range) -> Self {
        self.range = Some(r);
        self
    }
    /// With an optional allowed range.
    pub fn range_opt(mut self, r: Option<Range>) -> Self {
        self.range = r;
        self
    }
    /// Only settable at start-up.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
    /// Must compare with `other` as `op` says.
    pub fn must_be(mut self, op: Cmp, other: impl Into<String>) -> Self {
        self.relations.push(Relation { op, other: other.into(), first: None });
        self
    }
    /// Adds a relation.
    pub fn relation(mut self, r: Relation) -> Self {
        self.relations.push(r);
        self
    }
}

/// The standard `use_sim_time` parameter every node declares (writable at run time, as in rclcpp: see
/// [`ParamServer::take_sim_time_switch`]).
pub fn use_sim_time_spec() -> ParamSpec {
    ParamSpec::new(
        "use_sim_time",
        "follow /clock instead of the system clock (bag replay, simulation)",
        ParameterValue::Bool(false),
    )
}

/// Switches `node`'s ROS clock to `/clock` (`enabled`) or back to the system clock. Call it on the thread that
/// owns the node, after [`ParamServer::take_sim_time_switch`] returned a switch.
pub fn switch_sim_time(node: &mut r2r::Node, enabled: bool) -> anyhow::Result<()> {
    let time_source = node.get_time_source();
    if enabled {
        time_source.enable_sim_time(node).context("enabling sim time (subscribing to /clock)")?;
        info!("use_sim_time: the node clock follows /clock");
    } else {
        time_source.disable_sim_time();
        info!("use_sim_time off: the node clock follows the system clock");
    }
    Ok(())
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

/// A value as error messages show it: doubles always with a decimal point (`2.0`), strings quoted.
fn show(v: &ParameterValue) -> String {
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

/// Declared parameters resolved against the start-up overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    /// Every declared parameter's value: the override where it is valid, else the default.
    pub values: BTreeMap<String, ParameterValue>,
    /// Every problem, `; `-separated; on error the node refuses to configure.
    pub outcome: Result<(), String>,
    /// Undeclared parameters that only came from sections for every node (`/**`, `-p`): ignored.
    pub ignored: Vec<String>,
}

/// Resolves declared parameters against the overrides a node was started with (params file, `-p`; see
/// [`crate::param_overrides`]). A wrongly typed or out-of-range value of a declared parameter is an error
/// wherever it came from; an undeclared one is an error when a section naming this node has it (a typo) and is
/// ignored when only sections for every node had it (another node's parameter, as in a launch file's shared
/// `parameters=[{...}]` or a composed process). Errors say what to fix; the valid overrides are applied either
/// way (so e.g. `autostart` still takes effect and the node reports the error).
pub fn resolve_overrides(specs: &[ParamSpec], overrides: &BTreeMap<String, Override>) -> Resolution {
    let mut values: BTreeMap<String, ParameterValue> =
        specs.iter().map(|s| (s.name.clone(), s.default.clone())).collect();
    let mut errors = Vec::new();
    let mut ignored = Vec::new();
    for (name, o) in overrides {
        match specs.iter().find(|s| s.name == *name) {
            None if o.named => errors.push(format!("unknown parameter `{name}`")),
            None => ignored.push(name.clone()),
            Some(spec) => match check_value(spec, &o.value) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(e) => errors.push(e),
            },
        }
    }
    let outcome = if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) };
    Resolution { values, outcome, ignored }
}

/// [`resolve_overrides`] for overrides that all name the node (every undeclared name is an error).
pub fn resolve(
    specs: &[ParamSpec],
    overrides: &BTreeMap<String, ParameterValue>,
) -> (BTreeMap<String, ParameterValue>, Result<(), String>) {
    let named: BTreeMap<String, Override> =
        overrides.iter().map(|(k, v)| (k.clone(), Override { value: v.clone(), named: true })).collect();
    let r = resolve_overrides(specs, &named);
    (r.values, r.outcome)
}

/// Makes a validation error start with the parameter being set: left as it is when it already names one of
/// `changed` first, else prefixed with the first changed parameter and its value.
fn name_changed_first(err: String, changed: &[String], values: &BTreeMap<String, ParameterValue>) -> String {
    let body = err.strip_prefix("parameter ").unwrap_or(&err);
    if changed.iter().any(|n| body.starts_with(&format!("`{n}`")) || body.starts_with(&format!("`{n}["))) {
        return err;
    }
    match changed.first() {
        Some(n) => {
            let v = values.get(n).map_or_else(String::new, |v| format!(" ({})", show(v)));
            format!("`{n}`{v} rejected: {err}")
        }
        None => err,
    }
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
    /// `use_sim_time` changed at run time and the node's clock has not been switched yet.
    sim_time_switch: Option<bool>,
}

/// Node-specific validation of a complete candidate parameter set; `Err` carries the reason shown to the user.
pub type Validator<'a> = &'a dyn Fn(&Params) -> Result<(), String>;

impl ParamServer {
    /// Declares `specs` on `node` and resolves the start-up overrides (params file, `-p`) the way rclcpp does
    /// ([`crate::param_overrides`], [`resolve_overrides`]). Returns the server and the outcome of that
    /// resolution: on error the server holds the defaults for the invalid entries and the node must refuse to
    /// configure, reporting the error (it says what to fix).
    pub fn new(
        node: &mut r2r::Node,
        specs: Vec<ParamSpec>,
        clock: NodeClock,
    ) -> anyhow::Result<(Self, Result<(), String>)> {
        let node_fqn = node.fully_qualified_name()?;
        let (overrides, read_error) = match param_overrides::for_node(&node_fqn) {
            Ok(o) => (o, None),
            Err(e) => (BTreeMap::new(), Some(format!("cannot read the parameter overrides: {e}"))),
        };
        let resolution = resolve_overrides(&specs, &overrides);
        if !resolution.ignored.is_empty() {
            info!(
                "ignored parameters {node_fqn} does not declare, given only for every node (`/**` sections, -p): {}",
                resolution.ignored.join(", ")
            );
        }
        let startup = match (read_error, resolution.outcome) {
            (None, r) => r,
            (Some(e), Ok(())) => Err(e),
            (Some(e), Err(r)) => Err(format!("{e}; {r}")),
        };
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
            values: resolution.values,
            clock,
            node_fqn,
            sim_time_switch: None,
        };
        Ok((server, startup))
    }

    /// Current values as typed accessors.
    pub fn params(&self) -> Params {
        Params::from_values(self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// After an accepted change of `use_sim_time`: the state the node's clock must switch to (once). The node
    /// passes it to [`switch_sim_time`] on the thread that owns the `r2r::Node`.
    pub fn take_sim_time_switch(&mut self) -> Option<bool> {
        self.sim_time_switch.take()
    }

    fn descriptor(&self, name: &str) -> rm::ParameterDescriptor {
        match self.specs.iter().find(|s| s.name == *name) {
            Some(spec) => descriptor(spec),
            None => rm::ParameterDescriptor { name: name.to_owned(), ..Default::default() },
        }
    }

    /// Applies a batch of changes if every value is declared, writable (a read-only parameter set to its current
    /// value is left alone), well-typed, consistent with the declared relations, accepted by `validate` for the
    /// whole resulting set, and in range; otherwise nothing changes. Returns the reason on rejection; it names
    /// the parameter being set first.
    pub fn try_set(&mut self, changes: &[(String, ParameterValue)], validate: Validator) -> Result<(), String> {
        self.apply(changes, validate).map(|_| ())
    }

    /// [`Self::try_set`]; `Ok(true)` when a value changed (`Ok(false)`: only no-op sets of read-only parameters).
    fn apply(&mut self, changes: &[(String, ParameterValue)], validate: Validator) -> Result<bool, String> {
        let Accepted { values: candidate, changed } = plan_change(&self.specs, &self.values, changes, validate)?;
        if changed.is_empty() {
            return Ok(false);
        }
        let events: Vec<rm::Parameter> = changed
            .iter()
            .filter_map(|n| candidate.get(n).map(|v| rm::Parameter { name: n.clone(), value: value_to_msg(v) }))
            .collect();
        if let Some(ParameterValue::Bool(on)) = candidate.get("use_sim_time") {
            if self.values.get("use_sim_time") != Some(&ParameterValue::Bool(*on)) {
                self.sim_time_switch = Some(*on);
            }
        }
        self.values = candidate;
        let stamp = self.clock.now().map(stamp_to_msg).unwrap_or_default();
        let ev =
            rm::ParameterEvent { stamp, node: self.node_fqn.clone(), changed_parameters: events, ..Default::default() };
        if let Err(e) = self.events.publish(&ev) {
            warn!("publishing /parameter_events failed: {e}");
        }
        info!("parameters changed: {}", changed.join(", "));
        Ok(true)
    }

    /// Serves parameter requests until one changes a value; returns after an accepted change so the node can
    /// swap in the new configuration (`self.params()`) and, if `use_sim_time` changed, switch its clock
    /// ([`Self::take_sim_time_switch`]).
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
                        let r = self.apply(&[(p.name.clone(), value_from_msg(&p.value))], validate);
                        any |= matches!(r, Ok(true));
                        results.push(result_msg(r.map(|_| ())));
                    }
                    let _ = req.respond(SetParameters::Response { results });
                    if any { return Ok(()); }
                }
                req = self.set_atomically.next() => {
                    let req = req.context("set_parameters_atomically closed")?;
                    let changes: Vec<_> = req.message.parameters.iter().map(|p| (p.name.clone(), value_from_msg(&p.value))).collect();
                    let r = self.apply(&changes, validate);
                    let changed = matches!(r, Ok(true));
                    let _ = req.respond(SetParametersAtomically::Response { result: result_msg(r.map(|_| ())) });
                    if changed { return Ok(()); }
                }
            }
        }
    }
}

/// An accepted batch of changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    /// All values after the change.
    pub values: BTreeMap<String, ParameterValue>,
    /// The parameters that were set (a read-only one set to its current value is not among them).
    pub changed: Vec<String>,
}

/// Decides a batch of changes against the current `values` (see [`ParamServer::try_set`]): declared, writable
/// or unchanged if read-only, typed exactly, consistent with the relations, accepted by `validate` (the
/// authority), then in the declared range.
pub fn plan_change(
    specs: &[ParamSpec],
    values: &BTreeMap<String, ParameterValue>,
    changes: &[(String, ParameterValue)],
    validate: Validator,
) -> Result<Accepted, String> {
    let mut candidate = values.clone();
    let mut changed: Vec<String> = Vec::new();
    for (name, value) in changes {
        let spec =
            specs.iter().find(|s| s.name == *name).ok_or_else(|| format!("parameter `{name}` is not declared"))?;
        let value = check_type(spec, value)?;
        if spec.read_only {
            if values.get(name) == Some(&value) {
                continue;
            }
            return Err(format!("parameter `{name}` is read-only (set it in the params file and restart)"));
        }
        candidate.insert(name.clone(), value);
        changed.push(name.clone());
    }
    if changed.is_empty() {
        return Ok(Accepted { values: candidate, changed });
    }
    check_relations(specs, &candidate, &changed)?;
    let params = Params::from_values(candidate.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    validate(&params).map_err(|e| name_changed_first(e, &changed, &candidate))?;
    for name in &changed {
        if let (Some(spec), Some(v)) = (specs.iter().find(|s| s.name == *name), candidate.get(name)) {
            check_range(spec, v)?;
        }
    }
    Ok(Accepted { values: candidate, changed })
}

/// The `rcl_interfaces/ParameterDescriptor` of a declared parameter: type, description, read-only, range and
/// the relations as additional constraints.
pub fn descriptor(spec: &ParamSpec) -> rm::ParameterDescriptor {
    let mut d = rm::ParameterDescriptor {
        name: spec.name.clone(),
        type_: type_id(&spec.default),
        description: spec.description.clone(),
        read_only: spec.read_only,
        additional_constraints: spec.relations.iter().map(Relation::describe).collect::<Vec<_>>().join("; "),
        ..Default::default()
    };
    match spec.range {
        Some(Range::Float(lo, hi)) => {
            d.floating_point_range = vec![rm::FloatingPointRange { from_value: lo, to_value: hi, step: 0.0 }]
        }
        Some(Range::Int(lo, hi)) => d.integer_range = vec![rm::IntegerRange { from_value: lo, to_value: hi, step: 0 }],
        None => {}
    }
    d
}

/// Checks every relation that involves one of the `changed` parameters on the candidate values; the error
/// names the changed parameter first.
pub fn check_relations(
    specs: &[ParamSpec],
    values: &BTreeMap<String, ParameterValue>,
    changed: &[String],
) -> Result<(), String> {
    for spec in specs {
        for r in &spec.relations {
            let this_changed = changed.contains(&spec.name);
            if !this_changed && !changed.contains(&r.other) {
                continue;
            }
            if let (Some(this), Some(other)) = (values.get(&spec.name), values.get(&r.other)) {
                r.check(&spec.name, this, other, this_changed)?;
            }
        }
    }
    Ok(())
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
        let mut values: BTreeMap<String, ParameterValue> =
            s.iter().map(|s| (s.name.clone(), s.default.clone())).collect();
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
    fn use_sim_time_is_writable() {
        assert!(!use_sim_time_spec().read_only);
    }
}
