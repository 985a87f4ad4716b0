//! Per-human episode and plan, drawn from the seed: intent, body, start pose, gestures, shuffles, occlusions.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use nalgebra::Vector2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::kinematics::{wrap, ArmAngles, Body, Gesture, Side};
use super::sample::{exponential, uniform};
use super::sensor::OCCLUSION_GROUPS;
use super::{ScenarioConfig, FUTURE_MARGIN_S, MAX_ACCEL};
use intent_shared_control_core::model::Intent;

/// The episode of one human, as drawn from the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The intent the human carries out.
    pub intent: Intent,
    /// Motion onset [s from start]; `None` for idle.
    pub onset_s: Option<f64>,
    /// Body dimensions.
    pub body: Body,
    /// Start position on the ground, robot frame \[m\].
    pub start: [f64; 2],
    /// Reaching arm of reach_handover.
    pub handover_side: Option<Side>,
}

/// Kinematic state on the integration grid.
#[derive(Clone, Copy, Debug)]
pub(super) struct GridState {
    pub(super) pos: Vector2<f64>,
    pub(super) yaw: f64,
    pub(super) phase: f64,
    pub(super) gait: f64,
    pub(super) head: f64,
    pub(super) intent: Intent,
    pub(super) onset: Option<f64>,
}

/// Behaviour of a non-idle intent once it started.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Plan {
    Idle,
    PassBy { dir: Vector2<f64>, speed: f64, glance_robot: bool },
    Approach { aim: Vector2<f64>, speed: f64, stop: f64 },
    Handover { reach_distance: f64, speed: f64, label_end: f64 },
    Retreat { heading: f64, speed: f64, back_step_s: f64, back_speed: f64 },
}

/// Idle repositioning: a few slow steps or a turn in place.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shuffle {
    pub(super) start: f64,
    pub(super) duration: f64,
    pub(super) velocity: Vector2<f64>,
    pub(super) turn: f64,
}

/// Everything random about one human, drawn at construction.
#[derive(Clone, Debug)]
pub(super) struct Human {
    pub(super) episode: Episode,
    pub(super) plan: Plan,
    pub(super) gestures: Vec<Gesture>,
    pub(super) shuffles: Vec<Shuffle>,
    pub(super) glance: [f64; 3],
    pub(super) look_at_robot_from: Option<f64>,
    pub(super) sway: [f64; 4],
    pub(super) occlusions: Vec<(f64, f64, Option<u8>)>,
    pub(super) id_switches: Vec<f64>,
    pub(super) grid: Vec<GridState>,
    /// Walk away this long after the interaction ended \[s\] ([`ScenarioConfig::leave_after_interaction_s`]).
    pub(super) leave_after: Option<f64>,
}

impl Human {
    /// Draws one human's plan from `seed` and integrates its motion.
    pub(super) fn draw(config: &ScenarioConfig, seed: u64) -> Human {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let total: f64 = config.intent_weights.iter().sum();
        let mut pick = rng.random_range(0.0..total);
        // The last intent with a weight is the fallback should rounding leave `pick` past every weight.
        let last = config.intent_weights.iter().rposition(|w| *w > 0.0).unwrap_or(0);
        let mut intent = Intent::from_index(last).unwrap_or(Intent::Idle);
        for (i, w) in config.intent_weights.iter().enumerate() {
            if *w > 0.0 && pick < *w {
                intent = Intent::from_index(i).unwrap_or(Intent::Idle);
                break;
            }
            pick -= w;
        }
        let height = uniform(&mut rng, config.height_m);
        let body = Body::from_height(height, || 1.0 + (rng.random_range(-0.05..0.05)));
        let bearing = rng.random_range(-config.max_start_bearing_rad..=config.max_start_bearing_rad);
        let radial = Vector2::new(bearing.cos(), bearing.sin());
        let to_robot_yaw = wrap(bearing + PI);
        let onset = (intent != Intent::Idle).then(|| uniform(&mut rng, config.onset_s));
        let speed = uniform(&mut rng, config.walk_speed_mps);
        let duration = config.duration_s;
        let mut handover_side = None;
        let mut gestures = Vec::new();
        let mut look_at_robot_from = None;
        let (start, yaw0, plan) = match intent {
            Intent::Idle => {
                let d = uniform(&mut rng, [config.stop_distance_m[0].max(1.0), config.start_distance_m[1]]);
                (radial * d, rng.random_range(-PI..PI), Plan::Idle)
            }
            Intent::PassBy => {
                let dmin = uniform(&mut rng, config.pass_distance_m);
                let beta = rng.random_range(-1.0..1.0);
                let q = Vector2::new(beta_cos(beta), beta.sin()) * dmin;
                let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                let dir = Vector2::new(-q.y, q.x).normalize() * sign;
                let before = uniform(&mut rng, [1.0, 4.5]);
                let start = q - dir * before;
                let yaw0 = wrap(dir.y.atan2(dir.x) + rng.random_range(-FRAC_PI_2..FRAC_PI_2));
                (start, yaw0, Plan::PassBy { dir, speed, glance_robot: rng.random_bool(0.5) })
            }
            Intent::ApproachRobot => {
                let d = uniform(&mut rng, config.start_distance_m);
                let aim = Vector2::new(-radial.y, radial.x) * rng.random_range(-0.3..0.3);
                let stop = uniform(&mut rng, config.stop_distance_m);
                look_at_robot_from = onset.map(|o| o - rng.random_range(0.0..0.6));
                let yaw0 = wrap(to_robot_yaw + rng.random_range(-2.0..2.0));
                (radial * d, yaw0, Plan::Approach { aim, speed: speed.min(1.5), stop })
            }
            Intent::ReachHandover => {
                let d = uniform(&mut rng, config.handover_start_distance_m);
                let reach_distance = rng.random_range(0.65..0.95);
                let walk_speed = rng.random_range(0.4..0.75);
                let o = onset.unwrap_or(0.0);
                let walk = (d - reach_distance).max(0.0);
                let walk_time = if walk > 0.25 { walk / walk_speed + walk_speed / MAX_ACCEL } else { 0.0 };
                let side = if rng.random_bool(0.7) { Side::Right } else { Side::Left };
                handover_side = Some(side);
                let g = Gesture {
                    side,
                    start: o + (walk_time - 0.5).max(0.1) + rng.random_range(0.0..0.2),
                    rise: rng.random_range(0.55..1.0),
                    hold: rng.random_range(1.0..2.5),
                    fall: rng.random_range(0.5..0.9),
                    target: ArmAngles {
                        flex: rng.random_range(1.0..1.45),
                        abd: rng.random_range(0.0..0.2),
                        elbow: rng.random_range(0.05..0.45),
                    },
                    lean: rng.random_range(0.05..0.15),
                };
                let label_end = g.start + g.rise + g.hold;
                gestures.push(g);
                look_at_robot_from = Some(o - rng.random_range(0.0..0.6));
                let yaw0 = wrap(to_robot_yaw + rng.random_range(-1.6..1.6));
                (radial * d, yaw0, Plan::Handover { reach_distance, speed: walk_speed, label_end })
            }
            Intent::Retreat => {
                let d = uniform(&mut rng, config.retreat_start_distance_m);
                let back_step_s = if rng.random_bool(0.35) { rng.random_range(0.5..1.0) } else { 0.0 };
                let heading = wrap(bearing + rng.random_range(-0.6..0.6));
                let yaw0 = wrap(to_robot_yaw + rng.random_range(-0.8..0.8));
                look_at_robot_from = Some(0.0);
                (
                    radial * d,
                    yaw0,
                    Plan::Retreat { heading, speed, back_step_s, back_speed: rng.random_range(0.3..0.5) },
                )
            }
        };
        // Idle gestures: throughout an idle episode, before the onset otherwise.
        let idle_end = onset.map(|o| o - 0.3).unwrap_or(duration + FUTURE_MARGIN_S);
        let mut t = rng.random_range(0.0..3.0);
        while t < idle_end {
            let (target, hold) = match rng.random_range(0..3) {
                0 => (ArmAngles { flex: rng.random_range(0.5..0.8), abd: 0.3, elbow: rng.random_range(1.9..2.3) }, 1.5),
                1 => {
                    (ArmAngles { flex: rng.random_range(0.25..0.6), abd: 0.1, elbow: rng.random_range(1.2..1.7) }, 3.0)
                }
                _ => {
                    (ArmAngles { flex: 0.2, abd: rng.random_range(0.9..1.4), elbow: rng.random_range(0.05..0.5) }, 1.2)
                }
            };
            let g = Gesture {
                side: if rng.random_bool(0.5) { Side::Left } else { Side::Right },
                start: t,
                rise: rng.random_range(0.4..0.9),
                hold: rng.random_range(0.3..hold),
                fall: rng.random_range(0.4..0.8),
                target,
                lean: 0.0,
            };
            if g.end() < idle_end {
                gestures.push(g);
            }
            t = g.end() + rng.random_range(0.5..4.0);
        }
        // Idle repositioning: small slow steps and turns in place (idle episodes only).
        let mut shuffles = Vec::new();
        if intent == Intent::Idle {
            let mut t = rng.random_range(0.5..4.0);
            while t < duration + FUTURE_MARGIN_S {
                let dir = rng.random_range(-PI..PI);
                let step_speed = rng.random_range(0.15..0.45);
                let is_turn = rng.random_bool(0.5);
                let s = Shuffle {
                    start: t,
                    duration: rng.random_range(0.6..1.6),
                    velocity: if is_turn { Vector2::zeros() } else { Vector2::new(dir.cos(), dir.sin()) * step_speed },
                    turn: if is_turn { rng.random_range(-1.8..1.8) } else { 0.0 },
                };
                shuffles.push(s);
                t += s.duration + rng.random_range(1.5..5.0);
            }
        }
        let glance = [rng.random_range(0.15..0.7), rng.random_range(0.05..0.25), rng.random_range(0.0..TAU)];
        let sway = [
            rng.random_range(0.005..0.02),
            rng.random_range(0.15..0.4),
            rng.random_range(0.0..TAU),
            rng.random_range(0.0..TAU),
        ];
        // Occlusions and id switches (per human, Poisson).
        let mut occlusions = Vec::new();
        let mut t = 0.0;
        loop {
            t += exponential(&mut rng, config.noise.occlusion_rate_hz);
            if t >= duration {
                break;
            }
            let len = uniform(&mut rng, config.noise.occlusion_duration_s);
            let group = if rng.random_bool(config.noise.full_occlusion_fraction) {
                None
            } else {
                Some(rng.random_range(0..OCCLUSION_GROUPS.len() as u8))
            };
            occlusions.push((t, t + len, group));
            t += len;
        }
        let mut id_switches = Vec::new();
        let mut t = 0.0;
        loop {
            t += exponential(&mut rng, config.noise.id_switch_rate_hz);
            if t >= duration {
                break;
            }
            id_switches.push(t);
        }
        let episode = Episode { intent, onset_s: onset, body, start: [start.x, start.y], handover_side };
        let mut human = Human {
            episode,
            plan,
            gestures,
            shuffles,
            glance,
            look_at_robot_from,
            sway,
            occlusions,
            id_switches,
            grid: Vec::new(),
            leave_after: config.leave_after_interaction_s,
        };
        human.integrate(duration + FUTURE_MARGIN_S, start, yaw0);
        human
    }
}

/// Cosine of the closest-approach bearing of a pass_by path (kept in front of the robot).
fn beta_cos(beta: f64) -> f64 {
    beta.cos().abs()
}
