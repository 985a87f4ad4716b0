//! The parameters of shared_control: declarations and their validation into [`SharedControlParams`].

use intent_shared_control_core::ControllerConfig;
use r2r::ParameterValue;
use thiserror::Error;

use crate::ros::convert::SkeletonLimits;
use crate::ros::param_server::{use_sim_time_spec, ParamSpec, Range};
use crate::ros::params::{ParamError, Params};

/// Declared parameters, with descriptions, units and ranges: the node's own and the controller's
/// ([`crate::ros::controller_params`]).
pub fn param_specs() -> Vec<ParamSpec> {
    use ParameterValue::{Bool, Double, Integer, String as Str};
    let mut specs = vec![
        use_sim_time_spec(),
        ParamSpec::new("autostart", "configure and activate at start-up without a supervisor", Bool(false)).read_only(),
        ParamSpec::new(
            "control_rate",
            "periodic decision rate when no input arrives, also the watchdog rate [Hz]",
            Double(50.0),
        )
        .range(Range::Float(1.0, 1000.0))
        .read_only(),
        ParamSpec::new(
            "output_mode",
            "steady: cmd_vel at control_rate, a more restrictive decision at once; event: every decision [steady|event]",
            Str("steady".into()),
        )
        .read_only(),
        ParamSpec::new("cmd_frame_id", "frame_id stamped on cmd_vel and status", Str("base_link".into())),
        ParamSpec::new("max_humans", "larger skeleton or prediction arrays are rejected and counted [-]", Integer(64))
            .range(Range::Int(1, 1024)),
        ParamSpec::new("expected_joy_rate", "joystick rate the diagnostics expect [Hz]", Double(50.0))
            .range(Range::Float(0.1, 10000.0)),
        ParamSpec::new("expected_skeleton_rate", "skeleton rate the diagnostics expect [Hz]", Double(30.0))
            .range(Range::Float(0.1, 10000.0)),
        ParamSpec::new("rate_tolerance", "allowed relative deviation from the expected rates [-]", Double(0.3))
            .range(Range::Float(0.0, 1.0)),
        ParamSpec::new("markers_rate", "rate of shared_control/markers for rviz, 0 = off [Hz]", Double(10.0))
            .range(Range::Float(0.0, 100.0)),
        ParamSpec::new(
            "metrics_port",
            "port of /metrics and /health on 127.0.0.1 (0 = any free port, -1 = off)",
            Integer(-1),
        )
        .range(Range::Int(-1, 65535))
        .read_only(),
    ];
    specs.extend(crate::ros::controller_params::specs());
    specs
}

/// Why a parameter set is refused; the message names the parameter and what is allowed.
#[derive(Debug, Error)]
pub enum SharedControlParamsError {
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The controller's parameters ([`crate::ros::controller_params::from_params`]).
    #[error("{0}")]
    Controller(String),
    #[error("`output_mode` must be `steady` or `event`, got `{0}`")]
    OutputMode(String),
}

/// Everything the node reads from its parameters, validated.
#[derive(Clone, Debug)]
pub struct SharedControlParams {
    pub control_rate: f64,
    pub output_mode: OutputMode,
    pub cmd_frame_id: String,
    pub skeleton_limits: SkeletonLimits,
    pub expected_joy_rate: f64,
    pub expected_skeleton_rate: f64,
    pub rate_tolerance: f64,
    pub markers_rate: f64,
    pub controller: ControllerConfig,
}

impl SharedControlParams {
    /// The one validation used for the params file and for runtime changes; the error names the parameter and
    /// what is allowed.
    pub fn from_params(p: &Params) -> Result<Self, SharedControlParamsError> {
        let controller = crate::ros::controller_params::from_params(p).map_err(SharedControlParamsError::Controller)?;
        Ok(SharedControlParams {
            control_rate: p.f64_or("control_rate", 50.0)?,
            output_mode: OutputMode::parse(&p.string_or("output_mode", "steady")?)?,
            cmd_frame_id: p.string_or("cmd_frame_id", "base_link")?,
            skeleton_limits: SkeletonLimits {
                max_humans: p.index_or("max_humans", 64)?,
                expected_frame: controller.safety.validation.expected_frame.clone(),
            },
            expected_joy_rate: p.f64_or("expected_joy_rate", 50.0)?,
            expected_skeleton_rate: p.f64_or("expected_skeleton_rate", 30.0)?,
            rate_tolerance: p.f64_or("rate_tolerance", 0.3)?,
            markers_rate: p.f64_or("markers_rate", 10.0)?,
            controller,
        })
    }
}

/// When `cmd_vel` is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// On every control tick; between ticks only a more restrictive decision.
    Steady,
    /// Every decision.
    Event,
}

impl OutputMode {
    fn parse(s: &str) -> Result<Self, SharedControlParamsError> {
        match s {
            "steady" => Ok(OutputMode::Steady),
            "event" => Ok(OutputMode::Event),
            other => Err(SharedControlParamsError::OutputMode(other.to_owned())),
        }
    }
}
