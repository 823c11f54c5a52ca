//! `pg`: an in-memory port. Tests push frames into its receive side and read what the
//! dataplane transmitted; benchmarks replay a stream of template frames and count output
//! without storing it. The test side holds a [`PgHandle`]. An eventfd becomes readable
//! whenever the handle gives the port something to receive, so an idle worker sleeps on it
//! like on a kernel socket.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::sys::EventFd;
use super::{Port, TxResult};
use crate::buffer::{BufPool, Packet};
use crate::offload::{self, VnetHdr};
use crate::types::Mac;

#[derive(Debug, Default)]
struct Inner {
    rx: VecDeque<(Vec<u8>, Option<VnetHdr>)>,
    tx: Vec<Vec<u8>>,
    link_down: bool,
    stream: Vec<Vec<u8>>,
    stream_left: u64,
    stream_pos: usize,
    count_only: bool,
    tx_count: u64,
    tx_bytes: u64,
}

/// The dataplane side of a pg port.
#[derive(Debug)]
pub struct PgPort {
    mac: Mac,
    inner: Arc<Mutex<Inner>>,
    wake: Option<Arc<EventFd>>,
}

/// The test side of a pg port.
#[derive(Debug, Clone)]
pub struct PgHandle {
    inner: Arc<Mutex<Inner>>,
    wake: Option<Arc<EventFd>>,
}

/// Creates a pg port and its handle.
pub fn pg(mac: Mac) -> (PgPort, PgHandle) {
    let inner = Arc::new(Mutex::new(Inner::default()));
    let wake = EventFd::new().ok().map(Arc::new);
    (
        PgPort {
            mac,
            inner: inner.clone(),
            wake: wake.clone(),
        },
        PgHandle { inner, wake },
    )
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PgHandle {
    /// Queues a frame for the dataplane to receive.
    pub fn send(&self, frame: &[u8]) {
        lock(&self.inner).rx.push_back((frame.to_vec(), None));
        self.wake();
    }

    /// Queues a frame as a kernel interface with offloads hands it over: with its
    /// virtio-net header (a super-frame, a pending checksum).
    pub fn send_offloaded(&self, frame: &[u8], h: VnetHdr) {
        lock(&self.inner).rx.push_back((frame.to_vec(), Some(h)));
        self.wake();
    }

    fn wake(&self) {
        if let Some(w) = &self.wake {
            w.signal();
        }
    }

    /// Takes every frame the dataplane transmitted so far.
    pub fn take(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut lock(&self.inner).tx)
    }

    /// Sets the link state the port reports.
    pub fn set_link(&self, up: bool) {
        lock(&self.inner).link_down = !up;
        self.wake();
    }

    /// Replays `frames` round-robin, `count` frames in all (`u64::MAX`: forever).
    pub fn stream(&self, frames: Vec<Vec<u8>>, count: u64) {
        let mut g = lock(&self.inner);
        g.stream = frames;
        g.stream_left = count;
        g.stream_pos = 0;
        drop(g);
        self.wake();
    }

    /// Replays the frames of the last [`PgHandle::stream`] again, `count` frames in all.
    pub fn replay(&self, count: u64) {
        let mut g = lock(&self.inner);
        g.stream_left = count;
        g.stream_pos = 0;
        drop(g);
        self.wake();
    }

    /// Stops storing transmitted frames; only count them.
    pub fn count_only(&self, on: bool) {
        lock(&self.inner).count_only = on;
    }

    /// Frames and bytes transmitted so far.
    pub fn tx_count(&self) -> (u64, u64) {
        let g = lock(&self.inner);
        (g.tx_count, g.tx_bytes)
    }

    /// Frames still waiting to be received (queued plus stream).
    pub fn rx_pending(&self) -> u64 {
        let g = lock(&self.inner);
        g.rx.len() as u64
            + if g.stream.is_empty() {
                0
            } else {
                g.stream_left
            }
    }
}

impl Port for PgPort {
    fn driver(&self) -> &'static str {
        "pg"
    }

    fn mac(&self) -> Mac {
        self.mac
    }

    fn link_up(&self) -> bool {
        !lock(&self.inner).link_down
    }

    fn rx_burst(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>, max: usize) -> usize {
        let mut g = lock(&self.inner);
        if g.link_down {
            if let Some(w) = &self.wake {
                w.drain();
            }
            return 0;
        }
        let mut n = 0;
        while n < max {
            let Some((f, h)) = g.rx.pop_front() else {
                break;
            };
            let Some(mut p) = pool.alloc_from(&f) else {
                break;
            };
            if let Some(h) = h
                && offload::from_vnet(&mut p, &h).is_err()
            {
                pool.free(p);
                continue;
            }
            out.push(p);
            n += 1;
        }
        let g = &mut *g;
        while n < max && g.stream_left > 0 && !g.stream.is_empty() {
            let Some(p) = pool.alloc_from(&g.stream[g.stream_pos]) else {
                break;
            };
            out.push(p);
            g.stream_pos = (g.stream_pos + 1) % g.stream.len();
            if g.stream_left != u64::MAX {
                g.stream_left -= 1;
            }
            n += 1;
        }
        let idle = g.rx.is_empty() && (g.stream_left == 0 || g.stream.is_empty());
        if idle && let Some(w) = &self.wake {
            w.drain();
        }
        n
    }

    fn poll_fd(&self) -> Option<i32> {
        self.wake.as_ref().map(|w| w.raw())
    }

    fn tx_burst(&mut self, pkts: &mut Vec<Packet>, pool: &mut BufPool) -> TxResult {
        let mut g = lock(&self.inner);
        let n = pkts.len();
        if g.link_down {
            pool.free_all(pkts);
            return TxResult {
                sent: 0,
                dropped: n,
            };
        }
        g.tx_count += n as u64;
        for p in pkts.iter() {
            g.tx_bytes += p.len() as u64;
            if !g.count_only {
                g.tx.push(p.data().to_vec());
            }
        }
        pool.free_all(pkts);
        TxResult {
            sent: n,
            dropped: 0,
        }
    }
}
