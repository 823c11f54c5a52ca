//! Ports for listeners the tests start.

/// A TCP port nobody listens on now on 127.0.0.1 (the kernel's pick; free until someone
/// binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
