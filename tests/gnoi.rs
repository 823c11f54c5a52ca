//! gNOI (System, Healthz, File) on the gNMI listener of a daemon in a network namespace, routing
//! between two host namespaces through its vswitch (a third behind one of them, which
//! routes), Ping and Traceroute sent by the vswitch; the client is Python with stubs
//! generated at test time by grpcio-tools from nectar's own .proto files
//! (tests/gnoi/system_healthz.py). Needs root (namespaces): fails under `CI` without them.

use std::process::Command;

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::netns as ns;
use nectar_testkit::repo::{self, python};

#[test]
fn ping_traceroute_time_healthz_files_and_reboots() {
    let Some(t) = ns::Topo::named("gn", &["h1", "h2", "h3", "dp"]) else {
        return;
    };
    t.wire("h1", "10.1.0.2/24", Some("10.1.0.1")).unwrap();
    t.wire("h2", "10.2.0.2/24", Some("10.2.0.1")).unwrap();
    // h3 behind h2, which routes (in its own namespace, as a router pod would).
    let (h2, h3) = (t.ns("h2"), t.ns("h3"));
    let (a, b) = (t.dev("r23"), t.dev("r32"));
    ns::ip(&[
        "-n", &h2, "link", "add", &a, "type", "veth", "peer", "name", &b, "netns", &h3,
    ])
    .unwrap();
    ns::ip(&["-n", &h2, "addr", "add", "10.3.0.1/24", "dev", &a]).unwrap();
    ns::ip(&["-n", &h3, "addr", "add", "10.3.0.2/24", "dev", &b]).unwrap();
    for (n, d) in [(&h2, &a), (&h3, &b)] {
        ns::ip(&["-n", n, "link", "set", d, "up"]).unwrap();
        ns::ip(&["-n", n, "link", "set", "lo", "up"]).unwrap();
    }
    ns::ip(&["-n", &h3, "route", "add", "default", "via", "10.3.0.1"]).unwrap();
    let fwd = Command::new("ip")
        .args([
            "netns",
            "exec",
            &h2,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ])
        .status()
        .unwrap();
    assert!(fwd.success());
    ns::ip(&["-n", &t.ns("dp"), "link", "set", "lo", "up"]).unwrap();
    let (admin, viewer) = ("admin-secret-1", "viewer-secret-1");
    let d = Daemon::start(Options {
        extra: format!(
            "[dataplane]\nworkers = 1\n\
             [[dataplane.ports]]\nname = \"eth0\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n\
             [[dataplane.ports]]\nname = \"eth1\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n\
             [[users]]\nname = \"admin\"\npassword = \"{admin}\"\ngroups = [\"admin\"]\n\
             [[users]]\nname = \"viewer\"\npassword = \"{viewer}\"\n",
            t.dev("dh1"),
            t.dev("dh2"),
        ),
        netns: Some(t.ns("dp")),
        ..Options::default()
    });
    // A file beside the captures directory, which gNOI File must not reach.
    std::fs::write(d.state().join("outside.txt"), b"not served").unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &t.ns("dp")])
        .arg(python())
        .arg(repo::path("tests/gnoi/system_healthz.py"))
        .args(["127.0.0.1", &d.gnmi.to_string(), admin, viewer])
        .arg(d.state().join("tls/cert.pem"))
        .arg(repo::path("gnmi/proto"))
        .args([&t.ns("h1"), &t.ns("h2"), &t.dev("eh2")])
        .arg(d.state())
        .arg(d.netconf.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK gnoi"),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- nectar\n{}",
        d.log()
    );
    // The cold reboot's figure, for the record (visible with --no-capture).
    eprintln!("{stdout}");
    for check in [
        "ok time",
        "ok routing",
        "ok healthz",
        "ok refusals",
        "ok file",
        "ok ping",
        "ok traceroute",
        "ok reboot-warm",
        "ok reboot-delayed-cancelled",
        "ok reboot-cold",
    ] {
        assert!(stdout.contains(check), "missing {check:?}\n{stdout}");
    }
}
