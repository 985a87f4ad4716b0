//! Message ⇄ core conversions. Every inbound conversion validates and returns a typed error instead of
//! passing malformed data on.

use intent_shared_control_core::input::Rejection;
use intent_shared_control_core::model::{PredictionSource, NUM_INTENTS};
use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::skeleton::{HumanSkeleton, Keypoint, SkeletonFrame, NUM_KEYPOINTS};
use intent_shared_control_core::{Decision, JoyInput, Stamp, Twist};
use nalgebra::{Point3, Vector3};
use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg as geo;
use r2r::intent_shared_control_msgs::msg as isc;
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;
use thiserror::Error;

/// Why an inbound message was rejected ([`InputError::reason`] is what is counted).
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
    #[error("prediction for human {id}: {what}")]
    BadPrediction { id: u32, what: String },
    #[error("prediction array has {count} entries, more than the allowed {max}")]
    TooManyPredictions { count: usize, max: usize },
    #[error("odometry: {what}")]
    BadOdometry { what: String },
}

impl InputError {
    /// The reason counted for it.
    pub fn reason(&self) -> Rejection {
        match self {
            InputError::TooManyHumans { .. } => Rejection::TooManyHumans,
            InputError::KeypointCount { .. } => Rejection::KeypointCount,
            InputError::ConfidenceCount { .. } => Rejection::ConfidenceCount,
            InputError::DuplicateId { .. } => Rejection::DuplicateId,
            InputError::WrongFrame { .. } => Rejection::WrongFrame,
            InputError::BadPrediction { .. } => Rejection::BadPrediction,
            InputError::TooManyPredictions { .. } => Rejection::TooManyPredictions,
            InputError::BadOdometry { .. } => Rejection::BadOdometry,
        }
    }
}

/// One planar robot pose from odometry: base_link in the odometry frame at `stamp`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct PlanarPose {
    pub stamp: Stamp,
    pub x: f64,
    pub y: f64,
    /// Heading about z \[rad\].
    pub yaw: f64,
}

/// `nav_msgs/Odometry` → planar pose of `child_frame_id` in `header.frame_id`, which must be `odom_frame`
/// (REP 105's `odom` by default). `robot_frame`: the frame the skeletons are in, which must be the odometry's
/// child frame. The orientation is normalised (a zero or
/// non-finite quaternion, a non-finite position or a zero stamp is rejected); roll and pitch are dropped.
pub fn odometry_from_msg(
    msg: &r2r::nav_msgs::msg::Odometry,
    odom_frame: &str,
    robot_frame: &str,
) -> Result<PlanarPose, InputError> {
    let bad = |what: String| Err(InputError::BadOdometry { what });
    if msg.header.frame_id != odom_frame {
        return bad(format!("frame_id `{}` is not the odometry frame `{odom_frame}`", msg.header.frame_id));
    }
    if msg.child_frame_id != robot_frame {
        return bad(format!("child_frame_id `{}` is not the robot frame `{robot_frame}`", msg.child_frame_id));
    }
    let Some(stamp) = input_stamp_from_msg(&msg.header.stamp) else { return bad("zero stamp".into()) };
    let (p, q) = (&msg.pose.pose.position, &msg.pose.pose.orientation);
    let n = (q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w).sqrt();
    if !(p.x.is_finite() && p.y.is_finite() && n.is_finite() && n > 1e-9) {
        return bad("non-finite position or invalid orientation".into());
    }
    let (x, y, z, w) = (q.x / n, q.y / n, q.z / n, q.w / n);
    let yaw = (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z));
    Ok(PlanarPose { stamp, x: p.x, y: p.y, yaw })
}

/// The odometry frame of REP 105, where the bag tools write the robot's pose and the predictor expects it by
/// default (`odometry_frame_id`).
pub const ODOM_FRAME: &str = "odom";

/// Planar pose → `nav_msgs/Odometry` (`odom_frame` ← `robot_frame`), with the body-frame `twist`; covariances 0.
pub fn odometry_to_msg(
    pose: &PlanarPose,
    odom_frame: &str,
    robot_frame: &str,
    twist: &Twist,
) -> r2r::nav_msgs::msg::Odometry {
    let mut msg = r2r::nav_msgs::msg::Odometry {
        header: Header { stamp: stamp_to_msg(pose.stamp), frame_id: odom_frame.to_owned() },
        child_frame_id: robot_frame.to_owned(),
        ..Default::default()
    };
    msg.pose.pose.position.x = pose.x;
    msg.pose.pose.position.y = pose.y;
    msg.pose.pose.orientation.z = (0.5 * pose.yaw).sin();
    msg.pose.pose.orientation.w = (0.5 * pose.yaw).cos();
    msg.twist.twist = twist_to_msg(twist);
    msg
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

/// Validates a `HumanSkeletonArray` and converts it; structural errors reject the whole array. A keypoint with
/// confidence 0 (or below) is *missing*, as the message definition allows. A keypoint reported with a
/// confidence (> 0 or NaN) is kept as it is, non-finite coordinates included: a person whose keypoints are
/// invalid is present and invalid, which the safety chain's validation turns into a stop
/// (`skeleton_invalid`), never a person dropped from view.
pub fn skeletons_from_msg(msg: &isc::HumanSkeletonArray, limits: &SkeletonLimits) -> Result<SkeletonFrame, InputError> {
    if msg.humans.len() > limits.max_humans {
        return Err(InputError::TooManyHumans { count: msg.humans.len(), max: limits.max_humans });
    }
    if !limits.expected_frame.is_empty() && msg.header.frame_id != limits.expected_frame {
        return Err(InputError::WrongFrame {
            got: msg.header.frame_id.clone(),
            expected: limits.expected_frame.clone(),
        });
    }
    let mut humans: Vec<HumanSkeleton> = Vec::with_capacity(msg.humans.len());
    for h in &msg.humans {
        if h.keypoints.len() != NUM_KEYPOINTS {
            return Err(InputError::KeypointCount { id: h.id, count: h.keypoints.len(), expected: NUM_KEYPOINTS });
        }
        if h.confidence.len() != h.keypoints.len() {
            return Err(InputError::ConfidenceCount {
                id: h.id,
                count: h.confidence.len(),
                keypoints: h.keypoints.len(),
            });
        }
        if humans.iter().any(|o| o.id == h.id) {
            return Err(InputError::DuplicateId { id: h.id });
        }
        let mut keypoints = [Keypoint::MISSING; NUM_KEYPOINTS];
        for (slot, (p, &c)) in keypoints.iter_mut().zip(h.keypoints.iter().zip(&h.confidence)) {
            let position = Point3::new(p.x, p.y, p.z);
            if c > 0.0 || c.is_nan() {
                // `f32::min` would turn a NaN confidence into 1.0: a NaN stays NaN, for validation to reject.
                let confidence = if c.is_nan() { c } else { c.min(1.0) };
                *slot = Keypoint { position, confidence };
            }
        }
        humans.push(HumanSkeleton { id: h.id, keypoints });
    }
    Ok(SkeletonFrame { stamp: stamp_from_msg(&msg.header.stamp), frame_id: msg.header.frame_id.clone(), humans })
}

pub use intent_shared_control_core::input::MAX_JOY_CHANNELS;

/// Converts a `sensor_msgs/Joy`. Nothing is judged here: the input handler rejects oversized messages (more
/// than [`MAX_JOY_CHANNELS`] axes or buttons; copied only up to one past the limit) and stamps, and teleop
/// turns non-finite axes into a zero command with a named reason. An oversized Joy still tells whether its
/// deadman is released.
pub fn joy_from_msg(msg: &Joy) -> JoyInput {
    let n = MAX_JOY_CHANNELS + 1;
    JoyInput {
        stamp: stamp_from_msg(&msg.header.stamp),
        axes: msg.axes.iter().take(n).copied().collect(),
        buttons: msg.buttons.iter().take(n).copied().collect(),
    }
}

/// Predicted points of a [`HumanPrediction`] step as message keypoint indices: torso (virtual), wrists (COCO).
pub const PREDICTED_KEYPOINTS: [u8; 3] = [17, 9, 10];

/// One robot-frame prediction → `IntentPrediction`.
pub fn prediction_to_msg(p: &HumanPrediction, source: PredictionSource) -> isc::IntentPrediction {
    isc::IntentPrediction {
        human_id: p.human_id,
        intent: p.intent().index() as u8,
        probabilities: p.probabilities.to_vec(),
        confidence: p.confidence,
        source: match source {
            PredictionSource::Model => isc::IntentPrediction::SOURCE_MODEL as u8,
            PredictionSource::ConstantVelocity => isc::IntentPrediction::SOURCE_CONSTANT_VELOCITY as u8,
        },
        horizon_step: p.horizon_step as f32,
        predicted_keypoints: PREDICTED_KEYPOINTS.to_vec(),
        future_positions: p.future.iter().flatten().map(|q| geo::Point { x: q.x, y: q.y, z: q.z }).collect(),
        source_stamp: stamp_to_msg(p.stamp),
    }
}

/// Validates an `IntentPredictionArray` and converts its entries (robot frame, as published).
pub fn predictions_from_msg(msg: &isc::IntentPredictionArray, max: usize) -> Result<Vec<HumanPrediction>, InputError> {
    if msg.predictions.len() > max {
        return Err(InputError::TooManyPredictions { count: msg.predictions.len(), max });
    }
    msg.predictions.iter().map(prediction_from_msg).collect()
}

fn prediction_from_msg(m: &isc::IntentPrediction) -> Result<HumanPrediction, InputError> {
    let bad = |what: String| InputError::BadPrediction { id: m.human_id, what };
    let probabilities: [f32; NUM_INTENTS] = m
        .probabilities
        .as_slice()
        .try_into()
        .map_err(|_| bad(format!("{} probabilities, expected {NUM_INTENTS}", m.probabilities.len())))?;
    if m.predicted_keypoints != PREDICTED_KEYPOINTS {
        return Err(bad(format!(
            "predicted_keypoints {:?}, expected {:?}",
            m.predicted_keypoints, PREDICTED_KEYPOINTS
        )));
    }
    let k = PREDICTED_KEYPOINTS.len();
    if m.future_positions.is_empty()
        || !m.future_positions.len().is_multiple_of(k)
        || m.future_positions.len() > 1000 * k
    {
        return Err(bad(format!("{} future positions, expected a positive multiple of {k}", m.future_positions.len())));
    }
    let future = m
        .future_positions
        .chunks_exact(k)
        .map(|c| {
            [
                Point3::new(c[0].x, c[0].y, c[0].z),
                Point3::new(c[1].x, c[1].y, c[1].z),
                Point3::new(c[2].x, c[2].y, c[2].z),
            ]
        })
        .collect();
    let p = HumanPrediction {
        human_id: m.human_id,
        stamp: stamp_from_msg(&m.source_stamp),
        probabilities,
        confidence: m.confidence,
        horizon_step: f64::from(m.horizon_step),
        future,
    };
    if !p.is_valid() {
        return Err(bad("non-finite or out-of-range values".into()));
    }
    Ok(p)
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
        // A keypoint on or inside the robot's shape is at distance 0 (the message's field is a distance).
        Some((id, dist)) => (true, id, dist.max(0.0) as f32),
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
        reasons: d.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
        user_cmd: twist_to_msg(&d.user),
        assist_cmd: twist_to_msg(&d.assist),
        blended_cmd: twist_to_msg(&d.blended),
        output_cmd: twist_to_msg(&d.output),
        decision_time: decision_time_s as f32,
        joy_stamp: input_stamp(d.inputs.joy),
        skeleton_stamp: input_stamp(d.inputs.skeletons),
        prediction_stamp: input_stamp(d.inputs.predictions),
    }
}

/// An input stamp for the status message (zero: none).
fn input_stamp(s: Option<Stamp>) -> Time {
    s.map_or(Time { sec: 0, nanosec: 0 }, stamp_to_msg)
}

/// An input stamp from the status message (`None` for zero).
pub fn input_stamp_from_msg(t: &Time) -> Option<Stamp> {
    (t.sec != 0 || t.nanosec != 0).then(|| stamp_from_msg(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_min_separation_is_a_distance_never_negative() {
        use intent_shared_control_core::{Decision, Mode, Reason, Stamp};
        let mut d = Decision::zero(Stamp(0), Mode::Stop, Reason::SsmStop);
        d.nearest_human = Some((4, -1.48)); // a keypoint inside the robot's shape
        let m = status_msg(&d, "base_link", 0.0);
        assert!(m.human_in_view);
        assert_eq!(m.min_separation, 0.0);
        d.nearest_human = Some((4, 0.75));
        assert_eq!(status_msg(&d, "base_link", 0.0).min_separation, 0.75);
    }

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
        assert_eq!(skeletons_from_msg(&array(vec![human(1, 5)]), &l).unwrap_err().reason().name(), "keypoint_count");
        let mut h = human(1, 17);
        h.confidence.pop();
        assert_eq!(skeletons_from_msg(&array(vec![h]), &l).unwrap_err().reason().name(), "confidence_count");
        assert_eq!(
            skeletons_from_msg(&array(vec![human(1, 17), human(1, 17)]), &l).unwrap_err().reason().name(),
            "duplicate_id"
        );
        assert_eq!(
            skeletons_from_msg(&array((0..5).map(|i| human(i, 17)).collect()), &l).unwrap_err().reason().name(),
            "too_many_humans"
        );
        let mut a = array(vec![]);
        a.header.frame_id = "map".into();
        assert_eq!(skeletons_from_msg(&a, &l).unwrap_err().reason().name(), "wrong_frame");
    }

    #[test]
    fn prediction_round_trip_and_validation() {
        let p = HumanPrediction {
            human_id: 4,
            stamp: Stamp::from_sec_nanosec(10, 500),
            probabilities: [0.1, 0.1, 0.6, 0.1, 0.1],
            confidence: 0.6,
            horizon_step: 0.1,
            future: (0..10)
                .map(|i| {
                    [Point3::new(i as f64, 0.0, 1.0), Point3::new(0.0, i as f64, 1.2), Point3::new(0.0, 0.0, i as f64)]
                })
                .collect(),
        };
        let m = prediction_to_msg(&p, PredictionSource::Model);
        assert_eq!(m.intent, 2);
        let arr = isc::IntentPredictionArray { predictions: vec![m.clone()], ..Default::default() };
        let back = predictions_from_msg(&arr, 8).expect("valid");
        assert_eq!(back[0].future, p.future);
        assert_eq!(back[0].stamp, p.stamp);
        let mut nan = m.clone();
        nan.future_positions[4].y = f64::NAN;
        assert_eq!(
            predictions_from_msg(&isc::IntentPredictionArray { predictions: vec![nan], ..Default::default() }, 8)
                .unwrap_err()
                .reason()
                .name(),
            "bad_prediction"
        );
        let mut short = m;
        short.probabilities.pop();
        assert!(predictions_from_msg(
            &isc::IntentPredictionArray { predictions: vec![short], ..Default::default() },
            8
        )
        .is_err());
    }

    #[test]
    fn oversized_joy_is_cut_one_past_the_limit_and_rejected_by_the_handler() {
        let joy = Joy { header: Header::default(), axes: vec![0.0; 100_000], buttons: vec![0; 65] };
        let j = joy_from_msg(&joy);
        assert_eq!((j.axes.len(), j.buttons.len()), (MAX_JOY_CHANNELS + 1, MAX_JOY_CHANNELS + 1));
        let mut h = intent_shared_control_core::InputHandler::new(Default::default()).expect("defaults");
        assert_eq!(h.on_joy(Stamp(0), j), Err(Rejection::OversizedJoy));
    }

    #[test]
    fn confident_non_finite_keypoints_are_kept_for_validation_to_see() {
        let mut h = isc::HumanSkeleton {
            id: 1,
            keypoints: vec![geo::Point { x: 1.0, y: 0.0, z: 1.0 }; 17],
            confidence: vec![0.9; 17],
        };
        h.keypoints[3].x = f64::NAN;
        h.confidence[4] = 0.0;
        h.keypoints[5].y = f64::INFINITY;
        h.confidence[6] = f32::NAN;
        let msg = isc::HumanSkeletonArray { humans: vec![h], ..Default::default() };
        let limits = SkeletonLimits { max_humans: 4, expected_frame: String::new() };
        let f = skeletons_from_msg(&msg, &limits).expect("structurally valid");
        let k = &f.humans[0].keypoints;
        assert!(k[3].position.x.is_nan() && k[3].confidence == 0.9);
        assert!(k[5].position.y.is_infinite() && k[5].confidence == 0.9);
        assert_eq!(k[4].confidence, 0.0);
        assert!(k[6].confidence.is_nan(), "a NaN confidence is not a confident keypoint");
    }

    #[test]
    fn odometry_round_trip_and_validation() {
        let pose = PlanarPose { stamp: Stamp::from_secs_f64(3.5), x: 1.0, y: -2.0, yaw: 2.5 };
        let msg = odometry_to_msg(&pose, "odom", "base_link", &Twist::planar(0.3, 0.0, 0.1));
        let back = odometry_from_msg(&msg, "odom", "base_link").expect("valid");
        assert_eq!(back.stamp, pose.stamp);
        assert!((back.yaw - 2.5).abs() < 1e-12 && back.x == 1.0 && back.y == -2.0);
        assert_eq!(odometry_from_msg(&msg, "odom", "base_footprint").unwrap_err().reason().name(), "bad_odometry");
        // A pose in another frame than the odometry's (a map pose, a wrong header) is not a pose in `odom`.
        let err = odometry_from_msg(&msg, "odom_combined", "base_link").unwrap_err();
        assert_eq!(err.reason().name(), "bad_odometry");
        assert!(err.to_string().contains("`odom`") && err.to_string().contains("odom_combined"), "{err}");
        let mut nan = msg.clone();
        nan.pose.pose.position.x = f64::NAN;
        assert!(odometry_from_msg(&nan, "odom", "base_link").is_err());
        let mut zero_q = msg.clone();
        zero_q.pose.pose.orientation = Default::default();
        zero_q.pose.pose.orientation.w = 0.0;
        assert!(odometry_from_msg(&zero_q, "odom", "base_link").is_err());
        let mut unstamped = msg;
        unstamped.header.stamp = Default::default();
        assert!(odometry_from_msg(&unstamped, "odom", "base_link").is_err());
    }
}
