//! `tap`: creates a TAP interface (`/dev/net/tun`, no packet-info header) and moves frames
//! with non-blocking `read`/`write`. The host side sees an Ethernet interface it can address
//! and bring up; the dataplane side uses its own MAC (derived from the interface name).
//!
//! The device is opened with the virtio-net header (`IFF_VNET_HDR`) and offers the host
//! checksum, TSO and USO offloads (`TUNSETOFFLOAD`), so the host's TCP sends 64 KiB
//! super-frames through it and takes them back unsegmented, as a VM's virtio NIC would.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::sys;
use super::{Port, TxResult};
use crate::buffer::{BufPool, MAX_SUPER_FRAME, Packet};
use crate::offload::{self, VNET_HDR_LEN, VnetHdr};
use crate::types::Mac;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: i16 = 0x0002;
const IFF_NO_PI: i16 = 0x1000;
const IFF_VNET_HDR: i16 = 0x4000;
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const TUN_F_CSUM: u32 = 0x01;
const TUN_F_TSO4: u32 = 0x02;
const TUN_F_TSO6: u32 = 0x04;
const TUN_F_TSO_ECN: u32 = 0x08;
const TUN_F_USO4: u32 = 0x20;
const TUN_F_USO6: u32 = 0x40;

/// A TAP port.
#[derive(Debug)]
pub struct TapPort {
    fd: OwnedFd,
    name: String,
    mac: Mac,
    /// Receive scratch: a whole super-frame with its virtio-net header.
    scratch: Vec<u8>,
}

impl TapPort {
    /// Creates (or attaches to) TAP interface `name` in the calling thread's namespace.
    pub fn create(name: &str) -> io::Result<TapPort> {
        let path: &CStr = c"/dev/net/tun";
        let fd = sys::open(path, libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC)?;
        let mut r = sys::IfReq::new(name)?;
        r.data[0..2].copy_from_slice(&(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR).to_ne_bytes());
        sys::ifreq_ioctl(&fd, TUNSETIFF, &mut r)?;
        let base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
        // USO needs Linux 6.2; without it the host segments UDP itself.
        if sys::ioctl_arg(
            &fd,
            TUNSETOFFLOAD,
            (base | TUN_F_USO4 | TUN_F_USO6) as libc::c_ulong,
        )
        .is_err()
        {
            sys::ioctl_arg(&fd, TUNSETOFFLOAD, base as libc::c_ulong)?;
        }
        let h = name
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        let mac = Mac([
            0x02,
            0xfa,
            (h >> 24) as u8,
            (h >> 16) as u8,
            (h >> 8) as u8,
            h as u8,
        ]);
        tracing::info!(name, %mac, "tap port created");
        Ok(TapPort {
            fd,
            name: name.to_string(),
            mac,
            scratch: vec![0; VNET_HDR_LEN + MAX_SUPER_FRAME],
        })
    }

    /// The host-side interface name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Port for TapPort {
    fn driver(&self) -> &'static str {
        "tap"
    }

    fn mac(&self) -> Mac {
        self.mac
    }

    fn link_up(&self) -> bool {
        true
    }

    fn offloads(&self) -> bool {
        true
    }

    fn rx_burst(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let len = match sys::read(&self.fd, &mut self.scratch) {
                Ok(Some(len)) if len > VNET_HDR_LEN => len,
                _ => break,
            };
            let vnet = VnetHdr::read(&self.scratch).unwrap_or_default();
            let Some(mut p) = pool.alloc_from(&self.scratch[VNET_HDR_LEN..len]) else {
                break;
            };
            if offload::from_vnet(&mut p, &vnet).is_ok() {
                out.push(p);
                n += 1;
            } else {
                pool.free(p);
            }
        }
        n
    }

    fn tx_burst(&mut self, pkts: &mut Vec<Packet>, pool: &mut BufPool) -> TxResult {
        let mut r = TxResult::default();
        for p in pkts.iter() {
            let mut h = [0u8; VNET_HDR_LEN];
            offload::to_vnet(p).write(&mut h);
            match sys::write2(&self.fd, &h, p.data()) {
                Ok(_) => r.sent += 1,
                Err(_) => r.dropped += 1,
            }
        }
        pool.free_all(pkts);
        r
    }

    fn poll_fd(&self) -> Option<i32> {
        Some(self.fd.as_raw_fd())
    }

    fn host_interface(&self) -> Option<&str> {
        Some(&self.name)
    }
}
