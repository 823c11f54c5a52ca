//! Prometheus scrapes (text exposition format): one sample's value, and the format checked by
//! `promtool check metrics` (Debian package `prometheus`).

use std::io::Write as _;
use std::process::{Command, Stdio};

/// The value of the first sample of `name` whose labels include `labels`.
pub fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let (metric, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            let (n, rest) = metric.split_once('{').unwrap_or((metric, ""));
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit_once(' ')?.1.parse().ok())
}

/// `promtool check metrics` on a scrape: it must report no problem at all.
pub fn promtool_check(body: &str) {
    let mut p = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) is installed");
    p.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "promtool check metrics: {text}"
    );
}
