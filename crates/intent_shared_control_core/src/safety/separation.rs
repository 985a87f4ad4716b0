//! Speed and separation monitoring (ISO/TS 15066, clause 5.5.4), evaluated on current and predicted keypoints.
//!
//! Protective separation distance for a robot approaching at `v_r` and a human approaching at `v_h`:
//!
//! ```text
//! S_p = S_h + S_r + S_s + C + Z_d + Z_r
//! S_h = v_h · (T_r + T_s)        human motion while the robot reacts and stops
//! S_r = v_r · T_r                robot motion during the reaction time
//! S_s = v_r² / (2 · a_s)         robot stopping distance at braking deceleration a_s, T_s = v_r / a_s
//! ```
//!
//! `C` is the intrusion distance, `Z_d` / `Z_r` the position uncertainties of human and robot. Solving
//! `S_p(v_r) = d` for `v_r` gives the highest admissible approach speed toward a point at distance `d`:
//!
//! ```text
//! D = d − v_h·T_r − C − Z_d − Z_r,   B = T_r + v_h / a_s
//! v_max = a_s · (−B + √(B² + 2·D / a_s))   (0 when D ≤ 0)
//! ```
//!
//! Human motion: instead of one constant `v_h`, each keypoint gets a bound on how far the person can close in
//! on the robot over a time `t` after the observation, `D(t)` ([`ClosingBound`]); `S_h = D(age + T_r + T_s)`
//! with `age` the observation's age. Solving `S_p(v_r) = d` is then done numerically (`S_p` grows with `v_r`).
//! - **Observed person** (in the current frame, with a track of at least `reach.min_observations` torso positions
//!   over `reach.velocity_window`): the *reachable set*. The body's closing speed starts at the fitted torso
//!   velocity's component toward the robot (at least 0) plus `reach.velocity_uncertainty` plus
//!   `reach.max_acceleration · lag` (the fit describes the middle of its window, `lag` before the newest
//!   observation), grows at `reach.max_acceleration` up to `max(reach.max_speed, that speed)`: a person at rest
//!   can start, a walker need not stop, a runner is never assumed slower than observed. An arm point (elbow,
//!   wrist) can in addition reach out at `reach.hand_speed` up to `reach.arm_length` from its shoulder.
//! - **Poorly observed** (a new track, no torso, a person remembered after leaving the view): the standard's
//!   conservative speed, 2.0 m/s within 0.5 m and 1.6 m/s beyond (`human_speed_near`, `near_distance`,
//!   `human_speed_far`), as a constant. With `reach.enabled = false` everyone gets it (the standard alone).
//! - **Forecast**: a fresh prediction of confidence ≥ `min_confidence` can only add restrictions: its largest
//!   predicted closing speed `max_k (d_now − d_k) / τ_k + prediction_uncertainty_rate` over the look-aheads
//!   `τ_k ≥ closing_speed_min_lookahead` raises the starting speed when it is higher, and every predicted point
//!   up to the command's stopping horizon is also checked as an obstacle of its own, at distance
//!   `d_k − prediction_uncertainty_rate · τ_k` with no motion of its own. The stopping horizon is
//!   `T_r + v_max / a_s + prediction_time_margin`, `v_max` the fastest point of the robot under the command.
//!   Confidence alone never loosens anything.
//!
//! Current keypoints are `observation_age` old when the cycle runs: the human's travel is counted from the
//! observation (`D(age + …)`), so the sensing latency is part of it, not hidden in `T_r`.
//! Admissible speeds below `standstill_speed` count as 0, so the robot stops instead of creeping ever closer.
//! The command is scaled as a whole (direction kept) by `min(1, v_max / v_approach)` over every point it
//! approaches. A command that brings no point of the robot closer to a point ([`ApproachTolerance`]: turning on
//! the spot, sliding past, moving away) is never limited by it, also inside `S_p(0, v_h)`: the separation then
//! shrinks only by the person's own motion, which stopping the robot would not change. That needs the whole
//! person and a still geometry: the person seen whole ([`HumanPoints::whole`]) and not closing in (fitted
//! torso velocity toward the robot ≤ `not_closing_speed`, no confident forecast of faster closing). Otherwise a
//! point inside `S_p(0, v_h)` stops every motion except one clearly away from it,
//! `v_approach ≤ −partial_view_away_fraction · |v_q|`: an unseen limb may lie beside the seen points, and next
//! to someone walking in, a sliding robot's velocity turns into an approach faster than it can brake.

use nalgebra::{Point2, Point3, Vector2};
use serde::{Deserialize, Serialize};

use super::geometry::{ApproachTolerance, RobotBody, RobotShape, UpperVolume};
use crate::config::{Bound, Catalog, Cmp, ConfigError, FieldSpec, Range, Relation, Section};
use crate::prediction::HumanPrediction;
use crate::skeleton::HumanId;
use crate::time::Stamp;
use crate::twist::Twist;

/// Parameters of speed and separation monitoring. Units in the field docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeparationConfig {
    /// Robot extent in the horizontal plane (its footprint).
    pub robot: RobotShape,
    /// Top of the robot's base above the command frame's z = 0 \[m\]: keypoints are 3-D points and their
    /// distance is to the footprint extruded up to this height (10: taller than anyone, the planar check).
    pub robot_height: f64,
    /// An optional upper part above the base (mast, arm envelope, load).
    pub robot_upper: UpperVolume,
    /// Reaction time `T_r` of the robot system (sensing to braking onset: perception, control cycle, drive) \[s\].
    pub reaction_time: f64,
    /// Guaranteed braking deceleration `a_s` [m/s²].
    pub braking_deceleration: f64,
    /// Intrusion distance `C` \[m\].
    pub intrusion_distance: f64,
    /// Human position uncertainty `Z_d` \[m\]: keypoint noise plus the body's extent beyond its joints (keypoints
    /// are joint centres; the body surface lies up to ~0.15 m further out).
    pub human_uncertainty: f64,
    /// Robot position uncertainty `Z_r` \[m\].
    pub robot_uncertainty: f64,
    /// Conservative human speed beyond `near_distance` [m/s] (ISO 13855: 1.6).
    pub human_speed_far: f64,
    /// Conservative human speed within `near_distance` [m/s] (ISO 13855: 2.0).
    pub human_speed_near: f64,
    /// Distance below which `human_speed_near` applies \[m\] (ISO 13855: 0.5).
    pub near_distance: f64,
    /// A prediction is used only when its confidence is at least this [0, 1].
    pub min_confidence: f64,
    /// The reachable set of an observed person (see the module docs).
    pub reach: ReachConfig,
    /// Growth of the predicted-position uncertainty with look-ahead time [m/s].
    pub prediction_uncertainty_rate: f64,
    /// The predicted closing speed is taken over look-aheads of at least this \[s\] (≥ 0; every predicted point is
    /// still checked as an obstacle of its own).
    pub closing_speed_min_lookahead: f64,
    /// Predicted points are checked up to the command's stopping time plus this \[s\] (one prediction step by
    /// default: the forecast is sampled every 0.1 s).
    pub prediction_time_margin: f64,
    /// Admissible approach speeds below this become 0 (standstill instead of an endless creep) [m/s].
    pub standstill_speed: f64,
    /// When a command counts as bringing the robot closer to a point (also used by the stop zone).
    pub approach_tolerance: ApproachTolerance,
    /// Next to a person seen whole whose observed body (fitted torso velocity) closes in on the robot at most this
    /// fast [m/s], with no confident forecast of faster closing, a motion that approaches none of their points is
    /// not limited (see the module docs).
    pub not_closing_speed: f64,
    /// For a person seen only in part: inside `S_p(0, v_h)` of a seen point, a command counts as moving away
    /// only with at least this share of its surface speed away from the point [0, 1].
    pub partial_view_away_fraction: f64,
}

impl Default for SeparationConfig {
    fn default() -> Self {
        SeparationConfig {
            robot: RobotShape::default(),
            robot_height: 0.5,
            robot_upper: UpperVolume::default(),
            reaction_time: 0.15,
            braking_deceleration: 1.5,
            intrusion_distance: 0.1,
            human_uncertainty: 0.2,
            robot_uncertainty: 0.05,
            human_speed_far: 1.6,
            human_speed_near: 2.0,
            near_distance: 0.5,
            min_confidence: 0.6,
            reach: ReachConfig::default(),
            prediction_uncertainty_rate: 0.3,
            closing_speed_min_lookahead: 0.3,
            prediction_time_margin: 0.1,
            standstill_speed: 0.02,
            approach_tolerance: ApproachTolerance::default(),
            partial_view_away_fraction: 0.9,
            not_closing_speed: 0.2,
        }
    }
}

impl Section for SeparationConfig {
    const FIELDS: &'static [FieldSpec<Self>] = {
        const NONNEG: Range = Range::NON_NEGATIVE;
        &[
            FieldSpec::real(
                "robot_height",
                Range::closed(0.0, 10.0),
                "m",
                "top of the robot's base above z = 0 of the command frame: keypoint distances are 3-D, to the \
                 footprint extruded up to this height (10: taller than anyone, the planar check)",
                |c| c.robot_height,
            ),
            FieldSpec::real(
                "reaction_time",
                Range::closed(0.0, 2.0),
                "s",
                "reaction time T_r of the robot system, sensing to braking onset",
                |c| c.reaction_time,
            ),
            FieldSpec::real(
                "braking_deceleration",
                Range { lower: Bound::Open(0.0), upper: Bound::Closed(20.0) },
                "m/s^2",
                "guaranteed braking deceleration a_s",
                |c| c.braking_deceleration,
            ),
            FieldSpec::real("intrusion_distance", NONNEG, "m", "intrusion distance C", |c| c.intrusion_distance),
            FieldSpec::real("human_uncertainty", NONNEG, "m", "human position uncertainty Z_d", |c| {
                c.human_uncertainty
            }),
            FieldSpec::real("robot_uncertainty", NONNEG, "m", "robot position uncertainty Z_r", |c| {
                c.robot_uncertainty
            }),
            FieldSpec::real(
                "human_speed_far",
                Range::at_least(1.6),
                "m/s",
                "conservative human speed beyond near_distance (ISO 13855: 1.6)",
                |c| c.human_speed_far,
            ),
            FieldSpec::real(
                "human_speed_near",
                Range::at_least(2.0),
                "m/s",
                "conservative human speed within near_distance, >= human_speed_far (ISO 13855: 2.0)",
                |c| c.human_speed_near,
            ),
            FieldSpec::real(
                "near_distance",
                NONNEG,
                "m",
                "distance below which human_speed_near applies (ISO 13855: 0.5)",
                |c| c.near_distance,
            ),
            FieldSpec::real(
                "min_confidence",
                Range::UNIT,
                "",
                "a prediction is used only when its confidence is at least this",
                |c| c.min_confidence,
            ),
            FieldSpec::real(
                "prediction_uncertainty_rate",
                NONNEG,
                "m/s",
                "growth of the predicted-position uncertainty with look-ahead time",
                |c| c.prediction_uncertainty_rate,
            ),
            FieldSpec::real(
                "closing_speed_min_lookahead",
                Range::closed(0.0, 1.0),
                "s",
                "the predicted closing speed is taken over look-aheads of at least this (shorter ones turn \
                 keypoint noise into speed)",
                |c| c.closing_speed_min_lookahead,
            ),
            FieldSpec::real(
                "prediction_time_margin",
                Range::closed(0.0, 5.0),
                "s",
                "predicted points are checked up to the command's stopping time (reaction + braking) plus this",
                |c| c.prediction_time_margin,
            ),
            FieldSpec::real(
                "standstill_speed",
                Range::closed(0.0, 0.1),
                "m/s",
                "admissible approach speeds below this count as 0, so the robot stops instead of creeping closer",
                |c| c.standstill_speed,
            ),
            FieldSpec::real(
                "partial_view_away_fraction",
                Range::UNIT,
                "",
                "for a person seen only in part: inside S_p(0, v_h), a command counts as moving away only with at \
                 least this share of its speed away from them",
                |c| c.partial_view_away_fraction,
            ),
            FieldSpec::real(
                "not_closing_speed",
                Range::closed(0.0, 0.5),
                "m/s",
                "next to a person seen whole whose fitted torso velocity toward the robot is at most this \
                 (standing, swaying, leaving), a motion that approaches none of their points goes on inside S_p(0)",
                |c| c.not_closing_speed,
            ),
        ]
    };
    const RELATIONS: &'static [Relation] =
        &[Relation { field: "human_speed_near", cmp: Cmp::AtLeast, other: "human_speed_far", first: None }];

    /// `robot_upper`, `reach` and `approach_tolerance` (the robot shape is not a table of numbers: see
    /// [`RobotShape::check`]).
    fn declare_nested(catalog: &mut Catalog, prefix: &str) {
        UpperVolume::declare(catalog, &format!("{prefix}.robot_upper"));
        ReachConfig::declare(catalog, &format!("{prefix}.reach"));
        ApproachTolerance::declare(catalog, &format!("{prefix}.approach_tolerance"));
    }
}

impl SeparationConfig {
    /// Checks every value: the robot shape ([`RobotShape::check`]), [`Section::FIELDS`] and
    /// [`Section::RELATIONS`], then the nested sections; names are relative (`reach.max_speed`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.robot.check().map_err(|reason| ConfigError::Invalid { field: "robot".into(), reason })?;
        self.check_declared()?;
        self.robot_upper.validate().map_err(|e| e.within("robot_upper"))?;
        self.reach.validate().map_err(|e| e.within("reach"))?;
        self.approach_tolerance.validate().map_err(|e| e.within("approach_tolerance"))
    }

    /// The robot's body in 3-D.
    pub fn body(&self) -> RobotBody {
        RobotBody { footprint: self.robot.clone(), height: self.robot_height, upper: self.robot_upper.clone() }
    }
}

/// Bounds on human motion for the reachable set. Sources: ISO 13855 (walking approach 1.6 m/s, hand/arm
/// approach 2.0 m/s); gait-initiation studies, where the body's centre of mass reaches walking speed within one
/// to two steps at peak accelerations of about 1–2 m/s²; anthropometric tables (shoulder to wrist ≈ 0.55–0.6 m
/// for adults). See docs/safety_chain.md for the argument and the residual risks (sprint starts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReachConfig {
    /// Use the reachable set for observed people; `false`: the standard's constant speeds for everyone.
    pub enabled: bool,
    /// Speed a person may reach toward the robot [m/s] (≥ 1.6; an observed faster person keeps their speed).
    pub max_speed: f64,
    /// Largest acceleration of a person's body toward the robot [m/s²].
    pub max_acceleration: f64,
    /// Added to the fitted closing speed for keypoint noise [m/s].
    pub velocity_uncertainty: f64,
    /// Time span of torso positions the velocity is fitted over \[s\].
    pub velocity_window: f64,
    /// Fewer torso positions in the window: poorly observed (the standard's speeds) [-].
    pub min_observations: usize,
    /// Speed of a hand reaching out relative to the body [m/s] (ISO 13855: 2.0).
    pub hand_speed: f64,
    /// How far a hand reaches from its shoulder \[m\].
    pub arm_length: f64,
}

impl Default for ReachConfig {
    fn default() -> Self {
        ReachConfig {
            enabled: true,
            max_speed: 2.0,
            max_acceleration: 2.5,
            velocity_uncertainty: 0.2,
            velocity_window: 0.3,
            min_observations: 5,
            hand_speed: 2.0,
            arm_length: 0.7,
        }
    }
}

impl Section for ReachConfig {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::other(
            "enabled",
            "use the reachable set of observed people; false: the standard's constant human speeds for everyone",
        ),
        FieldSpec::real(
            "max_speed",
            Range::at_least(1.6),
            "m/s",
            "speed a person may reach toward the robot; an observed faster person keeps their speed",
            |r| r.max_speed,
        ),
        FieldSpec::real(
            "max_acceleration",
            Range::at_least(1.0),
            "m/s^2",
            "largest acceleration of a person's body toward the robot (people start walking at 1-2 m/s^2)",
            |r| r.max_acceleration,
        ),
        FieldSpec::real(
            "velocity_uncertainty",
            Range::NON_NEGATIVE,
            "m/s",
            "added to the fitted closing speed for keypoint noise",
            |r| r.velocity_uncertainty,
        ),
        FieldSpec::real(
            "velocity_window",
            Range::closed(0.1, 1.0),
            "s",
            "time span of torso positions the velocity is fitted over",
            |r| r.velocity_window,
        ),
        FieldSpec::count(
            "min_observations",
            Range::closed(3.0, 100.0),
            "",
            "fewer torso positions in the window: the standard's speeds",
            |r| Some(r.min_observations),
        ),
        FieldSpec::real(
            "hand_speed",
            Range::at_least(2.0),
            "m/s",
            "speed of a hand reaching out relative to the body (ISO 13855: 2.0)",
            |r| r.hand_speed,
        ),
        FieldSpec::real("arm_length", Range::closed(0.5, 1.5), "m", "how far a hand reaches from its shoulder", |r| {
            r.arm_length
        }),
    ];
}

impl ReachConfig {
    /// Checks every value against [`Section::FIELDS`]; names are relative.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
    }
}

/// A bound on how far a person (or one of their points) can close in on the robot over a time `t`: the
/// closing speed starts at `initial` (≥ 0), grows at `acceleration` up to `cap`; an arm point may in addition
/// reach out by up to `extension` at `extension_speed`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ClosingBound {
    pub initial: f64,
    pub cap: f64,
    pub acceleration: f64,
    pub extension: f64,
    pub extension_speed: f64,
}

impl ClosingBound {
    /// A constant closing speed `v` [m/s] (the standard's model).
    pub fn constant(v: f64) -> Self {
        ClosingBound { initial: v, cap: v, acceleration: 0.0, extension: 0.0, extension_speed: 0.0 }
    }

    /// True for a constant speed without extension.
    pub fn is_constant(&self) -> bool {
        (self.acceleration <= 0.0 || self.initial >= self.cap) && self.extension <= 0.0
    }

    /// Largest closing distance after `t` seconds \[m\].
    pub fn distance(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        let v0 = self.initial.max(0.0);
        let body = if self.acceleration <= 0.0 || v0 >= self.cap {
            v0 * t
        } else {
            let t1 = (self.cap - v0) / self.acceleration;
            if t <= t1 {
                v0 * t + 0.5 * self.acceleration * t * t
            } else {
                v0 * t1 + 0.5 * self.acceleration * t1 * t1 + self.cap * (t - t1)
            }
        };
        body + (self.extension_speed * t).min(self.extension.max(0.0))
    }

    /// The constant speed that closes the same distance over `t` [m/s].
    pub fn equivalent_speed(&self, t: f64) -> f64 {
        if t > 1e-9 {
            self.distance(t) / t
        } else {
            self.initial.max(0.0)
        }
    }

    /// The bound with its starting speed raised to at least `v` [m/s] (a forecast's closing speed).
    pub fn at_least(self, v: f64) -> Self {
        if v <= self.initial {
            return self;
        }
        ClosingBound { initial: v, cap: self.cap.max(v), ..self }
    }
}

/// An observed person's motion: torso velocity in the robot frame of the cycle (robot motion removed) [m/s],
/// and how long before the newest observation the fit describes \[s\].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ObservedMotion {
    pub velocity: Vector2<f64>,
    pub lag: f64,
}

/// What bounds how far an arm point already reaches out: `(anchor, slack)`, see [`HumanPoints::shoulders`].
pub type ArmAnchor = (Point3<f64>, f64);

/// Largest horizontal distance of a shoulder from the hip midpoint \[m\]: half a broad shoulder width plus a lean.
pub const SHOULDER_FROM_TORSO: f64 = 0.3;

/// Observed keypoints of one human in the robot frame (z up) \[m\].
#[derive(Clone, Debug, PartialEq)]
pub struct HumanPoints {
    pub id: HumanId,
    pub points: Vec<Point3<f64>>,
    /// Extra uncertainty of these points \[m\], subtracted from every distance: 0 for a human in the current
    /// frame, `occlusion_speed · age` for one remembered after it left the view.
    pub inflation: f64,
    /// The observed positions of the keypoints a prediction forecasts, in its order (torso = hip midpoint, left
    /// wrist, right wrist), when observed: the predicted closing speed compares each with its own forecast.
    pub tracked: [Option<Point2<f64>>; 3],
    /// Where a hidden hand may be: `(anchor, reach)`, the hand anywhere within `reach` \[m\] of the visible
    /// `anchor` (elbow or shoulder of an arm whose wrist is not seen).
    pub reach: Vec<(Point3<f64>, f64)>,
    /// Per point of `points`: for arm points (elbows, wrists), what bounds how far the arm already reaches out:
    /// `Some(Some((anchor, slack)))`, the point is at least `|p − anchor| − slack` from its shoulder (the shoulder
    /// itself with slack 0, or the torso with [`SHOULDER_FROM_TORSO`] when the shoulder is not seen);
    /// `Some(None)`: nothing known, the whole arm may reach out; `None`: a body point.
    pub shoulders: Vec<Option<Option<ArmAnchor>>>,
    /// The person's motion from their track, when well observed.
    pub motion: Option<ObservedMotion>,
    /// Every body part is seen or bounded: each keypoint observed, a hidden wrist within `reach`, the face by any
    /// one face point, a keypoint seen moments ago within `reach` of where it was. `false` (the default) for
    /// anything less, and for a person remembered after leaving the view.
    pub whole: bool,
    /// COCO index of each of `points`, when known (from a skeleton).
    pub indices: Vec<usize>,
    /// COCO indices neither seen nor bounded; `whole` is true when none are left.
    pub unbounded: Vec<usize>,
}

impl HumanPoints {
    /// Points of a human in the current frame.
    pub fn current(id: HumanId, points: Vec<Point3<f64>>) -> Self {
        let shoulders = vec![None; points.len()];
        HumanPoints {
            id,
            points,
            inflation: 0.0,
            tracked: [None; 3],
            reach: Vec::new(),
            shoulders,
            motion: None,
            whole: false,
            indices: Vec::new(),
            unbounded: Vec::new(),
        }
    }

    /// Applies the horizontal rigid motion `f` to every point, heights kept (e.g. a change of frame).
    pub fn map_points(&mut self, f: impl Fn(Point2<f64>) -> Point2<f64>) {
        let f3 = |p: Point3<f64>| {
            let q = f(p.xy());
            Point3::new(q.x, q.y, p.z)
        };
        self.points.iter_mut().for_each(|p| *p = f3(*p));
        self.tracked.iter_mut().flatten().for_each(|p| *p = f(*p));
        self.reach.iter_mut().for_each(|(p, _)| *p = f3(*p));
        self.shoulders.iter_mut().flatten().flatten().for_each(|(p, _)| *p = f3(*p));
        if let Some(m) = &mut self.motion {
            // A velocity turns with the frame; `f` is rigid, so the difference of two mapped points does it.
            let v = f(Point2::new(m.velocity.x, m.velocity.y)) - f(Point2::origin());
            m.velocity = v;
        }
    }

    /// The torso (hip midpoint) when seen.
    pub fn torso(&self) -> Option<Point2<f64>> {
        self.tracked[0]
    }

    /// Smallest surface distance of these points (and of the reach of hidden hands) to `shape`, inflation
    /// subtracted \[m\].
    pub fn distance(&self, body: &RobotBody) -> f64 {
        let points = self.points.iter().map(|p| body.distance(p));
        let reach = self.reach.iter().map(|(a, r)| body.distance(a) - r);
        points.chain(reach).fold(f64::INFINITY, f64::min) - self.inflation
    }
}

/// Result of separation monitoring for one command.
#[derive(Clone, Debug, PartialEq)]
pub struct SeparationResult {
    /// The command after limiting.
    pub twist: Twist,
    /// Scale applied [0, 1].
    pub scale: f64,
    /// Nearest human (current keypoints) and its surface distance \[m\].
    pub nearest: Option<(HumanId, f64)>,
    /// `S_p` toward the nearest human at the limited command's approach speed \[m\].
    pub required_separation: f64,
    /// Human speed assumed for the nearest human [m/s].
    pub human_speed: f64,
    /// Humans whose prediction was used (fresh and confident).
    pub predictions_used: usize,
    /// The command was not scaled as a whole: its turn was kept (see [`SeparationMonitor::limit`]).
    pub turn_kept: bool,
}

/// ISO/TS 15066 speed and separation monitor.
#[derive(Clone, Debug)]
pub struct SeparationMonitor {
    config: SeparationConfig,
    body: RobotBody,
}

impl SeparationMonitor {
    /// A monitor with `config` (validated by the controller's config).
    pub fn new(config: SeparationConfig) -> Self {
        let body = config.body();
        SeparationMonitor { config, body }
    }

    /// The configuration.
    pub fn config(&self) -> &SeparationConfig {
        &self.config
    }

    /// The robot's body in 3-D.
    pub fn body(&self) -> &RobotBody {
        &self.body
    }

    /// `S_p` \[m\] for robot approach speed `v_r` \[m/s\] (negative counts as 0) and human speed `v_h` \[m/s\].
    pub fn required_separation(&self, v_r: f64, v_h: f64) -> f64 {
        let c = &self.config;
        let v_r = v_r.max(0.0);
        let t_s = v_r / c.braking_deceleration;
        v_h * (c.reaction_time + t_s)
            + v_r * c.reaction_time
            + v_r * v_r / (2.0 * c.braking_deceleration)
            + c.intrusion_distance
            + c.human_uncertainty
            + c.robot_uncertainty
    }

    /// Highest admissible approach speed \[m/s\] toward a point at surface distance `d` \[m\] for human speed `v_h`.
    pub fn max_approach_speed(&self, d: f64, v_h: f64) -> f64 {
        let c = &self.config;
        let a = c.braking_deceleration;
        let big_d = d - v_h * c.reaction_time - c.intrusion_distance - c.human_uncertainty - c.robot_uncertainty;
        // Written so that a NaN distance also gives 0 (stop), never a speed.
        if big_d.is_nan() || big_d <= 0.0 {
            return 0.0;
        }
        let b = c.reaction_time + v_h / a;
        (a * (-b + (b * b + 2.0 * big_d / a).sqrt())).max(0.0)
    }

    /// The standard's conservative human speed at surface distance `d` [m/s].
    pub fn conservative_human_speed(&self, d: f64) -> f64 {
        if d <= self.config.near_distance {
            self.config.human_speed_near
        } else {
            self.config.human_speed_far
        }
    }

    /// `S_p` \[m\] for robot approach speed `v_r` \[m/s\] against a person closing in as `bound` allows, observed
    /// `age` seconds ago: `D(age + T_r + T_s) + v_r·T_r + v_r²/(2·a_s) + C + Z_d + Z_r`.
    pub fn required_separation_for(&self, v_r: f64, bound: &ClosingBound, age: f64) -> f64 {
        let c = &self.config;
        let v_r = v_r.max(0.0);
        let t_s = v_r / c.braking_deceleration;
        bound.distance(age.max(0.0) + c.reaction_time + t_s)
            + v_r * c.reaction_time
            + v_r * v_r / (2.0 * c.braking_deceleration)
            + c.intrusion_distance
            + c.human_uncertainty
            + c.robot_uncertainty
    }

    /// Highest admissible approach speed \[m/s\] toward a point at surface distance `d` \[m\] against `bound`,
    /// observed `age` seconds ago. A constant bound is solved in closed form; otherwise by bisection (`S_p` grows
    /// with `v_r`), to well below a millimetre per second.
    pub fn max_approach_speed_for(&self, d: f64, bound: &ClosingBound, age: f64) -> f64 {
        let age = age.max(0.0);
        if bound.is_constant() {
            let v_h = bound.initial.max(0.0);
            return self.max_approach_speed(d - v_h * age, v_h);
        }
        // Written so that a NaN distance also gives 0 (stop), never a speed.
        if d.is_nan() || self.required_separation_for(0.0, bound, age) >= d {
            return 0.0;
        }
        let mut hi = 1.0;
        while self.required_separation_for(hi, bound, age) < d {
            hi *= 2.0;
            if hi > 1e3 {
                return hi;
            }
        }
        let mut lo = 0.0;
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if self.required_separation_for(mid, bound, age) < d {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// How a person with `h`'s observation may close in on point `p` (one of `h.points`, `shoulder` its arm's
    /// shoulder for an arm point) at surface distance `d_now` of the person.
    fn closing_bound(
        &self,
        h: &HumanPoints,
        p: &Point3<f64>,
        shoulder: Option<Option<ArmAnchor>>,
        d_now: f64,
    ) -> ClosingBound {
        let c = &self.config;
        let r = &c.reach;
        let Some(m) = h.motion.filter(|_| r.enabled) else {
            return ClosingBound::constant(self.conservative_human_speed(d_now));
        };
        // The body's (horizontal) velocity along the direction from the point toward the robot; inside the
        // robot every direction counts.
        let along = match self.body.direction_to(p) {
            Some(d) => -(m.velocity.x * d.x + m.velocity.y * d.y),
            None => m.velocity.norm(),
        };
        let initial = along.max(0.0) + r.velocity_uncertainty + r.max_acceleration * m.lag.max(0.0);
        let extension = match shoulder {
            None => 0.0,
            Some(None) => r.arm_length,
            Some(Some((anchor, slack))) => (r.arm_length - ((p.xy() - anchor.xy()).norm() - slack).max(0.0)).max(0.0),
        };
        ClosingBound {
            initial,
            cap: r.max_speed.max(initial),
            acceleration: r.max_acceleration,
            extension,
            extension_speed: r.hand_speed,
        }
    }

    /// Limits `twist` against `humans` (current keypoints) and `predictions` (already validated; stale ones
    /// filtered out by the caller) at `now`.
    /// `observation_age` is how old the current keypoints are \[s\] (now − skeleton stamp, ≥ 0); the human's
    /// travel is counted from then.
    ///
    /// When the command as a whole must slow down or stop, the turn it asks for is kept where that is admissible
    /// on its own: first the turn with the linear part scaled as the whole command would be, then the turn
    /// alone (each candidate checked by the same monitor; `turn_kept` reports it). A robot asked to turn away
    /// while creeping toward someone turns away instead of freezing.
    pub fn limit(
        &self,
        now: Stamp,
        twist: &Twist,
        humans: &[HumanPoints],
        predictions: &[&HumanPrediction],
        observation_age: f64,
    ) -> SeparationResult {
        let whole = self.limit_scaled(now, twist, humans, predictions, observation_age);
        if whole.scale >= 1.0 || twist.angular.z.abs() <= 1e-9 {
            return whole;
        }
        let linear_scaled = Twist { linear: twist.linear * whole.scale, ..*twist };
        let turn_only = Twist { linear: twist.linear * 0.0, ..*twist };
        for candidate in [linear_scaled, turn_only] {
            let r = self.limit_scaled(now, &candidate, humans, predictions, observation_age);
            if r.scale >= 1.0 {
                let full = self.body.max_point_speed(twist);
                let scale = if full > 0.0 { (self.body.max_point_speed(&candidate) / full).min(1.0) } else { 1.0 };
                return SeparationResult { scale, turn_kept: true, ..r };
            }
        }
        whole
    }

    /// [`Self::limit`] with the command scaled as a whole.
    fn limit_scaled(
        &self,
        now: Stamp,
        twist: &Twist,
        humans: &[HumanPoints],
        predictions: &[&HumanPrediction],
        observation_age: f64,
    ) -> SeparationResult {
        let age = if observation_age.is_finite() { observation_age.max(0.0) } else { 0.0 };
        let c = &self.config;
        let shape = &self.body;
        let mut scale: f64 = 1.0;
        let mut nearest: Option<(HumanId, f64, Point3<f64>, ClosingBound)> = None;
        let mut used = 0;
        // `d_override`: a predicted point's distance (uncertainty already taken off); only current points stop
        // sideways motion inside `S_p(0)`.
        // `whole`: the person is seen whole (a motion that approaches none of their points may go on inside
        // `S_p(0)`); otherwise only one clearly away from each point does.
        let limit_point = |p: &Point3<f64>,
                           d_override: Option<f64>,
                           inflation: f64,
                           bound: &ClosingBound,
                           age: f64,
                           whole: bool,
                           scale: &mut f64| {
            let rel = shape.relation(twist, p);
            let d = match d_override {
                Some(d) => d,
                None => rel.distance - inflation,
            };
            let approaches = rel.approaches(&c.approach_tolerance);
            if !approaches && (whole || !shape.sweeps(twist)) {
                return;
            }
            if !approaches {
                // Seen in part: inside `S_p(0)` only a motion clearly away from the point goes on.
                let v_max = self.max_approach_speed_for(d, bound, age);
                if v_max < c.standstill_speed && rel.approach_speed > -c.partial_view_away_fraction * rel.surface_speed
                {
                    *scale = 0.0;
                }
                return;
            }
            // The command's own approach speed is admissible: nothing to solve (the common case far from people).
            if rel.approach_speed >= c.standstill_speed
                && self.required_separation_for(rel.approach_speed, bound, age) <= d
                && d.is_finite()
            {
                return;
            }
            let v_max = self.max_approach_speed_for(d, bound, age);
            let v_max = if v_max < c.standstill_speed { 0.0 } else { v_max };
            if rel.approach_speed > v_max {
                *scale = scale.min(v_max / rel.approach_speed);
            }
        };
        let still = ClosingBound::constant(0.0);
        let mut predicted_ids = Vec::new();
        let horizon =
            c.reaction_time + shape.max_point_speed(twist) / c.braking_deceleration + c.prediction_time_margin;
        for h in humans {
            let d_now = h.distance(shape);
            if !d_now.is_finite() {
                continue;
            }
            let pred = predictions.iter().find(|p| p.human_id == h.id && f64::from(p.confidence) >= c.min_confidence);
            // A forecast may only raise the closing speed.
            let forecast = match pred {
                Some(p) => {
                    used += 1;
                    predicted_ids.push(h.id);
                    self.predicted_human_speed(now, d_now, h, p)
                }
                None => 0.0,
            };
            let body = self.closing_bound(h, &Point3::origin(), None, d_now).at_least(forecast);
            // Motion that approaches none of this person's points goes on next to them only when they are seen
            // whole and not closing in (standing, swaying, leaving): the geometry then changes only by the
            // robot's own motion, which every cycle sees.
            let free = h.whole
                && self.body_closing_speed(h).is_some_and(|v| v <= c.not_closing_speed)
                && forecast <= c.prediction_uncertainty_rate + c.not_closing_speed;
            let mut closest: Option<(Point3<f64>, f64, ClosingBound)> = None;
            for (k, p) in h.points.iter().enumerate() {
                let bound = if h.motion.is_some() && c.reach.enabled {
                    self.closing_bound(h, p, h.shoulders.get(k).copied().flatten(), d_now).at_least(forecast)
                } else {
                    body
                };
                limit_point(p, None, h.inflation, &bound, age, free, &mut scale);
                let d = shape.distance(p) - h.inflation;
                if closest.is_none_or(|(_, best, _)| d < best) {
                    closest = Some((*p, d, bound));
                }
            }
            for (a, r) in &h.reach {
                let bound = if h.motion.is_some() && c.reach.enabled {
                    self.closing_bound(h, a, None, d_now).at_least(forecast)
                } else {
                    body
                };
                limit_point(a, None, h.inflation + r, &bound, age, free, &mut scale);
            }
            if let Some(p) = pred {
                self.for_each_predicted_point(now, horizon, p, |q, d| {
                    limit_point(q, Some(d), 0.0, &still, 0.0, true, &mut scale)
                });
            }
            if let Some((p, d, bound)) = closest {
                if nearest.is_none_or(|n| d < n.1) {
                    nearest = Some((h.id, d, p, bound));
                }
            }
        }
        // Confident predictions of humans not (or no longer) in the current frame still count as obstacles.
        for p in predictions {
            if f64::from(p.confidence) >= c.min_confidence && !predicted_ids.contains(&p.human_id) {
                self.for_each_predicted_point(now, horizon, p, |q, d| {
                    limit_point(q, Some(d), 0.0, &still, 0.0, true, &mut scale)
                });
            }
        }
        let scale = if scale.is_finite() { scale.clamp(0.0, 1.0) } else { 0.0 };
        let limited = twist.scaled(scale);
        let (required_separation, human_speed) = match nearest {
            Some((_, _, p, bound)) => {
                let v_r = shape.relation(&limited, &p).approach_speed.max(0.0);
                let t = age + c.reaction_time + v_r / c.braking_deceleration;
                (self.required_separation_for(v_r, &bound, 0.0), bound.equivalent_speed(t))
            }
            None => (0.0, 0.0),
        };
        SeparationResult {
            twist: limited,
            scale,
            nearest: nearest.map(|n| (n.0, n.1)),
            required_separation,
            human_speed,
            predictions_used: used,
            turn_kept: false,
        }
    }

    /// `S_p` toward point `p` of `h` for `twist` (what the status reports for the nearest human): as
    /// [`Self::limit`] bounds the person, without the forecast.
    pub fn required_separation_toward(&self, twist: &Twist, h: &HumanPoints, p: &Point3<f64>) -> f64 {
        let d_now = h.distance(&self.body);
        let k = h.points.iter().position(|q| q == p);
        let shoulder = k.and_then(|k| h.shoulders.get(k).copied().flatten());
        let bound = self.closing_bound(h, p, shoulder, d_now);
        let v_r = self.body.relation(twist, p).approach_speed;
        self.required_separation_for(v_r, &bound, 0.0)
    }

    /// The observed body's speed toward the robot [m/s] (fitted torso velocity toward the robot's nearest
    /// surface point), when the person is well observed with a seen torso.
    fn body_closing_speed(&self, h: &HumanPoints) -> Option<f64> {
        let m = h.motion.filter(|_| self.config.reach.enabled)?;
        let torso = h.torso()?;
        let (nearest, d) = self.config.robot.closest(&torso);
        let toward = (nearest - torso).try_normalize(1e-9).filter(|_| d > 1e-9)?;
        Some(m.velocity.dot(&toward))
    }

    /// Largest predicted closing speed of a human [m/s] (see the module docs): per forecast keypoint, its
    /// observed distance now against its predicted distances; the human's nearest point `d_now` against the
    /// nearest forecast point when none of them is observed now.
    fn predicted_human_speed(&self, now: Stamp, d_now: f64, h: &HumanPoints, p: &HumanPrediction) -> f64 {
        let c = &self.config;
        let dist = |q: &Point2<f64>| c.robot.closest(q).1;
        let tracked: Vec<(usize, f64)> =
            h.tracked.iter().enumerate().filter_map(|(j, q)| Some((j, dist(q.as_ref()?)))).collect();
        let mut v: f64 = 0.0;
        for (k, step) in p.future.iter().enumerate() {
            let tau = p.step_time_from(k, now);
            if tau < c.closing_speed_min_lookahead.max(0.05) {
                continue;
            }
            if tracked.is_empty() {
                let d_k = step.iter().map(|q| dist(&q.xy())).fold(f64::INFINITY, f64::min);
                v = v.max((d_now - d_k) / tau);
            } else {
                for &(j, d_j) in &tracked {
                    if let Some(q) = step.get(j) {
                        v = v.max((d_j - dist(&q.xy())) / tau);
                    }
                }
            }
        }
        v + c.prediction_uncertainty_rate
    }

    /// Calls `f(point, distance − uncertainty)` for every predicted point ahead of `now` by at most `horizon` [s].
    fn for_each_predicted_point(
        &self,
        now: Stamp,
        horizon: f64,
        p: &HumanPrediction,
        mut f: impl FnMut(&Point3<f64>, f64),
    ) {
        let c = &self.config;
        for (k, step) in p.future.iter().enumerate() {
            let tau = p.step_time_from(k, now);
            if tau <= 0.0 {
                continue;
            }
            if tau > horizon {
                break;
            }
            for q in step {
                let d = self.body.distance(q) - c.prediction_uncertainty_rate * tau;
                f(q, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use nalgebra::Point3;

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
        HumanPrediction {
            human_id: id,
            stamp: Stamp(0),
            probabilities: [0.2; 5],
            confidence,
            horizon_step: 0.1,
            future,
        }
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
        let b = ClosingBound {
            initial: 2.2 + 2.5 * 0.15,
            cap: 2.575,
            acceleration: 2.5,
            extension: 0.0,
            extension_speed: 2.0,
        };
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
}
