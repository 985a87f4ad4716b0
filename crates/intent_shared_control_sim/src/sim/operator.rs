//! The scripted operator: its configuration and its joystick.

use super::*;

/// Travel a realistic operator sees as the robot moving \[m\]: less within [`OperatorConfig::stuck_s`] is held.
const VISIBLE_TRAVEL: f64 = 0.05;
/// Turn a realistic operator sees as the robot moving \[rad\] (about 6°).
const VISIBLE_TURN: f64 = 0.1;

/// Scripted operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorConfig {
    /// Probability that the operator of a run is careless [0, 1].
    pub careless_probability: f64,
    /// A careless operator starts watching out after being held this long: commanded below 1 cm/s (today's
    /// operator), or moved less than 5 cm and turned less than 6° (a realistic one, see
    /// [`OperatorConfig::realistic`]) \[s\].
    pub wake_up_s: f64,
    /// Stick deflection per radian of heading error [1/rad].
    pub heading_gain: f64,
    /// A careful operator steers around people closer than this \[m\] and slows down near them.
    pub caution_distance: f64,
    /// Uses the turbo button when nobody is within `2 · caution_distance`.
    pub use_turbo: bool,
    /// When the robot waits for a re-arm (status `awaiting_rearm`), the operator notices after this long,
    /// releases the deadman for `rearm_release_s`, then presses it again \[s\].
    pub rearm_reaction_s: f64,
    /// How long the operator lets go of the deadman to re-arm \[s\].
    pub rearm_release_s: f64,
    /// The operator already holds the deadman when the robot comes up, so the run starts with a re-arm (the
    /// chain never takes a deadman held through bring-up as a press). `false`: the operator takes the pad once
    /// the robot is up and presses the deadman to start the run (the first joystick message shows it
    /// released), as they do with raw teleop.
    pub deadman_held_at_bring_up: bool,
    /// The pad, just picked up, reads the deadman released for at least this long before the operator presses
    /// it (with raw teleop too): a release that re-arms spans `teleop.deadman_confirm` \[s\].
    pub pad_released_s: f64,
    /// A realistic operator: held for [`OperatorConfig::stuck_s`] (the robot moved less than 5 cm and turned
    /// less than 6° in that time: a creep of millimetres a cycle is no progress to someone watching it) with
    /// someone within `caution_distance`, they try a way out for [`OperatorConfig::escape_s`]: reverse while
    /// turning away when the nearest person is ahead (within ±60°), otherwise turn away from them on the spot; then go
    /// straight on for as long (around the person), then head for the goal again. `false`: today's scripted
    /// operator, who keeps pushing toward the goal.
    pub realistic: bool,
    /// Realistic operator: held this long before trying a way out \[s\].
    pub stuck_s: f64,
    /// Realistic operator: length of one way-out manoeuvre \[s\].
    pub escape_s: f64,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        OperatorConfig {
            careless_probability: 0.3,
            wake_up_s: 2.0,
            heading_gain: 1.5,
            caution_distance: 1.5,
            use_turbo: true,
            rearm_reaction_s: 0.3,
            rearm_release_s: 0.1,
            deadman_held_at_bring_up: false,
            pad_released_s: 0.1,
            realistic: false,
            stuck_s: 1.0,
            escape_s: 1.5,
        }
    }
}

/// The scripted operator's joystick.
pub(super) struct Operator {
    pub(super) config: OperatorConfig,
    pub(super) careless: bool,
    pub(super) still_since: Option<f64>,
    /// Since when the robot has been waiting for a re-arm, as the operator sees it on the status.
    pub(super) waiting_since: Option<f64>,
    /// A realistic operator's way-out manoeuvre: until when, forward stick and yaw stick.
    pub(super) escape: Option<(f64, f32, f32)>,
    /// Where the robot was (x, y, heading) when it last moved visibly, and when: a realistic operator judges
    /// being held by what they see, so a creep of a few millimetres a cycle does not count as moving.
    pub(super) last_moved: Option<(f64, f64, f64, f64)>,
    /// The operator has taken the pad (see [`OperatorConfig::deadman_held_at_bring_up`]).
    pub(super) started: bool,
}

impl Operator {
    /// Follows the status: a robot waiting for a re-arm gets the deadman released after the reaction time,
    /// then pressed again; `ready`: the last status showed no fault (the inputs are in). Returns whether the
    /// deadman is held now.
    pub(super) fn deadman(&mut self, t: f64, awaiting_rearm: bool, ready: bool) -> bool {
        if !self.config.deadman_held_at_bring_up && !self.started {
            // Takes the pad once the robot is up and its status shows its inputs in, the pad having read
            // released for `pad_released_s`: released until then, then the press that starts the run.
            self.started = ready && t >= self.config.pad_released_s;
            return self.started;
        }
        if !awaiting_rearm {
            self.waiting_since = None;
            return true;
        }
        let since = *self.waiting_since.get_or_insert(t);
        let release_at = since + self.config.rearm_reaction_s;
        if t >= release_at + self.config.rearm_release_s {
            // Pressed again; if the robot still waits (the release was not seen), try once more.
            self.waiting_since = Some(t);
        }
        !(release_at..release_at + self.config.rearm_release_s).contains(&t)
    }

    /// A realistic operator's way out (see [`OperatorConfig::realistic`]): the axes while one is under way.
    pub(super) fn way_out(&mut self, t: f64, pose: &Pose, humans: &[TrueHuman]) -> Option<Vec<f32>> {
        if !self.config.realistic || self.careless {
            return None;
        }
        if let Some((until, forward, yaw)) = self.escape {
            if t < until {
                return Some(vec![yaw, forward, 0.0, 0.0]);
            }
            if yaw != 0.0 {
                // Then around: straight on, the person now beside or behind, before heading for the goal again.
                self.escape = Some((until + self.config.escape_s, 1.0, 0.0));
                return Some(vec![0.0, 1.0, 0.0, 0.0]);
            }
            self.escape = None;
            // Drive on: the stuck clock starts again.
            self.last_moved = Some((pose.translation.x, pose.translation.y, pose.rotation.angle(), t));
            return None;
        }
        let stuck = self.last_moved.is_some_and(|(.., since)| t - since >= self.config.stuck_s);
        if !stuck {
            return None;
        }
        let nearest = humans
            .iter()
            .map(|h| pose.to_robot(&torso_point(&h.keypoints)).xy().coords)
            .filter(|c| c.norm() < self.config.caution_distance)
            .min_by(|a, b| a.norm().total_cmp(&b.norm()))?;
        let bearing = nearest.y.atan2(nearest.x);
        let away: f32 = if bearing > 0.0 { -1.0 } else { 1.0 };
        let forward = if bearing.abs() < std::f64::consts::FRAC_PI_3 { -0.6 } else { 0.0 };
        self.escape = Some((t + self.config.escape_s, forward, away));
        Some(vec![away, forward, 0.0, 0.0])
    }

    /// Axes and buttons for the default pad map (axis 1 forward, axis 0 yaw, button 4 deadman, 5 turbo).
    pub(super) fn joy(
        &mut self,
        t: f64,
        pose: &Pose,
        goal: [f64; 2],
        humans: &[TrueHuman],
        speed: f64,
    ) -> (Vec<f32>, Vec<i32>) {
        let (x, y, heading) = (pose.translation.x, pose.translation.y, pose.rotation.angle());
        let moved = self.last_moved.is_none_or(|(x0, y0, h0, _)| {
            let turned = (heading - h0 + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU) - std::f64::consts::PI;
            (x - x0).hypot(y - y0) > VISIBLE_TRAVEL || turned.abs() > VISIBLE_TURN
        });
        if moved {
            self.last_moved = Some((x, y, heading, t));
        }
        if speed < 0.01 {
            self.still_since.get_or_insert(t);
        } else {
            self.still_since = None;
        }
        // Today's operator is held while the command is below 1 cm/s; a realistic one by what they see.
        let held_since =
            if self.config.realistic { self.last_moved.map(|(.., since)| since) } else { self.still_since };
        if self.careless && held_since.is_some_and(|since| t - since > self.config.wake_up_s) {
            self.careless = false;
        }
        if let Some(axes) = self.way_out(t, pose, humans) {
            let mut buttons = vec![0; 8];
            buttons[4] = 1;
            return (axes, buttons);
        }
        let goal_r = pose.to_robot(&Point3::new(goal[0], goal[1], 0.0)).xy().coords;
        let mut dir = goal_r.try_normalize(1e-9).unwrap_or(Vector2::x());
        let mut nearest_ahead = f64::INFINITY;
        let mut nearest = f64::INFINITY;
        if !self.careless {
            for h in humans {
                let c = pose.to_robot(&torso_point(&h.keypoints)).xy().coords;
                let d = c.norm();
                nearest = nearest.min(d);
                if d < self.config.caution_distance && d > 1e-6 {
                    // Repulsion away from the person, stronger when closer.
                    dir -= c / d * (self.config.caution_distance - d) / self.config.caution_distance * 1.5;
                    if c.x > 0.0 && c.y.abs() < 0.8 {
                        nearest_ahead = nearest_ahead.min(d);
                    }
                }
            }
        }
        let heading = dir.y.atan2(dir.x);
        let yaw = (self.config.heading_gain * heading).clamp(-1.0, 1.0);
        let dist = goal_r.norm();
        let mut forward = if heading.abs() < 1.0 { (dist / 1.0).min(1.0) * heading.cos() } else { 0.0 };
        if nearest_ahead < self.config.caution_distance {
            forward *= ((nearest_ahead - 0.6) / (self.config.caution_distance - 0.6)).clamp(0.0, 1.0);
        }
        let turbo = self.config.use_turbo && (self.careless || nearest > 2.0 * self.config.caution_distance);
        let mut buttons = vec![0; 8];
        buttons[4] = 1;
        buttons[5] = i32::from(turbo);
        (vec![yaw as f32, forward as f32, 0.0, 0.0], buttons)
    }
}
