//! Latency report of the intent model: Rust (ort) vs Python onnxruntime, same model, same input, same run.
//!
//! For each batch size (default 1, 8, 64) it times, after a warm-up, `iters` calls of
//! - `rust_run`: the backend call (`IntentModel::run_valid`, what Python's `session.run` does),
//! - `rust_predict`: the full per-frame path (`IntentModel::predict_into`: screening, run, softmax),
//! - `python_run`: Python onnxruntime `session.run` (script `scripts/bench_python_ort.py`),
//!
//! in `rounds` alternating rounds, and writes `<stem>.json` and `<stem>.md` (default `bench_intent`) to `--out`
//! (the input file and the Python side's raw samples go to a temporary directory). With `--provider auto` and
//! both backends loaded, the report also has the routing table measured at load and the backend of each batch.
//! Percentiles come from HDR histograms \[µs\]. This is a report, not a pass/fail test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use intent_shared_control_core::model::{IntentModel, ModelInput, ModelOutput, RawOutput, WINDOW_LEN};
use intent_shared_control_inference::machine::MachineInfo;
use intent_shared_control_inference::ort_model::ROUTING_TIMED_RUNS;
use intent_shared_control_inference::{ActiveProvider, ExecutionProviderKind, RoutingTable};
use intent_shared_control_tools::model_args::ModelArgs;
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(about = "Intent model latency: Rust ort vs Python onnxruntime")]
struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Timed calls per batch size per round.
    #[arg(long, default_value_t = 2000)]
    iters: usize,
    /// Untimed calls per batch size per round before timing.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Alternating Rust/Python rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    batches: Vec<usize>,
    /// Python interpreter with numpy + onnxruntime; empty to skip the Python side.
    #[arg(long, default_value = "python3")]
    python: String,
    /// The Python side's script.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench_python_ort.py"))]
    python_script: PathBuf,
    /// Output directory for `<stem>.json` / `<stem>.md`.
    #[arg(long)]
    out: PathBuf,
    /// File stem of the report.
    #[arg(long, default_value = "bench_intent")]
    stem: String,
}

/// The command that reproduces this report (library and Python come from the environment).
fn reproduce_command(args: &Args) -> String {
    let batches: Vec<String> = args.batches.iter().map(ToString::to_string).collect();
    format!(
        "ISC_ORT_LIB=<libonnxruntime.so.1.31.1> cargo run --release -p intent_shared_control_tools --bin \
         bench_intent -- --model {} --card {} --provider {} --iters {} --warmup {} --rounds {} --batches {} \
         --python {} --out {} --stem {}",
        args.model.model.display(),
        args.model.card.display(),
        args.model.provider_name(),
        args.iters,
        args.warmup,
        args.rounds,
        batches.join(","),
        if args.python.is_empty() {
            "\"\"".to_string()
        } else {
            "<python with numpy + onnxruntime 1.31.1>".to_string()
        },
        args.out.display(),
        args.stem
    )
}

/// Latency summary of one series \[µs\].
#[derive(Serialize, Debug, Clone)]
struct Summary {
    samples: u64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    max_us: f64,
    mean_us: f64,
}

#[derive(Serialize, Debug)]
struct BatchReport {
    batch: usize,
    /// The backend that ran this batch size.
    provider: ActiveProvider,
    rust_run: Summary,
    rust_predict: Summary,
    python_run: Option<Summary>,
    /// python_run p50 / rust_run p50.
    python_over_rust_p50: Option<f64>,
    /// python_run p99 / rust_run p99.
    python_over_rust_p99: Option<f64>,
}

#[derive(Serialize, Debug)]
struct Report {
    model: String,
    model_version: String,
    provider_requested: ExecutionProviderKind,
    /// With `auto` routing: `cuda` when at least one batch size runs on CUDA.
    provider_active: String,
    fallback_reason: Option<String>,
    /// `auto` with both backends: medians per CUDA bucket measured at load and the backend chosen for each.
    routing: Option<RoutingTable>,
    python_onnxruntime: Option<String>,
    iters_per_round: usize,
    rounds: usize,
    warmup: usize,
    batches: Vec<BatchReport>,
    /// Target: CPU, batch 1, `rust_predict` p99 <= this \[µs\].
    target_cpu_b1_p99_us: f64,
    /// Whether `rust_predict` at batch 1 meets the target (`None` without batch 1 or when batch 1 does not run
    /// on the CPU).
    target_cpu_b1_p99_met: Option<bool>,
    /// Whether this binary was built with the `cuda` feature (CUDA graphs + IO binding).
    cuda_feature_built: bool,
    reproduce: String,
    machine: MachineInfo,
}

/// Target of the project for one CPU call at batch 1 \[µs\].
const TARGET_CPU_B1_P99_US: f64 = 120.0;

fn histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000_000, 3).context("creating a histogram")
}

fn summary(h: &Histogram<u64>) -> Summary {
    let us = |ns: u64| ns as f64 / 1000.0;
    Summary {
        samples: h.len(),
        p50_us: us(h.value_at_quantile(0.50)),
        p90_us: us(h.value_at_quantile(0.90)),
        p99_us: us(h.value_at_quantile(0.99)),
        max_us: us(h.max()),
        mean_us: h.mean() / 1000.0,
    }
}

/// Deterministic plausible windows (walking bodies with small noise), row-major `[n, 30, 71]`.
fn synthetic_windows(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(n * WINDOW_LEN);
    for _ in 0..n {
        let v = [uniform() * 2.0 - 1.0, uniform() * 2.0 - 1.0, 0.0];
        let start = [1.0 + 4.0 * uniform(), 0.0, 0.0];
        let offsets: Vec<[f64; 3]> =
            (0..17).map(|k| [0.2 * (uniform() - 0.5), 0.4 * (uniform() - 0.5), 1.6 - 0.1 * k as f64]).collect();
        for t in 0..30 {
            let tau = (t as f64 - 29.0) / 30.0;
            for o in &offsets {
                for d in 0..3 {
                    out.push((o[d] + v[d] * tau + 0.01 * (uniform() - 0.5)) as f32);
                }
            }
            for d in 0..3 {
                out.push((start[d] + v[d] * tau) as f32);
            }
            out.extend(std::iter::repeat_n(1.0_f32, 17));
        }
    }
    out
}

#[derive(serde::Deserialize)]
struct PythonResult {
    onnxruntime_version: String,
    samples_ns: std::collections::BTreeMap<String, Vec<u64>>,
}

fn run_python(args: &Args, input: &Path, out: &Path) -> Result<PythonResult> {
    let batches = args.batches.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let provider = if matches!(args.model.provider, ExecutionProviderKind::Cuda) { "cuda" } else { "cpu" };
    let status = Command::new(&args.python)
        .arg(&args.python_script)
        .args(["--model", &args.model.model.to_string_lossy(), "--input", &input.to_string_lossy()])
        .args(["--batches", &batches, "--iters", &args.iters.to_string(), "--warmup", &args.warmup.to_string()])
        .args(["--provider", provider, "--out", &out.to_string_lossy()])
        .status()
        .with_context(|| format!("starting `{}` on {}", args.python, args.python_script.display()))?;
    if !status.success() {
        bail!("the Python benchmark failed ({status})");
    }
    let text = std::fs::read_to_string(out).with_context(|| format!("reading {}", out.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", out.display()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.iters == 0 || args.rounds == 0 || args.batches.is_empty() || args.batches.contains(&0) {
        bail!("--iters, --rounds and every batch size must be >= 1");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let (mut model, _) = args.model.load().context("loading the model")?;

    let max_batch = args.batches.iter().copied().max().unwrap_or(1);
    let windows = synthetic_windows(max_batch, 0x5EED);
    let scratch = std::env::temp_dir().join(format!("bench_intent_{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let input_path = scratch.join("bench_input.f32");
    let bytes: Vec<u8> = windows.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&input_path, bytes).with_context(|| format!("writing {}", input_path.display()))?;

    let mut rust_run = Vec::new();
    let mut rust_predict = Vec::new();
    let mut python_run = Vec::new();
    for _ in &args.batches {
        rust_run.push(histogram()?);
        rust_predict.push(histogram()?);
        python_run.push(histogram()?);
    }
    let mut python_version = None;
    let mut raw = RawOutput::default();
    let mut output = ModelOutput::new();
    for round in 0..args.rounds {
        for (i, &b) in args.batches.iter().enumerate() {
            let rows = &windows[..b * WINDOW_LEN];
            let input = ModelInput::from_flat(rows).context("building the input")?;
            for _ in 0..args.warmup {
                model.run_valid(rows, b, &mut raw).context("warm-up")?;
            }
            for _ in 0..args.iters {
                let t0 = Instant::now();
                model.run_valid(rows, b, &mut raw).context("run")?;
                rust_run[i].saturating_record(t0.elapsed().as_nanos() as u64);
            }
            for _ in 0..args.iters {
                let t0 = Instant::now();
                model.predict_into(&input, &mut output).context("predict")?;
                rust_predict[i].saturating_record(t0.elapsed().as_nanos() as u64);
            }
        }
        if !args.python.is_empty() {
            let result = run_python(&args, &input_path, &scratch.join(format!("bench_python_round{round}.json")))?;
            for (i, b) in args.batches.iter().enumerate() {
                for &ns in result.samples_ns.get(&b.to_string()).into_iter().flatten() {
                    python_run[i].saturating_record(ns.max(1));
                }
            }
            python_version = Some(result.onnxruntime_version);
        }
        eprintln!("round {}/{} done", round + 1, args.rounds);
    }

    let batches: Vec<BatchReport> = args
        .batches
        .iter()
        .enumerate()
        .map(|(i, &batch)| {
            let r = summary(&rust_run[i]);
            let py = (!python_run[i].is_empty()).then(|| summary(&python_run[i]));
            BatchReport {
                batch,
                provider: model.provider().provider_for(batch),
                python_over_rust_p50: py.as_ref().map(|p| p.p50_us / r.p50_us),
                python_over_rust_p99: py.as_ref().map(|p| p.p99_us / r.p99_us),
                rust_run: r,
                rust_predict: summary(&rust_predict[i]),
                python_run: py,
            }
        })
        .collect();
    std::fs::remove_dir_all(&scratch).ok();
    let target_met = batches
        .iter()
        .find(|b| b.batch == 1)
        .filter(|b| b.provider == ActiveProvider::Cpu)
        .map(|b| b.rust_predict.p99_us <= TARGET_CPU_B1_P99_US);
    let report = Report {
        model: model.card().name.clone(),
        model_version: model.card().version.clone(),
        provider_requested: args.model.provider,
        provider_active: model.provider().active.as_str().into(),
        fallback_reason: model.provider().fallback_reason.clone(),
        routing: model.provider().routing.clone(),
        python_onnxruntime: python_version,
        iters_per_round: args.iters,
        rounds: args.rounds,
        warmup: args.warmup,
        batches,
        target_cpu_b1_p99_us: TARGET_CPU_B1_P99_US,
        target_cpu_b1_p99_met: target_met,
        cuda_feature_built: cfg!(feature = "cuda"),
        reproduce: reproduce_command(&args),
        machine: MachineInfo::collect(),
    };
    let json_path = args.out.join(format!("{}.json", args.stem));
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md = markdown(&report);
    let md_path = args.out.join(format!("{}.md", args.stem));
    std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
    print!("{md}");
    Ok(())
}

fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# Intent model latency\n\nModel `{}` {} on `{}` (requested `{}`{}), {} rounds × {} calls per batch size, \
         warm-up {}. Python onnxruntime: {}.\n\nMachine: {}. Built with the `cuda` feature: {}.\n\nReproduce:\n\n\
         ```sh\n{}\n```\n\n",
        r.model,
        r.model_version,
        r.provider_active,
        format!("{:?}", r.provider_requested).to_lowercase(),
        r.fallback_reason.as_deref().map(|x| format!(", fallback: {x}")).unwrap_or_default(),
        r.rounds,
        r.iters_per_round,
        r.warmup,
        r.python_onnxruntime.as_deref().unwrap_or("not run"),
        r.machine.describe(),
        if r.cuda_feature_built { "yes" } else { "no" },
        r.reproduce,
    );
    if let Some(routing) = &r.routing {
        s.push_str(&routing_markdown(routing));
    }
    s.push_str("| batch | rust run p50 / p99 µs | rust predict p50 / p99 µs | python run p50 / p99 µs | python/rust p50 | python/rust p99 |\n");
    s.push_str("|---|---|---|---|---|---|\n");
    let opt = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.2}"));
    for b in &r.batches {
        s.push_str(&format!(
            "| {} | {:.1} / {:.1} | {:.1} / {:.1} | {} | {} | {} |\n",
            b.batch,
            b.rust_run.p50_us,
            b.rust_run.p99_us,
            b.rust_predict.p50_us,
            b.rust_predict.p99_us,
            b.python_run.as_ref().map_or("–".into(), |p| format!("{:.1} / {:.1}", p.p50_us, p.p99_us)),
            opt(b.python_over_rust_p50),
            opt(b.python_over_rust_p99),
        ));
    }
    s.push_str(&format!(
        "\nTarget: CPU batch 1 `rust_predict` p99 <= {} µs: {}.\n",
        r.target_cpu_b1_p99_us,
        match r.target_cpu_b1_p99_met {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "not measured (no CPU batch-1 series)",
        }
    ));
    s
}

/// The `auto` routing table as a Markdown section.
fn routing_markdown(routing: &RoutingTable) -> String {
    let mut s = format!(
        "Routing of `auto` (`{routing}`), measured at load: median of {ROUTING_TIMED_RUNS} calls per backend and \
         bucket size; a batch uses the smallest bucket that holds it (above the largest, the largest).\n\n\
         | bucket rows | cpu median µs | cuda median µs | runs on |\n|---|---|---|---|\n"
    );
    let us = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.1}"));
    for e in routing.entries() {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            e.rows,
            us(e.cpu_median_us),
            us(e.gpu_median_us),
            e.provider.as_str()
        ));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use intent_shared_control_inference::routing::route_table;

    #[test]
    fn routing_section_lists_every_bucket() {
        let table = route_table(&[1, 8, 64], &[40.0, 90.0, 700.0], &[85.0, f64::NAN, 120.0]);
        let md = routing_markdown(&table);
        assert!(md.contains("`1:cpu 8:cpu 64:cuda`"), "{md}");
        assert!(md.contains("| 1 | 40.0 | 85.0 | cpu |"), "{md}");
        assert!(md.contains("| 8 | 90.0 | – | cpu |"), "{md}");
        assert!(md.contains("| 64 | 700.0 | 120.0 | cuda |"), "{md}");
    }
}
