//! Exact matching: joins `cmd_vel` with `shared_control/status` by decision stamp and charges each skeleton to
//! the first decision that used it (and its predictions).

use std::collections::{BTreeMap, VecDeque};

use crate::results::{summarise_samples, ExactResult};

/// One decision's two halves: the `cmd_vel` receive time and the status's input stamps [ns, 0 = none].
#[derive(Default)]
struct DecisionParts {
    cmd_recv_ns: Option<i64>,
    inputs: Option<(i64, i64)>,
}

/// Joins `cmd_vel` and `shared_control/status` by decision stamp and charges each skeleton to the first joined
/// decision that used it (and, separately, its predictions).
#[derive(Default)]
pub(crate) struct ExactMatcher {
    decisions: BTreeMap<i64, DecisionParts>,
    pose: VecDeque<(i64, bool)>,
    prediction: VecDeque<(i64, bool)>,
    pose_samples: Vec<u64>,
    prediction_samples: Vec<u64>,
    joined: u64,
    unjoined: u64,
}

impl ExactMatcher {
    /// Halves older than this (by decision stamp, behind the newest) are dropped as unjoined \[ns\].
    const JOIN_WINDOW_NS: i64 = 2_000_000_000;

    pub(crate) fn sent(&mut self, send_ns: i64, measured: bool) {
        self.pose.push_back((send_ns, measured));
        self.prediction.push_back((send_ns, measured));
        for q in [&mut self.pose, &mut self.prediction] {
            if q.len() > 100_000 {
                q.pop_front();
            }
        }
    }

    pub(crate) fn on_cmd(&mut self, decision_ns: i64, recv_ns: i64) {
        self.decisions.entry(decision_ns).or_default().cmd_recv_ns = Some(recv_ns);
        self.try_join(decision_ns);
    }

    pub(crate) fn on_status(&mut self, decision_ns: i64, skeleton_ns: i64, prediction_ns: i64) {
        self.decisions.entry(decision_ns).or_default().inputs = Some((skeleton_ns, prediction_ns));
        self.try_join(decision_ns);
    }

    fn try_join(&mut self, decision_ns: i64) {
        if let Some(DecisionParts { cmd_recv_ns: Some(recv), inputs: Some((skeleton, prediction)) }) =
            self.decisions.get(&decision_ns)
        {
            let (recv, skeleton, prediction) = (*recv, *skeleton, *prediction);
            self.decisions.remove(&decision_ns);
            self.joined += 1;
            charge(&mut self.pose, skeleton, recv, &mut self.pose_samples);
            charge(&mut self.prediction, prediction, recv, &mut self.prediction_samples);
        }
        let horizon = decision_ns - Self::JOIN_WINDOW_NS;
        while self.decisions.first_key_value().is_some_and(|(&k, _)| k < horizon) {
            self.decisions.pop_first();
            self.unjoined += 1;
        }
    }

    /// Measured skeletons still waiting at the end: (pose unused, prediction unused).
    fn unused(&self) -> (u64, u64) {
        let count = |q: &VecDeque<(i64, bool)>| q.iter().filter(|(_, m)| *m).count() as u64;
        (count(&self.pose), count(&self.prediction))
    }

    pub(crate) fn result(&self) -> ExactResult {
        let (pose_unused, prediction_unused) = self.unused();
        ExactResult {
            pose_used: summarise_samples(&self.pose_samples),
            with_prediction: summarise_samples(&self.prediction_samples),
            pose_unused,
            prediction_unused,
            joined: self.joined,
            unjoined: self.unjoined + self.decisions.len() as u64,
            pose_samples_ns: self.pose_samples.clone(),
            prediction_samples_ns: self.prediction_samples.clone(),
        }
    }
}

/// Charges every waiting skeleton sent at or before `used_ns` (an input stamp; 0 = none) to a command received
/// at `recv_ns`; only measured ones are recorded.
fn charge(queue: &mut VecDeque<(i64, bool)>, used_ns: i64, recv_ns: i64, samples: &mut Vec<u64>) {
    if used_ns <= 0 {
        return;
    }
    while queue.front().is_some_and(|&(send, _)| send <= used_ns) {
        if let Some((send, measured)) = queue.pop_front() {
            if measured {
                samples.push((recv_ns - send).max(1) as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn skeleton_is_charged_to_the_first_decision_that_used_it() {
        let mut m = ExactMatcher::default();
        m.sent(10 * MS, true);
        // A timer decision after the send that still used the previous capture answers nothing.
        m.on_cmd(11 * MS, 11 * MS + 300_000);
        m.on_status(11 * MS, 5 * MS, 5 * MS);
        assert!(m.pose_samples.is_empty());
        // The decision on the new capture: pose used; its prediction is still the old one.
        m.on_status(12 * MS, 10 * MS, 5 * MS);
        m.on_cmd(12 * MS, 12 * MS + 500_000);
        assert_eq!(m.pose_samples, vec![(2 * MS + 500_000) as u64]);
        assert!(m.prediction_samples.is_empty());
        // The decision on the prediction made from it.
        m.on_cmd(13 * MS, 13 * MS + 200_000);
        m.on_status(13 * MS, 10 * MS, 10 * MS);
        assert_eq!(m.prediction_samples, vec![(3 * MS + 200_000) as u64]);
        let r = m.result();
        assert_eq!((r.joined, r.unjoined, r.pose_unused, r.prediction_unused), (3, 0, 0, 0));
    }

    #[test]
    fn newer_capture_answers_skipped_ones_and_warm_up_is_not_recorded() {
        let mut m = ExactMatcher::default();
        m.sent(MS, false);
        m.sent(2 * MS, true);
        m.sent(3 * MS, true);
        m.on_status(4 * MS, 3 * MS, 0);
        m.on_cmd(4 * MS, 5 * MS);
        assert_eq!(m.pose_samples, vec![(3 * MS) as u64, (2 * MS) as u64]);
        // A zero stamp (no predictions yet) charges nothing.
        assert_eq!(m.result().prediction_unused, 2);
    }

    #[test]
    fn halves_without_their_partner_are_dropped_as_unjoined() {
        let mut m = ExactMatcher::default();
        m.sent(MS, true);
        m.on_cmd(2 * MS, 2 * MS);
        m.on_status(3 * MS, MS, MS);
        m.on_cmd(2 * MS + ExactMatcher::JOIN_WINDOW_NS + 1, 0);
        let r = m.result();
        assert!(m.pose_samples.is_empty());
        // the early cmd is dropped; the lone status and the last cmd still wait: all three are unjoined
        assert_eq!((r.joined, r.unjoined, r.pose_unused), (0, 3, 1));
    }
}
