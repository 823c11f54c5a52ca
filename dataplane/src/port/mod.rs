//! Ports: where packets enter and leave the dataplane, all behind one rx/tx-burst trait.
//!
//! Backends: [`pg`] (in-memory generator and capture, for tests and benchmarks),
//! [`afpacket`] (Linux AF_PACKET with memory-mapped TPACKET_V2 rings on an existing host
//! interface such as a veth), [`tap`] (a TAP interface it creates) and, with the cargo
//! feature `dpdk`, `dpdk` (DPDK poll-mode drivers, e.g. the virtual devices net_memif,
//! net_tap, net_af_packet, net_ring). A port copies frames between its medium and pooled
//! buffers; it knows nothing of the graph. [`open_host`] opens the afpacket and tap ports
//! that configuration creates on demand.

pub mod afpacket;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod pg;
pub mod sys;
pub mod tap;

use crate::buffer::{BufPool, Packet};
use crate::control::HostPort;
use crate::types::Mac;

/// Result of a transmit burst.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxResult {
    /// Frames handed to the medium.
    pub sent: usize,
    /// Frames dropped (ring full, link down, error).
    pub dropped: usize,
}

/// A port driver.
pub trait Port: Send {
    /// Driver name ("pg", "afpacket", "tap").
    fn driver(&self) -> &'static str;
    /// The port's hardware MAC.
    fn mac(&self) -> Mac;
    /// Link state as the medium reports it.
    fn link_up(&self) -> bool;
    /// Receives up to `max` frames into buffers from `pool`, appended to `out`; returns how
    /// many. Never blocks.
    fn rx_burst(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>, max: usize) -> usize;
    /// Transmits every frame of `pkts` (leaving it empty and returning the buffers to `pool`).
    fn tx_burst(&mut self, pkts: &mut Vec<Packet>, pool: &mut BufPool) -> TxResult;
    /// A file descriptor that becomes readable when frames arrive, for idle sleeping.
    fn poll_fd(&self) -> Option<i32> {
        None
    }
    /// True if the port takes TSO/GSO super-frames and pending transport checksums as they
    /// are (the kernel's virtio-net header); otherwise the worker segments and completes
    /// them in software before [`Port::tx_burst`] (see [`crate::offload`]).
    fn offloads(&self) -> bool {
        false
    }
    /// Called by the maintenance worker about ten times a second, before
    /// [`Port::link_up`]: a port on a host interface notices here that the interface was
    /// deleted (it reports link down) or re-created under the same name (it re-attaches to
    /// it, taking its new MAC).
    fn maintain(&mut self) {}
    /// The poll descriptor reported an error condition: clear it (so idle waiting does not
    /// spin) and note what it means.
    fn clear_error(&mut self) {}
    /// The host (Linux) interface the port is attached to, if it has one.
    fn host_interface(&self) -> Option<&str> {
        None
    }
}

/// Opens a port created on demand ([`HostPort`]) in the calling thread's network
/// namespace: an AF_PACKET socket on an existing interface, or a new TAP device.
pub fn open_host(spec: &HostPort) -> std::io::Result<Box<dyn Port>> {
    Ok(match spec {
        HostPort::AfPacket { host_interface } => {
            Box::new(afpacket::AfPacketPort::open(host_interface)?)
        }
        HostPort::Tap { host_interface } => Box::new(tap::TapPort::create(host_interface)?),
    })
}
