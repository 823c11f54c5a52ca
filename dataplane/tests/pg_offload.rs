//! Super-frames and pending checksums through the whole graph on pg ports (which take no
//! offloads, so the worker segments and completes before transmitting): routing, NAT44,
//! MTU checks by segment size, counters by segment.

mod common;

use common::*;
use nectar_dataplane::control::*;
use nectar_dataplane::headers::*;
use nectar_dataplane::offload::{F_NEEDS_CSUM, GSO_TCP4, VnetHdr, layout};

const MSS: u16 = 1448;

/// A TCP super-frame from h1 (10.0.1.10) to 10.0.2.20 with `payload` bytes, DF set, its
/// checksum pending (the pseudo-header sum in the field), and its virtio-net header.
fn super_frame(payload: usize) -> (Vec<u8>, VnetHdr) {
    let data: Vec<u8> = (0..payload).map(|i| (i * 13 % 251) as u8).collect();
    let mut f = Builder::eth(port_mac(0), host(1))
        .ipv4(v4("10.0.1.10"), v4("10.0.2.20"))
        .tcp(40000, 5201, TCP_ACK)
        .payload(&data)
        .build();
    f[20] |= 0x40;
    fix_ipv4_checksum(&mut f[14..]);
    let l = layout(&f).unwrap();
    let len = (f.len() - l.l4) as u16;
    let s = checksum::pseudo_v4([10, 0, 1, 10], [10, 0, 2, 20], PROTO_TCP, len);
    let pseudo = !checksum::fold(s);
    f[l.l4 + 16..l.l4 + 18].copy_from_slice(&pseudo.to_be_bytes());
    let h = VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type: GSO_TCP4,
        hdr_len: l.headers() as u16,
        gso_size: MSS,
        csum_start: l.l4 as u16,
        csum_offset: 16,
    };
    (f, h)
}

fn lab() -> Lab {
    let lab = Lab::new(2);
    lab.routed("pg0", &["10.0.1.1/24"]);
    lab.routed("pg1", &["10.0.2.1/24"]);
    lab.arp_from(1, host(2), "10.0.2.20", "10.0.2.1");
    lab.out(1);
    lab
}

/// The segments' TCP payload in order, checking every segment's IP and TCP checksums.
fn payload_of(out: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for f in out {
        let ip = &f[14..];
        assert_eq!(checksum(&ip[..20]), 0, "IPv4 header checksum");
        let mut c = f.clone();
        fix_l4_checksum(&mut c[14..]);
        assert_eq!(&c, f, "TCP checksum");
        v.extend_from_slice(&f[54..]);
    }
    v
}

// Input: a routed 10,000-byte TCP super-frame (MSS 1448) with its checksum pending.
// Output: pg1 (no offloads) receives 7 segments with valid checksums carrying the payload
// in order; interface counters count 7 packets and their bytes, headers repeated.
#[test]
fn a_super_frame_is_routed_once_and_segmented_for_a_port_without_offloads() {
    let lab = lab();
    let s0 = lab.stats();
    let (r0, b0, t0) = (
        s0.interface("pg0").unwrap().rx_packets,
        s0.interface("pg0").unwrap().rx_bytes,
        s0.interface("pg1").unwrap().tx_packets,
    );
    let (f, h) = super_frame(10_000);
    lab.pg[0].send_offloaded(&f, h);
    lab.dp.poll();
    let out = lab.out(1);
    assert_eq!(out.len(), 7);
    assert!(out.iter().all(|s| s.len() <= 14 + 20 + 20 + MSS as usize));
    let want: Vec<u8> = f[54..].to_vec();
    assert_eq!(payload_of(&out), want);
    let s = lab.stats();
    let (i0, i1) = (s.interface("pg0").unwrap(), s.interface("pg1").unwrap());
    assert_eq!(i0.rx_packets - r0, 7);
    assert_eq!(i0.rx_bytes - b0, (f.len() + 6 * 54) as u64);
    assert_eq!(i1.tx_packets - t0, 7);
}

// Input: the same super-frame leaving by pg1 with IP MTU 1400 (segments of 1488 bytes do
// not fit), DF set; then with MTU 1500. Output: at 1400, an ICMP "fragmentation needed"
// with MTU 1400 back to h1 and nothing on pg1; at 1500, the segments pass.
#[test]
fn mtu_checks_use_the_segment_size() {
    let lab = lab();
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    lab.out(0);
    lab.apply(vec![Op::SetInterface {
        name: "pg1".into(),
        config: InterfaceConfig {
            admin_up: true,
            mtu: 1400,
            ..Default::default()
        },
    }]);
    let (f, h) = super_frame(6_000);
    lab.pg[0].send_offloaded(&f, h);
    lab.dp.poll();
    assert!(lab.out(1).is_empty());
    let back = lab.out(0);
    assert_eq!(back.len(), 1);
    let icmp = &back[0][34..];
    assert_eq!((icmp[0], icmp[1]), (ICMP_DEST_UNREACH, 4));
    assert_eq!(u16::from_be_bytes([icmp[6], icmp[7]]), 1400);
    lab.apply(vec![Op::SetInterface {
        name: "pg1".into(),
        config: InterfaceConfig {
            admin_up: true,
            mtu: 1500,
            ..Default::default()
        },
    }]);
    lab.pg[0].send_offloaded(&f, h);
    lab.dp.poll();
    assert_eq!(lab.out(1).len(), 5);
}

// Input: the super-frame through interface SNAT (pg0 inside, pg1 outside). Output: every
// segment carries the outside address and port, with checksums valid for them (the pending
// checksum's pseudo-header sum was refreshed by NAT, not patched as a complete one).
#[test]
fn nat_keeps_a_pending_checksum_right() {
    let lab = lab();
    lab.apply(vec![
        Op::SetInterface {
            name: "pg0".into(),
            config: InterfaceConfig {
                admin_up: true,
                nat: NatRole::Inside,
                ..Default::default()
            },
        },
        Op::SetInterface {
            name: "pg1".into(),
            config: InterfaceConfig {
                admin_up: true,
                nat: NatRole::Outside,
                ..Default::default()
            },
        },
    ]);
    let (f, h) = super_frame(5_000);
    lab.pg[0].send_offloaded(&f, h);
    lab.dp.poll();
    let out = lab.out(1);
    assert_eq!(out.len(), 4);
    for s in &out {
        assert_eq!(&s[26..30], &[10, 0, 2, 1], "source translated");
    }
    assert_eq!(payload_of(&out), f[54..].to_vec());
}
