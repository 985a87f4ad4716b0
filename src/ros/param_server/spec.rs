//! Parameter declarations: [`ParamSpec`] with its range and relations to other parameters, and its descriptor.

pub use intent_shared_control_core::config::RunTime;
use r2r::rcl_interfaces::msg as rm;
use r2r::ParameterValue;

use super::value::type_id;

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
pub(super) type Num = (Option<usize>, f64);

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

pub(super) fn indexed(name: &str, i: Option<usize>) -> String {
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
    /// How a running node may change it (a safety margin: only tightened; see [`RunTime`]).
    pub run_time: RunTime,
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
            run_time: RunTime::Any,
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
    /// Changed by a running node only as `run_time` says (`Fixed`: read-only); the description says which way
    /// (a read-only parameter's declaration says so on its own).
    pub fn run_time(mut self, run_time: RunTime) -> Self {
        if matches!(run_time, RunTime::Lower | RunTime::Raise) {
            self.description = format!("{}; {}", self.description, run_time.text());
        }
        self.run_time = run_time;
        self.read_only |= run_time == RunTime::Fixed;
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

/// The standard `use_sim_time` parameter every node declares. Read-only: set at start (rclcpp lets it change at
/// run time; switched under a running node, the control loop stopped deciding and `cmd_vel` fell silent on its
/// last command, so a change is refused and its current value accepted, as for every read-only parameter).
pub fn use_sim_time_spec() -> ParamSpec {
    ParamSpec::new(
        "use_sim_time",
        "follow /clock instead of the system clock (bag replay, simulation)",
        ParameterValue::Bool(false),
    )
    .read_only()
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
