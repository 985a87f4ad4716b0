//! The node's parameters: declarations, their typed form and the model loading they describe.

use std::path::{Path, PathBuf};

use intent_shared_control_core::odometry::OdometryConfig;
use intent_shared_control_inference::{
    default_ort_library, load_from_card, ExecutionProviderKind, InferenceError, OrtIntentModel, OrtModelConfig,
};
use r2r::ParameterValue;
use thiserror::Error;
use tracing::{info, warn};

use crate::ros::convert::SkeletonLimits;
use crate::ros::param_server::{use_sim_time_spec, ParamSpec, Range};
use crate::ros::params::{ParamError, Params};

/// Declared parameters.
pub fn param_specs() -> Vec<ParamSpec> {
    use ParameterValue::{Bool, Double, Integer, String as Str};
    vec![
        use_sim_time_spec(),
        ParamSpec::new("autostart", "configure and activate at start-up without a supervisor", Bool(false)).read_only(),
        ParamSpec::new("model_card", "model card JSON (labels, tensor contract, sha256); relative paths are also looked up in the package share directory", Str("models/intent_model.card.json".into())).read_only(),
        ParamSpec::new("model_path", "ONNX model; empty = the card's onnx_file next to the card", Str(String::new())).read_only(),
        ParamSpec::new("onnxruntime_library", "ONNX Runtime shared library (path or dlopen name); empty = $ISC_ORT_LIB or libonnxruntime.so.1.31.1", Str(String::new())).read_only(),
        ParamSpec::new("execution_provider", "cpu | cuda (fails if CUDA cannot load) | auto (CPU and CUDA, each batch size on the one timed faster at configure; CPU only if CUDA cannot load)", Str("cpu".into())).read_only(),
        ParamSpec::new("intra_threads", "ONNX Runtime CPU threads per call [-]", Integer(1)).range(Range::Int(1, 64)).read_only(),
        ParamSpec::new("fallback", "what runs when the model cannot be loaded: none (stay unconfigured) | constant_velocity", Str("none".into())).read_only(),
        ParamSpec::new("max_humans", "most humans predicted per capture; larger arrays are rejected [-]", Integer(64)).range(Range::Int(1, 1024)).read_only(),
        ParamSpec::new("skeleton_frame_id", "frame the skeleton keypoints must be in", Str("base_link".into())).read_only(),
        ParamSpec::new("use_odometry", "keep the humans' tracks in the odometry frame (subscribes to `odom`, nav_msgs/Odometry); needed on a robot that moves", Bool(false)).read_only(),
        ParamSpec::new("odometry_frame_id", "frame of the odometry poses (header.frame_id of `odom`); others are rejected", Str("odom".into())).read_only(),
        ParamSpec::new("max_future", "skeletons and odometry stamped more than this ahead of the node's clock are rejected and counted, never kept (one message from the future would otherwise hold back every later one as out of order) [s]", Double(0.1)).range(Range::Float(0.0, 1.0)).read_only(),
        ParamSpec::new("odometry_tolerance", "longest extrapolation of the newest odometry pose to a newer skeleton stamp [s]", Double(0.1)).range(Range::Float(0.0, 1.0)).read_only(),
        ParamSpec::new("eviction_timeout", "a human not seen for this long is forgotten [s]", Double(1.0)).range(Range::Float(0.05, 60.0)).read_only(),
        ParamSpec::new("expected_skeleton_rate", "skeleton rate the diagnostics expect [Hz]", Double(30.0)).range(Range::Float(0.1, 10000.0)),
        ParamSpec::new("rate_tolerance", "allowed relative deviation from the expected rate [-]", Double(0.3)).range(Range::Float(0.0, 1.0)),
        ParamSpec::new("metrics_port", "port of /metrics and /health on 127.0.0.1 (0 = any free port, -1 = off)", Integer(-1)).range(Range::Int(-1, 65535)).read_only(),
    ]
}

/// Validated parameters.
#[derive(Clone, Debug)]
pub struct PredictorParams {
    pub model_card: PathBuf,
    pub model_path: Option<PathBuf>,
    pub onnxruntime_library: PathBuf,
    pub execution_provider: ExecutionProviderKind,
    pub intra_threads: usize,
    pub fallback_constant_velocity: bool,
    pub limits: SkeletonLimits,
    pub eviction_timeout: f64,
    /// Inputs stamped more than this ahead of the clock are rejected \[s\].
    pub max_future: f64,
    /// Frame the odometry poses must be given in.
    pub odometry_frame: String,
    /// `Some`: tracks kept in the odometry frame.
    pub odometry: Option<OdometryConfig>,
    pub expected_skeleton_rate: f64,
    pub rate_tolerance: f64,
}

/// Resolves a model or card path as ROS users expect: an absolute path as given; a relative one under
/// `share/intent_shared_control/` of the first AMENT_PREFIX_PATH entry that has it (where colcon installs the
/// models), so the node finds its files from any working directory; failing that, relative to the working
/// directory (a source checkout that is not installed).
pub fn resolve_share_path(p: &str) -> PathBuf {
    resolve_share_path_in(p, &std::env::var("AMENT_PREFIX_PATH").unwrap_or_default())
}

fn resolve_share_path_in(p: &str, ament_prefix_path: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.is_absolute() {
        return path;
    }
    ament_prefix_path
        .split(':')
        .filter(|s| !s.is_empty())
        .map(|prefix| Path::new(prefix).join("share/intent_shared_control").join(&path))
        .find(|c| c.exists())
        .unwrap_or(path)
}

/// Why the predictor's parameters are refused; the message names the parameter and what is allowed.
#[derive(Debug, Error)]
pub enum PredictorParamsError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("`execution_provider` must be cpu, cuda or auto, got `{0}`")]
    ExecutionProvider(String),
    #[error("`fallback` must be none or constant_velocity, got `{0}`")]
    Fallback(String),
}

impl PredictorParams {
    pub fn from_params(p: &Params) -> Result<Self, PredictorParamsError> {
        let provider = p.string_or("execution_provider", "cpu")?;
        let execution_provider = match provider.as_str() {
            "cpu" => ExecutionProviderKind::Cpu,
            "cuda" => ExecutionProviderKind::Cuda,
            "auto" => ExecutionProviderKind::Auto,
            other => return Err(PredictorParamsError::ExecutionProvider(other.to_owned())),
        };
        let fallback = p.string_or("fallback", "none")?;
        let fallback_constant_velocity = match fallback.as_str() {
            "none" => false,
            "constant_velocity" => true,
            other => return Err(PredictorParamsError::Fallback(other.to_owned())),
        };
        let lib = p.string_or("onnxruntime_library", "")?;
        let onnxruntime_library = if lib.is_empty() { default_ort_library() } else { PathBuf::from(lib) };
        let model_path = p.string_or("model_path", "")?;
        Ok(PredictorParams {
            model_card: resolve_share_path(&p.string_or("model_card", "models/intent_model.card.json")?),
            model_path: (!model_path.is_empty()).then(|| resolve_share_path(&model_path)),
            onnxruntime_library,
            execution_provider,
            intra_threads: p.index_or("intra_threads", 1)?,
            fallback_constant_velocity,
            limits: SkeletonLimits {
                max_humans: p.index_or("max_humans", 64)?,
                expected_frame: p.string_or("skeleton_frame_id", "base_link")?,
            },
            eviction_timeout: p.f64_or("eviction_timeout", 1.0)?,
            max_future: p.f64_or("max_future", 0.1)?,
            odometry_frame: p.string_or("odometry_frame_id", "odom")?,
            odometry: if p.bool_or("use_odometry", false)? {
                Some(OdometryConfig {
                    max_extrapolation_s: p.f64_or("odometry_tolerance", 0.1)?,
                    ..OdometryConfig::default()
                })
            } else {
                None
            },
            expected_skeleton_rate: p.f64_or("expected_skeleton_rate", 30.0)?,
            rate_tolerance: p.f64_or("rate_tolerance", 0.3)?,
        })
    }

    /// Loads the ONNX model (library, card, sha256, contract, warm-up).
    pub fn load_model(&self) -> Result<(OrtIntentModel, String), InferenceError> {
        let (model, _) =
            load_from_card(&self.model_card, Some(&self.onnxruntime_library), |card_model| OrtModelConfig {
                execution_provider: self.execution_provider,
                intra_threads: self.intra_threads,
                max_batch: self.limits.max_humans,
                ..OrtModelConfig::cpu(self.model_path.clone().unwrap_or(card_model))
            })?;
        let card = model.card();
        let version = format!("{} {} ({})", card.name, card.version, card.sha256.get(..12).unwrap_or(&card.sha256));
        if let Some(reason) = &model.provider().fallback_reason {
            warn!("execution provider `auto` runs on CPU: {reason}");
        }
        if let Some(routing) = &model.provider().routing {
            let us = |t: Option<f64>| t.map_or("-".to_owned(), |t| format!("{t:.0}"));
            let measured = routing
                .entries()
                .iter()
                .map(|e| {
                    format!(
                        "{} rows: cpu {} µs, cuda {} µs -> {}",
                        e.rows,
                        us(e.cpu_median_us),
                        us(e.gpu_median_us),
                        e.provider.as_str()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            info!(routing = %routing, "execution provider `auto` routes each batch to the backend that was faster at its size (medians timed at load: {measured})");
        }
        Ok((model, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_model_paths_resolve_in_the_share_directory_first() {
        let dir = std::env::temp_dir().join(format!("isc_share_path_{}", std::process::id()));
        let share = dir.join("prefix/share/intent_shared_control/models");
        std::fs::create_dir_all(&share).expect("creating a prefix");
        std::fs::write(share.join("m.card.json"), "{}").expect("writing a card");
        let prefixes = format!("/nonexistent:{}", dir.join("prefix").display());
        // found under the first prefix that has it, whatever the working directory
        assert_eq!(resolve_share_path_in("models/m.card.json", &prefixes), share.join("m.card.json"));
        // absolute paths as given; not installed: relative to the working directory
        assert_eq!(resolve_share_path_in("/abs/m.card.json", &prefixes), PathBuf::from("/abs/m.card.json"));
        assert_eq!(resolve_share_path_in("models/other.json", &prefixes), PathBuf::from("models/other.json"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
