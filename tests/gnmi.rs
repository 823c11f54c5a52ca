//! gNMI against the running daemon with real clients: pygnmi over TLS (the
//! daemon's self-signed certificate as the root) and over plaintext gRPC,
//! including a NETCONF change arriving as an ON_CHANGE update; and, in network
//! namespaces, an interface going down in the dataplane (the veth peer set
//! down) arriving as an ON_CHANGE update of oper-status.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::netns::{Topo, ip};
use nectar_testkit::repo::{self, python};

fn script(name: &str) -> PathBuf {
    repo::path("tests/gnmi").join(name)
}

/// Starts nectar with every listener on a free port; `extra` is appended to
/// the configuration; `netns` runs it inside a network namespace.
fn start(tls: bool, extra: &str, netns: Option<&str>) -> Daemon {
    Daemon::start(Options {
        extra: extra.to_string(),
        netns: netns.map(str::to_string),
        gnmi_plaintext: !tls,
        ..Options::default()
    })
}

fn run_pygnmi(d: &Daemon, tls: bool) {
    let mut cmd = Command::new(python());
    cmd.arg(script("pygnmi_interop.py"))
        .args(["127.0.0.1", &d.gnmi.to_string(), "admin", &d.password()])
        .args(["--netconf-port", &d.netconf.to_string()]);
    if tls {
        cmd.arg("--root-cert").arg(d.state().join("tls/cert.pem"));
    } else {
        cmd.arg("--insecure");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pygnmi interop failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- nectar\n{}",
        d.log()
    );
    for check in [
        "ok wrong-password-refused",
        "ok capabilities",
        "ok set-update",
        "ok get",
        "ok get-unknown-path-not-found",
        "ok subscribe-once",
        "ok subscribe-poll",
        "ok subscribe-stream-sample",
        "ok on-change-from-netconf",
        "ok on-change-delete",
    ] {
        assert!(stdout.contains(check), "missing {check:?}\n{stdout}");
    }
}

#[test]
fn pygnmi_over_tls_with_the_daemon_certificate_as_root() {
    let d = start(true, "", None);
    run_pygnmi(&d, true);
}

#[test]
fn pygnmi_over_plaintext_grpc() {
    let d = start(false, "", None);
    run_pygnmi(&d, false);
}

#[test]
fn a_plaintext_client_cannot_talk_to_the_tls_listener() {
    let d = start(true, "", None);
    let out = Command::new(python())
        .arg("-c")
        .arg(format!(
            "from pygnmi.client import gNMIclient\n\
             import sys\n\
             try:\n    \
                 with gNMIclient(target=('127.0.0.1', {}), username='admin', password='x', insecure=True, gnmi_timeout=3) as gc:\n        \
                     gc.capabilities()\n    \
                 sys.exit(1)\n\
             except Exception as e:\n    \
                 print('refused', type(e).__name__)\n",
            d.gnmi
        ))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("refused"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cisco_gnmi_with_scalar_sets_quoted_keys_and_a_half_closed_stream() {
    // scripts/setup installs tests/requirements-gnmi-legacy.txt there.
    let py = repo::venv_bin(".venv-gnmi-legacy", "python");
    let d = start(true, "", None);
    let out = Command::new(py)
        .arg(script("cisco_gnmi_interop.py"))
        .arg(format!("127.0.0.1:{}", d.gnmi))
        .args(["admin", &d.password()])
        .arg(d.state().join("tls/cert.pem"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cisco-gnmi interop failed\n--- stdout\n{stdout}\n--- stderr\n{}\n--- nectar\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    for check in [
        "ok capabilities",
        "ok set-scalar",
        "ok get-quoted-keys",
        "ok stream-after-half-close",
    ] {
        assert!(stdout.contains(check), "missing {check:?}\n{stdout}");
    }
}

#[test]
fn a_veth_peer_going_down_arrives_as_an_on_change_update_of_oper_status() {
    let Some(t) = Topo::named("g", &["dp", "pe"]) else {
        return;
    };
    let (dp, peer) = (t.ns("dp"), t.ns("pe"));
    let (d_if, p_if) = (t.dev("ngd"), t.dev("ngp"));
    ip(&[
        "-n", &dp, "link", "add", &d_if, "type", "veth", "peer", "name", &p_if, "netns", &peer,
    ])
    .unwrap();
    ip(&["-n", &dp, "link", "set", "lo", "up"]).unwrap();
    ip(&["-n", &dp, "link", "set", &d_if, "up"]).unwrap();
    ip(&["-n", &peer, "link", "set", &p_if, "up"]).unwrap();

    let d = start(
        false,
        &format!(
            "[dataplane]\nworkers = 1\n[[dataplane.ports]]\nname = \"eth0\"\n\
             driver = \"afpacket\"\nhost_interface = \"{d_if}\"\n"
        ),
        Some(&dp),
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", &dp])
        .arg(python())
        .arg(script("oper_status.py"))
        .args(["127.0.0.1", &d.gnmi.to_string(), "admin", &d.password()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut downed = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("ready") && !downed {
            // The peer goes down: the port's carrier drops.
            ip(&["-n", &peer, "link", "set", &p_if, "down"]).unwrap();
            downed = true;
        }
    }
    let st = child.wait().unwrap();
    // The measured delay, for the record (visible with --no-capture).
    for l in &seen {
        eprintln!("oper_status.py: {l}");
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        st.success() && seen.iter().any(|l| l.starts_with("ok oper-status down")),
        "{seen:?}\n{err}\n--- nectar\n{}",
        d.log()
    );
}

// Input: 150 Gets with mutated paths and encodings, 100 Sets below a sandbox interface with
// mutated paths and every kind of TypedValue (NULs, huge strings, broken and duplicate-key
// JSON, NaN), 60 ONCE subscriptions with mutated paths, over one TLS channel, with a
// bystander Get every 20 calls. Output: every call ends with a specific status (never
// UNKNOWN, INTERNAL or a deadline); the bystander is answered; running is unchanged once
// the sandbox is removed.
#[test]
fn hostile_calls_always_get_a_specific_status() {
    let d = start(true, "", None);
    let out = Command::new(python())
        .arg(script("barrage.py"))
        .args(["127.0.0.1", &d.gnmi.to_string(), "admin", &d.password()])
        .arg(d.state().join("tls/cert.pem"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("OK running unchanged"),
        "{text}\n--- daemon log\n{}",
        d.log()
    );
}

/// The gNMI extensions and union_replace with stubs generated by grpcio-tools
/// from nectar's own .proto files (tests/gnmi/extensions.py): each
/// extension refused where the specification says so, depth on Get and
/// Subscribe, union_replace across both origins, and the commit-confirmed
/// extension with confirm, cancel, a timeout rollback NETCONF sees, and the
/// exclusion of NETCONF and gNMI confirmed commits.
#[test]
fn extensions_union_replace_and_commit_confirmed_with_generated_stubs() {
    let d = start(true, "", None);
    let out = Command::new(python())
        .arg(script("extensions.py"))
        .args(["127.0.0.1", &d.gnmi.to_string(), &d.netconf.to_string()])
        .args(["admin", &d.password()])
        .arg(d.state().join("tls/cert.pem"))
        .arg(repo::path("gnmi/proto"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK extensions"),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- nectar\n{}",
        d.log()
    );
    for check in [
        "ok extension-refusals",
        "ok depth",
        "ok union-replace-and-replace",
        "ok commit-confirm",
        "ok commit-timeout-seen-over-netconf",
        "ok commit-cancel",
        "ok commit-netconf-exclusion",
    ] {
        assert!(stdout.contains(check), "missing {check:?}\n{stdout}");
    }
}
