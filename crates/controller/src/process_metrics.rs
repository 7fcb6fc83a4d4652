//! The `process_*` metrics every Prometheus client library exports (Go's included, so
//! upstream's controller has them) and that generic pod dashboards and alerts are built on:
//! CPU time, memory, open file descriptors and start time, read from `/proc` at each scrape.

use std::fmt;
use std::fs;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// `/proc/<pid>/stat` counts CPU time and start time in these (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// Reads `/proc/self` when scraped; on a system without it, exports nothing.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// One reading of the process's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// User and system CPU time.
    pub cpu_seconds: f64,
    /// Resident set size.
    pub resident_memory_bytes: i64,
    /// Virtual memory size.
    pub virtual_memory_bytes: i64,
    /// Seconds since the Unix epoch when the process started.
    pub start_time_seconds: f64,
    /// Open file descriptors.
    pub open_fds: i64,
    /// The soft limit on open file descriptors (`None`: unlimited or unknown).
    pub max_fds: Option<i64>,
}

impl ProcessStats {
    /// This process, now. `None` without `/proc`.
    #[must_use]
    pub fn read() -> Option<Self> {
        let stat = fs::read_to_string("/proc/self/stat").ok()?;
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let boot_time = fs::read_to_string("/proc/stat").ok()?;
        let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let open_fds = fs::read_dir("/proc/self/fd").ok()?.count();
        parse(&stat, &status, &boot_time, &limits, open_fds)
    }
}

/// The figures from the texts of `/proc/self/stat`, `/proc/self/status`, `/proc/stat` and
/// `/proc/self/limits`.
fn parse(
    stat: &str,
    status: &str,
    system: &str,
    limits: &str,
    open_fds: usize,
) -> Option<ProcessStats> {
    // The command name, field 2, is in parentheses and may hold spaces: count after it.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    // Fields 14 (utime), 15 (stime) and 22 (starttime), counted from 3 here.
    let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    let cpu_ticks = field(14)? + field(15)?;
    let started_ticks = field(22)?;
    let kilobytes = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse::<i64>()
            .ok()
            .map(|kb| kb * 1024)
    };
    let boot_time = system
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse::<f64>()
        .ok()?;
    let max_fds = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<i64>().ok());
    Some(ProcessStats {
        cpu_seconds: cpu_ticks / TICKS_PER_SECOND,
        resident_memory_bytes: kilobytes("VmRSS:")?,
        virtual_memory_bytes: kilobytes("VmSize:")?,
        start_time_seconds: boot_time + started_ticks / TICKS_PER_SECOND,
        open_fds: i64::try_from(open_fds).unwrap_or(i64::MAX),
        max_fds,
    })
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let Some(stats) = ProcessStats::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(stats.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                Some(stats.resident_memory_bytes),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                Some(stats.virtual_memory_bytes),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                Some(stats.open_fds),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                stats.max_fds,
            ),
        ];
        for (name, help, value) in gauges {
            let Some(value) = value else { continue };
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let started = ConstGauge::new(stats.start_time_seconds);
        started.encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            None,
            started.metric_type(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_proc_texts_including_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (sealed (secrets) ctl) S 1 4242 4242 0 -1 4194560 2700 0 0 0 \
                    150 50 0 0 20 0 9 0 12345 123456789 4000 18446744073709551615";
        let status = "Name:\tctl\nVmSize:\t  120000 kB\nVmRSS:\t   30000 kB\n";
        let system = "cpu  1 2 3\nbtime 1760000000\nprocesses 9\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1048576              1048576              files\n";
        let stats = parse(stat, status, system, limits, 17).unwrap();
        assert_eq!(
            stats,
            ProcessStats {
                cpu_seconds: 2.0,
                resident_memory_bytes: 30_000 * 1024,
                virtual_memory_bytes: 120_000 * 1024,
                start_time_seconds: 1_760_000_000.0 + 123.45,
                open_fds: 17,
                max_fds: Some(1_048_576),
            }
        );
        assert_eq!(parse("garbage", status, system, limits, 1), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_plausible_figures() {
        let stats = ProcessStats::read().unwrap();
        assert!(stats.resident_memory_bytes > 0);
        assert!(stats.open_fds >= 3);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(stats.start_time_seconds <= now + 1.0, "{stats:?}");
        assert!(
            stats.start_time_seconds > now - 86_400.0 * 30.0,
            "{stats:?}"
        );
    }
}
