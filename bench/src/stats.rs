//! Latency percentiles and a process's resident memory.

use std::time::Duration;

/// Latency samples in microseconds.
#[derive(Default)]
pub struct Latencies {
    samples: Vec<u64>,
}

impl Latencies {
    pub fn push(&mut self, sample: Duration) {
        self.samples
            .push(u64::try_from(sample.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn extend(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
    }

    /// p50, p99 and max in milliseconds; `None` without samples.
    pub fn summary(&mut self) -> Option<(f64, f64, f64)> {
        if self.samples.is_empty() {
            return None;
        }
        self.samples.sort_unstable();
        let at = |q: f64| {
            let last = self.samples.len() - 1;
            // Nearest rank: the sample at or above the quantile.
            let index = ((q * last as f64).ceil() as usize).min(last);
            self.samples[index] as f64 / 1000.0
        };
        Some((at(0.50), at(0.99), at(1.0)))
    }
}

/// The resident set of a process in bytes (`VmRSS` of `/proc/PID/status`).
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for process {pid}"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

/// Waits until the RSS of `pid` stops moving (two readings 500 ms apart within 64 KiB), at most `limit`.
pub async fn settled_rss(pid: u32, limit: Duration) -> anyhow::Result<u64> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = rss_bytes(pid)?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss_bytes(pid)?;
        if now.abs_diff(last) < 64 * 1024 || tokio::time::Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}
