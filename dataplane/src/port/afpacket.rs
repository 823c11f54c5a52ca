//! `afpacket`: attaches to an existing host interface (e.g. a veth) with an AF_PACKET socket
//! and memory-mapped TPACKET_V2 receive and transmit rings, so frames move without a syscall
//! per packet (one `send` kicks a whole transmit burst). The socket is promiscuous, ignores
//! its own outgoing frames, bypasses the qdisc, and re-inserts VLAN tags the kernel stripped.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{Ordering, fence};

use super::sys::{self, Mmap};
use super::{Port, TxResult};
use crate::buffer::{BufPool, Packet};
use crate::types::Mac;

const SOL_PACKET: i32 = 263;
const PACKET_ADD_MEMBERSHIP: i32 = 1;
const PACKET_RX_RING: i32 = 5;
const PACKET_VERSION: i32 = 10;
const PACKET_TX_RING: i32 = 13;
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
const TP_STATUS_CSUMNOTREADY: u32 = 0x8;
const TP_STATUS_VLAN_VALID: u32 = 0x10;
const TP_STATUS_VLAN_TPID_VALID: u32 = 0x40;

const FRAME_SIZE: usize = 2048;
const BLOCK_SIZE: usize = 1 << 16;
const BLOCKS: usize = 16;
const FRAMES: usize = BLOCK_SIZE / FRAME_SIZE * BLOCKS;
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
    ifname: String,
    mac: Mac,
    rx_idx: usize,
    tx_idx: usize,
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
        sys::setsockopt(&fd, SOL_PACKET, PACKET_VERSION, &TPACKET_V2)?;
        let req = TpacketReq {
            block_size: BLOCK_SIZE as u32,
            block_nr: BLOCKS as u32,
            frame_size: FRAME_SIZE as u32,
            frame_nr: FRAMES as u32,
        };
        sys::setsockopt(&fd, SOL_PACKET, PACKET_RX_RING, &req)?;
        sys::setsockopt(&fd, SOL_PACKET, PACKET_TX_RING, &req)?;
        let _ = sys::setsockopt(&fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &1i32);
        let _ = sys::setsockopt(&fd, SOL_PACKET, PACKET_QDISC_BYPASS, &1i32);
        let ring = Mmap::new(&fd, 2 * BLOCK_SIZE * BLOCKS)?;
        sys::bind_ll(&fd, ifindex, ETH_P_ALL.to_be())?;
        let mreq = PacketMreq {
            ifindex,
            ty: PACKET_MR_PROMISC,
            alen: 0,
            address: [0; 8],
        };
        sys::setsockopt(&fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq)?;
        tracing::info!(ifname, %mac, "afpacket port attached");
        Ok(AfPacketPort {
            ring,
            fd,
            ifname: ifname.to_string(),
            mac,
            rx_idx: 0,
            tx_idx: 0,
        })
    }

    fn slot(&self, tx: bool, idx: usize) -> *mut u8 {
        let base = if tx { BLOCK_SIZE * BLOCKS } else { 0 };
        debug_assert!(base + (idx + 1) * FRAME_SIZE <= self.ring.len());
        // SAFETY: idx < FRAMES, so the offset stays inside the mapping (checked above).
        unsafe { self.ring.ptr().add(base + idx * FRAME_SIZE) }
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

/// Completes the L4 checksum of a frame the kernel handed over with checksum offload
/// pending (a local sender on a veth): the frame will leave by another interface.
fn complete_checksum(p: &mut Packet) {
    let d = p.data_mut();
    let off = match u16::from_be_bytes([d[12], d[13]]) {
        0x8100 if d.len() > 18 => 18,
        _ => 14,
    };
    if d.len() > off {
        crate::headers::fix_l4_checksum(&mut d[off..]);
    }
}

impl Port for AfPacketPort {
    fn driver(&self) -> &'static str {
        "afpacket"
    }

    fn mac(&self) -> Mac {
        self.mac
    }

    fn link_up(&self) -> bool {
        sys::if_flags(&self.fd, &self.ifname)
            .map(|f| f & libc::IFF_UP != 0 && f & libc::IFF_RUNNING != 0)
            .unwrap_or(false)
    }

    fn rx_burst(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let h = self.slot(false, self.rx_idx) as *mut Tpacket2Hdr;
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
            if len == snap && mac_off + snap <= FRAME_SIZE && snap >= 12 {
                // SAFETY: [mac_off, mac_off + snap) lies inside this slot (checked above).
                let data = unsafe {
                    std::slice::from_raw_parts(self.slot(false, self.rx_idx).add(mac_off), snap)
                };
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
                    }
                    if st & TP_STATUS_CSUMNOTREADY != 0 {
                        complete_checksum(&mut p);
                    }
                    out.push(p);
                    n += 1;
                }
            }
            fence(Ordering::Release);
            set_status(h, TP_STATUS_KERNEL);
            self.rx_idx = (self.rx_idx + 1) % FRAMES;
        }
        n
    }

    fn tx_burst(&mut self, pkts: &mut Vec<Packet>, pool: &mut BufPool) -> TxResult {
        let mut r = TxResult::default();
        for p in pkts.iter() {
            let h = self.slot(true, self.tx_idx) as *mut Tpacket2Hdr;
            let mut st = status(h);
            if st == TP_STATUS_WRONG_FORMAT {
                set_status(h, TP_STATUS_AVAILABLE);
                st = TP_STATUS_AVAILABLE;
            }
            if st != TP_STATUS_AVAILABLE || p.len() > FRAME_SIZE - TX_DATA {
                r.dropped += 1;
                continue;
            }
            let d = p.data();
            // SAFETY: the slot is available (owned by us); data fits in FRAME_SIZE - TX_DATA.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    d.as_ptr(),
                    self.slot(true, self.tx_idx).add(TX_DATA),
                    d.len(),
                );
                (*h).tp_len = d.len() as u32;
            }
            fence(Ordering::Release);
            set_status(h, TP_STATUS_SEND_REQUEST);
            self.tx_idx = (self.tx_idx + 1) % FRAMES;
            r.sent += 1;
        }
        if r.sent > 0 {
            sys::kick(&self.fd);
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
