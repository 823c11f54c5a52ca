//! What deploy/ ships, checked offline: the Helm chart (lint, render with each values file of
//! its ci/ folder, strict Kubernetes schema validation, the rendered nectar.toml through
//! `nectar --check-config`, deploy/k8s/nectar.yaml up to date; tests/deploy/chart.py with
//! the offline Helm of helm-python-sdk and kubernetes-validate), and the Grafana dashboard:
//! every metric its queries name appears in a live scrape of a daemon under traffic.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use nectar_testkit::daemon::{Daemon, Options, bin};
use nectar_testkit::process::curl;
use nectar_testkit::repo::{self, root};
use nectar_testkit::{netns, ves};

// Input: deploy/helm/nectar with ci/pg-values.yaml, ci/afpacket-values.yaml,
// ci/memif-values.yaml, ci/tap-values.yaml, and deploy/k8s/values.yaml. Output: helm lint --strict finds
// nothing; every rendered object validates strictly against the Kubernetes 1.37 schemas;
// every rendered nectar.toml passes `nectar --check-config`; the security context, probes,
// state claim, Multus annotation and Service ports are as documented; no users = no render;
// deploy/k8s/nectar.yaml equals a fresh render.
#[test]
fn helm_chart_renders_validates_and_its_config_checks() {
    let out = Command::new(repo::venv_bin(".venv-deploy", "python"))
        .arg(repo::path("tests/deploy/chart.py"))
        .arg(root())
        .arg(bin())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for check in [
        "ok lint-render-validate-check-config pg-values.yaml",
        "ok lint-render-validate-check-config afpacket-values.yaml",
        "ok lint-render-validate-check-config memif-values.yaml",
        "ok lint-render-validate-check-config tap-values.yaml",
        "ok no-users-refused",
        "ok deploy/k8s/nectar.yaml up to date",
    ] {
        assert!(stdout.contains(check), "missing {check:?}\n{stdout}");
    }
}

/// Every `nectar_*` metric name in the dashboard's panel queries and variables.
fn dashboard_metrics() -> Vec<String> {
    let text = std::fs::read_to_string(repo::path("deploy/grafana/nectar.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut queries = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            queries.push(t["expr"].as_str().unwrap().to_owned());
        }
    }
    for v in dash["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["definition"].as_str() {
            queries.push(q.to_owned());
        }
    }
    let mut names: Vec<String> = Vec::new();
    for q in &queries {
        let mut rest = q.as_str();
        while let Some(at) = rest.find("nectar_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            names.push(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    names.sort();
    names.dedup();
    names
}

// Input: a daemon with an AF_PACKET port on a veth, an IPv4 address and an ingress ACL whose
// first rule drops ICMP echo, a VES collector (tests/telemetry/ves_collector.py, HTTPS), pings and
// UDP broadcasts from the peer namespace, RESTCONF commits. Output: each metric named by
// deploy/grafana/nectar.json has a sample in the scrape. Needs network namespaces (root).
#[test]
fn every_dashboard_metric_is_in_a_live_scrape() {
    let metrics = dashboard_metrics();
    assert!(metrics.len() >= 15, "{metrics:?}");
    if !netns::available() {
        return;
    }
    let net = netns::Host::new("g", false);
    let dir = tempfile::tempdir().unwrap();
    let collector = ves::Collector::start(&dir.path().join("collector"));
    let d = Daemon::start(Options {
        extra: format!(
            "[ves]\ncollector_url = \"{}/eventListener/v7\"\nusername = \"{}\"\npassword = \"{}\"\n\
             ca_file = \"{}\"\nheartbeat_interval_s = 1\nmeasurement_interval_s = 1\n\
             retry_max_interval_s = 1\n\
             [dataplane]\nworkers = 1\n[[dataplane.ports]]\nname = \"eth0\"\n\
             driver = \"afpacket\"\nhost_interface = \"{}\"\n",
            collector.url(),
            ves::USER,
            ves::PASSWORD,
            collector.ca.display(),
            net.dp_dev
        ),
        ..Options::default()
    });
    let cert: PathBuf = d.cert();
    let admin = format!("admin:{}", d.password());
    let config = r#"{"ietf-interfaces:interfaces":{"interface":[
  {"name":"eth0","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"10.77.0.2","prefix-length":24}]}}]},
 "ietf-access-control-list:acls":{
  "acl":[{"name":"edge","type":"ietf-access-control-list:ipv4-acl-type","aces":{"ace":[
    {"name":"no-ping","matches":{"ipv4":{"protocol":1},"icmp":{"type":8}},"actions":{"forwarding":"ietf-access-control-list:drop"}},
    {"name":"rest","matches":{"ipv4":{"destination-ipv4-network":"0.0.0.0/0"}},"actions":{"forwarding":"ietf-access-control-list:accept"}}]}}],
  "attachment-points":{"interface":[{"interface-id":"eth0","ingress":{"acl-sets":{"acl-set":[{"name":"edge"}]}}}]}}}"#;
    let (code, body) = curl(
        &[
            "--cacert",
            cert.to_str().unwrap(),
            "-u",
            &admin,
            "-X",
            "PATCH",
            "-H",
            "Content-Type: application/yang-data+json",
            "--data",
            config,
        ],
        &format!("https://127.0.0.1:{}/restconf/data", d.restconf),
    );
    assert!(code == 204 || code == 200, "{code} {body}\n{}", d.log());

    // Traffic: pings to nectar (dropped by the ACL) and to an address nobody has, broadcasts.
    let mut blast = net.blast(2);
    for target in ["10.77.0.2", "10.77.0.99"] {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &net.ns, "ping", "-c", "4", "-i", "0.25", "-W", "1", target,
            ])
            .output()
            .unwrap();
        // No reply either way (the ACL drops the echo requests, nobody has .99): exit 1.
        assert_eq!(
            out.status.code(),
            Some(1),
            "ping (apt iputils-ping): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = blast.wait();
    // A NETCONF session with an RPC (ncclient).
    let out = Command::new(repo::python())
        .args([
            "-c",
            "import sys\nfrom ncclient import manager\n\
             with manager.connect(host='127.0.0.1', port=int(sys.argv[1]), username='admin', \
             password=sys.argv[2], hostkey_verify=False, allow_agent=False, look_for_keys=False) as m:\n\
             \x20   m.get_config(source='running')\n",
            &d.netconf.to_string(),
            &d.password(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let scrape = || curl(&[], &format!("http://127.0.0.1:{}/metrics", d.metrics)).1;
    let has = |body: &str, name: &str| {
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = scrape();
        let missing: Vec<&String> = metrics.iter().filter(|m| !has(&body, m)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dashboard metrics missing from the scrape: {missing:?}\n{body}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The ACL really counted the traffic.
    let body = scrape();
    assert!(
        body.lines()
            .any(|l| l.starts_with("nectar_acl_rule_hits_total{")
                && l.contains("acl=\"ietf/edge\"")
                && !l.ends_with(" 0")),
        "{body}"
    );
}
