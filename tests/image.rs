//! The OCI image as an operator runs it: built FROM scratch by `deploy/image/build` (one
//! release build, with the dpdk feature), started with podman (runc, an explicit nofile
//! limit, ports published on the host's loopback), its secrets and configuration mounted
//! as files and its state on a volume. From the host, with real clients: ncclient's hello
//! with the password whose hash is in the mounted secret, RESTCONF GET and PUT with curl,
//! pygnmi Capabilities, /readyz 200, metrics over TLS with Basic auth, a DPDK memif port
//! running as the image's non-root user. SIGTERM stops it
//! with status 0, and a new container on the same state volume finds the committed
//! configuration.
//!
//! Needs root (rootful podman): skipped without it, failed when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nectar_testkit::daemon::hash_password;
use nectar_testkit::env;
use nectar_testkit::net::free_port;
use nectar_testkit::process::{curl, run};
use nectar_testkit::repo::{self, root};

const IMAGE: &str = "localhost/nectar:smoke-test";
const PASSWORD: &str = "from-a-secret-file-9";
const SCRAPE_PASSWORD: &str = "scrape-from-file-4";

/// A container, removed (forcibly) on drop.
struct Container {
    name: String,
    netconf: u16,
    restconf: u16,
    gnmi: u16,
    metrics: u16,
}

impl Container {
    fn start(name: &str, dir: &Path) -> Container {
        let c = Container {
            name: name.to_owned(),
            netconf: free_port(),
            restconf: free_port(),
            gnmi: free_port(),
            metrics: free_port(),
        };
        let _ = Command::new("podman").args(["rm", "-f", name]).output();
        let publish = |host: u16, inner: u16| format!("127.0.0.1:{host}:{inner}");
        run(Command::new("podman")
            .args(["run", "-d", "--runtime", "runc"])
            .args(["--ulimit", &ulimit("nofile", "Max open files")])
            .args(["--ulimit", &nproc()])
            .args(["--name", name])
            .args(["-p", &publish(c.netconf, 8830)])
            .args(["-p", &publish(c.restconf, 8443)])
            .args(["-p", &publish(c.gnmi, 9339)])
            .args(["-p", &publish(c.metrics, 9464)])
            .arg("-v")
            .arg(format!(
                "{}:/etc/nectar/nectar.toml:ro",
                dir.join("nectar.toml").display()
            ))
            .arg("-v")
            .arg(format!(
                "{}:/run/secrets/nectar:ro",
                dir.join("secrets").display()
            ))
            .arg("-v")
            .arg(format!("{}:/var/lib/nectar", dir.join("state").display()))
            .arg(IMAGE));
        c
    }

    fn logs(&self) -> String {
        let out = Command::new("podman")
            .args(["logs", &self.name])
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn wait_ready(&self, cert: &Path) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (code, _) = curl(
                &["--cacert", cert.to_str().unwrap()],
                &format!("https://127.0.0.1:{}/readyz", self.metrics),
            );
            if code == 200 {
                return;
            }
            let state = run(Command::new("podman").args([
                "inspect",
                "--format",
                "{{.State.Status}}",
                &self.name,
            ]));
            assert!(
                state.trim() == "running" || state.trim() == "created",
                "container {}: {state}\n{}",
                self.name,
                self.logs()
            );
            assert!(
                Instant::now() < deadline,
                "not ready in time\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn restconf(&self, cert: &Path, args: &[&str], path: &str) -> (u16, String) {
        let mut a = vec!["--cacert", cert.to_str().unwrap()];
        let user = format!("admin:{PASSWORD}");
        a.extend(["-u", &user]);
        a.extend(args);
        curl(&a, &format!("https://127.0.0.1:{}{path}", self.restconf))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "5", &self.name])
            .output();
    }
}

/// `NAME=SOFT:HARD` from this process's own limit `what` (`Max open files`): podman's
/// defaults are higher than this machine allows, and runc cannot raise them.
fn ulimit(name: &str, what: &str) -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|l| l.starts_with(what)).unwrap();
    let v: Vec<&str> = line[what.len()..].split_whitespace().collect();
    format!("{name}={}:{}", v[0], v[1])
}

/// `nproc=N:N`: 4096 threads and processes are plenty; podman's default is more than this
/// machine lets runc set (no CAP_SYS_RESOURCE), and so, oddly, is this process's own.
fn nproc() -> String {
    let own = ulimit("nproc", "Max processes");
    let hard: u64 = own.rsplit(':').next().unwrap().parse().unwrap_or(4096);
    let n = hard.min(4096);
    format!("nproc={n}:{n}")
}

const INTERFACE: &str = r#"{"ietf-interfaces:interface":[{"name":"lo-smoke","type":"iana-if-type:softwareLoopback","description":"kept across containers"}]}"#;

#[test]
fn image_serves_every_door_and_keeps_its_state_across_containers() {
    if !env::root_or_skip("for podman (rootful)") {
        return;
    }
    // One release build, for the image (the binary is also used for --hash-password).
    let out = run(Command::new(root().join("deploy/image/build")).arg(IMAGE));
    eprintln!("{}", out.trim());
    let bin: PathBuf = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root().join("target"), PathBuf::from)
        .join("release/nectar");

    // The image: FROM scratch, labelled, non-root.
    let inspect = run(Command::new("podman").args([
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{index .Labels \"org.opencontainers.image.revision\"}} {{index .Labels \"org.opencontainers.image.version\"}} {{len .RootFS.Layers}}",
        IMAGE,
    ]));
    let fields: Vec<&str> = inspect.split_whitespace().collect();
    assert_eq!(fields[0], "65532:65532", "{inspect}");
    assert!(fields[1].len() >= 40, "revision label: {inspect}");
    assert_eq!(fields[2], env!("CARGO_PKG_VERSION"), "{inspect}");

    let dir = tempfile::tempdir().unwrap();
    run(Command::new("chmod").arg("0755").arg(dir.path()));
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::write(
        secrets.join("admin.hash"),
        format!("{}\n", hash_password(&bin, PASSWORD)),
    )
    .unwrap();
    std::fs::write(
        secrets.join("prom.password"),
        format!("{SCRAPE_PASSWORD}\n"),
    )
    .unwrap();
    run(Command::new("chmod").arg("-R").arg("a+rX").arg(&secrets));
    std::fs::write(
        dir.path().join("nectar.toml"),
        "state_dir = \"/var/lib/nectar\"\n\
         [netconf]\nlisten = \"0.0.0.0:8830\"\n\
         [restconf]\nlisten = \"0.0.0.0:8443\"\n\
         [gnmi]\nlisten = \"0.0.0.0:9339\"\n\
         [metrics]\nlisten = \"0.0.0.0:9464\"\ntls = true\nscrape_group = \"monitoring\"\n\
         [[users]]\nname = \"admin\"\ngroups = [\"admin\"]\n\
         password_hash_file = \"/run/secrets/nectar/admin.hash\"\n\
         [[users]]\nname = \"prom\"\ngroups = [\"monitoring\"]\n\
         password_file = \"/run/secrets/nectar/prom.password\"\n\
         [[dataplane.ports]]\nname = \"mem0\"\ndriver = \"dpdk\"\n\
         devargs = \"net_memif0,role=server,socket=/tmp/memif.sock\"\n",
    )
    .unwrap();
    run(Command::new("chmod")
        .arg("0644")
        .arg(dir.path().join("nectar.toml")));
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    run(Command::new("chown").arg("65532:65532").arg(&state));
    run(Command::new("chmod").arg("0700").arg(&state));
    let cert = state.join("tls/cert.pem");

    let name = format!("nectar-smoke-{}", std::process::id());
    let c = Container::start(&name, dir.path());
    c.wait_ready(&cert);

    // NETCONF hello and gNMI Capabilities.
    let out = Command::new(repo::python())
        .arg(repo::path("tests/image/clients.py"))
        .args([
            "127.0.0.1",
            &c.netconf.to_string(),
            &c.gnmi.to_string(),
            "admin",
            PASSWORD,
        ])
        .arg(&cert)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        c.logs()
    );
    assert!(stdout.contains("ok netconf-hello"), "{stdout}");
    assert!(stdout.contains("ok gnmi-capabilities"), "{stdout}");

    // RESTCONF: GET, then a committed change.
    let (code, body) = c.restconf(&cert, &[], "/restconf/data/ietf-interfaces:interfaces");
    assert_eq!(code, 200, "{body}");
    let (code, body) = c.restconf(
        &cert,
        &[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/yang-data+json",
            "--data",
            INTERFACE,
        ],
        "/restconf/data/ietf-interfaces:interfaces/interface=lo-smoke",
    );
    assert!(code == 201 || code == 204, "{code} {body}");

    // Metrics over TLS with Basic auth.
    let metrics = format!("https://127.0.0.1:{}/metrics", c.metrics);
    let ca = ["--cacert", cert.to_str().unwrap()];
    let (code, _) = curl(&[&ca[..], &["-u", "prom:wrong"]].concat(), &metrics);
    assert_eq!(code, 401);
    let scrape_user = format!("prom:{SCRAPE_PASSWORD}");
    let (code, body) = curl(&[&ca[..], &["-u", &scrape_user]].concat(), &metrics);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("nectar_build_info"), "{body}");
    // The DPDK memif port (the image's binary has the dpdk feature, and its drivers).
    assert!(
        body.contains("nectar_interface_info{interface=\"mem0\""),
        "{body}"
    );

    // SIGTERM: a clean stop, status 0.
    run(Command::new("podman").args(["stop", "-t", "30", &name]));
    let status =
        run(Command::new("podman").args(["inspect", "--format", "{{.State.ExitCode}}", &name]));
    assert_eq!(status.trim(), "0", "{}", c.logs());
    assert!(c.logs().contains("stopped"), "{}", c.logs());
    drop(c);

    // A new container on the same state volume has the committed configuration.
    let c2 = Container::start(&format!("{name}-2"), dir.path());
    c2.wait_ready(&cert);
    let (code, body) = c2.restconf(
        &cert,
        &[],
        "/restconf/data/ietf-interfaces:interfaces/interface=lo-smoke",
    );
    assert_eq!(code, 200, "{body}\n{}", c2.logs());
    assert!(body.contains("kept across containers"), "{body}");
}
