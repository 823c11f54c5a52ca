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

/// Free heap memory, grown since the last trim, above which the trimmer
/// hands it back.
const TRIM_GROWTH: usize = 16 << 20;

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

/// Bytes the allocator holds free in its heaps (every arena).
fn free_in_heaps() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    unsafe { libc::mallinfo2() }.fordblks
}

/// Starts a thread that returns freed heap memory to the system
/// (`malloc_trim`) whenever the free memory in the heaps has grown by more
/// than 16 MiB since it last did (the pages trimmed stay counted as free, so
/// the growth is measured from the lowest figure seen since).
pub fn spawn_trimmer() {
    let spawned = std::thread::Builder::new()
        .name("nectar-trim".into())
        .spawn(|| {
            let mut low = free_in_heaps();
            loop {
                std::thread::sleep(TRIM_EVERY);
                let free = free_in_heaps();
                low = low.min(free);
                if free > low + TRIM_GROWTH {
                    // SAFETY: malloc_trim takes the arenas' locks itself.
                    unsafe { libc::malloc_trim(0) };
                    tracing::debug!(free_mib = free >> 20, "freed heap memory returned");
                    low = free_in_heaps();
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no memory trimmer thread ({e}): freed memory may stay with the process");
    }
}
