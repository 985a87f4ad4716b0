use std::f64::consts::{FRAC_PI_2, FRAC_PI_3};

use nalgebra::{Point3, Vector2, Vector3};

use super::*;
use crate::scenario::{NoiseConfig, ScenarioError};
use crate::sim::HumanSource;
use intent_shared_control_core::prediction::Intent;
use intent_shared_control_core::skeleton::{keypoint as kp, SkeletonFrame, NUM_KEYPOINTS};
use intent_shared_control_core::time::Stamp;

fn torso(k: &[Point3<f64>; NUM_KEYPOINTS]) -> Point3<f64> {
    nalgebra::center(&k[kp::LEFT_HIP], &k[kp::RIGHT_HIP])
}

fn noise_free(family: WalkerFamily) -> WalkerConfig {
    WalkerConfig { humans: [1, 1], noise: NoiseConfig::none(), ..WalkerConfig::only(family) }
}

/// Torso of human `i` from the truth at times `0, dt, 2 dt, …` up to the end of the scene.
fn torso_track(s: &WalkerHumans, i: usize, dt: f64) -> Vec<Point3<f64>> {
    let n = (s.config().duration_s / dt).round() as usize;
    (0..=n).map(|j| torso(&s.truth(Stamp::from_secs_f64(j as f64 * dt))[i].keypoints)).collect()
}

fn bits(frame: &SkeletonFrame) -> Vec<u64> {
    let mut v = vec![frame.stamp.0 as u64];
    for h in &frame.humans {
        v.push(u64::from(h.id));
        for k in &h.keypoints {
            v.extend(k.position.iter().map(|x| x.to_bits()));
            v.push(u64::from(k.confidence.to_bits()));
        }
    }
    v
}

fn poll_all(s: &mut WalkerHumans, dt: f64) -> Vec<(Stamp, SkeletonFrame)> {
    let mut out = Vec::new();
    let mut step = 0;
    loop {
        let now = Stamp::from_secs_f64(step as f64 * dt);
        if now > s.end().add_secs(1.0) {
            return out;
        }
        if let Some(f) = s.poll(now) {
            out.push((now, f));
        }
        step += 1;
    }
}

#[test]
fn speeds_and_accelerations_of_the_true_torso_stay_bounded() {
    let dt = 1.0 / 60.0;
    let (mut max_v, mut max_a, mut humans) = (0.0f64, 0.0f64, 0);
    for seed in 0..300 {
        let s = WalkerHumans::new(WalkerConfig::default(), seed).expect("valid config");
        for i in 0..s.num_humans() {
            humans += 1;
            let track = torso_track(&s, i, dt);
            let v: Vec<Vector3<f64>> = track.windows(2).map(|w| (w[1] - w[0]) / dt).collect();
            for (j, pair) in v.windows(2).enumerate() {
                let a = (pair[1] - pair[0]).norm() / dt;
                let speed = pair[0].norm();
                assert!(speed <= MAX_SPEED + 1e-6, "seed {seed} human {i} at {j}: {speed} m/s");
                assert!(a <= MAX_ACCEL + 1e-6, "seed {seed} human {i} at {j}: {a} m/s²");
                max_v = max_v.max(speed);
                max_a = max_a.max(a);
            }
            // The planned motion agrees: the same bounds hold exactly.
            let w = s.walker(i).expect("human");
            for j in 0..=(s.config().duration_s / dt) as usize {
                let t = j as f64 * dt;
                assert!(w.velocity(t).norm() <= MAX_SPEED + 1e-12);
                assert!(w.acceleration(t).abs() <= MAX_ACCEL);
            }
        }
    }
    eprintln!("{humans} humans over 300 seeds: max torso speed {max_v:.4} m/s, max acceleration {max_a:.4} m/s²");
    assert!(max_v > 1.9, "fast walkers occur: {max_v}");
}

#[test]
fn every_family_facing_and_gait_appears_with_one_or_two_humans() {
    let mut families = std::collections::BTreeSet::new();
    let (mut facings, mut gaits, mut counts) = (Vec::new(), Vec::new(), [0usize; 3]);
    for seed in 0..100 {
        let s = WalkerHumans::new(WalkerConfig::default(), seed).expect("valid config");
        assert!((1..=2).contains(&s.num_humans()));
        counts[s.num_humans()] += 1;
        for i in 0..s.num_humans() {
            let w = s.walker(i).expect("human");
            assert_eq!(s.family(i), Some(w.family));
            families.insert(w.family);
            facings.push(w.facing);
            gaits.push(w.gait);
        }
        assert_eq!(s.family(s.num_humans()), None);
    }
    assert_eq!(families.len(), NUM_FAMILIES, "{families:?}");
    for f in [Facing::Forward, Facing::Backward, Facing::Random] {
        assert!(facings.contains(&f), "{f:?}");
    }
    assert!(gaits.contains(&Gait::Swing) && gaits.contains(&Gait::Rigid));
    assert!(counts[1] > 20 && counts[2] > 20, "{counts:?}");
}

#[test]
fn same_seed_same_scene_other_seed_other_scene() {
    let config = WalkerConfig {
        noise: NoiseConfig { id_switch_rate_hz: 0.2, id_swap_rate_hz: 0.2, ..NoiseConfig::default() },
        ..WalkerConfig::default()
    };
    let frames = |seed| {
        let mut s = WalkerHumans::new(config.clone(), seed).expect("valid config");
        let truth: Vec<_> = (0..100).map(|i| s.truth(Stamp::from_secs_f64(i as f64 * 0.25))).collect();
        let frames: Vec<_> = poll_all(&mut s, 0.02).iter().map(|(_, f)| bits(f)).collect();
        (truth, frames)
    };
    let (a, b, c) = (frames(42), frames(42), frames(43));
    assert!(a.1.len() > 700);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
}

#[test]
fn start_from_standing_stands_still_then_walks_at_the_robot_without_stopping() {
    let dt = 1.0 / 30.0;
    for seed in 0..40 {
        let s = WalkerHumans::new(noise_free(WalkerFamily::StartFromStanding), seed).expect("valid config");
        let w = s.walker(0).expect("human").clone();
        let start = Vector2::new(w.start[0], w.start[1]);
        assert!((1.0..=1.5).contains(&start.norm()), "seed {seed}: {start}");
        assert!(start.y.atan2(start.x).abs() <= FRAC_PI_3 + 1e-12);
        assert!((0.5..=3.0).contains(&w.stand_s));
        let track = torso_track(&s, 0, dt);
        let stand_frames = (w.stand_s / dt).floor() as usize;
        for (j, p) in track.iter().enumerate().take(stand_frames + 1) {
            let t = j as f64 * dt;
            assert!((p - track[0]).norm() < 1e-12, "seed {seed}: moves at {t} s while standing");
            if t < w.stand_s - 1e-6 {
                assert_eq!(s.truth(Stamp::from_secs_f64(t))[0].intent, Intent::Idle);
            }
        }
        let after = w.stand_s + 0.1;
        assert_eq!(w.intent(after), Intent::ApproachRobot);
        // Walks at the robot's start, accelerating at most 1.5 m/s², then keeps its speed to the end.
        assert!(w.velocity(after).dot(&-start) > 0.0);
        assert!((0.0..=MAX_START_ACCEL).contains(&w.acceleration(after)));
        let top = w.velocity(w.settled_at()).norm();
        assert!((1.0..=MAX_SPEED).contains(&top), "seed {seed}: {top}");
        let last = track.len() - 1;
        assert!(((track[last] - track[last - 1]).norm() / dt - top).abs() < 1e-6);
        assert!((track[last].coords.xy() - start).norm() > 10.0, "keeps walking past the start");
    }
}

#[test]
fn head_on_walks_through_the_robot_start_without_stopping() {
    let dt = 1.0 / 30.0;
    for seed in 0..40 {
        let s = WalkerHumans::new(noise_free(WalkerFamily::HeadOn), seed).expect("valid config");
        let track = torso_track(&s, 0, dt);
        assert!((4.0..7.0).contains(&track[0].x) && track[0].y.abs() <= 0.5);
        let closest = track.iter().map(|p| p.x.hypot(p.y)).fold(f64::INFINITY, f64::min);
        assert!(closest <= 0.5, "seed {seed}: closest {closest} m");
        for pair in track.windows(2) {
            let v = (pair[1] - pair[0]).norm() / dt;
            assert!((0.8 - 1e-9..=MAX_SPEED + 1e-9).contains(&v), "seed {seed}: {v} m/s");
        }
        assert!(track[track.len() - 1].x < -5.0, "seed {seed}: walks on past the start");
        assert_eq!(s.truth(Stamp(0))[0].intent, Intent::ApproachRobot);
    }
}

#[test]
fn overtaking_crossing_and_slow_down_follow_their_geometry() {
    let dt = 1.0 / 30.0;
    for seed in 0..30 {
        let s = WalkerHumans::new(noise_free(WalkerFamily::Overtaking), seed).expect("valid config");
        let w = s.walker(0).expect("human");
        assert!((-3.0..-1.0).contains(&w.start[0]) && (0.5..1.2).contains(&w.start[1].abs()));
        assert!((1.2..=MAX_SPEED).contains(&w.velocity(0.0).x) && w.velocity(0.0).y == 0.0);
        assert_eq!(w.intent(3.0), Intent::PassBy);

        let s = WalkerHumans::new(noise_free(WalkerFamily::Crossing), seed).expect("valid config");
        let w = s.walker(0).expect("human");
        let track = torso_track(&s, 0, dt);
        let cross = track.windows(2).find(|p| p[0].y.signum() != p[1].y.signum()).expect("crosses the path");
        assert!((0.95..4.05).contains(&cross[0].x), "seed {seed}: crosses at x = {}", cross[0].x);
        assert!((w.heading.abs() - FRAC_PI_2).abs() <= 15f64.to_radians() + 1e-9);
        assert_eq!(w.intent(3.0), Intent::PassBy);

        let s = WalkerHumans::new(noise_free(WalkerFamily::SlowDownSpeedUp), seed).expect("valid config");
        let w = s.walker(0).expect("human");
        let speeds: Vec<f64> = (0..750).map(|j| w.velocity(j as f64 * dt).norm()).collect();
        let slowest = speeds.iter().copied().fold(f64::INFINITY, f64::min);
        assert!((0.2..=0.5).contains(&slowest), "seed {seed}: slowest {slowest}");
        let slow_frames = speeds.iter().filter(|v| (*v - slowest).abs() < 1e-9).count() as f64 * dt;
        assert!((0.45..=1.55).contains(&slow_frames), "seed {seed}: slow for {slow_frames} s");
        let j = speeds.iter().position(|v| (*v - slowest).abs() < 1e-9).expect("slow");
        let d = w.position(j as f64 * dt).norm();
        assert!((0.7..=3.3).contains(&d), "seed {seed}: slow at {d} m from the start");
        assert!(speeds[0] >= 1.2 && speeds[749] >= 1.2, "cruises before and after");
    }
}

#[test]
fn body_heights_are_realistic_and_limbs_swing_only_with_gait() {
    for seed in 0..40 {
        let s = WalkerHumans::new(WalkerConfig::default(), seed).expect("valid config");
        for i in 0..s.num_humans() {
            let w = s.walker(i).expect("human");
            let h = w.body.height / 1.75;
            let k = body_keypoints(&w.body, Vector2::zeros(), 0.0, 0.0, 0.0);
            let within = |z: f64, nominal: f64, tol: f64| (z / h - nominal).abs() < tol;
            assert!(within(torso(&k).z, 0.93, 0.05), "hips at {}", torso(&k).z);
            assert!(within(k[kp::LEFT_SHOULDER].z, 1.43, 0.07), "shoulders at {}", k[kp::LEFT_SHOULDER].z);
            assert!(within(k[kp::NOSE].z, 1.60, 0.08), "nose at {}", k[kp::NOSE].z);
            assert!(within(k[kp::RIGHT_WRIST].z, 0.86, 0.07), "wrists at {}", k[kp::RIGHT_WRIST].z);
            // Over a scene, the wrists move relative to the torso only with the gait.
            let rel = |t: f64| {
                let k = w.keypoints(t);
                k[kp::LEFT_WRIST] - torso(&k)
            };
            let t0 = w.settled_at() + 0.5;
            let swing = (0..30).map(|j| (rel(t0 + j as f64 * 0.05) - rel(t0)).norm()).fold(0.0, f64::max);
            match w.gait {
                Gait::Rigid => assert!(swing < 1e-9, "rigid arms move {swing} m"),
                Gait::Swing => assert!(swing > 0.05, "arms swing {swing} m"),
            }
            // The feet never go below the ground.
            let low = (0..300).map(|j| w.keypoints(j as f64 * 0.05)[kp::LEFT_ANKLE].z).fold(f64::INFINITY, f64::min);
            assert!(low >= w.body.ankle_height - 1e-9);
        }
    }
}

#[test]
fn observations_are_the_truth_plus_the_sensor_noise_only() {
    let seed = 7;
    let clean = WalkerConfig { humans: [2, 2], noise: NoiseConfig::none(), ..WalkerConfig::default() };
    let mut s = WalkerHumans::new(clean.clone(), seed).expect("valid config");
    for (_, frame) in poll_all(&mut s, 0.02) {
        let truth = s.truth(frame.stamp);
        assert_eq!(frame.humans.len(), 2);
        for (obs, tru) in frame.humans.iter().zip(&truth) {
            assert_eq!(obs.id, tru.tracker_id);
            for (o, t) in obs.keypoints.iter().zip(&tru.keypoints) {
                assert_eq!(o.position, *t);
                assert!((0.55..1.0).contains(&o.confidence));
            }
        }
    }
    // With the default noise the truth is unchanged and the observations scatter around it.
    let noisy = WalkerConfig { noise: NoiseConfig::default(), ..clean };
    let mut n = WalkerHumans::new(noisy, seed).expect("valid config");
    let (mut err, mut count, mut total) = (0.0, 0usize, 0usize);
    for (_, frame) in poll_all(&mut n, 0.02) {
        let truth = n.truth(frame.stamp);
        assert_eq!(truth, s.truth(frame.stamp));
        for obs in &frame.humans {
            let tru = truth.iter().find(|t| t.tracker_id == obs.id).expect("published humans are true humans");
            for (o, t) in obs.keypoints.iter().zip(&tru.keypoints) {
                total += 1;
                if o.confidence >= 0.55 {
                    err += (o.position - t).norm();
                    count += 1;
                }
            }
        }
    }
    let mean = err / count as f64;
    assert!(mean > 0.015 && mean < 0.3, "mean keypoint error {mean} m");
    assert!(count < total && count as f64 > 0.7 * total as f64, "{count} of {total} observed");
}

#[test]
fn poll_returns_each_frame_once_newest_first_with_increasing_stamps() {
    let mut s = WalkerHumans::new(WalkerConfig::default(), 3).expect("valid config");
    let polled = poll_all(&mut s, 0.02);
    assert!(polled.windows(2).all(|w| w[1].1.stamp > w[0].1.stamp));
    assert!(polled.iter().all(|(now, f)| f.stamp <= *now && f.frame_id == WORLD_FRAME));
    let n = polled.len() as f64;
    assert!(n > 0.95 * 25.0 * 30.0 && n <= 25.0 * 30.0 + 1.0, "{n} frames");
    assert!(s.poll(Stamp::from_secs_f64(100.0)).is_none(), "nothing after the end");
    // A late poll gets only the newest due frame, and the frames it skipped never come back.
    let mut s = WalkerHumans::new(WalkerConfig { noise: NoiseConfig::none(), ..WalkerConfig::default() }, 3)
        .expect("valid config");
    let first = s.poll(Stamp::from_secs_f64(1.0)).expect("due frame");
    assert_eq!(first.stamp, Stamp::from_secs_f64(1.0));
    assert!(s.poll(Stamp::from_secs_f64(1.0)).is_none());
    let next = s.poll(Stamp::from_secs_f64(1.04)).expect("due frame");
    assert_eq!(next.stamp, Stamp::from_secs_f64(31.0 / 30.0));
    assert!(s.poll(Stamp(0)).is_none());
}

#[test]
fn config_is_validated_and_refuses_unknown_keys() {
    assert!(WalkerConfig::default().validate().is_ok());
    assert_eq!(WalkerConfig::default().duration_s, 25.0);
    let bad = WalkerConfig { humans: [0, 2], ..WalkerConfig::default() };
    assert!(matches!(WalkerHumans::new(bad, 0), Err(ScenarioError::InvalidConfig { field: "humans", .. })));
    assert!(WalkerConfig { family_weights: [0.0; NUM_FAMILIES], ..WalkerConfig::default() }.validate().is_err());
    assert!(WalkerConfig { rate_hz: f64::NAN, ..WalkerConfig::default() }.validate().is_err());
    assert!(WalkerConfig { height_m: [1.9, 1.6], ..WalkerConfig::default() }.validate().is_err());
    let mut bad = WalkerConfig::default();
    bad.noise.dropout_prob = 1.5;
    assert!(matches!(bad.validate(), Err(ScenarioError::InvalidConfig { field: "noise.dropout_prob", .. })));
    assert!(serde_yaml::from_str::<WalkerConfig>("rate_hz: 15\nspeed: 1\n").is_err());
    let ok: WalkerConfig =
        serde_yaml::from_str("duration_s: 12\nfamily_weights: [0, 0, 1, 0, 0]\nnoise:\n  dropout_prob: 0.1\n")
            .expect("yaml");
    assert_eq!((ok.duration_s, ok.noise.dropout_prob), (12.0, 0.1));
    let s = WalkerHumans::new(ok, 1).expect("valid config");
    assert!((0..s.num_humans()).all(|i| s.family(i) == Some(WalkerFamily::Crossing)));
}
