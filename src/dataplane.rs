//! The daemon's dataplane: the vswitch built from `[dataplane]` of the configuration file
//! (worker threads and the box's ports), and its northbound provider for the management core.

use std::sync::Arc;

use anyhow::Context as _;
use nectar_dataplane::port::Port;
use nectar_dataplane::{Dataplane, Mac};

use crate::config::{DataplaneConfig, PortDriver};

/// The MAC of the `i`-th in-memory port: locally administered, stable across restarts.
fn pg_mac(i: usize) -> Mac {
    Mac([0x02, 0x6e, 0x63, 0x00, (i >> 8) as u8, i as u8 + 1])
}

fn open_port(i: usize, p: &crate::config::PortConfig) -> anyhow::Result<Box<dyn Port>> {
    let host = || {
        p.host_interface
            .as_deref()
            .with_context(|| format!("dataplane port {}: host_interface is required", p.name))
    };
    Ok(match p.driver {
        PortDriver::Pg => {
            let (port, _handle) = nectar_dataplane::port::pg::pg(pg_mac(i));
            Box::new(port)
        }
        PortDriver::Afpacket => {
            let ifname = host()?;
            Box::new(
                nectar_dataplane::port::afpacket::AfPacketPort::open(ifname)
                    .with_context(|| format!("dataplane port {}: AF_PACKET on {ifname}", p.name))?,
            )
        }
        PortDriver::Tap => {
            let ifname = host()?;
            Box::new(
                nectar_dataplane::port::tap::TapPort::create(ifname)
                    .with_context(|| format!("dataplane port {}: TAP {ifname}", p.name))?,
            )
        }
        PortDriver::Dpdk => open_dpdk(p)?,
    })
}

#[cfg(feature = "dpdk")]
fn open_dpdk(p: &crate::config::PortConfig) -> anyhow::Result<Box<dyn Port>> {
    let devargs = p
        .devargs
        .as_deref()
        .with_context(|| format!("dataplane port {}: devargs is required", p.name))?;
    Ok(Box::new(
        nectar_dataplane::port::dpdk::DpdkPort::open(devargs)
            .map_err(|e| anyhow::anyhow!("dataplane port {}: DPDK {devargs}: {e}", p.name))?,
    ))
}

#[cfg(not(feature = "dpdk"))]
fn open_dpdk(p: &crate::config::PortConfig) -> anyhow::Result<Box<dyn Port>> {
    anyhow::bail!(
        "dataplane port {}: driver dpdk needs a nectar built with the cargo feature `dpdk`",
        p.name
    )
}

/// Builds and starts the vswitch: one port per `[[dataplane.ports]]`, `workers` threads.
pub fn build(cfg: &DataplaneConfig) -> anyhow::Result<Arc<Dataplane>> {
    let mut b = Dataplane::builder().workers(cfg.workers as usize);
    for (i, p) in cfg.ports.iter().enumerate() {
        b = b.boxed_port(&p.name, open_port(i, p)?);
    }
    Ok(Arc::new(b.build().context("dataplane")?))
}
