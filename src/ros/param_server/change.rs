//! Deciding values: start-up overrides resolved against the declarations, and run-time changes planned
//! (validate, then swap).

use std::collections::BTreeMap;

use r2r::ParameterValue;

use super::spec::ParamSpec;
use super::value::{check_range, check_type, check_value, run_time_allows, show};
use crate::ros::param_overrides::Override;
use crate::ros::params::Params;

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
/// [`crate::ros::param_overrides`]). A wrongly typed or out-of-range value of a declared parameter is an error
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
pub(super) fn name_changed_first(err: String, changed: &[String], values: &BTreeMap<String, ParameterValue>) -> String {
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

/// Node-specific validation of a complete candidate parameter set; `Err` carries the reason shown to the user.
pub type Validator<'a> = &'a dyn Fn(&Params) -> Result<(), String>;

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
///
/// [`ParamServer::try_set`]: super::ParamServer::try_set
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
        if let Some(old) = values.get(name) {
            if !run_time_allows(spec.run_time, old, &value) {
                return Err(format!(
                    "parameter `{name}` is {}: {} after {} would loosen the safety chain (set it in the params file \
                     and restart)",
                    spec.run_time.text(),
                    show(&value),
                    show(old)
                ));
            }
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
