//! Host CPU and memory figures for VES measurements and thresholds, read from Linux `/proc`
//! (`/proc/stat` aggregate CPU times, `/proc/meminfo`).

/// Aggregate CPU times (in clock ticks) at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    /// Reads the `cpu` line of `/proc/stat`.
    pub fn read() -> Option<CpuTimes> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    fn parse(text: &str) -> Option<CpuTimes> {
        let line = text.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        Some(CpuTimes {
            user: at(0),
            nice: at(1),
            system: at(2),
            idle: at(3),
            iowait: at(4),
            irq: at(5),
            softirq: at(6),
            steal: at(7),
        })
    }

    fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }
}

/// CPU use between two samples, in percent of all CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuUsage {
    pub busy: f64,
    pub user: f64,
    pub nice: f64,
    pub system: f64,
    pub idle: f64,
    pub wait: f64,
    pub irq: f64,
    pub softirq: f64,
    pub steal: f64,
}

impl CpuUsage {
    pub fn between(a: &CpuTimes, b: &CpuTimes) -> CpuUsage {
        let total = b.total().saturating_sub(a.total()).max(1) as f64;
        let pct = |x: u64, y: u64| round2(100.0 * y.saturating_sub(x) as f64 / total);
        let idle = pct(a.idle, b.idle);
        let wait = pct(a.iowait, b.iowait);
        CpuUsage {
            busy: round2((100.0 - idle - wait).max(0.0)),
            user: pct(a.user, b.user),
            nice: pct(a.nice, b.nice),
            system: pct(a.system, b.system),
            idle,
            wait,
            irq: pct(a.irq, b.irq),
            softirq: pct(a.softirq, b.softirq),
            steal: pct(a.steal, b.steal),
        }
    }
}

/// Memory figures in KiB, as VES `memoryUsage` counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub total: u64,
    pub free: u64,
    pub buffered: u64,
    pub cached: u64,
    pub slab_reclaimable: u64,
    pub slab_unreclaimable: u64,
}

impl Memory {
    pub fn read() -> Option<Memory> {
        Self::parse(&std::fs::read_to_string("/proc/meminfo").ok()?)
    }

    fn parse(text: &str) -> Option<Memory> {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        };
        Some(Memory {
            total: get("MemTotal")?,
            free: get("MemFree")?,
            buffered: get("Buffers").unwrap_or(0),
            cached: get("Cached").unwrap_or(0),
            slab_reclaimable: get("SReclaimable").unwrap_or(0),
            slab_unreclaimable: get("SUnreclaim").unwrap_or(0),
        })
    }

    /// Total minus free, buffered, cached and slab (the VES definition of `memoryUsed`).
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(
            self.free
                + self.buffered
                + self.cached
                + self.slab_reclaimable
                + self.slab_unreclaimable,
        )
    }

    pub fn percent_used(&self) -> f64 {
        round2(100.0 * self.used() as f64 / self.total.max(1) as f64)
    }
}

/// The host name (`/proc/sys/kernel/hostname`), or `nectar` when it cannot be read.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "nectar".to_owned())
}

/// Rounds to two decimals (the precision thresholds and events carry).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_usage_between_two_samples() {
        let a = CpuTimes::parse("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2").unwrap();
        let b = CpuTimes::parse("cpu  150 0 150 900 0 0 0 0 0 0\n").unwrap();
        let u = CpuUsage::between(&a, &b);
        assert_eq!((u.user, u.system, u.idle, u.busy), (25.0, 25.0, 50.0, 50.0));
    }

    #[test]
    fn memory_used_excludes_caches() {
        let m = Memory::parse(
            "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\nSReclaimable: 50 kB\nSUnreclaim: 50 kB\n",
        )
        .unwrap();
        assert_eq!(m.used(), 500);
        assert_eq!(m.percent_used(), 50.0);
        assert!(Memory::read().is_some_and(|m| m.total > 0));
    }
}
