//! Unit tests of the replay: threshold checks and the skeleton message round trip.

use super::*;
use intent_shared_control_core::skeleton::SkeletonFrame;
use intent_shared_control_core::{Stamp, Twist};
use intent_shared_control_sim::score::StopEpisodeMetrics;

use crate::bag::BagMessage;
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
        longest_needless_hold_s: 5.5,
        ..ReplayMetrics::default()
    };
    let failures = check_thresholds(&bad, &t);
    assert_eq!(failures.len(), 6, "{failures:?}");
    for what in ["time to stop", "hold stop", "resume", "false stops", "violation", "standing still"] {
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

/// A person standing on the ground with the hip midpoint at `(x, y)` of the robot frame: hips, wrists, knees
/// and ankles.
fn person_at(stamp: Stamp, x: f64, y: f64) -> SkeletonFrame {
    use intent_shared_control_core::skeleton::{keypoint as kp, HumanSkeleton, Keypoint};
    let mut keypoints = [Keypoint::MISSING; intent_shared_control_core::NUM_KEYPOINTS];
    for (i, dy, z) in [
        (kp::LEFT_HIP, 0.1, 0.9),
        (kp::RIGHT_HIP, -0.1, 0.9),
        (kp::LEFT_WRIST, 0.25, 0.9),
        (kp::RIGHT_WRIST, -0.25, 0.9),
        (kp::LEFT_KNEE, 0.1, 0.5),
        (kp::RIGHT_KNEE, -0.1, 0.5),
        (kp::LEFT_ANKLE, 0.1, 0.08),
        (kp::RIGHT_ANKLE, -0.1, 0.08),
    ] {
        keypoints[i] = Keypoint { position: nalgebra::Point3::new(x, y + dy, z), confidence: 1.0 };
    }
    SkeletonFrame { stamp, frame_id: "base_link".into(), humans: vec![HumanSkeleton { id: 4, keypoints }] }
}

/// The judge's holds for a robot held still for 8 s (50 Hz) while the operator asks for `user`, next to one
/// person whose hip midpoint is at `person(t)` (robot frame; the robot does not move), the bag read ahead.
fn holds(person: &dyn Fn(f64) -> [f64; 2], user: Twist) -> ReplayMetrics {
    use intent_shared_control_core::{ControllerConfig, Decision, Mode, Reason};
    let frames: Vec<SkeletonFrame> = (0..400)
        .map(|k| {
            let t = k as f64 * 0.02;
            let [x, y] = person(t);
            person_at(Stamp::from_secs_f64(100.0 + t), x, y)
        })
        .collect();
    let mut messages = Vec::new();
    for f in &frames {
        let truth = skeletons_to_msg(f);
        messages.push(BagMessage::encode(topics::TRUTH, topics::SKELETONS_TYPE, f.stamp.0, &truth).expect("encode"));
        let pose = convert::PlanarPose { stamp: f.stamp, x: 0.0, y: 0.0, yaw: 0.0 };
        let odom = convert::odometry_to_msg(&pose, "odom", "base_link", &Twist::ZERO);
        messages.push(BagMessage::encode(topics::ODOM, topics::ODOM_TYPE, f.stamp.0, &odom).expect("encode"));
    }
    let mut judge = judge::Judge::new(&ControllerConfig::default());
    judge.lookahead = Some(crate::bag::lookahead::Lookahead::scan(
        &messages,
        topics::TRUTH,
        topics::ODOM,
        topics::CMD_VEL,
        (convert::ODOM_FRAME, "base_link"),
    ));
    for f in frames {
        let mut d = Decision::zero(f.stamp, Mode::Stop, Reason::SsmStop);
        d.user = user;
        judge.on_truth(f);
        judge.on_decision(&d);
    }
    judge.finish()
}

#[test]
fn a_hold_next_to_a_person_standing_still_is_needless_unless_the_command_approaches_them_or_they_touch_the_robot() {
    let standing = |_: f64| [1.0, 0.0];
    let away = Twist::planar(-0.3, 0.0, 0.0);
    // Asked to back away from someone standing 0.7 m ahead: held 8 s, every cycle needless until the bag's
    // future runs out (the last 0.2 s cannot tell whether they still stand).
    let m = holds(&standing, away);
    assert!(m.longest_held_s > 7.9 && m.longest_needless_hold_s > 7.6, "{m:?}");
    assert_eq!(m.longest_contact_hold_s, 0.0);
    assert!(!check_thresholds(&m, &Thresholds::for_rate(50.0)).is_empty());
    // Asked toward them, or to turn on the spot: held, but only the turn (no point of the round robot gets
    // closer) is needless. Sideways, their hand 0.25 m to the left of the axis gets closer: not needless.
    let m = holds(&standing, Twist::planar(0.3, 0.0, 0.0));
    assert!(m.longest_held_s > 7.9 && m.longest_needless_hold_s == 0.0, "{m:?}");
    assert!(holds(&standing, Twist::planar(0.0, 0.0, 0.5)).longest_needless_hold_s > 7.6);
    assert_eq!(holds(&standing, Twist::planar(0.0, 0.3, 0.0)).longest_needless_hold_s, 0.0);
    // Someone walking past at 0.5 m/s does not stand still; someone farther than 1.5 m is not next to the robot.
    assert_eq!(holds(&|t| [1.0, -2.0 + 0.5 * t], away).longest_needless_hold_s, 0.0);
    assert_eq!(holds(&|_| [2.5, 0.0], away).longest_needless_hold_s, 0.0);
    // Someone whose feet are under the robot's rim touches it: a contact hold, not a needless one.
    let m = holds(&|_| [0.25, 0.0], away);
    assert!(m.longest_contact_hold_s > 7.9 && m.longest_needless_hold_s == 0.0, "{m:?}");
}
