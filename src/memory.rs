//! Process-wide allocator settings.
//!
//! glibc serves an allocation from its heap (kept by the process after a
//! free) unless it is larger than the mmap threshold, which it raises on its
//! own up to 32 MB after large blocks are freed. Argon2 password checks
//! allocate about 19 MB each on blocking threads: with the dynamic threshold
//! those blocks stayed in per-thread arenas for good (issue 17, defect 9:
//! RSS from 220 MB to 2.5 GB under unknown-user logins, never returned).
//! A fixed threshold of 1 MiB keeps large blocks in mmap, returned to the
//! system when freed.
//!
//! Smaller blocks freed in the middle of a heap stay with the process too:
//! a bulk edit of 100,000 routes parses into a few hundred megabytes of
//! small blocks (the XML element tree, libyang's edit tree), all freed when
//! the reply is sent, and RSS stayed a gigabyte (issue 16). [`spawn_trimmer`]
//! hands such memory back once it has been freed.
#![allow(unsafe_code)]

use std::time::Duration;

/// CPU time the management threads may spend between trims: work enough to
/// have allocated and freed memory worth handing back.
const TRIM_AFTER_WORK: Duration = Duration::from_millis(250);

/// CPU time of the management threads in one look below which they are idle.
const QUIET: Duration = Duration::from_millis(10);

/// CPU time the management threads may spend between trims when they never
/// go quiet (a steady load after a bulk edit).
const TRIM_AFTER_BUSY: Duration = Duration::from_secs(8);

/// How often the trimmer looks.
const TRIM_EVERY: Duration = Duration::from_millis(500);

/// Fixes the mmap threshold (see the module docs). Call once, at start-up.
pub fn return_large_blocks() {
    // SAFETY: mallopt only changes allocator parameters; it is called before
    // any other thread exists.
    let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
    if ok != 1 {
        tracing::warn!("mallopt(M_MMAP_THRESHOLD) failed: freed large blocks may stay in the heap");
    }
}

/// The threads that parse, edit, validate and print (the management core and
/// the doors' tokio workers), as opposed to the dataplane's, which allocate
/// nothing as they run.
fn is_management(comm: &str) -> bool {
    comm == "nectar-mgmt" || comm.starts_with("tokio-")
}

/// CPU time spent so far by the management threads (`/proc/self/task`).
fn management_cpu() -> Duration {
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ... utime stime: fields 14 and 15, counted
        // after the closing parenthesis of comm (which may hold spaces).
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !is_management(&stat[open + 1..close]) {
            continue;
        }
        let mut rest = stat[close + 1..].split_whitespace().skip(11);
        let utime: u64 = rest.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let stime: u64 = rest.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        ticks += utime + stime;
    }
    Duration::from_millis(ticks * 1000 / hz)
}

/// Starts a thread that returns freed heap memory to the system
/// (`malloc_trim`) after the management threads have worked (250 ms of CPU
/// since the last trim: a bulk edit, a bulk delete, a large read) and gone
/// quiet again, or every 8 s of their CPU time under a load that never
/// pauses (and once more when that load ends). Trimming while they work
/// would only slow them down (the pages handed back fault in again); asking
/// the allocator how much it holds free walks its free lists under its locks
/// (tens of milliseconds at 100,000 routes), so the trimmer does not.
pub fn spawn_trimmer() {
    let spawned = std::thread::Builder::new()
        .name("nectar-trim".into())
        .spawn(|| {
            let mut trimmed = management_cpu();
            let mut last = trimmed;
            // Whether the last trim found the threads quiet: one taken under load
            // is followed by another once the load is over (what its end freed).
            let mut settled = true;
            loop {
                std::thread::sleep(TRIM_EVERY);
                let now = management_cpu();
                // A thread that ended takes its CPU time out of the sum.
                trimmed = trimmed.min(now);
                let quiet = now.saturating_sub(last) < QUIET;
                last = now;
                let worked = now.saturating_sub(trimmed);
                let due = match quiet {
                    true => worked >= TRIM_AFTER_WORK || !settled,
                    false => worked >= TRIM_AFTER_BUSY,
                };
                if due {
                    let started = std::time::Instant::now();
                    // SAFETY: malloc_trim takes the arenas' locks itself.
                    unsafe { libc::malloc_trim(0) };
                    tracing::debug!(took = ?started.elapsed(), "freed heap memory returned");
                    trimmed = management_cpu();
                    last = trimmed;
                    settled = quiet;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no memory trimmer thread ({e}): freed memory may stay with the process");
    }
}
