//! Typed reading of ROS parameters (from `--ros-args --params-file` / `-p`) into the nodes' configuration.
//!
//! The values come from [`crate::ros::param_server::ParamServer`], which has already checked their types exactly (an
//! integer is refused for a double there); the accessors here default what is absent.

use std::collections::HashMap;

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
        let p = params(&[]);
        assert_eq!(p.f64_or("x", 0.5), Ok(0.5));
        assert_eq!(p.i64_or("x", 3), Ok(3));
        assert_eq!(p.index_or("x", 4), Ok(4));
        assert_eq!(p.string_or("x", "a"), Ok("a".to_owned()));
        assert_eq!(p.bool_or("x", true), Ok(true));
    }

    #[test]
    fn integer_read_as_double_by_the_accessor() {
        // (the parameter server refuses an integer for a declared double; this accessor stays lenient)
        assert_eq!(params(&[("t", ParameterValue::Integer(1))]).f64_or("t", 0.0), Ok(1.0));
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
            params(&[("t", ParameterValue::String("x".into()))]).f64_or("t", 0.0),
            Err(ParamError::WrongType { .. })
        ));
        assert!(matches!(
            params(&[("b", ParameterValue::Integer(-3))]).index_or("b", 0),
            Err(ParamError::Invalid { .. })
        ));
    }
}
