//! `dpdk`: ports driven by DPDK poll-mode drivers (cargo feature `dpdk`), through
//! nectar-dpdk-sys, bindgen bindings to the system DPDK (Debian `libdpdk-dev` 22.11).
//!
//! The Environment Abstraction Layer is initialised once per process ([`init`]); the default
//! arguments ([`EalOptions::default`]) run without hugepages or PCI devices
//! (`-l 0 --no-huge -m 256 --no-pci`), so virtual devices work on any Linux
//! machine: `net_tap`, `net_af_packet` (on an existing interface such as a veth),
//! `net_memif` (shared-memory interfaces to pods and other processes), `net_ring`,
//! `net_null`. Each port is a device hot-plugged by its device string
//! ([`DpdkPort::open`], e.g. `net_memif0,role=server,socket=/run/memif.sock`), configured
//! with one receive and one transmit queue and its own mbuf pool.
//!
//! Frames are copied between mbufs and the dataplane's pooled buffers (as every backend
//! does); the mbuf layout is only touched by the C helpers in nectar-dpdk-sys's `wrapper.h`.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char};
use std::sync::{Mutex, OnceLock};

use nectar_dpdk_sys as sys;

use super::{Port, TxResult};
use crate::buffer::{BufPool, MAX_FRAME, Packet};
use crate::types::Mac;

/// Why DPDK or a DPDK port could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpdkError {
    /// The crate was built where DPDK was not installed.
    #[error("DPDK is not available: nectar-dpdk-sys was built without libdpdk-dev")]
    NotInstalled,
    /// EAL initialisation failed (it can be tried only once per process).
    #[error("DPDK EAL initialisation failed: {0}")]
    Eal(String),
    /// A device string is malformed.
    #[error("invalid DPDK device {0:?}: {1}")]
    Device(String, String),
    /// A DPDK call failed.
    #[error("DPDK {call} on {device}: {reason}")]
    Call {
        /// The device.
        device: String,
        /// The failing call.
        call: &'static str,
        /// DPDK's error text.
        reason: String,
    },
}

/// EAL arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EalOptions {
    /// Arguments after the program name, e.g. `["-l", "0", "--no-huge"]`.
    pub args: Vec<String>,
}

impl Default for EalOptions {
    /// `-l 0 --no-huge -m 256 --no-pci --no-telemetry --file-prefix=nectar-<pid>
    /// --log-level=lib.eal:warning`: no hugepages, no PCI probing (virtual devices only), a
    /// runtime directory of this process's own (removed at exit), one lcore whose pinning is
    /// undone after initialisation (workers are nectar's own threads). Runtime configuration
    /// stays on: net_memif needs DPDK's multi-process channel.
    fn default() -> Self {
        EalOptions {
            args: [
                "-l",
                "0",
                "--no-huge",
                "-m",
                "256",
                "--no-pci",
                "--no-telemetry",
                "--log-level=lib.eal:warning",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain([format!("--file-prefix=nectar-{}", std::process::id())])
            .collect(),
        }
    }
}

static EAL: OnceLock<Result<(), String>> = OnceLock::new();

/// Initialises the EAL with `opts` unless it already is (the first call's options win; a
/// failed initialisation is final for the process). Returns the result of that first call.
pub fn init(opts: &EalOptions) -> Result<(), DpdkError> {
    if !sys::AVAILABLE {
        return Err(DpdkError::NotInstalled);
    }
    EAL.get_or_init(|| eal_init(opts))
        .clone()
        .map_err(DpdkError::Eal)
}

/// True once the EAL is initialised.
pub fn initialized() -> bool {
    matches!(EAL.get(), Some(Ok(())))
}

fn eal_init(opts: &EalOptions) -> Result<(), String> {
    let mut args = vec!["nectar".to_string()];
    args.extend(opts.args.iter().cloned());
    let c: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| format!("argument {a:?} contains NUL")))
        .collect::<Result<_, _>>()?;
    // The EAL may keep pointers into argv: the strings live for the rest of the process.
    let c: &'static [CString] = Box::leak(c.into_boxed_slice());
    let mut argv: Vec<*mut c_char> = c.iter().map(|s| s.as_ptr() as *mut c_char).collect();
    argv.push(std::ptr::null_mut());
    let saved = affinity();
    // SAFETY: argv is a NULL-terminated array of NUL-terminated strings that outlive the call
    // (leaked above); the EAL is initialised at most once (OnceLock).
    let r = unsafe { sys::rte_eal_init((argv.len() - 1) as i32, argv.as_mut_ptr()) };
    // The EAL pins the calling thread to lcore 0; give it back its CPUs.
    if let Some(set) = saved {
        set_affinity(&set);
    }
    if r < 0 {
        return Err(errno_text());
    }
    remove_runtime_dir_at_exit(&args);
    tracing::info!(args = ?opts.args, "DPDK EAL initialised");
    Ok(())
}

static RUNTIME_DIR: OnceLock<std::path::PathBuf> = OnceLock::new();

/// The EAL keeps its shared configuration and multi-process socket in
/// `/var/run/dpdk/<file-prefix>` (root) or `$XDG_RUNTIME_DIR/dpdk/<file-prefix>`; nothing
/// uses it once this process is gone, so it is removed at exit.
fn remove_runtime_dir_at_exit(args: &[String]) {
    let mut prefix = "rte".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(p) = a.strip_prefix("--file-prefix=") {
            prefix = p.to_string();
        } else if a == "--file-prefix"
            && let Some(p) = it.next()
        {
            prefix = p.clone();
        }
    }
    // SAFETY: getuid has no preconditions.
    let base = if unsafe { libc::getuid() } == 0 {
        std::path::PathBuf::from("/var/run")
    } else {
        std::env::var_os("XDG_RUNTIME_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "/tmp".into())
    };
    if RUNTIME_DIR.set(base.join("dpdk").join(prefix)).is_ok() {
        extern "C" fn cleanup() {
            if let Some(d) = RUNTIME_DIR.get() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
        // SAFETY: registers a plain function without captured state.
        unsafe { libc::atexit(cleanup) };
    }
}

fn affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
            .then_some(set)
    }
}

fn set_affinity(set: &libc::cpu_set_t) {
    // SAFETY: set is a valid cpu_set_t of the size passed.
    unsafe {
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
    }
}

fn errno_text() -> String {
    // SAFETY: both calls only read DPDK's thread-local errno and its static message table.
    unsafe {
        let e = sys::nectar_rte_errno();
        CStr::from_ptr(sys::rte_strerror(e))
            .to_string_lossy()
            .into_owned()
    }
}

fn code_text(code: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local message.
    unsafe {
        CStr::from_ptr(sys::rte_strerror(code.abs()))
            .to_string_lossy()
            .into_owned()
    }
}

/// Hot-plug and unplug go through the EAL's device list: one at a time.
static PLUG: Mutex<()> = Mutex::new(());

/// Receive and transmit ring sizes.
const RING: u16 = 1024;
/// Mbufs per port pool (small: without hugepages memory is scarce).
const POOL_MBUFS: u32 = 4095;
/// Per-lcore mbuf cache.
const POOL_CACHE: u32 = 128;
/// Most mbufs moved by one burst call.
const BURST: usize = 64;

/// A DPDK ethdev port.
#[derive(Debug)]
pub struct DpdkPort {
    device: String,
    port_id: u16,
    mp: *mut sys::rte_mempool,
    mac: Mac,
    mbufs: Vec<*mut sys::rte_mbuf>,
    /// Frames received too large for a dataplane buffer.
    oversize: u64,
}

// SAFETY: a port's queues are used by one thread at a time (the dataplane holds each port
// behind a mutex); mbuf pools are safe to use from any thread.
unsafe impl Send for DpdkPort {}

impl DpdkPort {
    /// Hot-plugs the virtual device `devargs` (`name[,key=value...]`, e.g.
    /// `net_tap0,iface=dtap0`), configures it with one receive and one transmit queue,
    /// enables promiscuous mode and starts it. Initialises the EAL with default options if
    /// nothing did yet.
    pub fn open(devargs: &str) -> Result<DpdkPort, DpdkError> {
        init(&EalOptions::default())?;
        let (name, args) = devargs.split_once(',').unwrap_or((devargs, ""));
        if name.is_empty() || !name.starts_with("net_") {
            return Err(DpdkError::Device(
                devargs.into(),
                "expected a virtual ethdev name such as net_memif0".into(),
            ));
        }
        let cname = CString::new(name)
            .map_err(|_| DpdkError::Device(devargs.into(), "contains NUL".into()))?;
        let cargs = CString::new(args)
            .map_err(|_| DpdkError::Device(devargs.into(), "contains NUL".into()))?;
        let fail = |call: &'static str, code: i32| DpdkError::Call {
            device: name.to_string(),
            call,
            reason: code_text(code),
        };
        let _g = PLUG.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: NUL-terminated strings valid for the call.
        let r =
            unsafe { sys::rte_eal_hotplug_add(c"vdev".as_ptr(), cname.as_ptr(), cargs.as_ptr()) };
        if r < 0 {
            return Err(fail("rte_eal_hotplug_add", r));
        }
        let mut port = DpdkPort {
            device: name.to_string(),
            port_id: u16::MAX,
            mp: std::ptr::null_mut(),
            mac: Mac::ZERO,
            mbufs: vec![std::ptr::null_mut(); BURST],
            oversize: 0,
        };
        // From here on, Drop unplugs the device on any error.
        let mut id = 0u16;
        // SAFETY: valid name; id is written on success.
        let r = unsafe { sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if r != 0 {
            return Err(fail("rte_eth_dev_get_port_by_name", r));
        }
        port.port_id = id;
        let pool = CString::new(format!("nectar_mp_{id}")).expect("no NUL");
        // SAFETY: valid name; the pool is freed in Drop.
        port.mp = unsafe {
            sys::rte_pktmbuf_pool_create(
                pool.as_ptr(),
                POOL_MBUFS,
                POOL_CACHE,
                0,
                sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
                -1,
            )
        };
        if port.mp.is_null() {
            return Err(DpdkError::Call {
                device: name.into(),
                call: "rte_pktmbuf_pool_create",
                reason: errno_text(),
            });
        }
        let conf = sys::rte_eth_conf::default();
        // SAFETY: id is a valid port; conf outlives the call.
        let r = unsafe { sys::rte_eth_dev_configure(id, 1, 1, &conf) };
        if r != 0 {
            return Err(fail("rte_eth_dev_configure", r));
        }
        let (mut nrx, mut ntx) = (RING, RING);
        // SAFETY: valid port; the counts are adjusted in place.
        let r = unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut nrx, &mut ntx) };
        if r != 0 {
            return Err(fail("rte_eth_dev_adjust_nb_rx_tx_desc", r));
        }
        // SAFETY: valid port, queue 0 of the configured 1, and a live mempool.
        let r =
            unsafe { sys::rte_eth_rx_queue_setup(id, 0, nrx, u32::MAX, std::ptr::null(), port.mp) };
        if r != 0 {
            return Err(fail("rte_eth_rx_queue_setup", r));
        }
        // SAFETY: as above.
        let r = unsafe { sys::rte_eth_tx_queue_setup(id, 0, ntx, u32::MAX, std::ptr::null()) };
        if r != 0 {
            return Err(fail("rte_eth_tx_queue_setup", r));
        }
        // SAFETY: a configured port.
        let r = unsafe { sys::rte_eth_dev_start(id) };
        if r != 0 {
            return Err(fail("rte_eth_dev_start", r));
        }
        // Not every PMD has a promiscuous mode (memif, ring): failing is fine.
        // SAFETY: a started port.
        unsafe { sys::rte_eth_promiscuous_enable(id) };
        let mut a = sys::rte_ether_addr::default();
        // SAFETY: a valid port; a is written on success.
        if unsafe { sys::rte_eth_macaddr_get(id, &mut a) } == 0 {
            port.mac = Mac(a.addr_bytes);
        }
        tracing::info!(device = devargs, port = id, mac = %port.mac, "DPDK port started");
        Ok(port)
    }

    /// The DPDK device name (e.g. `net_memif0`).
    pub fn device(&self) -> &str {
        &self.device
    }

    /// DPDK's port id.
    pub fn port_id(&self) -> u16 {
        self.port_id
    }

    /// Received frames dropped for being larger than a dataplane buffer.
    pub fn oversize_drops(&self) -> u64 {
        self.oversize
    }
}

impl Port for DpdkPort {
    fn driver(&self) -> &'static str {
        "dpdk"
    }

    fn mac(&self) -> Mac {
        self.mac
    }

    fn link_up(&self) -> bool {
        // SAFETY: a valid, started port.
        unsafe { sys::nectar_link_up(self.port_id) == 1 }
    }

    fn rx_burst(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let want = (max - n).min(BURST).min(pool.available().max(1));
            // SAFETY: mbufs has room for `want` pointers; queue 0 is set up and only this
            // thread polls it (the port is behind the dataplane's mutex).
            let got = unsafe {
                sys::rte_eth_rx_burst(self.port_id, 0, self.mbufs.as_mut_ptr(), want as u16)
            } as usize;
            for &m in &self.mbufs[..got] {
                if let Some(mut p) = pool.alloc() {
                    let room = p.tail_room_mut();
                    let cap = room.len().min(MAX_FRAME) as u32;
                    // SAFETY: m is a received mbuf; room is writable for cap bytes.
                    let len =
                        unsafe { sys::nectar_mbuf_copy_out(m, room.as_mut_ptr().cast(), cap) };
                    if len < 0 {
                        self.oversize += 1;
                        pool.free(p);
                    } else {
                        p.set_len(len as usize);
                        // A PMD on a kernel interface (net_af_packet, net_tap) passes on
                        // frames whose checksum the kernel left to the hardware without
                        // saying so: recognise them.
                        crate::offload::detect_partial(&mut p);
                        out.push(p);
                        n += 1;
                    }
                }
                // SAFETY: the mbuf is ours since rx_burst returned it; freed once.
                unsafe { sys::rte_pktmbuf_free(m) };
            }
            if got < want {
                break;
            }
        }
        n
    }

    fn tx_burst(&mut self, pkts: &mut Vec<Packet>, pool: &mut BufPool) -> TxResult {
        let mut r = TxResult::default();
        for chunk in pkts.chunks(BURST) {
            let mut k = 0;
            for p in chunk {
                let d = p.data();
                // SAFETY: d is valid for d.len() bytes; mp is this port's live pool.
                let m = unsafe {
                    sys::nectar_mbuf_from(
                        self.mp,
                        d.as_ptr().cast(),
                        d.len().min(u16::MAX as usize) as u16,
                    )
                };
                if m.is_null() {
                    r.dropped += 1;
                } else {
                    self.mbufs[k] = m;
                    k += 1;
                }
            }
            // SAFETY: the first k entries are mbufs we own; queue 0 is set up.
            let sent = unsafe {
                sys::rte_eth_tx_burst(self.port_id, 0, self.mbufs.as_mut_ptr(), k as u16)
            } as usize;
            for &m in &self.mbufs[sent..k] {
                // SAFETY: not taken by the driver, still ours.
                unsafe { sys::rte_pktmbuf_free(m) };
            }
            r.sent += sent;
            r.dropped += k - sent;
        }
        pool.free_all(pkts);
        r
    }
}

impl Drop for DpdkPort {
    fn drop(&mut self) {
        let _g = PLUG.lock().unwrap_or_else(|e| e.into_inner());
        if self.port_id != u16::MAX {
            // SAFETY: a valid port, no longer polled (we own it exclusively).
            unsafe {
                sys::rte_eth_dev_stop(self.port_id);
                sys::rte_eth_dev_close(self.port_id);
            }
        }
        if let Ok(name) = CString::new(self.device.as_str()) {
            // SAFETY: NUL-terminated strings; the device was plugged by open().
            unsafe { sys::rte_eal_hotplug_remove(c"vdev".as_ptr(), name.as_ptr()) };
        }
        if !self.mp.is_null() {
            // SAFETY: the port is closed, so no queue holds mbufs of this pool.
            unsafe { sys::rte_mempool_free(self.mp) };
        }
    }
}
