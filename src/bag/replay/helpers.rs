//! Helpers around a replay: model loading, odometry check, mode names, skeleton messages and output writers.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use intent_shared_control_core::skeleton::SkeletonFrame;
use intent_shared_control_core::{IntentModel, Mode, Reason};
use intent_shared_control_inference::OrtModelConfig;
use r2r::geometry_msgs::msg as geo;
use r2r::intent_shared_control_msgs::msg as isc;
use r2r::std_msgs::msg::Header;

use super::{check_thresholds, topics, Cycle, ReplayOutput, Thresholds};
use crate::bag::{BagMessage, BagWriter};
use crate::ros::convert;

/// The ONNX model of `card` on CPU (one thread), ONNX Runtime from `ort_lib`, else from
/// [`default_ort_library`](intent_shared_control_inference::default_ort_library).
pub fn load_cpu_model(card: &Path, ort_lib: Option<&Path>) -> anyhow::Result<Box<dyn IntentModel + Send>> {
    let (model, _) = intent_shared_control_inference::load_from_card(card, ort_lib, OrtModelConfig::cpu)?;
    Ok(Box::new(model))
}

/// Whether the bag has odometry for the predictor (topic `/odom` under `namespace`).
pub fn has_odometry(messages: &[BagMessage], namespace: &str) -> bool {
    let topic = format!("{namespace}{}", topics::ODOM);
    messages.iter().any(|m| m.topic == topic)
}

/// Mode name as in `SharedControlStatus.MODE_*` (lower case).
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Idle => "idle",
        Mode::Manual => "manual",
        Mode::Assisted => "assisted",
        Mode::Slowdown => "slowdown",
        Mode::Stop => "stop",
        Mode::Fault => "fault",
    }
}

/// Core skeleton frame → `HumanSkeletonArray` (missing keypoints: NaN position, confidence 0).
pub fn skeletons_to_msg(frame: &SkeletonFrame) -> isc::HumanSkeletonArray {
    isc::HumanSkeletonArray {
        header: Header { stamp: convert::stamp_to_msg(frame.stamp), frame_id: frame.frame_id.clone() },
        humans: frame
            .humans
            .iter()
            .map(|h| isc::HumanSkeleton {
                id: h.id,
                keypoints: h
                    .keypoints
                    .iter()
                    .map(|k| {
                        if k.is_observed() {
                            geo::Point { x: k.position.x, y: k.position.y, z: k.position.z }
                        } else {
                            geo::Point { x: f64::NAN, y: f64::NAN, z: f64::NAN }
                        }
                    })
                    .collect(),
                confidence: h.keypoints.iter().map(|k| if k.is_observed() { k.confidence } else { 0.0 }).collect(),
            })
            .collect(),
    }
}

/// Writes the decisions as a bag (`cmd_vel` + `shared_control/status`, log time = decision time).
/// `decision_time` in the status is 0: the replay does not measure wall time, so outputs stay bit-identical.
pub fn write_outputs_bag(dir: &Path, cycles: &[Cycle], frame_id: &str) -> anyhow::Result<()> {
    let mut w = BagWriter::create(dir)?;
    for c in cycles {
        let d = &c.decision;
        let t = d.stamp.0.max(0);
        w.write(topics::CMD_VEL, topics::TWIST_STAMPED_TYPE, t, &convert::cmd_vel_msg(d, frame_id))?;
        w.write(topics::STATUS, topics::STATUS_TYPE, t, &convert::status_msg(d, frame_id, 0.0))?;
    }
    w.finish()?;
    Ok(())
}

/// CSV header of [`write_csv`].
pub const CSV_HEADER: &str = "t_s,mode,alpha,speed_scale,nearest_id,min_separation_m,required_separation_m,human_speed_mps,humans_seen,predictions_used,user_vx,user_vy,user_wz,assist_vx,assist_vy,assist_wz,blended_vx,blended_vy,blended_wz,output_vx,output_vy,output_wz,p_idle,p_pass_by,p_approach_robot,p_reach_handover,p_retreat,reasons";

/// Writes one CSV row per decision (time in seconds of bag time, full precision).
pub fn write_csv(path: &Path, cycles: &[Cycle]) -> anyhow::Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    writeln!(w, "{CSV_HEADER}")?;
    for c in cycles {
        let d = &c.decision;
        let (id, dist) =
            d.nearest_human.map_or((String::new(), String::new()), |(i, x)| (i.to_string(), x.to_string()));
        let p = c.nearest_probabilities.map_or_else(|| ",,,,".to_owned(), |p| p.map(|v| v.to_string()).join(","));
        write!(
            w,
            "{},{},{},{},{id},{dist},{},{},{},{},",
            d.stamp.as_secs_f64(),
            mode_name(d.mode),
            d.alpha,
            d.speed_scale,
            d.required_separation,
            d.human_speed,
            d.humans_seen,
            d.predictions_used
        )?;
        for t in [&d.user, &d.assist, &d.blended, &d.output] {
            write!(w, "{},{},{},", t.linear.x, t.linear.y, t.angular.z)?;
        }
        writeln!(w, "{p},{}", Reason::join(&d.reasons, "|"))?;
    }
    w.flush()?;
    Ok(())
}

/// Metrics JSON of a replay (with the thresholds, the failures and the agreement).
pub fn metrics_json(out: &ReplayOutput, thresholds: &Thresholds, extra: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "metrics": out.metrics,
        "thresholds": thresholds,
        "failures": check_thresholds(&out.metrics, thresholds),
        "inputs": out.inputs,
        "agreement": out.agreement,
        "forecast_check": out.forecast_check,
        "run": extra,
    })
}
