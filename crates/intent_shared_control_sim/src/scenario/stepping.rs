//! The `Scenario` stepping API: construction from the seed, frames, ground truth and true-motion queries.

use nalgebra::Point3;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::human::{Episode, Human};
use super::sample::{exponential, gauss};
use super::sensor::{observe, NoiseOrder};
use super::{ScenarioConfig, ScenarioError, FUTURE_MARGIN_S};
use intent_shared_control_core::model::Intent;
use intent_shared_control_core::skeleton::{tracked_points, HumanId, HumanSkeleton, SkeletonFrame, NUM_KEYPOINTS};
use intent_shared_control_core::time::Stamp;

/// Ground truth of one human in one frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumanTruth {
    /// Index of the human in the scenario (stable; the tracker id may change).
    pub human: usize,
    /// Tracker id published for this human in this frame.
    pub tracker_id: HumanId,
    /// False when the human is fully occluded (not in the frame).
    pub published: bool,
    /// Current intent label.
    pub intent: Intent,
    /// Onset of the current non-idle intent; `None` while the label is idle.
    pub onset: Option<Stamp>,
    /// The episode's intent (the label after the motion onset until the intent is completed).
    pub episode_intent: Intent,
    /// The episode's motion onset; `None` for idle episodes.
    pub episode_onset: Option<Stamp>,
    /// True keypoints (noise-free, all present), robot frame \[m\].
    pub keypoints: [Point3<f64>; NUM_KEYPOINTS],
}

/// Ground truth of one frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Stamp of the frame.
    pub stamp: Stamp,
    /// Every human of the scenario, published or not.
    pub humans: Vec<HumanTruth>,
}

/// A seeded synthetic scene; see the module docs.
#[derive(Clone, Debug)]
pub struct Scenario {
    config: ScenarioConfig,
    seed: u64,
    humans: Vec<Human>,
    frame_index: u64,
    noise_rng: ChaCha8Rng,
    tracker_ids: Vec<HumanId>,
    next_id: HumanId,
    id_switch_cursor: Vec<usize>,
    swaps: Vec<(f64, usize, usize)>,
    swap_cursor: usize,
}

impl Scenario {
    /// Draws a scenario from `seed` (deterministic: the same config and seed give the same frames).
    pub fn new(config: ScenarioConfig, seed: u64) -> Result<Self, ScenarioError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(config.humans[0]..=config.humans[1]);
        let mut humans = Vec::with_capacity(n);
        for _ in 0..n {
            let human_seed: u64 = rng.random();
            humans.push(Human::draw(&config, human_seed));
        }
        let mut swaps = Vec::new();
        if n >= 2 && config.noise.id_swap_rate_hz > 0.0 {
            let mut t = 0.0;
            loop {
                t += exponential(&mut rng, config.noise.id_swap_rate_hz);
                if t >= config.duration_s {
                    break;
                }
                let a = rng.random_range(0..n);
                let b = (a + rng.random_range(1..n)) % n;
                swaps.push((t, a, b));
            }
        }
        let first_id: HumanId = rng.random_range(1..1000);
        let mut noise_rng = ChaCha8Rng::seed_from_u64(seed);
        noise_rng.set_stream(1);
        Ok(Self {
            tracker_ids: (0..n as HumanId).map(|i| first_id + i).collect(),
            next_id: first_id + n as HumanId,
            id_switch_cursor: vec![0; n],
            config,
            seed,
            humans,
            frame_index: 0,
            noise_rng,
            swaps,
            swap_cursor: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ScenarioConfig {
        &self.config
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of humans.
    pub fn num_humans(&self) -> usize {
        self.humans.len()
    }

    /// Episode of human `human` (intent, onset, body), `None` when out of range.
    pub fn episode(&self, human: usize) -> Option<&Episode> {
        self.humans.get(human).map(|h| &h.episode)
    }

    /// Stamp of scenario time `t_s` \[s\].
    pub fn stamp_at(&self, t_s: f64) -> Stamp {
        Stamp(self.config.start_stamp_ns).add_secs(t_s)
    }

    /// Scenario time \[s\] of `stamp`.
    pub fn time_of(&self, stamp: Stamp) -> f64 {
        stamp.seconds_since(Stamp(self.config.start_stamp_ns))
    }

    /// Last time with true motion available \[s\] (duration + [`FUTURE_MARGIN_S`]).
    pub fn horizon_end_s(&self) -> f64 {
        self.config.duration_s + FUTURE_MARGIN_S
    }

    /// True (noise-free) keypoints of `human` at `stamp`, robot frame \[m\]; `None` when the human does not exist
    /// or `stamp` is before the start or after [`Scenario::horizon_end_s`].
    pub fn true_keypoints(&self, human: usize, stamp: Stamp) -> Option<[Point3<f64>; NUM_KEYPOINTS]> {
        let t = self.time_of(stamp);
        self.humans.get(human).and_then(|h| h.keypoints_at(t))
    }

    /// True torso point (hip midpoint), left wrist and right wrist of `human` at `stamp` \[m\] (the model's
    /// predicted points, in that order).
    pub fn true_torso_wrists(&self, human: usize, stamp: Stamp) -> Option<[Point3<f64>; 3]> {
        let k = self.true_keypoints(human, stamp)?;
        Some(tracked_points(&k))
    }

    /// Current intent label and the onset of the current non-idle intent of `human` at `stamp`.
    pub fn label_at(&self, human: usize, stamp: Stamp) -> Option<(Intent, Option<Stamp>)> {
        let t = self.time_of(stamp);
        let h = self.humans.get(human)?;
        let s = h.state_at(t)?;
        Some((s.intent, s.onset.map(|o| self.stamp_at(o))))
    }

    /// Next frame and its ground truth; `None` after the end of the scenario.
    pub fn step(&mut self) -> Option<(SkeletonFrame, GroundTruth)> {
        let period = 1.0 / self.config.rate_hz;
        loop {
            let t_nom = self.frame_index as f64 * period;
            if t_nom > self.config.duration_s + 1e-9 {
                return None;
            }
            self.frame_index += 1;
            let noise = &self.config.noise;
            let jitter = if noise.stamp_jitter_s > 0.0 {
                (gauss(&mut self.noise_rng) * noise.stamp_jitter_s).clamp(-0.3 * period, 0.3 * period)
            } else {
                0.0
            };
            let dropped = noise.frame_drop_prob > 0.0 && self.noise_rng.random_bool(noise.frame_drop_prob);
            // A dropped frame is still rendered, so the noise of later frames does not depend on which were dropped.
            let t = (t_nom + jitter).max(0.0);
            let out = self.render(t);
            if !dropped {
                return Some(out);
            }
        }
    }

    /// Renders the frame at scenario time `t` (noise drawn from the noise stream).
    fn render(&mut self, t: f64) -> (SkeletonFrame, GroundTruth) {
        self.apply_id_events(t);
        let stamp = self.stamp_at(t);
        let mut frame = SkeletonFrame {
            stamp,
            frame_id: self.config.frame_id.clone(),
            humans: Vec::with_capacity(self.humans.len()),
        };
        let mut truth = GroundTruth { stamp, humans: Vec::with_capacity(self.humans.len()) };
        for (i, h) in self.humans.iter().enumerate() {
            let (Some(state), Some(keypoints)) = (h.state_at(t), h.keypoints_at(t)) else {
                continue;
            };
            let occlusion = h.occlusions.iter().find(|(a, b, _)| t >= *a && t < *b).map(|o| o.2);
            let published = !matches!(occlusion, Some(None));
            let head_yaw = state.yaw + state.head;
            let observed = observe(
                &keypoints,
                occlusion.flatten(),
                head_yaw,
                &self.config.noise,
                NoiseOrder::IsotropicFirst,
                &mut self.noise_rng,
            );
            if published {
                frame.humans.push(HumanSkeleton { id: self.tracker_ids[i], keypoints: observed });
            }
            truth.humans.push(HumanTruth {
                human: i,
                tracker_id: self.tracker_ids[i],
                published,
                intent: state.intent,
                onset: state.onset.map(|o| self.stamp_at(o)),
                episode_intent: h.episode.intent,
                episode_onset: h.episode.onset_s.map(|o| self.stamp_at(o)),
                keypoints,
            });
        }
        (frame, truth)
    }

    fn apply_id_events(&mut self, t: f64) {
        for i in 0..self.humans.len() {
            while let Some(&ts) = self.humans[i].id_switches.get(self.id_switch_cursor[i]) {
                if ts > t {
                    break;
                }
                self.id_switch_cursor[i] += 1;
                self.tracker_ids[i] = self.next_id;
                self.next_id = self.next_id.wrapping_add(1).max(1);
            }
        }
        while let Some(&(ts, a, b)) = self.swaps.get(self.swap_cursor) {
            if ts > t {
                break;
            }
            self.swap_cursor += 1;
            self.tracker_ids.swap(a, b);
        }
    }
}

impl Iterator for Scenario {
    type Item = (SkeletonFrame, GroundTruth);

    fn next(&mut self) -> Option<Self::Item> {
        self.step()
    }
}
