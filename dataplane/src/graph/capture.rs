//! Packet capture: the frames one interface receives (at `port-input`, as they arrived) or
//! sends (at `port-output`, as handed to the port: a super-frame is one record, as tcpdump
//! shows it on a GSO interface), copied into a buffer bounded in packets and bytes, read
//! out as a pcap file. Workers only test two atomics per packet while no capture runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Most packets one capture holds.
pub const MAX_CAPTURE_PACKETS: u32 = 100_000;
/// Most bytes one capture holds (pcap headers included).
pub const MAX_CAPTURE_BYTES: u64 = 16 << 20;
/// Length of the pcap file header.
const FILE_HEADER: usize = 24;
/// Length of a pcap record header.
const RECORD_HEADER: usize = 16;

/// What to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureSpec {
    /// Interface index.
    pub ifidx: u32,
    /// Received frames.
    pub rx: bool,
    /// Sent frames.
    pub tx: bool,
    /// Packets to capture (at most [`MAX_CAPTURE_PACKETS`]).
    pub packets: u32,
    /// Bytes the pcap file may take (at most [`MAX_CAPTURE_BYTES`]).
    pub bytes: u64,
    /// Bytes of each frame kept.
    pub snaplen: u32,
}

/// A capture's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaptureStatus {
    /// Whether frames are still being captured.
    pub active: bool,
    /// What the last capture was started with.
    pub spec: Option<CaptureSpec>,
    /// Packets captured.
    pub packets: u32,
    /// Size of the pcap file they make.
    pub bytes: u64,
}

#[derive(Debug, Default)]
struct Buf {
    spec: Option<CaptureSpec>,
    /// The pcap file so far (header included once started).
    pcap: Vec<u8>,
    packets: u32,
}

/// Runtime capture control and buffer.
#[derive(Debug, Default)]
pub struct CaptureCtl {
    on: AtomicBool,
    ifidx: AtomicU32,
    buf: Mutex<Buf>,
}

impl CaptureCtl {
    /// Starts a capture, discarding the previous one. The bounds are clamped to
    /// [`MAX_CAPTURE_PACKETS`] and [`MAX_CAPTURE_BYTES`].
    pub fn start(&self, mut spec: CaptureSpec) {
        spec.packets = spec.packets.min(MAX_CAPTURE_PACKETS);
        spec.bytes = spec.bytes.clamp(FILE_HEADER as u64, MAX_CAPTURE_BYTES);
        spec.snaplen = spec.snaplen.max(1);
        let mut b = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        self.on.store(false, Ordering::Release);
        b.pcap = pcap_header(spec.snaplen);
        b.packets = 0;
        b.spec = Some(spec);
        self.ifidx.store(spec.ifidx, Ordering::Relaxed);
        self.on.store(spec.packets > 0, Ordering::Release);
    }

    /// Stops capturing; what was captured stays.
    pub fn stop(&self) {
        self.on.store(false, Ordering::Release);
    }

    /// Whether a frame of interface `ifidx` may be wanted (the cheap test workers make
    /// before [`CaptureCtl::record`]).
    #[inline]
    pub fn watching(&self, ifidx: u32) -> bool {
        self.on.load(Ordering::Relaxed) && self.ifidx.load(Ordering::Relaxed) == ifidx
    }

    /// Records `frame`, received (`tx` false) or sent on the watched interface, if the
    /// capture wants that direction and its bounds allow; the capture ends at a bound.
    pub fn record(&self, frame: &[u8], tx: bool) {
        let mut b = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        let Some(spec) = b.spec else { return };
        if !self.on.load(Ordering::Acquire) || !(if tx { spec.tx } else { spec.rx }) {
            return;
        }
        let kept = frame.len().min(spec.snaplen as usize);
        if (b.pcap.len() + RECORD_HEADER + kept) as u64 > spec.bytes {
            self.on.store(false, Ordering::Release);
            return;
        }
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        for v in [
            t.as_secs() as u32,
            t.subsec_micros(),
            kept as u32,
            frame.len() as u32,
        ] {
            b.pcap.extend_from_slice(&v.to_le_bytes());
        }
        b.pcap.extend_from_slice(&frame[..kept]);
        b.packets += 1;
        if b.packets >= spec.packets {
            self.on.store(false, Ordering::Release);
        }
    }

    /// The capture's state.
    pub fn status(&self) -> CaptureStatus {
        let b = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        CaptureStatus {
            active: self.on.load(Ordering::Acquire),
            spec: b.spec,
            packets: b.packets,
            bytes: b.pcap.len() as u64,
        }
    }

    /// The capture so far as a pcap file (empty if none was started).
    pub fn pcap(&self) -> Vec<u8> {
        self.buf
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pcap
            .clone()
    }
}

/// A pcap file header (microsecond timestamps, Ethernet).
fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(FILE_HEADER);
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&snaplen.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(packets: u32, bytes: u64) -> CaptureSpec {
        CaptureSpec {
            ifidx: 2,
            rx: true,
            tx: false,
            packets,
            bytes,
            snaplen: 100,
        }
    }

    // Input: a capture of received frames for 2 packets; a sent frame, three received
    // frames (one longer than the snap length). Output: only the first two received
    // frames, the long one cut to 100 bytes with its length kept; then the capture is off.
    #[test]
    fn a_capture_keeps_its_direction_and_packet_bound() {
        let c = CaptureCtl::default();
        c.start(spec(2, 1 << 20));
        assert!(c.watching(2) && !c.watching(1));
        c.record(&[1; 60], true);
        c.record(&[2; 200], false);
        c.record(&[3; 60], false);
        c.record(&[4; 60], false);
        let st = c.status();
        assert!(!st.active);
        assert_eq!(st.packets, 2);
        let p = c.pcap();
        assert_eq!(
            p.len(),
            FILE_HEADER + RECORD_HEADER + 100 + RECORD_HEADER + 60
        );
        let rec = &p[FILE_HEADER..];
        assert_eq!(u32::from_le_bytes(rec[8..12].try_into().unwrap()), 100);
        assert_eq!(u32::from_le_bytes(rec[12..16].try_into().unwrap()), 200);
        assert_eq!(rec[16], 2);
        assert_eq!(p[FILE_HEADER + RECORD_HEADER + 100 + RECORD_HEADER], 3);
    }

    // Input: a capture bounded to 24 + 2 * (16 + 60) bytes and three 60-byte frames.
    // Output: two records; the third would pass the bound, and ends the capture.
    #[test]
    fn a_capture_stops_at_its_byte_bound() {
        let c = CaptureCtl::default();
        c.start(spec(100, (FILE_HEADER + 2 * (RECORD_HEADER + 60)) as u64));
        for _ in 0..3 {
            c.record(&[0; 60], false);
        }
        let st = c.status();
        assert_eq!((st.active, st.packets), (false, 2));
        assert_eq!(st.bytes as usize, FILE_HEADER + 2 * (RECORD_HEADER + 60));
    }
}
