//! Segmentation and checksum offload: what kernel interfaces with their default settings
//! (a pod's veth: TX checksum, TSO/GSO, GRO) hand over and take back.
//!
//! A super-frame (up to 64 KiB of TCP or UDP payload behind one set of headers) travels
//! through the graph as one packet: bridging, routing, ACLs, conntrack and NAT decide once
//! for all of its segments. [`Meta::gso_size`](crate::buffer::Meta) says how many payload
//! bytes each segment on the wire carries; `csum_partial` says the transport checksum holds
//! only the pseudo-header sum. Ports that speak the kernel's virtio-net header
//! ([`VnetHdr`]: `afpacket` with `PACKET_VNET_HDR`, `tap` with `IFF_VNET_HDR`) take such
//! packets as they are; for the others the worker calls [`prepare_tx`], which segments
//! super-frames ([`segment`]: TCP and UDP, IPv4 and IPv6) and completes pending checksums
//! in software.
//!
//! Counting: interfaces count the packets a super-frame stands for on the wire (its
//! segments) and their bytes, headers repeated ([`wire`]).
//!
//! Imports only [`crate::buffer`] and [`crate::headers`].

use crate::buffer::{BufPool, Packet};
use crate::headers::checksum::{fold, pseudo_v4, pseudo_v6, sum_bytes};
use crate::headers::{ETH_P_8021Q, ETH_P_IPV4, ETH_P_IPV6, PROTO_TCP, PROTO_UDP};

/// Size of the virtio-net header (`struct virtio_net_hdr`) in front of every frame.
pub const VNET_HDR_LEN: usize = 10;
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: checksum from `csum_start` to the end, stored at
/// `csum_start + csum_offset`, is to be completed.
pub const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the receiver already verified the checksum.
pub const F_DATA_VALID: u8 = 2;
/// Not a super-frame.
pub const GSO_NONE: u8 = 0;
/// TCP over IPv4 (TSO).
pub const GSO_TCP4: u8 = 1;
/// UDP fragmentation offload (UFO): not supported, such frames are refused.
pub const GSO_UDP: u8 = 3;
/// TCP over IPv6.
pub const GSO_TCP6: u8 = 4;
/// UDP segmentation (`UDP_SEGMENT`), IPv4 or IPv6.
pub const GSO_UDP_L4: u8 = 5;
/// Flag: the TCP flow uses ECN (CWR is set on the first segment only).
pub const GSO_ECN: u8 = 0x80;

/// `struct virtio_net_hdr` (little-endian, as the kernel uses it for packet sockets and
/// TAP devices on little-endian hosts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `F_NEEDS_CSUM`, `F_DATA_VALID`.
    pub flags: u8,
    /// `GSO_*`, possibly with [`GSO_ECN`].
    pub gso_type: u8,
    /// Length of the headers (Ethernet to the end of the transport header).
    pub hdr_len: u16,
    /// Payload bytes per segment.
    pub gso_size: u16,
    /// Where checksumming starts (from the start of the frame).
    pub csum_start: u16,
    /// Where the checksum is stored, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Reads a header from the first [`VNET_HDR_LEN`] bytes of `b`.
    pub fn read(b: &[u8]) -> Option<VnetHdr> {
        let b = b.get(..VNET_HDR_LEN)?;
        let w = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: w(2),
            gso_size: w(4),
            csum_start: w(6),
            csum_offset: w(8),
        })
    }

    /// Writes the header into the first [`VNET_HDR_LEN`] bytes of `b`.
    pub fn write(&self, b: &mut [u8]) {
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_le_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_le_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_le_bytes());
    }
}

/// Where the headers of a TCP or UDP frame are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the IP header.
    pub l3: usize,
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// Offset of the transport header.
    pub l4: usize,
    /// `PROTO_TCP` or `PROTO_UDP`.
    pub proto: u8,
    /// Length of the transport header.
    pub l4_len: usize,
}

impl Layout {
    /// Length of all headers (Ethernet to the end of the transport header).
    pub fn headers(&self) -> usize {
        self.l4 + self.l4_len
    }

    /// Offset of the transport checksum from the transport header.
    pub fn csum_offset(&self) -> usize {
        if self.proto == PROTO_TCP { 16 } else { 6 }
    }
}

#[inline]
fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

/// Finds the headers of an Ethernet frame carrying TCP or UDP over IPv4 or IPv6 (behind up
/// to two VLAN tags; IPv6 extension headers hop-by-hop, routing and destination options).
/// `None` for anything else, including IP fragments.
pub fn layout(f: &[u8]) -> Option<Layout> {
    let mut off = 12;
    let mut et = be16(f.get(..14)?, 12);
    let mut tags = 0;
    while (et == ETH_P_8021Q || et == 0x88a8) && tags < 2 {
        et = be16(f.get(..off + 6)?, off + 4);
        off += 4;
        tags += 1;
    }
    let l3 = off + 2;
    let ip = f.get(l3..)?;
    let (v6, mut proto, mut l4) = match et {
        ETH_P_IPV4 => {
            if ip.len() < 20 || ip[0] >> 4 != 4 {
                return None;
            }
            let hl = ((ip[0] & 0x0f) as usize) * 4;
            if hl < 20 || be16(ip, 6) & 0x3fff != 0 {
                return None;
            }
            (false, ip[9], l3 + hl)
        }
        ETH_P_IPV6 => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return None;
            }
            (true, ip[6], l3 + 40)
        }
        _ => return None,
    };
    if v6 {
        // Hop-by-hop, routing, destination options: skip; fragment or others: give up.
        let mut n = 0;
        while matches!(proto, 0 | 43 | 60) && n < 8 {
            let h = f.get(l4..l4 + 2)?;
            proto = h[0];
            l4 += (h[1] as usize + 1) * 8;
            n += 1;
        }
    }
    let l4_len = match proto {
        PROTO_TCP => {
            let t = f.get(l4..l4 + 20)?;
            let doff = ((t[12] >> 4) as usize) * 4;
            if doff < 20 {
                return None;
            }
            doff
        }
        PROTO_UDP => 8,
        _ => return None,
    };
    if f.len() < l4 + l4_len {
        return None;
    }
    Some(Layout {
        l3,
        v6,
        l4,
        proto,
        l4_len,
    })
}

/// Adds the bytes of `data` to a ones'-complement sum, eight at a time.
fn sum_fast(sum: u32, data: &[u8]) -> u32 {
    let mut acc: u64 = sum as u64;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc = acc.wrapping_add(w >> 32).wrapping_add(w & 0xffff_ffff);
    }
    let rest = sum_bytes(0, chunks.remainder()) as u64;
    acc = acc.wrapping_add(rest);
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    let mut s = acc as u32;
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s
}

/// The pseudo-header sum of the transport segment of `f` laid out as `l`, for a transport
/// length `len`.
fn pseudo(f: &[u8], l: &Layout, len: usize) -> u32 {
    let ip = &f[l.l3..];
    if l.v6 {
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s.copy_from_slice(&ip[8..24]);
        d.copy_from_slice(&ip[24..40]);
        pseudo_v6(s, d, l.proto, len as u32)
    } else {
        pseudo_v4(
            [ip[12], ip[13], ip[14], ip[15]],
            [ip[16], ip[17], ip[18], ip[19]],
            l.proto,
            len as u16,
        )
    }
}

/// Writes the complete transport checksum of the frame `f` laid out as `l` (the transport
/// segment runs to the end of `f`).
fn write_full_checksum(f: &mut [u8], l: &Layout) {
    let at = l.l4 + l.csum_offset();
    f[at..at + 2].fill(0);
    let len = f.len() - l.l4;
    let mut c = fold(sum_fast(pseudo(f, l, len), &f[l.l4..]));
    if l.proto == PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    f[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// Fixes the IP length fields of a frame laid out as `l` to its length, and the IPv4
/// header checksum.
fn fix_ip_lengths(f: &mut [u8], l: &Layout) {
    let total = f.len() - l.l3;
    let ip = &mut f[l.l3..];
    if l.v6 {
        ip[4..6].copy_from_slice(&((total - 40) as u16).to_be_bytes());
    } else {
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        let hl = ((ip[0] & 0x0f) as usize) * 4;
        ip[10..12].fill(0);
        let c = crate::headers::checksum(&ip[..hl]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    }
    if l.proto == PROTO_UDP {
        let ulen = (f.len() - l.l4) as u16;
        f[l.l4 + 4..l.l4 + 6].copy_from_slice(&ulen.to_be_bytes());
    }
}

/// Why a received frame's offload header cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadError {
    /// A super-frame kind nectar does not segment (UFO) or headers it cannot find.
    Unsupported,
}

/// Takes the virtio-net header `h` a kernel interface gave with the frame in `p` into the
/// packet's metadata: a super-frame keeps its segment size and a pending checksum; a
/// pending checksum that is not a TCP or UDP one nectar can find again is completed now.
pub fn from_vnet(p: &mut Packet, h: &VnetHdr) -> Result<(), OffloadError> {
    let gso = h.gso_type & !GSO_ECN;
    let partial = h.flags & F_NEEDS_CSUM != 0;
    if gso == GSO_NONE && !partial {
        return Ok(());
    }
    let l = layout(p.data());
    if gso != GSO_NONE {
        let Some(l) = l else {
            return Err(OffloadError::Unsupported);
        };
        let ok = match gso {
            GSO_TCP4 => !l.v6 && l.proto == PROTO_TCP,
            GSO_TCP6 => l.v6 && l.proto == PROTO_TCP,
            GSO_UDP_L4 => l.proto == PROTO_UDP,
            _ => false,
        };
        if !ok || h.gso_size == 0 {
            return Err(OffloadError::Unsupported);
        }
        p.meta.gso_size = h.gso_size;
        p.meta.gso_type = h.gso_type;
        if p.len() <= l.headers() + h.gso_size as usize {
            // One segment's worth: an ordinary frame after all.
            p.meta.gso_size = 0;
            p.meta.gso_type = GSO_NONE;
        }
    }
    if gso != GSO_NONE && !partial {
        // Segments get their checksums from the pseudo-header sum: put it there.
        p.meta.csum_partial = true;
        refresh_pseudo(p);
        return Ok(());
    }
    if partial {
        match l {
            Some(l)
                if h.csum_start as usize == l.l4 && h.csum_offset as usize == l.csum_offset() =>
            {
                p.meta.csum_partial = true;
            }
            _ if gso != GSO_NONE => return Err(OffloadError::Unsupported),
            _ => {
                // Some other checksum (another transport, a tunnel): complete it as asked.
                let (s, o) = (h.csum_start as usize, h.csum_offset as usize);
                let d = p.data_mut();
                if s + o + 2 > d.len() {
                    return Err(OffloadError::Unsupported);
                }
                let c = fold(sum_fast(0, &d[s..]));
                d[s + o..s + o + 2].copy_from_slice(&c.to_be_bytes());
            }
        }
    }
    Ok(())
}

/// The virtio-net header that hands `p` to a kernel interface as it is (a super-frame
/// unsegmented, a pending checksum pending).
pub fn to_vnet(p: &Packet) -> VnetHdr {
    let m = &p.meta;
    if m.gso_size == 0 && !m.csum_partial {
        return VnetHdr::default();
    }
    let Some(l) = layout(p.data()) else {
        return VnetHdr::default();
    };
    let mut h = VnetHdr {
        hdr_len: l.headers() as u16,
        ..VnetHdr::default()
    };
    if m.csum_partial || m.gso_size != 0 {
        h.flags = F_NEEDS_CSUM;
        h.csum_start = l.l4 as u16;
        h.csum_offset = l.csum_offset() as u16;
    }
    if m.gso_size != 0 {
        h.gso_type = m.gso_type;
        h.gso_size = m.gso_size;
    }
    h
}

/// Completes a pending transport checksum in software (before a rewrite that needs the
/// real one, or for a port that cannot). A super-frame is left alone (its segments get
/// theirs when it is segmented).
pub fn complete_checksum(p: &mut Packet) {
    if !p.meta.csum_partial || p.meta.gso_size != 0 {
        return;
    }
    p.meta.csum_partial = false;
    if let Some(l) = layout(p.data()) {
        let d = p.data_mut();
        let end = if l.v6 {
            l.l3 + 40 + be16(d, l.l3 + 4) as usize
        } else {
            l.l3 + be16(d, l.l3 + 2) as usize
        };
        let end = end.min(d.len());
        if end >= l.headers() {
            write_full_checksum(&mut d[..end], &l);
        }
    }
}

/// How many packets and bytes `p` puts on the wire: one frame, or for a super-frame its
/// segments, each with the headers.
#[inline]
pub fn wire(p: &Packet) -> (u64, u64) {
    if p.meta.gso_size == 0 {
        return (1, p.len() as u64);
    }
    match layout(p.data()) {
        Some(l) => {
            let payload = p.len().saturating_sub(l.headers());
            let segs = payload.div_ceil(p.meta.gso_size as usize).max(1);
            (segs as u64, (p.len() + (segs - 1) * l.headers()) as u64)
        }
        None => (1, p.len() as u64),
    }
}

/// The largest IP datagram `p` puts on the wire from `l3` on (its own, or for a
/// super-frame the headers plus one segment), for MTU checks.
#[inline]
pub fn wire_l3_len(p: &Packet, l3: usize) -> usize {
    if p.meta.gso_size == 0 {
        return p.len().saturating_sub(l3);
    }
    match layout(p.data()) {
        Some(l) => (l.headers() + p.meta.gso_size as usize)
            .min(p.len())
            .saturating_sub(l3),
        None => p.len().saturating_sub(l3),
    }
}

/// Splits the super-frame `p` into the frames it stands for, appended to `out`, each with
/// its own IP lengths, IPv4 identification and header checksum, TCP sequence number and
/// flags (FIN and PSH only on the last, CWR only on the first) or UDP length, and a
/// complete transport checksum. `p`'s buffer goes back to `pool`. False (and nothing
/// appended) when buffers run out or the headers cannot be found.
pub fn segment(p: Packet, pool: &mut BufPool, out: &mut Vec<Packet>) -> bool {
    let mss = p.meta.gso_size as usize;
    let Some(l) = layout(p.data()) else {
        pool.free(p);
        return false;
    };
    let d = p.data();
    let hdrs = l.headers();
    let payload = d.len().saturating_sub(hdrs);
    if mss == 0 || payload == 0 {
        pool.free(p);
        return false;
    }
    let start = out.len();
    let tcp = l.proto == PROTO_TCP;
    let seq0 = if tcp {
        u32::from_be_bytes([d[l.l4 + 4], d[l.l4 + 5], d[l.l4 + 6], d[l.l4 + 7]])
    } else {
        0
    };
    let id0 = if l.v6 { 0 } else { be16(d, l.l3 + 4) };
    let flags0 = if tcp { d[l.l4 + 13] } else { 0 };
    let mut off = 0;
    let mut k: u16 = 0;
    while off < payload {
        let n = mss.min(payload - off);
        let Some(mut q) = pool.alloc_for(hdrs + n) else {
            let mut v = out.split_off(start);
            pool.free_all(&mut v);
            pool.free(p);
            return false;
        };
        q.set_len(hdrs + n);
        let b = q.data_mut();
        b[..hdrs].copy_from_slice(&d[..hdrs]);
        b[hdrs..].copy_from_slice(&d[hdrs + off..hdrs + off + n]);
        if !l.v6 {
            b[l.l3 + 4..l.l3 + 6].copy_from_slice(&id0.wrapping_add(k).to_be_bytes());
        }
        if tcp {
            let seq = seq0.wrapping_add(off as u32);
            b[l.l4 + 4..l.l4 + 8].copy_from_slice(&seq.to_be_bytes());
            let last = off + n == payload;
            let mut fl = flags0;
            if !last {
                fl &= !(0x01 | 0x08); // FIN, PSH
            }
            if k != 0 {
                fl &= !0x80; // CWR
            }
            b[l.l4 + 13] = fl;
        }
        fix_ip_lengths(b, &l);
        write_full_checksum(b, &l);
        q.meta = p.meta;
        q.meta.gso_size = 0;
        q.meta.gso_type = GSO_NONE;
        q.meta.csum_partial = false;
        out.push(q);
        off += n;
        k = k.wrapping_add(1);
    }
    pool.free(p);
    true
}

/// Makes the packets of `q` fit a port that takes neither super-frames nor pending
/// checksums: segments the former and completes the latter. Returns the super-frames that
/// could not be segmented (dropped).
pub fn prepare_tx(q: &mut Vec<Packet>, pool: &mut BufPool, scratch: &mut Vec<Packet>) -> usize {
    if q.iter()
        .all(|p| p.meta.gso_size == 0 && !p.meta.csum_partial)
    {
        return 0;
    }
    let mut dropped = 0;
    scratch.clear();
    for mut p in q.drain(..) {
        if p.meta.gso_size != 0 {
            if !segment(p, pool, scratch) {
                dropped += 1;
            }
        } else {
            complete_checksum(&mut p);
            scratch.push(p);
        }
    }
    std::mem::swap(q, scratch);
    dropped
}

/// Marks `p` as carrying a pending checksum (`csum_partial`) when its TCP or UDP checksum
/// field holds exactly the pseudo-header sum, which is what a kernel sender with checksum
/// offload leaves there, for ports that receive from a kernel interface without the
/// virtio-net header (DPDK's net_af_packet and net_tap). A complete checksum that happens
/// to equal it (about one in 65,536) is harmless: completing it gives the same value.
pub fn detect_partial(p: &mut Packet) {
    let d = p.data();
    let Some(l) = layout(d) else { return };
    let at = l.l4 + l.csum_offset();
    let field = be16(d, at);
    if l.proto == PROTO_UDP && field == 0 {
        return;
    }
    let end = if l.v6 {
        l.l3 + 40 + be16(d, l.l3 + 4) as usize
    } else {
        l.l3 + be16(d, l.l3 + 2) as usize
    };
    if end > d.len() || end < l.l4 {
        return;
    }
    if field == !fold(pseudo(d, &l, end - l.l4)) {
        p.meta.csum_partial = true;
    }
}

/// Recomputes the pseudo-header sum a packet with a pending checksum (`csum_partial`)
/// carries in its transport checksum field, after its addresses changed (NAT): such a
/// field is not updated like a complete checksum, and port changes do not touch it.
pub fn refresh_pseudo(p: &mut Packet) {
    if let Some(l) = layout(p.data()) {
        refresh_pseudo_ip(&mut p.data_mut()[l.l3..]);
    }
}

/// [`refresh_pseudo`] on the IPv4 or IPv6 packet at the start of `ip` (TCP or UDP right
/// after a header without extensions).
pub fn refresh_pseudo_ip(ip: &mut [u8]) {
    let (proto, l4, len, s) = match ip.first().map(|v| v >> 4) {
        Some(4) if ip.len() >= 20 => {
            let hl = ((ip[0] & 0x0f) as usize) * 4;
            let total = be16(ip, 2) as usize;
            if total < hl {
                return;
            }
            let len = total - hl;
            let s = pseudo_v4(
                [ip[12], ip[13], ip[14], ip[15]],
                [ip[16], ip[17], ip[18], ip[19]],
                ip[9],
                len as u16,
            );
            (ip[9], hl, len, s)
        }
        Some(6) if ip.len() >= 40 => {
            let mut a = [0u8; 16];
            let mut b = [0u8; 16];
            a.copy_from_slice(&ip[8..24]);
            b.copy_from_slice(&ip[24..40]);
            let len = be16(ip, 4) as usize;
            (ip[6], 40, len, pseudo_v6(a, b, ip[6], len as u32))
        }
        _ => return,
    };
    let at = match proto {
        PROTO_TCP => l4 + 16,
        PROTO_UDP => l4 + 6,
        _ => return,
    };
    if len == 0 || ip.len() < at + 2 {
        return;
    }
    // The field holds the folded sum itself, not its complement.
    let c = !fold(s);
    ip[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::{Builder, TCP_ACK, checksum, fix_l4_checksum};
    use crate::types::Mac;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const M: Mac = Mac([2, 0, 0, 0, 0, 1]);

    fn pool() -> BufPool {
        BufPool::new(64, 4096)
    }

    fn tcp4_super(payload: &[u8]) -> Vec<u8> {
        let mut f = Builder::eth(M, M)
            .ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 1, 1))
            .tcp(40000, 5201, TCP_ACK | 0x08 | 0x01)
            .payload(payload)
            .build();
        // Leave only the pseudo-header sum in the checksum, as a sender with TX checksum
        // offload does.
        let l = layout(&f).unwrap();
        let len = f.len() - l.l4;
        let c = !fold(pseudo(&f, &l, len));
        f[l.l4 + 16..l.l4 + 18].copy_from_slice(&c.to_be_bytes());
        f
    }

    #[test]
    fn vnet_header_round_trips() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCP6 | GSO_ECN,
            hdr_len: 74,
            gso_size: 1428,
            csum_start: 54,
            csum_offset: 16,
        };
        let mut b = [0u8; VNET_HDR_LEN];
        h.write(&mut b);
        assert_eq!(VnetHdr::read(&b), Some(h));
    }

    #[test]
    fn tcp4_super_frame_segments_into_valid_frames_carrying_the_payload() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let f = tcp4_super(&payload);
        let mut pool = pool();
        let mut p = pool.alloc_from(&f).unwrap();
        let l = layout(p.data()).unwrap();
        from_vnet(
            &mut p,
            &VnetHdr {
                flags: F_NEEDS_CSUM,
                gso_type: GSO_TCP4,
                hdr_len: l.headers() as u16,
                gso_size: 1448,
                csum_start: l.l4 as u16,
                csum_offset: 16,
            },
        )
        .unwrap();
        assert!(p.meta.csum_partial);
        assert_eq!(wire(&p), (7, (f.len() + 6 * 54) as u64));
        assert_eq!(wire_l3_len(&p, 14), 20 + 20 + 1448);
        let mut out = Vec::new();
        assert!(segment(p, &mut pool, &mut out));
        assert_eq!(out.len(), 7);
        let mut got = Vec::new();
        for (k, s) in out.iter().enumerate() {
            let d = s.data();
            let ip = &d[14..];
            assert_eq!(checksum(&ip[..20]), 0, "ip checksum of segment {k}");
            assert_eq!(be16(ip, 2) as usize, d.len() - 14);
            assert_eq!(be16(ip, 4), k as u16);
            let mut copy = d.to_vec();
            fix_l4_checksum(&mut copy[14..]);
            assert_eq!(copy, d, "tcp checksum of segment {k}");
            let seq = u32::from_be_bytes([ip[24], ip[25], ip[26], ip[27]]);
            let seq0 = u32::from_be_bytes([f[38], f[39], f[40], f[41]]);
            assert_eq!(seq.wrapping_sub(seq0) as usize, got.len());
            let flags = ip[33];
            assert_eq!(flags & 0x09 != 0, k == 6, "FIN/PSH only on the last");
            got.extend_from_slice(&d[54..]);
        }
        assert_eq!(got, payload);
    }

    #[test]
    fn udp6_super_frame_segments_with_lengths_and_checksums() {
        let payload = vec![0x5a; 3000];
        let mut f = Builder::eth(M, M)
            .ipv6(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED)
            .udp(1, 2)
            .payload(&payload)
            .build();
        let l = layout(&f).unwrap();
        assert!(l.v6);
        let c = !fold(pseudo(&f, &l, f.len() - l.l4));
        f[l.l4 + 6..l.l4 + 8].copy_from_slice(&c.to_be_bytes());
        let mut pool = pool();
        let mut p = pool.alloc_from(&f).unwrap();
        p.meta.gso_size = 1200;
        p.meta.gso_type = GSO_UDP_L4;
        p.meta.csum_partial = true;
        let mut out = Vec::new();
        assert!(segment(p, &mut pool, &mut out));
        assert_eq!(
            out.iter().map(|s| s.len() - 62).collect::<Vec<_>>(),
            [1200, 1200, 600]
        );
        for s in &out {
            let d = s.data();
            assert_eq!(be16(d, 18) as usize, d.len() - 54);
            assert_eq!(be16(d, 58) as usize, d.len() - 54);
            let mut copy = d.to_vec();
            fix_l4_checksum(&mut copy[14..]);
            assert_eq!(copy, d);
        }
    }

    #[test]
    fn partial_checksum_completes_to_the_real_one() {
        let f = tcp4_super(b"hello world");
        let mut pool = pool();
        let mut p = pool.alloc_from(&f).unwrap();
        p.meta.csum_partial = true;
        complete_checksum(&mut p);
        let mut want = f.clone();
        fix_l4_checksum(&mut want[14..]);
        assert_eq!(p.data(), &want[..]);
        assert!(!p.meta.csum_partial);
    }

    #[test]
    fn pseudo_sum_refresh_after_address_rewrite_still_segments_correctly() {
        let payload = vec![1u8; 4000];
        let f = tcp4_super(&payload);
        let mut pool = pool();
        let mut p = pool.alloc_from(&f).unwrap();
        p.meta.gso_size = 1000;
        p.meta.gso_type = GSO_TCP4;
        p.meta.csum_partial = true;
        p.data_mut()[26..30].copy_from_slice(&[192, 0, 2, 9]);
        refresh_pseudo(&mut p);
        let mut out = Vec::new();
        assert!(segment(p, &mut pool, &mut out));
        for s in &out {
            let mut copy = s.data().to_vec();
            fix_l4_checksum(&mut copy[14..]);
            assert_eq!(copy, s.data());
        }
    }

    #[test]
    fn a_pseudo_header_sum_in_the_checksum_is_recognised_as_pending() {
        let f = tcp4_super(b"abc");
        let mut pool = pool();
        let mut p = pool.alloc_from(&f).unwrap();
        detect_partial(&mut p);
        assert!(p.meta.csum_partial);
        let mut done = f.clone();
        fix_l4_checksum(&mut done[14..]);
        let mut q = pool.alloc_from(&done).unwrap();
        detect_partial(&mut q);
        assert!(!q.meta.csum_partial, "a complete checksum stays as it is");
    }

    #[test]
    fn unsupported_offloads_are_refused() {
        let f = tcp4_super(&[0; 100]);
        let mut pool = pool();
        let mut p = pool.alloc_from(&f).unwrap();
        let h = VnetHdr {
            gso_type: GSO_UDP,
            gso_size: 10,
            ..VnetHdr::default()
        };
        assert_eq!(from_vnet(&mut p, &h), Err(OffloadError::Unsupported));
    }
}
