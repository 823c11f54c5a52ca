//! Probes the box itself sends (gNOI Ping and Traceroute): ICMP echo requests
//! from one of the box's addresses in a VRF, which worker 0 sends through
//! `ip4-lookup` as locally originated packets (so they take the VRF's routes,
//! neighbors and output features like any packet of the box), and the ICMP
//! answers to them (echo reply, time exceeded, destination unreachable, the
//! last two quoting the request) which `ip4-local` hands back to the probe
//! session that sent it, found by the ICMP identifier.
//!
//! A session is bounded: at most [`MAX_SESSIONS`] at once, its answers in a
//! channel of [`MAX_ANSWERS`] (further answers are dropped until it reads).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::headers::{
    ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED, checksum,
};
use crate::shared::Runtime;

/// Probe sessions open at once.
pub const MAX_SESSIONS: usize = 64;
/// Answers waiting to be read, per session.
pub const MAX_ANSWERS: usize = 1024;
/// Probes waiting for worker 0 (over all sessions).
const MAX_QUEUED: usize = 4096;
/// The largest ICMP payload of a probe.
pub const MAX_PAYLOAD: usize = 8972;
/// Room for the Ethernet header `ip4-rewrite` writes in front of the IPv4 header.
const ETH: usize = 14;

/// What answered a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// The destination: an echo reply.
    Echo,
    /// A router on the way: time exceeded in transit.
    TimeExceeded,
    /// Destination unreachable, with its code.
    Unreachable(u8),
}

/// One answer to a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The probe's sequence number.
    pub seq: u16,
    /// Who answered.
    pub from: Ipv4Addr,
    pub kind: AnswerKind,
    /// TTL of the answer as it arrived.
    pub ttl: u8,
    /// ICMP bytes of the answer.
    pub bytes: usize,
    /// From the probe leaving the worker to the answer reaching `ip4-local`.
    pub rtt: Option<Duration>,
}

#[derive(Debug)]
struct Outgoing {
    vrf: u16,
    frame: Vec<u8>,
    id: u16,
    seq: u16,
}

#[derive(Debug)]
struct Open {
    tx: SyncSender<Answer>,
    /// Send time (dataplane clock, ns) of each probe, by sequence number.
    sent: HashMap<u16, u64>,
}

/// The probe sessions of a dataplane, shared by the control side and the
/// workers.
#[derive(Debug, Default)]
pub struct Probes {
    queue: Mutex<Vec<Outgoing>>,
    queued: AtomicBool,
    open: Mutex<HashMap<u16, Open>>,
    /// Sessions open: `ip4-local` looks at ICMP answers only when some are.
    active: AtomicUsize,
    next_id: AtomicU16,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Probes {
    /// True when a session is open (cheap: for the packet path).
    #[inline]
    pub fn any_open(&self) -> bool {
        self.active.load(Ordering::Relaxed) != 0
    }

    /// Takes the probes waiting to be sent (worker 0).
    pub(crate) fn take(&self) -> Vec<(u16, Vec<u8>, u16, u16)> {
        if !self.queued.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *lock(&self.queue))
            .into_iter()
            .map(|o| (o.vrf, o.frame, o.id, o.seq))
            .collect()
    }

    /// A probe left the worker at `now`.
    pub(crate) fn sent(&self, id: u16, seq: u16, now: u64) {
        if let Some(o) = lock(&self.open).get_mut(&id) {
            if o.sent.len() >= usize::from(u16::MAX) {
                o.sent.clear();
            }
            o.sent.insert(seq, now);
        }
    }

    /// Hands an ICMP message for the box (`ip`: its IPv4 header and what
    /// follows) to the session it answers; true when it was one.
    pub(crate) fn deliver(&self, ip: &[u8], now: u64) -> bool {
        let Some((id, mut a)) = parse_answer(ip) else {
            return false;
        };
        let mut open = lock(&self.open);
        let Some(o) = open.get_mut(&id) else {
            return false;
        };
        a.rtt = o
            .sent
            .get(&a.seq)
            .map(|&t| Duration::from_nanos(now.saturating_sub(t)));
        let _ = o.tx.try_send(a);
        true
    }
}

/// The identifier and answer an ICMP message for the box carries, if it
/// answers an echo request (an echo reply, or an error quoting one).
fn parse_answer(ip: &[u8]) -> Option<(u16, Answer)> {
    let hl = usize::from(ip.first()? & 0x0f) * 4;
    let icmp = ip.get(hl..)?;
    if icmp.len() < 8 {
        return None;
    }
    let from = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let answer = |kind, id_seq: &[u8]| {
        let id = u16::from_be_bytes([id_seq[0], id_seq[1]]);
        let seq = u16::from_be_bytes([id_seq[2], id_seq[3]]);
        Some((
            id,
            Answer {
                seq,
                from,
                kind,
                ttl: ip[8],
                bytes: icmp.len(),
                rtt: None,
            },
        ))
    };
    match icmp[0] {
        ICMP_ECHO_REPLY => answer(AnswerKind::Echo, &icmp[4..8]),
        t @ (ICMP_TIME_EXCEEDED | ICMP_DEST_UNREACH) => {
            // The quoted request: its IPv4 header and the first 8 bytes of its ICMP.
            let inner = icmp.get(8..)?;
            let ihl = usize::from(inner.first()? & 0x0f) * 4;
            let q = inner.get(ihl..ihl + 8)?;
            if inner.get(9) != Some(&1) || q[0] != ICMP_ECHO_REQUEST {
                return None;
            }
            let kind = if t == ICMP_TIME_EXCEEDED {
                AnswerKind::TimeExceeded
            } else {
                AnswerKind::Unreachable(icmp[1])
            };
            answer(kind, &q[4..8])
        }
        _ => None,
    }
}

/// One probe session: its own ICMP identifier, the probes it sends and the
/// answers to them. Dropping it closes it.
#[derive(Debug)]
pub struct ProbeSession {
    sh: Arc<Runtime>,
    id: u16,
    vrf: u16,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    rx: Receiver<Answer>,
}

/// Why a session cannot open or a probe cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("{MAX_SESSIONS} probe sessions are open: try again when one ends")]
    TooMany,
    #[error("probes waiting to be sent are at their bound ({MAX_QUEUED})")]
    Busy,
    #[error("the payload is {0} bytes; at most {MAX_PAYLOAD}")]
    TooBig(usize),
    #[error("no VRF {0:?}")]
    UnknownVrf(String),
    #[error("{0} is not an address of the box in this VRF")]
    NotOurs(Ipv4Addr),
    #[error("no route to {0} in this VRF to choose a source address by")]
    NoRoute(Ipv4Addr),
}

impl ProbeSession {
    pub(crate) fn open(
        sh: Arc<Runtime>,
        vrf: u16,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) -> Result<ProbeSession, ProbeError> {
        let (tx, rx) = sync_channel(MAX_ANSWERS);
        let id = {
            let mut open = lock(&sh.probes.open);
            if open.len() >= MAX_SESSIONS {
                return Err(ProbeError::TooMany);
            }
            let mut id = sh.probes.next_id.fetch_add(1, Ordering::Relaxed);
            while open.contains_key(&id) {
                id = sh.probes.next_id.fetch_add(1, Ordering::Relaxed);
            }
            open.insert(
                id,
                Open {
                    tx,
                    sent: HashMap::new(),
                },
            );
            sh.probes.active.store(open.len(), Ordering::Relaxed);
            id
        };
        Ok(ProbeSession {
            sh,
            id,
            vrf,
            src,
            dst,
            rx,
        })
    }

    /// The address probes leave from.
    pub fn source(&self) -> Ipv4Addr {
        self.src
    }

    /// Sends echo request `seq` with `ttl` and `payload` bytes of data.
    pub fn send(&self, seq: u16, ttl: u8, payload: usize, df: bool) -> Result<(), ProbeError> {
        if payload > MAX_PAYLOAD {
            return Err(ProbeError::TooBig(payload));
        }
        let frame = echo_request(self.src, self.dst, self.id, seq, ttl, payload, df);
        let mut q = lock(&self.sh.probes.queue);
        if q.len() >= MAX_QUEUED {
            return Err(ProbeError::Busy);
        }
        q.push(Outgoing {
            vrf: self.vrf,
            frame,
            id: self.id,
            seq,
        });
        self.sh.probes.queued.store(true, Ordering::Release);
        Ok(())
    }

    /// The next answer, waiting at most `timeout`.
    pub fn answer(&self, timeout: Duration) -> Option<Answer> {
        self.rx.recv_timeout(timeout).ok()
    }
}

impl Drop for ProbeSession {
    fn drop(&mut self) {
        let mut open = lock(&self.sh.probes.open);
        open.remove(&self.id);
        self.sh.probes.active.store(open.len(), Ordering::Relaxed);
    }
}

/// An Ethernet placeholder and an IPv4 ICMP echo request.
fn echo_request(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    seq: u16,
    ttl: u8,
    payload: usize,
    df: bool,
) -> Vec<u8> {
    let icmp_len = 8 + payload;
    let total = 20 + icmp_len;
    let mut f = vec![0u8; ETH + total];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[ETH..];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&seq.to_be_bytes());
    if df {
        ip[6] = 0x40;
    }
    ip[8] = ttl;
    ip[9] = 1;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let icmp = &mut ip[20..];
    icmp[0] = ICMP_ECHO_REQUEST;
    icmp[4..6].copy_from_slice(&id.to_be_bytes());
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in icmp[8..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let c = checksum(icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_matched_to_their_request() {
        let src = Ipv4Addr::new(10, 1, 0, 1);
        let dst = Ipv4Addr::new(10, 2, 0, 2);
        let f = echo_request(src, dst, 7, 3, 64, 56, true);
        let ip = &f[ETH..];
        assert_eq!(checksum(&ip[..20]), 0);
        assert_eq!(checksum(&ip[20..]), 0);
        assert_eq!(ip[6], 0x40);
        // The echo reply the destination sends back.
        let mut reply = ip.to_vec();
        reply[12..16].copy_from_slice(&dst.octets());
        reply[16..20].copy_from_slice(&src.octets());
        reply[20] = ICMP_ECHO_REPLY;
        let (id, a) = parse_answer(&reply).unwrap();
        assert_eq!(
            (id, a.seq, a.from, a.kind, a.bytes),
            (7, 3, dst, AnswerKind::Echo, 64)
        );
        // A router's time exceeded, quoting the request.
        let router = Ipv4Addr::new(10, 9, 9, 9);
        let mut te = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 250, 1, 0, 0];
        te.extend_from_slice(&router.octets());
        te.extend_from_slice(&src.octets());
        te.extend_from_slice(&[ICMP_TIME_EXCEEDED, 0, 0, 0, 0, 0, 0, 0]);
        te.extend_from_slice(&ip[..28]);
        let (id, a) = parse_answer(&te).unwrap();
        assert_eq!(
            (id, a.seq, a.from, a.kind, a.ttl),
            (7, 3, router, AnswerKind::TimeExceeded, 250)
        );
        // Unreachable with its code; other messages and short ones are not answers.
        te[20] = ICMP_DEST_UNREACH;
        te[21] = 1;
        assert_eq!(
            parse_answer(&te).unwrap().1.kind,
            AnswerKind::Unreachable(1)
        );
        te[20] = 5;
        assert!(parse_answer(&te).is_none());
        assert!(parse_answer(&te[..30]).is_none());
        assert!(parse_answer(&[]).is_none());
    }
}
