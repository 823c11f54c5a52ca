//! Durable storage of the datastores in the state directory:
//! - `running.snapshot.json`: running at some commit, with the commit history;
//!   replaced atomically (temp file, fsync, rename, fsync of the directory).
//! - `running.journal`: one record per commit after the snapshot, appended and
//!   fsynced before the commit is acknowledged. A record is
//!   `[len: u32 LE][crc32: u32 LE][JSON]`; a torn or corrupt tail (a commit that
//!   was never acknowledged) is cut off on load.
//! - `startup.json`: the startup datastore, replaced atomically.
//!
//! A commit costs one append of its own size; compaction (rewriting the
//! snapshot) runs only once the journal outgrows a threshold.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::MgmtError;

/// A primitive operation that replays a commit onto the previous content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrimOp {
    /// Remove the subtree at a data path (no error if absent).
    Remove(String),
    /// Merge RFC 7951 JSON (a subtree with its parents).
    Merge(String),
    /// Set a leaf or leaf-list value at a data path.
    Set(String, String),
}

/// One commit, as journaled and kept in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub id: u64,
    pub user: String,
    /// RFC 3339 UTC time of the commit.
    pub time: String,
    #[serde(default)]
    pub comment: String,
    /// Number of data nodes changed.
    pub changes: u32,
    /// Replays the commit.
    pub ops: Vec<PrimOp>,
    /// Reverts the commit (applied in order).
    pub undo: Vec<PrimOp>,
}

impl PrimOp {
    /// The bytes of text it holds.
    fn bytes(&self) -> usize {
        match self {
            PrimOp::Remove(p) | PrimOp::Merge(p) => p.len(),
            PrimOp::Set(p, v) => p.len() + v.len(),
        }
    }
}

impl CommitRecord {
    /// About what it takes in memory: its text (paths, values, RFC 7951 JSON of merged
    /// subtrees), which is what grows with the size of a commit.
    pub fn bytes(&self) -> usize {
        self.user.len()
            + self.time.len()
            + self.comment.len()
            + self
                .ops
                .iter()
                .chain(&self.undo)
                .map(PrimOp::bytes)
                .sum::<usize>()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    last_commit: u64,
    history: Vec<CommitRecord>,
    /// RFC 7951 JSON of running (explicit nodes only).
    data: String,
}

/// A commit record as the journal stores it (`[len][crc32][JSON]`), encoded
/// apart from its append (a large one is encoded off the critical path).
#[derive(Debug)]
pub struct Encoded(Vec<u8>);

impl Encoded {
    pub fn new(rec: &CommitRecord) -> Result<Encoded, MgmtError> {
        let payload =
            serde_json::to_vec(rec).map_err(|e| MgmtError::operation_failed(e.to_string()))?;
        let len = u32::try_from(payload.len()).map_err(|_| {
            MgmtError::operation_failed(format!(
                "the commit is too large to journal ({} bytes)",
                payload.len()
            ))
        })?;
        let mut buf = Vec::with_capacity(payload.len() + 8);
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        buf.extend_from_slice(&payload);
        Ok(Encoded(buf))
    }
}

/// What `Store::open` found on disk.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Running as of the snapshot (JSON), if any.
    pub snapshot: Option<String>,
    pub last_commit: u64,
    /// Records after the snapshot, oldest first: replay their `ops`.
    pub journal: Vec<CommitRecord>,
    /// History from the snapshot (oldest first); the journal's records follow
    /// it.
    pub history: Vec<CommitRecord>,
    /// Bytes of torn tail cut from the journal.
    pub truncated: u64,
    pub startup: Option<String>,
}

/// The files of the running and startup datastores.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    journal: File,
    journal_bytes: u64,
}

const SNAPSHOT: &str = "running.snapshot.json";
const JOURNAL: &str = "running.journal";
const STARTUP: &str = "startup.json";

fn io_err(what: &str, path: &Path, e: std::io::Error) -> MgmtError {
    MgmtError::operation_failed(format!("{what} {}: {e}", path.display()))
}

impl Store {
    /// Opens (creating if needed) the datastore files in `dir` and reads what
    /// they hold, repairing a torn journal tail.
    pub fn open(dir: &Path) -> Result<(Store, Loaded), MgmtError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
        let mut loaded = Loaded::default();

        let snap_path = dir.join(SNAPSHOT);
        if snap_path.exists() {
            let text = std::fs::read_to_string(&snap_path)
                .map_err(|e| io_err("cannot read", &snap_path, e))?;
            let snap: Snapshot = serde_json::from_str(&text).map_err(|e| {
                MgmtError::operation_failed(format!(
                    "corrupt snapshot {}: {e}",
                    snap_path.display()
                ))
            })?;
            loaded.snapshot = Some(snap.data);
            loaded.last_commit = snap.last_commit;
            loaded.history = snap.history;
        }

        let jpath = dir.join(JOURNAL);
        let mut journal = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&jpath)
            .map_err(|e| io_err("cannot open", &jpath, e))?;
        let mut bytes = Vec::new();
        journal
            .read_to_end(&mut bytes)
            .map_err(|e| io_err("cannot read", &jpath, e))?;
        let mut off = 0usize;
        while off + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap());
            let Some(payload) = bytes.get(off + 8..off + 8 + len) else {
                break;
            };
            if crc32fast::hash(payload) != crc {
                break;
            }
            let Ok(rec) = serde_json::from_slice::<CommitRecord>(payload) else {
                break;
            };
            if rec.id > loaded.last_commit {
                loaded.journal.push(rec);
            }
            off += 8 + len;
        }
        if off < bytes.len() {
            loaded.truncated = (bytes.len() - off) as u64;
            tracing::warn!(
                bytes = loaded.truncated,
                "cutting a torn record off the end of the journal"
            );
            journal
                .set_len(off as u64)
                .map_err(|e| io_err("cannot truncate", &jpath, e))?;
            journal
                .sync_all()
                .map_err(|e| io_err("cannot sync", &jpath, e))?;
        }
        journal
            .seek(SeekFrom::End(0))
            .map_err(|e| io_err("cannot seek", &jpath, e))?;

        let spath = dir.join(STARTUP);
        if spath.exists() {
            loaded.startup = Some(
                std::fs::read_to_string(&spath).map_err(|e| io_err("cannot read", &spath, e))?,
            );
        }
        Ok((
            Store {
                dir: dir.to_path_buf(),
                journal,
                journal_bytes: off as u64,
            },
            loaded,
        ))
    }

    /// Appends a commit and waits until it is on disk.
    pub fn append(&mut self, rec: &CommitRecord) -> Result<(), MgmtError> {
        self.append_encoded(&Encoded::new(rec)?)
    }

    /// Appends a commit encoded beforehand and waits until it is on disk.
    pub fn append_encoded(&mut self, rec: &Encoded) -> Result<(), MgmtError> {
        let buf = &rec.0;
        let jpath = self.dir.join(JOURNAL);
        if let Err(e) = self
            .journal
            .write_all(buf)
            .and_then(|_| self.journal.sync_data())
        {
            // Leave no partial record behind for the next commit to follow.
            let _ = self.journal.set_len(self.journal_bytes);
            return Err(io_err("cannot write", &jpath, e));
        }
        self.journal_bytes += buf.len() as u64;
        Ok(())
    }

    pub fn journal_bytes(&self) -> u64 {
        self.journal_bytes
    }

    /// Writes a new snapshot of running as of commit `last_commit` and empties
    /// the journal. Crash-safe at every point: until the rename the old
    /// snapshot and the journal stand; after it, journal records up to
    /// `last_commit` are skipped on load.
    pub fn compact(
        &mut self,
        data: String,
        last_commit: u64,
        history: &[CommitRecord],
    ) -> Result<(), MgmtError> {
        let snap = Snapshot {
            format: 1,
            last_commit,
            history: history.to_vec(),
            data,
        };
        let text =
            serde_json::to_vec(&snap).map_err(|e| MgmtError::operation_failed(e.to_string()))?;
        write_atomic(&self.dir, SNAPSHOT, &text)?;
        let jpath = self.dir.join(JOURNAL);
        self.journal
            .set_len(0)
            .map_err(|e| io_err("cannot truncate", &jpath, e))?;
        self.journal
            .sync_all()
            .map_err(|e| io_err("cannot sync", &jpath, e))?;
        self.journal
            .seek(SeekFrom::Start(0))
            .map_err(|e| io_err("cannot seek", &jpath, e))?;
        self.journal_bytes = 0;
        Ok(())
    }

    /// Replaces the startup datastore.
    pub fn write_startup(&self, json: &str) -> Result<(), MgmtError> {
        write_atomic(&self.dir, STARTUP, json.as_bytes())
    }

    /// Deletes the startup datastore's content (RFC 6241 delete-config).
    pub fn clear_startup(&self) -> Result<(), MgmtError> {
        write_atomic(&self.dir, STARTUP, b"{}")
    }
}

/// Replaces `dir/name` atomically: temp file, fsync, rename, fsync of the
/// directory.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), MgmtError> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let dest = dir.join(name);
    let mut f = File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| io_err("cannot write", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &dest).map_err(|e| io_err("cannot rename", &dest, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot sync", dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64) -> CommitRecord {
        CommitRecord {
            id,
            user: "u".into(),
            time: "2026-11-21T00:00:00Z".into(),
            comment: String::new(),
            changes: 1,
            ops: vec![PrimOp::Set(format!("/m:x/n{id}"), "1".into())],
            undo: vec![PrimOp::Remove(format!("/m:x/n{id}"))],
        }
    }

    #[test]
    fn journal_survives_reopen_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, l) = Store::open(dir.path()).unwrap();
            assert!(l.journal.is_empty());
            s.append(&rec(1)).unwrap();
            s.append(&rec(2)).unwrap();
        }
        // A torn third record: length says 100 bytes, only 10 follow.
        let jpath = dir.path().join(JOURNAL);
        let mut f = OpenOptions::new().append(true).open(&jpath).unwrap();
        f.write_all(&100u32.to_le_bytes()).unwrap();
        f.write_all(&[0u8; 14]).unwrap();
        drop(f);
        let (mut s, l) = Store::open(dir.path()).unwrap();
        assert_eq!(
            l.journal.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(l.truncated, 18);
        s.append(&rec(3)).unwrap();
        drop(s);
        let (_, l) = Store::open(dir.path()).unwrap();
        assert_eq!(
            l.journal.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn a_flipped_byte_ends_the_journal_there() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, _) = Store::open(dir.path()).unwrap();
            s.append(&rec(1)).unwrap();
            s.append(&rec(2)).unwrap();
        }
        let jpath = dir.path().join(JOURNAL);
        let mut bytes = std::fs::read(&jpath).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0xff;
        std::fs::write(&jpath, bytes).unwrap();
        let (_, l) = Store::open(dir.path()).unwrap();
        assert_eq!(l.journal.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn compaction_skips_records_already_in_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = Store::open(dir.path()).unwrap();
        s.append(&rec(1)).unwrap();
        s.append(&rec(2)).unwrap();
        s.compact("{}".into(), 2, &[rec(1), rec(2)]).unwrap();
        assert_eq!(s.journal_bytes(), 0);
        s.append(&rec(3)).unwrap();
        drop(s);
        let (_, l) = Store::open(dir.path()).unwrap();
        assert_eq!(l.last_commit, 2);
        assert_eq!(l.snapshot.as_deref(), Some("{}"));
        assert_eq!(l.history.len(), 2);
        assert_eq!(l.journal.iter().map(|r| r.id).collect::<Vec<_>>(), vec![3]);
    }
}
