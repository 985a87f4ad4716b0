use super::super::{ObservedMotion, ReachConfig, SHOULDER_FROM_TORSO};
use super::*;
use approx::assert_relative_eq;
use nalgebra::Point3;
use nalgebra::Vector2;

fn human(id: HumanId, x: f64, y: f64) -> HumanPoints {
    HumanPoints::current(id, vec![Point3::new(x, y, 0.0)])
}

#[test]
fn max_speed_solves_the_separation_equation() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    for d in [0.5, 1.0, 2.0, 5.0] {
        for v_h in [0.0, 1.6, 2.0] {
            let v = m.max_approach_speed(d, v_h);
            if v > 0.0 {
                assert_relative_eq!(m.required_separation(v, v_h), d, epsilon = 1e-9);
            }
        }
    }
    // Formula with the defaults: S_p(1 m/s, 1.6 m/s) = 1.6·(0.15 + 1/1.5) + 0.15 + 1/3 + (0.1 + 0.2 + 0.05).
    assert_relative_eq!(m.required_separation(1.0, 1.6), 1.6 * (0.15 + 1.0 / 1.5) + 0.15 + 1.0 / 3.0 + 0.35);
    assert_eq!(m.max_approach_speed(0.5, 1.6), 0.0);
}

#[test]
fn approach_is_limited_and_retreat_is_not() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    let h = [human(1, 1.5, 0.0)];
    let toward = m.limit(Stamp(0), &Twist::planar(1.0, 0.0, 0.0), &h, &[], 0.0);
    assert!(toward.scale < 1.0);
    assert_relative_eq!(toward.twist.linear.x, m.max_approach_speed(1.2, 1.6), epsilon = 1e-9);
    assert_relative_eq!(toward.required_separation, 1.2, epsilon = 1e-9);
    assert!(toward.twist.linear.x > 0.1);
    let away = m.limit(Stamp(0), &Twist::planar(-1.0, 0.0, 0.0), &h, &[], 0.0);
    assert_eq!(away.scale, 1.0);
    assert_eq!(away.nearest, Some((1, 1.2)));
    // Inside the no-approach distance: any approach beyond the tolerance is stopped; a motion that brings no
    // point closer (away, away at a steep angle, sliding past, turning on the spot) is not limited at all.
    // Seen whole and standing (observed at rest): free to turn, slide past, leave.
    let close = [HumanPoints { whole: true, ..walker(2, 0.6, 0.0, [0.0, 0.0], 0.15) }];
    assert_eq!(m.limit(Stamp(0), &Twist::planar(0.5, 0.0, 0.0), &close, &[], 0.0).scale, 0.0);
    assert_eq!(m.limit(Stamp(0), &Twist::planar(0.05, 0.5, 0.0), &close, &[], 0.0).scale, 0.0);
    assert_eq!(m.limit(Stamp(0), &Twist::planar(0.01, 0.0, 0.0), &close, &[], 0.0).scale, 0.0);
    for free in [(-0.3, 0.1, 0.0), (-0.2, 0.3, 0.0), (-0.005, 0.5, 0.0), (0.0, 0.0, 1.5), (0.0, 0.5, 1.0)] {
        let r = m.limit(Stamp(0), &Twist::planar(free.0, free.1, free.2), &close, &[], 0.0);
        assert_eq!(r.scale, 1.0, "{free:?}");
    }
    // Someone close beside the path: driving on past them is not approaching; slightly ahead of abeam it is.
    let beside = [HumanPoints { whole: true, ..walker(3, 0.0, 0.8, [0.0, 0.0], 0.15) }];
    assert_eq!(m.limit(Stamp(0), &Twist::planar(0.5, 0.0, 0.0), &beside, &[], 0.0).scale, 1.0);
    let ahead_beside = [HumanPoints { whole: true, ..walker(3, 0.2, 0.8, [0.0, 0.0], 0.15) }];
    // Seen whole but walking in (0.5 m/s toward the robot): sliding past is stopped, as for a partial view.
    let walking_in = [HumanPoints { whole: true, ..walker(3, 0.6, 0.0, [-0.5, 0.0], 0.15) }];
    assert_eq!(m.limit(Stamp(0), &Twist::planar(0.0, 0.5, 0.0), &walking_in, &[], 0.0).scale, 0.0);
    let r = m.limit(Stamp(0), &Twist::planar(0.5, 0.0, 0.0), &ahead_beside, &[], 0.0);
    assert!(r.scale < 0.7, "{r:?}");
    // Seen only in part (an unseen limb may lie beside the seen point): inside S_p(0) only a motion clearly
    // away from it goes on (at ≥ 0.9 of its speed); turning a round robot on the spot moves no point at all.
    let part = [human(4, 0.6, 0.0)];
    assert_eq!(m.limit(Stamp(0), &Twist::planar(-0.3, 0.1, 0.0), &part, &[], 0.0).scale, 1.0);
    assert_eq!(m.limit(Stamp(0), &Twist::planar(-0.2, 0.3, 0.0), &part, &[], 0.0).scale, 0.0);
    assert_eq!(m.limit(Stamp(0), &Twist::planar(-0.005, 0.5, 0.0), &part, &[], 0.0).scale, 0.0);
    assert_eq!(m.limit(Stamp(0), &Twist::planar(0.0, 0.0, 1.5), &part, &[], 0.0).scale, 1.0);
    let beside_far = [human(3, 0.0, 1.5)];
    assert_eq!(m.limit(Stamp(0), &Twist::planar(0.5, 0.0, 0.0), &beside_far, &[], 0.0).scale, 1.0);
    // Standing still is never limited.
    assert_eq!(m.limit(Stamp(0), &Twist::ZERO, &close, &[], 0.0).scale, 1.0);
}

#[test]
fn conservative_speed_is_faster_near() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    assert_eq!(m.conservative_human_speed(0.4), 2.0);
    assert_eq!(m.conservative_human_speed(0.6), 1.6);
}

fn prediction(id: HumanId, from: [f64; 2], vel: [f64; 2], confidence: f32) -> HumanPrediction {
    let future = (1..=10)
        .map(|k| {
            let t = k as f64 * 0.1;
            let p = Point3::new(from[0] + vel[0] * t, from[1] + vel[1] * t, 1.0);
            [p, p, p]
        })
        .collect();
    HumanPrediction { human_id: id, stamp: Stamp(0), probabilities: [0.2; 5], confidence, horizon_step: 0.1, future }
}

#[test]
fn a_confident_forecast_never_loosens_anything() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    let h = [human(1, 1.5, 0.0)];
    let cmd = Twist::planar(1.0, 0.0, 0.0);
    let fallback = m.limit(Stamp(0), &cmd, &h, &[], 0.0);
    assert!(fallback.scale < 0.6);
    // Forecast to stand still with full confidence: not one bit more speed.
    let standing = prediction(1, [1.5, 0.0], [0.0, 0.0], 1.0);
    let with_pred = m.limit(Stamp(0), &cmd, &h, &[&standing], 0.0);
    assert_eq!(with_pred.scale, fallback.scale);
    assert_eq!(with_pred.predictions_used, 1);
    // Forecast to walk at the robot: less.
    let coming = prediction(1, [1.5, 0.0], [-1.8, 0.0], 1.0);
    assert!(m.limit(Stamp(0), &cmd, &h, &[&coming], 0.0).scale < fallback.scale);
}

fn walker(id: HumanId, x: f64, y: f64, velocity: [f64; 2], lag: f64) -> HumanPoints {
    let mut h = human(id, x, y);
    h.tracked[0] = Some(Point2::new(x, y));
    h.motion = Some(ObservedMotion { velocity: Vector2::new(velocity[0], velocity[1]), lag });
    h
}

#[test]
fn closing_bound_is_the_distance_of_a_start_up_to_the_top_speed() {
    let b = ClosingBound { initial: 0.5, cap: 2.0, acceleration: 2.5, extension: 0.0, extension_speed: 0.0 };
    // 0.5 m/s growing at 2.5 m/s²: 2.0 m/s after 0.6 s.
    assert_relative_eq!(b.distance(0.4), 0.5 * 0.4 + 0.5 * 2.5 * 0.16);
    assert_relative_eq!(b.distance(1.0), 0.5 * 0.6 + 0.5 * 2.5 * 0.36 + 2.0 * 0.4);
    assert_relative_eq!(b.equivalent_speed(1.0), b.distance(1.0));
    // A hand reaches out at 2 m/s up to its reach.
    let arm = ClosingBound { extension: 0.3, extension_speed: 2.0, ..b };
    assert_relative_eq!(arm.distance(0.1), b.distance(0.1) + 0.2);
    assert_relative_eq!(arm.distance(1.0), b.distance(1.0) + 0.3);
    // The standard's constant speed; a forecast raises, never lowers.
    assert_relative_eq!(ClosingBound::constant(1.6).distance(0.5), 0.8);
    assert_eq!(b.at_least(0.1), b);
    assert_eq!(b.at_least(2.5).initial, 2.5);
    assert_eq!(b.at_least(2.5).cap, 2.5);
}

#[test]
fn admissible_speed_solves_the_separation_with_the_reachable_set() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    let b = ClosingBound { initial: 0.2, cap: 2.0, acceleration: 2.5, extension: 0.1, extension_speed: 2.0 };
    for d in [0.5, 1.0, 2.0, 4.0] {
        for age in [0.0, 0.05] {
            let v = m.max_approach_speed_for(d, &b, age);
            if v > 0.0 {
                assert_relative_eq!(m.required_separation_for(v, &b, age), d, epsilon = 1e-6);
            } else {
                assert!(m.required_separation_for(0.0, &b, age) >= d);
            }
        }
    }
    // The constant case is the standard's closed form.
    let c = ClosingBound::constant(1.6);
    assert_relative_eq!(m.max_approach_speed_for(1.5, &c, 0.1), m.max_approach_speed(1.5 - 0.16, 1.6));
    assert_eq!(m.max_approach_speed_for(f64::NAN, &b, 0.0), 0.0);
}

#[test]
fn observed_walkers_are_never_assumed_slower_than_seen() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    let cmd = Twist::planar(1.0, 0.0, 0.0);
    // Walking straight at the robot at 2.0 m/s, 3 m ahead; a confident forecast says they stop.
    let h = [walker(1, 3.0, 0.0, [-2.0, 0.0], 0.15)];
    let stop = prediction(1, [3.0, 0.0], [0.0, 0.0], 1.0);
    let r = m.limit(Stamp(0), &cmd, &h, &[&stop], 0.0);
    assert!(r.human_speed >= 2.0 + 0.2, "{r:?}");
    // Faster than the standard's speed: the bound is at least what was seen, so it limits more.
    let standard = m.limit(Stamp(0), &cmd, &[human(1, 3.0, 0.0)], &[], 0.0);
    assert!(r.scale < standard.scale, "{} vs {}", r.scale, standard.scale);
    // The admissible speed keeps S_p with the bound: distance 2.7 m.
    let v = r.twist.linear.x;
    let b =
        ClosingBound { initial: 2.2 + 2.5 * 0.15, cap: 2.575, acceleration: 2.5, extension: 0.0, extension_speed: 2.0 };
    assert!(m.required_separation_for(v, &b, 0.0) <= 2.7 + 1e-6);
}

#[test]
fn a_person_at_rest_can_start_and_gets_less_than_the_standard_not_nothing() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    let cmd = Twist::planar(1.0, 0.0, 0.0);
    let standing = [walker(1, 1.6, 0.0, [0.0, 0.0], 0.15)];
    let standard = m.limit(Stamp(0), &cmd, &[human(1, 1.6, 0.0)], &[], 0.0);
    let reach = m.limit(Stamp(0), &cmd, &standing, &[], 0.0);
    assert!(reach.scale > standard.scale, "{} vs {}", reach.scale, standard.scale);
    // Not free either: a start-up at 2.5 m/s² from 0.575 m/s over the stopping horizon.
    assert!(reach.scale < 1.0);
    let b = ClosingBound { initial: 0.575, cap: 2.0, acceleration: 2.5, extension: 0.0, extension_speed: 2.0 };
    assert!(m.required_separation_for(reach.twist.linear.x, &b, 0.0) <= 1.3 + 1e-6);
    // With the reachable set off, the standard again.
    let off = SeparationConfig {
        reach: ReachConfig { enabled: false, ..ReachConfig::default() },
        ..SeparationConfig::default()
    };
    assert_eq!(SeparationMonitor::new(off).limit(Stamp(0), &cmd, &standing, &[], 0.0).scale, standard.scale);
}

#[test]
fn a_hand_can_reach_out_up_to_its_arm_length() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    let cmd = Twist::planar(0.6, 0.0, 0.0);
    // A wrist 1.2 m ahead, its shoulder beside it (arm hanging: the whole reach is left) or stretched out
    // toward the robot already (no reach left).
    let mut hanging = walker(1, 1.25, 0.0, [0.0, 0.0], 0.0);
    hanging.points = vec![Point3::new(1.2, 0.0, 0.0)];
    hanging.shoulders = vec![Some(Some((Point3::new(1.25, 0.0, 0.0), 0.0)))];
    let mut stretched = hanging.clone();
    stretched.shoulders = vec![Some(Some((Point3::new(1.9, 0.0, 0.0), 0.0)))];
    // Only the torso seen (1.9 m): at least 0.4 m out already, less reach left than a hanging arm.
    let mut torso_only = hanging.clone();
    torso_only.shoulders = vec![Some(Some((Point3::new(1.9, 0.0, 0.0), SHOULDER_FROM_TORSO)))];
    let c = m.limit(Stamp(0), &cmd, &[torso_only], &[], 0.0);
    let a = m.limit(Stamp(0), &cmd, &[hanging], &[], 0.0);
    let b = m.limit(Stamp(0), &cmd, &[stretched], &[], 0.0);
    assert!(a.scale < b.scale, "{} vs {}", a.scale, b.scale);
    assert!(a.scale < c.scale && c.scale < b.scale, "{} {} {}", a.scale, c.scale, b.scale);
}

#[test]
fn predicted_crossing_in_front_slows_the_robot() {
    let m = SeparationMonitor::new(SeparationConfig::default());
    // Human at the side walking across the robot's path at 1.5 m/s.
    let h = [human(1, 1.0, 1.5)];
    let crossing = prediction(1, [1.0, 1.5], [0.0, -1.5], 0.9);
    let cmd = Twist::planar(1.0, 0.0, 0.0);
    let r = m.limit(Stamp(0), &cmd, &h, &[&crossing], 0.0);
    let static_h = prediction(1, [1.0, 1.5], [0.0, 0.0], 0.9);
    let r_static = m.limit(Stamp(0), &cmd, &h, &[&static_h], 0.0);
    assert!(r.scale < r_static.scale);
}

#[test]
fn slide_velocity_is_the_nearest_motion_approaching_no_direction() {
    let v = Vector2::new(1.0, 0.0);
    // Nothing limits: the command itself.
    assert_eq!(slide_velocity(&v, &[]), v);
    // A point 30° to the right: slide along its normal, to the left, at cos(60°) of the speed.
    let right = Vector2::new(30f64.to_radians().cos(), -30f64.to_radians().sin());
    let s = slide_velocity(&v, &[right]);
    assert_relative_eq!(s, Vector2::new(0.25, 3f64.sqrt() / 4.0), epsilon = 1e-12);
    assert!(s.dot(&right).abs() < 1e-12);
    // A second point 30° to the left as well: no forward motion approaches neither, so zero.
    let left = Vector2::new(right.x, -right.y);
    assert_eq!(slide_velocity(&v, &[right, left]), Vector2::zeros());
    // A point behind: the command already moves away from it.
    assert_eq!(slide_velocity(&v, &[Vector2::new(-1.0, 0.0)]), v);
    // Two points, one ahead right and one to the left and behind: the slide along the first must not approach
    // the second (it leans left, toward it), so nothing is left.
    let behind_left = Vector2::new(-0.2, 0.98).normalize();
    assert_eq!(slide_velocity(&v, &[right, behind_left]), Vector2::zeros());
    // Never faster than asked and never more than 90° off it.
    for k in 0..36 {
        let a = f64::from(k) * 10f64.to_radians();
        let n = Vector2::new(a.cos(), a.sin());
        let s = slide_velocity(&v, &[n]);
        assert!(s.norm() <= 1.0 + 1e-12 && s.dot(&v) >= -1e-12, "{a} {s:?}");
    }
}

/// A person standing still, seen whole, 0.3 m from the surface ahead and to the right of the robot (every
/// keypoint at their torso).
fn standing_ahead_right() -> [HumanPoints; 1] {
    [HumanPoints { whole: true, ..walker(5, 0.55, -0.3, [0.0, 0.0], 0.15) }]
}

#[test]
fn a_command_that_must_stop_slides_past_a_standing_person_on_a_platform_that_moves_sideways() {
    let h = standing_ahead_right();
    let forward = Twist::planar(0.4, 0.0, 0.2);
    // A differential drive (no sideways motion) stops the forward push (the turn alone is kept).
    let diff = SeparationMonitor::new(SeparationConfig::default());
    let held = diff.limit(Stamp(0), &forward, &h, &[], 0.0);
    assert_eq!(held.twist.linear.x, 0.0);
    assert!(!held.slid);
    // Sideways up to 0.5 m/s: the forward push becomes a slide along the person's normal, to the left.
    let holo = SeparationMonitor::new(SeparationConfig::default()).with_lateral_speed(0.5);
    let r = holo.limit(Stamp(0), &forward, &h, &[], 0.0);
    assert!(r.slid && !r.turn_kept, "{r:?}");
    assert!(r.scale < 1.0);
    assert!(r.outcome(1).reasons.contains(&Reason::SsmSlidePast));
    // The projection on the person's normal, leaning away from them by SLIDE_LEAN (same speed).
    let n = Vector2::new(0.55, -0.3).normalize();
    let tangent = Vector2::new(0.4, 0.0) - n * (0.4 * n.x);
    let expected = (tangent.normalize() - n * SLIDE_LEAN).normalize() * tangent.norm();
    assert_relative_eq!(r.twist.linear.xy(), expected, epsilon = 1e-9);
    assert_eq!(r.twist.angular.z, 0.2);
    // The slide moves away from the person (by the lean), never toward them.
    let rel = holo.body().relation(&r.twist, &h[0].points[0]);
    assert_relative_eq!(
        rel.approach_speed,
        -tangent.norm() * SLIDE_LEAN / (1.0 + SLIDE_LEAN * SLIDE_LEAN).sqrt(),
        epsilon = 1e-9
    );
    // A slower platform: scaled down uniformly to its sideways speed (the direction kept).
    let slow = SeparationMonitor::new(SeparationConfig::default()).with_lateral_speed(0.05);
    let r = slow.limit(Stamp(0), &forward, &h, &[], 0.0);
    assert!(r.slid);
    assert_relative_eq!(r.twist.linear.y, 0.05, epsilon = 1e-12);
    assert_relative_eq!(r.twist.linear.x / r.twist.linear.y, expected.x / expected.y, epsilon = 1e-9);
    // Switched off by the parameter.
    let off = SeparationConfig { slide_past: false, ..SeparationConfig::default() };
    let r = SeparationMonitor::new(off).with_lateral_speed(0.5).limit(Stamp(0), &forward, &h, &[], 0.0);
    assert!(!r.slid);
    assert_eq!(r.twist.linear.x, 0.0);
}

#[test]
fn no_slide_next_to_a_person_walking_in_seen_in_part_or_boxed_in() {
    let holo = SeparationMonitor::new(SeparationConfig::default()).with_lateral_speed(0.5);
    let forward = Twist::planar(0.4, 0.0, 0.0);
    // Walking toward the robot at 0.5 m/s: motion next to them inside S_p(0) stops, sliding included.
    let walking_in = [HumanPoints { whole: true, ..walker(5, 0.55, -0.3, [-0.5, 0.3], 0.15) }];
    let r = holo.limit(Stamp(0), &forward, &walking_in, &[], 0.0);
    assert!(!r.slid);
    assert_eq!(r.scale, 0.0);
    // Seen in part: only a motion clearly away goes on; the slide (along the normal) is not.
    let part = [human(5, 0.55, -0.3)];
    let r = holo.limit(Stamp(0), &forward, &part, &[], 0.0);
    assert!(!r.slid);
    assert_eq!(r.scale, 0.0);
    // Standing people ahead right and ahead left: every forward motion approaches one of them.
    let boxed = [
        HumanPoints { whole: true, ..walker(5, 0.55, -0.3, [0.0, 0.0], 0.15) },
        HumanPoints { whole: true, ..walker(6, 0.55, 0.3, [0.0, 0.0], 0.15) },
    ];
    let r = holo.limit(Stamp(0), &forward, &boxed, &[], 0.0);
    assert!(!r.slid);
    assert_eq!(r.twist.linear.x, 0.0);
    // The slide along the first person leads toward a second one beside the robot: a second round finds it
    // and nothing admissible is left.
    let corner = [
        HumanPoints { whole: true, ..walker(5, 0.55, -0.3, [0.0, 0.0], 0.15) },
        HumanPoints { whole: true, ..walker(6, -0.1, 0.5, [0.0, 0.0], 0.15) },
    ];
    let r = holo.limit(Stamp(0), &forward, &corner, &[], 0.0);
    assert!(!r.slid, "{r:?}");
    assert_eq!(r.twist.linear.x, 0.0);
}

#[test]
fn a_ball_reaching_the_surface_is_approached_by_every_motion_that_sweeps_space() {
    // Disc of radius 0.3; a ball around (1.0, 0), its centre 0.7 from the surface.
    let body = SeparationConfig::default().body();
    let centre = Point3::new(1.0, 0.0, 0.0);
    let at = |deg: f64| Twist::planar(0.4 * deg.to_radians().cos(), 0.4 * deg.to_radians().sin(), 0.0);
    // Clear of the surface (radius 0.35): the centre's relation, sideways motion does not approach.
    assert_eq!(ball_relation(&body, &at(90.0), &centre, 0.35), body.relation(&at(90.0), &centre));
    assert_relative_eq!(ball_relation(&body, &at(90.0), &centre, 0.35).approach_speed, 0.0, epsilon = 1e-12);
    // Reaching the surface (radius 0.8): sideways and even away at 170° approach some point of it at full speed.
    for deg in [90.0, 170.0] {
        assert_relative_eq!(ball_relation(&body, &at(deg), &centre, 0.8).approach_speed, 0.4, epsilon = 1e-12);
    }
    // A disc turning on the spot moves no point of the world closer.
    let turn = Twist::planar(0.0, 0.0, 1.0);
    assert_eq!(ball_relation(&body, &turn, &centre, 0.8), body.relation(&turn, &centre));
}
