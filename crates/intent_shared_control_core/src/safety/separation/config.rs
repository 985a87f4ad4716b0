//! Parameters of speed and separation monitoring: [`SeparationConfig`] and its reachable-set section
//! [`ReachConfig`].

use serde::{Deserialize, Serialize};

use crate::config::{Bound, Catalog, Cmp, ConfigError, FieldSpec, Range, Relation, RunTime, Section};
use crate::safety::geometry::{ApproachTolerance, RobotBody, RobotShape, UpperVolume};

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
    /// On a platform that can move sideways (`limits.max_velocity` of `vy` above 0), a command that must slow
    /// down for a person may instead slide past them: its linear part with the components toward the points
    /// that limit it taken out, when the same monitor admits that unscaled (see [`super::SeparationMonitor::limit`]).
    pub slide_past: bool,
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
            slide_past: true,
        }
    }
}

impl Section for SeparationConfig {
    const FIELDS: &'static [FieldSpec<Self>] =
        {
            const NONNEG: Range = Range::NON_NEGATIVE;
            &[
            FieldSpec::<Self>::real(
                "robot_height",
                Range::closed(0.0, 10.0),
                "m",
                "top of the robot's base above z = 0 of the command frame: keypoint distances are 3-D, to the \
                 footprint extruded up to this height (10: taller than anyone, the planar check)",
                |c| c.robot_height,
            )
            .at_run_time(RunTime::Fixed),
            FieldSpec::<Self>::real(
                "reaction_time",
                Range::closed(0.0, 2.0),
                "s",
                "reaction time T_r of the robot system, sensing to braking onset",
                |c| c.reaction_time,
            )
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "braking_deceleration",
                Range { lower: Bound::Open(0.0), upper: Bound::Closed(20.0) },
                "m/s^2",
                "guaranteed braking deceleration a_s",
                |c| c.braking_deceleration,
            )
            .at_run_time(RunTime::Lower),
            FieldSpec::<Self>::real("intrusion_distance", NONNEG, "m", "intrusion distance C", |c| c.intrusion_distance)
                .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real("human_uncertainty", NONNEG, "m", "human position uncertainty Z_d", |c| {
                c.human_uncertainty
            })
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real("robot_uncertainty", NONNEG, "m", "robot position uncertainty Z_r", |c| {
                c.robot_uncertainty
            })
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "human_speed_far",
                Range::at_least(1.6),
                "m/s",
                "conservative human speed beyond near_distance (ISO 13855: 1.6)",
                |c| c.human_speed_far,
            )
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "human_speed_near",
                Range::at_least(2.0),
                "m/s",
                "conservative human speed within near_distance, >= human_speed_far (ISO 13855: 2.0)",
                |c| c.human_speed_near,
            )
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "near_distance",
                NONNEG,
                "m",
                "distance below which human_speed_near applies (ISO 13855: 0.5)",
                |c| c.near_distance,
            )
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "min_confidence",
                Range::UNIT,
                "",
                "a prediction is used only when its confidence is at least this",
                |c| c.min_confidence,
            )
            .at_run_time(RunTime::Lower),
            FieldSpec::<Self>::real(
                "prediction_uncertainty_rate",
                NONNEG,
                "m/s",
                "growth of the predicted-position uncertainty with look-ahead time",
                |c| c.prediction_uncertainty_rate,
            )
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "closing_speed_min_lookahead",
                Range::closed(0.0, 1.0),
                "s",
                "the predicted closing speed is taken over look-aheads of at least this (shorter ones turn \
                 keypoint noise into speed)",
                |c| c.closing_speed_min_lookahead,
            )
            .at_run_time(RunTime::Fixed),
            FieldSpec::<Self>::real(
                "prediction_time_margin",
                Range::closed(0.0, 5.0),
                "s",
                "predicted points are checked up to the command's stopping time (reaction + braking) plus this",
                |c| c.prediction_time_margin,
            )
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "standstill_speed",
                Range::closed(0.0, 0.1),
                "m/s",
                "admissible approach speeds below this count as 0, so the robot stops instead of creeping closer",
                |c| c.standstill_speed,
            )
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "partial_view_away_fraction",
                Range::UNIT,
                "",
                "for a person seen only in part: inside S_p(0, v_h), a command counts as moving away only with at \
                 least this share of its speed away from them",
                |c| c.partial_view_away_fraction,
            )
            .at_run_time(RunTime::Raise),
            FieldSpec::<Self>::real(
                "not_closing_speed",
                Range::closed(0.0, 0.5),
                "m/s",
                "next to a person seen whole whose fitted torso velocity toward the robot is at most this \
                 (standing, swaying, leaving), a motion that approaches none of their points goes on inside S_p(0)",
                |c| c.not_closing_speed,
            )
            .at_run_time(RunTime::Lower),
            FieldSpec::<Self>::other(
                "slide_past",
                "on a platform that moves sideways (max_velocity vy > 0), a command that must slow down for a person \
                 may slide past them instead: the linear part without its components toward the limiting points, \
                 never faster than asked and never more than 90 degrees off the asked direction",
            )
            .at_run_time(RunTime::Lower),
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
        FieldSpec::<Self>::other(
            "enabled",
            "use the reachable set of observed people; false: the standard's constant human speeds for everyone",
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::real(
            "max_speed",
            Range::at_least(1.6),
            "m/s",
            "speed a person may reach toward the robot; an observed faster person keeps their speed",
            |r| r.max_speed,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "max_acceleration",
            Range::at_least(1.0),
            "m/s^2",
            "largest acceleration of a person's body toward the robot (people start walking at 1-2 m/s^2)",
            |r| r.max_acceleration,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "velocity_uncertainty",
            Range::NON_NEGATIVE,
            "m/s",
            "added to the fitted closing speed for keypoint noise",
            |r| r.velocity_uncertainty,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "velocity_window",
            Range::closed(0.1, 1.0),
            "s",
            "time span of torso positions the velocity is fitted over",
            |r| r.velocity_window,
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::count(
            "min_observations",
            Range::closed(3.0, 100.0),
            "",
            "fewer torso positions in the window: the standard's speeds",
            |r| Some(r.min_observations),
        )
        .at_run_time(RunTime::Fixed),
        FieldSpec::<Self>::real(
            "hand_speed",
            Range::at_least(2.0),
            "m/s",
            "speed of a hand reaching out relative to the body (ISO 13855: 2.0)",
            |r| r.hand_speed,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "arm_length",
            Range::closed(0.5, 1.5),
            "m",
            "how far a hand reaches from its shoulder",
            |r| r.arm_length,
        )
        .at_run_time(RunTime::Raise),
    ];
}

impl ReachConfig {
    /// Checks every value against [`Section::FIELDS`]; names are relative.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_declared()
    }
}
