//! A seeded walker scene as a [`HumanSource`]: sensor events, tracker ids, timing and noisy observations.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Walker, WalkerConfig, WalkerFamily, WORLD_FRAME};
use crate::scenario::{exponential, gauss, observe, uniform, NoiseOrder, ScenarioError, OCCLUSION_GROUPS};
use crate::sim::{HumanSource, TrueHuman};
use intent_shared_control_core::skeleton::{HumanId, HumanSkeleton, SkeletonFrame};
use intent_shared_control_core::time::Stamp;

/// A tracker id change at some time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum IdEvent {
    /// Human `i` gets a new, never used id.
    Switch(usize),
    /// Two humans exchange their ids.
    Swap(usize, usize),
}

/// Sensor events of one human: occlusions `(from, until, hidden group or None for the whole human)` [s].
type Occlusions = Vec<(f64, f64, Option<u8>)>;

/// A seeded walker scene as a [`HumanSource`]; see the module docs.
#[derive(Clone, Debug)]
pub struct WalkerHumans {
    config: WalkerConfig,
    seed: u64,
    walkers: Vec<Walker>,
    occlusions: Vec<Occlusions>,
    first_id: HumanId,
    id_events: Vec<(f64, IdEvent)>,
    next_frame: u64,
}

impl WalkerHumans {
    /// Draws a scene from `seed` (deterministic: the same config and seed give the same truth and frames).
    pub fn new(config: WalkerConfig, seed: u64) -> Result<Self, ScenarioError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(config.humans[0]..=config.humans[1]);
        let walkers: Vec<Walker> = (0..n).map(|_| Walker::draw(&config, rng.random())).collect();
        let first_id: HumanId = rng.random_range(1..1000);
        // Sensor events come from a stream of their own, so the motion does not depend on the noise settings.
        let mut events = ChaCha8Rng::seed_from_u64(seed);
        events.set_stream(u64::MAX);
        let noise = &config.noise;
        let duration = config.duration_s;
        let mut occlusions = Vec::with_capacity(n);
        let mut id_events = Vec::new();
        for i in 0..n {
            let mut list = Vec::new();
            let mut t = 0.0;
            loop {
                t += exponential(&mut events, noise.occlusion_rate_hz);
                if t >= duration {
                    break;
                }
                let len = uniform(&mut events, noise.occlusion_duration_s);
                let group = if events.random_bool(noise.full_occlusion_fraction) {
                    None
                } else {
                    Some(events.random_range(0..OCCLUSION_GROUPS.len() as u8))
                };
                list.push((t, t + len, group));
                t += len;
            }
            occlusions.push(list);
            let mut t = 0.0;
            loop {
                t += exponential(&mut events, noise.id_switch_rate_hz);
                if t >= duration {
                    break;
                }
                id_events.push((t, IdEvent::Switch(i)));
            }
        }
        if n >= 2 {
            let mut t = 0.0;
            loop {
                t += exponential(&mut events, noise.id_swap_rate_hz);
                if t >= duration {
                    break;
                }
                let a = events.random_range(0..n);
                let b = (a + events.random_range(1..n)) % n;
                id_events.push((t, IdEvent::Swap(a, b)));
            }
        }
        id_events.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(WalkerHumans { config, seed, walkers, occlusions, first_id, id_events, next_frame: 0 })
    }

    /// The configuration.
    pub fn config(&self) -> &WalkerConfig {
        &self.config
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of humans.
    pub fn num_humans(&self) -> usize {
        self.walkers.len()
    }

    /// Family of human `i`, `None` when out of range.
    pub fn family(&self, i: usize) -> Option<WalkerFamily> {
        self.walkers.get(i).map(|w| w.family)
    }

    /// Human `i` (family, facing, gait, body, motion), `None` when out of range.
    pub fn walker(&self, i: usize) -> Option<&Walker> {
        self.walkers.get(i)
    }

    /// Tracker ids of every human at scene time `t` [s], after the id switches and swaps up to `t`.
    fn tracker_ids_at(&self, t: f64) -> Vec<HumanId> {
        let n = self.walkers.len();
        let mut ids: Vec<HumanId> = (0..n as HumanId).map(|i| self.first_id + i).collect();
        let mut next = self.first_id + n as HumanId;
        for (at, event) in &self.id_events {
            if *at > t {
                break;
            }
            match *event {
                IdEvent::Switch(i) => {
                    ids[i] = next;
                    next = next.wrapping_add(1).max(1);
                }
                IdEvent::Swap(a, b) => ids.swap(a, b),
            }
        }
        ids
    }

    /// The random stream of frame `k` (its timing first, then its noise).
    fn frame_rng(&self, k: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(k + 1);
        rng
    }

    /// Capture time [s] of frame `k` and whether it is dropped, drawn from the frame's stream.
    fn frame_timing(&self, k: u64, rng: &mut ChaCha8Rng) -> (f64, bool) {
        let period = 1.0 / self.config.rate_hz;
        let noise = &self.config.noise;
        // Jitter bounded to ±0.3 periods keeps the stamps increasing.
        let jitter = if noise.stamp_jitter_s > 0.0 {
            (gauss(rng) * noise.stamp_jitter_s).clamp(-0.3 * period, 0.3 * period)
        } else {
            0.0
        };
        let dropped = noise.frame_drop_prob > 0.0 && rng.random_bool(noise.frame_drop_prob);
        ((k as f64 * period + jitter).max(0.0), dropped)
    }

    /// Renders frame `k` (captured at `t`) with the noise of its stream.
    fn render(&self, k: u64, t: f64) -> SkeletonFrame {
        let mut rng = self.frame_rng(k);
        let _ = self.frame_timing(k, &mut rng);
        // The capture time as the stamp carries it, so the observation matches `truth(stamp)` exactly.
        let stamp = Stamp::from_secs_f64(t);
        let t = stamp.as_secs_f64();
        let ids = self.tracker_ids_at(t);
        let mut humans = Vec::with_capacity(self.walkers.len());
        for (i, w) in self.walkers.iter().enumerate() {
            let occlusion = self.occlusions[i].iter().find(|(a, b, _)| t >= *a && t < *b).map(|o| o.2);
            // Every human's noise is drawn, published or not, so one occlusion does not change the others' noise.
            let observed = observe(
                &w.keypoints(t),
                occlusion.flatten(),
                w.body_yaw,
                &self.config.noise,
                NoiseOrder::DepthFirst,
                &mut rng,
            );
            if !matches!(occlusion, Some(None)) {
                humans.push(HumanSkeleton { id: ids[i], keypoints: observed });
            }
        }
        SkeletonFrame { stamp, frame_id: WORLD_FRAME.to_owned(), humans }
    }
}

impl HumanSource for WalkerHumans {
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame> {
        let period = 1.0 / self.config.rate_hz;
        let mut newest = None;
        loop {
            let k = self.next_frame;
            if k as f64 * period > self.config.duration_s + 1e-9 {
                break;
            }
            let (t, dropped) = self.frame_timing(k, &mut self.frame_rng(k));
            if Stamp::from_secs_f64(t) > now {
                break;
            }
            self.next_frame += 1;
            if !dropped {
                newest = Some((k, t));
            }
        }
        // Only the newest due frame is rendered; the skipped ones are never returned.
        newest.map(|(k, t)| self.render(k, t))
    }

    fn truth(&self, stamp: Stamp) -> Vec<TrueHuman> {
        let t = stamp.as_secs_f64();
        let ids = self.tracker_ids_at(t);
        self.walkers
            .iter()
            .zip(ids)
            .map(|(w, tracker_id)| TrueHuman { tracker_id, intent: w.intent(t), keypoints: w.keypoints(t) })
            .collect()
    }

    fn end(&self) -> Stamp {
        Stamp::from_secs_f64(self.config.duration_s)
    }
}
