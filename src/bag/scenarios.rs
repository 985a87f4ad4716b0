//! Scenario bags: closed-loop runs of the shared generator ([`intent_shared_control_sim::scenario`], through
//! the simulator's [`ScenarioHumans`]) recorded as the live system would record them, for the bag suite.
//!
//! Per control tick (50 Hz) the generator: integrates the robot's pose with the previous output (planar,
//! exact) and publishes it as odometry, polls the humans and moves the observed skeletons into the robot frame
//! at their capture stamp, runs the [`IntentPredictor`] on them as the predictor node does (the shipped ONNX
//! model by default, tracks kept in the odometry frame), publishes the scripted joystick (an operator who
//! re-arms when the status asks for it), gives every input to the node's [`InputHandler`] at its log time,
//! decides, and records `odom`, `joy`, `humans/skeletons`, `humans/intent`, `cmd_vel`,
//! `shared_control/status`, `/clock` and `/ground_truth/humans` (true keypoints of every human in the robot
//! frame, for the judge). The log time of
//! every message is the tick's time plus a fixed arrival delay per topic (skeleton stamps are the capture
//! times, up to one frame older); the generator decides 4 ms after the tick. Each kind adds its disturbance (dropout, NaN burst, joystick loss, clock jump).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::model::{ConstantVelocityConfig, ConstantVelocityModel, IntentModel, PredictionSource};
use intent_shared_control_core::odometry::{OdometryConfig, OdometryHistory};
use intent_shared_control_core::planar::RobotPose;
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_core::skeleton::{HumanSkeleton, Keypoint, SkeletonFrame};
use intent_shared_control_core::{ControllerConfig, InputHandler, Stamp, Twist};
use intent_shared_control_sim::scenario::{NoiseConfig, ScenarioConfig};
use intent_shared_control_sim::sim::{HumanSource, ScenarioHumans};
use intent_shared_control_sim::walkers::{WalkerConfig, WalkerFamily, WalkerHumans};
use nalgebra::Isometry2;
use r2r::builtin_interfaces::msg::Time;
use r2r::intent_shared_control_msgs::msg as isc;
use r2r::rosgraph_msgs::msg::Clock;
use r2r::sensor_msgs::msg::Joy;
use r2r::std_msgs::msg::Header;
use r2r::WrappedTypesupport;

use crate::bag::replay::{skeletons_to_msg, topics};
use crate::bag::{BagMessage, BagWriter};
use crate::ros::convert;

/// The suite's scenarios.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ScenarioKind {
    /// One person walks up to the robot while the operator drives toward them.
    Intrusion,
    /// One person crosses in front of the driving robot.
    PassBy,
    /// One person reaches out to hand something over; the operator creeps forward.
    HandOver,
    /// One person steps back from the robot.
    Retreat,
    /// Four people with mixed intents.
    SeveralHumans,
    /// Intrusion with no skeleton messages for 0.6 s.
    SkeletonDropout,
    /// Pass-by with NaN keypoints for 0.3 s and NaN joystick axes for 0.1 s.
    NanBurst,
    /// Pass-by with no joystick messages for 1.5 s.
    JoystickLoss,
    /// Pass-by whose clock jumps back 2 s (a bag loop or a restarted simulator).
    ClockJump,
    /// A walker heading at the robot who does not stop (0.8–2.0 m/s, any facing, with or without a gait); the
    /// operator drives at full speed (turbo).
    WalkerHeadOn,
    /// A walker overtaking the robot from behind (1.2–2.0 m/s); operator at full speed.
    WalkerOvertaking,
    /// A walker crossing the path 1–4 m ahead (0.8–2.0 m/s); operator at full speed.
    WalkerCrossing,
    /// A person standing 1.0–1.5 m away who starts walking at the robot; operator at full speed.
    WalkerStart,
    /// A walker who slows down near the robot and speeds up again; operator at full speed.
    WalkerSlowFast,
}

/// Where the humans of a scenario come from.
enum Humans {
    Scenario(ScenarioConfig),
    Walkers(WalkerConfig),
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 14] = [
        ScenarioKind::Intrusion,
        ScenarioKind::PassBy,
        ScenarioKind::HandOver,
        ScenarioKind::Retreat,
        ScenarioKind::SeveralHumans,
        ScenarioKind::SkeletonDropout,
        ScenarioKind::NanBurst,
        ScenarioKind::JoystickLoss,
        ScenarioKind::ClockJump,
        ScenarioKind::WalkerHeadOn,
        ScenarioKind::WalkerOvertaking,
        ScenarioKind::WalkerCrossing,
        ScenarioKind::WalkerStart,
        ScenarioKind::WalkerSlowFast,
    ];

    /// Name used for bag directories and reports.
    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::Intrusion => "intrusion",
            ScenarioKind::PassBy => "pass_by",
            ScenarioKind::HandOver => "hand_over",
            ScenarioKind::Retreat => "retreat",
            ScenarioKind::SeveralHumans => "several_humans",
            ScenarioKind::SkeletonDropout => "skeleton_dropout",
            ScenarioKind::NanBurst => "nan_burst",
            ScenarioKind::JoystickLoss => "joystick_loss",
            ScenarioKind::ClockJump => "clock_jump",
            ScenarioKind::WalkerHeadOn => "walker_head_on",
            ScenarioKind::WalkerOvertaking => "walker_overtaking",
            ScenarioKind::WalkerCrossing => "walker_crossing",
            ScenarioKind::WalkerStart => "walker_start",
            ScenarioKind::WalkerSlowFast => "walker_slow_fast",
        }
    }

    /// Parses [`ScenarioKind::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Humans of the scenario, the operator's forward stick [-1, 1] and whether the turbo button is held.
    fn setup(self) -> (Humans, f32, bool) {
        let walkers = |family| {
            let c = WalkerConfig { duration_s: 10.0, humans: [1, 1], ..WalkerConfig::only(family) };
            (Humans::Walkers(c), 1.0, true)
        };
        let (scenario, forward) = match self {
            ScenarioKind::WalkerHeadOn => return walkers(WalkerFamily::HeadOn),
            ScenarioKind::WalkerOvertaking => return walkers(WalkerFamily::Overtaking),
            ScenarioKind::WalkerCrossing => return walkers(WalkerFamily::Crossing),
            ScenarioKind::WalkerStart => return walkers(WalkerFamily::StartFromStanding),
            ScenarioKind::WalkerSlowFast => return walkers(WalkerFamily::SlowDownSpeedUp),
            other => other.scenario_setup(),
        };
        (Humans::Scenario(scenario), forward, false)
    }

    /// The scenario generator's humans of the non-walker kinds and the operator's forward stick.
    fn scenario_setup(self) -> (ScenarioConfig, f32) {
        // intent weights in label order: idle, pass_by, approach_robot, reach_handover, retreat
        let only = |i: usize| {
            let mut w = [0.0; 5];
            w[i] = 1.0;
            w
        };
        let base = ScenarioConfig {
            duration_s: 10.0,
            start_stamp_ns: START_STAMP_NS,
            humans: [1, 1],
            onset_s: [1.0, 2.0],
            max_start_bearing_rad: 0.5,
            ..ScenarioConfig::default()
        };
        match self {
            ScenarioKind::Intrusion | ScenarioKind::SkeletonDropout => {
                (ScenarioConfig { intent_weights: only(2), start_distance_m: [3.5, 4.5], ..base }, 0.8)
            }
            ScenarioKind::PassBy | ScenarioKind::NanBurst | ScenarioKind::JoystickLoss | ScenarioKind::ClockJump => {
                (ScenarioConfig { intent_weights: only(1), pass_distance_m: [1.0, 2.0], ..base }, 0.6)
            }
            ScenarioKind::HandOver => (ScenarioConfig { intent_weights: only(3), ..base }, 0.3),
            ScenarioKind::Retreat => (ScenarioConfig { intent_weights: only(4), ..base }, 0.6),
            ScenarioKind::SeveralHumans => {
                (ScenarioConfig { humans: [4, 4], max_start_bearing_rad: 1.3, onset_s: [1.0, 5.0], ..base }, 0.6)
            }
            _ => (base, 0.6),
        }
    }
}

/// Generator options.
#[derive(Clone, Debug)]
pub struct GeneratorOptions {
    pub controller: ControllerConfig,
    /// Control and joystick rate \[Hz\].
    pub control_rate: f64,
    /// Sensor noise of the skeletons (the generator's default; [`NoiseConfig::none`] for exact skeletons).
    pub noise: NoiseConfig,
    /// frame_id of the skeletons and commands.
    pub frame_id: String,
    /// What predicts the humans' intents.
    pub predictor: GeneratorPredictor,
}

/// The predictor of a generated bag.
#[derive(Clone, Debug, PartialEq)]
pub enum GeneratorPredictor {
    /// The constant-velocity baseline (uniform intents, so the chain uses the conservative human speed).
    ConstantVelocity,
    /// An ONNX model on CPU: its card, and the ONNX Runtime library (`None`: the inference crate's
    /// `default_ort_library`).
    Model { card: PathBuf, ort_lib: Option<PathBuf> },
}

impl GeneratorPredictor {
    /// The shipped model (`models/intent_model.card.json` of this package).
    pub fn shipped_model() -> Self {
        GeneratorPredictor::Model {
            card: Path::new(env!("CARGO_MANIFEST_DIR")).join("models/intent_model.card.json"),
            ort_lib: None,
        }
    }
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        GeneratorOptions {
            controller: ControllerConfig::default(),
            control_rate: 50.0,
            noise: NoiseConfig::default(),
            frame_id: "base_link".into(),
            predictor: GeneratorPredictor::shipped_model(),
        }
    }
}

/// Arrival of each input after the tick [s]: distinct receive times, as a recorder sees them (a decision
/// taken twice at one stamp holds the previous output in the motion limiter).
const ARRIVAL_ODOM_S: f64 = 0.0005;
const ARRIVAL_SKELETONS_S: f64 = 0.001;
const ARRIVAL_INTENT_S: f64 = 0.002;
const ARRIVAL_JOY_S: f64 = 0.003;
/// The generator's decision after the tick [s] (after the inputs arrived).
const DECISION_S: f64 = 0.004;
/// The scripted operator notices a robot waiting for a re-arm after this long [s] ...
const REARM_REACTION_S: f64 = 0.3;
/// ... and lets go of the deadman for this long [s].
const REARM_RELEASE_S: f64 = 0.1;

/// `log_time`: when the recorder received it (the tick time; header stamps may be older).
fn encode<T: WrappedTypesupport>(topic: &str, msg_type: &str, log_time: Stamp, msg: &T) -> anyhow::Result<BagMessage> {
    BagMessage::encode(topic, msg_type, log_time.0, msg)
}

fn time(s: Stamp) -> Time {
    convert::stamp_to_msg(s)
}

/// Start of bag time [ns].
const START_STAMP_NS: i64 = 1_700_000_000_000_000_000;

/// A human source whose time starts at `offset` instead of 0.
struct Shifted<H> {
    inner: H,
    offset: Stamp,
}

impl<H: HumanSource> HumanSource for Shifted<H> {
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame> {
        let mut f = self.inner.poll(Stamp(now.0 - self.offset.0))?;
        f.stamp = Stamp(f.stamp.0 + self.offset.0);
        Some(f)
    }

    fn truth(&self, stamp: Stamp) -> Vec<intent_shared_control_sim::sim::TrueHuman> {
        self.inner.truth(Stamp(stamp.0 - self.offset.0))
    }

    fn end(&self) -> Stamp {
        Stamp(self.inner.end().0 + self.offset.0)
    }
}

/// Generates the messages of scenario `kind` with `seed` (file order).
pub fn generate(kind: ScenarioKind, seed: u64, options: &GeneratorOptions) -> anyhow::Result<Vec<BagMessage>> {
    let (source, forward, turbo) = kind.setup();
    let start = Stamp(START_STAMP_NS);
    let (mut humans, duration): (Box<dyn HumanSource>, f64) = match source {
        Humans::Scenario(mut scfg) => {
            scfg.noise = options.noise.clone();
            scfg.frame_id = options.frame_id.clone();
            scfg.start_stamp_ns = START_STAMP_NS;
            let d = scfg.duration_s;
            (Box::new(ScenarioHumans::new(scfg, seed).context("scenario")?), d)
        }
        Humans::Walkers(mut wcfg) => {
            wcfg.noise = options.noise.clone();
            let d = wcfg.duration_s;
            let w = WalkerHumans::new(wcfg, seed).context("walkers")?;
            (Box::new(Shifted { inner: w, offset: start }), d)
        }
    };
    // The node's own input handling: every input is given to it at its arrival (log) time.
    let mut controller = InputHandler::new(options.controller.clone()).context("controller configuration")?;
    // The operator re-arms (releases the deadman for a few messages, then presses it again) once the status
    // has said `awaiting_rearm` for `REARM_REACTION_S`.
    let mut waiting_since: Option<f64> = None;
    let (model, source, version): (Box<dyn IntentModel + Send>, PredictionSource, String) = match &options.predictor {
        GeneratorPredictor::ConstantVelocity => (
            Box::new(ConstantVelocityModel::new(ConstantVelocityConfig::default()).context("constant-velocity model")?),
            PredictionSource::ConstantVelocity,
            "constant_velocity".into(),
        ),
        GeneratorPredictor::Model { card, ort_lib } => {
            let m = crate::bag::replay::load_cpu_model(card, ort_lib.as_deref()).context("intent model")?;
            let version = format!("{} {}", m.info().name, m.info().version);
            (m, PredictionSource::Model, version)
        }
    };
    let provider = if source == PredictionSource::Model { "cpu" } else { "constant_velocity" };
    let mut predictor = IntentPredictor::new(FeatureConfig::default(), model, 64).context("feature pipeline")?;
    predictor.use_odometry(OdometryConfig::default()).context("odometry")?;
    // The robot's true poses (nominal time), to put each observation in the robot frame at its capture stamp.
    let mut true_poses = OdometryHistory::new(OdometryConfig::default()).context("pose history")?;
    let dt = 1.0 / options.control_rate;
    let mut pose = Isometry2::identity();
    let mut output = Twist::ZERO;
    let mut out = Vec::new();
    let frame_id = options.frame_id.as_str();
    let mut k: i64 = 0;
    loop {
        let t = k as f64 * dt;
        if t > duration + 1e-9 {
            break;
        }
        k += 1;
        // Robot motion over the last period (exact for the output held over it).
        if k > 1 {
            pose.integrate(&output, dt);
        }
        let (x, y, yaw) = (pose.translation.vector.x, pose.translation.vector.y, pose.rotation.angle());
        let nominal = start.add_secs(t);
        // Published time: the clock jump shifts every stamp back 2 s from 5 s on.
        let shift = if kind == ScenarioKind::ClockJump && t >= 5.0 { -2.0 } else { 0.0 };
        let now = nominal.add_secs(shift);
        out.push(encode(topics::CLOCK, topics::CLOCK_TYPE, now, &Clock { clock: time(now) })?);
        true_poses.push(nominal, x, y, yaw);
        let odom = convert::odometry_to_msg(
            &convert::PlanarPose { stamp: now, x, y, yaw },
            convert::ODOM_FRAME,
            frame_id,
            &output,
        );
        out.push(encode(topics::ODOM, topics::ODOM_TYPE, now.add_secs(ARRIVAL_ODOM_S), &odom)?);
        if let Ok(o) = convert::odometry_from_msg(&odom, convert::ODOM_FRAME, frame_id) {
            predictor.push_odometry(o.stamp, o.x, o.y, o.yaw);
        }

        // Ground truth (robot frame).
        let truth = humans.truth(nominal);
        let truth_frame = SkeletonFrame {
            stamp: now,
            frame_id: frame_id.to_owned(),
            humans: truth
                .iter()
                .map(|h| HumanSkeleton {
                    id: h.tracker_id,
                    keypoints: h.keypoints.map(|p| Keypoint { position: pose.to_robot(&p), confidence: 1.0 }),
                })
                .collect(),
        };
        out.push(encode(topics::TRUTH, topics::SKELETONS_TYPE, now, &skeletons_to_msg(&truth_frame))?);

        // Observed skeletons.
        if let Some(frame) = humans.poll(nominal) {
            let dropout = kind == ScenarioKind::SkeletonDropout && (4.0..4.6).contains(&t);
            if !dropout {
                let stamp = frame.stamp.add_secs(shift);
                let at = true_poses.at(frame.stamp).context("robot pose at a capture")?;
                let robot = SkeletonFrame {
                    stamp,
                    frame_id: frame_id.to_owned(),
                    humans: frame
                        .humans
                        .iter()
                        .map(|h| HumanSkeleton {
                            id: h.id,
                            keypoints: h.keypoints.map(|kp| {
                                if kp.is_observed() {
                                    Keypoint { position: at.to_robot(&kp.position), ..kp }
                                } else {
                                    kp
                                }
                            }),
                        })
                        .collect(),
                };
                let mut msg = skeletons_to_msg(&robot);
                if kind == ScenarioKind::NanBurst && (3.0..3.3).contains(&t) {
                    for h in &mut msg.humans {
                        for p in &mut h.keypoints {
                            p.x = f64::NAN;
                        }
                        h.confidence.iter_mut().for_each(|c| *c = 0.9);
                    }
                }
                // The system under test sees exactly what is recorded.
                let limits = convert::SkeletonLimits { max_humans: 64, expected_frame: frame_id.to_owned() };
                out.push(encode(topics::SKELETONS, topics::SKELETONS_TYPE, now.add_secs(ARRIVAL_SKELETONS_S), &msg)?);
                if let Ok(seen) = convert::skeletons_from_msg(&msg, &limits) {
                    let preds = predictor.predict_capture(&seen).unwrap_or_default();
                    let arr = isc::IntentPredictionArray {
                        header: Header { stamp: time(stamp), frame_id: frame_id.to_owned() },
                        predictions: preds.iter().map(|p| convert::prediction_to_msg(p, source)).collect(),
                        model_version: version.clone(),
                        execution_provider: provider.into(),
                        inference_time: 0.0,
                    };
                    out.push(encode(topics::INTENT, topics::INTENT_TYPE, now.add_secs(ARRIVAL_INTENT_S), &arr)?);
                    if let Ok(p) = convert::predictions_from_msg(&arr, 64) {
                        let _ = controller.on_predictions(now.add_secs(ARRIVAL_INTENT_S), stamp, p);
                    }
                    let _ = controller.on_skeletons(now.add_secs(ARRIVAL_SKELETONS_S), seen);
                }
            }
        }

        // Operator.
        let joy_lost = kind == ScenarioKind::JoystickLoss && (3.0..4.5).contains(&t);
        if !joy_lost {
            let fwd = if kind == ScenarioKind::NanBurst && (5.0..5.1).contains(&t) { f32::NAN } else { forward };
            let mut buttons = vec![0; 8];
            buttons[5] = i32::from(turbo);
            let release = waiting_since
                .is_some_and(|w| (w + REARM_REACTION_S..w + REARM_REACTION_S + REARM_RELEASE_S).contains(&t));
            buttons[4] = i32::from(!release);
            let joy = Joy {
                header: Header { stamp: time(now), frame_id: String::new() },
                axes: vec![0.0, fwd, 0.0, 0.0],
                buttons,
            };
            out.push(encode(topics::JOY, topics::JOY_TYPE, now.add_secs(ARRIVAL_JOY_S), &joy)?);
            let _ = controller.on_joy(now.add_secs(ARRIVAL_JOY_S), convert::joy_from_msg(&joy));
        }

        let decided = now.add_secs(DECISION_S);
        let d = controller.decide(decided);
        waiting_since = match waiting_since {
            Some(w) if d.awaiting_rearm && t < w + REARM_REACTION_S + REARM_RELEASE_S + 0.1 => Some(w),
            _ if d.awaiting_rearm => Some(t),
            _ => None,
        };
        out.push(encode(topics::CMD_VEL, topics::TWIST_STAMPED_TYPE, decided, &convert::cmd_vel_msg(&d, frame_id))?);
        out.push(encode(topics::STATUS, topics::STATUS_TYPE, decided, &convert::status_msg(&d, frame_id, 0.0))?);
        output = d.output;
    }
    Ok(out)
}

/// Writes `messages` as a bag directory `dir`.
pub fn write_bag(dir: &Path, messages: &[BagMessage]) -> anyhow::Result<PathBuf> {
    let mut w = BagWriter::create(dir)?;
    for m in messages {
        w.write_raw(&m.topic, &m.msg_type, m.log_time, &m.data)?;
    }
    w.finish()
}
