//! Packet headers: typed parsing ([`parse`]), building ([`build`]) and checksums ([`checksum`]).
//!
//! Imports only [`crate::types`]. Parsers never panic on malformed input (property-tested).

pub mod build;
pub mod checksum;
pub mod parse;

pub use build::*;
pub use checksum::{checksum, update16, update32};
pub use parse::*;

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    proptest! {
        #[test]
        fn parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Ethernet::parse(&b);
            let _ = Arp::parse(&b);
            let _ = Ipv4::parse(&b);
            let _ = Ipv6::parse(&b);
            let _ = Tcp::parse(&b);
            let _ = Udp::parse(&b);
            let _ = Icmp::parse(&b);
            let _ = flow_of(&b);
            let _ = icmp_error_quote(&b);
            let mut c = b.clone();
            fix_l4_checksum(&mut c);
        }

        #[test]
        fn built_frames_round_trip(
            src in any::<u32>(), dst in any::<u32>(), sport in any::<u16>(), dport in any::<u16>(),
            ttl in 1u8.., vid in proptest::option::of(0u16..4095),
            payload in proptest::collection::vec(any::<u8>(), 0..100), tcp in any::<bool>(),
        ) {
            let m = crate::types::Mac([2, 0, 0, 0, 0, 1]);
            let mut b = Builder::eth(m, m).ipv4(Ipv4Addr::from(src), Ipv4Addr::from(dst)).ttl(ttl);
            if let Some(v) = vid { b = b.vlan(v); }
            b = if tcp { b.tcp(sport, dport, TCP_SYN) } else { b.udp(sport, dport) };
            let f = b.payload(&payload).build();
            let e = Ethernet::parse(&f).unwrap();
            prop_assert_eq!(e.vlan.map(|v| v.vid), vid);
            let h = Ipv4::parse(&f[e.header_len..]).unwrap();
            prop_assert_eq!((u32::from(h.src), u32::from(h.dst), h.ttl), (src, dst, ttl));
            prop_assert_eq!(checksum(&f[e.header_len..e.header_len + 20]), 0);
            let fl = flow_of(&f[e.header_len..]).unwrap();
            prop_assert_eq!((fl.l4.sport, fl.l4.dport), (sport, dport));
        }

        #[test]
        fn incremental_update_equals_recompute(words in proptest::collection::vec(any::<u16>(), 10), i in 0usize..10, new in any::<u16>()) {
            let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            let c0 = checksum(&b);
            let old = words[i];
            b[2 * i..2 * i + 2].copy_from_slice(&new.to_be_bytes());
            let inc = update16(c0, old, new);
            // Ones'-complement has two zeros; compare as sums.
            let full = checksum(&b);
            prop_assert!(inc == full || (inc == 0xffff && full == 0) || (inc == 0 && full == 0xffff));
        }
    }
}
