//! Credential tests: each works in its own temporary state directory.

use std::os::unix::fs::MetadataExt as _;

use super::*;
use crate::config::Config;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A public key made with `ssh-keygen -t ed25519`.
const OPERATOR_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMSkojIrB8K/hFUvdM04DhaRub9W6RP9jdzzjTBe6R+Q op@host";

#[test]
fn state_dir_is_created_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/state");
    ensure_state_dir(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    ensure_state_dir(&dir).unwrap(); // exists: fine
    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    assert!(ensure_state_dir(&file).is_err());
}

#[test]
fn write_new_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f");
    assert!(write_new(&path, b"first").unwrap());
    assert_eq!(mode(&path), 0o600);
    assert!(!write_new(&path, b"second").unwrap());
    assert_eq!(fs::read(&path).unwrap(), b"first");
    // No temporary files are left behind.
    let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn generated_passwords_are_long_unambiguous_and_random() {
    let a = generate_password().unwrap();
    let b = generate_password().unwrap();
    assert!(a.len() >= 20);
    assert_ne!(a, b);
    for c in a.chars().chain(b.chars()) {
        assert!(PASSWORD_ALPHABET.contains(&(c as u8)), "{c}");
        assert!(!"0Oo1lIi".contains(c), "{c}");
    }
}

#[test]
fn admin_password_first_run_then_reuse() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path();
    let password_path = state.join(INITIAL_ADMIN_PASSWORD_FILE);
    let hash_path = state.join(ADMIN_PASSWORD_HASH_FILE);

    let hash = load_or_create_admin_password_hash(state).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert_eq!(mode(&password_path), 0o600);
    assert_eq!(mode(&hash_path), 0o600);
    let text = fs::read_to_string(&password_path).unwrap();
    assert!(text.ends_with('\n'));
    let password = text.trim_end();
    assert!(password.len() >= 20);
    assert_eq!(fs::read_to_string(&hash_path).unwrap().trim(), hash);
    assert!(!fs::read_to_string(&hash_path).unwrap().contains(password));

    let users = Users::generated_admin(hash.clone());
    assert!(users.verify_password("admin", password));
    assert!(!users.verify_password("admin", "not-the-password"));
    assert!(users.is_admin("admin"));
    assert_eq!(users.groups("admin"), Some(&["admin".to_owned()][..]));

    // Second run: same hash, password file untouched.
    let before = fs::metadata(&password_path).unwrap();
    assert_eq!(load_or_create_admin_password_hash(state).unwrap(), hash);
    let after = fs::metadata(&password_path).unwrap();
    assert_eq!(before.ino(), after.ino());
    assert_eq!(before.mtime_nsec(), after.mtime_nsec());
    assert_eq!(fs::read_to_string(&password_path).unwrap(), text);

    // The operator deletes the password file once read: nothing is regenerated.
    fs::remove_file(&password_path).unwrap();
    assert_eq!(load_or_create_admin_password_hash(state).unwrap(), hash);
    assert!(!password_path.exists());
}

#[test]
fn admin_password_without_hash_is_hashed_not_replaced() {
    // As after a crash between the two writes of the first run.
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path();
    fs::write(
        state.join(INITIAL_ADMIN_PASSWORD_FILE),
        "Kept-password-234\n",
    )
    .unwrap();
    let hash = load_or_create_admin_password_hash(state).unwrap();
    assert!(Users::generated_admin(hash).verify_password("admin", "Kept-password-234"));
    assert_eq!(
        fs::read_to_string(state.join(INITIAL_ADMIN_PASSWORD_FILE)).unwrap(),
        "Kept-password-234\n"
    );
}

#[test]
fn corrupt_hash_file_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join(ADMIN_PASSWORD_HASH_FILE), "hunter2\n").unwrap();
    let err = load_or_create_admin_password_hash(tmp.path()).unwrap_err();
    assert!(
        format!("{err:#}").contains(ADMIN_PASSWORD_HASH_FILE),
        "{err:#}"
    );
}

#[test]
fn host_key_is_openssh_ed25519_and_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let key = load_or_create_host_key(tmp.path()).unwrap();
    let path = tmp.path().join(HOST_KEY_FILE);
    assert_eq!(mode(&path), 0o600);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    let parsed = ssh_key::PrivateKey::from_openssh(&text).unwrap();
    assert_eq!(parsed.algorithm(), ssh_key::Algorithm::Ed25519);
    assert!(!parsed.is_encrypted());
    assert_eq!(parsed.public_key().key_data(), key.public_key().key_data());

    let again = load_or_create_host_key(tmp.path()).unwrap();
    assert_eq!(again.public_key().key_data(), key.public_key().key_data());
    assert_eq!(fs::read_to_string(&path).unwrap(), text);

    // OpenSSH reads it too, when installed.
    if let Ok(out) = std::process::Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&path)
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public =
            ssh_key::PublicKey::from_openssh(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
        assert_eq!(public.key_data(), key.public_key().key_data());
    }
}

#[test]
fn a_broken_host_key_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(HOST_KEY_FILE);
    fs::write(&path, "garbage").unwrap();
    assert!(load_or_create_host_key(tmp.path()).is_err());
    assert_eq!(fs::read_to_string(&path).unwrap(), "garbage");
}

#[test]
fn tls_certificate_names_the_hosts_and_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let host: IpAddr = "192.0.2.7".parse().unwrap();
    let tls = load_or_create_tls(tmp.path(), &[host]).unwrap();
    assert_eq!(mode(&tmp.path().join(TLS_DIR)), 0o700);
    assert_eq!(mode(&tls.cert_path), 0o600);
    assert_eq!(mode(&tls.key_path), 0o600);
    assert_eq!(fs::read_to_string(&tls.cert_path).unwrap(), tls.cert_pem);
    assert!(tls.key_pem.contains("-----BEGIN PRIVATE KEY-----"));

    let info = x509::parse_certificate_pem(&tls.cert_pem).unwrap();
    for name in [
        SanName::Dns("localhost".to_owned()),
        SanName::Ip("127.0.0.1".parse().unwrap()),
        SanName::Ip("::1".parse().unwrap()),
        SanName::Ip(host),
    ] {
        assert!(
            info.names.contains(&name),
            "{name} missing from {:?}",
            info.names
        );
    }
    let key = rcgen::KeyPair::from_pem(&tls.key_pem).unwrap();
    assert_eq!(info.spki, key.subject_public_key_info());

    // Reused, even when asked for another host (a warning is logged).
    let again = load_or_create_tls(tmp.path(), &["198.51.100.1".parse().unwrap()]).unwrap();
    assert_eq!(again.cert_pem, tls.cert_pem);
    assert_eq!(again.key_pem, tls.key_pem);

    // The Debug output shows no key material.
    assert!(!format!("{tls:?}").contains("PRIVATE KEY"));
}

#[test]
fn tls_certificate_is_readable_by_openssl_when_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let tls = load_or_create_tls(tmp.path(), &[]).unwrap();
    let Ok(out) = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&tls.cert_path)
        .output()
    else {
        return;
    };
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DNS:localhost"), "{text}");
    assert!(text.contains("IP Address:127.0.0.1"), "{text}");
    assert!(text.contains("IP Address:0:0:0:0:0:0:0:1"), "{text}");
}

#[test]
fn tls_mismatched_or_orphan_certificate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tls = load_or_create_tls(tmp.path(), &[]).unwrap();
    // A certificate of another key.
    let other = tempfile::tempdir().unwrap();
    let other_tls = load_or_create_tls(other.path(), &[]).unwrap();
    fs::remove_file(&tls.cert_path).unwrap();
    fs::write(&tls.cert_path, &other_tls.cert_pem).unwrap();
    assert!(load_or_create_tls(tmp.path(), &[]).is_err());
    // A certificate without its key: the key is never made anew under it.
    fs::remove_file(&tls.key_path).unwrap();
    assert!(load_or_create_tls(tmp.path(), &[]).is_err());
    assert!(!tls.key_path.exists());
}

#[test]
fn tls_key_without_certificate_gets_one() {
    let tmp = tempfile::tempdir().unwrap();
    let tls = load_or_create_tls(tmp.path(), &[]).unwrap();
    fs::remove_file(&tls.cert_path).unwrap();
    let again = load_or_create_tls(tmp.path(), &[]).unwrap();
    assert_eq!(again.key_pem, tls.key_pem);
    assert!(again.cert_path.exists());
}

#[test]
fn config_users_verify_passwords_hashes_and_keys() {
    let hash = hash_password("correct horse").unwrap();
    let text = format!(
        r#"
[[users]]
name = "alice"
password = "wonderland"
groups = ["admin", "ops"]
[[users]]
name = "bob"
password_hash = "{hash}"
[[users]]
name = "carol"
ssh_authorized_keys = ["{OPERATOR_KEY}"]
groups = ["ops"]
"#
    );
    let config = Config::from_toml(&text, "x").unwrap();
    let users = Users::from_config(&config.users).unwrap();
    assert_eq!(users.len(), 3);

    assert!(users.verify_password("alice", "wonderland"));
    assert!(!users.verify_password("alice", "wonderlan"));
    assert!(!users.verify_password("alice", "wonderland "));
    assert!(!users.verify_password("alice", ""));
    assert!(users.verify_password("bob", "correct horse"));
    assert!(!users.verify_password("bob", "correct horse battery"));
    assert!(!users.verify_password("carol", "anything"));
    assert!(!users.verify_password("mallory", "wonderland"));

    let key = ssh_key::PublicKey::from_openssh(OPERATOR_KEY).unwrap();
    assert!(users.verify_public_key("carol", &key));
    assert!(users.verify_public_key_blob("carol", &key.to_bytes().unwrap()));
    assert!(!users.verify_public_key("alice", &key));
    assert!(!users.verify_public_key("mallory", &key));
    let tmp = tempfile::tempdir().unwrap();
    let other = load_or_create_host_key(tmp.path()).unwrap();
    assert!(!users.verify_public_key("carol", other.public_key()));

    assert!(users.is_admin("alice"));
    assert!(!users.is_admin("bob"));
    assert_eq!(users.groups("bob"), Some(&[][..]));
    assert_eq!(users.groups("carol"), Some(&["ops".to_owned()][..]));
    assert_eq!(users.groups("mallory"), None);

    let debug = format!("{users:?}");
    assert!(!debug.contains("wonderland"), "{debug}");
    assert!(!debug.contains(&hash), "{debug}");
}

// Issue 17, defect 9: a known user with a clear-text password and a wrong
// one answered at once, an unknown user after an argon2 check: the timing
// told which names exist. Every refusal now costs one argon2 check.
#[test]
fn refusals_cost_the_same_for_known_and_unknown_users() {
    let hash = hash_password("correct horse").unwrap();
    let text = format!(
        r#"
[[users]]
name = "alice"
password = "wonderland"
[[users]]
name = "bob"
password_hash = "{hash}"
"#
    );
    let config = Config::from_toml(&text, "x").unwrap();
    let users = Users::from_config(&config.users).unwrap();
    // The check made for an unknown user has the parameters of a real hash: the same work.
    let params = |phc: &str| {
        let h = argon2::PasswordHash::new(phc).unwrap();
        (h.algorithm.to_string(), h.version, h.params.to_string())
    };
    assert_eq!(params(users::DUMMY_HASH_FOR_TESTS), params(&hash));
    // And it takes as long. Timed in interleaved rounds, the fastest of each kept, so that
    // load from other tests on the machine weighs on every kind alike.
    let once = |user: &str| {
        let t = std::time::Instant::now();
        assert!(!users.verify_password(user, "guess"));
        t.elapsed()
    };
    let mut best = [std::time::Duration::MAX; 3];
    for _ in 0..9 {
        for (i, user) in ["mallory", "alice", "bob"].iter().enumerate() {
            best[i] = best[i].min(once(user));
        }
    }
    let unknown = best[0];
    for (known, t) in [("alice", best[1]), ("bob", best[2])] {
        assert!(
            t * 2 > unknown && t < unknown * 2,
            "{known}: {t:?}, unknown user: {unknown:?}"
        );
    }
}

#[test]
fn dummy_hash_is_well_formed() {
    crate::config::check_argon2_hash(users::DUMMY_HASH_FOR_TESTS).unwrap();
}

#[test]
fn credentials_first_run_and_second_run() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        state_dir: tmp.path().join("state"),
        ..Config::default()
    };
    let first = Credentials::load_or_create(&config).unwrap();
    assert_eq!(mode(&config.state_dir), 0o700);
    for file in [
        HOST_KEY_FILE,
        INITIAL_ADMIN_PASSWORD_FILE,
        ADMIN_PASSWORD_HASH_FILE,
        "tls/cert.pem",
        "tls/key.pem",
    ] {
        assert_eq!(mode(&config.state_dir.join(file)), 0o600, "{file}");
    }
    let password = fs::read_to_string(config.state_dir.join(INITIAL_ADMIN_PASSWORD_FILE)).unwrap();
    assert!(first.users.verify_password("admin", password.trim_end()));

    let second = Credentials::load_or_create(&config).unwrap();
    assert_eq!(second.tls.cert_pem, first.tls.cert_pem);
    assert_eq!(
        second.host_key.public_key().key_data(),
        first.host_key.public_key().key_data()
    );
    assert!(second.users.verify_password("admin", password.trim_end()));
}

#[test]
fn dates_convert_both_ways() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    for days in [-1, 0, 59, 10_000, 20_000, 50_000] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
}
