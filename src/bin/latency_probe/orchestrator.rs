//! The orchestrator: runs a worker per system and round, merges the rounds and writes the reports with the
//! machine's details.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::bail;
use serde::Serialize;

use crate::cli::{Cli, Mode, System};
use crate::report::{comparisons, latency_markdown, load_markdown, METHOD};
use crate::results::{merge, SystemResult};

#[derive(Serialize)]
struct Machine {
    cpu_model: String,
    cpus_online: usize,
    memory_total_kib: u64,
    kernel: String,
    rmw: String,
    note: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_total_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Machine {
        cpu_model,
        cpus_online: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        memory_total_kib,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
        rmw: std::env::var("RMW_IMPLEMENTATION").unwrap_or_else(|_| "rmw_fastrtps_cpp (default)".into()),
        note: "probe and system under test share the same CPUs; other work on the machine adds noise".into(),
    }
}

/// /proc/loadavg's 1, 5 and 15 min load averages (background load on the shared machine).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn git_commit(repo: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) fn run_all(cli: &Cli) -> anyhow::Result<()> {
    let systems: Vec<System> = match cli.mode {
        Mode::Latency => cli.systems.clone(),
        Mode::Load => vec![cli.system],
    };
    let base = cli.domain_base.unwrap_or(10 + std::process::id() % 80);
    let exe = std::env::current_exe()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tmp = std::env::temp_dir().join(format!("latency_probe-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let loadavg_start = loadavg();
    let mut rounds: Vec<Vec<SystemResult>> = systems.iter().map(|_| Vec::new()).collect();
    let mut failures = Vec::new();
    for round in 0..cli.rounds() {
        for (i, &system) in systems.iter().enumerate() {
            if failures.iter().any(|f| f == system.name()) {
                continue;
            }
            let domain = (base + i as u32) % 101;
            let result_file = tmp.join(format!("{}-{round}.json", system.name()));
            eprintln!(
                "[{}] round {}/{}: measuring on ROS_DOMAIN_ID={domain} ...",
                system.name(),
                round + 1,
                cli.rounds()
            );
            let status = Command::new(&exe)
                .args(&args)
                .args(["--worker", system.name(), "--result-file"])
                .arg(&result_file)
                .env("ROS_DOMAIN_ID", domain.to_string())
                .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
                .status()?;
            if !status.success() {
                eprintln!("[{}] failed ({status})", system.name());
                failures.push(system.name().to_owned());
                continue;
            }
            let r: SystemResult = serde_json::from_str(&std::fs::read_to_string(&result_file)?)?;
            eprintln!(
                "[{}] p50 {:.0} µs  p99 {:.0} µs  p99.9 {:.0} µs  max {:.0} µs  ({} answered of {})",
                system.name(),
                r.latency.p50_us,
                r.latency.p99_us,
                r.latency.p999_us,
                r.latency.max_us,
                r.answered,
                r.sent
            );
            rounds[i].push(r);
        }
    }
    let results: Vec<SystemResult> = rounds.into_iter().filter_map(merge).collect();
    let out = cli.out.clone().unwrap_or_else(|| {
        PathBuf::from(match cli.mode {
            Mode::Latency => "reports/latency",
            Mode::Load => "reports/load",
        })
    });
    let command = cli.command_line.clone().unwrap_or_else(|| {
        std::iter::once("latency_probe".to_owned())
            .chain(args.iter().filter(|a| !a.starts_with("--command-line")).cloned())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let report = serde_json::json!({
        "mode": cli.mode,
        "label": cli.label,
        "command": command,
        "commit": git_commit(&cli.repo),
        "date_utc": chrono_like_now(),
        "machine": machine(),
        "loadavg_start": loadavg_start,
        "loadavg_end": loadavg(),
        "rate_hz": cli.rate(),
        "joy_rate_hz": cli.joy_rate,
        "warmup_s": cli.warmup,
        "duration_s": cli.duration(),
        "rounds": cli.rounds(),
        "method": METHOD,
        "failed": failures,
        "comparisons": comparisons(&results),
        "systems": results,
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let with_ext = |ext: &str| PathBuf::from(format!("{}.{ext}", out.display()));
    std::fs::write(with_ext("json"), serde_json::to_string_pretty(&report)? + "\n")?;
    let md = match cli.mode {
        Mode::Latency => latency_markdown(&report, &results),
        Mode::Load => load_markdown(&report, &results),
    };
    std::fs::File::create(with_ext("md"))?.write_all(md.as_bytes())?;
    eprintln!("wrote {}.json and .md", out.display());
    if !failures.is_empty() {
        bail!("systems that could not be measured: {}", failures.join(", "));
    }
    Ok(())
}

fn chrono_like_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
