//! OpenSSH keys for the NETCONF tests (host keys, users' keys).

use std::path::Path;
use std::process::Command;

/// Makes an ed25519 key pair without a passphrase at `path` (private) and `path.pub`;
/// returns the public key line (`ssh-ed25519 AAAA... comment`).
pub fn keygen(path: &Path) -> String {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (openssh-client) is installed");
    assert!(st.success(), "ssh-keygen {}", path.display());
    std::fs::read_to_string(format!("{}.pub", path.display()))
        .unwrap()
        .trim()
        .to_string()
}
