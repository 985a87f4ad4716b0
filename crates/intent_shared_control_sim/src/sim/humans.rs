//! Simulated humans: the [`HumanSource`] trait, the scenario generator as a source, and straight-line walkers
//! for tests.

use super::*;

/// Ground truth of one human at one time (world frame).
#[derive(Clone, Debug, PartialEq)]
pub struct TrueHuman {
    /// Tracker id the perception publishes for this human.
    pub tracker_id: HumanId,
    /// Current intent label.
    pub intent: Intent,
    /// True keypoints (COCO-17), world frame \[m\].
    pub keypoints: [Point3<f64>; NUM_KEYPOINTS],
}

/// Simulated humans: observations and ground truth, world frame.
pub trait HumanSource {
    /// The newest observation with stamp ≤ `now` not returned before, if one is due.
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame>;
    /// Ground truth of every human at `stamp` (occluded ones included), in a stable order: index `i` is the
    /// same human at every stamp.
    fn truth(&self, stamp: Stamp) -> Vec<TrueHuman>;
    /// Last stamp of the scene.
    fn end(&self) -> Stamp;
}

/// The seeded scenario generator as a [`HumanSource`].
#[derive(Clone, Debug)]
pub struct ScenarioHumans {
    scenario: Scenario,
    pending: Option<SkeletonFrame>,
    tracker_ids: Vec<HumanId>,
}

impl ScenarioHumans {
    /// Wraps a scenario drawn from `config` and `seed`.
    pub fn new(config: ScenarioConfig, seed: u64) -> Result<Self, SimError> {
        let scenario = Scenario::new(config, seed)?;
        let n = scenario.num_humans();
        Ok(ScenarioHumans { scenario, pending: None, tracker_ids: vec![0; n] })
    }
}

impl HumanSource for ScenarioHumans {
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame> {
        let mut newest = None;
        loop {
            if self.pending.is_none() {
                let (frame, truth) = self.scenario.step()?;
                for h in &truth.humans {
                    if let Some(id) = self.tracker_ids.get_mut(h.human) {
                        *id = h.tracker_id;
                    }
                }
                self.pending = Some(frame);
            }
            match self.pending.take() {
                Some(f) if f.stamp <= now => newest = Some(f),
                other => {
                    self.pending = other;
                    return newest;
                }
            }
        }
    }

    fn truth(&self, stamp: Stamp) -> Vec<TrueHuman> {
        (0..self.scenario.num_humans())
            .filter_map(|i| {
                let keypoints = self.scenario.true_keypoints(i, stamp)?;
                let (intent, _) = self.scenario.label_at(i, stamp)?;
                Some(TrueHuman { tracker_id: self.tracker_ids.get(i).copied().unwrap_or(0), intent, keypoints })
            })
            .collect()
    }

    fn end(&self) -> Stamp {
        self.scenario.stamp_at(self.scenario.config().duration_s)
    }
}

/// Humans as upright points walking on straight lines (a small scripted source for tests).
#[derive(Clone, Debug)]
pub struct LinearHumans {
    /// (id, start xy \[m\], velocity xy \[m/s\], intent) per human.
    pub humans: Vec<(HumanId, [f64; 2], [f64; 2], Intent)>,
    /// Observation period \[s\].
    pub period: f64,
    /// Scene length \[s\].
    pub duration: f64,
    next: f64,
}

impl LinearHumans {
    /// A scene of straight walkers observed every `period` seconds for `duration` seconds.
    pub fn new(humans: Vec<(HumanId, [f64; 2], [f64; 2], Intent)>, period: f64, duration: f64) -> Self {
        LinearHumans { humans, period, duration, next: 0.0 }
    }

    fn keypoints(start: [f64; 2], vel: [f64; 2], t: f64) -> [Point3<f64>; NUM_KEYPOINTS] {
        let (x, y) = (start[0] + vel[0] * t, start[1] + vel[1] * t);
        let mut k = [Point3::new(x, y, 1.0); NUM_KEYPOINTS];
        k[kp::LEFT_HIP] = Point3::new(x, y + 0.1, 0.9);
        k[kp::RIGHT_HIP] = Point3::new(x, y - 0.1, 0.9);
        k[kp::LEFT_WRIST] = Point3::new(x, y + 0.25, 0.9);
        k[kp::RIGHT_WRIST] = Point3::new(x, y - 0.25, 0.9);
        // Legs down to the floor (distances are 3-D: a person is as low as their feet).
        k[kp::LEFT_KNEE] = Point3::new(x, y + 0.1, 0.5);
        k[kp::RIGHT_KNEE] = Point3::new(x, y - 0.1, 0.5);
        k[kp::LEFT_ANKLE] = Point3::new(x, y + 0.1, 0.08);
        k[kp::RIGHT_ANKLE] = Point3::new(x, y - 0.1, 0.08);
        k
    }
}

impl HumanSource for LinearHumans {
    fn poll(&mut self, now: Stamp) -> Option<SkeletonFrame> {
        let t_now = now.as_secs_f64();
        if self.next > t_now + 1e-9 || self.next > self.duration {
            return None;
        }
        let t = (t_now / self.period).floor() * self.period;
        self.next = t + self.period;
        let stamp = Stamp::from_secs_f64(t);
        Some(SkeletonFrame {
            stamp,
            frame_id: "world".into(),
            humans: self
                .humans
                .iter()
                .map(|&(id, s, v, _)| {
                    let pts = Self::keypoints(s, v, t);
                    HumanSkeleton { id, keypoints: pts.map(|p| Keypoint { position: p, confidence: 0.95 }) }
                })
                .collect(),
        })
    }

    fn truth(&self, stamp: Stamp) -> Vec<TrueHuman> {
        let t = stamp.as_secs_f64();
        self.humans
            .iter()
            .map(|&(tracker_id, s, v, intent)| TrueHuman { tracker_id, intent, keypoints: Self::keypoints(s, v, t) })
            .collect()
    }

    fn end(&self) -> Stamp {
        Stamp::from_secs_f64(self.duration)
    }
}
