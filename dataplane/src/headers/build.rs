//! Building headers: slice writers used by the dataplane to generate packets (ARP, ND, ICMP
//! errors) into pooled buffers, and [`Builder`], a convenience that assembles whole frames
//! (with correct lengths and checksums) for tests, fixtures and benchmarks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum::{checksum, fold, pseudo_v4, pseudo_v6, sum_bytes};
use super::parse::*;
use crate::types::Mac;

/// Writes an Ethernet header (with an optional 802.1Q tag) at the start of `b`; returns its length.
pub fn write_eth(b: &mut [u8], dst: Mac, src: Mac, vlan: Option<u16>, ethertype: u16) -> usize {
    b[0..6].copy_from_slice(&dst.0);
    b[6..12].copy_from_slice(&src.0);
    match vlan {
        Some(vid) => {
            b[12..14].copy_from_slice(&ETH_P_8021Q.to_be_bytes());
            b[14..16].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
            b[16..18].copy_from_slice(&ethertype.to_be_bytes());
            18
        }
        None => {
            b[12..14].copy_from_slice(&ethertype.to_be_bytes());
            14
        }
    }
}

/// Writes an Ethernet/IPv4 ARP packet at the start of `b`; returns [`ARP_LEN`].
pub fn write_arp(b: &mut [u8], op: u16, sha: Mac, spa: Ipv4Addr, tha: Mac, tpa: Ipv4Addr) -> usize {
    b[0..2].copy_from_slice(&1u16.to_be_bytes());
    b[2..4].copy_from_slice(&ETH_P_IPV4.to_be_bytes());
    b[4] = 6;
    b[5] = 4;
    b[6..8].copy_from_slice(&op.to_be_bytes());
    b[8..14].copy_from_slice(&sha.0);
    b[14..18].copy_from_slice(&spa.octets());
    b[18..24].copy_from_slice(&tha.0);
    b[24..28].copy_from_slice(&tpa.octets());
    ARP_LEN
}

/// Writes a 20-byte IPv4 header (checksum computed) for `payload_len` bytes of payload.
pub fn write_ipv4(
    b: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ttl: u8,
    payload_len: usize,
) -> usize {
    b[0] = 0x45;
    b[1] = 0;
    b[2..4].copy_from_slice(&((20 + payload_len) as u16).to_be_bytes());
    b[4..6].copy_from_slice(&0u16.to_be_bytes());
    b[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    b[8] = ttl;
    b[9] = proto;
    b[10..12].fill(0);
    b[12..16].copy_from_slice(&src.octets());
    b[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&b[..20]);
    b[10..12].copy_from_slice(&c.to_be_bytes());
    20
}

/// Writes a 40-byte IPv6 header.
pub fn write_ipv6(
    b: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next: u8,
    hop_limit: u8,
    payload_len: usize,
) -> usize {
    b[0..4].copy_from_slice(&(6u32 << 28).to_be_bytes());
    b[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
    b[6] = next;
    b[7] = hop_limit;
    b[8..24].copy_from_slice(&src.octets());
    b[24..40].copy_from_slice(&dst.octets());
    IPV6_LEN
}

/// Recomputes the IPv4 header checksum of the header at the start of `ip`.
pub fn fix_ipv4_checksum(ip: &mut [u8]) {
    let hl = ((ip[0] & 0x0f) as usize) * 4;
    ip[10..12].fill(0);
    let c = checksum(&ip[..hl]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the L4 checksum (TCP, UDP, ICMP, ICMPv6) of the IP packet at the start of `ip`.
/// Does nothing for other protocols or malformed packets.
pub fn fix_l4_checksum(ip: &mut [u8]) {
    let (proto, l4_off, l4_len, pseudo) = match ip.first().map(|v| v >> 4) {
        Some(4) => {
            let Ok(h) = Ipv4::parse(ip) else { return };
            if h.is_later_fragment() {
                return;
            }
            let len = h.total_len as usize - h.header_len;
            let ps = if h.proto == PROTO_ICMP {
                0
            } else {
                pseudo_v4(h.src.octets(), h.dst.octets(), h.proto, len as u16)
            };
            (h.proto, h.header_len, len, ps)
        }
        Some(6) => {
            let Ok(h) = Ipv6::parse(ip) else { return };
            let len = h.payload_len as usize;
            let ps = pseudo_v6(h.src.octets(), h.dst.octets(), h.next_header, len as u32);
            (h.next_header, IPV6_LEN, len, ps)
        }
        _ => return,
    };
    let at = match proto {
        PROTO_TCP if l4_len >= 20 => 16,
        PROTO_UDP if l4_len >= 8 => 6,
        PROTO_ICMP | PROTO_ICMPV6 if l4_len >= 4 => 2,
        _ => return,
    };
    let l4 = &mut ip[l4_off..l4_off + l4_len];
    l4[at..at + 2].fill(0);
    let mut c = fold(sum_bytes(pseudo, l4));
    if proto == PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// The transport layer of a [`Builder`] frame.
#[derive(Debug, Clone)]
enum L4 {
    None,
    Udp(u16, u16),
    Tcp {
        sport: u16,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
    },
    Icmp {
        typ: u8,
        code: u8,
        rest: u32,
    },
}

/// The network layer of a [`Builder`] frame.
#[derive(Debug, Clone)]
enum L3 {
    None,
    V4 {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        proto: Option<u8>,
    },
    V6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop: u8,
        next: Option<u8>,
    },
    Arp(Arp),
}

/// Assembles complete frames for tests and benchmarks: Ethernet (+VLAN), then ARP or
/// IPv4/IPv6, then TCP/UDP/ICMP, then payload, with lengths and checksums filled in.
///
/// ```
/// use nectar_dataplane::headers::Builder;
/// let f = Builder::eth("02:00:00:00:00:02".parse().unwrap(), "02:00:00:00:00:01".parse().unwrap())
///     .ipv4("10.0.0.1".parse().unwrap(), "10.0.1.1".parse().unwrap())
///     .udp(1000, 2000)
///     .payload(&[0; 18])
///     .build();
/// assert_eq!(f.len(), 60);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    dst: Mac,
    src: Mac,
    vlan: Option<u16>,
    l3: L3,
    l4: L4,
    payload: Vec<u8>,
}

impl Builder {
    /// Starts a frame from `src` to `dst`.
    pub fn eth(dst: Mac, src: Mac) -> Builder {
        Builder {
            dst,
            src,
            vlan: None,
            l3: L3::None,
            l4: L4::None,
            payload: Vec::new(),
        }
    }

    /// Adds an 802.1Q tag.
    pub fn vlan(mut self, vid: u16) -> Builder {
        self.vlan = Some(vid);
        self
    }

    /// IPv4 layer (TTL 64).
    pub fn ipv4(mut self, src: Ipv4Addr, dst: Ipv4Addr) -> Builder {
        self.l3 = L3::V4 {
            src,
            dst,
            ttl: 64,
            proto: None,
        };
        self
    }

    /// IPv6 layer (hop limit 64).
    pub fn ipv6(mut self, src: Ipv6Addr, dst: Ipv6Addr) -> Builder {
        self.l3 = L3::V6 {
            src,
            dst,
            hop: 64,
            next: None,
        };
        self
    }

    /// IPv4 or IPv6 layer by address family (both must match).
    pub fn ip(self, src: IpAddr, dst: IpAddr) -> Builder {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => self.ipv4(s, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => self.ipv6(s, d),
            _ => panic!("mixed address families"),
        }
    }

    /// Sets TTL / hop limit.
    pub fn ttl(mut self, t: u8) -> Builder {
        match &mut self.l3 {
            L3::V4 { ttl, .. } => *ttl = t,
            L3::V6 { hop, .. } => *hop = t,
            _ => {}
        }
        self
    }

    /// Forces the IP protocol / next header (for raw payloads).
    pub fn proto(mut self, p: u8) -> Builder {
        match &mut self.l3 {
            L3::V4 { proto, .. } => *proto = Some(p),
            L3::V6 { next, .. } => *next = Some(p),
            _ => {}
        }
        self
    }

    /// ARP layer.
    pub fn arp(mut self, op: u16, sha: Mac, spa: Ipv4Addr, tha: Mac, tpa: Ipv4Addr) -> Builder {
        self.l3 = L3::Arp(Arp {
            op,
            sha,
            spa,
            tha,
            tpa,
        });
        self
    }

    /// UDP layer.
    pub fn udp(mut self, sport: u16, dport: u16) -> Builder {
        self.l4 = L4::Udp(sport, dport);
        self
    }

    /// TCP layer.
    pub fn tcp(mut self, sport: u16, dport: u16, flags: u8) -> Builder {
        self.l4 = L4::Tcp {
            sport,
            dport,
            flags,
            seq: 1,
            ack: 0,
        };
        self
    }

    /// ICMP (or ICMPv6 on an IPv6 layer) with type, code and the 4 bytes after the checksum.
    pub fn icmp(mut self, typ: u8, code: u8, rest: u32) -> Builder {
        self.l4 = L4::Icmp { typ, code, rest };
        self
    }

    /// ICMP/ICMPv6 echo request with identifier and sequence.
    pub fn echo_request(self, id: u16, seq: u16) -> Builder {
        let typ = if matches!(self.l3, L3::V6 { .. }) {
            ICMP6_ECHO_REQUEST
        } else {
            ICMP_ECHO_REQUEST
        };
        self.icmp(typ, 0, ((id as u32) << 16) | seq as u32)
    }

    /// Payload bytes after the last header.
    pub fn payload(mut self, p: &[u8]) -> Builder {
        self.payload = p.to_vec();
        self
    }

    /// Assembles the frame.
    pub fn build(&self) -> Vec<u8> {
        let mut l4 = vec![0u8; 0];
        let l4_proto = match self.l4 {
            L4::None => None,
            L4::Udp(s, d) => {
                l4.resize(8, 0);
                l4[0..2].copy_from_slice(&s.to_be_bytes());
                l4[2..4].copy_from_slice(&d.to_be_bytes());
                l4[4..6].copy_from_slice(&((8 + self.payload.len()) as u16).to_be_bytes());
                Some(PROTO_UDP)
            }
            L4::Tcp {
                sport,
                dport,
                flags,
                seq,
                ack,
            } => {
                l4.resize(20, 0);
                l4[0..2].copy_from_slice(&sport.to_be_bytes());
                l4[2..4].copy_from_slice(&dport.to_be_bytes());
                l4[4..8].copy_from_slice(&seq.to_be_bytes());
                l4[8..12].copy_from_slice(&ack.to_be_bytes());
                l4[12] = 5 << 4;
                l4[13] = flags;
                l4[14..16].copy_from_slice(&65535u16.to_be_bytes());
                Some(PROTO_TCP)
            }
            L4::Icmp { typ, code, rest } => {
                l4.resize(8, 0);
                l4[0] = typ;
                l4[1] = code;
                l4[4..8].copy_from_slice(&rest.to_be_bytes());
                Some(if matches!(self.l3, L3::V6 { .. }) {
                    PROTO_ICMPV6
                } else {
                    PROTO_ICMP
                })
            }
        };
        l4.extend_from_slice(&self.payload);
        let mut out = vec![0u8; 18];
        let (ethertype, l3) = match &self.l3 {
            L3::None => (0x88b5, l4),
            L3::Arp(a) => {
                let mut b = vec![0u8; ARP_LEN];
                write_arp(&mut b, a.op, a.sha, a.spa, a.tha, a.tpa);
                (ETH_P_ARP, b)
            }
            L3::V4 {
                src,
                dst,
                ttl,
                proto,
            } => {
                let mut b = vec![0u8; 20 + l4.len()];
                let p = proto.or(l4_proto).unwrap_or(253);
                write_ipv4(&mut b, *src, *dst, p, *ttl, l4.len());
                b[20..].copy_from_slice(&l4);
                fix_l4_checksum(&mut b);
                (ETH_P_IPV4, b)
            }
            L3::V6 {
                src,
                dst,
                hop,
                next,
            } => {
                let mut b = vec![0u8; IPV6_LEN + l4.len()];
                let p = next.or(l4_proto).unwrap_or(59);
                write_ipv6(&mut b, *src, *dst, p, *hop, l4.len());
                b[IPV6_LEN..].copy_from_slice(&l4);
                fix_l4_checksum(&mut b);
                (ETH_P_IPV6, b)
            }
        };
        let n = write_eth(&mut out, self.dst, self.src, self.vlan, ethertype);
        out.truncate(n);
        out.extend_from_slice(&l3);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_udp_frame_parses_back_with_valid_checksums() {
        let m1: Mac = "02:00:00:00:00:01".parse().unwrap();
        let m2: Mac = "02:00:00:00:00:02".parse().unwrap();
        let f = Builder::eth(m2, m1)
            .vlan(7)
            .ipv4("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
            .udp(53, 1234)
            .payload(b"hello")
            .build();
        let e = Ethernet::parse(&f).unwrap();
        assert_eq!(e.vlan.unwrap().vid, 7);
        let ip = &f[e.header_len..];
        let h = Ipv4::parse(ip).unwrap();
        assert_eq!(checksum(&ip[..20]), 0);
        let u = Udp::parse(&ip[20..]).unwrap();
        assert_eq!((u.src_port, u.dst_port, u.len), (53, 1234, 13));
        let ps = pseudo_v4(h.src.octets(), h.dst.octets(), PROTO_UDP, 13);
        assert_eq!(fold(sum_bytes(ps, &ip[20..])), 0);
    }

    #[test]
    fn built_icmpv6_checksum_verifies() {
        let m: Mac = "02:00:00:00:00:01".parse().unwrap();
        let f = Builder::eth(m, m)
            .ipv6(
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            )
            .echo_request(1, 2)
            .build();
        let ip = &f[14..];
        let h = Ipv6::parse(ip).unwrap();
        assert_eq!(h.next_header, PROTO_ICMPV6);
        let ps = pseudo_v6(h.src.octets(), h.dst.octets(), PROTO_ICMPV6, 8);
        assert_eq!(fold(sum_bytes(ps, &ip[40..])), 0);
    }
}
