//! Random draws from a ChaCha8 stream: standard normal, exponential inter-arrival times, uniform ranges.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// A standard normal sample.
pub(crate) fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    // Normal::new(0, 1) cannot fail; fall back to 0 rather than panic.
    Normal::new(0.0, 1.0).map(|n| n.sample(rng)).unwrap_or(0.0)
}

/// Exponential inter-arrival time of a Poisson process with rate `rate` [1/s] (infinite for rate 0).
pub(crate) fn exponential(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
    if rate <= 0.0 {
        return f64::INFINITY;
    }
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    -u.ln() / rate
}

/// A uniform draw from `[r[0], r[1])` (`r[0]` when the range is empty).
pub(crate) fn uniform(rng: &mut ChaCha8Rng, r: [f64; 2]) -> f64 {
    if r[1] > r[0] {
        rng.random_range(r[0]..r[1])
    } else {
        r[0]
    }
}
