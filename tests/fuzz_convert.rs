//! Fuzzing of the message → core conversions (`convert.rs`) with arbitrary field values: NaN, ±Inf, huge and
//! subnormal numbers, empty and oversized arrays, duplicate ids, any frame. The `*_never_panic` tests are
//! no-panic properties: whatever comes in, conversion returns a value or an error and never panics, and what it
//! accepts keeps the core running (the converted input is fed to a default `Controller` and a decision is made).
//! Where the answer is typed they also check it: a skeleton array gets exactly the `InputError` its first
//! defect calls for, a prediction array one that names an entry of it, and a decision with a fault or inhibit
//! reason (`Reason::effect`) is an explicit zero whose status names read back to the same reasons.
//!
//! Links the r2r message types; needs no DDS. Case count: `PROPTEST_CASES` (proptest's default, 256, when
//! unset). Long profile: `PROPTEST_CASES=1000000 cargo test --release --test fuzz_convert` (or
//! `scripts/bench.sh fuzz`).
use intent_shared_control::ros::convert::{self, InputError, SkeletonLimits, PREDICTED_KEYPOINTS};
use intent_shared_control_core::input::Rejection;
use intent_shared_control_core::safety::Effect;
use intent_shared_control_core::{ControllerConfig, InputHandler, Reason, Stamp, Twist, NUM_KEYPOINTS};
use proptest::prelude::*;
use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg as geo;
use r2r::intent_shared_control_msgs::msg as isc;
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;

/// Any f64, with the special values and plausible coordinates over-represented.
fn f64_any() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        3 => -20.0..20.0f64,
        2 => proptest::num::f64::ANY,
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN, f64::MIN_POSITIVE, -0.0, 0.0, 1e300, -1e300]),
    ]
}

fn f32_any() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        3 => -1.5..1.5f32,
        2 => proptest::num::f32::ANY,
        1 => prop::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN, -0.0, 0.0, 1.0, 2.0]),
    ]
}

fn time_any() -> impl Strategy<Value = Time> {
    prop_oneof![
        3 => (1_700_000_000i32..1_700_000_100, 0u32..1_000_000_000).prop_map(|(sec, nanosec)| Time { sec, nanosec }),
        1 => (any::<i32>(), any::<u32>()).prop_map(|(sec, nanosec)| Time { sec, nanosec }),
    ]
}

fn frame_id() -> impl Strategy<Value = String> {
    prop_oneof![4 => Just("base_link".to_owned()), 1 => Just(String::new()), 1 => Just("map".to_owned()), 1 => ".{0,40}"]
}

fn header() -> impl Strategy<Value = Header> {
    (time_any(), frame_id()).prop_map(|(stamp, frame_id)| Header { stamp, frame_id })
}

fn point() -> impl Strategy<Value = geo::Point> + Clone {
    (f64_any(), f64_any(), f64_any()).prop_map(|(x, y, z)| geo::Point { x, y, z })
}

/// Array length: usually the expected one, sometimes anything (empty and oversized included).
fn len_around(expected: usize, max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(expected), 1 => 0..=max]
}

/// A vector whose length is usually `expected`, sometimes anything up to `max`.
fn vec_around<S: Strategy + Clone + 'static>(
    element: S,
    expected: usize,
    max: usize,
) -> impl Strategy<Value = Vec<S::Value>> {
    len_around(expected, max).prop_flat_map(move |n| prop::collection::vec(element.clone(), n))
}

fn human() -> impl Strategy<Value = isc::HumanSkeleton> {
    (0u32..6, len_around(NUM_KEYPOINTS, 40), any::<bool>(), 0usize..40)
        .prop_flat_map(|(id, n, same_len, other)| {
            let m = if same_len { n } else { other };
            (Just(id), prop::collection::vec(point(), n), prop::collection::vec(f32_any(), m))
        })
        .prop_map(|(id, keypoints, confidence)| isc::HumanSkeleton { id, keypoints, confidence })
}

fn skeleton_array() -> impl Strategy<Value = isc::HumanSkeletonArray> {
    (header(), prop::collection::vec(human(), 0..8))
        .prop_map(|(header, humans)| isc::HumanSkeletonArray { header, humans })
}

fn joy() -> impl Strategy<Value = Joy> {
    (header(), vec_around(f32_any(), 8, 80), vec_around(any::<i32>(), 12, 80)).prop_map(|(header, axes, buttons)| Joy {
        header,
        axes,
        buttons,
    })
}

fn prediction() -> impl Strategy<Value = isc::IntentPrediction> {
    (
        0u32..6,
        any::<u8>(),
        vec_around(f32_any(), 5, 12),
        f32_any(),
        any::<u8>(),
        f32_any(),
        prop_oneof![4 => Just(PREDICTED_KEYPOINTS.to_vec()), 1 => prop::collection::vec(any::<u8>(), 0..6)],
        prop_oneof![3 => (1usize..12).prop_map(|s| s * 3), 1 => 0usize..50],
        time_any(),
    )
        .prop_flat_map(
            |(
                human_id,
                intent,
                probabilities,
                confidence,
                source,
                horizon_step,
                predicted_keypoints,
                n,
                source_stamp,
            )| {
                prop::collection::vec(point(), n).prop_map(move |future_positions| isc::IntentPrediction {
                    human_id,
                    intent,
                    probabilities: probabilities.clone(),
                    confidence,
                    source,
                    horizon_step,
                    predicted_keypoints: predicted_keypoints.clone(),
                    future_positions,
                    source_stamp: source_stamp.clone(),
                })
            },
        )
}

fn prediction_array() -> impl Strategy<Value = isc::IntentPredictionArray> {
    (header(), prop::collection::vec(prediction(), 0..5), ".{0,8}", f32_any()).prop_map(
        |(header, predictions, model_version, inference_time)| isc::IntentPredictionArray {
            header,
            predictions,
            model_version,
            inference_time,
            ..Default::default()
        },
    )
}

fn limits() -> impl Strategy<Value = SkeletonLimits> {
    (0usize..10, prop_oneof![Just("base_link".to_owned()), Just(String::new()), ".{0,10}"])
        .prop_map(|(max_humans, expected_frame)| SkeletonLimits { max_humans, expected_frame })
}

/// The node's input handler with the default configuration.
fn handler() -> InputHandler {
    InputHandler::new(ControllerConfig::default()).expect("defaults are valid")
}

/// The decision the core makes at `now` after the inputs; the outputs it publishes must be finite, a fault or
/// an inhibit is an explicit zero, and the status carries the reasons' names.
fn decide(c: &mut InputHandler, now: Stamp) {
    let d = c.decide(now);
    let cmd = convert::cmd_vel_msg(&d, "base_link");
    let t = &cmd.twist;
    for v in [t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z] {
        assert!(v.is_finite(), "non-finite command {v} from decision {d:?}");
    }
    if Reason::most_restrictive(&d.reasons) >= Some(Effect::Inhibit) {
        assert_eq!(d.output, Twist::ZERO, "a fault or inhibit that moves: {d:?}");
    }
    let status = convert::status_msg(&d, "base_link", 0.0);
    let names: Vec<Reason> = status.reasons.iter().map(|r| r.parse().expect("a reason's name")).collect();
    assert_eq!(names, d.reasons);
}

/// The rejection the conversion must give a skeleton array: its first defect, in the order the conversion
/// checks (`None`: the array is accepted).
fn skeleton_rejection(msg: &isc::HumanSkeletonArray, limits: &SkeletonLimits) -> Option<InputError> {
    if msg.humans.len() > limits.max_humans {
        return Some(InputError::TooManyHumans { count: msg.humans.len(), max: limits.max_humans });
    }
    if !limits.expected_frame.is_empty() && msg.header.frame_id != limits.expected_frame {
        return Some(InputError::WrongFrame {
            got: msg.header.frame_id.clone(),
            expected: limits.expected_frame.clone(),
        });
    }
    for (i, h) in msg.humans.iter().enumerate() {
        if h.keypoints.len() != NUM_KEYPOINTS {
            return Some(InputError::KeypointCount { id: h.id, count: h.keypoints.len(), expected: NUM_KEYPOINTS });
        }
        if h.confidence.len() != h.keypoints.len() {
            let (count, keypoints) = (h.confidence.len(), h.keypoints.len());
            return Some(InputError::ConfidenceCount { id: h.id, count, keypoints });
        }
        if msg.humans[..i].iter().any(|o| o.id == h.id) {
            return Some(InputError::DuplicateId { id: h.id });
        }
    }
    None
}

proptest! {
    #[test]
    fn skeletons_never_panic(msg in skeleton_array(), limits in limits(), dt in -1.0..1.0f64) {
        let converted = convert::skeletons_from_msg(&msg, &limits);
        let expected = skeleton_rejection(&msg, &limits);
        prop_assert_eq!(converted.as_ref().err(), expected.as_ref());
        match converted {
            Ok(frame) => {
                prop_assert!(frame.humans.len() <= limits.max_humans);
                prop_assert_eq!(frame.stamp, convert::stamp_from_msg(&msg.header.stamp));
                for (h, m) in frame.humans.iter().zip(&msg.humans) {
                    for k in h.keypoints.iter().filter(|k| k.is_observed()) {
                        prop_assert!(k.position.iter().all(|v| v.is_finite()));
                        prop_assert!(k.confidence > 0.0 && k.confidence <= 1.0);
                    }
                    // A keypoint reported with a confidence is never dropped, whatever its coordinates.
                    for (k, &c) in h.keypoints.iter().zip(&m.confidence) {
                        prop_assert_eq!(k.confidence > 0.0 || k.confidence.is_nan(), c > 0.0 || c.is_nan());
                        prop_assert_eq!(k.confidence.is_nan(), c.is_nan());
                    }
                }
                let now = Stamp(frame.stamp.0.saturating_add((dt * 1e9) as i64));
                let mut c = handler();
                let _ = c.on_skeletons(now, frame);
                decide(&mut c, now);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn joy_never_panics(msg in joy(), dt in -1.0..1.0f64) {
        let j = convert::joy_from_msg(&msg);
        prop_assert_eq!(j.axes.len(), msg.axes.len().min(convert::MAX_JOY_CHANNELS + 1));
        let oversized = msg.axes.len() > convert::MAX_JOY_CHANNELS || msg.buttons.len() > convert::MAX_JOY_CHANNELS;
        let now = Stamp(j.stamp.0.saturating_add((dt * 1e9) as i64));
        let mut c = handler();
        let verdict = c.on_joy(now, j);
        if oversized {
            prop_assert_eq!(verdict, Err(Rejection::OversizedJoy));
        }
        decide(&mut c, now);
    }

    #[test]
    fn predictions_never_panic(msg in prediction_array(), max in 0usize..6, dt in -1.0..1.0f64) {
        match convert::predictions_from_msg(&msg, max) {
            Ok(preds) => {
                prop_assert!(preds.len() <= max);
                prop_assert!(preds.iter().all(|p| p.is_valid()));
                let stamp = convert::stamp_from_msg(&msg.header.stamp);
                let now = Stamp(stamp.0.saturating_add((dt * 1e9) as i64));
                let mut c = handler();
                let _ = c.on_predictions(now, stamp, preds);
                decide(&mut c, now);
            }
            Err(InputError::TooManyPredictions { count, max: m }) => {
                prop_assert!(count == msg.predictions.len() && m == max && count > max);
            }
            Err(InputError::BadPrediction { id, .. }) => {
                prop_assert!(msg.predictions.len() <= max && msg.predictions.iter().any(|p| p.human_id == id));
            }
            Err(e) => prop_assert!(false, "not a prediction rejection: {e:?}"),
        }
    }

    #[test]
    fn all_inputs_together_never_panic(s in skeleton_array(), j in joy(), p in prediction_array(), limits in limits(), steps in prop::collection::vec(-0.5..0.5f64, 1..4)) {
        let mut c = handler();
        let mut now = convert::stamp_from_msg(&s.header.stamp);
        if let Ok(f) = convert::skeletons_from_msg(&s, &limits) { let _ = c.on_skeletons(now, f); }
        let _ = c.on_joy(now, convert::joy_from_msg(&j));
        if let Ok(preds) = convert::predictions_from_msg(&p, 8) { let _ = c.on_predictions(now, convert::stamp_from_msg(&p.header.stamp), preds); }
        for dt in steps {
            now = Stamp(now.0.saturating_add((dt * 1e9) as i64));
            decide(&mut c, now);
        }
    }

    #[test]
    fn stamps_and_twists_round_trip(t in time_any(), x in f64_any(), y in f64_any(), z in f64_any()) {
        let s = convert::stamp_from_msg(&t);
        let back = convert::stamp_to_msg(s);
        if t.nanosec < 1_000_000_000 {
            prop_assert_eq!((back.sec, back.nanosec), (t.sec, t.nanosec));
        }
        let tw = geo::Twist { linear: geo::Vector3 { x, y, z }, angular: geo::Vector3 { x: z, y: x, z: y } };
        let core = convert::twist_from_msg(&tw);
        let again = convert::twist_to_msg(&core);
        prop_assert!(again.linear.x.to_bits() == x.to_bits() || (x.is_nan() && again.linear.x.is_nan()));
    }
}
