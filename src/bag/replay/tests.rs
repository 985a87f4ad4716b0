//! Unit tests of the replay: threshold checks and the skeleton message round trip.

use super::*;
use intent_shared_control_core::skeleton::SkeletonFrame;
use intent_shared_control_core::Stamp;
use intent_shared_control_sim::score::StopEpisodeMetrics;

use crate::ros::convert::{self, SkeletonLimits};

#[test]
fn thresholds_flag_each_failure() {
    let t = Thresholds::for_rate(50.0);
    let ok = ReplayMetrics {
        episodes: StopEpisodeMetrics { hold_stop_fraction: 1.0, ..StopEpisodeMetrics::default() },
        ..ReplayMetrics::default()
    };
    assert!(check_thresholds(&ok, &t).is_empty());
    let bad = ReplayMetrics {
        episodes: StopEpisodeMetrics {
            time_to_stop_s: vec![0.04],
            hold_stop_fraction: 0.9,
            resume_s: vec![0.6],
            ..StopEpisodeMetrics::default()
        },
        false_stop_fraction: 0.06,
        violation_cycles: 1,
        ..ReplayMetrics::default()
    };
    let failures = check_thresholds(&bad, &t);
    assert_eq!(failures.len(), 5, "{failures:?}");
    for what in ["time to stop", "hold", "resume", "false stops", "violation"] {
        assert!(failures.iter().any(|f| f.contains(what)), "{what} not flagged: {failures:?}");
    }
}

#[test]
fn skeletons_round_trip_through_the_message() {
    use intent_shared_control_core::skeleton::{HumanSkeleton, Keypoint};
    let mut keypoints = [Keypoint::MISSING; intent_shared_control_core::NUM_KEYPOINTS];
    keypoints[0] = Keypoint { position: nalgebra::Point3::new(1.0, 2.0, 3.0), confidence: 0.5 };
    let f = SkeletonFrame {
        stamp: Stamp(42),
        frame_id: "base_link".into(),
        humans: vec![HumanSkeleton { id: 3, keypoints }],
    };
    let msg = skeletons_to_msg(&f);
    let back = convert::skeletons_from_msg(&msg, &SkeletonLimits { max_humans: 4, expected_frame: "base_link".into() })
        .expect("valid");
    assert_eq!(
        (back.stamp, back.frame_id.as_str(), back.humans.len(), back.humans[0].id),
        (Stamp(42), "base_link", 1, 3)
    );
    assert_eq!(back.humans[0].keypoints[0], f.humans[0].keypoints[0]);
    assert!(back.humans[0].keypoints[1..].iter().all(|k| !k.is_observed()));
}
