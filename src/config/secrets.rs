//! Secrets the configuration refers to by file (Kubernetes Secrets mounted as files): user
//! passwords, password hashes and authorized keys are read into the [`UserConfig`] fields
//! they stand for, once, at start-up, after [`Config::validate`]. `--check-config` does not
//! read them (the files exist where the daemon runs, not where the file is checked).
//!
//! TLS and SSH host key files are read by `credentials`, which also checks their content.

use std::path::Path;

use anyhow::{Context as _, Result, bail};

use super::{Config, Secret, check_argon2_hash};

/// A file's text with one trailing newline (LF or CRLF) removed.
fn read_secret(key: &str, path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("`{key}`: cannot read {}", path.display()))?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    Ok(text.to_owned())
}

impl Config {
    /// Reads every secret file the users refer to into the fields they stand for. Errors
    /// name the key and the file.
    pub fn read_secret_files(&mut self) -> Result<()> {
        for (i, user) in self.users.iter_mut().enumerate() {
            if let Some(path) = &user.password_file {
                let key = format!("users[{i}].password_file");
                let password = read_secret(&key, path)?;
                if password.is_empty() {
                    bail!("`{key}`: {} is empty", path.display());
                }
                user.password = Some(Secret::new(password));
            }
            if let Some(path) = &user.password_hash_file {
                let key = format!("users[{i}].password_hash_file");
                let hash = read_secret(&key, path)?.trim().to_owned();
                check_argon2_hash(&hash)
                    .map_err(|why| anyhow::anyhow!("`{key}` ({}): {why}", path.display()))?;
                user.password_hash = Some(hash);
            }
            if let Some(path) = &user.ssh_authorized_keys_file {
                let key = format!("users[{i}].ssh_authorized_keys_file");
                let text = read_secret(&key, path)?;
                for (n, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    ssh_key::PublicKey::from_openssh(line).map_err(|err| {
                        anyhow::anyhow!(
                            "`{key}` ({} line {}): not an OpenSSH public key: {err}",
                            path.display(),
                            n + 1
                        )
                    })?;
                    user.ssh_authorized_keys.push(line.to_owned());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_secrets_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret pass\n").unwrap();
        let keys = dir.path().join("keys");
        std::fs::write(
            &keys,
            "# ops\n\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMeYUmvhXhdQn7m1Ztz2lXJtMnHrzWtbfoCv6fTgnUJZ ops\n",
        )
        .unwrap();
        let text = format!(
            "[[users]]\nname = \"ops\"\npassword_file = \"{}\"\nssh_authorized_keys_file = \"{}\"\n",
            pw.display(),
            keys.display()
        );
        let mut config = Config::from_toml(&text, "test").unwrap();
        config.read_secret_files().unwrap();
        let user = &config.users[0];
        assert_eq!(user.password.as_ref().unwrap().expose(), "s3cret pass");
        assert_eq!(user.ssh_authorized_keys.len(), 1);

        let hash = dir.path().join("hash");
        std::fs::write(&hash, "not a hash\n").unwrap();
        let text = format!(
            "[[users]]\nname = \"ops\"\npassword_hash_file = \"{}\"\n",
            hash.display()
        );
        let mut config = Config::from_toml(&text, "test").unwrap();
        let err = config.read_secret_files().unwrap_err().to_string();
        assert!(err.contains("users[0].password_hash_file"), "{err}");

        let text = "[[users]]\nname = \"ops\"\npassword_file = \"/nonexistent/pw\"\n";
        let mut config = Config::from_toml(text, "test").unwrap();
        let err = format!("{:#}", config.read_secret_files().unwrap_err());
        assert!(err.contains("users[0].password_file"), "{err}");
        assert!(err.contains("/nonexistent/pw"), "{err}");
    }

    #[test]
    fn two_password_sources_are_refused() {
        let text = "[[users]]\nname = \"ops\"\npassword = \"x\"\npassword_file = \"/run/pw\"\n";
        let err = Config::from_toml(text, "test").unwrap_err().to_string();
        assert!(err.contains("users[0].password"), "{err}");
        assert!(err.contains("`password_file`"), "{err}");
    }
}
