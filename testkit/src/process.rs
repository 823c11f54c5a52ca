//! Child processes: commands that must succeed, curl as the HTTP client, and stopping a
//! process the way a container runtime does (SIGTERM, a grace period, then SIGKILL).

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Runs `cmd` to the end; its stdout. Panics with the command and both outputs unless it
/// exits 0.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// curl; returns (status, body), status 0 when no response came. `args` come before the
/// URL (a later `--max-time` wins over the default of 15 s).
pub fn curl(args: &[&str], url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "15", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// Sends SIGTERM to `child` (with kill(1)); whether kill succeeded.
pub fn sigterm(child: &Child) -> bool {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits up to `within` for `child` to exit; its status, or `None` if it still runs.
pub fn wait_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops `child` for good, for a drop guard: SIGTERM, up to 10 s to exit, then SIGKILL.
pub fn stop(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if sigterm(child) && wait_exit(child, Duration::from_secs(10)).is_some() {
        return;
    }
    let _ = child.kill();
    let _ = child.wait();
}
