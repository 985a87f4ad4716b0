//! Message ⇄ core conversions. Every inbound conversion validates and returns a typed error instead of
//! passing malformed data on.

use intent_shared_control_core::skeleton::{HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS};
use intent_shared_control_core::{Decision, JoyInput, Stamp, Twist};
use nalgebra::{Point3, Vector3};
use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg as geo;
use r2r::intent_shared_control_msgs::msg as isc;
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;
use thiserror::Error;

/// Why an inbound message was rejected. The variant name is the rejection reason that is counted.
#[derive(Debug, Error, PartialEq)]
pub enum InputError {
    #[error("skeleton array has {count} humans, more than the allowed {max}")]
    TooManyHumans { count: usize, max: usize },
    #[error("human {id}: {count} keypoints, expected {expected}")]
    KeypointCount { id: u32, count: usize, expected: usize },
    #[error("human {id}: {count} confidences for {keypoints} keypoints")]
    ConfidenceCount { id: u32, count: usize, keypoints: usize },
    #[error("human id {id} appears more than once in one array")]
    DuplicateId { id: u32 },
    #[error("frame_id `{got}` is not the expected `{expected}`")]
    WrongFrame { got: String, expected: String },
    #[error("joy has {axes} axes and {buttons} buttons, more than the allowed {max}")]
    OversizedJoy { axes: usize, buttons: usize, max: usize },
}

impl InputError {
    /// Short, stable reason name for counters and diagnostics.
    pub fn reason(&self) -> &'static str {
        match self {
            InputError::TooManyHumans { .. } => "too_many_humans",
            InputError::KeypointCount { .. } => "keypoint_count",
            InputError::ConfidenceCount { .. } => "confidence_count",
            InputError::DuplicateId { .. } => "duplicate_id",
            InputError::WrongFrame { .. } => "wrong_frame",
            InputError::OversizedJoy { .. } => "oversized_joy",
        }
    }
}

/// `builtin_interfaces/Time` → core stamp.
pub fn stamp_from_msg(t: &Time) -> Stamp {
    Stamp::from_sec_nanosec(t.sec, t.nanosec)
}

/// Core stamp → `builtin_interfaces/Time`.
pub fn stamp_to_msg(s: Stamp) -> Time {
    let (sec, nanosec) = s.to_sec_nanosec();
    Time { sec, nanosec }
}

/// Limits applied while converting skeleton arrays.
#[derive(Clone, Debug)]
pub struct SkeletonLimits {
    /// Largest number of humans accepted in one array.
    pub max_humans: usize,
    /// Frame the keypoints must be in; empty accepts any frame.
    pub expected_frame: String,
}

/// Validates a `HumanSkeletonArray` and converts it. Keypoints with non-finite coordinates are kept as
/// *missing* (confidence 0), as the message definition allows; structural errors reject the whole array.
pub fn skeletons_from_msg(msg: &isc::HumanSkeletonArray, limits: &SkeletonLimits) -> Result<SkeletonFrame, InputError> {
    if msg.humans.len() > limits.max_humans {
        return Err(InputError::TooManyHumans { count: msg.humans.len(), max: limits.max_humans });
    }
    if !limits.expected_frame.is_empty() && msg.header.frame_id != limits.expected_frame {
        return Err(InputError::WrongFrame { got: msg.header.frame_id.clone(), expected: limits.expected_frame.clone() });
    }
    let mut humans: Vec<HumanSkeleton> = Vec::with_capacity(msg.humans.len());
    for h in &msg.humans {
        if h.keypoints.len() != NUM_KEYPOINTS {
            return Err(InputError::KeypointCount { id: h.id, count: h.keypoints.len(), expected: NUM_KEYPOINTS });
        }
        if h.confidence.len() != h.keypoints.len() {
            return Err(InputError::ConfidenceCount { id: h.id, count: h.confidence.len(), keypoints: h.keypoints.len() });
        }
        if humans.iter().any(|o| o.id == h.id) {
            return Err(InputError::DuplicateId { id: h.id });
        }
        let mut keypoints = [Keypoint::MISSING; NUM_KEYPOINTS];
        for (slot, (p, &c)) in keypoints.iter_mut().zip(h.keypoints.iter().zip(&h.confidence)) {
            let position = Point3::new(p.x, p.y, p.z);
            if c.is_finite() && c > 0.0 && position.iter().all(|v| v.is_finite()) {
                *slot = Keypoint { position, confidence: c.min(1.0) };
            }
        }
        humans.push(HumanSkeleton { id: h.id, keypoints });
    }
    Ok(SkeletonFrame { stamp: stamp_from_msg(&msg.header.stamp), frame_id: msg.header.frame_id.clone(), humans })
}

/// Largest joystick accepted (axes and buttons each).
pub const MAX_JOY_CHANNELS: usize = 64;

/// Converts a `sensor_msgs/Joy`; non-finite axes are passed on (teleop turns them into a zero command and a
/// named reason), oversized messages are rejected.
pub fn joy_from_msg(msg: &Joy) -> Result<JoyInput, InputError> {
    if msg.axes.len() > MAX_JOY_CHANNELS || msg.buttons.len() > MAX_JOY_CHANNELS {
        return Err(InputError::OversizedJoy { axes: msg.axes.len(), buttons: msg.buttons.len(), max: MAX_JOY_CHANNELS });
    }
    Ok(JoyInput { stamp: stamp_from_msg(&msg.header.stamp), axes: msg.axes.clone(), buttons: msg.buttons.clone() })
}

fn vec3(v: &Vector3<f64>) -> geo::Vector3 {
    geo::Vector3 { x: v.x, y: v.y, z: v.z }
}

/// Core twist → `geometry_msgs/Twist`.
pub fn twist_to_msg(t: &Twist) -> geo::Twist {
    geo::Twist { linear: vec3(&t.linear), angular: vec3(&t.angular) }
}

/// `geometry_msgs/Twist` → core twist.
pub fn twist_from_msg(t: &geo::Twist) -> Twist {
    Twist {
        linear: Vector3::new(t.linear.x, t.linear.y, t.linear.z),
        angular: Vector3::new(t.angular.x, t.angular.y, t.angular.z),
    }
}

/// The command to publish, stamped with the decision time.
pub fn cmd_vel_msg(d: &Decision, frame_id: &str) -> geo::TwistStamped {
    geo::TwistStamped {
        header: Header { stamp: stamp_to_msg(d.stamp), frame_id: frame_id.to_owned() },
        twist: twist_to_msg(&d.output),
    }
}

/// The decision as a `SharedControlStatus`.
pub fn status_msg(d: &Decision, frame_id: &str, decision_time_s: f64) -> isc::SharedControlStatus {
    let (human_in_view, nearest_id, min_sep) = match d.nearest_human {
        Some((id, dist)) => (true, id, dist as f32),
        None => (false, 0, 0.0),
    };
    isc::SharedControlStatus {
        header: Header { stamp: stamp_to_msg(d.stamp), frame_id: frame_id.to_owned() },
        mode: d.mode as u8,
        alpha: d.alpha as f32,
        speed_scale: d.speed_scale as f32,
        human_in_view,
        min_separation: min_sep,
        required_separation: d.required_separation as f32,
        nearest_human_id: nearest_id,
        humans_seen: d.humans_seen as u32,
        predictions_used: d.predictions_used as u32,
        reasons: d.reasons.iter().map(|r| (*r).to_owned()).collect(),
        user_cmd: twist_to_msg(&d.user),
        assist_cmd: twist_to_msg(&d.assist),
        blended_cmd: twist_to_msg(&d.blended),
        output_cmd: twist_to_msg(&d.output),
        decision_time: decision_time_s as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human(id: u32, n: usize) -> isc::HumanSkeleton {
        isc::HumanSkeleton {
            id,
            keypoints: (0..n).map(|i| geo::Point { x: 1.0 + i as f64 * 0.01, y: 0.0, z: 1.0 }).collect(),
            confidence: vec![0.9; n],
        }
    }

    fn array(humans: Vec<isc::HumanSkeleton>) -> isc::HumanSkeletonArray {
        isc::HumanSkeletonArray {
            header: Header { stamp: Time { sec: 3, nanosec: 5 }, frame_id: "base_link".into() },
            humans,
        }
    }

    fn limits() -> SkeletonLimits {
        SkeletonLimits { max_humans: 4, expected_frame: "base_link".into() }
    }

    #[test]
    fn valid_array_converts() {
        let f = skeletons_from_msg(&array(vec![human(7, 17)]), &limits()).expect("valid");
        assert_eq!(f.stamp, Stamp::from_sec_nanosec(3, 5));
        assert_eq!(f.humans[0].id, 7);
        assert!(f.humans[0].keypoints.iter().all(|k| k.is_observed()));
    }

    #[test]
    fn nan_keypoint_becomes_missing() {
        let mut h = human(1, 17);
        h.keypoints[3].x = f64::NAN;
        let f = skeletons_from_msg(&array(vec![h]), &limits()).expect("valid");
        assert!(!f.humans[0].keypoints[3].is_observed());
        assert_eq!(f.humans[0].observed().count(), 16);
    }

    #[test]
    fn structural_errors_are_rejected() {
        let l = limits();
        assert_eq!(skeletons_from_msg(&array(vec![human(1, 5)]), &l).unwrap_err().reason(), "keypoint_count");
        let mut h = human(1, 17);
        h.confidence.pop();
        assert_eq!(skeletons_from_msg(&array(vec![h]), &l).unwrap_err().reason(), "confidence_count");
        assert_eq!(skeletons_from_msg(&array(vec![human(1, 17), human(1, 17)]), &l).unwrap_err().reason(), "duplicate_id");
        assert_eq!(skeletons_from_msg(&array((0..5).map(|i| human(i, 17)).collect()), &l).unwrap_err().reason(), "too_many_humans");
        let mut a = array(vec![]);
        a.header.frame_id = "map".into();
        assert_eq!(skeletons_from_msg(&a, &l).unwrap_err().reason(), "wrong_frame");
    }

    #[test]
    fn oversized_joy_is_rejected() {
        let joy = Joy { header: Header::default(), axes: vec![0.0; 65], buttons: vec![] };
        assert!(joy_from_msg(&joy).is_err());
    }
}
