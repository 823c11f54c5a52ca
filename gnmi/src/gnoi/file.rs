//! gNOI File (Get, Stat, Remove) over one directory the daemon names (its
//! packet captures): nothing outside it can be read, listed or removed. Paths
//! are absolute; after symlinks are resolved they must still be in the
//! directory (PERMISSION_DENIED otherwise). Get streams the file in 64 KiB
//! chunks, then its SHA-256. Get and Remove are for NACM's administrators
//! (captures hold user traffic); Stat for every user. Put and
//! TransferToRemote are UNIMPLEMENTED: nothing is written to the box this way.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status, Streaming};

use super::{Gnoi, Replies};
use crate::proto::gnoi::file::{self as pb, file_server::File};
use crate::proto::gnoi::types;

const CHUNK: usize = 64 * 1024;

/// Where a client path leads, checked against the served directory.
fn resolve(root: Option<&Path>, given: &str) -> Result<PathBuf, Status> {
    let root = root.ok_or_else(|| Status::unimplemented("this daemon serves no files"))?;
    let p = Path::new(given);
    if !p.is_absolute() {
        return Err(Status::invalid_argument(format!(
            "{given:?} is not an absolute path"
        )));
    }
    let root = std::fs::canonicalize(root)
        .map_err(|e| Status::unavailable(format!("the files directory is unavailable: {e}")))?;
    let real = match std::fs::canonicalize(p) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Status::not_found(format!("no file {given:?}")));
        }
        Err(e) => return Err(Status::permission_denied(format!("{given:?}: {e}"))),
    };
    if !real.starts_with(&root) {
        return Err(Status::permission_denied(format!(
            "only files under {} are served",
            root.display()
        )));
    }
    Ok(real)
}

/// Octal permission digits read as a decimal number (0o644 → 644).
fn octal_digits(mode: u32) -> u32 {
    format!("{:o}", mode & 0o7777).parse().unwrap_or(0)
}

/// The process's file creation mask, from /proc (reading it with umask(2)
/// would change it for a moment under the other threads).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .map(octal_digits)
        .unwrap_or(0)
}

fn stat_of(path: &Path) -> std::io::Result<pb::StatInfo> {
    use std::os::unix::fs::PermissionsExt;
    let m = std::fs::metadata(path)?;
    Ok(pb::StatInfo {
        path: path.display().to_string(),
        last_modified: m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0),
        permissions: octal_digits(m.permissions().mode()),
        size: m.len(),
        umask: umask(),
    })
}

fn io_status(what: &str, e: std::io::Error) -> Status {
    match e.kind() {
        std::io::ErrorKind::NotFound => Status::not_found(format!("{what}: {e}")),
        std::io::ErrorKind::PermissionDenied => Status::permission_denied(format!("{what}: {e}")),
        _ => Status::internal(format!("{what}: {e}")),
    }
}

#[tonic::async_trait]
impl File for Gnoi {
    type GetStream = Replies<pb::GetResponse>;

    async fn get(&self, req: Request<pb::GetRequest>) -> Result<Response<Self::GetStream>, Status> {
        self.admin(&req, "read files").await?;
        let path = resolve(self.platform.files().as_deref(), &req.get_ref().remote_file)?;
        if path.is_dir() {
            return Err(Status::invalid_argument(format!(
                "{} is a directory",
                path.display()
            )));
        }
        let data = tokio::fs::read(&path)
            .await
            .map_err(|e| io_status(&path.display().to_string(), e))?;
        let hash = Sha256::digest(&data).to_vec();
        let chunks: Vec<Result<pb::GetResponse, Status>> = data
            .chunks(CHUNK)
            .map(|c| {
                Ok(pb::GetResponse {
                    response: Some(pb::get_response::Response::Contents(c.to_vec())),
                })
            })
            .chain(std::iter::once(Ok(pb::GetResponse {
                response: Some(pb::get_response::Response::Hash(types::HashType {
                    method: types::hash_type::HashMethod::Sha256 as i32,
                    hash,
                })),
            })))
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }

    async fn transfer_to_remote(
        &self,
        req: Request<pb::TransferToRemoteRequest>,
    ) -> Result<Response<pb::TransferToRemoteResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        Err(Status::unimplemented(
            "TransferToRemote is not supported: fetch files with Get",
        ))
    }

    async fn put(
        &self,
        req: Request<Streaming<pb::PutRequest>>,
    ) -> Result<Response<pb::PutResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        Err(Status::unimplemented(
            "Put is not supported: nectar's files directory holds only what the box writes",
        ))
    }

    async fn stat(
        &self,
        req: Request<pb::StatRequest>,
    ) -> Result<Response<pb::StatResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        let path = resolve(self.platform.files().as_deref(), &req.get_ref().path)?;
        let stats = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<pb::StatInfo>> {
            if !path.is_dir() {
                return Ok(vec![stat_of(&path)?]);
            }
            let mut names: Vec<PathBuf> = std::fs::read_dir(&path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            names.sort();
            names.iter().map(|p| stat_of(p)).collect()
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| io_status("stat", e))?;
        Ok(Response::new(pb::StatResponse { stats }))
    }

    async fn remove(
        &self,
        req: Request<pb::RemoveRequest>,
    ) -> Result<Response<pb::RemoveResponse>, Status> {
        self.admin(&req, "remove files").await?;
        let path = resolve(self.platform.files().as_deref(), &req.get_ref().remote_file)?;
        if path.is_dir() {
            return Err(Status::invalid_argument(format!(
                "{} is a directory",
                path.display()
            )));
        }
        tokio::fs::remove_file(&path)
            .await
            .map_err(|e| io_status(&path.display().to_string(), e))?;
        tracing::info!(file = %path.display(), "gnoi: file removed");
        Ok(Response::new(pb::RemoveResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_served_directory_is_reachable() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("captures");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.pcap"), b"x").unwrap();
        std::fs::write(dir.path().join("secret"), b"y").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).unwrap();
        let r = |p: &Path| resolve(Some(&root), &p.display().to_string()).map_err(|e| e.code());
        assert!(r(&root.join("a.pcap")).is_ok());
        assert_eq!(
            r(&root.join("../secret")),
            Err(tonic::Code::PermissionDenied)
        );
        assert_eq!(r(&root.join("link")), Err(tonic::Code::PermissionDenied));
        assert_eq!(r(&root.join("none")), Err(tonic::Code::NotFound));
        assert_eq!(
            resolve(Some(&root), "a.pcap").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(octal_digits(0o100644), 644);
        assert_eq!(octal_digits(0o4755), 4755);
    }
}
