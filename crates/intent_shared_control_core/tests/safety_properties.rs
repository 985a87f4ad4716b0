//! Property tests of the whole decision path (teleop → assist → blend → safety chain) over random input
//! sequences.
//!
//! Case count: `PROPTEST_CASES` (default 256). Long profile (see `docs/safety_chain.md`):
//! `PROPTEST_CASES=100000 cargo test --release -p intent_shared_control_core --test safety_properties`.
// Per-axis loops index several arrays at once, as the limit formulas do.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use intent_shared_control_core::prediction::HumanPrediction;
use intent_shared_control_core::skeleton::{HumanSkeleton, Keypoint};
use intent_shared_control_core::{
    Controller, ControllerConfig, HumanId, JoyInput, Reason, SkeletonFrame, Stamp, Twist,
};
use nalgebra::Point3;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

/// Where a NaN/Inf is injected in a cycle.
#[derive(Clone, Copy, Debug)]
enum Poison {
    None,
    JoyAxis(f32),
    Keypoint(f64),
    Prediction(f64),
}

#[derive(Clone, Debug)]
struct Cycle {
    /// Time since the previous cycle [ms] (0 repeats the stamp).
    dt_ms: i64,
    axes: [f32; 4],
    deadman: bool,
    turbo: bool,
    poison: Poison,
    /// Skeleton age at this cycle [ms].
    skeleton_age_ms: i64,
    /// Optional prediction: (human index, probabilities, velocity x, y).
    prediction: Option<(usize, [f32; 5], f64, f64)>,
}

fn poison() -> impl Strategy<Value = Poison> {
    prop_oneof![
        12 => Just(Poison::None),
        1 => prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY)].prop_map(Poison::JoyAxis),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY)].prop_map(Poison::Keypoint),
        1 => prop_oneof![Just(f64::NAN), Just(f64::NEG_INFINITY)].prop_map(Poison::Prediction),
    ]
}

fn cycle(with_predictions: bool, with_poison: bool) -> impl Strategy<Value = Cycle> {
    let pred = if with_predictions {
        proptest::option::of((0usize..3, proptest::array::uniform5(0.0f32..1.0), -2.0f64..2.0, -2.0f64..2.0)).boxed()
    } else {
        Just(None).boxed()
    };
    let p = if with_poison { poison().boxed() } else { Just(Poison::None).boxed() };
    (
        prop_oneof![20 => 1i64..60, 1 => Just(0i64), 1 => 100i64..400],
        proptest::array::uniform4(-1.5f32..1.5),
        proptest::bool::weighted(0.85),
        proptest::bool::weighted(0.3),
        p,
        prop_oneof![10 => 0i64..100, 1 => 250i64..600],
        pred,
    )
        .prop_map(|(dt_ms, axes, deadman, turbo, poison, skeleton_age_ms, prediction)| {
            let prediction = prediction.map(|(h, mut probs, vx, vy)| {
                let sum: f32 = probs.iter().sum::<f32>().max(1e-3);
                probs.iter_mut().for_each(|p| *p /= sum);
                (h, probs, vx, vy)
            });
            Cycle { dt_ms, axes, deadman, turbo, poison, skeleton_age_ms, prediction }
        })
}

fn humans() -> impl Strategy<Value = Vec<(f64, f64)>> {
    proptest::collection::vec((-4.0f64..4.0, -4.0f64..4.0), 0..3)
}

fn frame(stamp: Stamp, humans: &[(f64, f64)], poison: Option<f64>) -> SkeletonFrame {
    SkeletonFrame {
        stamp,
        frame_id: "base_link".into(),
        humans: humans
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                let mut keypoints = [Keypoint::MISSING; 17];
                for (k, kp) in keypoints.iter_mut().enumerate() {
                    let a = k as f64 * 0.37;
                    *kp = Keypoint {
                        position: Point3::new(x + 0.2 * a.cos(), y + 0.2 * a.sin(), 0.1 * k as f64),
                        confidence: 0.9,
                    };
                }
                if let (Some(v), 0) = (poison, i) {
                    keypoints[5].position.y = v;
                }
                HumanSkeleton { id: i as HumanId + 1, keypoints }
            })
            .collect(),
    }
}

struct Run {
    decisions: Vec<(Stamp, intent_shared_control_core::Decision, bool)>,
}

fn simulate(cycles: &[Cycle], humans: &[(f64, f64)]) -> Run {
    simulate_with(ControllerConfig::default(), cycles, humans)
}

fn simulate_with(config: ControllerConfig, cycles: &[Cycle], humans: &[(f64, f64)]) -> Run {
    let mut c = Controller::new(config);
    let mut now = Stamp::from_secs_f64(100.0);
    // The operator armed the controller before the first cycle (deadman seen released); later faults latch it
    // again and a released deadman in the random cycles re-arms it, as on the robot.
    c.on_joy(JoyInput { stamp: Stamp(now.0 - 20_000_000), axes: vec![0.0; 6], buttons: vec![0; 8] }, now);
    let mut decisions = Vec::with_capacity(cycles.len());
    for cy in cycles {
        now = Stamp(now.0 + cy.dt_ms * 1_000_000);
        let mut axes: Vec<f32> = cy.axes.to_vec();
        axes.extend([0.0; 4]);
        let mut poisoned = false;
        if let Poison::JoyAxis(v) = cy.poison {
            axes[1] = v;
            poisoned = true;
        }
        let mut buttons = vec![0; 8];
        buttons[4] = i32::from(cy.deadman);
        buttons[5] = i32::from(cy.turbo);
        c.on_joy(JoyInput { stamp: now, axes, buttons }, now);
        let kp_poison = match cy.poison {
            Poison::Keypoint(v) => Some(v),
            _ => None,
        };
        // An out-of-order frame is dropped by the controller, so its poison never reaches the chain.
        let accepted = c.on_skeletons(frame(Stamp(now.0 - cy.skeleton_age_ms * 1_000_000), humans, kp_poison), now);
        poisoned |= accepted && kp_poison.is_some() && !humans.is_empty();
        if let Some((h, probabilities, vx, vy)) = cy.prediction {
            if let Some(&(x, y)) = humans.get(h) {
                let mut future: Vec<[Point3<f64>; 3]> =
                    (1..=10).map(|k| [Point3::new(x + vx * 0.1 * k as f64, y + vy * 0.1 * k as f64, 1.0); 3]).collect();
                if let Poison::Prediction(v) = cy.poison {
                    future[4][1].x = v;
                    poisoned = true;
                }
                let confidence = probabilities.iter().copied().fold(0.0, f32::max);
                let p = HumanPrediction {
                    human_id: h as HumanId + 1,
                    stamp: now,
                    probabilities,
                    confidence,
                    horizon_step: 0.1,
                    future,
                };
                c.on_predictions(now, vec![p]);
            }
        }
        let d = c.step(now);
        decisions.push((now, d, poisoned));
    }
    Run { decisions }
}

fn normal(d: &intent_shared_control_core::Decision) -> bool {
    !d.reasons.iter().any(|r| matches!(r, Reason::ForcedStop | Reason::LimiterDtInvalid))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Output is finite and within velocity and acceleration limits at every cycle; jerk is within its limit
    /// whenever the limiter did not have to relax it for a safety reduction; NaN/Inf anywhere or a released
    /// deadman gives an explicit zero.
    #[test]
    fn limits_nan_and_deadman(cycles in proptest::collection::vec(cycle(true, true), 1..60), hs in humans()) {
        let cfg = ControllerConfig::default();
        let l = &cfg.safety.limits;
        let run = simulate(&cycles, &hs);
        let mut prev: Option<(Stamp, [f64; 6], Option<[f64; 6]>, bool)> = None;
        for (i, (now, d, poisoned)) in run.decisions.iter().enumerate() {
            let v = d.output.to_array();
            prop_assert!(d.output.is_finite());
            for k in 0..6 {
                prop_assert!(v[k].abs() <= l.max_velocity[k] + 1e-9, "velocity axis {k}: {}", v[k]);
            }
            if *poisoned {
                prop_assert_eq!(d.output, Twist::ZERO, "poisoned cycle {} not zero: {:?}", i, d.reasons);
            }
            if !cycles[i].deadman {
                prop_assert_eq!(d.output, Twist::ZERO);
            }
            let mut accel = None;
            if let Some((t0, v0, a0, was_normal)) = prev {
                let dt = now.seconds_since(t0).min(l.max_dt);
                if normal(d) && dt > 0.0 {
                    let a: [f64; 6] = std::array::from_fn(|k| (v[k] - v0[k]) / dt);
                    for k in 0..6 {
                        let bound = l.max_acceleration[k].max(l.max_deceleration[k]);
                        prop_assert!(a[k].abs() <= bound + 1e-6, "accel axis {k}: {} > {bound}", a[k]);
                    }
                    if let (Some(a0), true, false) = (a0, was_normal, d.reasons.contains(&Reason::JerkRelaxed)) {
                        for k in 0..6 {
                            prop_assert!((a[k] - a0[k]).abs() <= l.max_jerk[k] * dt + 1e-6, "jerk axis {k}");
                        }
                    }
                    accel = Some(a);
                }
            }
            prev = Some((*now, v, accel, normal(d)));
        }
    }

    /// With the standard's constant human speeds (the reachable set off), inside the protective separation
    /// distance the speed toward a human never increases beyond the approach tolerance (no predictions).
    #[test]
    fn never_speeds_up_toward_a_human_inside_sp(cycles in proptest::collection::vec(cycle(false, false), 1..60), hs in humans()) {
        let mut cfg = ControllerConfig::default();
        cfg.safety.separation.reach.enabled = false;
        let ctl = Controller::new(cfg.clone());
        let shape = cfg.safety.separation.body();
        let tolerance = cfg.safety.separation.approach_tolerance;
        let sep = intent_shared_control_core::safety::SeparationMonitor::new(cfg.safety.separation.clone());
        let run = simulate_with(cfg.clone(), &cycles, &hs);
        let pts: Vec<_> =
            frame(Stamp(0), &hs, None).humans.iter().flat_map(|h| h.keypoints.iter().map(|k| k.position)).collect();
        let mut prev = Twist::ZERO;
        for (_, d, _) in &run.decisions {
            for p in &pts {
                let before = shape.relation(&prev, p);
                let after = shape.relation(&d.output, p);
                let v_h = sep.conservative_human_speed(before.distance);
                if before.distance < ctl.required_separation(before.approach_speed, v_h) {
                    prop_assert!(
                        after.approach_speed <= before.approach_speed.max(0.0) + 1e-9 || !after.approaches(&tolerance),
                        "approach rose from {} to {} at d = {}", before.approach_speed, after.approach_speed, before.distance
                    );
                }
            }
            prev = d.output;
        }
    }
}
