//! gNOI Ping and Traceroute, sent by the vswitch itself (see [`Prober`]):
//! ICMP echo requests from the box's address in a network instance, routed
//! like any packet of the box, so a ping or a traceroute shows what the
//! dataplane does, not what the host's kernel would.
//!
//! Defaults and bounds (the request's zero values take the defaults):
//! Ping sends `count` 5 (at most 100,000; -1: until the client cancels) every
//! `interval` 1 s (-1, flood, and anything shorter: 10 ms), waits `wait` 2 s
//! (at most 60 s) after the last for answers, with `size` 56 bytes of data (at
//! most 8,972). Each echo reply is one response (`source`, `time`,
//! `sequence`, `bytes`, `ttl`), then a summary (`sent`, `received`,
//! `min/avg/max_time`, `std_dev`, `time` the whole run). Traceroute sends 3
//! probes per hop from `initial_ttl` 1 to `max_ttl` 30 (at most 255, also for
//! -1), ICMP only, and answers first with the destination, the hops and the
//! packet size, then one response per probe: the hop's address and state
//! (DEFAULT for time exceeded or the destination's reply, the unreachable
//! state by its code, NONE with address `*` when nothing came in `wait`); it
//! stops after the hop where the destination answered or was unreachable.
//! IPv6 destinations and UDP/TCP traceroute are UNIMPLEMENTED; names are not
//! resolved (INVALID_ARGUMENT).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tonic::Status;

use super::{AnswerKind, ProbeTarget, Prober, Replies};
use crate::proto::gnoi::system as sys;
use crate::proto::gnoi::types::L3Protocol;

const MAX_COUNT: i32 = 100_000;
const MIN_INTERVAL: Duration = Duration::from_millis(10);
const MAX_WAIT: Duration = Duration::from_secs(60);
const MAX_SIZE: i32 = 8972;
const PROBES_PER_HOP: u16 = 3;
/// The longest a probe loop waits without looking whether its client is gone.
const SLICE: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct PingPlan {
    pub target: ProbeTarget,
    /// None: until the client cancels.
    count: Option<u32>,
    interval: Duration,
    wait: Duration,
    size: usize,
    df: bool,
}

#[derive(Debug)]
pub struct TracePlan {
    pub target: ProbeTarget,
    first: u8,
    last: u8,
    wait: Duration,
    df: bool,
}

fn destination(text: &str, l3: i32) -> Result<Ipv4Addr, Status> {
    if l3 == L3Protocol::Ipv6 as i32 {
        return Err(Status::unimplemented("IPv6 probes are not supported yet"));
    }
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok(a),
        Ok(IpAddr::V6(_)) => Err(Status::unimplemented("IPv6 probes are not supported yet")),
        Err(_) => Err(Status::invalid_argument(format!(
            "destination {text:?} is not an IPv4 address (nectar does not resolve names)"
        ))),
    }
}

fn target(ni: &str, source: &str, dst: Ipv4Addr) -> Result<ProbeTarget, Status> {
    let source = match source {
        "" => None,
        s => Some(s.parse::<Ipv4Addr>().map_err(|_| {
            Status::invalid_argument(format!("source {s:?} is not an IPv4 address"))
        })?),
    };
    Ok(ProbeTarget {
        network_instance: ni.to_string(),
        source,
        destination: dst,
    })
}

fn wait_of(ns: i64) -> Result<Duration, Status> {
    match ns {
        0 => Ok(Duration::from_secs(2)),
        n if n < 0 => Err(Status::invalid_argument("wait must not be negative")),
        n => Ok(Duration::from_nanos(n as u64).min(MAX_WAIT)),
    }
}

pub fn ping_plan(r: &sys::PingRequest) -> Result<PingPlan, Status> {
    let dst = destination(&r.destination, r.l3protocol)?;
    let count = match r.count {
        0 => Some(5),
        -1 => None,
        n if !(-1..=MAX_COUNT).contains(&n) => {
            return Err(Status::invalid_argument(format!(
                "count {n}: 1 to {MAX_COUNT}, or -1 until cancelled"
            )));
        }
        n => Some(n as u32),
    };
    let interval = match r.interval {
        0 => Duration::from_secs(1),
        -1 => MIN_INTERVAL,
        n if n < -1 => return Err(Status::invalid_argument("interval must not be negative")),
        n => Duration::from_nanos(n as u64).max(MIN_INTERVAL),
    };
    let size = match r.size {
        0 => 56,
        n if !(0..=MAX_SIZE).contains(&n) => {
            return Err(Status::invalid_argument(format!(
                "size {n}: 1 to {MAX_SIZE} bytes"
            )));
        }
        n => n as usize,
    };
    Ok(PingPlan {
        target: target(&r.network_instance, &r.source, dst)?,
        count,
        interval,
        wait: wait_of(r.wait)?,
        size,
        df: r.do_not_fragment,
    })
}

pub fn trace_plan(r: &sys::TracerouteRequest) -> Result<TracePlan, Status> {
    let dst = destination(&r.destination, r.l3protocol)?;
    if r.l4protocol != sys::traceroute_request::L4Protocol::Icmp as i32 {
        return Err(Status::unimplemented(
            "only ICMP traceroute is supported (l4protocol ICMP)",
        ));
    }
    let first = match r.initial_ttl {
        0 => 1,
        n if n > 255 => return Err(Status::invalid_argument("initial_ttl is at most 255")),
        n => n as u8,
    };
    let last = match r.max_ttl {
        0 => 30,
        -1 => 255,
        n if !(1..=255).contains(&n) => {
            return Err(Status::invalid_argument("max_ttl: 1 to 255, or -1"));
        }
        n => n as u8,
    };
    if last < first {
        return Err(Status::invalid_argument("max_ttl is below initial_ttl"));
    }
    Ok(TracePlan {
        target: target(&r.network_instance, &r.source, dst)?,
        first,
        last,
        wait: wait_of(r.wait)?,
        df: r.do_not_fragment,
    })
}

/// Runs a blocking probe loop on a thread of its own, its responses as the
/// RPC's stream; the loop sees the stream closed when the client goes away.
pub fn run<T: Send + 'static>(
    f: impl FnOnce(mpsc::Sender<Result<T, Status>>) + Send + 'static,
) -> Replies<T> {
    let (tx, rx) = mpsc::channel(64);
    tokio::task::spawn_blocking(move || f(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// What a ping has collected.
#[derive(Debug, Default)]
struct Tally {
    answered: HashSet<u16>,
    rtts: Vec<f64>,
}

/// Takes echo replies until `until`, streaming each; false when the client
/// went away.
fn collect(
    p: &mut Box<dyn Prober>,
    until: Instant,
    last_seq: u16,
    t: &mut Tally,
    tx: &mpsc::Sender<Result<sys::PingResponse, Status>>,
) -> bool {
    loop {
        let now = Instant::now();
        if tx.is_closed() {
            return false;
        }
        if now >= until {
            return true;
        }
        let Some(a) = p.answer((until - now).min(SLICE)) else {
            continue;
        };
        if a.kind != AnswerKind::Echo || a.seq > last_seq || !t.answered.insert(a.seq) {
            continue;
        }
        let rtt = a.rtt.unwrap_or_default();
        t.rtts.push(rtt.as_nanos() as f64);
        let r = sys::PingResponse {
            source: a.from.to_string(),
            time: ns(rtt),
            bytes: i32::try_from(a.bytes).unwrap_or(i32::MAX),
            sequence: i32::from(a.seq),
            ttl: i32::from(a.ttl),
            ..Default::default()
        };
        if tx.blocking_send(Ok(r)).is_err() {
            return false;
        }
    }
}

pub fn ping(
    mut p: Box<dyn Prober>,
    plan: PingPlan,
    tx: mpsc::Sender<Result<sys::PingResponse, Status>>,
) {
    let start = Instant::now();
    let mut sent = 0u32;
    let mut t = Tally::default();
    while plan.count.is_none_or(|c| sent < c) {
        // Sequence numbers wrap past 65535 on an endless ping.
        let seq = ((sent % 65535) + 1) as u16;
        if seq == 1 {
            t.answered.clear();
        }
        if let Err(e) = p.send(seq, 64, plan.size, plan.df) {
            let _ = tx.blocking_send(Err(e.into()));
            return;
        }
        sent += 1;
        let more = plan.count.is_none_or(|c| sent < c);
        let until = Instant::now() + if more { plan.interval } else { plan.wait };
        if !collect(&mut p, until, seq, &mut t, &tx) {
            return;
        }
    }
    let received = t.rtts.len();
    let mut summary = sys::PingResponse {
        source: plan.target.destination.to_string(),
        time: ns(start.elapsed()),
        sent: i32::try_from(sent).unwrap_or(i32::MAX),
        received: i32::try_from(received).unwrap_or(i32::MAX),
        ..Default::default()
    };
    if received > 0 {
        let n = received as f64;
        let avg = t.rtts.iter().sum::<f64>() / n;
        let var = t.rtts.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / n;
        summary.min_time = t.rtts.iter().copied().fold(f64::MAX, f64::min) as i64;
        summary.max_time = t.rtts.iter().copied().fold(0.0, f64::max) as i64;
        summary.avg_time = avg as i64;
        summary.std_dev = var.sqrt() as i64;
    }
    let _ = tx.blocking_send(Ok(summary));
}

fn state_of(kind: AnswerKind) -> (sys::traceroute_response::State, i32) {
    use sys::traceroute_response::State;
    match kind {
        AnswerKind::Echo | AnswerKind::TimeExceeded => (State::Default, 0),
        AnswerKind::Unreachable(code) => (
            match code {
                0 => State::NetworkUnreachable,
                1 => State::HostUnreachable,
                2 => State::ProtocolUnreachable,
                4 => State::FragmentationNeeded,
                5 => State::SourceRouteFailed,
                9 | 10 | 13 => State::Prohibited,
                14 => State::PrecedenceViolation,
                15 => State::PrecedenceCutoff,
                _ => State::Icmp,
            },
            i32::from(code),
        ),
    }
}

pub fn traceroute(
    mut p: Box<dyn Prober>,
    plan: TracePlan,
    tx: mpsc::Sender<Result<sys::TracerouteResponse, Status>>,
) {
    const DATA: usize = 32;
    let dst = plan.target.destination;
    let head = sys::TracerouteResponse {
        destination_name: dst.to_string(),
        destination_address: dst.to_string(),
        hops: i32::from(plan.last),
        packet_size: (20 + 8 + DATA) as i32,
        ..Default::default()
    };
    if tx.blocking_send(Ok(head)).is_err() {
        return;
    }
    for ttl in plan.first..=plan.last {
        let mut end = false;
        for k in 0..PROBES_PER_HOP {
            let seq = u16::from(ttl) * 4 + k;
            if let Err(e) = p.send(seq, ttl, DATA, plan.df) {
                let _ = tx.blocking_send(Err(e.into()));
                return;
            }
            let until = Instant::now() + plan.wait;
            let mut r = sys::TracerouteResponse {
                hop: i32::from(ttl),
                address: "*".into(),
                state: sys::traceroute_response::State::None as i32,
                ..Default::default()
            };
            loop {
                let now = Instant::now();
                if now >= until || tx.is_closed() {
                    break;
                }
                let Some(a) = p.answer((until - now).min(SLICE)) else {
                    continue;
                };
                if a.seq != seq {
                    continue;
                }
                let (state, code) = state_of(a.kind);
                r.address = a.from.to_string();
                r.rtt = ns(a.rtt.unwrap_or_default());
                r.state = state as i32;
                r.icmp_code = code;
                end |= a.kind != AnswerKind::TimeExceeded;
                break;
            }
            if tx.blocking_send(Ok(r)).is_err() {
                return;
            }
        }
        if end {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_take_defaults_and_refuse_what_cannot_be_done() {
        let p = ping_plan(&sys::PingRequest {
            destination: "10.2.0.2".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (p.count, p.interval, p.wait, p.size),
            (Some(5), Duration::from_secs(1), Duration::from_secs(2), 56)
        );
        let code = |r: sys::PingRequest| ping_plan(&r).unwrap_err().code();
        let req = |f: fn(&mut sys::PingRequest)| {
            let mut r = sys::PingRequest {
                destination: "10.2.0.2".into(),
                ..Default::default()
            };
            f(&mut r);
            r
        };
        assert_eq!(
            code(req(|r| r.destination = "host.example".into())),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            code(req(|r| r.destination = "2001:db8::1".into())),
            tonic::Code::Unimplemented
        );
        assert_eq!(code(req(|r| r.count = -2)), tonic::Code::InvalidArgument);
        assert_eq!(code(req(|r| r.size = 9000)), tonic::Code::InvalidArgument);
        assert_eq!(
            code(req(|r| r.source = "x".into())),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            ping_plan(&req(|r| r.interval = -1)).unwrap().interval,
            MIN_INTERVAL
        );
        assert_eq!(ping_plan(&req(|r| r.count = -1)).unwrap().count, None);
        let t = trace_plan(&sys::TracerouteRequest {
            destination: "10.2.0.2".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((t.first, t.last), (1, 30));
        let udp = trace_plan(&sys::TracerouteRequest {
            destination: "10.2.0.2".into(),
            l4protocol: sys::traceroute_request::L4Protocol::Udp as i32,
            ..Default::default()
        });
        assert_eq!(udp.unwrap_err().code(), tonic::Code::Unimplemented);
    }
}
