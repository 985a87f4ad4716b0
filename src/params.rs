//! Typed reading of ROS parameters (from `--ros-args --params-file` / `-p`) into the nodes' configuration.
//!
//! The values come from [`crate::param_server::ParamServer`], which has already checked their types exactly (an
//! integer is refused for a double there); the accessors here default what is absent.

use std::collections::HashMap;

use intent_shared_control_core::teleop::{AxisBinding, TeleopConfig};
use r2r::ParameterValue;
use thiserror::Error;

/// A parameter that is present but unusable.
#[derive(Debug, Error, PartialEq)]
pub enum ParamError {
    #[error("parameter `{name}`: expected {expected}, got {got}")]
    WrongType { name: String, expected: &'static str, got: String },
    #[error("parameter `{name}`: {reason}")]
    Invalid { name: String, reason: String },
}

/// A snapshot of a node's parameters with typed, defaulted accessors.
pub struct Params {
    values: HashMap<String, ParameterValue>,
}

impl Params {
    /// Parameters given directly (the parameter server's values, tests).
    pub fn from_values(values: HashMap<String, ParameterValue>) -> Self {
        Params { values }
    }

    /// The raw value of a parameter, if set.
    pub fn value(&self, name: &str) -> Option<&ParameterValue> {
        self.get(name)
    }

    fn get(&self, name: &str) -> Option<&ParameterValue> {
        self.values.get(name).filter(|v| !matches!(v, ParameterValue::NotSet))
    }

    /// A floating-point parameter (integers are accepted and converted).
    pub fn f64_or(&self, name: &str, default: f64) -> Result<f64, ParamError> {
        match self.get(name) {
            None => Ok(default),
            Some(ParameterValue::Double(v)) => Ok(*v),
            Some(ParameterValue::Integer(v)) => Ok(*v as f64),
            Some(other) => Err(wrong(name, "a number", other)),
        }
    }

    /// An integer parameter.
    pub fn i64_or(&self, name: &str, default: i64) -> Result<i64, ParamError> {
        match self.get(name) {
            None => Ok(default),
            Some(ParameterValue::Integer(v)) => Ok(*v),
            Some(other) => Err(wrong(name, "an integer", other)),
        }
    }

    /// A non-negative index parameter (axis or button number).
    pub fn index_or(&self, name: &str, default: usize) -> Result<usize, ParamError> {
        let v = self.i64_or(name, default as i64)?;
        usize::try_from(v)
            .map_err(|_| ParamError::Invalid { name: name.into(), reason: format!("must be >= 0, got {v}") })
    }

    /// A double-array parameter (integer elements are converted).
    pub fn f64_array_or(&self, name: &str, default: &[f64]) -> Result<Vec<f64>, ParamError> {
        match self.get(name) {
            None => Ok(default.to_vec()),
            Some(ParameterValue::DoubleArray(v)) => Ok(v.clone()),
            Some(ParameterValue::IntegerArray(v)) => Ok(v.iter().map(|x| *x as f64).collect()),
            Some(other) => Err(wrong(name, "a double array", other)),
        }
    }

    /// A string-array parameter.
    pub fn string_array_or(&self, name: &str, default: &[&str]) -> Result<Vec<String>, ParamError> {
        match self.get(name) {
            None => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
            Some(ParameterValue::StringArray(v)) => Ok(v.clone()),
            Some(other) => Err(wrong(name, "a string array", other)),
        }
    }

    /// A boolean parameter.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ParamError> {
        match self.get(name) {
            None => Ok(default),
            Some(ParameterValue::Bool(v)) => Ok(*v),
            Some(other) => Err(wrong(name, "a boolean", other)),
        }
    }

    /// A string parameter.
    pub fn string_or(&self, name: &str, default: &str) -> Result<String, ParamError> {
        match self.get(name) {
            None => Ok(default.to_owned()),
            Some(ParameterValue::String(v)) => Ok(v.clone()),
            Some(other) => Err(wrong(name, "a string", other)),
        }
    }

    /// Teleop map under `teleop.*`; an axis binding with `axis: -1` is disabled.
    pub fn teleop(&self) -> Result<TeleopConfig, ParamError> {
        let d = TeleopConfig::default();
        let turbo = self.i64_or("teleop.turbo_button", d.turbo_button.map_or(-1, |b| b as i64))?;
        let binding = |key: &str, def: &Option<AxisBinding>| -> Result<Option<AxisBinding>, ParamError> {
            let axis = self.i64_or(&format!("teleop.{key}.axis"), def.as_ref().map_or(-1, |b| b.axis as i64))?;
            if axis < 0 {
                return Ok(None);
            }
            Ok(Some(AxisBinding {
                axis: axis as usize,
                scale: self.f64_or(&format!("teleop.{key}.scale"), def.as_ref().map_or(0.0, |b| b.scale))?,
                scale_turbo: self
                    .f64_or(&format!("teleop.{key}.scale_turbo"), def.as_ref().map_or(0.0, |b| b.scale_turbo))?,
            }))
        };
        let cfg = TeleopConfig {
            deadman_button: self.index_or("teleop.deadman_button", d.deadman_button)?,
            turbo_button: usize::try_from(turbo).ok(),
            deadzone: self.f64_or("teleop.deadzone", d.deadzone)?,
            timeout: self.f64_or("teleop.timeout", d.timeout)?,
            max_future: self.f64_or("teleop.max_future", d.max_future)?,
            linear_x: binding("linear_x", &d.linear_x)?,
            linear_y: binding("linear_y", &d.linear_y)?,
            linear_z: binding("linear_z", &d.linear_z)?,
            angular_x: binding("angular_x", &d.angular_x)?,
            angular_y: binding("angular_y", &d.angular_y)?,
            angular_z: binding("angular_z", &d.angular_z)?,
        };
        cfg.validate().map_err(|e| ParamError::Invalid { name: "teleop".into(), reason: e.to_string() })?;
        Ok(cfg)
    }
}

fn wrong(name: &str, expected: &'static str, got: &ParameterValue) -> ParamError {
    ParamError::WrongType { name: name.to_owned(), expected, got: format!("{got:?}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kv: &[(&str, ParameterValue)]) -> Params {
        Params::from_values(kv.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn defaults_when_absent() {
        assert_eq!(params(&[]).teleop().expect("defaults are valid"), TeleopConfig::default());
    }

    #[test]
    fn integer_accepted_for_double_and_axis_disabled_by_minus_one() {
        let p = params(&[
            ("teleop.timeout", ParameterValue::Integer(1)),
            ("teleop.angular_z.axis", ParameterValue::Integer(-1)),
        ]);
        let t = p.teleop().expect("valid");
        assert_eq!(t.timeout, 1.0);
        assert!(t.angular_z.is_none());
    }

    #[test]
    fn double_arrays() {
        let p = params(&[("a", ParameterValue::DoubleArray(vec![0.5])), ("b", ParameterValue::IntegerArray(vec![2]))]);
        assert_eq!(p.f64_array_or("a", &[]), Ok(vec![0.5]));
        assert_eq!(p.f64_array_or("b", &[]), Ok(vec![2.0]));
        assert_eq!(p.f64_array_or("c", &[1.0]), Ok(vec![1.0]));
        assert!(params(&[("a", ParameterValue::Bool(true))]).f64_array_or("a", &[]).is_err());
    }

    #[test]
    fn wrong_type_and_invalid_value_are_errors() {
        assert!(matches!(
            params(&[("teleop.timeout", ParameterValue::String("x".into()))]).teleop(),
            Err(ParamError::WrongType { .. })
        ));
        assert!(matches!(
            params(&[("teleop.timeout", ParameterValue::Double(-1.0))]).teleop(),
            Err(ParamError::Invalid { .. })
        ));
        assert!(matches!(
            params(&[("teleop.deadman_button", ParameterValue::Integer(-3))]).teleop(),
            Err(ParamError::Invalid { .. })
        ));
    }
}
