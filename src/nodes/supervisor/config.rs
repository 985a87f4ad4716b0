//! The supervisor's parameters: declarations and their validation into [`SupervisorConfig`].

use r2r::ParameterValue;
use thiserror::Error;

use crate::ros::param_server::{use_sim_time_spec, Cmp, ParamSpec, Range, RunTime};
use crate::ros::params::{ParamError, Params};

/// Declared parameters of the supervisor.
pub fn param_specs() -> Vec<ParamSpec> {
    vec![
        use_sim_time_spec(),
        ParamSpec::new(
            "managed_nodes",
            "nodes to bring up, in order (names relative to the supervisor's namespace)",
            ParameterValue::StringArray(vec!["intent_predictor".into(), "shared_control".into()]),
        )
        .read_only(),
        ParamSpec::new(
            "critical_nodes",
            "nodes whose loss deactivates all others (the rest run degraded without them)",
            ParameterValue::StringArray(vec!["shared_control".into()]),
        )
        .read_only(),
        ParamSpec::new(
            "autostart",
            "configure and activate itself and the managed nodes at start-up",
            ParameterValue::Bool(true),
        )
        .read_only(),
        ParamSpec::new("liveness_period", "period of the get_state liveness probe [s]", ParameterValue::Double(0.1))
            .range(Range::Float(0.01, 5.0))
            .run_time(RunTime::Lower),
        ParamSpec::new("liveness_timeout", "a node silent for longer is lost [s]", ParameterValue::Double(0.5))
            .range(Range::Float(0.05, 30.0))
            .must_be(Cmp::AtLeast, "liveness_period")
            .run_time(RunTime::Lower),
        ParamSpec::new("transition_timeout", "longest wait for a change_state answer [s]", ParameterValue::Double(5.0))
            .range(Range::Float(0.1, 60.0))
            .run_time(RunTime::Lower),
        ParamSpec::new(
            "stop_rate",
            "rate of the zero commands published while the system is faulted [Hz]",
            ParameterValue::Double(20.0),
        )
        .range(Range::Float(1.0, 1000.0))
        .run_time(RunTime::Raise),
        ParamSpec::new("cmd_frame_id", "frame_id of the zero commands", ParameterValue::String("base_link".into())),
        ParamSpec::new("diagnostics_period", "period of /diagnostics [s]", ParameterValue::Double(1.0))
            .range(Range::Float(0.1, 60.0)),
        ParamSpec::new(
            "metrics_port",
            "port of /metrics and /health on 127.0.0.1 (0 = any free port, -1 = off)",
            ParameterValue::Integer(-1),
        )
        .range(Range::Int(-1, 65535))
        .read_only(),
    ]
}

/// Validated supervisor configuration.
#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    pub managed_nodes: Vec<String>,
    pub critical_nodes: Vec<String>,
    pub autostart: bool,
    pub liveness_period: f64,
    pub liveness_timeout: f64,
    pub transition_timeout: f64,
    pub stop_rate: f64,
    pub cmd_frame_id: String,
    pub diagnostics_period: f64,
    pub metrics_port: i64,
}

/// Why the supervisor's parameters are refused; the message names the parameter and what is allowed.
#[derive(Debug, Error)]
pub enum SupervisorConfigError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("`managed_nodes` must name at least one node")]
    NoManagedNodes,
    #[error("`critical_nodes` entry `{0}` is not in `managed_nodes`")]
    CriticalNotManaged(String),
    #[error("`liveness_timeout` ({timeout}) must be >= `liveness_period` ({period})")]
    LivenessTimeoutBelowPeriod { timeout: f64, period: f64 },
}

impl SupervisorConfig {
    /// The one validation used at configure and for runtime changes.
    pub fn from_params(p: &Params) -> Result<Self, SupervisorConfigError> {
        let cfg = SupervisorConfig {
            managed_nodes: p.string_array_or("managed_nodes", &[])?,
            critical_nodes: p.string_array_or("critical_nodes", &[])?,
            autostart: p.bool_or("autostart", true)?,
            liveness_period: p.f64_or("liveness_period", 0.1)?,
            liveness_timeout: p.f64_or("liveness_timeout", 0.5)?,
            transition_timeout: p.f64_or("transition_timeout", 5.0)?,
            stop_rate: p.f64_or("stop_rate", 20.0)?,
            cmd_frame_id: p.string_or("cmd_frame_id", "base_link")?,
            diagnostics_period: p.f64_or("diagnostics_period", 1.0)?,
            metrics_port: p.i64_or("metrics_port", -1)?,
        };
        if cfg.managed_nodes.is_empty() {
            return Err(SupervisorConfigError::NoManagedNodes);
        }
        if let Some(c) = cfg.critical_nodes.iter().find(|c| !cfg.managed_nodes.contains(c)) {
            return Err(SupervisorConfigError::CriticalNotManaged(c.clone()));
        }
        if cfg.liveness_timeout < cfg.liveness_period {
            return Err(SupervisorConfigError::LivenessTimeoutBelowPeriod {
                timeout: cfg.liveness_timeout,
                period: cfg.liveness_period,
            });
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros::param_server::plan_change;
    use std::collections::BTreeMap;

    #[test]
    fn the_supervisor_s_watch_is_only_tightened_while_running() {
        let specs = param_specs();
        let values: BTreeMap<String, ParameterValue> =
            specs.iter().map(|s| (s.name.clone(), s.default.clone())).collect();
        let ok: crate::ros::param_server::Validator = &|_| Ok(());
        let set =
            |name: &str, v: f64| plan_change(&specs, &values, &[(name.to_owned(), ParameterValue::Double(v))], ok);
        // A hung shared_control would be found after 30 s instead of 0.5 s.
        let e = set("liveness_timeout", 30.0).expect_err("raised");
        assert!(e.contains("only lowered while running"), "{e}");
        assert!(set("liveness_timeout", 0.4).is_ok());
        assert!(set("liveness_period", 0.5).is_err() && set("liveness_period", 0.05).is_ok());
        assert!(set("transition_timeout", 60.0).is_err() && set("transition_timeout", 2.0).is_ok());
        assert!(set("stop_rate", 1.0).is_err() && set("stop_rate", 50.0).is_ok());
    }
}
