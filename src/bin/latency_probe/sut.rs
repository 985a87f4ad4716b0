//! The systems under test as child processes (start, liveness, orderly stop) and their CPU and RSS from /proc.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::cli::{Cli, System};

pub(crate) struct Sut {
    children: Vec<(String, Child)>,
    pub(crate) commands: Vec<String>,
}

impl Sut {
    pub(crate) fn start(cli: &Cli, system: System, log_dir: &Path) -> anyhow::Result<Sut> {
        let bin_dir = match &cli.bin_dir {
            Some(d) => d.clone(),
            None => std::env::current_exe()?.parent().context("probe has no directory")?.to_path_buf(),
        };
        let params = cli.params_file.to_string_lossy().into_owned();
        // The event-driven output (one cmd_vel per decision) for the rows comparable across reports; the
        // default steady output has a row of its own.
        let node_with = |exe: &str, output_mode: &str| -> (PathBuf, Vec<String>) {
            let args = ["--ros-args", "--params-file", &params, "-p", &format!("output_mode:={output_mode}")];
            (bin_dir.join(exe), args.iter().map(|a| (*a).to_owned()).collect())
        };
        let node = |exe: &str| node_with(exe, "event");
        let specs: Vec<(PathBuf, Vec<String>)> = match system {
            System::Relay => vec![(bin_dir.join("latency_relay"), vec![])],
            System::Relay1 => vec![(bin_dir.join("latency_relay"), vec!["--hops".into(), "1".into()])],
            System::Relay2 => vec![(bin_dir.join("latency_relay"), vec!["--hops".into(), "2".into()])],
            System::Composed => vec![node("shared_control_system")],
            System::ComposedSteady => vec![node_with("shared_control_system", "steady")],
            System::Separate => vec![node("intent_predictor"), node("shared_control"), node("supervisor")],
            System::Python => vec![(
                PathBuf::from(&cli.python),
                vec![
                    "bench/python_baseline/baseline_node.py".into(),
                    "--model".into(),
                    "models/intent_model.onnx".into(),
                ],
            )],
        };
        let mut sut = Sut { children: Vec::new(), commands: Vec::new() };
        for (i, (exe, args)) in specs.into_iter().enumerate() {
            let name = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let log = std::fs::File::create(log_dir.join(format!("{}-{i}-{name}.log", system.name())))?;
            let shown = std::iter::once(if system == System::Python { name.clone() } else { format!("<bin>/{name}") })
                .chain(args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            let child = Command::new(&exe)
                .args(&args)
                .current_dir(&cli.repo)
                .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", exe.display()))?;
            sut.children.push((name, child));
            sut.commands.push(shown);
        }
        Ok(sut)
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|(_, c)| c.id()).collect()
    }

    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        for (name, c) in &mut self.children {
            if let Some(status) = c.try_wait()? {
                bail!("{name} exited early with {status}");
            }
        }
        Ok(())
    }

    /// SIGINT (the nodes' orderly shutdown), then SIGKILL after 10 s.
    pub(crate) fn stop(&mut self) {
        for (_, c) in &self.children {
            let _ = Command::new("kill").args(["-s", "INT", &c.id().to_string()]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for (name, c) in &mut self.children {
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                    _ => {
                        eprintln!("{name} did not stop on SIGINT; killing it");
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for Sut {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
pub(crate) const USER_HZ: f64 = 100.0;

pub(crate) fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
