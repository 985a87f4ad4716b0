//! Intent labels from geometry on real tracks, and re-calibrating the model's intent probabilities on them.
//!
//! A real track carries no intent label. [`geometric_intent`] gives the one a person *shows* relative to a robot
//! position, from where they were 1 s ago, where they are and where they are 1 s later, in the scenario
//! generator's terms: standing (idle), walking at the robot and ending up within the generator's approach start
//! distance (approach), walking away from a robot they were near (retreat), walking otherwise (pass-by). A
//! hand-over cannot be seen in a 2-D track and is never the label.
//!
//! Calibration is temperature scaling on top of the card's temperature: probabilities `p = softmax(z / T)`
//! become `softmax(z / (T·s))`, i.e. `p_i^(1/s)` renormalised ([`retemper`]); `s` minimises the negative
//! log-likelihood of the geometric labels on the validation split ([`fit_factor`]). The most probable intent does
//! not change with `s`.

use intent_shared_control_core::model::{Intent, NUM_INTENTS};
use nalgebra::Vector2;

/// Walking: displacement over the window or the next second faster than this \[m/s\].
pub const WALKING_SPEED: f64 = 0.3;
/// Heading at the robot (approach) or away from it (retreat): the distance to the robot changes by at least this
/// fraction of the distance walked.
pub const RADIAL_FRACTION: f64 = 0.7;
/// Approach: ends within this distance of the robot \[m\] (the generator starts approaches 2.5–6.5 m away).
pub const APPROACH_WITHIN: f64 = 6.5;
/// Retreat: starts within this distance of the robot \[m\] (the generator's retreats start next to it).
pub const RETREAT_FROM: f64 = 3.0;

/// The intent shown by a person at `before` (1 s ago), `now` and `after` (1 s later) toward a robot at `robot`.
pub fn geometric_intent(before: Vector2<f64>, now: Vector2<f64>, after: Vector2<f64>, robot: Vector2<f64>) -> Intent {
    let walked = (after - now).norm();
    if (now - before).norm().max(walked) < WALKING_SPEED {
        return Intent::Idle;
    }
    let (d_now, d_after) = ((now - robot).norm(), (after - robot).norm());
    let radial = (d_after - d_now) / walked.max(1e-9);
    if radial <= -RADIAL_FRACTION && d_after <= APPROACH_WITHIN {
        Intent::ApproachRobot
    } else if radial >= RADIAL_FRACTION && d_now <= RETREAT_FROM {
        Intent::Retreat
    } else {
        Intent::PassBy
    }
}

/// Windows (0.4 s apart) either side of a pair of consecutive windows over which the shown intent must stay the
/// same for a label change between them to count as one outside a true intent change ([`settled`]): 3 windows,
/// 1.2 s, the first whole number of windows beyond the 1 s that [`geometric_intent`] looks back and ahead.
pub const SETTLE_WINDOWS: usize = 3;

/// For the windows of one piece in time order (their shown intents), per window `i`: whether the pair of
/// windows `i − 1`, `i` is *settled*, i.e. the shown intent is the same at every window from [`SETTLE_WINDOWS`]
/// before `i − 1` to [`SETTLE_WINDOWS`] after `i` (as far as the piece goes); `false` for the first window.
///
/// The shown intent of a window is judged from where the person is 1 s before and 1 s after it, so it changes up
/// to 1 s before the motion that changes it is visible; a forecaster, which sees only the past, changes its label
/// after the motion. A label change in a pair whose own two shown intents agree but whose neighbours' do not is
/// that delay, not a label changing while the intent stays; only settled pairs tell the two apart.
pub fn settled(shown: &[usize]) -> Vec<bool> {
    (0..shown.len())
        .map(|i| {
            i > 0 && {
                let from = (i - 1).saturating_sub(SETTLE_WINDOWS);
                let to = (i + SETTLE_WINDOWS).min(shown.len() - 1);
                shown[from..=to].iter().all(|&s| s == shown[i])
            }
        })
        .collect()
}

/// Smallest probability used in logarithms: below the smallest normal `f32`, so that no probability the model
/// reports is clipped (clipping would hide how overconfident a sharp distribution is).
const FLOOR: f64 = 1e-45;

/// `p` re-tempered by the factor `s` (`p_i^(1/s)` renormalised).
pub fn retemper(p: &[f32; NUM_INTENTS], s: f64) -> [f64; NUM_INTENTS] {
    let logs = p.map(|x| f64::from(x).max(FLOOR).ln() / s);
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e = logs.map(|l| (l - max).exp());
    let sum: f64 = e.iter().sum();
    e.map(|x| x / sum)
}

/// Mean negative log-likelihood of `labels` under `probabilities` re-tempered by `s`.
pub fn nll(samples: &[([f32; NUM_INTENTS], usize)], s: f64) -> f64 {
    let total: f64 = samples.iter().map(|(p, y)| -retemper(p, s)[*y].max(FLOOR).ln()).sum();
    total / samples.len().max(1) as f64
}

/// The factor `s` in [0.05, 50] with the lowest [`nll`] (golden-section search on `ln s`; the NLL of temperature
/// scaling is convex in `1/s`); 1 for no samples.
pub fn fit_factor(samples: &[([f32; NUM_INTENTS], usize)]) -> f64 {
    if samples.is_empty() {
        return 1.0;
    }
    let f = |ln_s: f64| nll(samples, ln_s.exp());
    let (mut a, mut b) = (0.05_f64.ln(), 50.0_f64.ln());
    let g = (5.0_f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..60 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    ((a + b) / 2.0).exp()
}

/// One bin of a reliability diagram.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Bin {
    pub count: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
}

/// Reliability diagram of `(confidence, correct)` in `bins` equal-width bins over [0, 1], and its expected
/// calibration error (count-weighted mean |accuracy − confidence|); `None` for no samples.
pub fn reliability(samples: &[(f64, bool)], bins: usize) -> Option<(Vec<Bin>, f64)> {
    if samples.is_empty() || bins == 0 {
        return None;
    }
    let mut out = vec![Bin { count: 0, mean_confidence: 0.0, accuracy: 0.0 }; bins];
    for &(c, ok) in samples {
        let b = &mut out[((c.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1)];
        b.count += 1;
        b.mean_confidence += c;
        b.accuracy += f64::from(u8::from(ok));
    }
    let mut ece = 0.0;
    for b in out.iter_mut().filter(|b| b.count > 0) {
        b.mean_confidence /= b.count as f64;
        b.accuracy /= b.count as f64;
        ece += b.count as f64 / samples.len() as f64 * (b.accuracy - b.mean_confidence).abs();
    }
    Some((out, ece))
}

/// Index of the largest probability.
pub fn argmax<T: PartialOrd + Copy>(p: &[T]) -> usize {
    (0..p.len()).fold(0, |best, i| if p[i] > p[best] { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: f64, y: f64) -> Vector2<f64> {
        Vector2::new(x, y)
    }

    #[test]
    fn geometry_names_the_intent() {
        let robot = v(0.0, 0.0);
        assert_eq!(geometric_intent(v(3.0, 0.0), v(3.1, 0.0), v(3.0, 0.1), robot), Intent::Idle);
        assert_eq!(geometric_intent(v(5.0, 0.0), v(4.0, 0.0), v(3.0, 0.0), robot), Intent::ApproachRobot);
        // Walking at a robot from far away is not yet an approach.
        assert_eq!(geometric_intent(v(12.0, 0.0), v(11.0, 0.0), v(10.0, 0.0), robot), Intent::PassBy);
        assert_eq!(geometric_intent(v(1.0, 0.0), v(1.5, 0.0), v(2.7, 0.0), robot), Intent::Retreat);
        assert_eq!(geometric_intent(v(6.0, 0.0), v(7.0, 0.0), v(8.0, 0.0), robot), Intent::PassBy);
        assert_eq!(geometric_intent(v(-1.0, 2.0), v(0.0, 2.0), v(1.0, 2.0), robot), Intent::PassBy);
    }

    #[test]
    fn a_pair_is_settled_only_with_the_same_shown_intent_1_2_s_either_side() {
        // One change of the shown intent between windows 5 and 6 unsettles the pairs ending at 3..=9.
        let shown = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1];
        let s = settled(&shown);
        let expected: Vec<bool> = (0..shown.len()).map(|i| !(i == 0 || (3..=9).contains(&i))).collect();
        assert_eq!(s, expected);
        // Near the ends of a piece only the windows there count.
        assert_eq!(settled(&[2, 2]), [false, true]);
        assert_eq!(settled(&[2]), [false]);
        assert!(settled(&[]).is_empty());
    }

    #[test]
    fn retempering_keeps_the_order_and_flattens_or_sharpens() {
        let p = [0.7, 0.2, 0.05, 0.03, 0.02];
        let same = retemper(&p, 1.0);
        assert!(same.iter().zip(p).all(|(a, b)| (a - f64::from(b)).abs() < 1e-6));
        let flat = retemper(&p, 3.0);
        let sharp = retemper(&p, 0.5);
        assert!(flat[0] < 0.7 && sharp[0] > 0.7);
        assert_eq!((argmax(&flat), argmax(&sharp)), (0, 0));
        assert!((flat.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_fitted_factor_undoes_overconfidence() {
        // True class probabilities 0.6 / 0.1 each, reported sharpened by a factor 1/2 (p^2): s ≈ 2 restores them.
        let truth = [0.6, 0.1, 0.1, 0.1, 0.1];
        let reported: [f32; 5] = {
            let sq: Vec<f64> = truth.iter().map(|x: &f64| x * x).collect();
            let sum: f64 = sq.iter().sum();
            std::array::from_fn(|i| (sq[i] / sum) as f32)
        };
        let mut samples = Vec::new();
        for i in 0..1000 {
            // Labels drawn in the true proportions (600 / 100 / 100 / 100 / 100).
            let y = if i < 600 { 0 } else { 1 + (i - 600) / 100 };
            samples.push((reported, y));
        }
        let s = fit_factor(&samples);
        assert!((s - 2.0).abs() < 0.01, "{s}");
        assert!(nll(&samples, s) < nll(&samples, 1.0));
    }

    #[test]
    fn reliability_of_a_calibrated_and_an_overconfident_predictor() {
        let calibrated: Vec<(f64, bool)> = (0..100).map(|i| (0.75, i % 4 != 0)).collect();
        let (bins, ece) = reliability(&calibrated, 10).unwrap();
        assert!(ece.abs() < 1e-12);
        assert_eq!(bins[7].count, 100);
        let overconfident: Vec<(f64, bool)> = (0..100).map(|i| (0.95, i % 2 == 0)).collect();
        assert!((reliability(&overconfident, 10).unwrap().1 - 0.45).abs() < 1e-12);
        assert!(reliability(&[], 10).is_none());
    }
}
