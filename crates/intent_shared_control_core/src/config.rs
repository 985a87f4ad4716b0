//! Declared configuration fields: one table per configuration type names each field, its allowed range, its
//! unit and a one-line description, and the same table drives the type's validation and the ROS parameter
//! declarations (ranges shown by `ros2 param describe`, descriptions in `config/params.yaml`).
//!
//! A configuration type implements [`Section`]: [`Section::FIELDS`] (the table, names relative to the type),
//! [`Section::RELATIONS`] (constraints between two of its fields, e.g. `confidence_full > confidence_floor`)
//! and, when it holds nested configurations, [`Section::declare_nested`]. Its `validate` checks the table
//! ([`Section::check_declared`]), then its nested sections with their names prefixed
//! ([`ConfigError::within`]). Every failure is a [`ConfigError`] naming the dotted field.

use std::fmt;

use thiserror::Error;

/// Why a configuration is unusable: the one error type of every configuration's validation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConfigError {
    /// A number outside its allowed range (or violating a relation to another field).
    #[error("`{field}` = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// Dotted name, relative to the configuration that was validated (e.g. `safety.zones.stop_distance`).
        field: String,
        /// The value found.
        value: f64,
        /// What is allowed, e.g. `[0, 1]`, `> 0 s`, `>= stop_distance (0.3)`.
        allowed: String,
    },
    /// A value that is not a plain number (shape, frame name) is invalid.
    #[error("`{field}` is invalid: {reason}")]
    Invalid {
        /// Dotted name, relative to the configuration that was validated.
        field: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl ConfigError {
    /// The same error with the field named from an enclosing section: `within("safety")` turns `zones.x` into
    /// `safety.zones.x`.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            ConfigError::OutOfRange { field, value, allowed } => {
                ConfigError::OutOfRange { field: format!("{prefix}.{field}"), value, allowed }
            }
            ConfigError::Invalid { field, reason } => {
                ConfigError::Invalid { field: format!("{prefix}.{field}"), reason }
            }
        }
    }
}

/// One end of a [`Range`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Bound {
    /// No bound on this side (every finite value).
    Unbounded,
    /// The value itself is allowed.
    Closed(f64),
    /// Only values strictly beyond it are allowed.
    Open(f64),
}

/// The allowed values of a number: finite and within both [`Bound`]s.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Range {
    /// Lower end.
    pub lower: Bound,
    /// Upper end.
    pub upper: Bound,
}

impl Range {
    /// Every finite value.
    pub const FINITE: Range = Range { lower: Bound::Unbounded, upper: Bound::Unbounded };
    /// `>= 0`.
    pub const NON_NEGATIVE: Range = Range::at_least(0.0);
    /// `> 0`.
    pub const POSITIVE: Range = Range { lower: Bound::Open(0.0), upper: Bound::Unbounded };
    /// `[0, 1]`.
    pub const UNIT: Range = Range::closed(0.0, 1.0);

    /// `[lo, hi]`.
    pub const fn closed(lo: f64, hi: f64) -> Range {
        Range { lower: Bound::Closed(lo), upper: Bound::Closed(hi) }
    }

    /// `>= lo`.
    pub const fn at_least(lo: f64) -> Range {
        Range { lower: Bound::Closed(lo), upper: Bound::Unbounded }
    }

    /// True when `x` is finite and within both ends.
    pub fn contains(&self, x: f64) -> bool {
        let lower = match self.lower {
            Bound::Unbounded => true,
            Bound::Closed(lo) => x >= lo,
            Bound::Open(lo) => x > lo,
        };
        let upper = match self.upper {
            Bound::Unbounded => true,
            Bound::Closed(hi) => x <= hi,
            Bound::Open(hi) => x < hi,
        };
        x.is_finite() && lower && upper
    }

    /// True when both ends are bounded.
    pub fn is_bounded(&self) -> bool {
        self.lower != Bound::Unbounded && self.upper != Bound::Unbounded
    }
}

impl fmt::Display for Range {
    /// `[0, 1]`, `[0, 1)`, `(0, 20]`, `>= 0`, `> 0`, `<= 5`, `finite`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Bound::{Closed, Open, Unbounded};
        match (self.lower, self.upper) {
            (Unbounded, Unbounded) => write!(f, "finite"),
            (Closed(lo), Unbounded) => write!(f, ">= {lo}"),
            (Open(lo), Unbounded) => write!(f, "> {lo}"),
            (Unbounded, Closed(hi)) => write!(f, "<= {hi}"),
            (Unbounded, Open(hi)) => write!(f, "< {hi}"),
            (lower, upper) => {
                let (open, lo) = match lower {
                    Open(lo) => ('(', lo),
                    Closed(lo) => ('[', lo),
                    Unbounded => ('(', f64::NEG_INFINITY),
                };
                let (close, hi) = match upper {
                    Open(hi) => (')', hi),
                    Closed(hi) => (']', hi),
                    Unbounded => (')', f64::INFINITY),
                };
                write!(f, "{open}{lo}, {hi}{close}")
            }
        }
    }
}

/// How a declared field's value is read from its configuration type `T`.
pub enum Get<T> {
    /// A real number.
    Real(fn(&T) -> f64),
    /// A fixed array of real numbers, each element checked; errors name the element `name[label]` (`name[i]`
    /// when `labels` is empty).
    Reals(fn(&T) -> &[f64], &'static [&'static str]),
    /// An index or count (`None`: not set, nothing to check).
    Count(fn(&T) -> Option<usize>),
    /// Not a number (a switch, a name): described, not bounded.
    Other,
}

/// How a running system may change a field (a parameter set while the node runs): a safety margin may be
/// tightened at any time and loosened only where the configuration is fixed at start (the params file).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RunTime {
    /// Any change in range (not a safety margin).
    Any,
    /// Only lowered: a higher value loosens the safety chain (a timeout, a speed limit, a tolerance).
    Lower,
    /// Only raised: a lower value loosens the safety chain (a margin, an assumed human speed); for a switch,
    /// only from off to on.
    Raise,
    /// Not at all: neither direction is safe in general (a shape, a frame, a fit window).
    Fixed,
}

impl RunTime {
    /// Whether a running system may go from `old` to `new` (numbers; a switch is 0 or 1).
    pub fn allows(self, old: f64, new: f64) -> bool {
        match self {
            RunTime::Any => true,
            RunTime::Lower => new <= old,
            RunTime::Raise => new >= old,
            RunTime::Fixed => new == old,
        }
    }

    /// What a running system may do, as parameter descriptions and refusals say it (empty for `Any`).
    pub fn text(self) -> &'static str {
        match self {
            RunTime::Any => "",
            RunTime::Lower => "only lowered while running",
            RunTime::Raise => "only raised while running",
            RunTime::Fixed => "set at start",
        }
    }
}

/// One declared field of the configuration type `T`.
pub struct FieldSpec<T> {
    /// Name, relative to `T` (dotted for a field of a nested struct of `T`).
    pub name: &'static str,
    /// Allowed values (`None` for what is not a number).
    pub range: Option<Range>,
    /// Unit, e.g. `m/s`; empty when dimensionless or not a number.
    pub unit: &'static str,
    /// One-line description, lower case, without the unit.
    pub doc: &'static str,
    /// How the value is read.
    pub get: Get<T>,
    /// How a running system may change it.
    pub run_time: RunTime,
}

impl<T> FieldSpec<T> {
    /// A real number in `range`.
    pub const fn real(
        name: &'static str,
        range: Range,
        unit: &'static str,
        doc: &'static str,
        get: fn(&T) -> f64,
    ) -> Self {
        FieldSpec { name, range: Some(range), unit, doc, get: Get::Real(get), run_time: RunTime::Any }
    }

    /// An array of real numbers, each in `range`; `labels` name the elements in errors (empty: indices).
    pub const fn reals(
        name: &'static str,
        range: Range,
        unit: &'static str,
        doc: &'static str,
        labels: &'static [&'static str],
        get: fn(&T) -> &[f64],
    ) -> Self {
        FieldSpec { name, range: Some(range), unit, doc, get: Get::Reals(get, labels), run_time: RunTime::Any }
    }

    /// An index or count in `range` (`None`: unset).
    pub const fn count(
        name: &'static str,
        range: Range,
        unit: &'static str,
        doc: &'static str,
        get: fn(&T) -> Option<usize>,
    ) -> Self {
        FieldSpec { name, range: Some(range), unit, doc, get: Get::Count(get), run_time: RunTime::Any }
    }

    /// A switch or a name: described only.
    pub const fn other(name: &'static str, doc: &'static str) -> Self {
        FieldSpec { name, range: None, unit: "", doc, get: Get::Other, run_time: RunTime::Any }
    }

    /// The same field, changed by a running system only as `run_time` says (a safety margin).
    pub const fn at_run_time(self, run_time: RunTime) -> Self {
        FieldSpec { run_time, ..self }
    }

    /// The values of the field in `config` with their labels (`None` for a scalar); empty when not a number or
    /// unset.
    fn values(&self, config: &T) -> Vec<(Option<String>, f64)> {
        match &self.get {
            Get::Real(get) => vec![(None, get(config))],
            Get::Reals(get, labels) => get(config)
                .iter()
                .enumerate()
                .map(|(i, x)| (Some(labels.get(i).map_or_else(|| i.to_string(), |l| (*l).to_owned())), *x))
                .collect(),
            Get::Count(get) => get(config).map(|n| (None, n as f64)).into_iter().collect(),
            Get::Other => Vec::new(),
        }
    }

    /// What is allowed, as error messages say it: the range and the unit (`[0, 2] m`, `> 0 s`, `[0, 1]`).
    fn allowed(&self, range: &Range) -> String {
        if self.unit.is_empty() {
            range.to_string()
        } else {
            format!("{range} {}", self.unit)
        }
    }

    /// `Ok` when every value of the field in `config` is in its range.
    pub fn check(&self, config: &T) -> Result<(), ConfigError> {
        let Some(range) = &self.range else { return Ok(()) };
        for (label, value) in self.values(config) {
            if !range.contains(value) {
                return Err(ConfigError::OutOfRange {
                    field: element(self.name, label.as_deref()),
                    value,
                    allowed: self.allowed(range),
                });
            }
        }
        Ok(())
    }

    /// The declaration with its name under `prefix` (empty: as is).
    pub fn describe(&self, prefix: &str) -> FieldDoc {
        FieldDoc {
            name: join(prefix, self.name),
            range: self.range,
            unit: self.unit,
            doc: self.doc,
            integer: matches!(self.get, Get::Count(_)),
            run_time: self.run_time,
        }
    }
}

fn element(name: &str, label: Option<&str>) -> String {
    match label {
        Some(l) => format!("{name}[{l}]"),
        None => name.to_owned(),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A declared field with its full dotted name, as the ROS parameter layer reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDoc {
    /// Full dotted name, e.g. `safety.zones.stop_distance`.
    pub name: String,
    /// Allowed values (`None`: not a number).
    pub range: Option<Range>,
    /// Unit; empty when dimensionless or not a number.
    pub unit: &'static str,
    /// One-line description without the unit.
    pub doc: &'static str,
    /// An index or count (an integer parameter).
    pub integer: bool,
    /// How a running system may change it.
    pub run_time: RunTime,
}

impl FieldDoc {
    /// What follows the description: the unit in brackets (`[m/s]`); for a dimensionless number its range
    /// when bounded on both sides (`[0, 1]`, `[0, 1)`), else `[-]`; `None` for what is not a number.
    pub fn unit_text(&self) -> Option<String> {
        let range = self.range?;
        Some(match self.unit {
            "" if range.is_bounded() => range.to_string(),
            "" => "[-]".to_owned(),
            u => format!("[{u}]"),
        })
    }

    /// The description with its unit, e.g. `stop zone radius from the robot's surface [m]`.
    pub fn description(&self) -> String {
        match self.unit_text() {
            Some(u) => format!("{} {u}", self.doc),
            None => self.doc.to_owned(),
        }
    }
}

/// How a field compares with another (see [`Relation`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// Strictly greater.
    Greater,
    /// Greater or equal.
    AtLeast,
}

impl Cmp {
    /// True when `a` compares with `b` as required.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Greater => a > b,
            Cmp::AtLeast => a >= b,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Cmp::Greater => ">",
            Cmp::AtLeast => ">=",
        }
    }
}

/// A constraint between two fields: `field cmp other`, element by element for an array (against the same
/// element of an array `other`, or against a scalar `other`), only the first `first` elements when set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation<N = &'static str> {
    /// The constrained field (named in the error).
    pub field: N,
    /// How it compares with `other`.
    pub cmp: Cmp,
    /// The field it is compared with.
    pub other: N,
    /// Only the first elements of an array take part (`None`: all).
    pub first: Option<usize>,
}

impl Relation {
    /// `Ok` when the relation holds in `config`, both fields looked up in `fields`.
    pub fn check<T>(&self, config: &T, fields: &[FieldSpec<T>]) -> Result<(), ConfigError> {
        let lookup = |name: &str| fields.iter().find(|f| f.name == name).map(|f| f.values(config));
        match (lookup(self.field), lookup(self.other)) {
            (Some(lhs), Some(rhs)) => self.compare(&lhs, &rhs),
            _ => Err(ConfigError::Invalid { field: self.field.to_owned(), reason: "relation to an undeclared field" }),
        }
    }

    /// `Ok` when the relation holds for values read elsewhere: `lhs` the field's (labelled) elements, `rhs` the
    /// other's (one value, or one per element).
    pub fn compare(&self, lhs: &[(Option<String>, f64)], rhs: &[(Option<String>, f64)]) -> Result<(), ConfigError> {
        for (i, (label, value)) in lhs.iter().enumerate().take(self.first.unwrap_or(usize::MAX)) {
            let Some((_, bound)) = rhs.get(if rhs.len() == 1 { 0 } else { i }) else { continue };
            if !self.cmp.holds(*value, *bound) {
                return Err(ConfigError::OutOfRange {
                    field: element(self.field, label.as_deref()),
                    value: *value,
                    allowed: format!("{} {} ({bound})", self.cmp.symbol(), self.other),
                });
            }
        }
        Ok(())
    }

    /// The relation with both names under `prefix`.
    pub fn describe(&self, prefix: &str) -> Relation<String> {
        Relation { field: join(prefix, self.field), cmp: self.cmp, other: join(prefix, self.other), first: self.first }
    }
}

/// Every declared field and relation of a configuration, with full dotted names (see [`Section::declare`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    /// Fields, in declaration order.
    pub fields: Vec<FieldDoc>,
    /// Relations, in declaration order.
    pub relations: Vec<Relation<String>>,
}

impl Catalog {
    /// The field named `name`, if declared.
    pub fn field(&self, name: &str) -> Option<&FieldDoc> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A configuration type with declared fields (see the module docs).
pub trait Section: Sized + 'static {
    /// The fields of this type, names relative to it.
    const FIELDS: &'static [FieldSpec<Self>];
    /// Constraints between two of [`Section::FIELDS`].
    const RELATIONS: &'static [Relation] = &[];

    /// Adds the declarations of nested sections, their names under `prefix` (default: none).
    fn declare_nested(_catalog: &mut Catalog, _prefix: &str) {}

    /// Adds this section's fields and relations under `prefix`, then its nested sections.
    fn declare(catalog: &mut Catalog, prefix: &str) {
        catalog.fields.extend(Self::FIELDS.iter().map(|f| f.describe(prefix)));
        catalog.relations.extend(Self::RELATIONS.iter().map(|r| r.describe(prefix)));
        Self::declare_nested(catalog, prefix);
    }

    /// Checks every field of [`Section::FIELDS`] against its range, then [`Section::RELATIONS`] (nested
    /// sections are the type's own `validate`'s business).
    fn check_declared(&self) -> Result<(), ConfigError> {
        for field in Self::FIELDS {
            field.check(self)?;
        }
        for relation in Self::RELATIONS {
            relation.check(self, Self::FIELDS)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S {
        a: f64,
        b: [f64; 2],
        n: Option<usize>,
    }

    impl Section for S {
        const FIELDS: &'static [FieldSpec<Self>] = &[
            FieldSpec::real("a", Range::POSITIVE, "s", "an a", |s| s.a),
            FieldSpec::reals("b", Range::closed(0.0, 2.0), "m", "bs", &["x", "y"], |s| &s.b),
            FieldSpec::count("n", Range::closed(3.0, 100.0), "", "a count", |s| s.n),
            FieldSpec::other("flag", "a switch"),
        ];
        const RELATIONS: &'static [Relation] =
            &[Relation { field: "b", cmp: Cmp::AtLeast, other: "a", first: Some(1) }];
    }

    fn s() -> S {
        S { a: 1.0, b: [1.5, 0.0], n: Some(5) }
    }

    #[test]
    fn ranges_say_what_they_allow() {
        assert_eq!(Range::UNIT.to_string(), "[0, 1]");
        assert_eq!(Range { lower: Bound::Closed(0.0), upper: Bound::Open(1.0) }.to_string(), "[0, 1)");
        assert_eq!(Range { lower: Bound::Open(0.0), upper: Bound::Closed(20.0) }.to_string(), "(0, 20]");
        assert_eq!(Range::POSITIVE.to_string(), "> 0");
        assert_eq!(Range::at_least(1.6).to_string(), ">= 1.6");
        assert_eq!(Range::FINITE.to_string(), "finite");
        assert!(Range::POSITIVE.contains(1e-300) && !Range::POSITIVE.contains(0.0));
        assert!(!Range::FINITE.contains(f64::NAN) && !Range::NON_NEGATIVE.contains(f64::INFINITY));
    }

    #[test]
    fn fields_and_relations_name_the_offending_value() {
        assert_eq!(s().check_declared(), Ok(()));
        let e = S { a: 0.0, ..s() }.check_declared();
        assert_eq!(e, Err(ConfigError::OutOfRange { field: "a".into(), value: 0.0, allowed: "> 0 s".into() }));
        let e = S { b: [1.0, 2.5], ..s() }.check_declared().map_err(|e| e.within("top"));
        assert!(matches!(e, Err(ConfigError::OutOfRange { ref field, .. }) if field == "top.b[y]"), "{e:?}");
        assert!(S { n: Some(2), ..s() }.check_declared().is_err());
        assert!(S { n: None, ..s() }.check_declared().is_ok(), "unset: nothing to check");
        // relation on the first element only
        let e = S { a: 1.6, ..s() }.check_declared();
        assert!(
            matches!(e, Err(ConfigError::OutOfRange { ref field, ref allowed, .. }) if field == "b[x]" && allowed == ">= a (1.6)"),
            "{e:?}"
        );
        assert!(S { a: 1.5, b: [1.5, 0.0], ..s() }.check_declared().is_ok());
    }

    #[test]
    fn descriptions_carry_the_unit_or_the_range() {
        let mut c = Catalog::default();
        S::declare(&mut c, "top");
        let d: Vec<String> = c.fields.iter().map(FieldDoc::description).collect();
        assert_eq!(d, ["an a [s]", "bs [m]", "a count [3, 100]", "a switch"]);
        assert_eq!(c.fields[0].name, "top.a");
        assert!(c.fields[2].integer);
        assert_eq!(
            c.relations,
            [Relation { field: "top.b".to_owned(), cmp: Cmp::AtLeast, other: "top.a".to_owned(), first: Some(1) }]
        );
    }
}
