use nalgebra::{Isometry2, Point3, Vector3};

use super::*;
use crate::model::{feature_layout, FEATURES_PER_FRAME, FUTURE_LEN, NUM_PREDICTED_POINTS, WINDOW_FRAMES, WINDOW_LEN};
use crate::planar::transform_planar;
use crate::skeleton::Keypoint;
use crate::skeleton::{keypoint, HumanId, HumanSkeleton, SkeletonFrame, NUM_KEYPOINTS};
use crate::time::Stamp;

const TORSO: usize = feature_layout::TORSO.start;
const VIS: usize = feature_layout::VISIBILITY.start;

/// A skeleton whose keypoint k sits at `base + (0.01·k, 0, 0.1·k)`; hips at base ± 0.1 y.
fn skeleton(id: HumanId, base: Point3<f64>) -> HumanSkeleton {
    let mut kps = [Keypoint { position: Point3::origin(), confidence: 0.9 }; NUM_KEYPOINTS];
    for (k, kp) in kps.iter_mut().enumerate() {
        kp.position = base + Vector3::new(0.01 * k as f64, 0.0, 0.1 * k as f64);
    }
    kps[keypoint::LEFT_HIP].position = base + Vector3::new(0.0, 0.1, 0.9);
    kps[keypoint::RIGHT_HIP].position = base + Vector3::new(0.0, -0.1, 0.9);
    HumanSkeleton { id, keypoints: kps }
}

fn frame(stamp_ns: i64, humans: Vec<HumanSkeleton>) -> SkeletonFrame {
    SkeletonFrame { stamp: Stamp(stamp_ns), frame_id: "base_link".into(), humans }
}

fn at(window: &[f32], f: usize, i: usize) -> f32 {
    window[f * FEATURES_PER_FRAME + i]
}

fn pipeline() -> FeaturePipeline {
    FeaturePipeline::new(FeatureConfig::default()).expect("valid config")
}

/// Pushes a human at 30 Hz walking at `vel` [m/s] from `start` for `n` frames; returns the last stamp.
fn walk(p: &mut FeaturePipeline, id: HumanId, start: Point3<f64>, vel: Vector3<f64>, n: usize) -> Stamp {
    let mut last = Stamp(0);
    for i in 0..n {
        let t = i as f64 / 30.0;
        last = Stamp::from_secs_f64(t);
        p.push(&frame(last.0, vec![skeleton(id, start + vel * t)]));
    }
    last
}

#[test]
fn config_validation_and_unknown_keys() {
    assert!(FeatureConfig::default().validate().is_ok());
    let bad = FeatureConfig { max_humans: 0, ..FeatureConfig::default() };
    assert!(matches!(FeaturePipeline::new(bad), Err(FeatureError::InvalidConfig { field: "max_humans", .. })));
    let bad = FeatureConfig { eviction_timeout_s: f64::NAN, ..FeatureConfig::default() };
    assert!(bad.validate().is_err());
    let bad = FeatureConfig { history_capacity: 1, ..FeatureConfig::default() };
    assert!(bad.validate().is_err());
    assert!(serde_yaml::from_str::<FeatureConfig>("max_humans: 3\nmax_human: 4\n").is_err());
    let ok: FeatureConfig = serde_yaml::from_str("max_humans: 3\n").expect("parse");
    assert_eq!(ok.max_humans, 3);
}

#[test]
fn stationary_human_window_is_centred_and_bearing_aligned() {
    let mut p = pipeline();
    let base = Point3::new(2.0, 2.0, 0.0);
    let last = walk(&mut p, 7, base, Vector3::zeros(), 40);
    let mut batch = FeatureBatch::with_capacity(4);
    assert_eq!(p.fill_batch(last, &mut batch), 1);
    let meta = batch.rows()[0];
    assert_eq!(meta.human_id, 7);
    assert!((meta.bearing_rad - std::f64::consts::FRAC_PI_4).abs() < 1e-12);
    assert!((meta.reference - Point3::new(2.0, 2.0, 0.9)).norm() < 1e-12);
    assert_eq!(meta.visible_fraction, 1.0);
    let w = batch.window(0).expect("row 0");
    assert_eq!(w.len(), WINDOW_LEN);
    for f in 0..WINDOW_FRAMES {
        // Torso feature: distance along +x (radial), nothing tangential.
        assert!((at(w, f, TORSO) - (8.0f64).sqrt() as f32).abs() < 1e-5);
        assert!(at(w, f, TORSO + 1).abs() < 1e-5);
        assert!((at(w, f, TORSO + 2) - 0.9).abs() < 1e-6);
        // Left hip at +0.1 y in the robot frame: rotated by -45°, relative to c.
        let lh = keypoint::LEFT_HIP * 3;
        let s = 0.1 / 2f64.sqrt();
        assert!((at(w, f, lh) - s as f32).abs() < 1e-6, "{}", at(w, f, lh));
        assert!((at(w, f, lh + 1) - s as f32).abs() < 1e-6);
        for k in 0..NUM_KEYPOINTS {
            assert_eq!(at(w, f, VIS + k), 1.0);
        }
    }
    let round = meta.to_robot_frame(&meta.to_model_frame(&Point3::new(1.0, -3.0, 0.5)));
    assert!((round - Point3::new(1.0, -3.0, 0.5)).norm() < 1e-12);
}

#[test]
fn resampling_interpolates_by_stamp() {
    // Input at 20 Hz with a constant velocity: resampled torso features must lie on the line exactly.
    let mut p = pipeline();
    let v = Vector3::new(0.0, 1.0, 0.0);
    let start = Point3::new(3.0, 0.0, 0.0);
    let mut last = Stamp(0);
    for i in 0..=40 {
        let t = i as f64 / 20.0;
        last = Stamp::from_secs_f64(t);
        p.push(&frame(last.0, vec![skeleton(1, start + v * t)]));
    }
    let mut batch = FeatureBatch::with_capacity(1);
    assert_eq!(p.fill_batch(last, &mut batch), 1);
    let meta = batch.rows()[0];
    let w = batch.window(0).expect("row");
    for f in 0..WINDOW_FRAMES {
        let t = last.as_secs_f64() - sample_offset_ns(f) as f64 * 1e-9;
        let expected = meta.to_model_frame(&(start + v * t + Vector3::new(0.0, 0.0, 0.9)));
        let torso_rel = Vector3::new(
            f64::from(at(w, f, keypoint::LEFT_HIP * 3) + at(w, f, keypoint::RIGHT_HIP * 3)) / 2.0,
            f64::from(at(w, f, keypoint::LEFT_HIP * 3 + 1) + at(w, f, keypoint::RIGHT_HIP * 3 + 1)) / 2.0,
            f64::from(at(w, f, keypoint::LEFT_HIP * 3 + 2) + at(w, f, keypoint::RIGHT_HIP * 3 + 2)) / 2.0,
        );
        assert!((torso_rel - expected).norm() < 1e-5, "frame {f}: {torso_rel} vs {expected}");
    }
}

#[test]
fn gap_longer_than_limit_is_not_interpolated() {
    let mut p = pipeline();
    let start = Point3::new(3.0, 0.0, 0.0);
    // Frames at 0 … 0.5 s, then a 0.4 s hole, then 0.9 … 1.2 s.
    let mut last = Stamp(0);
    for i in 0..=36 {
        if (16..27).contains(&i) {
            continue;
        }
        let t = i as f64 / 30.0;
        last = Stamp::from_secs_f64(t);
        p.push(&frame(last.0, vec![skeleton(1, start + Vector3::new(0.0, t, 0.0))]));
    }
    let mut batch = FeatureBatch::with_capacity(1);
    assert_eq!(p.fill_batch(last, &mut batch), 1);
    let w = batch.window(0).expect("row");
    let gap_frames: Vec<usize> = (0..WINDOW_FRAMES).filter(|&f| at(w, f, VIS) == 0.0).collect();
    // Window frame f is at raw frame f + 7 (30 Hz grid); raw frames 16..=26 are missing → f = 9..=19.
    assert_eq!(gap_frames, (9..=19).collect::<Vec<_>>());
    // Forward fill: missing frames repeat the last present value.
    for f in 9..=19 {
        assert_eq!(at(w, f, 0), at(w, 8, 0));
        assert_eq!(at(w, f, 1), at(w, 8, 1));
    }
}

#[test]
fn missing_keypoints_forward_back_and_torso_filled() {
    let mut p = pipeline();
    let base = Point3::new(2.0, 0.0, 0.0);
    for i in 0..30 {
        let mut s = skeleton(1, base + Vector3::new(0.01 * i as f64, 0.0, 0.0));
        // Nose: only observed in frames 10..=14 → back-filled before, forward-filled after.
        if !(10..=14).contains(&i) {
            s.keypoints[keypoint::NOSE].confidence = 0.1;
        }
        // Left ear: never observed (NaN position with high confidence counts as missing too).
        s.keypoints[keypoint::LEFT_EAR].position = Point3::new(f64::NAN, 0.0, 0.0);
        p.push(&frame(Stamp::from_secs_f64(i as f64 / 30.0).0, vec![s]));
    }
    assert_eq!(p.stats().non_finite_keypoints, 30);
    let mut batch = FeatureBatch::with_capacity(1);
    assert_eq!(p.fill_batch(Stamp::from_secs_f64(29.0 / 30.0), &mut batch), 1);
    let w = batch.window(0).expect("row");
    for f in 0..WINDOW_FRAMES {
        let nose_present = (10..=14).contains(&f);
        assert_eq!(at(w, f, VIS + keypoint::NOSE), if nose_present { 1.0 } else { 0.0 }, "frame {f}");
        if f < 10 {
            assert_eq!(at(w, f, 0), at(w, 10, 0));
        }
        if f > 14 {
            assert_eq!(at(w, f, 0), at(w, 14, 0));
        }
        assert_eq!(at(w, f, VIS + keypoint::LEFT_EAR), 0.0);
        // Never observed → torso point of that frame, i.e. the hip midpoint.
        let e = keypoint::LEFT_EAR * 3;
        let lh = keypoint::LEFT_HIP * 3;
        let rh = keypoint::RIGHT_HIP * 3;
        for d in 0..3 {
            let mid = (at(w, f, lh + d) + at(w, f, rh + d)) / 2.0;
            assert!((at(w, f, e + d) - mid).abs() < 1e-6);
        }
    }
    let expected = (WINDOW_FRAMES * NUM_KEYPOINTS - 25 - 30) as f32 / (WINDOW_FRAMES * NUM_KEYPOINTS) as f32;
    assert!((batch.rows()[0].visible_fraction - expected).abs() < 1e-6);
    assert!(batch.as_slice().iter().all(|v| v.is_finite()));
}

#[test]
fn newest_frame_without_hip_is_skipped_and_one_hip_suffices() {
    let mut p = pipeline();
    let base = Point3::new(2.0, 0.0, 0.0);
    let mut s = skeleton(1, base);
    p.push(&frame(0, vec![s.clone()]));
    s.keypoints[keypoint::LEFT_HIP].confidence = 0.0;
    p.push(&frame(33_333_333, vec![s.clone()]));
    let mut batch = FeatureBatch::with_capacity(1);
    assert_eq!(p.fill_batch(Stamp(33_333_333), &mut batch), 1);
    assert!((batch.rows()[0].reference - Point3::new(2.0, -0.1, 0.9)).norm() < 1e-12);
    s.keypoints[keypoint::RIGHT_HIP].confidence = 0.0;
    p.push(&frame(66_666_667, vec![s]));
    assert_eq!(p.fill_batch(Stamp(66_666_667), &mut batch), 0);
    assert_eq!(p.stats().skipped_no_hip, 1);
    assert!(batch.is_empty());
}

#[test]
fn duplicate_and_out_of_order_stamps_are_rejected_and_counted() {
    let mut p = pipeline();
    let s = skeleton(1, Point3::new(2.0, 0.0, 0.0));
    assert_eq!(p.push(&frame(100, vec![s.clone()])).accepted, 1);
    assert_eq!(p.push(&frame(100, vec![s.clone()])).rejected, 1);
    assert_eq!(p.push(&frame(50, vec![s.clone()])).rejected, 1);
    // The same id twice in one frame: the second is a duplicate.
    let r = p.push(&frame(200, vec![s.clone(), s.clone()]));
    assert_eq!((r.accepted, r.rejected), (1, 1));
    let st = p.stats();
    assert_eq!((st.rejected_duplicate, st.rejected_out_of_order, st.skeletons_accepted), (2, 1, 2));
    assert_eq!(p.newest_stamp(1), Some(Stamp(200)));
    // A jump back by more than the eviction timeout is a clock jump: the tracks start afresh.
    let later = Stamp::from_secs_f64(5.0).0;
    assert_eq!(p.push(&frame(later, vec![s.clone()])).accepted, 1);
    assert_eq!(p.push(&frame(later - 2_000_000_000, vec![s])).accepted, 1);
    assert_eq!(p.stats().clock_jumps, 1);
    assert_eq!(p.newest_stamp(1), Some(Stamp(later - 2_000_000_000)));
}

#[test]
fn stale_humans_are_evicted_and_capacity_is_bounded() {
    let config = FeatureConfig { max_humans: 3, eviction_timeout_s: 0.5, ..FeatureConfig::default() };
    let mut p = FeaturePipeline::new(config).expect("config");
    let base = Point3::new(2.0, 0.0, 0.0);
    p.push(&frame(0, vec![skeleton(1, base), skeleton(2, base)]));
    p.push(&frame(400_000_000, vec![skeleton(2, base)]));
    assert_eq!(p.tracked_humans(), 2);
    p.push(&frame(600_000_000, vec![skeleton(2, base)]));
    assert!(!p.is_tracked(1) && p.is_tracked(2));
    assert_eq!(p.stats().evicted_timeout, 1);
    // A flood of new ids never holds more than max_humans tracks; the least recently seen goes first.
    for i in 0..1000u32 {
        p.push(&frame(700_000_000 + i64::from(i), vec![skeleton(100 + i, base)]));
        assert!(p.tracked_humans() <= 3);
    }
    assert!(p.is_tracked(1099) && p.is_tracked(1098) && p.is_tracked(1097) && !p.is_tracked(2));
    assert!(p.tracks.len() <= 3);
    assert_eq!(p.stats().evicted_capacity, 998);
}

#[test]
fn history_is_bounded_and_short_history_can_be_required() {
    let config = FeatureConfig { history_capacity: 8, min_history_s: 0.5, ..FeatureConfig::default() };
    let mut p = FeaturePipeline::new(config).expect("config");
    let last = walk(&mut p, 1, Point3::new(2.0, 0.0, 0.0), Vector3::zeros(), 12);
    assert_eq!(p.tracks[0].history.len(), 8);
    let mut batch = FeatureBatch::with_capacity(1);
    // 8 frames at 30 Hz = 0.23 s < 0.5 s.
    assert_eq!(p.fill_batch(last, &mut batch), 0);
    assert_eq!(p.stats().skipped_short_history, 1);
}

#[test]
fn short_history_is_back_filled() {
    let mut p = pipeline();
    let last = walk(&mut p, 1, Point3::new(2.0, 0.0, 0.0), Vector3::new(0.3, 0.0, 0.0), 5);
    let mut batch = FeatureBatch::with_capacity(1);
    assert_eq!(p.fill_batch(last, &mut batch), 1);
    let w = batch.window(0).expect("row");
    // Frames before the first observation (more than half a period earlier) are back-filled and invisible.
    assert_eq!(at(w, 0, VIS), 0.0);
    assert_eq!(at(w, 24, VIS), 0.0);
    assert_eq!(at(w, 25, VIS), 1.0);
    assert_eq!(at(w, 0, TORSO), at(w, 25, TORSO));
}

#[test]
fn batch_reuse_does_not_reallocate_and_respects_max_rows() {
    let mut p = pipeline();
    let mut batch = FeatureBatch::with_capacity(2);
    let cap = batch.as_slice().as_ptr();
    for i in 0..60 {
        let stamp = Stamp::from_secs_f64(i as f64 / 30.0);
        let humans = (1..=3).map(|id| skeleton(id, Point3::new(2.0, f64::from(id), 0.0))).collect();
        p.push(&frame(stamp.0, humans));
        assert_eq!(p.fill_batch(stamp, &mut batch), 2);
        assert_eq!(batch.as_slice().len(), 2 * WINDOW_LEN);
        assert_eq!(batch.as_slice().as_ptr(), cap);
    }
    assert_eq!(p.stats().skipped_batch_full, 60);
    // Humans not in the newest frame are not in its batch.
    p.push(&frame(Stamp::from_secs_f64(2.0).0, vec![skeleton(3, Point3::new(2.0, 3.0, 0.0))]));
    assert_eq!(p.fill_batch(Stamp::from_secs_f64(2.0), &mut batch), 1);
    assert_eq!(batch.rows()[0].human_id, 3);
}

#[test]
fn odometry_removes_the_robots_own_motion() {
    // A person standing 3 m ahead in odom, seen from a robot that drives at 1 m/s and turns at 0.5 rad/s.
    let person = Point3::new(3.0, 0.5, 0.0);
    let pose = |t: f64| Isometry2::new(nalgebra::Vector2::new(t, 0.2 * t), 0.5 * t);
    let (mut plain, mut compensated, mut still) = (pipeline(), pipeline(), pipeline());
    let mut last = Stamp(0);
    for i in 0..40 {
        let t = f64::from(i) / 30.0;
        last = Stamp::from_secs_f64(t);
        let seen = transform_planar(&pose(t).inverse(), &person);
        plain.push(&frame(last.0, vec![skeleton(1, seen)]));
        compensated.push_in(&frame(last.0, vec![skeleton(1, seen)]), &pose(t));
    }
    // The same person as a robot standing where this one is now sees it.
    let now = transform_planar(&pose(last.seconds_since(Stamp(0))).inverse(), &person);
    for i in 0..40 {
        still.push(&frame(Stamp::from_secs_f64(f64::from(i) / 30.0).0, vec![skeleton(1, now)]));
    }
    let (mut a, mut b, mut c) =
        (FeatureBatch::with_capacity(1), FeatureBatch::with_capacity(1), FeatureBatch::with_capacity(1));
    assert_eq!(plain.fill_batch(last, &mut a), 1);
    assert_eq!(compensated.fill_batch_in(last, &pose(last.seconds_since(Stamp(0))).inverse(), &mut b), 1);
    assert_eq!(still.fill_batch(last, &mut c), 1);
    let diff = |x: &FeatureBatch, y: &FeatureBatch| {
        x.as_slice().iter().zip(y.as_slice()).map(|(u, v)| (u - v).abs()).fold(0.0f32, f32::max)
    };
    // Skeletons here are not rotated with the person, so compare the torso track (translation only).
    let torso_track = |x: &FeatureBatch| {
        (0..WINDOW_FRAMES).map(|f| [at(x.as_slice(), f, TORSO), at(x.as_slice(), f, TORSO + 1)]).collect::<Vec<_>>()
    };
    let (tb, tc) = (torso_track(&b), torso_track(&c));
    for (u, v) in tb.iter().zip(&tc) {
        assert!((u[0] - v[0]).abs() < 1e-5 && (u[1] - v[1]).abs() < 1e-5, "{u:?} vs {v:?}");
    }
    // Without odometry the standing person seems to walk toward the robot (and around it).
    let ta = torso_track(&a);
    assert!((ta[0][0] - ta[WINDOW_FRAMES - 1][0]).abs() > 0.5, "{:?}", ta[0]);
    assert!(diff(&a, &c) > 0.5);
    // The reference point (and so the predictions) are in the robot frame of the newest capture.
    assert!((b.rows()[0].reference.xy() - c.rows()[0].reference.xy()).norm() < 1e-9);
}

#[test]
fn future_positions_map_back_to_the_robot_frame() {
    let meta = RowMeta {
        human_id: 1,
        stamp: Stamp(0),
        reference: Point3::new(1.0, 1.0, 0.9),
        bearing_rad: std::f64::consts::FRAC_PI_4,
        visible_fraction: 1.0,
    };
    let mut future = vec![0.0f32; FUTURE_LEN];
    // Step 9, torso: 1 m radially outward.
    future[9 * NUM_PREDICTED_POINTS * 3] = 1.0;
    let pts = meta.future_to_robot_frame(&future).expect("valid");
    let s = 1.0 / 2f64.sqrt();
    assert!((pts[9][0] - Point3::new(1.0 + s, 1.0 + s, 0.9)).norm() < 1e-6);
    assert!((pts[0][1] - meta.reference).norm() < 1e-12);
    future[3] = f32::NAN;
    assert!(meta.future_to_robot_frame(&future).is_none());
    assert!(meta.future_to_robot_frame(&future[1..]).is_none());
}
