//! The safety chain: every command passes these stages in order, the most restrictive outcome wins, and every
//! change is recorded as a [`Reason`] (see `docs/safety_chain.md` for parameters and formulas). Each stage
//! returns a [`StageOutcome`] (the command it passes on, the scale it applied, its reasons); the chain folds
//! them: reasons in stage order, scales multiplied, and a fault or inhibit anywhere forces the stop.
//!
//! 1. [`validation::InputValidator`]: finite, bounded, known frame, fresh stamps.
//! 2. [`separation::SeparationMonitor`]: ISO/TS 15066 speed and separation monitoring against current and
//!    predicted keypoints.
//! 3. [`zones::ZoneLimiter`]: stop and slowdown zones with hysteresis.
//! 4. [`limits::MotionLimiter`]: velocity, acceleration and jerk limits per axis.
//! 5. [`watchdog::StaleInputWatchdog`]: stale inputs, stalled or backwards cycles.
//!
//! Before stage 2, observed and predicted points are moved from the robot frame at their stamp into the robot
//! frame now by the robot's own motion since ([`ego::EgoMotion`]).
//!
//! A *forced stop* (any fault of stages 1 and 5, or the operator's enable released) outputs an explicit
//! [`Twist::ZERO`] at once and resets the limiter to rest; the drive's own emergency deceleration applies.

pub mod ego;
pub mod geometry;
pub mod limits;
pub mod reason;
pub mod separation;
pub mod validation;
pub mod watchdog;
pub mod zones;

use std::collections::VecDeque;

use nalgebra::{Isometry2, Point2, Vector2};
use serde::{Deserialize, Serialize};

pub use ego::EgoMotion;
pub use geometry::{ApproachTolerance, PointRelation, RobotBody, RobotShape, UpperVolume};
pub use limits::{LimitsConfig, MotionLimiter};
pub use reason::{Effect, Reason, StageOutcome, UnknownReason};
pub use separation::{
    ClosingBound, HumanPoints, ObservedMotion, ReachConfig, SeparationConfig, SeparationMonitor, SeparationResult,
};
pub use validation::{InputValidator, Validated, ValidationConfig};
pub use watchdog::{StaleInputWatchdog, WatchdogConfig};
pub use zones::{Zone, ZoneConfig, ZoneLimiter};

use crate::config::{Catalog, Cmp, ConfigError, FieldSpec, Range, Relation, RunTime, Section};
use crate::prediction::HumanPrediction;
use crate::skeleton::{HumanId, SkeletonFrame};
use crate::time::Stamp;
use crate::twist::Twist;

/// Torso positions of one person: (skeleton stamp, torso in the robot frame at that stamp).
type TorsoTrack = VecDeque<(Stamp, Point2<f64>)>;
type KeypointMemory = [Option<(Stamp, nalgebra::Point3<f64>)>; crate::skeleton::NUM_KEYPOINTS];

/// History kept for ego-motion compensation at least [s] (covers the oldest prediction still in use).
const EGO_HISTORY_S: f64 = 1.5;

/// Configuration of all stages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    pub validation: ValidationConfig,
    pub separation: SeparationConfig,
    pub zones: ZoneConfig,
    pub limits: LimitsConfig,
    pub watchdog: WatchdogConfig,
    /// A human who leaves the view (occlusion, tracker loss) stays an obstacle at its last seen keypoints for
    /// this long \[s\] ...
    pub occlusion_memory: f64,
    /// A keypoint missing from a frame but seen at most this long before stays an obstacle where it was seen,
    /// inflated by `occlusion_speed` times its age \[s\] (dropouts; see [`SafetyChain`]).
    pub keypoint_memory: f64,
    /// ... with its distances reduced by `occlusion_speed · age` [m/s] (the conservative human speed; the
    /// robot's own motion is compensated when `ego_motion_compensation` is on, else add the robot's top speed).
    pub occlusion_speed: f64,
    /// Move observed and predicted points into the robot frame of the cycle by the robot's own motion since
    /// their stamp (dead-reckoned from the commands sent). Turn off only when the perception already publishes
    /// points compensated to the time of use.
    pub ego_motion_compensation: bool,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            validation: ValidationConfig::default(),
            separation: SeparationConfig::default(),
            zones: ZoneConfig::default(),
            limits: LimitsConfig::default(),
            watchdog: WatchdogConfig::default(),
            occlusion_memory: 1.0,
            keypoint_memory: 0.3,
            occlusion_speed: 2.0,
            ego_motion_compensation: true,
        }
    }
}

impl Section for SafetyConfig {
    const FIELDS: &'static [FieldSpec<Self>] = &[
        FieldSpec::<Self>::real(
            "occlusion_memory",
            Range::closed(0.0, 10.0),
            "s",
            "a human who leaves the view stays an obstacle at its last seen keypoints for this long",
            |c| c.occlusion_memory,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "keypoint_memory",
            Range::closed(0.0, 2.0),
            "s",
            "a keypoint missing from a frame but seen at most this long before stays an obstacle where it was \
             seen, inflated by occlusion_speed times its age; a person with every keypoint seen or so bounded \
             counts as seen whole",
            |c| c.keypoint_memory,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::real(
            "occlusion_speed",
            Range::at_least(1.6),
            "m/s",
            "distances to a remembered (occluded) human shrink at this speed with its age",
            |c| c.occlusion_speed,
        )
        .at_run_time(RunTime::Raise),
        FieldSpec::<Self>::other(
            "ego_motion_compensation",
            "move observed and predicted points into the robot frame of the cycle by the robot's own (commanded) \
             motion since their stamp",
        )
        .at_run_time(RunTime::Fixed),
    ];

    /// The stages' sections, then [`SafetyConfig::BRAKING`].
    fn declare_nested(catalog: &mut Catalog, prefix: &str) {
        ValidationConfig::declare(catalog, &format!("{prefix}.validation"));
        SeparationConfig::declare(catalog, &format!("{prefix}.separation"));
        ZoneConfig::declare(catalog, &format!("{prefix}.zones"));
        LimitsConfig::declare(catalog, &format!("{prefix}.limits"));
        WatchdogConfig::declare(catalog, &format!("{prefix}.watchdog"));
        catalog.relations.push(SafetyConfig::BRAKING.describe(prefix));
    }
}

impl SafetyConfig {
    /// The relation between two stages: the drive brakes (vx, vy) at least as hard as separation monitoring
    /// assumes.
    pub const BRAKING: Relation = Relation {
        field: "limits.max_deceleration",
        cmp: Cmp::AtLeast,
        other: "separation.braking_deceleration",
        first: Some(2),
    };

    /// Checks every stage's section (names prefixed: `zones.stop_distance`), [`Section::FIELDS`], then
    /// [`SafetyConfig::BRAKING`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validation.validate().map_err(|e| e.within("validation"))?;
        self.separation.validate().map_err(|e| e.within("separation"))?;
        self.zones.validate().map_err(|e| e.within("zones"))?;
        self.limits.validate().map_err(|e| e.within("limits"))?;
        self.watchdog.validate().map_err(|e| e.within("watchdog"))?;
        self.check_declared()?;
        let labelled = |xs: &[f64]| -> Vec<(Option<String>, f64)> {
            xs.iter().zip(LimitsConfig::AXES).map(|(x, a)| (Some(a.to_owned()), *x)).collect()
        };
        SafetyConfig::BRAKING
            .compare(&labelled(&self.limits.max_deceleration), &[(None, self.separation.braking_deceleration)])
    }
}

/// Inputs of one cycle.
#[derive(Clone, Copy, Debug)]
pub struct SafetyInput<'a> {
    /// Cycle time.
    pub now: Stamp,
    /// The blended command.
    pub command: Twist,
    /// Newest skeleton frame (robot frame).
    pub skeletons: Option<&'a SkeletonFrame>,
    /// When that frame arrived (node clock): the frame goes stale `skeleton_timeout` after its stamp or its
    /// arrival, whichever is earlier.
    pub skeletons_arrival: Option<Stamp>,
    /// Newest predictions (robot frame).
    pub predictions: &'a [HumanPrediction],
    /// A reason from outside the chain that forces a stop (e.g. the operator's enable released), if any.
    pub inhibit: Option<Reason>,
}

/// What the chain made of the command.
#[derive(Clone, Debug, PartialEq)]
pub struct SafetyOutput {
    /// Command to send.
    pub twist: Twist,
    /// Product of the scales of separation monitoring, zones and velocity limits [0, 1]; 0 on a forced stop.
    pub speed_scale: f64,
    /// Nearest human and surface distance \[m\].
    pub nearest: Option<(HumanId, f64)>,
    /// `S_p` toward the nearest human at the output's approach speed \[m\].
    pub required_separation: f64,
    /// Human speed assumed for the nearest human [m/s].
    pub human_speed: f64,
    /// Humans seen in the current frame.
    pub humans_seen: usize,
    /// Predictions used by separation monitoring.
    pub predictions_used: usize,
    /// True when a fault or inhibit forced an explicit zero.
    pub forced_stop: bool,
    /// True when a fault (not only an inhibit) forced the stop.
    pub fault: bool,
    /// Current zone.
    pub zone: Zone,
    /// Reasons, in order of the stages.
    pub reasons: Vec<Reason>,
}

impl SafetyOutput {
    /// The most restrictive effect of the reasons (`None`: the command passed unchanged, nothing to report).
    pub fn effect(&self) -> Option<Effect> {
        Reason::most_restrictive(&self.reasons)
    }
}

/// The outcomes of the stages folded: reasons in stage order, speed scales multiplied, and whether a fault
/// forces the stop.
#[derive(Clone, Debug)]
struct Fold {
    reasons: Vec<Reason>,
    scale: f64,
    fault: bool,
}

impl Fold {
    fn new() -> Self {
        Fold { reasons: Vec::new(), scale: 1.0, fault: false }
    }

    /// Adds a stage's outcome; returns the command it passes on.
    fn add(&mut self, outcome: StageOutcome) -> Twist {
        self.fault |= outcome.has_fault();
        self.scale *= outcome.scale;
        self.reasons.extend(outcome.reasons);
        outcome.twist
    }
}

/// How far apart two sightings may show the same person, beyond their motion, and still agree \[m\]: keypoint
/// noise and a change of pose (an arm stretched out moves the centroid of what is seen).
pub const SAME_PERSON_SLACK: f64 = 0.3;
/// How fast the same person may seem to move between two sightings and still agree \[m/s\]: a person's 2.5 m/s
/// plus the robot's own motion, which moves the robot frame the sightings are in.
pub const SAME_PERSON_SPEED: f64 = 4.0;

/// Whether two sightings of one tracker id, `dt` seconds apart (each in the robot frame at its stamp), can be the
/// same person: the planar centroids of their points at most [`SAME_PERSON_SLACK`] +
/// [`SAME_PERSON_SPEED`]` · |dt|` apart. A sighting with no points agrees with anything.
pub fn same_person(
    a: impl IntoIterator<Item = nalgebra::Point3<f64>>,
    b: impl IntoIterator<Item = nalgebra::Point3<f64>>,
    dt: f64,
) -> bool {
    let centroid = |points: &mut dyn Iterator<Item = nalgebra::Point3<f64>>| {
        let (sum, n) = points.fold((Vector2::zeros(), 0.0), |(s, n), p| (s + p.xy().coords, n + 1.0));
        (n > 0.0).then(|| sum / n)
    };
    match (centroid(&mut a.into_iter()), centroid(&mut b.into_iter())) {
        (Some(a), Some(b)) => (a - b).norm() <= SAME_PERSON_SLACK + SAME_PERSON_SPEED * dt.abs(),
        _ => true,
    }
}

/// The chain of safety stages; see the module docs.
#[derive(Clone, Debug)]
pub struct SafetyChain {
    validator: InputValidator,
    separation: SeparationMonitor,
    zones: ZoneLimiter,
    limiter: MotionLimiter,
    watchdog: StaleInputWatchdog,
    occlusion_memory: f64,
    occlusion_speed: f64,
    /// The robot's own motion, from the outputs; `None` when compensation is off.
    ego: Option<EgoMotion>,
    /// Last sighting per human: skeleton stamp and points (robot frame at that stamp).
    last_seen: Vec<(Stamp, HumanPoints)>,
    /// Sightings an id left behind when it was next seen too far away to be the same person
    /// ([`same_person`]): a tracker that gave the id to someone else, or a forged capture that moved them.
    /// Remembered like people out of view.
    ghosts: Vec<(Stamp, HumanPoints)>,
    /// Per person, each keypoint's last observation (stamp, robot frame at that stamp).
    keypoints_seen: Vec<(HumanId, KeypointMemory)>,
    keypoint_memory: f64,
    /// Torso track per human, for the reachable set: (skeleton stamp, torso in the robot frame at that stamp).
    tracks: Vec<(HumanId, TorsoTrack)>,
}

impl SafetyChain {
    /// A chain with `config` (validated by [`crate::control::ControllerConfig::validate`]).
    pub fn new(config: SafetyConfig) -> Self {
        SafetyChain {
            validator: InputValidator::new(config.validation),
            separation: SeparationMonitor::new(config.separation).with_lateral_speed(config.limits.max_velocity[1]),
            zones: ZoneLimiter::new(config.zones),
            limiter: MotionLimiter::new(config.limits),
            watchdog: StaleInputWatchdog::new(config.watchdog),
            occlusion_memory: config.occlusion_memory,
            occlusion_speed: config.occlusion_speed,
            ego: config
                .ego_motion_compensation
                .then(|| EgoMotion::new(EGO_HISTORY_S.max(config.occlusion_memory + 0.5))),
            last_seen: Vec::new(),
            ghosts: Vec::new(),
            keypoints_seen: Vec::new(),
            keypoint_memory: config.keypoint_memory,
            tracks: Vec::new(),
        }
    }

    /// The chain with `config` (validated) that goes on from this one: a parameter change is no restart. What
    /// the chain knows about people (the occlusion and keypoint memories, the torso tracks), the robot's own
    /// motion, the output's motion state (so the next output changes within the new limits from the last one,
    /// not from rest), the zone and the last cycle's stamp carry over.
    pub fn reconfigured(&self, config: SafetyConfig) -> SafetyChain {
        let mut next = SafetyChain::new(config);
        next.limiter.continue_from(&self.limiter);
        next.watchdog.continue_from(&self.watchdog);
        next.zones.continue_from(&self.zones);
        if let (Some(n), Some(o)) = (next.ego.as_mut(), self.ego.as_ref()) {
            n.continue_from(o);
        }
        next.last_seen = self.last_seen.clone();
        next.ghosts = self.ghosts.clone();
        next.keypoints_seen = self.keypoints_seen.clone();
        next.tracks = self.tracks.clone();
        next
    }

    /// Adds the torsos of a frame stamped `stamp` to the tracks and forgets tracks not seen for a while.
    fn track(&mut self, stamp: Stamp, humans: &[HumanPoints]) {
        let reach = &self.separation.config().reach;
        if !reach.enabled {
            return;
        }
        let keep = reach.velocity_window + 0.1;
        for h in humans {
            let Some(torso) = h.torso() else { continue };
            let i = match self.tracks.iter().position(|(id, _)| *id == h.id) {
                Some(i) => i,
                None => {
                    self.tracks.push((h.id, VecDeque::new()));
                    self.tracks.len() - 1
                }
            };
            let samples = &mut self.tracks[i].1;
            if samples.back().is_some_and(|(s, _)| *s >= stamp) {
                continue;
            }
            samples.push_back((stamp, torso));
            while samples.front().is_some_and(|(s, _)| stamp.seconds_since(*s) > keep) {
                samples.pop_front();
            }
        }
        let forget = self.occlusion_memory + keep;
        self.tracks.retain(|(_, s)| s.back().is_some_and(|(t, _)| stamp.seconds_since(*t) <= forget));
    }

    /// The torso velocity of `id` in the robot frame at `now`, fitted by least squares over the newest
    /// `velocity_window` of its track (robot motion removed), and how long before the newest sample the fit
    /// describes; `None` when the track is too short.
    fn motion(&self, id: HumanId, now: Stamp) -> Option<ObservedMotion> {
        let reach = &self.separation.config().reach;
        let (_, samples) = self.tracks.iter().find(|(i, _)| *i == id)?;
        let (newest, _) = *samples.back()?;
        // Each sample into the robot frame at `now`: the robot's motion since the sample, composed from the newest
        // sample back (each step replays only the motion between two samples).
        let mut window: Vec<(f64, Point2<f64>)> = Vec::with_capacity(samples.len());
        let mut since_to_now = Isometry2::identity();
        let mut later = now;
        for (stamp, p) in
            samples.iter().rev().take_while(|(s, _)| newest.seconds_since(*s) <= reach.velocity_window + 1e-9)
        {
            let p = match &self.ego {
                Some(ego) => {
                    let from = (*stamp).min(later);
                    since_to_now = ego.since(from, later) * since_to_now;
                    later = from;
                    since_to_now.inverse() * p
                }
                None => *p,
            };
            window.push((stamp.seconds_since(newest), p));
        }
        window.reverse();
        let n = window.len();
        let span = window.first().map_or(0.0, |(t, _)| -t);
        if n < reach.min_observations.max(2) || span < 0.5 * reach.velocity_window {
            return None;
        }
        let t_mean = window.iter().map(|(t, _)| t).sum::<f64>() / n as f64;
        let p_mean = window.iter().fold(Vector2::zeros(), |a, (_, p)| a + p.coords) / n as f64;
        let (mut num, mut den) = (Vector2::zeros(), 0.0);
        for (t, p) in &window {
            num += (p.coords - p_mean) * (t - t_mean);
            den += (t - t_mean) * (t - t_mean);
        }
        (den > 1e-12).then(|| ObservedMotion { velocity: num / den, lag: -t_mean })
    }

    /// Adds remembered humans that are not in the current frame, updates the memory, and moves every human's
    /// points into the robot frame at `now`.
    fn with_memory(&mut self, now: Stamp, frame_stamp: Option<Stamp>, humans: &mut Vec<HumanPoints>) {
        if let Some(stamp) = frame_stamp {
            self.track(stamp, humans);
            self.bound_missing_keypoints(stamp, humans);
            for h in humans.iter() {
                match self.last_seen.iter_mut().find(|(_, m)| m.id == h.id) {
                    Some(entry) if entry.0 <= stamp => {
                        let dt = stamp.seconds_since(entry.0);
                        if !same_person(entry.1.points.iter().copied(), h.points.iter().copied(), dt) {
                            self.ghosts.push(entry.clone());
                        }
                        *entry = (stamp, h.clone());
                    }
                    Some(_) => {}
                    None => self.last_seen.push((stamp, h.clone())),
                }
            }
            self.compensate(stamp, now, humans);
            for h in humans.iter_mut() {
                h.motion = self.motion(h.id, now);
            }
        }
        let memory = self.occlusion_memory;
        self.last_seen.retain(|(s, _)| now.seconds_since(*s) <= memory);
        self.ghosts.retain(|(s, _)| now.seconds_since(*s) <= memory);
        let seen = humans.len();
        let out_of_view = self.last_seen.iter().filter(|(_, m)| !humans[..seen].iter().any(|h| h.id == m.id));
        let mut remembered = Vec::new();
        for (s, m) in out_of_view.chain(&self.ghosts) {
            let age = now.seconds_since(*s).max(0.0);
            // Remembered, not observed: no motion of its own (the standard's speeds).
            let mut h = HumanPoints { inflation: self.occlusion_speed * age, motion: None, whole: false, ..m.clone() };
            if let Some(ego) = &self.ego {
                let to_now = ego.since(*s, now).inverse();
                h.map_points(|p| to_now * p);
            }
            remembered.push(h);
        }
        humans.extend(remembered);
    }

    /// Moves points observed at `from` into the robot frame at `now` (no-op when compensation is off).
    /// A keypoint not in this frame but seen within `keypoint_memory` before it is bounded where it was seen
    /// (moved into this frame's robot frame), within `occlusion_speed · (stamp − then)`: a dropped keypoint stays
    /// an obstacle, and a person with nothing left unbounded counts as seen whole. Then remembers this frame's
    /// keypoints.
    fn bound_missing_keypoints(&mut self, stamp: Stamp, humans: &mut [HumanPoints]) {
        let horizon = self.keypoint_memory;
        self.keypoints_seen.retain(|(_, m)| {
            m.iter().flatten().any(|(s, _)| stamp.seconds_since(*s) <= horizon + self.occlusion_memory)
        });
        for h in humans.iter_mut() {
            if let Some((_, memory)) = self.keypoints_seen.iter().find(|(id, _)| *id == h.id) {
                let mut left = Vec::with_capacity(h.unbounded.len());
                for &i in &h.unbounded {
                    match memory.get(i).copied().flatten() {
                        Some((then, p)) if then < stamp && stamp.seconds_since(then) <= horizon => {
                            let xy = match &self.ego {
                                Some(ego) => ego.since(then, stamp).inverse() * p.xy(),
                                None => p.xy(),
                            };
                            let r = self.occlusion_speed * stamp.seconds_since(then);
                            h.reach.push((nalgebra::Point3::new(xy.x, xy.y, p.z), r));
                        }
                        _ => left.push(i),
                    }
                }
                h.unbounded = left;
                h.whole = h.unbounded.is_empty();
            }
            let entry = match self.keypoints_seen.iter().position(|(id, _)| *id == h.id) {
                Some(k) => k,
                None => {
                    self.keypoints_seen.push((h.id, [None; crate::skeleton::NUM_KEYPOINTS]));
                    self.keypoints_seen.len() - 1
                }
            };
            let memory = &mut self.keypoints_seen[entry].1;
            for (&i, p) in h.indices.iter().zip(&h.points) {
                if let Some(slot) = memory.get_mut(i) {
                    if slot.is_none_or(|(s, _)| s <= stamp) {
                        *slot = Some((stamp, *p));
                    }
                }
            }
        }
    }

    fn compensate(&self, from: Stamp, now: Stamp, humans: &mut [HumanPoints]) {
        if let Some(ego) = &self.ego {
            let to_now = ego.since(from, now).inverse();
            for h in humans {
                h.map_points(|p| to_now * p);
            }
        }
    }

    /// Predictions moved into the robot frame at `now` (clones; unchanged when compensation is off).
    fn compensated_predictions(&self, now: Stamp, predictions: &[&HumanPrediction]) -> Vec<HumanPrediction> {
        predictions
            .iter()
            .map(|p| {
                let mut p = (*p).clone();
                if let Some(ego) = &self.ego {
                    let to_now = ego.since(p.stamp, now).inverse();
                    for step in &mut p.future {
                        for q in step.iter_mut() {
                            let xy = to_now * q.xy();
                            q.x = xy.x;
                            q.y = xy.y;
                        }
                    }
                }
                p
            })
            .collect()
    }

    /// The separation monitor (for `S_p` queries).
    pub fn separation(&self) -> &SeparationMonitor {
        &self.separation
    }

    /// Runs all stages for one cycle and folds their outcomes (see the module docs).
    pub fn step(&mut self, input: SafetyInput<'_>) -> SafetyOutput {
        let now = input.now;
        let mut fold = Fold::new();
        let validated = self.validator.validate(now, &input.command, input.skeletons, input.predictions);
        let Validated { outcome, mut humans, predictions: valid } = validated;
        let frame_stamp = input.skeletons.filter(|_| !outcome.has_fault()).map(|f| f.stamp);
        let command = fold.add(outcome);
        let seen = humans.len();
        self.with_memory(now, frame_stamp, &mut humans);
        let age = input.skeletons.map_or(0.0, |f| now.seconds_since(f.stamp).max(0.0));
        let predictions = self.compensated_predictions(now, &valid);
        let predictions: Vec<&HumanPrediction> = predictions.iter().collect();
        let ssm = self.separation.limit(now, &command, &humans, &predictions, age);
        let output = if ssm.slid {
            // The drive's limits move each axis toward the slide at its own rate, so what leaves the chain is
            // not the slide itself: where the monitor would not let it through, this cycle goes on without the
            // slide (as a differential drive would).
            let saved = (self.zones.clone(), self.watchdog.clone(), self.limiter.clone());
            let slid = self.downstream(&input, fold.clone(), &ssm, &humans, seen);
            if slid.forced_stop || self.separation.admits(now, &slid.twist, &humans, &predictions, age) {
                slid
            } else {
                (self.zones, self.watchdog, self.limiter) = saved;
                let ssm = self.separation.limit_with(now, &command, &humans, &predictions, age, false);
                self.downstream(&input, fold, &ssm, &humans, seen)
            }
        } else {
            self.downstream(&input, fold, &ssm, &humans, seen)
        };
        if let Some(ego) = &mut self.ego {
            ego.record(now, output.twist);
        }
        output
    }

    /// The stages after separation monitoring (zones, watchdog, drive limits) on the command `ssm` passes on.
    fn downstream(
        &mut self,
        input: &SafetyInput<'_>,
        mut fold: Fold,
        ssm: &SeparationResult,
        humans: &[HumanPoints],
        seen: usize,
    ) -> SafetyOutput {
        let now = input.now;
        let mut outcome = ssm.outcome(seen);
        if humans.len() > seen {
            outcome.reasons.push(Reason::OccludedHumanRemembered);
        }
        let command = fold.add(outcome);
        let sep = self.separation.config();
        let zoned = self.zones.limit(self.separation.body(), &sep.approach_tolerance, &command, humans);
        let urgent = ssm.scale < 1.0 || zoned.scale < 1.0;
        let command = fold.add(zoned);
        let freshness = input.skeletons.map(|f| input.skeletons_arrival.map_or(f.stamp, |a| a.min(f.stamp)));
        let command = fold.add(self.watchdog.check(now, freshness, &command));
        let fault = fold.fault;
        let forced = fault || input.inhibit.is_some();
        let (twist, speed_scale) = if !forced {
            let twist = fold.add(self.limiter.step(now, &command, urgent));
            (twist, fold.scale)
        } else {
            self.limiter.reset(now);
            if !fold.reasons.contains(&Reason::ForcedStop) {
                fold.reasons.push(Reason::ForcedStop);
            }
            (Twist::ZERO, 0.0)
        };
        let shape = self.separation.body();
        let required_separation = match ssm.nearest {
            Some((id, _)) => humans
                .iter()
                .find(|h| h.id == id)
                .and_then(|h| {
                    let p = h.points.iter().min_by(|a, b| shape.distance(a).total_cmp(&shape.distance(b)))?;
                    Some(self.separation.required_separation_toward(&twist, h, p))
                })
                .unwrap_or(ssm.required_separation),
            None => 0.0,
        };
        SafetyOutput {
            twist,
            speed_scale,
            nearest: ssm.nearest,
            required_separation,
            human_speed: ssm.human_speed,
            humans_seen: input.skeletons.map_or(0, |f| f.humans.len()),
            predictions_used: ssm.predictions_used,
            forced_stop: forced,
            fault,
            zone: self.zones.zone(),
            reasons: fold.reasons,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::{HumanSkeleton, Keypoint, NUM_KEYPOINTS};
    use nalgebra::Point3;

    /// A person standing beside the robot's path, 0.45 m from its surface (inside `S_p(0)`), every keypoint
    /// below the base's top; `drop` leaves one keypoint out.
    fn beside(stamp: Stamp, drop: Option<usize>) -> SkeletonFrame {
        let mut keypoints = [Keypoint::MISSING; NUM_KEYPOINTS];
        for (i, k) in keypoints.iter_mut().enumerate() {
            if Some(i) != drop {
                let p = Point3::new(-0.2 + 0.01 * i as f64, 0.75 + 0.005 * (i % 3) as f64, 0.1 + 0.02 * i as f64);
                *k = Keypoint { position: p, confidence: 0.9 };
            }
        }
        SkeletonFrame { stamp, frame_id: "base_link".into(), humans: vec![HumanSkeleton { id: 5, keypoints }] }
    }

    fn run(config: SafetyConfig) -> SafetyOutput {
        let mut chain = SafetyChain::new(config);
        let slide = Twist::planar(0.3, 0.0, 0.0);
        let mut out = None;
        for k in 0..=12 {
            let now = Stamp::from_secs_f64(k as f64 / 30.0);
            // The last frame misses the left ankle (a dropout).
            let frame = beside(now, (k == 12).then_some(crate::skeleton::keypoint::LEFT_ANKLE));
            let input = SafetyInput {
                now,
                command: slide,
                skeletons: Some(&frame),
                skeletons_arrival: Some(now),
                predictions: &[],
                inhibit: None,
            };
            out = Some(chain.step(input));
        }
        out.expect("ran")
    }

    /// A person standing ahead and to the left, 0.3–0.4 m from the surface, seen whole.
    fn ahead_left(stamp: Stamp) -> SkeletonFrame {
        let mut keypoints = [Keypoint::MISSING; NUM_KEYPOINTS];
        for (i, k) in keypoints.iter_mut().enumerate() {
            let p = Point3::new(0.55 + 0.01 * (i % 4) as f64, 0.35 + 0.01 * (i % 3) as f64, 0.1 + 0.02 * i as f64);
            *k = Keypoint { position: p, confidence: 0.9 };
        }
        SkeletonFrame { stamp, frame_id: "base_link".into(), humans: vec![HumanSkeleton { id: 6, keypoints }] }
    }

    /// One cycle at `frame`'s stamp, the operator pushing straight ahead at 0.4 m/s.
    fn push(chain: &mut SafetyChain, frame: &SkeletonFrame) -> SafetyOutput {
        chain.step(SafetyInput {
            now: frame.stamp,
            command: Twist::planar(0.4, 0.0, 0.0),
            skeletons: Some(frame),
            skeletons_arrival: Some(frame.stamp),
            predictions: &[],
            inhibit: None,
        })
    }

    /// The operator pushes straight ahead at 0.4 m/s for 1 s with the person of [`ahead_left`].
    fn push_ahead(config: SafetyConfig) -> (SafetyOutput, SkeletonFrame) {
        let mut chain = SafetyChain::new(config);
        let mut out = None;
        let mut frame = ahead_left(Stamp(0));
        for k in 0..=30 {
            frame = ahead_left(Stamp::from_secs_f64(k as f64 / 30.0));
            out = Some(push(&mut chain, &frame));
        }
        (out.expect("ran"), frame)
    }

    #[test]
    fn the_chain_slides_past_only_where_the_platform_moves_sideways() {
        // Holonomic (the defaults allow vy up to 0.5 m/s): the push becomes a slide to the right that approaches
        // no point of the person.
        let config = SafetyConfig::default();
        let (out, frame) = push_ahead(config.clone());
        assert!(out.reasons.contains(&Reason::SsmSlidePast), "{:?}", out.reasons);
        assert!(out.twist.linear.y < -0.05 && out.twist.linear.x > 0.0, "{:?}", out.twist);
        let monitor = SeparationMonitor::new(config.separation.clone());
        for k in &frame.humans[0].keypoints {
            let rel = monitor.body().relation(&out.twist, &k.position);
            assert!(!rel.approaches(&config.separation.approach_tolerance), "{rel:?}");
        }
        // A differential drive (no vy): the push stops, nothing sideways.
        let mut diff = SafetyConfig::default();
        diff.limits.max_velocity[1] = 0.0;
        let (out, _) = push_ahead(diff);
        assert!(out.reasons.contains(&Reason::SsmStop), "{:?}", out.reasons);
        assert_eq!(out.twist.linear.y, 0.0);
        assert_eq!(out.twist.linear.x, 0.0);
        // Holonomic with `slide_past: false`: stops as well.
        let mut off = SafetyConfig::default();
        off.separation.slide_past = false;
        let (out, _) = push_ahead(off);
        assert!(out.reasons.contains(&Reason::SsmStop), "{:?}", out.reasons);
        assert_eq!(out.twist.linear.y, 0.0);
    }

    #[test]
    fn an_id_seen_next_too_far_away_leaves_its_last_sighting_remembered() {
        // Someone stands 0.55 m ahead (id 6); the operator pushes ahead on a differential drive: stopped. Then
        // id 6 is seen 4 m away (a tracker that gave the id to someone else, or a forged capture moving them):
        // where they stood stays an obstacle for `occlusion_memory`, as if they had left the view.
        let mut config = SafetyConfig::default();
        config.limits.max_velocity[1] = 0.0;
        let mut chain = SafetyChain::new(config.clone());
        let step = |chain: &mut SafetyChain, k: u32, x_shift: f64| {
            let mut frame = ahead_left(Stamp::from_secs_f64(f64::from(k) / 30.0));
            for k in frame.humans[0].keypoints.iter_mut() {
                k.position.x += x_shift;
            }
            push(chain, &frame)
        };
        for k in 0..=15 {
            step(&mut chain, k, 0.0);
        }
        let out = step(&mut chain, 16, 4.0);
        assert!(out.reasons.contains(&Reason::SsmStop) && out.twist == Twist::ZERO, "{:?}", out.reasons);
        assert!(out.reasons.contains(&Reason::OccludedHumanRemembered), "{:?}", out.reasons);
        // Moved by what a person walks in a frame: the same person, nothing remembered.
        let mut chain = SafetyChain::new(config);
        for k in 0..=15 {
            step(&mut chain, k, 0.0);
        }
        let out = step(&mut chain, 16, 0.05);
        assert!(!out.reasons.contains(&Reason::OccludedHumanRemembered), "{:?}", out.reasons);
        assert!(same_person([Point3::new(1.0, 0.0, 0.0)], [Point3::new(1.5, 0.0, 0.0)], 0.05));
        assert!(!same_person([Point3::new(1.0, 0.0, 0.0)], [Point3::new(1.51, 0.0, 0.0)], 0.05));
        assert!(same_person([Point3::new(1.0, 0.0, 0.0)], [], 0.05));
    }

    #[test]
    fn a_dropped_keypoint_is_remembered_and_the_person_stays_whole() {
        // Sliding past a person standing still, seen whole: goes on, also through a one-frame dropout.
        let out = run(SafetyConfig::default());
        assert!(!out.reasons.contains(&Reason::SsmStop), "{:?}", out.reasons);
        assert!(out.twist.linear.x > 0.0);
        // Without the keypoint memory the dropout makes the person seen in part: the slide is stopped.
        let out = run(SafetyConfig { keypoint_memory: 0.0, ..SafetyConfig::default() });
        assert!(out.reasons.contains(&Reason::SsmStop), "{:?}", out.reasons);
    }
}
