//! What the report binaries say about the machine they ran on (no host names, no paths).

use serde::Serialize;

/// CPU, core count and operating system of this machine.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct MachineInfo {
    /// `model name` of the first CPU in `/proc/cpuinfo` (`"unknown"` elsewhere).
    pub cpu: String,
    /// Logical CPUs available to this process.
    pub logical_cpus: usize,
    /// `<os> <kernel release>`, e.g. `linux 6.8.0`.
    pub os: String,
}

impl MachineInfo {
    /// Reads the machine's description; never fails (unknown fields say `"unknown"`).
    pub fn collect() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        Self {
            cpu,
            logical_cpus: std::thread::available_parallelism().map_or(0, usize::from),
            os: format!("{} {release}", std::env::consts::OS),
        }
    }

    /// One line for the markdown reports.
    pub fn describe(&self) -> String {
        format!("{} logical CPU(s), {}, {}", self.logical_cpus, self.cpu, self.os)
    }
}
