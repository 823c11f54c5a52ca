//! Credentials made on first run: SSH host key, TLS certificate, admin password; and the
//! [`Users`] that NETCONF, RESTCONF and gNMI authenticate against.
//!
//! Everything lives in the state directory (mode 0700); every file is written once, mode 0600,
//! and reused on later runs, never overwritten. A file is published atomically (written to a
//! temporary name, fsynced, then hard-linked to its final name, which fails if the name
//! exists), so a crash never leaves a torn key and two daemons racing on one state directory
//! end up with the same credentials.
//!
//! | file | content |
//! |---|---|
//! | `ssh_host_ed25519_key` | ed25519 host key, OpenSSH private key format (russh loads it) |
//! | `tls/key.pem`, `tls/cert.pem` | ECDSA P-256 key (PKCS#8) and self-signed certificate |
//! | `initial-admin-password` | the generated admin password, for the operator to read |
//! | `admin-password.hash` | its argon2id hash, which is what the daemon uses |
//!
//! Passwords are never logged. Imports: config (this crate), ssh-key, rcgen, argon2, rand.

// Used by main's wiring; the lead removes this once main builds the credentials.
#![allow(dead_code)]

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use rcgen::PublicKeyData as _;

use crate::config::Config;

mod users;
mod x509;

pub use users::Users;

/// The SSH host key, in the state directory.
pub const HOST_KEY_FILE: &str = "ssh_host_ed25519_key";
/// The TLS directory, in the state directory.
pub const TLS_DIR: &str = "tls";
/// The certificate, in [`TLS_DIR`].
pub const TLS_CERT_FILE: &str = "cert.pem";
/// The certificate's private key, in [`TLS_DIR`].
pub const TLS_KEY_FILE: &str = "key.pem";
/// The generated admin password, in clear, for the operator (may be deleted once read).
pub const INITIAL_ADMIN_PASSWORD_FILE: &str = "initial-admin-password";
/// The argon2id hash of the generated admin password.
pub const ADMIN_PASSWORD_HASH_FILE: &str = "admin-password.hash";

/// Name and group of the user made when the configuration has no `[[users]]`.
pub const GENERATED_ADMIN: &str = "admin";

/// Length of a generated password. 24 characters of a 54-letter alphabet ≈ 138 bits.
const PASSWORD_LEN: usize = 24;
/// Letters and digits without the look-alikes 0/O/o, 1/l/I/i.
const PASSWORD_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";

/// Everything the listeners need to authenticate themselves and their clients.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// NETCONF's SSH host key.
    pub host_key: ssh_key::PrivateKey,
    /// RESTCONF's and gNMI's certificate and key.
    pub tls: TlsIdentity,
    pub users: Users,
}

impl Credentials {
    /// Creates the state directory and the credentials that do not exist yet, and loads them
    /// all. The TLS certificate is made (and needed) only when a listener uses TLS, but it is
    /// always made so that turning TLS on later finds it.
    pub fn load_or_create(config: &Config) -> Result<Credentials> {
        let state_dir = &config.state_dir;
        ensure_state_dir(state_dir)?;
        let host_key = match &config.netconf.host_key_file {
            Some(path) => load_host_key_file(path).context("`netconf.host_key_file`")?,
            None => load_or_create_host_key(state_dir)?,
        };
        let tls = match (&config.tls.cert_file, &config.tls.key_file) {
            (Some(cert), Some(key)) => load_tls_files(cert, key).context("`tls`")?,
            _ => load_or_create_tls(state_dir, &config.tls_hosts())?,
        };
        let users = if config.uses_generated_admin() {
            Users::generated_admin(load_or_create_admin_password_hash(state_dir)?)
        } else {
            Users::from_config(&config.users)?
        };
        Ok(Credentials {
            host_key,
            tls,
            users,
        })
    }
}

/// Creates `path` (and missing parents) with mode 0700. An existing directory is kept as is;
/// a warning is logged if others may read it.
pub fn ensure_state_dir(path: &Path) -> Result<()> {
    ensure_private_dir(path).with_context(|| format!("state directory {}", path.display()))
}

fn ensure_private_dir(path: &Path) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{mode:03o}"),
                    "directory holding credentials is accessible to other users; chmod 700 it"
                );
            }
            Ok(())
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "exists and is not a directory",
        )),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            DirBuilder::new().recursive(true).mode(0o700).create(path)?;
            // The umask may have removed bits, never added them; make sure of 0700 anyway.
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
            tracing::info!(path = %path.display(), "created state directory");
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Reads a credential file, warning if it is readable by others. `None` if it does not exist.
fn read_existing(path: &Path) -> Result<Option<String>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format_args!("{mode:03o}"),
                "credential file is accessible to other users; chmod 600 it"
            );
        }
    }
    Ok(Some(text))
}

/// Publishes `contents` at `path` with mode 0600 unless `path` exists. Returns whether this
/// call created it (`false`: it existed, and was left untouched).
fn write_new(path: &Path, contents: &[u8]) -> io::Result<bool> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy());
    let mut nonce = [0u8; 6];
    OsRng.try_fill_bytes(&mut nonce).map_err(io::Error::other)?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let temp = dir.join(format!(".{name}.{nonce}.tmp"));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        match fs::hard_link(&temp, path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            // A file system without hard links: rename, which is atomic but would replace a
            // file created since the check (only a concurrent daemon could do that).
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
                ) =>
            {
                if fs::symlink_metadata(path).is_ok() {
                    Ok(false)
                } else {
                    fs::rename(&temp, path)?;
                    Ok(true)
                }
            }
            Err(err) => Err(err),
        }
    })();
    let _ = fs::remove_file(&temp);
    if result.as_ref().is_ok_and(|created| *created) {
        // Make the new name durable.
        fs::File::open(dir)?.sync_all()?;
    }
    result
}

/// Loads the SSH host key, generating an ed25519 key on first run.
pub fn load_or_create_host_key(state_dir: &Path) -> Result<ssh_key::PrivateKey> {
    let path = state_dir.join(HOST_KEY_FILE);
    if read_existing(&path)?.is_none() {
        let mut seed = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut seed)
            .context("cannot get random bytes from the OS")?;
        let keypair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
        let key = ssh_key::PrivateKey::new(keypair.into(), "nectar host key")
            .context("cannot build the SSH host key")?;
        let text = key
            .to_openssh(ssh_key::LineEnding::LF)
            .context("cannot encode the SSH host key")?;
        if write_new(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?
        {
            tracing::info!(
                path = %path.display(),
                fingerprint = %key.fingerprint(ssh_key::HashAlg::Sha256),
                "generated SSH host key"
            );
        }
    }
    load_host_key_file(&path)
}

/// Loads an SSH host key (unencrypted OpenSSH private key) from `path`.
pub fn load_host_key_file(path: &Path) -> Result<ssh_key::PrivateKey> {
    let Some(text) = read_existing(path)? else {
        bail!("{} does not exist", path.display());
    };
    let key = ssh_key::PrivateKey::from_openssh(&text)
        .with_context(|| format!("{} is not an OpenSSH private key", path.display()))?;
    if key.is_encrypted() {
        bail!(
            "{} is encrypted; the daemon needs an unencrypted host key",
            path.display()
        );
    }
    tracing::debug!(
        path = %path.display(),
        fingerprint = %key.fingerprint(ssh_key::HashAlg::Sha256),
        "loaded SSH host key"
    );
    Ok(key)
}

/// The TLS certificate and key, as PEM (for rustls / tonic) and as files.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The self-signed certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

/// Loads a certificate chain and its key given by the operator (e.g. a mounted
/// `kubernetes.io/tls` Secret). The certificate must parse; the key is checked by the TLS
/// listeners when they load the pair.
pub fn load_tls_files(cert_path: &Path, key_path: &Path) -> Result<TlsIdentity> {
    let Some(cert_pem) = read_existing(cert_path)? else {
        bail!("{} does not exist", cert_path.display());
    };
    let Some(key_pem) = read_existing(key_path)? else {
        bail!("{} does not exist", key_path.display());
    };
    x509::parse_certificate_pem(&cert_pem)
        .map_err(|why| anyhow::anyhow!("{} is not a certificate: {why}", cert_path.display()))?;
    if !key_pem.contains("PRIVATE KEY-----") {
        bail!("{} is not a PEM private key", key_path.display());
    }
    tracing::info!(cert = %cert_path.display(), key = %key_path.display(), "TLS certificate from files");
    Ok(TlsIdentity {
        cert_pem,
        key_pem,
        cert_path: cert_path.to_owned(),
        key_path: key_path.to_owned(),
    })
}

/// Loads the TLS key and certificate, making what is missing: a P-256 key, and a self-signed
/// certificate naming `localhost`, `127.0.0.1`, `::1` and `hosts`. An existing certificate is
/// reused even if it lacks one of `hosts` (a warning says so: delete `tls/cert.pem` to make a
/// new one). A certificate without its key is an error (the key is never replaced).
pub fn load_or_create_tls(state_dir: &Path, hosts: &[IpAddr]) -> Result<TlsIdentity> {
    let dir = state_dir.join(TLS_DIR);
    ensure_private_dir(&dir).with_context(|| format!("TLS directory {}", dir.display()))?;
    let key_path = dir.join(TLS_KEY_FILE);
    let cert_path = dir.join(TLS_CERT_FILE);

    if read_existing(&key_path)?.is_none() {
        if fs::symlink_metadata(&cert_path).is_ok() {
            bail!(
                "{} exists but its key {} does not; restore the key, or delete the \
                 certificate to have a new pair made",
                cert_path.display(),
                key_path.display()
            );
        }
        let key = rcgen::KeyPair::generate().context("cannot generate the TLS key")?;
        if write_new(&key_path, key.serialize_pem().as_bytes())
            .with_context(|| format!("cannot write {}", key_path.display()))?
        {
            tracing::info!(path = %key_path.display(), "generated TLS key");
        }
    }
    let key_pem = read_existing(&key_path)?.unwrap_or_default();
    let key = rcgen::KeyPair::from_pem(&key_pem)
        .with_context(|| format!("{} is not a PEM private key", key_path.display()))?;

    let names = san_names(hosts);
    if read_existing(&cert_path)?.is_none() {
        let cert_pem = self_signed_certificate(&key, &names)?;
        if write_new(&cert_path, cert_pem.as_bytes())
            .with_context(|| format!("cannot write {}", cert_path.display()))?
        {
            tracing::info!(
                path = %cert_path.display(),
                names = ?names,
                "generated self-signed TLS certificate"
            );
        }
    }
    let cert_pem = read_existing(&cert_path)?.unwrap_or_default();
    let info = x509::parse_certificate_pem(&cert_pem)
        .map_err(|why| anyhow::anyhow!("{} is not a certificate: {why}", cert_path.display()))?;
    if info.spki != key.subject_public_key_info() {
        bail!(
            "{} does not belong to the key {}; delete the certificate to have a new one made",
            cert_path.display(),
            key_path.display()
        );
    }
    let missing: Vec<String> = names
        .iter()
        .filter(|name| !info.names.contains(name))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        tracing::warn!(
            path = %cert_path.display(),
            missing = ?missing,
            "the TLS certificate does not name every listener host; delete it to have a new \
             one made"
        );
    }
    Ok(TlsIdentity {
        cert_pem,
        key_pem,
        cert_path,
        key_path,
    })
}

/// A subjectAltName the certificate should carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SanName {
    Dns(String),
    Ip(IpAddr),
}

impl std::fmt::Display for SanName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SanName::Dns(name) => f.write_str(name),
            SanName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

fn san_names(hosts: &[IpAddr]) -> Vec<SanName> {
    let mut names = vec![
        SanName::Dns("localhost".to_owned()),
        SanName::Ip(IpAddr::from([127, 0, 0, 1])),
        SanName::Ip(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ];
    for host in hosts {
        let name = SanName::Ip(*host);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn self_signed_certificate(key: &rcgen::KeyPair, names: &[SanName]) -> Result<String> {
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "nectar");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "nectar self-signed");
    for name in names {
        params.subject_alt_names.push(match name {
            SanName::Dns(dns) => rcgen::SanType::DnsName(
                dns.clone()
                    .try_into()
                    .with_context(|| format!("`{dns}` is not a DNS name"))?,
            ),
            SanName::Ip(ip) => rcgen::SanType::IpAddress(*ip),
        });
    }
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let (year, month, day) = today();
    // From yesterday (clock skew between hosts) for ten years.
    let (y0, m0, d0) = civil_from_days(days_from_civil(year, month, day) - 1);
    params.not_before = rcgen::date_time_ymd(y0, m0, d0);
    params.not_after = rcgen::date_time_ymd(year + 10, month, day.min(28));
    let cert = params
        .self_signed(key)
        .context("cannot make the self-signed TLS certificate")?;
    Ok(cert.pem())
}

/// Today's date (UTC).
fn today() -> (i32, u8, u8) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

/// Loads the argon2id hash of the generated admin password. On first run, generates the
/// password, writes it to [`INITIAL_ADMIN_PASSWORD_FILE`] (with a trailing newline) and its
/// hash to [`ADMIN_PASSWORD_HASH_FILE`]. Later runs read the hash only: the password file may
/// be deleted once read. If a crash left the password without its hash, the hash is made
/// from that password.
pub fn load_or_create_admin_password_hash(state_dir: &Path) -> Result<String> {
    let hash_path = state_dir.join(ADMIN_PASSWORD_HASH_FILE);
    let password_path = state_dir.join(INITIAL_ADMIN_PASSWORD_FILE);
    if read_existing(&hash_path)?.is_none() {
        let password = match read_existing(&password_path)? {
            Some(text) => text.trim_end_matches(['\n', '\r']).to_owned(),
            None => {
                let password = generate_password()?;
                write_new(&password_path, format!("{password}\n").as_bytes())
                    .with_context(|| format!("cannot write {}", password_path.display()))?;
                // Another daemon may have won the race: use what is in the file.
                let text = read_existing(&password_path)?.unwrap_or_default();
                text.trim_end_matches(['\n', '\r']).to_owned()
            }
        };
        if password.is_empty() {
            bail!("{} is empty", password_path.display());
        }
        let hash = hash_password(&password)?;
        if write_new(&hash_path, format!("{hash}\n").as_bytes())
            .with_context(|| format!("cannot write {}", hash_path.display()))?
        {
            tracing::info!(
                user = GENERATED_ADMIN,
                password_file = %password_path.display(),
                "generated the admin password; read it from the password file, then delete \
                 the file"
            );
        }
    }
    let text = read_existing(&hash_path)?.unwrap_or_default();
    let hash = text.trim().to_owned();
    crate::config::check_argon2_hash(&hash)
        .map_err(|why| anyhow::anyhow!("{}: {why}", hash_path.display()))?;
    Ok(hash)
}

/// A random password of [`PASSWORD_LEN`] characters from [`PASSWORD_ALPHABET`], from the OS RNG.
pub fn generate_password() -> Result<String> {
    let mut rng = OsRng;
    let mut password = String::with_capacity(PASSWORD_LEN);
    let n = u8::try_from(PASSWORD_ALPHABET.len()).unwrap_or(u8::MAX);
    // Rejection sampling: the largest multiple of n below 256 keeps the choice uniform.
    let limit = 256 - 256 % u16::from(n);
    while password.len() < PASSWORD_LEN {
        let mut byte = [0u8; 1];
        rng.try_fill_bytes(&mut byte)
            .context("cannot get random bytes from the OS")?;
        if u16::from(byte[0]) < limit {
            password.push(char::from(PASSWORD_ALPHABET[usize::from(byte[0] % n)]));
        }
    }
    Ok(password)
}

/// The argon2id hash (PHC string, default parameters) of `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let mut salt = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut salt)
        .context("cannot get random bytes from the OS")?;
    let salt = SaltString::encode_b64(&salt).map_err(|err| anyhow::anyhow!("salt: {err}"))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|err| anyhow::anyhow!("cannot hash the password: {err}"))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests;
