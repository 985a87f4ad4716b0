//! Per-batch-size choice between the CPU and the CUDA backend for the `auto` execution provider.
//!
//! At load, `auto` with both backends times each of them at every CUDA bucket size (`cuda_buckets`) and keeps
//! the medians. [`route_table`] turns those medians into a [`RoutingTable`]; [`RoutingTable::provider_for`]
//! then says which backend runs a batch of `n` rows. Both are pure functions of their arguments.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ort_model::ActiveProvider;

/// One batch-size bucket of a [`RoutingTable`]: what was measured and which backend was chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteEntry {
    /// Bucket size, in rows.
    pub rows: usize,
    /// Median time of one CPU call at this size, in µs; `None` when there is no usable measurement.
    pub cpu_median_us: Option<f64>,
    /// Median time of one CUDA call at this size, in µs; `None` when there is no usable measurement.
    pub gpu_median_us: Option<f64>,
    /// The backend that runs batches of this bucket.
    pub provider: ActiveProvider,
}

/// The backend per batch-size bucket, ascending by `rows`.
///
/// Serialised as the list of its [`RouteEntry`]s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoutingTable {
    entries: Vec<RouteEntry>,
}

/// A timing that can be compared: finite and not negative.
fn usable(t: Option<f64>) -> Option<f64> {
    t.filter(|t| t.is_finite() && *t >= 0.0)
}

/// Builds the routing table from median timings per bucket, in µs.
///
/// `buckets` are the CUDA bucket sizes (ascending, as validated by `OrtModelConfig`); `cpu_us[i]` and
/// `gpu_us[i]` are the medians measured at `buckets[i]` rows. A bucket goes to CUDA only when both of its
/// timings are usable (finite, >= 0) and CUDA's is strictly lower; ties, NaN, infinite or missing timings
/// (slices shorter than `buckets`) keep it on the CPU, which is always loaded.
pub fn route_table(buckets: &[usize], cpu_us: &[f64], gpu_us: &[f64]) -> RoutingTable {
    let entries = buckets
        .iter()
        .enumerate()
        .map(|(i, &rows)| {
            let cpu = usable(cpu_us.get(i).copied());
            let gpu = usable(gpu_us.get(i).copied());
            let provider = match (cpu, gpu) {
                (Some(c), Some(g)) if g < c => ActiveProvider::Cuda,
                _ => ActiveProvider::Cpu,
            };
            RouteEntry { rows, cpu_median_us: cpu, gpu_median_us: gpu, provider }
        })
        .collect();
    RoutingTable { entries }
}

/// Index of the bucket that a batch of `rows` rows uses: the smallest bucket that holds it, the largest one
/// for batches above every bucket (the CUDA backend splits those into runs of at most the largest bucket);
/// `None` only without buckets. `buckets` must be ascending.
pub fn bucket_index(buckets: &[usize], rows: usize) -> Option<usize> {
    smallest_holding(buckets.iter().copied(), rows)
}

/// [`bucket_index`] over an iterator of ascending bucket sizes.
pub(crate) fn smallest_holding(mut sizes: impl ExactSizeIterator<Item = usize>, rows: usize) -> Option<usize> {
    let last = sizes.len().checked_sub(1);
    sizes.position(|size| size >= rows).or(last)
}

impl RoutingTable {
    /// The buckets, ascending by size.
    pub fn entries(&self) -> &[RouteEntry] {
        &self.entries
    }

    /// The backend that runs a batch of `rows` rows: that of the bucket [`bucket_index`] picks; CPU for an
    /// empty table.
    pub fn provider_for(&self, rows: usize) -> ActiveProvider {
        smallest_holding(self.entries.iter().map(|e| e.rows), rows)
            .map_or(ActiveProvider::Cpu, |i| self.entries[i].provider)
    }

    /// Whether at least one bucket runs on `provider`.
    pub fn uses(&self, provider: ActiveProvider) -> bool {
        self.entries.iter().any(|e| e.provider == provider)
    }
}

/// Compact form `rows:provider` per bucket, e.g. `1:cpu 8:cpu 64:cuda`.
impl fmt::Display for RoutingTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}:{}", e.rows, e.provider.as_str())?;
        }
        Ok(())
    }
}

/// Median of `samples` (mean of the two middle values for an even count); NaN when empty. Reorders
/// `samples`.
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => samples[n / 2],
        _ => 0.5 * (samples[n / 2 - 1] + samples[n / 2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActiveProvider::{Cpu, Cuda};

    const BUCKETS: [usize; 3] = [1, 8, 64];

    fn providers(t: &RoutingTable) -> Vec<ActiveProvider> {
        t.entries().iter().map(|e| e.provider).collect()
    }

    #[test]
    fn gpu_faster_only_for_large_batches() {
        let t = route_table(&BUCKETS, &[40.0, 90.0, 700.0], &[85.0, 95.0, 120.0]);
        assert_eq!(providers(&t), [Cpu, Cpu, Cuda]);
        assert_eq!(t.provider_for(1), Cpu);
        assert_eq!(t.provider_for(5), Cpu);
        assert_eq!(t.provider_for(8), Cpu);
        assert_eq!(t.provider_for(9), Cuda);
        assert_eq!(t.provider_for(64), Cuda);
        assert!(t.uses(Cuda) && t.uses(Cpu));
        assert_eq!(t.to_string(), "1:cpu 8:cpu 64:cuda");
        assert_eq!(t.entries()[2].gpu_median_us, Some(120.0));
        assert_eq!(t.entries()[2].cpu_median_us, Some(700.0));
    }

    #[test]
    fn ties_stay_on_cpu() {
        let t = route_table(&BUCKETS, &[50.0, 80.0, 300.0], &[50.0, 79.9, 300.0]);
        assert_eq!(providers(&t), [Cpu, Cuda, Cpu]);
    }

    #[test]
    fn nan_infinite_negative_or_missing_timings_stay_on_cpu() {
        let t = route_table(&BUCKETS, &[50.0, f64::NAN, 300.0], &[f64::NAN, 10.0, f64::INFINITY]);
        assert_eq!(providers(&t), [Cpu, Cpu, Cpu]);
        assert_eq!(t.entries()[0].gpu_median_us, None);
        assert_eq!(t.entries()[1].cpu_median_us, None);
        assert_eq!(t.entries()[2].gpu_median_us, None);
        let t = route_table(&BUCKETS, &[50.0, 80.0, 300.0], &[-1.0, 10.0]);
        assert_eq!(providers(&t), [Cpu, Cuda, Cpu]);
        assert_eq!(t.entries()[2].gpu_median_us, None);
        let t = route_table(&BUCKETS, &[], &[1.0, 1.0, 1.0]);
        assert_eq!(providers(&t), [Cpu, Cpu, Cpu]);
        assert!(!t.uses(Cuda));
    }

    #[test]
    fn batches_above_the_largest_bucket_follow_it() {
        let gpu_large = route_table(&BUCKETS, &[40.0, 90.0, 700.0], &[85.0, 95.0, 120.0]);
        assert_eq!(gpu_large.provider_for(65), Cuda);
        assert_eq!(gpu_large.provider_for(1000), Cuda);
        let cpu_large = route_table(&BUCKETS, &[40.0, 90.0, 100.0], &[85.0, 60.0, 120.0]);
        assert_eq!(cpu_large.provider_for(8), Cuda);
        assert_eq!(cpu_large.provider_for(65), Cpu);
        assert_eq!(bucket_index(&BUCKETS, 65), Some(2));
    }

    #[test]
    fn bucket_index_is_the_smallest_that_holds_the_batch() {
        assert_eq!(bucket_index(&BUCKETS, 0), Some(0));
        assert_eq!(bucket_index(&BUCKETS, 1), Some(0));
        assert_eq!(bucket_index(&BUCKETS, 2), Some(1));
        assert_eq!(bucket_index(&BUCKETS, 8), Some(1));
        assert_eq!(bucket_index(&BUCKETS, 9), Some(2));
        assert_eq!(bucket_index(&BUCKETS, 64), Some(2));
        assert_eq!(bucket_index(&[], 3), None);
        assert_eq!(route_table(&[], &[], &[]).provider_for(3), Cpu);
    }

    #[test]
    fn table_round_trips_through_json() {
        let t = route_table(&BUCKETS, &[40.0, 90.0, 700.0], &[85.0, f64::NAN, 120.0]);
        let json = serde_json::to_string(&t).expect("serialise");
        assert!(json.starts_with('['), "{json}");
        assert!(json.contains(r#""gpu_median_us":null"#), "{json}");
        assert!(json.contains(r#""provider":"cuda""#), "{json}");
        let back: RoutingTable = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, t);
    }

    #[test]
    fn median_of_odd_even_and_empty_samples() {
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
        assert_eq!(median(&mut [7.0]), 7.0);
    }
}
