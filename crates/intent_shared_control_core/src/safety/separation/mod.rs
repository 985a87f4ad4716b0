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
//! approaches. A command that brings no point of the robot closer to a point ([`ApproachTolerance`](super::ApproachTolerance): turning on
//! the spot, sliding past, moving away) is never limited by it, also inside `S_p(0, v_h)`: the separation then
//! shrinks only by the person's own motion, which stopping the robot would not change. That needs the whole
//! person and a still geometry: the person seen whole ([`HumanPoints::whole`]) and not closing in (fitted
//! torso velocity toward the robot ≤ `not_closing_speed`, no confident forecast of faster closing). Otherwise a
//! point inside `S_p(0, v_h)` stops every motion except one clearly away from it,
//! `v_approach ≤ −partial_view_away_fraction · |v_q|`: an unseen limb may lie beside the seen points, and next
//! to someone walking in, a sliding robot's velocity turns into an approach faster than it can brake.

mod config;
mod monitor;
mod points;
mod reach;

pub use config::{ReachConfig, SeparationConfig};
pub use monitor::{slide_velocity, SeparationMonitor, SeparationResult, SLIDE_LEAN, SLIDE_ROUNDS};
pub use points::{ArmAnchor, HumanPoints, SHOULDER_FROM_TORSO};
pub use reach::{ClosingBound, ObservedMotion};
