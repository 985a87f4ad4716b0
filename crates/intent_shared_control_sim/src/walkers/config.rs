//! What a walker scene contains: the walker families, facing, gait and the scene settings.

use serde::{Deserialize, Serialize};

use super::NUM_FAMILIES;
use crate::scenario::{NoiseConfig, ScenarioConfig, ScenarioError};

/// What a walker does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalkerFamily {
    /// Starts 4–7 m ahead near the path and walks straight at the robot's start at 0.8–2.0 m/s, through and past
    /// it without stopping. Intent `approach_robot`.
    HeadOn,
    /// Starts behind the robot (x in [−3, −1], 0.5–1.2 m beside the path) and walks along the path at
    /// 1.2–2.0 m/s, faster than the robot. Intent `pass_by`.
    Overtaking,
    /// Walks across the path (perpendicular ± 15°) at 0.8–2.0 m/s, crossing it 1–4 m ahead of the robot's start
    /// at about the time a robot at 0.5–1.0 m/s would get there. Intent `pass_by`.
    Crossing,
    /// Stands 1.0–1.5 m from the robot's start (within ±60° of +x) for 0.5–3 s, then walks at the robot's start
    /// at 1.0–2.0 m/s (accelerating at ≤ 1.5 m/s²) and keeps walking. Intent `idle`, then `approach_robot`.
    StartFromStanding,
    /// Walks at the robot's start along its path at 1.2–1.8 m/s, slows to 0.2–0.5 m/s for 0.5–1.5 s once
    /// 1–3 m from it, then speeds up again to 1.2–1.8 m/s and walks on. Intent `approach_robot`.
    SlowDownSpeedUp,
}

impl WalkerFamily {
    /// All families, in the order of [`WalkerConfig::family_weights`].
    pub const ALL: [WalkerFamily; NUM_FAMILIES] = [
        WalkerFamily::HeadOn,
        WalkerFamily::Overtaking,
        WalkerFamily::Crossing,
        WalkerFamily::StartFromStanding,
        WalkerFamily::SlowDownSpeedUp,
    ];

    /// Index in [`WalkerFamily::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The snake_case name (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            WalkerFamily::HeadOn => "head_on",
            WalkerFamily::Overtaking => "overtaking",
            WalkerFamily::Crossing => "crossing",
            WalkerFamily::StartFromStanding => "start_from_standing",
            WalkerFamily::SlowDownSpeedUp => "slow_down_speed_up",
        }
    }
}

/// Which way the body faces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Facing {
    /// Toward the walking direction.
    Forward,
    /// Away from the walking direction: the back is turned and the human walks backwards.
    Backward,
    /// A random yaw, fixed for the scene.
    Random,
}

/// Whether the limbs swing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gait {
    /// Legs and arms swing with a phase proportional to the distance walked, the amplitude growing with speed.
    Swing,
    /// No swing: the body moves as a rigid standing figure.
    Rigid,
}

/// What a walker scene contains (YAML/JSON; unknown keys are errors). Ranges are `[min, max]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalkerConfig {
    /// Observation rate \[Hz\], in [1, 1000].
    pub rate_hz: f64,
    /// Length of the scene \[s\], in (0, 3600].
    pub duration_s: f64,
    /// Number of humans, `[min, max]`, 1 ≤ min ≤ max ≤ 8; each draws its family on its own.
    pub humans: [usize; 2],
    /// Relative weights of the families in [`WalkerFamily::ALL`] order; ≥ 0, not all 0.
    pub family_weights: [f64; NUM_FAMILIES],
    /// Body height \[m\], within [1.0, 2.3].
    pub height_m: [f64; 2],
    /// Sensor imperfections of the observations (never applied to the truth).
    pub noise: NoiseConfig,
}

impl Default for WalkerConfig {
    fn default() -> Self {
        WalkerConfig {
            rate_hz: 30.0,
            // The simulator's standard batch runs 25 s scenes (the task takes 10–20 s).
            duration_s: 25.0,
            humans: [1, 2],
            family_weights: [1.0; NUM_FAMILIES],
            height_m: [1.55, 1.90],
            noise: NoiseConfig::default(),
        }
    }
}

fn invalid(field: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> ScenarioError {
    ScenarioError::InvalidConfig { field, value: format!("{value:?}"), reason }
}

impl WalkerConfig {
    /// A configuration whose humans all belong to `family`.
    pub fn only(family: WalkerFamily) -> Self {
        let mut family_weights = [0.0; NUM_FAMILIES];
        family_weights[family.index()] = 1.0;
        WalkerConfig { family_weights, ..WalkerConfig::default() }
    }

    /// Checks every value; [`WalkerHumans::new`](super::WalkerHumans::new) refuses an invalid config.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if !(self.rate_hz.is_finite() && (1.0..=1000.0).contains(&self.rate_hz)) {
            return Err(invalid("rate_hz", self.rate_hz, "must be in [1, 1000] Hz"));
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s <= 3600.0) {
            return Err(invalid("duration_s", self.duration_s, "must be in (0, 3600] s"));
        }
        if self.humans[0] == 0 || self.humans[0] > self.humans[1] || self.humans[1] > 8 {
            return Err(invalid("humans", self.humans, "must satisfy 1 <= min <= max <= 8"));
        }
        let w = &self.family_weights;
        if w.iter().any(|v| !v.is_finite() || *v < 0.0) || w.iter().sum::<f64>() <= 0.0 {
            return Err(invalid("family_weights", w, "must be finite, >= 0 and not all 0"));
        }
        let h = self.height_m;
        if !(h[0].is_finite() && h[1].is_finite() && h[0] <= h[1] && h[0] >= 1.0 && h[1] <= 2.3) {
            return Err(invalid("height_m", h, "must be finite, min <= max, within [1.0, 2.3] m"));
        }
        // The noise settings are checked by the scenario generator's rules (field names `noise.*`).
        ScenarioConfig { noise: self.noise.clone(), ..ScenarioConfig::default() }.validate()
    }
}
