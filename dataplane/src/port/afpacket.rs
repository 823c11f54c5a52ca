//! `afpacket`: attaches to an existing host interface (e.g. a pod's veth) with an AF_PACKET
//! socket and memory-mapped TPACKET_V2 receive and transmit rings, so frames move without
//! a syscall per packet (one `send` kicks a whole transmit burst). The socket is
//! promiscuous, ignores its own outgoing frames, bypasses the qdisc, and re-inserts VLAN
//! tags the kernel stripped.
//!
//! The interface keeps the kernel's default offloads: the socket speaks the virtio-net
//! header (`PACKET_VNET_HDR`), so every frame comes with its segmentation and checksum
//! state and leaves with it. Receive slots hold a whole 64 KiB super-frame (no frame is
//! ever truncated). Super-frames leave unsegmented through a second, send-only socket with
//! one `sendmsg` each, after the ring is flushed, so the order holds. (A transmit ring with
//! 64 KiB slots would cost one more copy: the kernel copies ring pages out of a frame it
//! forwards to a veth peer, where `sendmsg` copies the buffer once.)
//!
//! Pods come and go: when the host interface is deleted the port reports link down (and
//! its socket's error is cleared, so idle waiting does not spin); when an interface of the
//! same name appears again, [`Port::maintain`] re-binds both sockets to it and takes its
//! new MAC.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{Ordering, fence};

use super::sys::{self, Mmap};
use super::{Port, TxResult};
use crate::buffer::{BufPool, Packet};
use crate::offload::{self, VNET_HDR_LEN, VnetHdr};
use crate::types::Mac;

const SOL_PACKET: i32 = 263;
const PACKET_ADD_MEMBERSHIP: i32 = 1;
const PACKET_RX_RING: i32 = 5;
const PACKET_VERSION: i32 = 10;
const PACKET_TX_RING: i32 = 13;
const PACKET_VNET_HDR: i32 = 15;
const PACKET_QDISC_BYPASS: i32 = 20;
const PACKET_IGNORE_OUTGOING: i32 = 23;
const PACKET_MR_PROMISC: u16 = 1;
const TPACKET_V2: i32 = 1;
const ETH_P_ALL: u16 = 0x0003;

const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
const TP_STATUS_AVAILABLE: u32 = 0;
const TP_STATUS_SEND_REQUEST: u32 = 1;
const TP_STATUS_WRONG_FORMAT: u32 = 4;
const TP_STATUS_VLAN_VALID: u32 = 0x10;
const TP_STATUS_VLAN_TPID_VALID: u32 = 0x40;

/// Receive slot: a 64 KiB super-frame with its link headers, the slot header and the
/// virtio-net header.
const RX_FRAME_SIZE: usize = 68 * 1024;
const RX_BLOCK_SIZE: usize = 1 << 20;
const RX_BLOCKS: usize = 12;
const RX_FRAMES: usize = RX_BLOCK_SIZE / RX_FRAME_SIZE * RX_BLOCKS;
/// Transmit slot: ordinary frames; larger ones take the send-only socket.
const TX_FRAME_SIZE: usize = 2048;
const TX_BLOCK_SIZE: usize = 1 << 16;
const TX_BLOCKS: usize = 16;
const TX_FRAMES: usize = TX_BLOCK_SIZE / TX_FRAME_SIZE * TX_BLOCKS;
const RX_RING_LEN: usize = RX_BLOCK_SIZE * RX_BLOCKS;
/// Offset of frame data in a TX slot (TPACKET_ALIGN(sizeof(tpacket2_hdr))).
const TX_DATA: usize = 32;

#[repr(C)]
struct Tpacket2Hdr {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_sec: u32,
    tp_nsec: u32,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
    tp_padding: [u8; 4],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct TpacketReq {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct PacketMreq {
    ifindex: i32,
    ty: u16,
    alen: u16,
    address: [u8; 8],
}

/// An AF_PACKET port.
#[derive(Debug)]
pub struct AfPacketPort {
    // Field order matters: the mapping is dropped before the socket.
    ring: Mmap,
    fd: OwnedFd,
    /// Send-only socket for frames larger than a transmit slot.
    big: OwnedFd,
    ifname: String,
    /// The interface index the sockets are bound to (`None`: the interface went away).
    ifindex: Option<i32>,
    mac: Mac,
    rx_idx: usize,
    tx_idx: usize,
    /// Received frames refused for an offload they carry (see [`offload::from_vnet`]).
    bad_offload: u64,
}

impl AfPacketPort {
    /// Opens `ifname` inside the network namespace at `ns_path` (see [`sys::in_netns`]).
    pub fn open_in_netns(ns_path: &str, ifname: &str) -> io::Result<AfPacketPort> {
        let name = ifname.to_string();
        sys::in_netns(ns_path, move || AfPacketPort::open(&name))?
    }

    /// Opens `ifname` in the calling thread's network namespace.
    pub fn open(ifname: &str) -> io::Result<AfPacketPort> {
        let fd = sys::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            ETH_P_ALL.to_be() as i32,
        )?;
        let ifindex = sys::if_index(&fd, ifname)?;
        let mac = sys::if_mac(&fd, ifname)?;
        // The virtio-net header must be asked for before the rings exist.
        sys::setsockopt(&fd, SOL_PACKET, PACKET_VNET_HDR, &1i32)?;
        sys::setsockopt(&fd, SOL_PACKET, PACKET_VERSION, &TPACKET_V2)?;
        let rx = TpacketReq {
            block_size: RX_BLOCK_SIZE as u32,
            block_nr: RX_BLOCKS as u32,
            frame_size: RX_FRAME_SIZE as u32,
            frame_nr: RX_FRAMES as u32,
        };
        let tx = TpacketReq {
            block_size: TX_BLOCK_SIZE as u32,
            block_nr: TX_BLOCKS as u32,
            frame_size: TX_FRAME_SIZE as u32,
            frame_nr: TX_FRAMES as u32,
        };
        sys::setsockopt(&fd, SOL_PACKET, PACKET_RX_RING, &rx)?;
        sys::setsockopt(&fd, SOL_PACKET, PACKET_TX_RING, &tx)?;
        let _ = sys::setsockopt(&fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &1i32);
        let _ = sys::setsockopt(&fd, SOL_PACKET, PACKET_QDISC_BYPASS, &1i32);
        let ring = Mmap::new(&fd, RX_RING_LEN + TX_BLOCK_SIZE * TX_BLOCKS)?;
        let big = sys::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )?;
        sys::setsockopt(&big, SOL_PACKET, PACKET_VNET_HDR, &1i32)?;
        let _ = sys::setsockopt(&big, SOL_PACKET, PACKET_QDISC_BYPASS, &1i32);
        let mut port = AfPacketPort {
            ring,
            fd,
            big,
            ifname: ifname.to_string(),
            ifindex: None,
            mac,
            rx_idx: 0,
            tx_idx: 0,
            bad_offload: 0,
        };
        port.bind(ifindex)?;
        tracing::info!(ifname, %mac, "afpacket port attached");
        Ok(port)
    }

    /// Binds both sockets to interface `ifindex` and makes the receiving one promiscuous.
    fn bind(&mut self, ifindex: i32) -> io::Result<()> {
        sys::bind_ll(&self.fd, ifindex, ETH_P_ALL.to_be())?;
        sys::bind_ll(&self.big, ifindex, 0)?;
        let mreq = PacketMreq {
            ifindex,
            ty: PACKET_MR_PROMISC,
            alen: 0,
            address: [0; 8],
        };
        sys::setsockopt(&self.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq)?;
        self.ifindex = Some(ifindex);
        Ok(())
    }

    /// Frames received with an offload nectar does not take (UFO), dropped.
    pub fn bad_offload(&self) -> u64 {
        self.bad_offload
    }

    fn rx_slot(&self, idx: usize) -> *mut u8 {
        debug_assert!((idx + 1) * RX_FRAME_SIZE <= RX_RING_LEN);
        let block = idx / (RX_BLOCK_SIZE / RX_FRAME_SIZE);
        let within = idx % (RX_BLOCK_SIZE / RX_FRAME_SIZE);
        // SAFETY: idx < RX_FRAMES, so the slot lies inside the receive part of the mapping.
        unsafe {
            self.ring
                .ptr()
                .add(block * RX_BLOCK_SIZE + within * RX_FRAME_SIZE)
        }
    }

    fn tx_slot(&self, idx: usize) -> *mut u8 {
        debug_assert!(RX_RING_LEN + (idx + 1) * TX_FRAME_SIZE <= self.ring.len());
        // SAFETY: idx < TX_FRAMES, so the slot lies inside the transmit part of the mapping.
        unsafe { self.ring.ptr().add(RX_RING_LEN + idx * TX_FRAME_SIZE) }
    }

    /// Hands every pending transmit slot to the kernel.
    fn flush(&self) {
        sys::kick(&self.fd);
    }

    /// Sends one frame with its virtio-net header through the send-only socket.
    fn send_big(&self, h: &VnetHdr, p: &Packet) -> bool {
        let mut hb = [0u8; VNET_HDR_LEN];
        h.write(&mut hb);
        sys::send2(&self.big, &hb, p.data()).is_ok()
    }
}

fn status(h: *mut Tpacket2Hdr) -> u32 {
    // SAFETY: `h` points at a slot header inside the live mapping; the kernel writes the
    // status concurrently, hence the volatile read.
    unsafe { std::ptr::read_volatile(std::ptr::addr_of!((*h).tp_status)) }
}

fn set_status(h: *mut Tpacket2Hdr, s: u32) {
    // SAFETY: as for `status`; handing the slot back is a volatile store after a fence.
    unsafe { std::ptr::write_volatile(std::ptr::addr_of_mut!((*h).tp_status), s) }
}

impl Port for AfPacketPort {
    fn driver(&self) -> &'static str {
        "afpacket"
    }

    fn mac(&self) -> Mac {
        self.mac
    }

    fn link_up(&self) -> bool {
        self.ifindex.is_some()
            && sys::if_flags(&self.fd, &self.ifname)
                .map(|f| f & libc::IFF_UP != 0 && f & libc::IFF_RUNNING != 0)
                .unwrap_or(false)
    }

    fn offloads(&self) -> bool {
        true
    }

    fn maintain(&mut self) {
        let now = sys::if_index(&self.fd, &self.ifname).ok();
        if now == self.ifindex {
            return;
        }
        self.clear_error();
        match now {
            None => {
                tracing::warn!(ifname = %self.ifname, "afpacket port: host interface gone");
                self.ifindex = None;
            }
            Some(ix) => {
                // Deleted and created again (a pod restarted): take the new one.
                match self.bind(ix) {
                    Ok(()) => {
                        if let Ok(m) = sys::if_mac(&self.fd, &self.ifname) {
                            self.mac = m;
                        }
                        tracing::info!(ifname = %self.ifname, mac = %self.mac,
                            "afpacket port re-attached");
                    }
                    Err(e) => {
                        tracing::warn!(ifname = %self.ifname, error = %e,
                            "afpacket port: re-attaching failed");
                        self.ifindex = None;
                    }
                }
            }
        }
    }

    fn clear_error(&mut self) {
        let _ = sys::take_socket_error(&self.fd);
        let _ = sys::take_socket_error(&self.big);
    }

    fn rx_burst(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let slot = self.rx_slot(self.rx_idx);
            let h = slot as *mut Tpacket2Hdr;
            let st = status(h);
            if st & TP_STATUS_USER == 0 {
                break;
            }
            fence(Ordering::Acquire);
            // SAFETY: the slot is ours until we hand it back (TP_STATUS_USER); the header
            // fields are plain integers written by the kernel before it set the status.
            let (len, snap, mac_off, tci, tpid) = unsafe {
                (
                    (*h).tp_len as usize,
                    (*h).tp_snaplen as usize,
                    (*h).tp_mac as usize,
                    (*h).tp_vlan_tci,
                    (*h).tp_vlan_tpid,
                )
            };
            if len == snap
                && mac_off >= VNET_HDR_LEN
                && mac_off + snap <= RX_FRAME_SIZE
                && snap >= 12
            {
                // SAFETY: [mac_off - VNET_HDR_LEN, mac_off + snap) lies inside this slot
                // (checked above); the kernel wrote the virtio-net header right before the
                // frame.
                let (vh, data) = unsafe {
                    (
                        std::slice::from_raw_parts(slot.add(mac_off - VNET_HDR_LEN), VNET_HDR_LEN),
                        std::slice::from_raw_parts(slot.add(mac_off), snap),
                    )
                };
                let mut vnet = VnetHdr::read(vh).unwrap_or_default();
                if let Some(mut p) = pool.alloc_from(data) {
                    if st & TP_STATUS_VLAN_VALID != 0 && p.insert_gap(12, 4) {
                        let tpid = if st & TP_STATUS_VLAN_TPID_VALID != 0 && tpid != 0 {
                            tpid
                        } else {
                            0x8100
                        };
                        let d = p.data_mut();
                        d[12..14].copy_from_slice(&tpid.to_be_bytes());
                        d[14..16].copy_from_slice(&tci.to_be_bytes());
                        if vnet.flags & offload::F_NEEDS_CSUM != 0 {
                            vnet.csum_start += 4;
                        }
                    }
                    if offload::from_vnet(&mut p, &vnet).is_ok() {
                        out.push(p);
                        n += 1;
                    } else {
                        self.bad_offload += 1;
                        pool.free(p);
                    }
                }
            }
            fence(Ordering::Release);
            set_status(h, TP_STATUS_KERNEL);
            self.rx_idx = (self.rx_idx + 1) % RX_FRAMES;
        }
        n
    }

    fn tx_burst(&mut self, pkts: &mut Vec<Packet>, pool: &mut BufPool) -> TxResult {
        let mut r = TxResult::default();
        let mut queued = 0;
        for p in pkts.iter() {
            let vnet = offload::to_vnet(p);
            if p.len() + VNET_HDR_LEN > TX_FRAME_SIZE - TX_DATA {
                if queued > 0 {
                    self.flush();
                    queued = 0;
                }
                if self.send_big(&vnet, p) {
                    r.sent += 1;
                } else {
                    r.dropped += 1;
                }
                continue;
            }
            let slot = self.tx_slot(self.tx_idx);
            let h = slot as *mut Tpacket2Hdr;
            let mut st = status(h);
            if st == TP_STATUS_WRONG_FORMAT {
                set_status(h, TP_STATUS_AVAILABLE);
                st = TP_STATUS_AVAILABLE;
            }
            if st != TP_STATUS_AVAILABLE {
                r.dropped += 1;
                continue;
            }
            let d = p.data();
            // SAFETY: the slot is available (owned by us); header and data fit in
            // TX_FRAME_SIZE - TX_DATA (checked above).
            unsafe {
                let at = slot.add(TX_DATA);
                vnet.write(std::slice::from_raw_parts_mut(at, VNET_HDR_LEN));
                std::ptr::copy_nonoverlapping(d.as_ptr(), at.add(VNET_HDR_LEN), d.len());
                (*h).tp_len = (VNET_HDR_LEN + d.len()) as u32;
            }
            fence(Ordering::Release);
            set_status(h, TP_STATUS_SEND_REQUEST);
            self.tx_idx = (self.tx_idx + 1) % TX_FRAMES;
            r.sent += 1;
            queued += 1;
        }
        if queued > 0 {
            self.flush();
        }
        pool.free_all(pkts);
        r
    }

    fn poll_fd(&self) -> Option<i32> {
        Some(self.fd.as_raw_fd())
    }

    fn host_interface(&self) -> Option<&str> {
        Some(&self.ifname)
    }
}
