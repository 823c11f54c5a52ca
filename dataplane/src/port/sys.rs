//! Thin, checked wrappers over the Linux calls the kernel-facing ports need (interface
//! ioctls, setsockopt, mmap). Every `unsafe` block of the port backends lives here or in
//! [`super::afpacket`]'s ring access, each with its SAFETY argument.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::types::Mac;

/// `struct ifreq` (40 bytes on 64-bit Linux): name plus a 24-byte union.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IfReq {
    /// Interface name, NUL-terminated.
    pub name: [u8; 16],
    /// The union (`ifr_flags`, `ifr_ifindex`, `ifr_hwaddr`...).
    pub data: [u8; 24],
}

impl IfReq {
    /// An ifreq for `name` (at most 15 bytes).
    pub fn new(name: &str) -> io::Result<IfReq> {
        let b = name.as_bytes();
        if b.is_empty() || b.len() > 15 || b.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad interface name {name:?}"),
            ));
        }
        let mut r = IfReq {
            name: [0; 16],
            data: [0; 24],
        };
        r.name[..b.len()].copy_from_slice(b);
        Ok(r)
    }
}

/// Runs an interface ioctl on `fd`.
pub fn ifreq_ioctl(fd: &OwnedFd, req: libc::c_ulong, r: &mut IfReq) -> io::Result<()> {
    // SAFETY: `r` is a valid, writable `struct ifreq`-sized buffer for the duration of the
    // call, and the requests used (SIOCGIF*, TUNSETIFF) read/write at most that struct.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, r as *mut IfReq) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// An ioctl whose argument is a plain integer.
pub fn ioctl_arg(fd: &OwnedFd, req: libc::c_ulong, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the requests used with this (TUNSETOFFLOAD) take their argument by value.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Interface index of `name`, asked through `fd` (so in `fd`'s network namespace).
pub fn if_index(fd: &OwnedFd, name: &str) -> io::Result<i32> {
    let mut r = IfReq::new(name)?;
    ifreq_ioctl(fd, libc::SIOCGIFINDEX as _, &mut r)?;
    Ok(i32::from_ne_bytes([
        r.data[0], r.data[1], r.data[2], r.data[3],
    ]))
}

/// Hardware address of `name`.
pub fn if_mac(fd: &OwnedFd, name: &str) -> io::Result<Mac> {
    let mut r = IfReq::new(name)?;
    ifreq_ioctl(fd, libc::SIOCGIFHWADDR as _, &mut r)?;
    Ok(Mac::from_slice(&r.data[2..8]))
}

/// Interface flags of `name` (IFF_UP, IFF_RUNNING...).
pub fn if_flags(fd: &OwnedFd, name: &str) -> io::Result<i32> {
    let mut r = IfReq::new(name)?;
    ifreq_ioctl(fd, libc::SIOCGIFFLAGS as _, &mut r)?;
    Ok(i16::from_ne_bytes([r.data[0], r.data[1]]) as u16 as i32)
}

/// Creates a socket.
pub fn socket(domain: i32, ty: i32, proto: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; on success we own the returned descriptor.
    let fd = unsafe { libc::socket(domain, ty, proto) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh, valid descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a path with `flags`.
pub fn open(path: &std::ffi::CStr, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; on success we own the descriptor.
    let fd = unsafe { libc::open(path.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt` with a plain-data value.
pub fn setsockopt<T: Copy>(fd: &OwnedFd, level: i32, name: i32, val: &T) -> io::Result<()> {
    // SAFETY: `val` points to `size_of::<T>()` readable bytes of a `Copy` (plain) value.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            val as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `bind` with a `sockaddr_ll`.
pub fn bind_ll(fd: &OwnedFd, ifindex: i32, proto_be: u16) -> io::Result<()> {
    // SAFETY: zeroed sockaddr_ll is a valid value; we then fill its fields.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = proto_be;
    sa.sll_ifindex = ifindex;
    // SAFETY: `sa` is a valid sockaddr_ll and the length matches it.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &sa as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A shared memory mapping of a descriptor, unmapped on drop.
#[derive(Debug)]
pub struct Mmap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory shared with the kernel; the owning port serialises
// access (it is used by one thread at a time behind the port's mutex).
unsafe impl Send for Mmap {}

impl Mmap {
    /// Maps `len` bytes of `fd` read/write, shared.
    pub fn new(fd: &OwnedFd, len: usize) -> io::Result<Mmap> {
        // SAFETY: requesting a fresh mapping (no fixed address); the kernel validates fd/len.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr: p as *mut u8,
            len,
        })
    }

    /// Base pointer.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if zero-length.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; nothing uses them afterwards.
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.len);
        }
    }
}

/// Non-blocking `read` into `buf`; `Ok(None)` when nothing is available.
pub fn read(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(n as usize))
}

/// `write` of `buf`.
pub fn write(fd: &OwnedFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
    let n = unsafe {
        libc::write(
            fd.as_raw_fd(),
            buf.as_ptr() as *const libc::c_void,
            buf.len(),
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// The two pieces `a`, `b` as an iovec array (read-only use).
fn iov2(a: &[u8], b: &[u8]) -> [libc::iovec; 2] {
    [a, b].map(|x| libc::iovec {
        iov_base: x.as_ptr() as *mut libc::c_void,
        iov_len: x.len(),
    })
}

/// Writes `a` then `b` in one `writev` (one frame to a TAP device).
pub fn write2(fd: &OwnedFd, a: &[u8], b: &[u8]) -> io::Result<usize> {
    let iov = iov2(a, b);
    // SAFETY: both pieces are valid for reads of their lengths for the duration of the call.
    let n = unsafe { libc::writev(fd.as_raw_fd(), iov.as_ptr(), iov.len() as i32) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Sends `a` then `b` as one datagram (`sendmsg` with two pieces), without blocking.
pub fn send2(fd: &OwnedFd, a: &[u8], b: &[u8]) -> io::Result<usize> {
    let mut iov = iov2(a, b);
    // SAFETY: zeroed msghdr is valid (no name, no control); it points at `iov`, whose
    // pieces are valid for reads of their lengths for the duration of the call.
    let n = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len();
        libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT)
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Reads and clears a socket's pending error (`SO_ERROR`); `Ok(0)` when there was none.
pub fn take_socket_error(fd: &OwnedFd) -> io::Result<i32> {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes; SO_ERROR writes one int.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            &mut v as *mut i32 as *mut libc::c_void,
            &mut len,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(v)
    }
}

/// An eventfd: a descriptor another thread makes readable ([`EventFd::signal`]) to wake a
/// worker waiting in [`wait_readable`].
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// A new, non-blocking eventfd.
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: plain syscall; on success we own the returned descriptor.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh descriptor nobody else owns.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Makes the descriptor readable.
    pub fn signal(&self) {
        let _ = write(&self.0, &1u64.to_ne_bytes());
    }

    /// Makes it unreadable again (after a wake-up).
    pub fn drain(&self) {
        let mut b = [0u8; 8];
        let _ = read(&self.0, &mut b);
    }

    /// The descriptor, for polling.
    pub fn raw(&self) -> i32 {
        self.0.as_raw_fd()
    }
}

/// Kicks the TX ring of a packet socket (`send` with no data).
pub fn kick(fd: &OwnedFd) {
    // SAFETY: a zero-length send with a null buffer is the documented TX-ring flush.
    unsafe {
        libc::send(fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT);
    }
}

/// Runs `f` on a new thread that has entered the network namespace at `ns_path` (e.g.
/// `/var/run/netns/NAME`), and returns its result. Sockets created inside `f` stay in that
/// namespace for their whole life, so ports can be opened there and used from anywhere.
pub fn in_netns<T: Send + 'static>(
    ns_path: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let path = std::ffi::CString::new(ns_path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in namespace path"))?;
    let h = std::thread::spawn(move || -> io::Result<T> {
        let fd = open(&path, libc::O_RDONLY | libc::O_CLOEXEC)?;
        // SAFETY: `fd` is an open namespace file; setns only changes this thread's namespace.
        let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(f())
    });
    h.join()
        .map_err(|_| io::Error::other("namespace thread panicked"))?
}

/// Waits until one of `fds` is readable (or reports an error) or `timeout_ms` passes
/// (-1: no limit). Returns the positions in `fds` whose descriptor reported an error or
/// hang-up.
pub fn wait_readable(fds: &[i32], timeout_ms: i32) -> Vec<usize> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `p` is a valid array of `p.len()` pollfd structs for the duration of the call.
    let n = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout_ms) };
    if n <= 0 {
        return Vec::new();
    }
    p.iter()
        .enumerate()
        .filter(|(_, x)| x.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0)
        .map(|(i, _)| i)
        .collect()
}
