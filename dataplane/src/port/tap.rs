//! `tap`: creates a TAP interface (`/dev/net/tun`, no packet-info header) and moves frames
//! with non-blocking `read`/`write`. The host side sees an Ethernet interface it can address
//! and bring up; the dataplane side uses its own MAC (derived from the interface name).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::sys;
use super::{Port, TxResult};
use crate::buffer::{BufPool, MAX_FRAME, Packet};
use crate::types::Mac;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: i16 = 0x0002;
const IFF_NO_PI: i16 = 0x1000;

/// A TAP port.
#[derive(Debug)]
pub struct TapPort {
    fd: OwnedFd,
    name: String,
    mac: Mac,
}

impl TapPort {
    /// Creates (or attaches to) TAP interface `name` in the calling thread's namespace.
    pub fn create(name: &str) -> io::Result<TapPort> {
        let path: &CStr = c"/dev/net/tun";
        let fd = sys::open(path, libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC)?;
        let mut r = sys::IfReq::new(name)?;
        r.data[0..2].copy_from_slice(&(IFF_TAP | IFF_NO_PI).to_ne_bytes());
        sys::ifreq_ioctl(&fd, TUNSETIFF, &mut r)?;
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

    fn rx_burst(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(mut p) = pool.alloc() else { break };
            let room = p.tail_room_mut();
            let cap = room.len().min(MAX_FRAME);
            match sys::read(&self.fd, &mut room[..cap]) {
                Ok(Some(len)) if len > 0 => {
                    p.set_len(len);
                    out.push(p);
                    n += 1;
                }
                _ => {
                    pool.free(p);
                    break;
                }
            }
        }
        n
    }

    fn tx_burst(&mut self, pkts: &mut Vec<Packet>, pool: &mut BufPool) -> TxResult {
        let mut r = TxResult::default();
        for p in pkts.iter() {
            match sys::write(&self.fd, p.data()) {
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
