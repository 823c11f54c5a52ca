//! Typed, layered parsing of the headers the dataplane handles.
//!
//! Every parser takes a byte slice starting at its header, checks lengths before reading and
//! returns a small `Copy` struct or a [`ParseError`]: malformed input never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::Mac;

/// EtherType IPv4.
pub const ETH_P_IPV4: u16 = 0x0800;
/// EtherType ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// EtherType IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// EtherType 802.1Q VLAN tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// IP protocol ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;
/// Ethernet header length without tags.
pub const ETH_LEN: usize = 14;

/// Why a header could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the header needs.
    #[error("truncated {0} header")]
    Truncated(&'static str),
    /// Version field is not what the header requires.
    #[error("bad {0} version")]
    BadVersion(&'static str),
    /// A length field is inconsistent with the header or the buffer.
    #[error("bad {0} length")]
    BadLength(&'static str),
    /// A field holds a value the parser does not support.
    #[error("unsupported {0}")]
    Unsupported(&'static str),
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vlan {
    /// Priority code point.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN id (0..=4095).
    pub vid: u16,
}

/// An Ethernet II header with at most one 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ethernet {
    /// Destination MAC.
    pub dst: Mac,
    /// Source MAC.
    pub src: Mac,
    /// The 802.1Q tag, if any.
    pub vlan: Option<Vlan>,
    /// EtherType of the payload (after the tag).
    pub ethertype: u16,
    /// Header length including the tag (14 or 18).
    pub header_len: usize,
}

impl Ethernet {
    /// Parses an Ethernet header at the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Ethernet, ParseError> {
        if b.len() < ETH_LEN {
            return Err(ParseError::Truncated("ethernet"));
        }
        let et = be16(b, 12);
        let (vlan, ethertype, header_len) = if et == ETH_P_8021Q {
            if b.len() < ETH_LEN + 4 {
                return Err(ParseError::Truncated("802.1q"));
            }
            let tci = be16(b, 14);
            (
                Some(Vlan {
                    pcp: (tci >> 13) as u8,
                    dei: tci & 0x1000 != 0,
                    vid: tci & 0x0fff,
                }),
                be16(b, 16),
                ETH_LEN + 4,
            )
        } else {
            (None, et, ETH_LEN)
        };
        if ethertype < 0x0600 {
            return Err(ParseError::Unsupported("802.3 length frame"));
        }
        Ok(Ethernet {
            dst: Mac::from_slice(&b[0..6]),
            src: Mac::from_slice(&b[6..12]),
            vlan,
            ethertype,
            header_len,
        })
    }
}

/// ARP operation request.
pub const ARP_REQUEST: u16 = 1;
/// ARP operation reply.
pub const ARP_REPLY: u16 = 2;
/// Length of an Ethernet/IPv4 ARP packet.
pub const ARP_LEN: usize = 28;

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// Operation (1 request, 2 reply).
    pub op: u16,
    /// Sender hardware address.
    pub sha: Mac,
    /// Sender protocol address.
    pub spa: Ipv4Addr,
    /// Target hardware address.
    pub tha: Mac,
    /// Target protocol address.
    pub tpa: Ipv4Addr,
}

impl Arp {
    /// Parses an ARP packet (only hardware Ethernet, protocol IPv4).
    pub fn parse(b: &[u8]) -> Result<Arp, ParseError> {
        if b.len() < ARP_LEN {
            return Err(ParseError::Truncated("arp"));
        }
        if be16(b, 0) != 1 || be16(b, 2) != ETH_P_IPV4 || b[4] != 6 || b[5] != 4 {
            return Err(ParseError::Unsupported("arp hardware/protocol"));
        }
        Ok(Arp {
            op: be16(b, 6),
            sha: Mac::from_slice(&b[8..14]),
            spa: Ipv4Addr::new(b[14], b[15], b[16], b[17]),
            tha: Mac::from_slice(&b[18..24]),
            tpa: Ipv4Addr::new(b[24], b[25], b[26], b[27]),
        })
    }
}

/// An IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4 {
    /// Header length in bytes (IHL * 4).
    pub header_len: usize,
    /// DSCP and ECN.
    pub tos: u8,
    /// Total length field.
    pub total_len: u16,
    /// Identification.
    pub id: u16,
    /// Flags (3 bits) and fragment offset (13 bits).
    pub flags_frag: u16,
    /// Time to live.
    pub ttl: u8,
    /// Payload protocol.
    pub proto: u8,
    /// Header checksum as received.
    pub checksum: u16,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
}

impl Ipv4 {
    /// Parses an IPv4 header; checks version, IHL and that the buffer holds the total length.
    pub fn parse(b: &[u8]) -> Result<Ipv4, ParseError> {
        if b.len() < 20 {
            return Err(ParseError::Truncated("ipv4"));
        }
        if b[0] >> 4 != 4 {
            return Err(ParseError::BadVersion("ipv4"));
        }
        let header_len = ((b[0] & 0x0f) as usize) * 4;
        let total_len = be16(b, 2);
        if header_len < 20 || b.len() < header_len {
            return Err(ParseError::BadLength("ipv4 header"));
        }
        if (total_len as usize) < header_len || (total_len as usize) > b.len() {
            return Err(ParseError::BadLength("ipv4 total"));
        }
        Ok(Ipv4 {
            header_len,
            tos: b[1],
            total_len,
            id: be16(b, 4),
            flags_frag: be16(b, 6),
            ttl: b[8],
            proto: b[9],
            checksum: be16(b, 10),
            src: Ipv4Addr::new(b[12], b[13], b[14], b[15]),
            dst: Ipv4Addr::new(b[16], b[17], b[18], b[19]),
        })
    }

    /// True if this is a fragment other than a whole datagram.
    pub fn is_fragment(&self) -> bool {
        self.flags_frag & 0x3fff != 0
    }

    /// True if this is a non-first fragment (no L4 header).
    pub fn is_later_fragment(&self) -> bool {
        self.flags_frag & 0x1fff != 0
    }

    /// True if Don't Fragment is set.
    pub fn dont_fragment(&self) -> bool {
        self.flags_frag & 0x4000 != 0
    }
}

/// An IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6 {
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Payload length.
    pub payload_len: u16,
    /// Next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
}

/// Length of the IPv6 fixed header.
pub const IPV6_LEN: usize = 40;

impl Ipv6 {
    /// Parses an IPv6 header; checks version and that the payload fits the buffer.
    pub fn parse(b: &[u8]) -> Result<Ipv6, ParseError> {
        if b.len() < IPV6_LEN {
            return Err(ParseError::Truncated("ipv6"));
        }
        if b[0] >> 4 != 6 {
            return Err(ParseError::BadVersion("ipv6"));
        }
        let w = be32(b, 0);
        let payload_len = be16(b, 4);
        if IPV6_LEN + payload_len as usize > b.len() {
            return Err(ParseError::BadLength("ipv6 payload"));
        }
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s.copy_from_slice(&b[8..24]);
        d.copy_from_slice(&b[24..40]);
        Ok(Ipv6 {
            traffic_class: (w >> 20) as u8,
            flow_label: w & 0xfffff,
            payload_len,
            next_header: b[6],
            hop_limit: b[7],
            src: Ipv6Addr::from(s),
            dst: Ipv6Addr::from(d),
        })
    }
}

/// TCP flag FIN.
pub const TCP_FIN: u8 = 0x01;
/// TCP flag SYN.
pub const TCP_SYN: u8 = 0x02;
/// TCP flag RST.
pub const TCP_RST: u8 = 0x04;
/// TCP flag ACK.
pub const TCP_ACK: u8 = 0x10;

/// A TCP header (options not decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Header length in bytes.
    pub header_len: usize,
    /// Flags (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR).
    pub flags: u8,
    /// Window.
    pub window: u16,
    /// Checksum as received.
    pub checksum: u16,
}

impl Tcp {
    /// Parses a TCP header.
    pub fn parse(b: &[u8]) -> Result<Tcp, ParseError> {
        if b.len() < 20 {
            return Err(ParseError::Truncated("tcp"));
        }
        let header_len = ((b[12] >> 4) as usize) * 4;
        if header_len < 20 || header_len > b.len() {
            return Err(ParseError::BadLength("tcp header"));
        }
        Ok(Tcp {
            src_port: be16(b, 0),
            dst_port: be16(b, 2),
            seq: be32(b, 4),
            ack: be32(b, 8),
            header_len,
            flags: b[13],
            window: be16(b, 14),
            checksum: be16(b, 16),
        })
    }
}

/// A UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length (header + payload).
    pub len: u16,
    /// Checksum (0 = none, IPv4 only).
    pub checksum: u16,
}

impl Udp {
    /// Parses a UDP header and checks its length field against the buffer.
    pub fn parse(b: &[u8]) -> Result<Udp, ParseError> {
        if b.len() < 8 {
            return Err(ParseError::Truncated("udp"));
        }
        let len = be16(b, 4);
        if (len as usize) < 8 || len as usize > b.len() {
            return Err(ParseError::BadLength("udp"));
        }
        Ok(Udp {
            src_port: be16(b, 0),
            dst_port: be16(b, 2),
            len,
            checksum: be16(b, 6),
        })
    }
}

/// ICMPv4 echo reply type.
pub const ICMP_ECHO_REPLY: u8 = 0;
/// ICMPv4 destination unreachable type.
pub const ICMP_DEST_UNREACH: u8 = 3;
/// ICMPv4 echo request type.
pub const ICMP_ECHO_REQUEST: u8 = 8;
/// ICMPv4 time exceeded type.
pub const ICMP_TIME_EXCEEDED: u8 = 11;
/// ICMPv6 destination unreachable.
pub const ICMP6_DEST_UNREACH: u8 = 1;
/// ICMPv6 packet too big.
pub const ICMP6_PACKET_TOO_BIG: u8 = 2;
/// ICMPv6 time exceeded.
pub const ICMP6_TIME_EXCEEDED: u8 = 3;
/// ICMPv6 echo request.
pub const ICMP6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 echo reply.
pub const ICMP6_ECHO_REPLY: u8 = 129;
/// ICMPv6 neighbor solicitation.
pub const ICMP6_NS: u8 = 135;
/// ICMPv6 neighbor advertisement.
pub const ICMP6_NA: u8 = 136;

/// An ICMP or ICMPv6 header (the same 8-byte layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp {
    /// Type.
    pub typ: u8,
    /// Code.
    pub code: u8,
    /// Checksum.
    pub checksum: u16,
    /// The four bytes after the checksum (identifier and sequence for echo).
    pub rest: u32,
}

impl Icmp {
    /// Parses an ICMP/ICMPv6 header.
    pub fn parse(b: &[u8]) -> Result<Icmp, ParseError> {
        if b.len() < 8 {
            return Err(ParseError::Truncated("icmp"));
        }
        Ok(Icmp {
            typ: b[0],
            code: b[1],
            checksum: be16(b, 2),
            rest: be32(b, 4),
        })
    }

    /// Echo identifier.
    pub fn echo_id(&self) -> u16 {
        (self.rest >> 16) as u16
    }

    /// True for echo request/reply (v4 or v6), whose identifier acts like a port.
    pub fn is_echo(&self) -> bool {
        matches!(
            self.typ,
            ICMP_ECHO_REQUEST | ICMP_ECHO_REPLY | ICMP6_ECHO_REQUEST | ICMP6_ECHO_REPLY
        )
    }
}

/// The transport part of a flow: ports, or ICMP type/code and echo identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct L4Info {
    /// Source port (ICMP echo: identifier).
    pub sport: u16,
    /// Destination port (ICMP echo: identifier).
    pub dport: u16,
    /// TCP flags (0 for other protocols).
    pub tcp_flags: u8,
    /// ICMP type (0 for other protocols).
    pub icmp_type: u8,
    /// ICMP code.
    pub icmp_code: u8,
    /// True when a transport header was present and parsed.
    pub valid: bool,
}

/// Extracts ports/ICMP fields of protocol `proto` from an L4 header at the start of `b`.
/// Unknown protocols and truncated headers give an `L4Info` with `valid == false`.
pub fn l4_info(proto: u8, b: &[u8]) -> L4Info {
    match proto {
        PROTO_TCP => match Tcp::parse(b) {
            Ok(t) => L4Info {
                sport: t.src_port,
                dport: t.dst_port,
                tcp_flags: t.flags,
                valid: true,
                ..Default::default()
            },
            Err(_) => L4Info::default(),
        },
        PROTO_UDP => {
            if b.len() < 8 {
                return L4Info::default();
            }
            L4Info {
                sport: be16(b, 0),
                dport: be16(b, 2),
                valid: true,
                ..Default::default()
            }
        }
        PROTO_ICMP | PROTO_ICMPV6 => match Icmp::parse(b) {
            Ok(i) => {
                let id = if i.is_echo() { i.echo_id() } else { 0 };
                L4Info {
                    sport: id,
                    dport: id,
                    icmp_type: i.typ,
                    icmp_code: i.code,
                    valid: true,
                    ..Default::default()
                }
            }
            Err(_) => L4Info::default(),
        },
        _ => L4Info::default(),
    }
}

/// The L3/L4 view of an IP packet used by ACLs, conntrack and NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol.
    pub proto: u8,
    /// Transport details.
    pub l4: L4Info,
}

/// Parses the flow of an IP packet whose L3 header starts at `b` (IPv4 or IPv6 by version).
pub fn flow_of(b: &[u8]) -> Option<Flow> {
    match b.first()? >> 4 {
        4 => {
            let h = Ipv4::parse(b).ok()?;
            let l4 = if h.is_later_fragment() {
                L4Info::default()
            } else {
                l4_info(h.proto, &b[h.header_len..h.total_len as usize])
            };
            Some(Flow {
                src: IpAddr::V4(h.src),
                dst: IpAddr::V4(h.dst),
                proto: h.proto,
                l4,
            })
        }
        6 => {
            let h = Ipv6::parse(b).ok()?;
            let end = IPV6_LEN + h.payload_len as usize;
            Some(Flow {
                src: IpAddr::V6(h.src),
                dst: IpAddr::V6(h.dst),
                proto: h.next_header,
                l4: l4_info(h.next_header, &b[IPV6_LEN..end]),
            })
        }
        _ => None,
    }
}

/// ICMP error types whose message quotes the offending packet: destination unreachable,
/// source quench, time exceeded, parameter problem (ICMPv6: every type below 128).
fn is_icmp4_error(t: u8) -> bool {
    matches!(t, ICMP_DEST_UNREACH | 4 | ICMP_TIME_EXCEEDED | 12)
}

/// Ports (TCP, UDP: the first 4 bytes are enough) or echo identifier of a quoted packet's
/// transport header, which an ICMP error may quote only in part.
fn quoted_l4(proto: u8, b: &[u8]) -> L4Info {
    match proto {
        PROTO_TCP | PROTO_UDP if b.len() >= 4 => L4Info {
            sport: be16(b, 0),
            dport: be16(b, 2),
            valid: true,
            ..Default::default()
        },
        PROTO_ICMP | PROTO_ICMPV6 if b.len() >= 8 => {
            let echo = matches!(
                b[0],
                ICMP_ECHO_REQUEST | ICMP_ECHO_REPLY | ICMP6_ECHO_REQUEST | ICMP6_ECHO_REPLY
            );
            let id = if echo { be16(b, 4) } else { 0 };
            L4Info {
                sport: id,
                dport: id,
                icmp_type: b[0],
                icmp_code: b[1],
                valid: true,
                ..Default::default()
            }
        }
        _ => L4Info::default(),
    }
}

/// For an ICMP or ICMPv6 error message (the IP packet at the start of `b`), the offset in
/// `b` of the packet it quotes and that packet's flow, read from what the quote holds (its
/// own length fields describe the original and are not checked). `None` for anything else.
pub fn icmp_error_quote(b: &[u8]) -> Option<(usize, Flow)> {
    match b.first()? >> 4 {
        4 => {
            let h = Ipv4::parse(b).ok()?;
            if h.proto != PROTO_ICMP || h.is_later_fragment() {
                return None;
            }
            let icmp = &b[h.header_len..h.total_len as usize];
            if icmp.len() < 8 + 20 || !is_icmp4_error(icmp[0]) {
                return None;
            }
            let q = &icmp[8..];
            let qhl = ((q[0] & 0x0f) as usize) * 4;
            if q[0] >> 4 != 4 || qhl < 20 || q.len() < qhl {
                return None;
            }
            let later = be16(q, 6) & 0x1fff != 0;
            Some((
                h.header_len + 8,
                Flow {
                    src: IpAddr::V4(Ipv4Addr::new(q[12], q[13], q[14], q[15])),
                    dst: IpAddr::V4(Ipv4Addr::new(q[16], q[17], q[18], q[19])),
                    proto: q[9],
                    l4: if later {
                        L4Info::default()
                    } else {
                        quoted_l4(q[9], &q[qhl..])
                    },
                },
            ))
        }
        6 => {
            let h = Ipv6::parse(b).ok()?;
            let icmp = &b[IPV6_LEN..IPV6_LEN + h.payload_len as usize];
            if h.next_header != PROTO_ICMPV6 || icmp.len() < 8 + IPV6_LEN || icmp[0] >= 128 {
                return None;
            }
            let q = &icmp[8..];
            if q[0] >> 4 != 6 {
                return None;
            }
            let addr = |at: usize| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&q[at..at + 16]);
                IpAddr::V6(a.into())
            };
            Some((
                IPV6_LEN + 8,
                Flow {
                    src: addr(8),
                    dst: addr(24),
                    proto: q[6],
                    l4: quoted_l4(q[6], &q[IPV6_LEN..]),
                },
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An ICMP echo request as `ping -c1 10.0.0.2` sends it (id 5, seq 1), with an 802.1Q tag 10
    // and 8 bytes of payload.
    const TAGGED_PING: [u8; 54] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x81, 0x00, 0x00,
        0x0a, 0x08, 0x00, 0x45, 0x00, 0x00, 0x24, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0x14, 0xa3,
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x00, 0xf7, 0xf9, 0x00, 0x05, 0x00,
        0x01, 1, 2, 3, 4, 5, 6, 7, 8,
    ];

    #[test]
    fn tagged_icmp_echo_parses_layer_by_layer() {
        let e = Ethernet::parse(&TAGGED_PING).unwrap();
        assert_eq!(e.vlan.unwrap().vid, 10);
        assert_eq!(e.ethertype, ETH_P_IPV4);
        assert_eq!(e.header_len, 18);
        assert_eq!(e.src.to_string(), "02:00:00:00:00:01");
        let ip = Ipv4::parse(&TAGGED_PING[18..]).unwrap();
        assert_eq!(ip.src, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(ip.dst, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(ip.ttl, 64);
        assert!(ip.dont_fragment() && !ip.is_fragment());
        assert_eq!(crate::headers::checksum(&TAGGED_PING[18..38]), 0);
        let icmp = Icmp::parse(&TAGGED_PING[38..]).unwrap();
        assert_eq!((icmp.typ, icmp.echo_id()), (ICMP_ECHO_REQUEST, 5));
        let f = flow_of(&TAGGED_PING[18..]).unwrap();
        assert_eq!((f.proto, f.l4.sport, f.l4.icmp_type), (PROTO_ICMP, 5, 8));
    }

    #[test]
    fn arp_request_fixture() {
        let arp: [u8; 28] = [
            0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
        ];
        let a = Arp::parse(&arp).unwrap();
        assert_eq!(a.op, ARP_REQUEST);
        assert_eq!(a.tpa, Ipv4Addr::new(10, 0, 0, 2));
        assert!(Arp::parse(&arp[..27]).is_err());
    }

    #[test]
    fn malformed_lengths_are_rejected() {
        let mut ip = TAGGED_PING[18..].to_vec();
        ip[0] = 0x44; // IHL 4
        assert_eq!(Ipv4::parse(&ip), Err(ParseError::BadLength("ipv4 header")));
        ip[0] = 0x45;
        ip[3] = 0xff; // total length beyond buffer
        assert_eq!(Ipv4::parse(&ip), Err(ParseError::BadLength("ipv4 total")));
        ip[0] = 0x65;
        assert_eq!(Ipv4::parse(&ip), Err(ParseError::BadVersion("ipv4")));
        assert!(Ethernet::parse(&TAGGED_PING[..15]).is_err());
        assert!(Udp::parse(&[0, 1, 0, 2, 0, 4, 0, 0]).is_err());
        assert!(Tcp::parse(&[0u8; 19]).is_err());
    }
}
