//! Small value types shared by every layer of the dataplane: MAC addresses and IP prefixes.
//!
//! Imports nothing from the rest of the crate.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A 48-bit Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

impl std::hash::Hash for Mac {
    /// One 64-bit word (table keys hash on the forwarding path).
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.as_u64());
    }
}

impl Mac {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: Mac = Mac([0; 6]);

    /// Reads a MAC from the first six bytes of `b` (which must hold at least six bytes).
    pub fn from_slice(b: &[u8]) -> Mac {
        let mut m = [0u8; 6];
        m.copy_from_slice(&b[..6]);
        Mac(m)
    }

    /// The address as the low 48 bits of an integer.
    #[inline]
    pub fn as_u64(&self) -> u64 {
        let m = self.0;
        u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]])
    }

    /// True for group (multicast or broadcast) addresses.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// True for ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Mac::BROADCAST
    }

    /// The Ethernet multicast MAC an IPv6 multicast address maps to (33:33 + low 32 bits).
    pub fn ipv6_multicast(ip: &Ipv6Addr) -> Mac {
        let o = ip.octets();
        Mac([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }

    /// The IPv6 link-local address derived from this MAC by modified EUI-64.
    pub fn link_local(&self) -> Ipv6Addr {
        let m = self.0;
        Ipv6Addr::from([
            0xfe,
            0x80,
            0,
            0,
            0,
            0,
            0,
            0,
            m[0] ^ 2,
            m[1],
            m[2],
            0xff,
            0xfe,
            m[3],
            m[4],
            m[5],
        ])
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Error for unparsable text forms of [`Mac`] and [`IpNet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {text}")]
pub struct ParseValueError {
    what: &'static str,
    text: String,
}

impl FromStr for Mac {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Mac, ParseValueError> {
        let err = || ParseValueError {
            what: "MAC address",
            text: s.to_string(),
        };
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split([':', '-']) {
            if n == 6 || part.len() != 2 {
                return Err(err());
            }
            out[n] = u8::from_str_radix(part, 16).map_err(|_| err())?;
            n += 1;
        }
        if n != 6 {
            return Err(err());
        }
        Ok(Mac(out))
    }
}

/// An IPv4 or IPv6 prefix (address plus prefix length). The address keeps its host bits, so
/// the same type describes an interface address (`10.0.0.1/24`) and a route (`10.0.0.0/24`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpNet {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length (0..=32 for IPv4, 0..=128 for IPv6).
    pub len: u8,
}

impl IpNet {
    /// Builds a prefix, refusing a length beyond the address family's width.
    pub fn new(addr: IpAddr, len: u8) -> Result<IpNet, ParseValueError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(ParseValueError {
                what: "prefix length",
                text: format!("{addr}/{len}"),
            });
        }
        Ok(IpNet { addr, len })
    }

    /// IPv4 prefix shorthand; panics on a length above 32 (for tests and constants).
    pub fn v4(a: Ipv4Addr, len: u8) -> IpNet {
        IpNet::new(IpAddr::V4(a), len).expect("valid IPv4 prefix")
    }

    /// IPv6 prefix shorthand; panics on a length above 128.
    pub fn v6(a: Ipv6Addr, len: u8) -> IpNet {
        IpNet::new(IpAddr::V6(a), len).expect("valid IPv6 prefix")
    }

    /// The prefix with host bits cleared.
    pub fn network(&self) -> IpNet {
        match self.addr {
            IpAddr::V4(a) => IpNet {
                addr: IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(self.len))),
                len: self.len,
            },
            IpAddr::V6(a) => IpNet {
                addr: IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(self.len))),
                len: self.len,
            },
        }
    }

    /// True if `ip` lies inside this prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let m = mask32(self.len);
                u32::from(n) & m == u32::from(a) & m
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let m = mask128(self.len);
                u128::from(n) & m == u128::from(a) & m
            }
            _ => false,
        }
    }

    /// True for an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

/// The netmask of an IPv4 prefix length as a host-order integer.
pub fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    }
}

/// The netmask of an IPv6 prefix length as a host-order integer.
pub fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Debug for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for IpNet {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<IpNet, ParseValueError> {
        let err = || ParseValueError {
            what: "IP prefix",
            text: s.to_string(),
        };
        let (a, l) = s.split_once('/').ok_or_else(err)?;
        let addr: IpAddr = a.parse().map_err(|_| err())?;
        let len: u8 = l.parse().map_err(|_| err())?;
        IpNet::new(addr, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parse_and_display_round_trip() {
        let m: Mac = "02:00:00:aa:bb:0c".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:00:aa:bb:0c");
        assert!("02:00:00:aa:bb".parse::<Mac>().is_err());
        assert!("02:00:00:aa:bb:0c:01".parse::<Mac>().is_err());
        assert!(Mac::BROADCAST.is_multicast());
    }

    #[test]
    fn prefixes_contain_and_normalise() {
        let p: IpNet = "10.1.2.3/16".parse().unwrap();
        assert_eq!(p.network().to_string(), "10.1.0.0/16");
        assert!(p.contains("10.1.200.1".parse().unwrap()));
        assert!(!p.contains("10.2.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        let d: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(d.contains("1.2.3.4".parse().unwrap()));
        let v6: IpNet = "2001:db8::1/64".parse().unwrap();
        assert!(v6.contains("2001:db8::ffff".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn link_local_from_mac() {
        let m: Mac = "52:54:00:12:34:56".parse().unwrap();
        assert_eq!(m.link_local().to_string(), "fe80::5054:ff:fe12:3456");
    }
}
