//! The probe's inputs: stamps on the system clock, the walking human's skeletons and the operator's joystick.

use std::time::{SystemTime, UNIX_EPOCH};

use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg::Point;
use r2r::intent_shared_control_msgs::msg::{HumanSkeleton, HumanSkeletonArray};
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;

pub(crate) fn realtime_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

fn time_msg(ns: i64) -> Time {
    Time { sec: (ns / 1_000_000_000) as i32, nanosec: (ns % 1_000_000_000) as u32 }
}

pub(crate) fn stamp_ns(t: &Time) -> i64 {
    i64::from(t.sec) * 1_000_000_000 + i64::from(t.nanosec)
}

/// COCO-17 offsets from the hip centre \[m\] (x forward, y left, z up), for a human facing the robot.
const BODY: [[f64; 3]; 17] = [
    [0.0, 0.0, 0.65],   // nose
    [0.0, 0.04, 0.68],  // left eye
    [0.0, -0.04, 0.68], // right eye
    [0.05, 0.08, 0.66], // left ear
    [0.05, -0.08, 0.66],
    [0.0, 0.2, 0.45], // shoulders
    [0.0, -0.2, 0.45],
    [0.0, 0.25, 0.2], // elbows
    [0.0, -0.25, 0.2],
    [0.0, 0.25, 0.0], // wrists
    [0.0, -0.25, 0.0],
    [0.0, 0.1, 0.0], // hips
    [0.0, -0.1, 0.0],
    [0.0, 0.1, -0.45], // knees
    [0.0, -0.1, -0.45],
    [0.0, 0.1, -0.9], // ankles
    [0.0, -0.1, -0.9],
];

/// One human walking slowly across in front of the robot, 3 m ahead (a pass-by).
pub(crate) fn skeleton_msg(t_s: f64, stamp: i64) -> HumanSkeletonArray {
    let (cx, cy, cz) = (3.0, 1.5 * (t_s * std::f64::consts::TAU / 8.0).sin(), 0.95);
    let swing = 0.05 * (t_s * std::f64::consts::TAU).sin();
    let keypoints = BODY
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let s = if k >= 13 {
                if k % 2 == 1 {
                    swing
                } else {
                    -swing
                }
            } else {
                0.0
            };
            Point { x: cx + o[0] + s, y: cy + o[1], z: cz + o[2] }
        })
        .collect();
    HumanSkeletonArray {
        header: Header { stamp: time_msg(stamp), frame_id: "base_link".into() },
        humans: vec![HumanSkeleton { id: 1, keypoints, confidence: vec![0.9; 17] }],
    }
}

/// The operator's joystick: the deadman released until the system answers (so that it is armed, as an operator
/// arms it), then held.
pub(crate) fn joy_msg(stamp: i64, deadman: bool) -> Joy {
    let mut buttons = vec![0; 12];
    buttons[4] = i32::from(deadman); // deadman (config/params.yaml teleop.deadman_button)
    Joy {
        header: Header { stamp: time_msg(stamp), frame_id: "joy".into() },
        axes: vec![0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        buttons,
    }
}
