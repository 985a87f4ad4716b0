//! Motion integration of one human on the 120 Hz grid, and interpolation of the grid state.

use std::f64::consts::TAU;

use nalgebra::Vector2;

use super::human::{GridState, Human, Plan};
use super::kinematics::wrap;
use super::{GRID_DT_S, HIP_AMPLITUDE, MAX_ACCEL, MAX_YAW_RATE};
use intent_shared_control_core::model::Intent;

impl Human {
    /// Integrates the planar motion, yaw, gait phase and head yaw on the grid from 0 to `end` [s].
    pub(super) fn integrate(&mut self, end: f64, start: Vector2<f64>, yaw0: f64) {
        let steps = (end / GRID_DT_S).ceil() as usize + 1;
        self.grid.reserve_exact(steps);
        let leg = self.episode.body.thigh + self.episode.body.shank;
        let mut pos = start;
        let mut vel = Vector2::zeros();
        let mut yaw = yaw0;
        let mut phase = 0.0;
        let mut head = 0.0;
        let mut done_at: Option<f64> = None;
        for i in 0..steps {
            let t = i as f64 * GRID_DT_S;
            let onset = self.episode.onset_s;
            let started = onset.is_some_and(|o| t >= o);
            let mut v_des = Vector2::zeros();
            let mut yaw_des: Option<f64> = None;
            let mut intent = Intent::Idle;
            let mut label_onset = None;
            let to_robot_yaw = (-pos.y).atan2(-pos.x);
            if started && done_at.is_none() {
                intent = self.episode.intent;
                label_onset = onset;
                let o = onset.unwrap_or(0.0);
                match self.plan {
                    Plan::Idle => {}
                    Plan::PassBy { dir, speed, .. } => {
                        v_des = dir * speed;
                        yaw_des = Some(dir.y.atan2(dir.x));
                    }
                    Plan::Approach { aim, speed, stop } => {
                        let to_aim = aim - pos;
                        let remaining = pos.norm() - stop;
                        let v = speed.min((2.0 * 0.8 * remaining.max(0.0)).sqrt());
                        if remaining < 0.03 && vel.norm() < 0.05 {
                            done_at = Some(t);
                        } else if to_aim.norm() > 1e-6 {
                            v_des = to_aim.normalize() * v;
                            yaw_des = Some(to_aim.y.atan2(to_aim.x));
                        }
                    }
                    Plan::Handover { reach_distance, speed, label_end } => {
                        let remaining = pos.norm() - reach_distance;
                        yaw_des = Some(to_robot_yaw);
                        if remaining > 0.02 && pos.norm() > 1e-6 {
                            let v = speed.min((2.0 * 0.8 * remaining).sqrt());
                            v_des = -pos.normalize() * v;
                        }
                        if t >= label_end {
                            done_at = Some(t);
                        }
                    }
                    Plan::Retreat { heading, speed, back_step_s, back_speed } => {
                        let away = Vector2::new(pos.x, pos.y);
                        let away = if away.norm() > 1e-6 { away.normalize() } else { Vector2::new(1.0, 0.0) };
                        if t - o < back_step_s {
                            v_des = away * back_speed;
                            yaw_des = Some(to_robot_yaw);
                        } else {
                            v_des = Vector2::new(heading.cos(), heading.sin()) * speed;
                            yaw_des = Some(heading);
                        }
                    }
                }
            } else if let Some(done) = done_at {
                let leave_speed = match self.plan {
                    Plan::Approach { speed, .. } | Plan::Handover { speed, .. } => Some(speed),
                    _ => None,
                };
                match (self.leave_after, leave_speed) {
                    (Some(wait), Some(speed)) if t >= done + wait => {
                        let away = pos.try_normalize(1e-6).unwrap_or(Vector2::new(1.0, 0.0));
                        v_des = away * speed.max(0.8);
                        yaw_des = Some(away.y.atan2(away.x));
                        intent = Intent::Retreat;
                        label_onset = Some(done + wait);
                    }
                    _ => yaw_des = Some(to_robot_yaw),
                }
            } else if self.episode.intent == Intent::Idle {
                if let Some(s) = self.shuffles.iter().find(|s| t >= s.start && t < s.start + s.duration) {
                    v_des = s.velocity;
                    if s.turn != 0.0 {
                        yaw_des = Some(yaw + s.turn.signum() * MAX_YAW_RATE * 0.5);
                    } else if s.velocity.norm() > 0.0 {
                        // Small steps keep the body roughly where it faces; steps to the side or back are fine.
                        yaw_des = None;
                    }
                }
            }
            // Acceleration-limited velocity and turn-rate-limited yaw.
            let dv = v_des - vel;
            let max_dv = MAX_ACCEL * GRID_DT_S;
            vel += if dv.norm() > max_dv { dv * (max_dv / dv.norm()) } else { dv };
            if let Some(target) = yaw_des {
                let err = wrap(target - yaw);
                let max_turn = if matches!(self.plan, Plan::Idle) { MAX_YAW_RATE * 0.5 } else { MAX_YAW_RATE };
                yaw += err.clamp(-max_turn * GRID_DT_S, max_turn * GRID_DT_S);
            }
            let speed = vel.norm();
            let gait = (speed / 1.3).clamp(0.0, 1.3).powf(0.7);
            let stride = 4.0 * leg * (HIP_AMPLITUDE * gait).sin();
            let forward = Vector2::new(yaw.cos(), yaw.sin());
            let direction = if vel.dot(&forward) >= 0.0 { 1.0 } else { -1.0 };
            if speed > 1e-3 && stride > 1e-6 {
                phase += direction * TAU * speed / stride * GRID_DT_S;
            }
            // Head: glance around, or look at the robot (clamped to the neck's range).
            let look = match self.look_at_robot_from {
                Some(from) if t >= from => {
                    let mut w = ((t - from) / 0.4).clamp(0.0, 1.0);
                    if let Plan::Retreat { back_step_s, .. } = self.plan {
                        if let Some(o) = onset {
                            w *= 1.0 - ((t - o - back_step_s) / 0.3).clamp(0.0, 1.0);
                        }
                    }
                    if let Plan::PassBy { glance_robot: false, .. } = self.plan {
                        w = 0.0;
                    }
                    w
                }
                _ => 0.0,
            };
            let glance = self.glance[0] * (TAU * self.glance[1] * t + self.glance[2]).sin();
            let at_robot = wrap(to_robot_yaw - yaw).clamp(-1.3, 1.3);
            let head_target = look * at_robot + (1.0 - look) * glance * (1.0 - 0.6 * gait.min(1.0));
            head += (head_target - head) * (GRID_DT_S / 0.15).min(1.0);
            pos += vel * GRID_DT_S;
            self.grid.push(GridState { pos, yaw, phase, gait, head, intent, onset: label_onset });
        }
    }

    /// Interpolated state at `t` [s]; `None` outside [0, end of grid].
    pub(super) fn state_at(&self, t: f64) -> Option<GridState> {
        if !(t.is_finite() && t >= 0.0) {
            return None;
        }
        let x = t / GRID_DT_S;
        let i = x.floor() as usize;
        let a = *self.grid.get(i)?;
        let Some(b) = self.grid.get(i + 1) else {
            return (x - i as f64 <= 1e-9).then_some(a);
        };
        let w = x - i as f64;
        Some(GridState {
            pos: a.pos + (b.pos - a.pos) * w,
            yaw: a.yaw + (b.yaw - a.yaw) * w,
            phase: a.phase + (b.phase - a.phase) * w,
            gait: a.gait + (b.gait - a.gait) * w,
            head: a.head + (b.head - a.head) * w,
            intent: a.intent,
            onset: a.onset,
        })
    }
}
