//! One walker: its straight-line speed profile, its intent, its true keypoints, and how it is drawn from a seed.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_3, PI};

use nalgebra::{Point3, Vector2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    sign, walking_keypoints, Facing, Gait, WalkerConfig, WalkerFamily, MAX_SPEED, MAX_START_ACCEL, NUM_FAMILIES,
};
use crate::scenario::{uniform, Body};
use intent_shared_control_core::prediction::Intent;
use intent_shared_control_core::skeleton::NUM_KEYPOINTS;

/// One piece of a speed profile: from `t0` on, speed `v0 + a · (t − t0)` and distance `s0 + v0 · (t − t0) +
/// a · (t − t0)² / 2` along the walking line.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    t0: f64,
    s0: f64,
    v0: f64,
    a: f64,
}

impl Segment {
    /// Distance along the line [m] and speed [m/s] at `t`.
    fn at(&self, t: f64) -> (f64, f64) {
        let dt = t - self.t0;
        (self.s0 + self.v0 * dt + 0.5 * self.a * dt * dt, self.v0 + self.a * dt)
    }
}

/// Speed along the walking line over time: constant-acceleration segments, the last one at constant speed and
/// lasting forever; the first one (constant speed) also extends before time 0.
#[derive(Clone, Debug, PartialEq)]
struct Profile {
    segments: Vec<Segment>,
}

impl Profile {
    /// Constant speed `v` from the start.
    fn constant(v: f64) -> Self {
        Profile { segments: vec![Segment { t0: 0.0, s0: 0.0, v0: v, a: 0.0 }] }
    }

    /// From time `t` on (after the end of the previous ramp), changes the speed to `v` with acceleration
    /// magnitude `accel` (> 0), then holds it.
    fn ramp(mut self, t: f64, v: f64, accel: f64) -> Self {
        let (s, v_now) = self.at(t);
        let duration = (v - v_now).abs() / accel;
        let a = if v >= v_now { accel } else { -accel };
        self.segments.push(Segment { t0: t, s0: s, v0: v_now, a });
        let end = Segment { t0: t + duration, s0: s + v_now * duration + 0.5 * a * duration * duration, v0: v, a: 0.0 };
        self.segments.push(end);
        self
    }

    fn segment(&self, t: f64) -> &Segment {
        let i = self.segments.partition_point(|s| s.t0 <= t).saturating_sub(1);
        &self.segments[i]
    }

    /// Distance along the line [m] and speed [m/s] at `t` [s].
    fn at(&self, t: f64) -> (f64, f64) {
        self.segment(t).at(t)
    }

    /// Time at which the last ramp ends [s].
    fn settled_at(&self) -> f64 {
        self.segments.last().map_or(0.0, |s| s.t0)
    }
}

/// One walker of a scene, as drawn from the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Walker {
    /// What the walker does.
    pub family: WalkerFamily,
    /// Which way the body faces relative to the walking direction.
    pub facing: Facing,
    /// Yaw of the body (where the chest points), world frame \[rad\].
    pub body_yaw: f64,
    /// Whether the limbs swing.
    pub gait: Gait,
    /// Body dimensions.
    pub body: Body,
    /// Torso position at time 0 on the ground, world frame \[m\].
    pub start: [f64; 2],
    /// Walking direction (yaw of the velocity), world frame \[rad\].
    pub heading: f64,
    /// Standing time before walking off \[s\] (start from standing; 0 for the others).
    pub stand_s: f64,
    profile: Profile,
}

impl Walker {
    /// Unit vector of the walking direction.
    fn direction(&self) -> Vector2<f64> {
        Vector2::new(self.heading.cos(), self.heading.sin())
    }

    /// Torso position on the ground at time `t` \[s\], world frame \[m\].
    pub fn position(&self, t: f64) -> Vector2<f64> {
        Vector2::new(self.start[0], self.start[1]) + self.direction() * self.profile.at(t).0
    }

    /// Velocity at time `t` \[s\], world frame \[m/s\].
    pub fn velocity(&self, t: f64) -> Vector2<f64> {
        self.direction() * self.profile.at(t).1
    }

    /// Acceleration at time `t` \[s\] along the walking line \[m/s²\] (negative while slowing down).
    pub fn acceleration(&self, t: f64) -> f64 {
        self.profile.segment(t).a
    }

    /// Time after which the speed no longer changes \[s\].
    pub fn settled_at(&self) -> f64 {
        self.profile.settled_at()
    }

    /// Intent label at time `t` \[s\].
    pub fn intent(&self, t: f64) -> Intent {
        match self.family {
            WalkerFamily::Overtaking | WalkerFamily::Crossing => Intent::PassBy,
            WalkerFamily::StartFromStanding if t < self.stand_s => Intent::Idle,
            WalkerFamily::HeadOn | WalkerFamily::StartFromStanding | WalkerFamily::SlowDownSpeedUp => {
                Intent::ApproachRobot
            }
        }
    }

    /// True keypoints at time `t` \[s\], world frame \[m\].
    pub fn keypoints(&self, t: f64) -> [Point3<f64>; NUM_KEYPOINTS] {
        let (s, v) = self.profile.at(t);
        let speed = match self.gait {
            Gait::Swing => v.abs(),
            Gait::Rigid => 0.0,
        };
        // Walking backwards runs the gait cycle backwards relative to the body.
        let along = if (self.body_yaw - self.heading).cos() >= 0.0 { 1.0 } else { -1.0 };
        walking_keypoints(&self.body, self.position(t), self.body_yaw, along * s, speed)
    }
}

/// Draws the family from the weights (the last family with a weight when rounding leaves the draw past all).
fn draw_family(rng: &mut ChaCha8Rng, weights: &[f64; NUM_FAMILIES]) -> WalkerFamily {
    let total: f64 = weights.iter().sum();
    let mut pick = rng.random_range(0.0..total);
    let last = weights.iter().rposition(|w| *w > 0.0).unwrap_or(0);
    for (i, w) in weights.iter().enumerate() {
        if *w > 0.0 && pick < *w {
            return WalkerFamily::ALL[i];
        }
        pick -= w;
    }
    WalkerFamily::ALL[last]
}

impl Walker {
    /// Draws one walker from `seed`.
    pub(super) fn draw(config: &WalkerConfig, seed: u64) -> Walker {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let family = draw_family(&mut rng, &config.family_weights);
        let height = uniform(&mut rng, config.height_m);
        let body = Body::from_height(height, || 1.0 + rng.random_range(-0.03..0.03));
        let mut stand_s = 0.0;
        let (start, heading, profile) = match family {
            WalkerFamily::HeadOn => {
                let start = Vector2::new(rng.random_range(4.0f64..7.0), rng.random_range(-0.5f64..0.5));
                let aim = Vector2::new(0.0, rng.random_range(-0.3f64..0.3));
                let d = aim - start;
                (start, d.y.atan2(d.x), Profile::constant(rng.random_range(0.8..=MAX_SPEED)))
            }
            WalkerFamily::Overtaking => {
                let start = Vector2::new(rng.random_range(-3.0..-1.0), sign(&mut rng) * rng.random_range(0.5..1.2));
                (start, 0.0, Profile::constant(rng.random_range(1.2..=MAX_SPEED)))
            }
            WalkerFamily::Crossing => {
                let crossing = Vector2::new(rng.random_range(1.0..4.0), 0.0);
                // From the left side walking right (−y), or from the right walking left, ±15° off perpendicular.
                let across = if rng.random_bool(0.5) { -FRAC_PI_2 } else { FRAC_PI_2 };
                let heading = across + rng.random_range(-15f64..15.0).to_radians();
                let speed = rng.random_range(0.8..=MAX_SPEED);
                // Crosses when a robot at 0.5–1.0 m/s from the start would be about there.
                let robot_speed = rng.random_range(0.5..1.0);
                let at = (crossing.x / robot_speed + rng.random_range(-0.5f64..0.5)).max(0.5);
                let start = crossing - Vector2::new(heading.cos(), heading.sin()) * speed * at;
                (start, heading, Profile::constant(speed))
            }
            WalkerFamily::StartFromStanding => {
                let bearing = rng.random_range(-FRAC_PI_3..=FRAC_PI_3);
                let start = Vector2::new(bearing.cos(), bearing.sin()) * rng.random_range(1.0..=1.5);
                stand_s = rng.random_range(0.5..=3.0);
                let speed = rng.random_range(1.0..=MAX_SPEED);
                let accel = rng.random_range(0.8..=MAX_START_ACCEL);
                (start, (-start.y).atan2(-start.x), Profile::constant(0.0).ramp(stand_s, speed, accel))
            }
            WalkerFamily::SlowDownSpeedUp => {
                let aim = Vector2::new(0.0, rng.random_range(-0.3f64..0.3));
                let cruise = rng.random_range(1.2..=1.8);
                let slow = rng.random_range(0.2..=0.5);
                let slow_for = rng.random_range(0.5..=1.5);
                let slow_at = rng.random_range(1.0..=3.0);
                let (decel, accel) = (rng.random_range(0.8..=1.5), rng.random_range(0.8..=1.5));
                let again = rng.random_range(1.2..=1.8);
                // Start far enough ahead that the slow speed is reached `slow_at` metres from the aim point.
                let cruise_len = rng.random_range(1.5..3.5);
                let braking = (cruise * cruise - slow * slow) / (2.0 * decel);
                let bearing = rng.random_range(-0.1f64..0.1);
                let start = aim + Vector2::new(bearing.cos(), bearing.sin()) * (slow_at + braking + cruise_len);
                let brake_at = cruise_len / cruise;
                let slow_from = brake_at + (cruise - slow) / decel;
                let profile =
                    Profile::constant(cruise).ramp(brake_at, slow, decel).ramp(slow_from + slow_for, again, accel);
                (start, bearing + PI, profile)
            }
        };
        let facing = match rng.random_range(0..3) {
            0 => Facing::Forward,
            1 => Facing::Backward,
            _ => Facing::Random,
        };
        let body_yaw = match facing {
            Facing::Forward => heading,
            Facing::Backward => heading + PI,
            Facing::Random => rng.random_range(-PI..PI),
        };
        let gait = if rng.random_bool(0.5) { Gait::Swing } else { Gait::Rigid };
        Walker { family, facing, body_yaw, gait, body, start: [start.x, start.y], heading, stand_s, profile }
    }
}
