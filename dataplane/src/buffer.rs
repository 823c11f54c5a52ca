//! Packet buffers and the pool they come from.
//!
//! A [`Packet`] owns one fixed-size buffer with headroom in front of the frame, so nodes can
//! push headers (a VLAN tag, an Ethernet header) without moving the payload. Buffers are taken
//! from and returned to a [`BufPool`]; the forwarding path never allocates per packet. Each
//! worker owns its own pool (no locks); a pool grows in chunks only when it runs dry, up to a
//! configured ceiling, after which allocation fails and the caller drops with "no buffers".
//!
//! Imports nothing from the rest of the crate.

/// Bytes reserved in front of a received frame for pushed headers.
pub const HEADROOM: usize = 128;
/// Largest frame a buffer holds (jumbo frames beyond this are dropped on receive).
pub const MAX_FRAME: usize = 9216;
/// Total buffer size.
pub const BUF_SIZE: usize = HEADROOM + MAX_FRAME;

/// Per-packet metadata carried through the graph (the VPP "opaque").
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta {
    /// Interface the packet arrived on.
    pub rx_if: u32,
    /// Interface the packet leaves by (set by forwarding nodes).
    pub tx_if: u32,
    /// Offset of the L3 header from the start of the data (after Ethernet and tags).
    pub l3: u16,
    /// Bridge domain index + 1 when switched (0 = not bridged).
    pub bd: u16,
    /// VRF index for routed packets.
    pub vrf: u16,
    /// Flow hash (computed once, used for ECMP).
    pub flow_hash: u32,
    /// Trace slot + 1 when this packet is traced (0 = not traced).
    pub trace: u32,
    /// Position of the packet on the current feature arc.
    pub arc_pos: u8,
    /// Next-hop address family/index chosen by the lookup node (neighbor key).
    pub nh_v4: u32,
    /// IPv6 next hop chosen by the lookup node (bytes, so `Meta` stays 4-byte aligned).
    pub nh_v6: [u8; 16],
    /// Set once the packet has been through a NAT translation.
    pub natted: bool,
    /// Set when the L3 source is the box itself (locally generated).
    pub local_origin: bool,
    /// Set by connection tracking when the packet belongs to a tracked session.
    pub ct: bool,
    /// ICMP error to generate: type << 24 | code << 16 | MTU (for "fragmentation needed").
    pub icmp: u32,
}

/// A frame in a pooled buffer: one pointer, so moving packets between node queues copies
/// 8 bytes; the buffer, its bounds and the metadata live behind it (see [`PacketBuf`]).
pub struct Packet(Box<PacketBuf>);

/// What a [`Packet`] points to: metadata, frame bounds and the bytes.
pub struct PacketBuf {
    start: usize,
    end: usize,
    /// Metadata.
    pub meta: Meta,
    buf: [u8; BUF_SIZE],
}

impl std::ops::Deref for Packet {
    type Target = PacketBuf;
    #[inline]
    fn deref(&self) -> &PacketBuf {
        &self.0
    }
}

impl std::ops::DerefMut for Packet {
    #[inline]
    fn deref_mut(&mut self) -> &mut PacketBuf {
        &mut self.0
    }
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for PacketBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("len", &self.len())
            .field("meta", &self.meta)
            .finish()
    }
}

impl PacketBuf {
    /// The frame bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The frame bytes, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// Frame length.
    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True for an empty frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Replaces the frame with `bytes` (truncated to [`MAX_FRAME`]), resetting headroom and metadata.
    pub fn set(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(MAX_FRAME);
        self.start = HEADROOM;
        self.end = HEADROOM + n;
        self.buf[HEADROOM..HEADROOM + n].copy_from_slice(&bytes[..n]);
        self.meta = Meta::default();
    }

    /// Sets the frame length to `n` bytes from the current start (the contents are whatever the
    /// buffer holds); used by ports that write straight into [`Packet::tail_room_mut`].
    pub fn set_len(&mut self, n: usize) {
        self.end = (self.start + n).min(BUF_SIZE);
    }

    /// The whole space from the data start to the end of the buffer, for receive copies.
    pub fn tail_room_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }

    /// Grows the frame at the front by `n` bytes (returns false if the headroom is exhausted).
    #[inline]
    pub fn push_front(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        true
    }

    /// Removes `n` bytes from the front of the frame.
    #[inline]
    pub fn pull_front(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Truncates the frame to `n` bytes.
    #[inline]
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.end = self.start + n;
        }
    }

    /// Grows the frame at the end by `n` zeroed bytes (false if the buffer is full).
    pub fn extend(&mut self, n: usize) -> bool {
        if self.end + n > BUF_SIZE {
            return false;
        }
        self.buf[self.end..self.end + n].fill(0);
        self.end += n;
        true
    }

    /// Inserts `n` bytes at offset `at` of the frame by moving the bytes before it forward
    /// into the headroom (cheap for small `at`, e.g. a VLAN tag after the MACs).
    pub fn insert_gap(&mut self, at: usize, n: usize) -> bool {
        if n > self.start || at > self.len() {
            return false;
        }
        let s = self.start;
        self.buf.copy_within(s..s + at, s - n);
        self.start -= n;
        true
    }

    /// Removes `n` bytes at offset `at` by moving the bytes before it back.
    pub fn remove_gap(&mut self, at: usize, n: usize) -> bool {
        if at + n > self.len() {
            return false;
        }
        let s = self.start;
        self.buf.copy_within(s..s + at, s + n);
        self.start += n;
        true
    }
}

/// A pool of packet buffers owned by one worker.
#[derive(Debug)]
pub struct BufPool {
    free: Vec<Packet>,
    allocated: usize,
    max: usize,
}

impl BufPool {
    /// Chunk by which a dry pool grows.
    const CHUNK: usize = 256;

    /// A pool with `initial` buffers preallocated, growing up to `max` buffers.
    pub fn new(initial: usize, max: usize) -> BufPool {
        let mut p = BufPool {
            free: Vec::with_capacity(max.max(initial)),
            allocated: 0,
            max: max.max(initial),
        };
        p.grow(initial);
        p
    }

    fn grow(&mut self, n: usize) {
        let n = n.min(self.max - self.allocated);
        for _ in 0..n {
            self.free.push(Packet(Box::new(PacketBuf {
                start: HEADROOM,
                end: HEADROOM,
                meta: Meta::default(),
                buf: [0; BUF_SIZE],
            })));
        }
        self.allocated += n;
    }

    /// Takes an empty buffer (data starts after the headroom, metadata cleared), or `None`
    /// when the pool is exhausted.
    #[inline]
    pub fn alloc(&mut self) -> Option<Packet> {
        if self.free.is_empty() {
            self.grow(Self::CHUNK);
        }
        let mut p = self.free.pop()?;
        p.start = HEADROOM;
        p.end = HEADROOM;
        p.meta = Meta::default();
        Some(p)
    }

    /// Takes a buffer holding a copy of `bytes`.
    pub fn alloc_from(&mut self, bytes: &[u8]) -> Option<Packet> {
        let mut p = self.alloc()?;
        p.set(bytes);
        Some(p)
    }

    /// Copies a packet (data and metadata) into a new buffer, e.g. for flooding.
    pub fn clone_packet(&mut self, src: &Packet) -> Option<Packet> {
        let mut p = self.alloc()?;
        p.start = src.start;
        p.end = src.end;
        p.buf[src.start..src.end].copy_from_slice(src.data());
        p.meta = src.meta;
        Some(p)
    }

    /// Returns a buffer to the pool.
    #[inline]
    pub fn free(&mut self, p: Packet) {
        self.free.push(p);
    }

    /// Returns every buffer of `v` to the pool, leaving `v` empty.
    pub fn free_all(&mut self, v: &mut Vec<Packet>) {
        self.free.append(v);
    }

    /// Buffers currently free in the pool.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Buffers created so far (free or in flight).
    pub fn allocated(&self) -> usize {
        self.allocated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_recycles_buffers_without_growing() {
        let mut pool = BufPool::new(4, 8);
        let a = pool.alloc_from(&[1, 2, 3]).unwrap();
        assert_eq!(a.data(), &[1, 2, 3]);
        pool.free(a);
        for _ in 0..100 {
            let p = pool.alloc().unwrap();
            pool.free(p);
        }
        assert_eq!(pool.allocated(), 4);
    }

    #[test]
    fn pool_is_bounded() {
        let mut pool = BufPool::new(2, 3);
        let v: Vec<_> = (0..3).map(|_| pool.alloc().unwrap()).collect();
        assert!(pool.alloc().is_none());
        for p in v {
            pool.free(p);
        }
        assert_eq!(pool.available(), 3);
    }

    #[test]
    fn gaps_and_headroom() {
        let mut pool = BufPool::new(1, 1);
        let mut p = pool.alloc_from(&[1, 2, 3, 4, 5, 6]).unwrap();
        assert!(p.insert_gap(2, 2));
        p.data_mut()[2] = 9;
        p.data_mut()[3] = 9;
        assert_eq!(p.data(), &[1, 2, 9, 9, 3, 4, 5, 6]);
        assert!(p.remove_gap(2, 2));
        assert_eq!(p.data(), &[1, 2, 3, 4, 5, 6]);
        assert!(p.push_front(HEADROOM));
        assert!(!p.push_front(1));
        p.pull_front(HEADROOM);
        p.truncate(2);
        assert_eq!(p.data(), &[1, 2]);
    }
}
