//! Packet trace: when started for N packets, the next N received packets are marked and every
//! node they pass records a line (its name, what it did). Workers buffer lines per dispatch
//! and append them to the shared trace, read by the control side.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// One line of a packet's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// Trace id of the packet (1-based, in order of arrival).
    pub packet: u32,
    /// Node name.
    pub node: &'static str,
    /// What happened.
    pub text: String,
}

/// Most lines kept (older ones are discarded first).
const MAX_LINES: usize = 100_000;

/// Runtime trace control and buffer.
#[derive(Debug, Default)]
pub struct TraceCtl {
    remaining: AtomicU32,
    next_id: AtomicU32,
    lines: Mutex<Vec<TraceLine>>,
}

impl TraceCtl {
    /// Starts tracing the next `n` received packets, clearing the previous trace.
    pub fn start(&self, n: u32) {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.next_id.store(0, Ordering::Relaxed);
        self.remaining.store(n, Ordering::Release);
    }

    /// Claims a trace id for a received packet if tracing is on (0 = not traced).
    #[inline]
    pub fn claim(&self) -> u32 {
        if self.remaining.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let took = self
            .remaining
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |r| r.checked_sub(1));
        match took {
            Ok(_) => self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            Err(_) => 0,
        }
    }

    /// Appends a worker's lines.
    pub fn append(&self, lines: &mut Vec<TraceLine>) {
        if lines.is_empty() {
            return;
        }
        let mut g = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        g.append(lines);
        if g.len() > MAX_LINES {
            let excess = g.len() - MAX_LINES;
            g.drain(..excess);
        }
    }

    /// The trace so far, ordered by packet then by the order lines were recorded.
    pub fn read(&self) -> Vec<TraceLine> {
        let mut v = self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone();
        v.sort_by_key(|l| l.packet);
        v
    }
}
