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
#![allow(unsafe_code)]

/// Fixes the mmap threshold (see the module docs). Call once, at start-up.
pub fn return_large_blocks() {
    // SAFETY: mallopt only changes allocator parameters; it is called before
    // any other thread exists.
    let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
    if ok != 1 {
        tracing::warn!("mallopt(M_MMAP_THRESHOLD) failed: freed large blocks may stay in the heap");
    }
}
