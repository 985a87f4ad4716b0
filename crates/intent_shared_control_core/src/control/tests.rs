use super::*;
use crate::prediction::Intent;
use crate::skeleton::{HumanSkeleton, Keypoint};
use nalgebra::Point3;

/// Inputs as arriving at their own stamps.
trait Feed {
    fn joy_now(&mut self, j: JoyInput) -> bool;
    fn skel_now(&mut self, f: SkeletonFrame) -> bool;
}

impl Feed for Controller {
    fn joy_now(&mut self, j: JoyInput) -> bool {
        let arrival = j.stamp;
        self.on_joy(j, arrival)
    }
    fn skel_now(&mut self, f: SkeletonFrame) -> bool {
        let arrival = f.stamp;
        self.on_skeletons(f, arrival)
    }
}

/// A controller the operator has armed (deadman seen released before the first cycle at t = 0).
fn armed(config: ControllerConfig) -> Controller {
    let mut c = Controller::try_new(config).expect("valid config");
    assert!(c.awaiting_rearm());
    release(&mut c, -0.1, -0.04);
    c
}

/// The deadman released in Joys every 20 ms from `from` to `to` (a release that re-arms spans at least
/// `teleop.deadman_confirm`).
fn release(c: &mut Controller, from: f64, to: f64) {
    let mut t = from;
    while t <= to + 1e-9 {
        c.joy_now(joy(t, 0.0, false));
        t += 0.02;
    }
}

#[test]
fn one_message_neither_re_arms_nor_moves_the_robot() {
    // The operator holds the deadman through start-up (latched) and pushes forward. One released Joy from
    // someone else between the operator's held ones is no release: the next held Joy does not re-arm.
    let mut c = Controller::new(ControllerConfig::default());
    run(&mut c, 0.0, 0.5, 1.0, &[]);
    c.joy_now(joy(0.51, 0.0, false));
    let d = run(&mut c, 0.52, 1.5, 1.0, &[]);
    assert!(d.awaiting_rearm && d.output == Twist::ZERO, "{d:?}");
    // Armed and driving, then released: the operator's pad reads released at 50 Hz. One pressed Joy (forward)
    // from someone else is no press: nothing moves before the operator's next released Joy.
    let mut c = armed(ControllerConfig::default());
    run(&mut c, 0.0, 1.0, 1.0, &[]);
    let mut t = 1.02;
    while t < 2.0 {
        c.joy_now(joy(t, 0.0, false));
        c.skel_now(frame(t, &[]));
        c.step(Stamp::from_secs_f64(t));
        t += 0.02;
    }
    c.joy_now(joy(2.005, 1.0, true));
    c.skel_now(frame(2.01, &[]));
    let d = c.step(Stamp::from_secs_f64(2.01));
    assert_eq!(d.output, Twist::ZERO, "{d:?}");
    // The operator pressing (a steady stream of pressed Joys) drives again after deadman_confirm.
    let d = run(&mut c, 2.02, 2.5, 1.0, &[]);
    assert!(d.output.linear.x > 0.3, "{d:?}");
}

#[test]
fn captures_that_disagree_about_who_is_there_fault_until_the_operator_re_arms() {
    // A capture 50 ms older than the kept one, showing person 1, arriving at `t`.
    let late_with =
        |c: &mut Controller, t: f64| c.on_skeletons(frame(t - 0.05, &[(1, 3.0, 0.0)]), Stamp::from_secs_f64(t));
    let released = |c: &mut Controller, from: f64, to: f64| {
        let mut t = from;
        let mut last = None;
        while t <= to + 1e-9 {
            c.joy_now(joy(t, 0.0, false));
            c.skel_now(frame(t, &[]));
            last = Some(c.step(Stamp::from_secs_f64(t)));
            t += 0.02;
        }
        last.expect("a cycle")
    };
    let disagree = |d: &Decision| d.reasons.contains(&Reason::SkeletonsDisagree);
    // Driving with nobody in view; a late capture that lacks people, or one with the kept one's stamp, is no
    // disagreement.
    let mut c = armed(ControllerConfig::default());
    run(&mut c, 0.0, 1.0, 1.0, &[]);
    assert!(!c.on_skeletons(frame(0.95, &[]), Stamp::from_secs_f64(1.0)));
    assert!(c.on_skeletons(frame(1.0, &[(2, 3.0, 0.0)]), Stamp::from_secs_f64(1.0)));
    let d = run(&mut c, 1.02, 1.2, 1.0, &[]);
    assert!(d.output.linear.x > 0.3 && !disagree(&d), "{d:?}");
    // A late capture showing someone the kept one lacks: a fault for `skeleton_timeout` (0.3 s), then a
    // re-arm.
    assert!(!late_with(&mut c, 1.21));
    let d = run(&mut c, 1.22, 1.5, 1.0, &[]);
    assert!(d.mode == Mode::Fault && disagree(&d) && d.output == Twist::ZERO, "{d:?}");
    let d = run(&mut c, 1.52, 1.52, 1.0, &[]);
    assert!(!disagree(&d) && d.awaiting_rearm && d.output == Twist::ZERO, "{d:?}");
    // A release while the captures disagree does not re-arm (with the deadman released the robot is idle, the
    // reason shown); a release after does.
    assert!(!late_with(&mut c, 1.54));
    let d = released(&mut c, 1.54, 1.7);
    assert!(d.mode == Mode::Idle && disagree(&d), "{d:?}");
    let d = run(&mut c, 1.72, 2.2, 1.0, &[]);
    assert!(d.awaiting_rearm && d.output == Twist::ZERO, "{d:?}");
    released(&mut c, 2.22, 2.3);
    assert!(run(&mut c, 2.32, 3.0, 1.0, &[]).output.linear.x > 0.3);
    // Each such capture faults at least the next decision, however late it comes.
    assert!(!late_with(&mut c, 3.01));
    c.skel_now(frame(3.5, &[]));
    assert!(disagree(&c.step(Stamp::from_secs_f64(3.5))));
    assert!(!disagree(&run(&mut c, 3.52, 3.52, 1.0, &[])));
    // A parameter change keeps the fault.
    assert!(!late_with(&mut c, 3.53));
    c.set_config(ControllerConfig::default()).expect("valid");
    assert!(disagree(&run(&mut c, 3.54, 3.54, 1.0, &[])));
}

#[test]
fn a_late_capture_showing_someone_elsewhere_is_a_disagreement_too() {
    // The kept capture has person 1 at 5 m (a second writer, stamped 50 ms ahead, moving them away); the
    // tracker's own capture, arriving late, has them 0.8 m ahead: they cannot both be right. Where they are
    // within keypoint noise and their motion over the stamps' difference, they agree.
    let disagree = |late_x: f64| {
        let mut c = armed(ControllerConfig::default());
        run(&mut c, 0.0, 0.5, 0.0, &[(1, 0.8, 0.0)]);
        assert!(c.on_skeletons(frame(0.57, &[(1, 5.0, 0.0)]), Stamp::from_secs_f64(0.52)));
        assert!(!c.on_skeletons(frame(0.52, &[(1, late_x, 0.0)]), Stamp::from_secs_f64(0.52)));
        c.step(Stamp::from_secs_f64(0.54)).reasons.contains(&Reason::SkeletonsDisagree)
    };
    assert!(disagree(0.8));
    // 0.3 m + 4 m/s × 0.05 s = 0.5 m.
    assert!(!disagree(4.55));
    assert!(disagree(4.45));
}

#[test]
fn a_fault_with_nothing_asked_is_idle_and_still_latches() {
    let mut c = armed(ControllerConfig::default());
    c.joy_now(joy(0.0, 0.0, false));
    let d = c.step(Stamp(0));
    assert_eq!((d.mode, d.output), (Mode::Idle, Twist::ZERO));
    assert!(d.reasons.contains(&Reason::SkeletonsMissing), "{d:?}");
    assert!(d.awaiting_rearm, "a safety-chain fault latches even while idle: {d:?}");
    let mut c = Controller::new(ControllerConfig::default());
    let d = c.step(Stamp(0));
    assert_eq!(d.mode, Mode::Idle, "no joystick and no skeletons: idle, {d:?}");
}

#[test]
fn a_new_controller_waits_for_the_deadman_released_then_pressed() {
    let mut c = Controller::new(ControllerConfig::default());
    let d = run(&mut c, 0.0, 0.5, 1.0, &[]);
    assert_eq!((d.mode, d.output), (Mode::Idle, Twist::ZERO));
    assert!(d.awaiting_rearm && d.reasons.contains(&Reason::AwaitingRearm));
    release(&mut c, 0.52, 0.56);
    let d = run(&mut c, 0.58, 1.5, 1.0, &[]);
    assert!(!d.awaiting_rearm && d.output.linear.x > 0.4, "{d:?}");
    // A stale joystick (a fault) latches again.
    c.skel_now(frame(2.2, &[]));
    let d = c.step(Stamp::from_secs_f64(2.2));
    assert_eq!(d.mode, Mode::Fault);
    let d = run(&mut c, 2.22, 3.0, 1.0, &[]);
    assert!(d.awaiting_rearm && d.output == Twist::ZERO, "{d:?}");
    // A parameter change is no restart.
    release(&mut c, 3.02, 3.06);
    run(&mut c, 3.08, 3.5, 1.0, &[]);
    c.set_config(ControllerConfig::default()).expect("valid");
    assert!(!c.awaiting_rearm());
}

fn joy(t: f64, forward: f32, deadman: bool) -> JoyInput {
    let mut buttons = vec![0; 8];
    buttons[4] = i32::from(deadman);
    JoyInput { stamp: Stamp::from_secs_f64(t), axes: vec![0.0, forward], buttons }
}

fn frame(t: f64, humans: &[(HumanId, f64, f64)]) -> SkeletonFrame {
    SkeletonFrame {
        stamp: Stamp::from_secs_f64(t),
        frame_id: "base_link".into(),
        humans: humans
            .iter()
            .map(|&(id, x, y)| {
                let mut keypoints = [Keypoint::MISSING; 17];
                keypoints[11] = Keypoint { position: Point3::new(x, y, 0.45), confidence: 0.9 };
                keypoints[12] = Keypoint { position: Point3::new(x, y + 0.2, 0.45), confidence: 0.9 };
                HumanSkeleton { id, keypoints }
            })
            .collect(),
    }
}

fn run(c: &mut Controller, from: f64, to: f64, forward: f32, humans: &[(HumanId, f64, f64)]) -> Decision {
    let mut t = from;
    let mut last = None;
    while t <= to + 1e-9 {
        c.joy_now(joy(t, forward, true));
        c.skel_now(frame(t, humans));
        last = Some(c.step(Stamp::from_secs_f64(t)));
        t += 0.02;
    }
    last.unwrap_or_else(|| c.step(Stamp::from_secs_f64(to)))
}

#[test]
fn manual_drive_in_free_space_reaches_the_command() {
    let mut c = armed(ControllerConfig::default());
    let d = run(&mut c, 0.0, 2.0, 1.0, &[]);
    assert_eq!(d.mode, Mode::Manual);
    assert!((d.output.linear.x - 0.5).abs() < 1e-9, "{:?}", d.output);
    assert_eq!(d.alpha, 0.0);
}

#[test]
fn deadman_released_and_no_skeletons_are_explicit_zero() {
    let mut c = armed(ControllerConfig::default());
    run(&mut c, 0.0, 1.0, 1.0, &[]);
    c.joy_now(joy(1.02, 1.0, false));
    c.skel_now(frame(1.02, &[]));
    let d = c.step(Stamp::from_secs_f64(1.02));
    assert_eq!((d.mode, d.output), (Mode::Idle, Twist::ZERO));
    assert!(d.reasons.contains(&Reason::DeadmanReleased));
    let mut c = armed(ControllerConfig::default());
    for t in [0.0, 0.02, 0.04] {
        c.joy_now(joy(t, 1.0, true));
    }
    let d = c.step(Stamp::from_secs_f64(0.04));
    assert_eq!((d.mode, d.output), (Mode::Fault, Twist::ZERO));
    assert!(d.reasons.contains(&Reason::SkeletonsMissing));
}

#[test]
fn human_ahead_slows_then_stops_and_reports_separation() {
    let mut c = armed(ControllerConfig::default());
    let d = run(&mut c, 0.0, 2.0, 1.0, &[(1, 1.3, 0.0)]);
    assert_eq!(d.mode, Mode::Slowdown);
    let (id, dist) = d.nearest_human.expect("human in view");
    assert_eq!(id, 1);
    assert!((dist - 1.0).abs() < 1e-9);
    assert!(d.output.linear.x < 0.5 && d.output.linear.x > 0.3, "{:?}", d.output);
    assert!(d.required_separation <= dist + 1e-9 && d.required_separation > 0.0);
    assert!(d.reasons.contains(&Reason::SsmSlowdown));
    let d = run(&mut c, 2.02, 3.0, 1.0, &[(1, 0.6, 0.0)]);
    assert_eq!(d.mode, Mode::Stop);
    assert_eq!(d.output, Twist::ZERO);
    // Backing away is allowed.
    let d = run(&mut c, 3.02, 4.0, -1.0, &[(1, 0.6, 0.0)]);
    assert!(d.output.linear.x < -0.1, "{:?}", d);
}

#[test]
fn confident_approach_prediction_blends_in_back_off() {
    let mut c = armed(ControllerConfig::default());
    run(&mut c, 0.0, 0.5, 0.0, &[(1, 1.5, 0.0)]);
    let mut probabilities = [0.025; 5];
    probabilities[Intent::ApproachRobot.index()] = 0.9;
    let future = (1..=10).map(|k| [Point3::new(1.5 - 0.05 * k as f64, 0.1, 0.9); 3]).collect();
    let p = HumanPrediction {
        human_id: 1,
        stamp: Stamp::from_secs_f64(0.5),
        probabilities,
        confidence: 0.9,
        horizon_step: 0.1,
        future,
    };
    assert!(c.on_predictions(Stamp::from_secs_f64(0.5), vec![p]));
    c.joy_now(joy(0.52, 0.0, true));
    c.skel_now(frame(0.52, &[(1, 1.5, 0.0)]));
    let d = c.step(Stamp::from_secs_f64(0.52));
    assert_eq!(d.mode, Mode::Assisted);
    assert!((d.alpha - 0.9).abs() < 1e-6, "{}", d.alpha);
    assert_eq!(d.assist_policy, AssistPolicy::BackOff);
    assert!(d.blended.linear.x < 0.0 && d.output.linear.x < 0.0);
    assert_eq!(d.predictions_used, 1);
    // Stale prediction: α = 0.
    c.joy_now(joy(1.0, 0.0, true));
    c.skel_now(frame(1.0, &[(1, 1.5, 0.0)]));
    let d = c.step(Stamp::from_secs_f64(1.0));
    assert_eq!(d.alpha, 0.0);
    assert!(d.reasons.contains(&Reason::PredictionStale));
}

#[test]
fn an_operator_driving_past_someone_standing_beside_keeps_driving_while_the_way_out_turns_away() {
    // Someone stands still beside the robot, left, torso 1.3 m from its centre (hips 0.9 m from its surface:
    // the slowdown zone); the model says `idle` at 0.9, so the way out turns the robot away (right) at α 0.9.
    let mut c = armed(ControllerConfig::default());
    let person = [(1, 0.05, 1.2)];
    let idle = |t: f64| {
        let mut probabilities = [0.025; 5];
        probabilities[Intent::Idle.index()] = 0.9;
        HumanPrediction {
            human_id: 1,
            stamp: Stamp::from_secs_f64(t),
            probabilities,
            confidence: 0.9,
            horizon_step: 0.1,
            future: vec![[Point3::new(0.05, 1.3, 0.9), Point3::new(0.05, 1.1, 0.9), Point3::new(0.05, 1.5, 0.9)]; 10],
        }
    };
    let mut d = None;
    for k in 0..100 {
        let t = k as f64 * 0.02;
        c.joy_now(joy(t, 1.0, true));
        c.skel_now(frame(t, &person));
        assert!(c.on_predictions(Stamp::from_secs_f64(t), vec![idle(t)]));
        d = Some(c.step(Stamp::from_secs_f64(t)));
    }
    let d = d.expect("decisions");
    assert_eq!(d.assist_policy, AssistPolicy::WayOut);
    assert!((d.alpha - 0.9).abs() < 1e-6, "{}", d.alpha);
    assert!(d.blended.angular.z < -0.5, "turns away from them: {:?}", d.blended);
    // The operator's 0.5 m/s is kept by the blend and limited by the slowdown zone alone (before: the way out's
    // zero translation blended in left 0.05 m/s).
    assert_eq!(d.blended.linear.x, 0.5);
    assert!((d.output.linear.x - 0.3).abs() < 1e-6, "{:?} {:?}", d.output, d.reasons);
}

#[test]
fn nan_command_path_is_zero() {
    let mut c = armed(ControllerConfig::default());
    run(&mut c, 0.0, 1.0, 1.0, &[]);
    c.joy_now(JoyInput { stamp: Stamp::from_secs_f64(1.02), axes: vec![0.0, f32::NAN], buttons: vec![0, 0, 0, 0, 1] });
    c.skel_now(frame(1.02, &[]));
    let d = c.step(Stamp::from_secs_f64(1.02));
    assert_eq!((d.mode, d.output), (Mode::Fault, Twist::ZERO));
}

#[test]
fn config_validation_names_the_field() {
    assert!(ControllerConfig::default().validate().is_ok());
    let mut c = ControllerConfig::default();
    c.arbitration.alpha_max = 1.5;
    match c.validate() {
        Err(ConfigError::OutOfRange { field, allowed, .. }) => {
            assert_eq!(field, "arbitration.alpha_max");
            assert_eq!(allowed, "[0, 1]");
        }
        other => panic!("{other:?}"),
    }
    let mut c = ControllerConfig::default();
    c.safety.separation.human_speed_far = 1.0;
    assert!(
        matches!(c.validate(), Err(ConfigError::OutOfRange { field, .. }) if field == "safety.separation.human_speed_far")
    );
    let mut c = ControllerConfig::default();
    c.safety.limits.max_deceleration[0] = 1.0;
    assert!(c.validate().is_err());
    let mut c = ControllerConfig::default();
    c.teleop.timeout = -1.0;
    assert!(matches!(c.validate(), Err(ConfigError::OutOfRange { field, .. }) if field == "teleop.timeout"));
    let mut c = ControllerConfig::default();
    c.safety.separation.robot = crate::safety::RobotShape::Polygon { points: vec![[0.0, 0.0]] };
    assert!(matches!(c.validate(), Err(ConfigError::Invalid { .. })));
}

/// The declared fields are exactly the leaves of the configuration (the robot shape aside, which is not a
/// table of numbers), and every relation names two declared numbers.
#[test]
fn the_catalog_declares_every_field() {
    fn leaves(prefix: &str, v: &serde_yaml::Value, out: &mut Vec<String>) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, child) in m {
                    let k = k.as_str().expect("string keys");
                    let name = if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
                    leaves(&name, child, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let full = ControllerConfig {
        teleop: crate::teleop::TeleopConfig::preset(
            crate::teleop::GamepadPreset::Xbox,
            crate::teleop::TwistProfile::Full6Dof,
        ),
        ..ControllerConfig::default()
    };
    let mut expected = Vec::new();
    leaves("", &serde_yaml::to_value(&full).expect("serializes"), &mut expected);
    expected.retain(|k| !k.starts_with("safety.separation.robot."));
    expected.sort();
    let catalog = ControllerConfig::catalog();
    let mut declared: Vec<String> = catalog.fields.iter().map(|f| f.name.clone()).collect();
    declared.sort();
    assert_eq!(declared, expected);
    for r in &catalog.relations {
        for name in [&r.field, &r.other] {
            assert!(catalog.field(name).is_some_and(|f| f.range.is_some()), "{name}");
        }
    }
    assert_eq!(catalog.relations.len(), 5);
}

#[test]
fn every_safety_margin_says_how_a_running_system_may_change_it() {
    use crate::config::RunTime;
    let catalog = ControllerConfig::catalog();
    let rule = |name: &str| catalog.field(name).map(|f| f.run_time).unwrap_or_else(|| panic!("{name} declared"));
    // Every field of the safety chain, and the joystick's timing, is only tightened (or fixed) at run time.
    for f in &catalog.fields {
        let teleop_timing = ["teleop.timeout", "teleop.max_future", "teleop.deadman_confirm"];
        let safety = f.name.starts_with("safety.") || teleop_timing.contains(&f.name.as_str());
        assert_eq!(safety, f.run_time != RunTime::Any, "{}: {:?}", f.name, f.run_time);
    }
    // The direction that tightens, for the parameters a changed value once switched a function off with.
    for (name, r) in [
        ("teleop.timeout", RunTime::Lower),
        ("teleop.max_future", RunTime::Lower),
        ("safety.watchdog.skeleton_timeout", RunTime::Lower),
        // Both ways loosen: higher hides people, lower takes guessed keypoints as seen (a person "whole").
        ("safety.validation.min_keypoint_confidence", RunTime::Fixed),
        // A zero turns a case off; any positive value then bounds a hidden hand by a disc, the person "whole".
        ("safety.validation.hidden_hand_reach", RunTime::Fixed),
        // A reversal counts as braking: a higher deceleration limit lets the robot speed up the other way faster.
        ("safety.limits.max_deceleration", RunTime::Fixed),
        ("safety.validation.max_future", RunTime::Lower),
        ("safety.separation.human_uncertainty", RunTime::Raise),
        ("safety.separation.reaction_time", RunTime::Raise),
        ("safety.separation.braking_deceleration", RunTime::Lower),
        ("safety.separation.reach.enabled", RunTime::Fixed),
        ("safety.zones.slowdown_linear_speed", RunTime::Lower),
        ("safety.limits.max_velocity", RunTime::Lower),
    ] {
        assert_eq!(rule(name), r, "{name}");
    }
    assert!(RunTime::Lower.allows(0.5, 0.3) && !RunTime::Lower.allows(0.5, 0.6));
    assert!(RunTime::Raise.allows(0.2, 0.3) && !RunTime::Raise.allows(0.2, 0.1));
    assert!(RunTime::Fixed.allows(0.2, 0.2) && !RunTime::Fixed.allows(0.2, 0.3));
}

#[test]
fn yaml_config_refuses_unknown_keys_and_bad_values() {
    let ok = "arbitration:\n  alpha_max: 0.8\nsafety:\n  separation:\n    robot: {type: polygon, points: [[0.4, 0.3], [-0.4, 0.3], [-0.4, -0.3], [0.4, -0.3]]}\n";
    let c = ControllerConfig::from_yaml(ok).expect("valid");
    assert_eq!(c.arbitration.alpha_max, 0.8);
    assert!(ControllerConfig::from_yaml("arbitration:\n  alpha_maks: 0.8\n").is_err());
    assert!(matches!(
        ControllerConfig::from_yaml("arbitration:\n  alpha_max: 2.0\n"),
        Err(ControllerConfigLoadError::Invalid(_))
    ));
}

#[test]
fn set_config_validates_then_swaps() {
    let mut c = armed(ControllerConfig::default());
    let mut bad = ControllerConfig::default();
    bad.safety.watchdog.skeleton_timeout = 0.0;
    assert!(c.set_config(bad).is_err());
    assert_eq!(c.config(), &ControllerConfig::default());
    let mut good = ControllerConfig::default();
    good.arbitration.alpha_max = 0.5;
    assert!(c.set_config(good).is_ok());
    assert_eq!(c.config().arbitration.alpha_max, 0.5);
}

#[test]
fn a_parameter_change_while_driving_keeps_the_motion_state_and_the_operator_s_command() {
    // `ros2 param set` while the robot drives at 0.5 m/s: the next cycles go on from the previous output within
    // the deceleration limit, not from rest (a jolt to a standstill), and no new joystick message is needed.
    let mut c = armed(ControllerConfig::default());
    let d = run(&mut c, 0.0, 2.0, 1.0, &[]);
    assert!((d.output.linear.x - 0.5).abs() < 1e-9, "{d:?}");
    let mut changed = ControllerConfig::default();
    changed.arbitration.alpha_max = 0.5;
    c.set_config(changed).expect("valid");
    c.skel_now(frame(2.02, &[]));
    let d = c.step(Stamp::from_secs_f64(2.02));
    let a = ControllerConfig::default().safety.limits.max_deceleration[0];
    assert!(d.output.linear.x >= 0.5 - a * 0.02 - 1e-9, "the joystick's last command carries over: {d:?}");
    let d = run(&mut c, 2.04, 2.5, 1.0, &[]);
    assert!((d.output.linear.x - 0.5).abs() < 1e-9, "{d:?}");
}

#[test]
fn a_parameter_change_forgets_no_one_the_chain_remembers() {
    // Someone 1.4 m ahead drops out of view while the robot drives toward them; a parameter change (one that
    // changes nothing about separation) comes in then. The chain must go on exactly as without the change: the
    // remembered person, their torso track, the robot's own motion and the motion state all carry over.
    let mut c = armed(ControllerConfig::default());
    run(&mut c, 0.0, 1.0, 1.0, &[(7, 2.0, -0.1)]);
    let mut changed = c.clone();
    let mut config = ControllerConfig::default();
    config.arbitration.alpha_max = 0.5;
    changed.set_config(config).expect("valid");
    let mut t = 1.02;
    while t < 1.8 {
        let mut outputs = Vec::new();
        for c in [&mut c, &mut changed] {
            c.joy_now(joy(t, 1.0, true));
            c.skel_now(frame(t, &[]));
            outputs.push(c.step(Stamp::from_secs_f64(t)));
        }
        let (a, b) = (&outputs[0], &outputs[1]);
        assert_eq!((a.output, a.mode, &a.reasons), (b.output, b.mode, &b.reasons), "at {t:.2} s");
        t += 0.02;
    }
    let d = c.step(Stamp::from_secs_f64(t));
    assert!(d.reasons.contains(&Reason::OccludedHumanRemembered) || d.mode == Mode::Stop, "{d:?}");
}

#[test]
fn a_new_deadman_button_or_pad_mapping_needs_a_re_arm() {
    // Driving with the deadman (button 4) held and the turbo button (5) held too; the deadman is moved to
    // button 5. The old arming does not carry over to the new enabling device: the robot stops and waits for
    // button 5 to be released and pressed again. A timing change (the Joy timeout) keeps the arming.
    let held = |t: f64| {
        let mut j = joy(t, 1.0, true);
        j.buttons[5] = 1;
        j
    };
    let mut c = armed(ControllerConfig::default());
    let mut t = 0.0;
    while t <= 1.0 {
        c.joy_now(held(t));
        c.skel_now(frame(t, &[]));
        c.step(Stamp::from_secs_f64(t));
        t += 0.02;
    }
    let mut timing = ControllerConfig::default();
    timing.teleop.timeout = 0.4;
    c.set_config(timing.clone()).expect("valid");
    assert!(!c.awaiting_rearm(), "a timing change is no new mapping");
    let mut remapped = timing;
    remapped.teleop.deadman_button = 5;
    remapped.teleop.turbo_button = None;
    c.set_config(remapped).expect("valid");
    assert!(c.awaiting_rearm());
    let mut d = None;
    for t in [1.02, 1.04, 1.06] {
        c.joy_now(held(t));
        c.skel_now(frame(t, &[]));
        d = Some(c.step(Stamp::from_secs_f64(t)));
    }
    let d = d.expect("decided");
    assert_eq!(d.output, Twist::ZERO, "{d:?}");
    assert!(d.reasons.contains(&Reason::AwaitingRearm), "{d:?}");
    // Button 5 released, then pressed: armed again.
    for t in [1.08, 1.10, 1.12] {
        let mut released = held(t);
        released.buttons[5] = 0;
        c.joy_now(released);
    }
    c.joy_now(held(1.14));
    c.skel_now(frame(1.14, &[]));
    assert!(!c.step(Stamp::from_secs_f64(1.14)).awaiting_rearm);
}
