//! Evaluation metrics of the intent model, as pure functions: confusion matrix and macro-F1, future-position
//! ADE/FDE, expected calibration error, early-recognition latency, percentiles.

use intent_shared_control_core::model::{Intent, NUM_INTENTS};
use serde::Serialize;

/// Counts of (true intent, predicted intent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    /// `counts[truth][predicted]`, in [`Intent::ALL`] order.
    pub counts: [[u64; NUM_INTENTS]; NUM_INTENTS],
}

impl ConfusionMatrix {
    /// Adds one sample.
    pub fn add(&mut self, truth: Intent, predicted: Intent) {
        self.counts[truth.index()][predicted.index()] += 1;
    }

    /// Total samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Fraction of correct samples; `None` without samples.
    pub fn accuracy(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| (0..NUM_INTENTS).map(|i| self.counts[i][i]).sum::<u64>() as f64 / total as f64)
    }

    /// F1 of each class; `None` for a class that is neither in the truth nor predicted.
    pub fn per_class_f1(&self) -> [Option<f64>; NUM_INTENTS] {
        let mut f1 = [None; NUM_INTENTS];
        for (c, slot) in f1.iter_mut().enumerate() {
            let tp = self.counts[c][c] as f64;
            let support: u64 = self.counts[c].iter().sum();
            let predicted: u64 = (0..NUM_INTENTS).map(|t| self.counts[t][c]).sum();
            if support + predicted > 0 {
                *slot = Some(2.0 * tp / (support + predicted) as f64);
            }
        }
        f1
    }

    /// Mean F1 over the classes that occur in the truth or the predictions; `None` without samples.
    pub fn macro_f1(&self) -> Option<f64> {
        let present: Vec<f64> = self.per_class_f1().iter().flatten().copied().collect();
        (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
    }
}

/// Average and final displacement error of one predicted trajectory \[m\]: the mean over steps of the Euclidean
/// distance between predicted and true positions, and that distance at the last step. `None` when the lengths
/// differ, are empty, or a value is not finite.
pub fn ade_fde(predicted: &[[f32; 3]], truth: &[[f32; 3]]) -> Option<(f64, f64)> {
    if predicted.is_empty() || predicted.len() != truth.len() {
        return None;
    }
    let dists: Vec<f64> = predicted
        .iter()
        .zip(truth)
        .map(|(p, t)| (0..3).map(|d| (f64::from(p[d]) - f64::from(t[d])).powi(2)).sum::<f64>().sqrt())
        .collect();
    if dists.iter().any(|d| !d.is_finite()) {
        return None;
    }
    let fde = *dists.last()?;
    Some((dists.iter().sum::<f64>() / dists.len() as f64, fde))
}

/// Running mean of ADE and FDE \[m\].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DisplacementStats {
    pub count: u64,
    ade_sum: f64,
    fde_sum: f64,
}

impl DisplacementStats {
    /// Adds one trajectory's (ADE, FDE).
    pub fn add(&mut self, ade: f64, fde: f64) {
        self.count += 1;
        self.ade_sum += ade;
        self.fde_sum += fde;
    }

    /// Mean ADE \[m\]; `None` when empty.
    pub fn ade(&self) -> Option<f64> {
        (self.count > 0).then(|| self.ade_sum / self.count as f64)
    }

    /// Mean FDE \[m\]; `None` when empty.
    pub fn fde(&self) -> Option<f64> {
        (self.count > 0).then(|| self.fde_sum / self.count as f64)
    }
}

/// Expected calibration error with `bins` equal-width confidence bins on [0, 1]:
/// `Σ_b (n_b / n) · |accuracy_b − mean confidence_b|`. `None` when empty, lengths differ or `bins == 0`.
pub fn expected_calibration_error(confidence: &[f32], correct: &[bool], bins: usize) -> Option<f64> {
    if confidence.is_empty() || confidence.len() != correct.len() || bins == 0 {
        return None;
    }
    let mut n = vec![0u64; bins];
    let mut conf_sum = vec![0.0f64; bins];
    let mut hits = vec![0u64; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let c = f64::from(c).clamp(0.0, 1.0);
        let b = ((c * bins as f64) as usize).min(bins - 1);
        n[b] += 1;
        conf_sum[b] += c;
        hits[b] += u64::from(ok);
    }
    let total = confidence.len() as f64;
    Some(
        (0..bins)
            .filter(|&b| n[b] > 0)
            .map(|b| (n[b] as f64 / total) * (hits[b] as f64 / n[b] as f64 - conf_sum[b] / n[b] as f64).abs())
            .sum(),
    )
}

/// Early recognition: time from motion onset until the prediction is the true intent and stays so for at least
/// `stable_s` seconds (or until the end of the sequence, if that comes first after at least one correct frame)
/// \[s\]. `times_s` ascending; frames before `onset_s` are ignored. `None` if never recognised.
pub fn recognition_latency(
    times_s: &[f64],
    predicted: &[Intent],
    truth: Intent,
    onset_s: f64,
    stable_s: f64,
) -> Option<f64> {
    if times_s.len() != predicted.len() {
        return None;
    }
    let mut run_start: Option<f64> = None;
    for (&t, &p) in times_s.iter().zip(predicted) {
        if t < onset_s {
            continue;
        }
        if p == truth {
            let start = *run_start.get_or_insert(t);
            if t - start >= stable_s {
                return Some(start - onset_s);
            }
        } else {
            run_start = None;
        }
    }
    run_start.map(|start| start - onset_s)
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `values` by linear interpolation between order statistics; `None` when
/// empty or a value is NaN.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Intent::*;

    #[test]
    fn confusion_and_macro_f1() {
        let mut m = ConfusionMatrix::default();
        assert_eq!(m.macro_f1(), None);
        // idle: 3 true, 2 right, 1 called pass_by; pass_by: 1 true, right; approach: 2 true, 1 right, 1 idle.
        for (t, p) in [
            (Idle, Idle),
            (Idle, Idle),
            (Idle, PassBy),
            (PassBy, PassBy),
            (ApproachRobot, ApproachRobot),
            (ApproachRobot, Idle),
        ] {
            m.add(t, p);
        }
        assert_eq!(m.total(), 6);
        assert!((m.accuracy().unwrap_or(0.0) - 4.0 / 6.0).abs() < 1e-12);
        let f1 = m.per_class_f1();
        // idle: tp 2, support 3, predicted 3 → 2·2/6; pass_by: tp 1, support 1, predicted 2 → 2/3;
        // approach: tp 1, support 2, predicted 1 → 2/3; the other two classes are absent.
        assert!((f1[0].unwrap_or(0.0) - 4.0 / 6.0).abs() < 1e-12);
        assert!((f1[1].unwrap_or(0.0) - 2.0 / 3.0).abs() < 1e-12);
        assert!((f1[2].unwrap_or(0.0) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((f1[3], f1[4]), (None, None));
        assert!((m.macro_f1().unwrap_or(0.0) - 2.0 / 3.0).abs() < 1e-12);
        // A class predicted but never true counts with F1 = 0.
        m.add(Idle, Retreat);
        assert_eq!(m.per_class_f1()[4], Some(0.0));
    }

    #[test]
    fn ade_fde_of_a_straight_offset() {
        let truth: Vec<[f32; 3]> = (1..=10).map(|s| [s as f32 * 0.1, 0.0, 0.0]).collect();
        let pred: Vec<[f32; 3]> = (1..=10).map(|s| [s as f32 * 0.1, s as f32 * 0.02, 0.0]).collect();
        let (ade, fde) = ade_fde(&pred, &truth).expect("same length");
        assert!((ade - 0.11).abs() < 1e-6, "{ade}");
        assert!((fde - 0.2).abs() < 1e-6, "{fde}");
        assert_eq!(ade_fde(&pred[..3], &truth), None);
        assert_eq!(ade_fde(&[[f32::NAN; 3]], &[[0.0; 3]]), None);
        let mut s = DisplacementStats::default();
        assert_eq!(s.ade(), None);
        s.add(1.0, 2.0);
        s.add(3.0, 4.0);
        assert_eq!((s.ade(), s.fde()), (Some(2.0), Some(3.0)));
    }

    #[test]
    fn ece_is_zero_when_calibrated_and_grows_when_overconfident() {
        // 10 samples at confidence 0.7, 7 correct: perfectly calibrated.
        let conf = vec![0.7_f32; 10];
        let ok: Vec<bool> = (0..10).map(|i| i < 7).collect();
        assert!(expected_calibration_error(&conf, &ok, 10).unwrap_or(1.0) < 1e-6);
        // Same confidence, 3 correct: |0.3 − 0.7| = 0.4.
        let ok: Vec<bool> = (0..10).map(|i| i < 3).collect();
        assert!((expected_calibration_error(&conf, &ok, 10).unwrap_or(0.0) - 0.4).abs() < 1e-6);
        // Confidence 1.0 falls in the last bin.
        assert!(expected_calibration_error(&[1.0], &[true], 10).unwrap_or(1.0) < 1e-9);
        assert_eq!(expected_calibration_error(&[], &[], 10), None);
        assert_eq!(expected_calibration_error(&[0.5], &[true, false], 10), None);
    }

    #[test]
    fn recognition_needs_a_stable_correct_run_after_onset() {
        let times: Vec<f64> = (0..30).map(|i| i as f64 * 0.1).collect();
        let mut pred = vec![Idle; 30];
        // Correct before onset (ignored), then a flicker at 1.2 s, then stable from 1.5 s.
        pred[3] = PassBy;
        pred[12] = PassBy;
        for p in &mut pred[15..] {
            *p = PassBy;
        }
        let latency = recognition_latency(&times, &pred, PassBy, 1.0, 0.3).expect("recognised");
        assert!((latency - 0.5).abs() < 1e-9, "{latency}");
        // Never correct.
        assert_eq!(recognition_latency(&times, &[Idle; 30], Retreat, 1.0, 0.3), None);
        // Correct only in the last frame: counted from there (the sequence ended).
        let mut late = vec![Idle; 30];
        late[29] = Retreat;
        assert!((recognition_latency(&times, &late, Retreat, 1.0, 0.3).unwrap_or(0.0) - 1.9).abs() < 1e-9);
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(percentile(&v, 0.5), Some(3.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 1.0), Some(5.0));
        assert!((percentile(&v, 0.9).unwrap_or(0.0) - 4.6).abs() < 1e-12);
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[f64::NAN], 0.5), None);
    }
}
