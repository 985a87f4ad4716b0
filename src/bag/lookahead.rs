//! What the replay's judge reads ahead of the decisions: every judged skeleton frame of the bag and the robot's
//! motion, so that it knows where each person really went in the second after a decision (the perfect forecast
//! the ground-truth judge compares the chain with, see [`intent_shared_control_sim::judge`]).
//!
//! Bag time may jump back (a looped bag, a restarted simulator): the bag is split into *epochs* at every jump
//! of the log time back by more than [`JUMP_BACK_S`], and a decision only looks ahead within its own epoch.
//! The robot's motion between two stamps comes from `/odom` when the epoch has it, else from integrating the
//! recorded `/cmd_vel`.

use intent_shared_control_core::odometry::{OdometryConfig, OdometryHistory};
use intent_shared_control_core::safety::EgoMotion;
use intent_shared_control_core::skeleton::{HumanId, HumanSkeleton, SkeletonFrame};
use intent_shared_control_core::Stamp;
use intent_shared_control_sim::judge::{FUTURE_STEPS, FUTURE_STEP_S};
use nalgebra::{Isometry2, Point2};
use r2r::geometry_msgs::msg as geo;
use r2r::intent_shared_control_msgs::msg as isc;

use crate::bag::BagMessage;
use crate::ros::convert::{self, SkeletonLimits};

/// A log time this far before the newest one starts a new epoch \[s\]; smaller steps back are reordering.
pub const JUMP_BACK_S: f64 = 0.5;
/// A frame counts for a future step when its stamp is within this of the step [s].
const STEP_TOLERANCE_S: f64 = 0.05;

/// Counts the epochs of a stream of log times (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct EpochCounter {
    newest: Option<Stamp>,
    epoch: usize,
}

impl EpochCounter {
    /// The epoch of a message with log time `t` (file order).
    pub fn see(&mut self, t: Stamp) -> usize {
        match self.newest {
            Some(n) if n.seconds_since(t) > JUMP_BACK_S => {
                self.epoch += 1;
                self.newest = Some(t);
            }
            Some(n) => self.newest = Some(n.max(t)),
            None => self.newest = Some(t),
        }
        self.epoch
    }

    /// The epoch of the newest message seen.
    pub fn current(&self) -> usize {
        self.epoch
    }
}

enum RobotMotion {
    Odometry(OdometryHistory),
    Commands(EgoMotion),
}

impl RobotMotion {
    /// The robot's pose at `to` in its frame at `from`.
    fn between(&self, from: Stamp, to: Stamp) -> Option<Isometry2<f64>> {
        match self {
            RobotMotion::Odometry(h) => Some(h.at(from).ok()?.inverse() * h.at(to).ok()?),
            RobotMotion::Commands(e) => Some(e.since(from, to)),
        }
    }
}

struct Epoch {
    /// Judged frames, by stamp.
    frames: Vec<SkeletonFrame>,
    motion: RobotMotion,
}

/// The bag's judged frames and robot motion, by epoch.
pub struct Lookahead {
    epochs: Vec<Epoch>,
}

/// The torso (hip midpoint) and wrists of `h`, as a forecast names them (a wrist not seen: the torso).
pub fn tracked_points(h: &HumanSkeleton) -> Option<[Point2<f64>; 3]> {
    h.tracked_points().map(|p| p.map(|q| q.xy()))
}

impl Lookahead {
    /// Reads `messages` (file order): the frames of `judged_topic`, the poses of `odom_topic` in `odom_frame`
    /// whose child frame is `robot_frame`, and the commands of `cmd_topic`.
    pub fn scan(
        messages: &[BagMessage],
        judged_topic: &str,
        odom_topic: &str,
        cmd_topic: &str,
        (odom_frame, robot_frame): (&str, &str),
    ) -> Self {
        let mut epochs = EpochCounter::default();
        let mut frames: Vec<Vec<SkeletonFrame>> = Vec::new();
        let mut poses: Vec<Vec<convert::PlanarPose>> = Vec::new();
        let mut commands: Vec<Vec<(Stamp, intent_shared_control_core::Twist)>> = Vec::new();
        let limits = SkeletonLimits { max_humans: usize::MAX, expected_frame: String::new() };
        for m in messages {
            let e = epochs.see(Stamp(m.log_time));
            while frames.len() <= e {
                frames.push(Vec::new());
                poses.push(Vec::new());
                commands.push(Vec::new());
            }
            if m.topic == judged_topic {
                if let Some(f) = m
                    .decode::<isc::HumanSkeletonArray>()
                    .ok()
                    .and_then(|msg| convert::skeletons_from_msg(&msg, &limits).ok())
                {
                    frames[e].push(f);
                }
            } else if m.topic == odom_topic {
                if let Some(p) = m
                    .decode::<r2r::nav_msgs::msg::Odometry>()
                    .ok()
                    .and_then(|msg| convert::odometry_from_msg(&msg, odom_frame, robot_frame).ok())
                {
                    poses[e].push(p);
                }
            } else if m.topic == cmd_topic {
                if let Ok(msg) = m.decode::<geo::TwistStamped>() {
                    commands[e].push((Stamp(m.log_time), convert::twist_from_msg(&msg.twist)));
                }
            }
        }
        let epochs = frames
            .into_iter()
            .zip(poses)
            .zip(commands)
            .map(|((mut frames, mut poses), mut commands)| {
                frames.sort_by_key(|f| f.stamp);
                let motion = if poses.is_empty() {
                    commands.sort_by_key(|c| c.0);
                    let mut ego = EgoMotion::new(f64::INFINITY);
                    for (t, c) in commands {
                        ego.record(t, c);
                    }
                    RobotMotion::Commands(ego)
                } else {
                    poses.sort_by_key(|p| p.stamp);
                    let config =
                        OdometryConfig { history_s: 1e9, capacity: poses.len().max(2), ..OdometryConfig::default() };
                    let mut h = OdometryHistory::new(config).expect("valid odometry config");
                    for p in poses {
                        h.push(p.stamp, p.x, p.y, p.yaw);
                    }
                    RobotMotion::Odometry(h)
                };
                Epoch { frames, motion }
            })
            .collect();
        Lookahead { epochs }
    }

    /// Torso and wrists of human `id` every [`FUTURE_STEP_S`] after `from` (up to [`FUTURE_STEPS`], stopping
    /// at the first step the bag cannot give), in the robot frame at `from`, within `epoch`.
    pub fn future(&self, epoch: usize, from: Stamp, id: HumanId) -> Vec<[Point2<f64>; 3]> {
        let Some(e) = self.epochs.get(epoch) else { return Vec::new() };
        let tolerance = Stamp::from_secs_f64(STEP_TOLERANCE_S).0;
        let mut out = Vec::with_capacity(FUTURE_STEPS);
        for k in 1..=FUTURE_STEPS {
            let t = from.add_secs(k as f64 * FUTURE_STEP_S);
            let i = e.frames.partition_point(|f| f.stamp < t);
            let nearest = [i.checked_sub(1), Some(i)]
                .into_iter()
                .flatten()
                .filter_map(|j| e.frames.get(j))
                .min_by_key(|f| (f.stamp.0 - t.0).abs())
                .filter(|f| (f.stamp.0 - t.0).abs() <= tolerance);
            let Some(frame) = nearest else { break };
            let Some(points) = frame.humans.iter().find(|h| h.id == id).and_then(tracked_points) else { break };
            let Some(motion) = e.motion.between(from, frame.stamp) else { break };
            out.push(points.map(|p| motion * p));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bag::replay::{skeletons_to_msg, topics};
    use intent_shared_control_core::skeleton::keypoint as kp;
    use intent_shared_control_core::skeleton::Keypoint;
    use intent_shared_control_core::{Twist, NUM_KEYPOINTS};

    /// A person standing at world `(px, py)` seen from a robot at world `(x, 0)` heading along x.
    fn frame(stamp: Stamp, robot_x: f64, person: [f64; 2]) -> SkeletonFrame {
        let mut keypoints = [Keypoint::MISSING; NUM_KEYPOINTS];
        for i in [kp::LEFT_HIP, kp::RIGHT_HIP, kp::LEFT_WRIST, kp::RIGHT_WRIST] {
            keypoints[i] =
                Keypoint { position: nalgebra::Point3::new(person[0] - robot_x, person[1], 1.0), confidence: 1.0 };
        }
        SkeletonFrame { stamp, frame_id: "base_link".into(), humans: vec![HumanSkeleton { id: 4, keypoints }] }
    }

    /// 3 s of a robot driving at 1 m/s past a standing person, at 50 Hz; the clock jumps back 2 s at 2 s
    /// when `jump`; with `/odom` or with `/cmd_vel` only.
    fn bag(odom: bool, jump: bool) -> Vec<BagMessage> {
        let mut out = Vec::new();
        for k in 0..150 {
            let nominal = k as f64 * 0.02;
            let x = nominal;
            let t = Stamp::from_secs_f64(100.0 + nominal - if jump && nominal >= 2.0 { 2.0 } else { 0.0 });
            let msg = skeletons_to_msg(&frame(t, x, [3.0, 0.5]));
            out.push(BagMessage::encode(topics::TRUTH, topics::SKELETONS_TYPE, t.0, &msg).unwrap());
            let pose = convert::PlanarPose { stamp: t, x, y: 0.0, yaw: 0.0 };
            let twist = Twist::planar(1.0, 0.0, 0.0);
            if odom {
                let m = convert::odometry_to_msg(&pose, convert::ODOM_FRAME, "base_link", &twist);
                out.push(BagMessage::encode(topics::ODOM, topics::ODOM_TYPE, t.0, &m).unwrap());
            } else {
                let header =
                    r2r::std_msgs::msg::Header { stamp: convert::stamp_to_msg(t), frame_id: "base_link".into() };
                let m = geo::TwistStamped { header, twist: convert::twist_to_msg(&twist) };
                out.push(BagMessage::encode(topics::CMD_VEL, topics::TWIST_STAMPED_TYPE, t.0, &m).unwrap());
            }
        }
        out
    }

    fn scan(messages: &[BagMessage]) -> Lookahead {
        Lookahead::scan(messages, topics::TRUTH, topics::ODOM, topics::CMD_VEL, (convert::ODOM_FRAME, "base_link"))
    }

    #[test]
    fn a_standing_person_stays_put_in_the_frame_of_the_decision() {
        for odom in [true, false] {
            let l = scan(&bag(odom, false));
            let from = Stamp::from_secs_f64(101.0);
            let f = l.future(0, from, 4);
            assert_eq!(f.len(), FUTURE_STEPS, "odom {odom}");
            // The robot is at x = 1 at `from`: the person stays at (2, 0.5) in that frame.
            for step in &f {
                for p in step {
                    assert!((p - Point2::new(2.0, 0.5)).norm() < 0.03, "odom {odom}: {p}");
                }
            }
            // Near the end of the bag the future is cut short; an unknown person has none.
            assert_eq!(l.future(0, Stamp::from_secs_f64(102.75), 4).len(), 2);
            assert!(l.future(0, from, 5).is_empty());
        }
    }

    #[test]
    fn a_clock_jump_keeps_the_epochs_apart() {
        let messages = bag(true, true);
        let l = scan(&messages);
        // Stamp 100.5 s exists before the jump (robot at x = 0.5) and after it (robot at 2.5, the bag ends 0.5 s
        // later): each epoch sees its own future.
        let t = Stamp::from_secs_f64(100.5);
        let before = l.future(0, t, 4);
        let after = l.future(1, t, 4);
        assert_eq!((before.len(), after.len()), (FUTURE_STEPS, 5));
        assert!((before[0][0] - Point2::new(2.5, 0.5)).norm() < 0.03, "{}", before[0][0]);
        assert!((after[0][0] - Point2::new(0.5, 0.5)).norm() < 0.03, "{}", after[0][0]);
        let mut c = EpochCounter::default();
        assert_eq!(messages.iter().map(|m| c.see(Stamp(m.log_time))).max(), Some(1));
    }

    #[test]
    fn epochs_start_at_jumps_back_only() {
        let mut c = EpochCounter::default();
        let s = Stamp::from_secs_f64;
        assert_eq!([s(1.0), s(2.0), s(1.8), s(3.0), s(0.5), s(0.6)].map(|t| c.see(t)), [0, 0, 0, 0, 1, 1]);
        assert_eq!(c.current(), 1);
    }
}
