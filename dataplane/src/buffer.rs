//! Packet buffers and the pool they come from.
//!
//! A [`Packet`] owns one fixed-size buffer with headroom in front of the frame, so nodes can
//! push headers (a VLAN tag, an Ethernet header) without moving the payload. Buffers are taken
//! from and returned to a [`BufPool`]; the forwarding path never allocates per packet. Each
//! worker owns its own pool (no locks); a pool grows in chunks only when it runs dry, up to a
//! configured ceiling, after which allocation fails and the caller drops with "no buffers".
//! Buffers come in two sizes: ordinary ones for frames up to [`MAX_FRAME`] (jumbo frames
//! included), and big ones for the TSO/GSO super-frames (up to 64 KiB of IP) that kernel
//! interfaces with their default offloads hand over and take back unsegmented.
//!
//! Imports nothing from the rest of the crate.

/// Bytes reserved in front of a received frame for pushed headers.
pub const HEADROOM: usize = 128;
/// Largest frame an ordinary buffer holds (jumbo frames beyond this are dropped on receive).
pub const MAX_FRAME: usize = 9216;
/// Total size of an ordinary buffer.
pub const BUF_SIZE: usize = HEADROOM + MAX_FRAME;
/// Largest super-frame a big buffer holds: 64 KiB of IP behind an Ethernet header with up
/// to two VLAN tags.
pub const MAX_SUPER_FRAME: usize = 65_535 + 22;
/// Total size of a big buffer.
pub const BIG_BUF_SIZE: usize = HEADROOM + MAX_SUPER_FRAME;

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
    /// Payload bytes per segment of a TSO/GSO super-frame (0: an ordinary frame); see
    /// [`crate::offload`].
    pub gso_size: u16,
    /// Kind of super-frame (`offload::GSO_TCP4`, `GSO_TCP6`, `GSO_UDP_L4`).
    pub gso_type: u8,
    /// The TCP/UDP checksum holds only the pseudo-header sum (checksum offload pending):
    /// the port that sends the packet out, or software before a rewrite, completes it.
    pub csum_partial: bool,
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
    buf: Box<[u8]>,
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

    /// Bytes the buffer can hold behind the headroom ([`MAX_FRAME`] or [`MAX_SUPER_FRAME`]).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.len() - HEADROOM
    }

    /// Replaces the frame with `bytes` (truncated to the capacity), resetting headroom and
    /// metadata.
    pub fn set(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.capacity());
        self.start = HEADROOM;
        self.end = HEADROOM + n;
        self.buf[HEADROOM..HEADROOM + n].copy_from_slice(&bytes[..n]);
        self.meta = Meta::default();
    }

    /// Sets the frame length to `n` bytes from the current start (the contents are whatever the
    /// buffer holds); used by ports that write straight into [`Packet::tail_room_mut`].
    pub fn set_len(&mut self, n: usize) {
        self.end = (self.start + n).min(self.buf.len());
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
        if self.end + n > self.buf.len() {
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

/// A pool of packet buffers owned by one worker: ordinary buffers, and big ones for
/// super-frames (created only when a super-frame arrives, bounded separately).
#[derive(Debug)]
pub struct BufPool {
    free: Vec<Packet>,
    allocated: usize,
    max: usize,
    free_big: Vec<Packet>,
    allocated_big: usize,
    max_big: usize,
}

fn new_packet(size: usize) -> Packet {
    Packet(Box::new(PacketBuf {
        start: HEADROOM,
        end: HEADROOM,
        meta: Meta::default(),
        buf: vec![0; size].into_boxed_slice(),
    }))
}

impl BufPool {
    /// Chunk by which a dry pool grows.
    const CHUNK: usize = 256;
    /// Chunk by which the big buffers grow.
    const CHUNK_BIG: usize = 16;
    /// Most big buffers (64 KiB each) a pool holds by default.
    pub const MAX_BIG: usize = 512;

    /// A pool with `initial` buffers preallocated, growing up to `max` buffers (and up to
    /// [`BufPool::MAX_BIG`] big ones).
    pub fn new(initial: usize, max: usize) -> BufPool {
        let mut p = BufPool {
            free: Vec::with_capacity(max.max(initial)),
            allocated: 0,
            max: max.max(initial),
            free_big: Vec::new(),
            allocated_big: 0,
            max_big: Self::MAX_BIG,
        };
        p.grow(initial);
        p
    }

    fn grow(&mut self, n: usize) {
        let n = n.min(self.max - self.allocated);
        for _ in 0..n {
            self.free.push(new_packet(BUF_SIZE));
        }
        self.allocated += n;
    }

    fn reset(mut p: Packet) -> Packet {
        p.start = HEADROOM;
        p.end = HEADROOM;
        p.meta = Meta::default();
        p
    }

    /// Takes an empty ordinary buffer (data starts after the headroom, metadata cleared),
    /// or `None` when the pool is exhausted.
    #[inline]
    pub fn alloc(&mut self) -> Option<Packet> {
        if self.free.is_empty() {
            self.grow(Self::CHUNK);
        }
        self.free.pop().map(Self::reset)
    }

    /// Takes an empty big buffer (for a super-frame), or `None` when none is left.
    pub fn alloc_big(&mut self) -> Option<Packet> {
        if self.free_big.is_empty() {
            let n = Self::CHUNK_BIG.min(self.max_big - self.allocated_big);
            for _ in 0..n {
                self.free_big.push(new_packet(BIG_BUF_SIZE));
            }
            self.allocated_big += n;
        }
        self.free_big.pop().map(Self::reset)
    }

    /// Takes an empty buffer that holds a frame of `len` bytes (a big one past
    /// [`MAX_FRAME`]), or `None` when there is none (or `len` exceeds [`MAX_SUPER_FRAME`]).
    #[inline]
    pub fn alloc_for(&mut self, len: usize) -> Option<Packet> {
        if len <= MAX_FRAME {
            self.alloc()
        } else if len <= MAX_SUPER_FRAME {
            self.alloc_big()
        } else {
            None
        }
    }

    /// Takes a buffer holding a copy of `bytes`.
    pub fn alloc_from(&mut self, bytes: &[u8]) -> Option<Packet> {
        let mut p = self.alloc_for(bytes.len())?;
        p.set(bytes);
        Some(p)
    }

    /// Copies a packet (data and metadata) into a new buffer, e.g. for flooding.
    pub fn clone_packet(&mut self, src: &Packet) -> Option<Packet> {
        let mut p = if src.end <= BUF_SIZE {
            self.alloc()?
        } else {
            self.alloc_big()?
        };
        p.start = src.start;
        p.end = src.end;
        p.buf[src.start..src.end].copy_from_slice(src.data());
        p.meta = src.meta;
        Some(p)
    }

    /// Returns a buffer to the pool.
    #[inline]
    pub fn free(&mut self, p: Packet) {
        if p.buf.len() == BUF_SIZE {
            self.free.push(p);
        } else {
            self.free_big.push(p);
        }
    }

    /// Returns every buffer of `v` to the pool, leaving `v` empty.
    pub fn free_all(&mut self, v: &mut Vec<Packet>) {
        if v.iter().all(|p| p.buf.len() == BUF_SIZE) {
            self.free.append(v);
        } else {
            for p in v.drain(..) {
                self.free(p);
            }
        }
    }

    /// Ordinary buffers currently free in the pool.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Ordinary buffers created so far (free or in flight).
    pub fn allocated(&self) -> usize {
        self.allocated
    }

    /// Big buffers created so far (free or in flight).
    pub fn allocated_big(&self) -> usize {
        self.allocated_big
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
    fn super_frames_take_big_buffers_and_return_them() {
        let mut pool = BufPool::new(1, 1);
        let big = vec![7u8; 60_000];
        let p = pool.alloc_from(&big).unwrap();
        assert_eq!(p.len(), 60_000);
        assert_eq!(p.capacity(), MAX_SUPER_FRAME);
        let c = pool.clone_packet(&p).unwrap();
        assert_eq!(c.data(), &big[..]);
        pool.free(p);
        pool.free(c);
        assert_eq!(pool.available(), 1);
        let q = pool.alloc().unwrap();
        assert_eq!(q.capacity(), MAX_FRAME);
        assert!(pool.alloc_from(&vec![0; MAX_SUPER_FRAME + 1]).is_none());
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
