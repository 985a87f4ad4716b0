//! Tests of the scenario generator (including bit-exact determinism checks).

use nalgebra::{Point3, Vector2};

use super::*;
use intent_shared_control_core::model::{Intent, NUM_INTENTS};
use intent_shared_control_core::skeleton::{keypoint as kp, SkeletonFrame, NUM_KEYPOINTS};

fn only(intent: Intent) -> ScenarioConfig {
    let mut w = [0.0; NUM_INTENTS];
    w[intent.index()] = 1.0;
    ScenarioConfig { intent_weights: w, humans: [1, 1], noise: NoiseConfig::none(), ..ScenarioConfig::default() }
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

fn torso(k: &[Point3<f64>; NUM_KEYPOINTS]) -> Point3<f64> {
    nalgebra::center(&k[kp::LEFT_HIP], &k[kp::RIGHT_HIP])
}

#[test]
fn same_seed_same_frames_other_seed_other_frames() {
    let config = ScenarioConfig {
        noise: NoiseConfig { id_switch_rate_hz: 0.2, id_swap_rate_hz: 0.2, ..NoiseConfig::default() },
        ..ScenarioConfig::default()
    };
    let a: Vec<_> = Scenario::new(config.clone(), 42).expect("config").collect();
    let b: Vec<_> = Scenario::new(config.clone(), 42).expect("config").collect();
    let c: Vec<_> = Scenario::new(config, 43).expect("config").collect();
    assert!(a.len() > 250);
    assert_eq!(a.len(), b.len());
    for ((fa, ga), (fb, gb)) in a.iter().zip(&b) {
        assert_eq!(bits(fa), bits(fb));
        assert_eq!(ga, gb);
    }
    let differs = a.iter().zip(&c).any(|((fa, _), (fc, _))| bits(fa) != bits(fc));
    assert!(differs || a.len() != c.len());
}

#[test]
fn config_is_validated_and_refuses_unknown_keys() {
    assert!(ScenarioConfig::default().validate().is_ok());
    let bad = ScenarioConfig { humans: [2, 1], ..ScenarioConfig::default() };
    assert!(matches!(Scenario::new(bad, 0), Err(ScenarioError::InvalidConfig { field: "humans", .. })));
    let bad = ScenarioConfig { intent_weights: [0.0; NUM_INTENTS], ..ScenarioConfig::default() };
    assert!(bad.validate().is_err());
    let bad = ScenarioConfig { rate_hz: f64::NAN, ..ScenarioConfig::default() };
    assert!(bad.validate().is_err());
    let mut bad = ScenarioConfig::default();
    bad.noise.dropout_prob = 1.5;
    assert!(bad.validate().is_err());
    assert!(serde_yaml::from_str::<ScenarioConfig>("rate_hz: 15\nnoise:\n  dropout: 0.1\n").is_err());
    let ok: ScenarioConfig = serde_yaml::from_str("rate_hz: 15\nnoise:\n  dropout_prob: 0.1\n").expect("yaml");
    assert_eq!((ok.rate_hz, ok.noise.dropout_prob), (15.0, 0.1));
}

#[test]
fn frames_at_the_configured_rate_with_increasing_stamps() {
    let config = ScenarioConfig { rate_hz: 15.0, duration_s: 4.0, ..ScenarioConfig::default() };
    let frames: Vec<_> = Scenario::new(config, 3).expect("config").map(|(f, _)| f.stamp).collect();
    assert!(frames.windows(2).all(|w| w[1] > w[0]));
    let mean_dt = frames.last().expect("frames").seconds_since(frames[0]) / (frames.len() - 1) as f64;
    assert!((mean_dt - 1.0 / 15.0).abs() < 0.01, "{mean_dt}");
}

#[test]
fn bone_lengths_are_constant_and_speeds_plausible() {
    for seed in 0..20 {
        let s = Scenario::new(ScenarioConfig { humans: [2, 2], ..ScenarioConfig::default() }, seed).expect("ok");
        for h in 0..s.num_humans() {
            let body = s.episode(h).expect("human").body;
            assert!((1.52..=1.95).contains(&body.height));
            let mut prev: Option<Point3<f64>> = None;
            let dt = 1.0 / 30.0;
            for i in 0..300 {
                let k = s.true_keypoints(h, s.stamp_at(i as f64 * dt)).expect("in range");
                let bone = |a: usize, b: usize| (k[a] - k[b]).norm();
                assert!((bone(kp::LEFT_HIP, kp::LEFT_KNEE) - body.thigh).abs() < 1e-9);
                assert!((bone(kp::RIGHT_KNEE, kp::RIGHT_ANKLE) - body.shank).abs() < 1e-9);
                assert!((bone(kp::LEFT_SHOULDER, kp::LEFT_ELBOW) - body.upper_arm).abs() < 1e-9);
                assert!((bone(kp::RIGHT_ELBOW, kp::RIGHT_WRIST) - body.forearm).abs() < 1e-9);
                assert!((bone(kp::LEFT_HIP, kp::RIGHT_HIP) - 2.0 * body.hip_half_width).abs() < 1e-9);
                // Feet stay near the ground, the head above the shoulders.
                let low = k[kp::LEFT_ANKLE].z.min(k[kp::RIGHT_ANKLE].z);
                assert!((low - body.ankle_height).abs() < 1e-9, "lowest ankle at {low}");
                assert!(k[kp::NOSE].z > k[kp::LEFT_SHOULDER].z);
                let t = torso(&k);
                if let Some(p) = prev {
                    let v = (t - p).norm() / dt;
                    assert!(v < 2.2, "seed {seed} human {h}: torso speed {v} m/s");
                }
                prev = Some(t);
            }
        }
    }
}

/// Torso positions over time of the single human of `intent` scenarios.
fn trajectory(intent: Intent, seed: u64) -> (Scenario, Vec<(f64, Point3<f64>)>) {
    let s = Scenario::new(only(intent), seed).expect("config");
    let traj = (0..=300)
        .map(|i| {
            let t = i as f64 / 30.0;
            (t, torso(&s.true_keypoints(0, s.stamp_at(t)).expect("in range")))
        })
        .collect();
    (s, traj)
}

fn radial(p: &Point3<f64>) -> f64 {
    p.x.hypot(p.y)
}

#[test]
fn approach_moves_toward_the_robot_and_stops() {
    for seed in 0..15 {
        let (s, traj) = trajectory(Intent::ApproachRobot, seed);
        let onset = s.episode(0).and_then(|e| e.onset_s).expect("onset");
        let at = |t: f64| traj[(t * 30.0).round() as usize].1;
        let before = at(onset);
        assert!((radial(&at(onset - 0.5)) - radial(&before)).abs() < 0.1, "stands before the onset");
        let later = at((onset + 2.0).min(10.0));
        assert!(radial(&before) - radial(&later) > 0.8, "seed {seed}: {} → {}", radial(&before), radial(&later));
        let min = traj.iter().map(|(_, p)| radial(p)).fold(f64::INFINITY, f64::min);
        assert!(min > 0.5, "never walks into the robot: {min}");
        let (label, label_onset) = s.label_at(0, s.stamp_at(onset + 0.5)).expect("label");
        assert_eq!(label, Intent::ApproachRobot);
        assert_eq!(label_onset, Some(s.stamp_at(onset)));
        assert_eq!(s.label_at(0, s.stamp_at(onset - 0.1)).expect("label").0, Intent::Idle);
    }
}

#[test]
fn people_leave_after_an_interaction_only_when_asked_and_nothing_else_changes() {
    for seed in 0..10 {
        for intent in [Intent::ReachHandover, Intent::ApproachRobot] {
            let stay = Scenario::new(ScenarioConfig { duration_s: 20.0, ..only(intent) }, seed).expect("config");
            let leave = Scenario::new(
                ScenarioConfig { duration_s: 20.0, leave_after_interaction_s: Some(1.0), ..only(intent) },
                seed,
            )
            .expect("config");
            let at = |s: &Scenario, t: f64| torso(&s.true_keypoints(0, s.stamp_at(t)).expect("in range"));
            // The same person until the interaction ends; then one stays, the other walks away (retreat).
            let left_at = (0..=600)
                .map(|i| i as f64 / 30.0)
                .find(|&t| leave.label_at(0, leave.stamp_at(t)).expect("label").0 == Intent::Retreat);
            let Some(t_leave) = left_at else { continue };
            assert_eq!(at(&stay, t_leave - 0.1), at(&leave, t_leave - 0.1), "seed {seed}");
            let t_end = (t_leave + 4.0).min(19.9);
            assert!(radial(&at(&leave, t_end)) - radial(&at(&leave, t_leave)) > 1.5, "seed {seed} {intent:?}");
            assert!((radial(&at(&stay, t_end)) - radial(&at(&stay, t_leave))).abs() < 0.5, "seed {seed}");
        }
    }
    let bad = ScenarioConfig { leave_after_interaction_s: Some(f64::NAN), ..ScenarioConfig::default() };
    assert!(bad.validate().is_err());
}

#[test]
fn retreat_moves_away_and_pass_by_keeps_its_distance() {
    for seed in 0..15 {
        let (s, traj) = trajectory(Intent::Retreat, seed);
        let onset = s.episode(0).and_then(|e| e.onset_s).expect("onset");
        let i0 = (onset * 30.0) as usize;
        let end = traj.len() - 1;
        if end > i0 + 75 {
            assert!(radial(&traj[i0 + 75].1) - radial(&traj[i0].1) > 1.0, "seed {seed}: walks away");
        }
        let (s, traj) = trajectory(Intent::PassBy, seed);
        let onset = s.episode(0).and_then(|e| e.onset_s).expect("onset");
        let i0 = (onset * 30.0) as usize;
        let min = traj.iter().map(|(_, p)| radial(p)).fold(f64::INFINITY, f64::min);
        assert!(min > 1.0, "seed {seed}: passes at {min} m");
        if end > i0 + 60 {
            let (a, b) = (traj[i0].1, traj[i0 + 60].1);
            let travelled = (b - a).norm();
            assert!(travelled > 1.0, "seed {seed}: walks {travelled} m in 2 s");
            // Mostly tangential while passing: the radial change is less than the distance travelled.
            assert!((radial(&b) - radial(&a)).abs() < travelled);
        }
    }
}

#[test]
fn handover_extends_a_wrist_toward_the_robot_at_chest_height() {
    for seed in 0..15 {
        let s = Scenario::new(only(Intent::ReachHandover), seed).expect("config");
        let e = s.episode(0).expect("human").clone();
        let wrist = if e.handover_side == Some(Side::Left) { kp::LEFT_WRIST } else { kp::RIGHT_WRIST };
        let mut best_reach = f64::NEG_INFINITY;
        let mut labelled = 0;
        for i in 0..=300 {
            let stamp = s.stamp_at(i as f64 / 30.0);
            let k = s.true_keypoints(0, stamp).expect("in range");
            let t = torso(&k);
            // How far the wrist is in front of the torso, toward the robot, while at least at hip height.
            let toward = -Vector2::new(t.x, t.y).normalize();
            let reach = Vector2::new(k[wrist].x - t.x, k[wrist].y - t.y).dot(&toward);
            if k[wrist].z > t.z + 0.1 {
                best_reach = best_reach.max(reach);
            }
            if s.label_at(0, stamp).expect("label").0 == Intent::ReachHandover {
                labelled += 1;
            }
        }
        assert!(best_reach > 0.35, "seed {seed}: wrist reaches {best_reach} m toward the robot");
        assert!(labelled > 20, "seed {seed}: labelled for {labelled} frames");
    }
}

#[test]
fn idle_stays_roughly_in_place() {
    for seed in 0..15 {
        let (s, traj) = trajectory(Intent::Idle, seed);
        assert!(s.episode(0).expect("human").onset_s.is_none());
        let start = traj[0].1;
        let max = traj.iter().map(|(_, p)| (p - start).norm()).fold(0.0, f64::max);
        assert!(max < 2.0, "seed {seed}: idle drifts {max} m");
        assert!(traj.iter().all(|(t, _)| s.label_at(0, s.stamp_at(*t)).expect("l").0 == Intent::Idle));
    }
}

#[test]
fn noise_dropouts_occlusions_and_id_switches_follow_the_config() {
    let mut config = only(Intent::PassBy);
    config.noise = NoiseConfig {
        dropout_prob: 0.2,
        occlusion_rate_hz: 0.0,
        id_switch_rate_hz: 0.5,
        frame_drop_prob: 0.0,
        face_self_occlusion: false,
        ..NoiseConfig::default()
    };
    let mut missing = 0usize;
    let mut total = 0usize;
    let mut ids = std::collections::BTreeSet::new();
    let mut err = 0.0;
    for (frame, truth) in Scenario::new(config, 9).expect("config") {
        assert_eq!(frame.humans.len(), 1);
        ids.insert(frame.humans[0].id);
        assert_eq!(frame.humans[0].id, truth.humans[0].tracker_id);
        for (k, obs) in frame.humans[0].keypoints.iter().enumerate() {
            total += 1;
            if obs.confidence < 0.3 {
                missing += 1;
            } else {
                err += (obs.position - truth.humans[0].keypoints[k]).norm();
            }
        }
    }
    let rate = missing as f64 / total as f64;
    assert!((rate - 0.2).abs() < 0.03, "dropout rate {rate}");
    assert!(ids.len() >= 2, "id switches happen: {ids:?}");
    let mean_err = err / (total - missing) as f64;
    assert!(mean_err > 0.01 && mean_err < 0.15, "mean keypoint error {mean_err}");

    let mut config = only(Intent::Idle);
    config.noise = NoiseConfig { occlusion_rate_hz: 2.0, full_occlusion_fraction: 1.0, ..NoiseConfig::none() };
    let frames: Vec<_> = Scenario::new(config, 5).expect("config").collect();
    let absent = frames.iter().filter(|(f, _)| f.humans.is_empty()).count();
    assert!(absent > 10, "full occlusions remove the human ({absent} frames)");
    assert!(frames.iter().all(|(_, g)| g.humans.len() == 1));
    assert!(frames.iter().any(|(_, g)| !g.humans[0].published));
}

#[test]
fn noise_free_frames_equal_the_truth() {
    let s = Scenario::new(only(Intent::ApproachRobot), 1).expect("config");
    for (frame, truth) in s {
        for (obs, tru) in frame.humans[0].keypoints.iter().zip(&truth.humans[0].keypoints) {
            assert_eq!(obs.position, *tru);
            assert!(obs.confidence >= 0.55);
        }
    }
}
