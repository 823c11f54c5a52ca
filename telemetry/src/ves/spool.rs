//! The VES event spool: every event is appended here (to disk, fsynced) before delivery, and
//! leaves only when the collector has accepted it. Events are kept in order; delivery takes
//! them from the head. While the collector is unreachable the spool grows, up to a bound in
//! bytes; past it the oldest segment is discarded (and counted), so the newest events are
//! the ones kept. Buffered events survive a restart of the daemon.
//!
//! On disk: `seg-<first sequence>.jsonl` files of one JSON line per event
//! (`{"seq":N,"domain":"fault","event":{...}}`), and `ack`, the highest delivered sequence
//! (replaced atomically: write, fsync, rename). A torn last line (a crash while writing) is
//! ignored when the spool is opened.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

/// One buffered event.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Position in the spool (increasing, never reused in a spool directory).
    pub seq: u64,
    /// The VES domain, for batching (a batch holds one domain).
    pub domain: String,
    /// The event (`{"commonEventHeader":..., "<domain>Fields":...}`) as JSON text.
    pub event: String,
}

#[derive(Serialize, Deserialize)]
struct Line<'a> {
    seq: u64,
    domain: &'a str,
    event: Value,
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    last_seq: u64,
    bytes: u64,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    max_bytes: u64,
    segment_max: u64,
    entries: VecDeque<Entry>,
    segments: VecDeque<Segment>,
    /// The segment being appended to (always the last of `segments`).
    writer: Option<File>,
    next_seq: u64,
    acked: u64,
    bytes: u64,
    discarded: u64,
}

/// The spool; shared between the event sources and the delivery task.
#[derive(Debug)]
pub struct Spool {
    inner: Mutex<Inner>,
    notify: Notify,
}

/// Why the spool could not store an event.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("VES buffer {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Spool {
    /// Opens (creating it if needed) the spool in `dir`, holding at most `max_bytes` of
    /// events, and loads what an earlier run left undelivered.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let ack_path = dir.join("ack");
        let acked = match fs::read_to_string(&ack_path) {
            Ok(s) => s.trim().parse().unwrap_or(0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&ack_path)(e)),
        };
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("seg-") && n.ends_with(".jsonl"))
            })
            .collect();
        files.sort();
        let mut inner = Inner {
            dir: dir.to_owned(),
            max_bytes,
            segment_max: (max_bytes / 8).clamp(4096, 4 << 20),
            entries: VecDeque::new(),
            segments: VecDeque::new(),
            writer: None,
            next_seq: acked + 1,
            acked,
            bytes: 0,
            discarded: 0,
        };
        for path in files {
            let file = File::open(&path).map_err(io(&path))?;
            let mut last_seq = 0;
            let mut live = false;
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                let Ok(l) = serde_json::from_str::<Line<'_>>(&line) else {
                    tracing::warn!(file = %path.display(), "VES buffer: skipping a torn line");
                    continue;
                };
                last_seq = last_seq.max(l.seq);
                inner.next_seq = inner.next_seq.max(l.seq + 1);
                if l.seq > acked {
                    live = true;
                    inner.entries.push_back(Entry {
                        seq: l.seq,
                        domain: l.domain.to_owned(),
                        event: l.event.to_string(),
                    });
                }
            }
            if live {
                let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                inner.bytes += bytes;
                inner.segments.push_back(Segment {
                    path,
                    last_seq,
                    bytes,
                });
            } else {
                let _ = fs::remove_file(&path);
            }
        }
        if !inner.entries.is_empty() {
            tracing::info!(
                events = inner.entries.len(),
                "VES buffer: events from an earlier run will be delivered"
            );
        }
        Ok(Spool {
            inner: Mutex::new(inner),
            notify: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event (written and fsynced before this returns).
    pub fn push(&self, domain: &str, event: &Value) -> Result<(), SpoolError> {
        {
            let mut g = self.lock();
            g.push(domain, event)?;
        }
        self.notify.notify_one();
        Ok(())
    }

    /// The oldest events, up to `max`, all of the head's domain, in order.
    pub fn peek(&self, max: usize) -> Vec<Entry> {
        let g = self.lock();
        let Some(first) = g.entries.front() else {
            return Vec::new();
        };
        g.entries
            .iter()
            .take_while(|e| e.domain == first.domain)
            .take(max.max(1))
            .cloned()
            .collect()
    }

    /// Forgets every event up to sequence `seq` (they were delivered or given up).
    pub fn ack(&self, seq: u64) -> Result<(), SpoolError> {
        self.lock().ack(seq)
    }

    /// Waits until an event is pushed (returns at once if one was pushed since the last wait).
    pub async fn wait(&self) {
        self.notify.notified().await
    }

    /// Events waiting for delivery.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Events discarded because the spool was full.
    pub fn discarded(&self) -> u64 {
        self.lock().discarded
    }
}

impl Inner {
    fn push(&mut self, domain: &str, event: &Value) -> Result<(), SpoolError> {
        let seq = self.next_seq;
        let mut line = serde_json::to_string(&Line {
            seq,
            domain,
            event: event.clone(),
        })
        .expect("JSON values serialise");
        line.push('\n');
        let len = line.len() as u64;
        let rotate = match self.segments.back() {
            Some(s) => self.writer.is_none() || s.bytes + len > self.segment_max,
            None => true,
        };
        if rotate {
            let path = self.dir.join(format!("seg-{seq:020}.jsonl"));
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io(&path))?;
            self.writer = Some(file);
            self.segments.push_back(Segment {
                path,
                last_seq: seq,
                bytes: 0,
            });
        }
        let seg = self.segments.back_mut().expect("a segment is open");
        let w = self.writer.as_mut().expect("a segment is open");
        w.write_all(line.as_bytes()).map_err(io(&seg.path))?;
        w.sync_data().map_err(io(&seg.path))?;
        seg.bytes += len;
        seg.last_seq = seq;
        self.bytes += len;
        self.next_seq += 1;
        self.entries.push_back(Entry {
            seq,
            domain: domain.to_owned(),
            event: event.to_string(),
        });
        // Past the bound, the oldest segment goes (never the one being written).
        while self.bytes > self.max_bytes && self.segments.len() > 1 {
            let old = self.segments.pop_front().expect("more than one");
            let mut gone = 0;
            while self.entries.front().is_some_and(|e| e.seq <= old.last_seq) {
                self.entries.pop_front();
                gone += 1;
            }
            self.discarded += gone;
            self.bytes -= old.bytes;
            let _ = fs::remove_file(&old.path);
            tracing::warn!(
                events = gone,
                "VES buffer full: the oldest undelivered events were discarded"
            );
        }
        Ok(())
    }

    fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        if seq <= self.acked {
            return Ok(());
        }
        while self.entries.front().is_some_and(|e| e.seq <= seq) {
            self.entries.pop_front();
        }
        self.acked = seq;
        let path = self.dir.join("ack");
        let tmp = self.dir.join("ack.tmp");
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(seq.to_string().as_bytes()).map_err(io(&tmp))?;
            f.sync_data().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        // Delivered segments go, except the one being written.
        while self.segments.len() > 1 && self.segments[0].last_seq <= seq {
            let old = self.segments.pop_front().expect("more than one");
            self.bytes -= old.bytes;
            let _ = fs::remove_file(&old.path);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(n: u64) -> Value {
        json!({"commonEventHeader": {"sequence": n}, "pad": "x".repeat(100)})
    }

    #[test]
    fn batches_hold_one_domain_and_order_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(dir.path(), 1 << 20).unwrap();
        s.push("heartbeat", &ev(1)).unwrap();
        s.push("heartbeat", &ev(2)).unwrap();
        s.push("fault", &ev(3)).unwrap();
        s.push("heartbeat", &ev(4)).unwrap();
        let b = s.peek(10);
        assert_eq!(b.len(), 2);
        assert!(b.iter().all(|e| e.domain == "heartbeat"));
        s.ack(b.last().unwrap().seq).unwrap();
        let b = s.peek(10);
        assert_eq!((b.len(), b[0].domain.as_str()), (1, "fault"));
        assert_eq!(s.peek(1).len(), 1);
    }

    #[test]
    fn undelivered_events_survive_a_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Spool::open(dir.path(), 1 << 20).unwrap();
            for n in 1..=5 {
                s.push("measurement", &ev(n)).unwrap();
            }
            let b = s.peek(2);
            s.ack(b[1].seq).unwrap();
        }
        // A torn line at the end, as a crash mid-write leaves it.
        let seg = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(".jsonl"))
            .unwrap();
        let mut f = OpenOptions::new().append(true).open(seg).unwrap();
        f.write_all(b"{\"seq\":99,\"dom").unwrap();
        drop(f);
        let s = Spool::open(dir.path(), 1 << 20).unwrap();
        let seqs: Vec<u64> = s
            .peek(10)
            .iter()
            .map(|e| {
                serde_json::from_str::<Value>(&e.event).unwrap()["commonEventHeader"]["sequence"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        s.push("measurement", &ev(6)).unwrap();
        assert_eq!(s.len(), 4);
        let last = s.peek(10).last().unwrap().seq;
        assert!(last > 5);
    }

    #[test]
    fn a_full_spool_discards_the_oldest_segment() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(dir.path(), 8192).unwrap();
        for n in 0..200 {
            s.push("heartbeat", &ev(n)).unwrap();
        }
        assert!(s.bytes() <= 8192, "{}", s.bytes());
        assert!(s.discarded() > 0);
        assert_eq!(s.len() as u64 + s.discarded(), 200);
        // What is left is the newest events, in order.
        let b = s.peek(1000);
        let seqs: Vec<u64> = b.iter().map(|e| e.seq).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
        assert_eq!(*seqs.last().unwrap(), 200);
    }
}
