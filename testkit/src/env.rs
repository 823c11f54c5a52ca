//! What this machine allows, and the one rule for tests that need more: outside CI a test
//! that cannot run here prints `SKIPPED: <why>` and passes; with `CI` set in the
//! environment it fails instead, so CI never passes by skipping.

/// Whether this process runs as root (effective UID 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Whether `CI` is set.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// A test cannot run here because `why`: fails in CI, otherwise says `SKIPPED: {why}`
/// (the caller then returns).
pub fn skip(why: &str) {
    if in_ci() {
        panic!("CI is set but this test cannot run: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// Whether the test runs as root; if not, [`skip`] with "needs root {what}".
pub fn root_or_skip(what: &str) -> bool {
    let root = is_root();
    if !root {
        skip(&format!("needs root {what}"));
    }
    root
}
