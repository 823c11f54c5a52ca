//! Compiled ACLs: ordered rules evaluated first-match-wins over L2 and L3/L4 fields, with a
//! packet and octet counter per rule. No match means deny.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::control::{AclAction, AclConfig, AclRule};
use crate::headers::{Flow, PROTO_ICMP, PROTO_ICMPV6};
use crate::types::Mac;

/// The L2 fields an ACL can match.
#[derive(Debug, Clone, Copy)]
pub struct L2Fields {
    /// Source MAC.
    pub src: Mac,
    /// Destination MAC.
    pub dst: Mac,
    /// EtherType.
    pub ethertype: u16,
}

/// A compiled ACL.
#[derive(Debug)]
pub struct Acl {
    /// The configuration it was built from.
    pub config: AclConfig,
    hits: Vec<AtomicU64>,
    octets: Vec<AtomicU64>,
    /// True if any rule is permit-and-reflect (needs connection tracking).
    pub reflect: bool,
}

impl Acl {
    /// Compiles an ACL.
    pub fn new(config: AclConfig) -> Acl {
        Acl {
            hits: config.rules.iter().map(|_| AtomicU64::new(0)).collect(),
            octets: config.rules.iter().map(|_| AtomicU64::new(0)).collect(),
            reflect: config
                .rules
                .iter()
                .any(|r| r.action == AclAction::PermitReflect),
            config,
        }
    }

    /// Evaluates the rules for a packet of `octets` bytes; returns the index and action of the
    /// first match (counted), or `None` when nothing matches (the caller denies).
    #[inline]
    pub fn eval(&self, l2: &L2Fields, flow: &Flow, octets: usize) -> Option<(usize, AclAction)> {
        self.eval_frame(l2, Some(flow), (1, octets))
    }

    /// Evaluates the rules for a frame that may not carry IP (`flow` is `None`): then only
    /// rules without L3/L4 fields can match. `octets` is what the match counts: the IP
    /// packet's length for an IP packet, the frame's otherwise; `packets` how many packets
    /// it stands for on the wire (a super-frame: its segments).
    #[inline]
    pub fn eval_frame(
        &self,
        l2: &L2Fields,
        flow: Option<&Flow>,
        (packets, octets): (u64, usize),
    ) -> Option<(usize, AclAction)> {
        for (i, r) in self.config.rules.iter().enumerate() {
            if matches(r, l2, flow) {
                self.hits[i].fetch_add(packets, Ordering::Relaxed);
                self.octets[i].fetch_add(octets as u64, Ordering::Relaxed);
                return Some((i, r.action));
            }
        }
        None
    }

    /// Matched packets per rule.
    pub fn hits(&self) -> Vec<u64> {
        self.hits
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect()
    }

    /// Matched octets per rule.
    pub fn octets(&self) -> Vec<u64> {
        self.octets
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect()
    }
}

#[inline]
fn matches(r: &AclRule, l2: &L2Fields, f: Option<&Flow>) -> bool {
    let l2_ok = r.src_mac.is_none_or(|m| m == l2.src)
        && r.dst_mac.is_none_or(|m| m == l2.dst)
        && r.ethertype.is_none_or(|e| e == l2.ethertype);
    match f {
        _ if !l2_ok => false,
        Some(f) => matches_l3(r, f),
        None => {
            r.src.is_none()
                && r.dst.is_none()
                && r.proto.is_none()
                && r.src_ports.is_none()
                && r.dst_ports.is_none()
                && r.icmp_type.is_none()
                && r.icmp_code.is_none()
        }
    }
}

#[inline]
fn matches_l3(r: &AclRule, f: &Flow) -> bool {
    let in_range = |p: u16, r: Option<(u16, u16)>| r.is_none_or(|(lo, hi)| lo <= p && p <= hi);
    r.src.is_none_or(|p| p.contains(f.src))
        && r.dst.is_none_or(|p| p.contains(f.dst))
        && r.proto.is_none_or(|p| p == f.proto)
        && ((r.src_ports.is_none() && r.dst_ports.is_none())
            || (f.l4.valid
                && !matches!(f.proto, PROTO_ICMP | PROTO_ICMPV6)
                && in_range(f.l4.sport, r.src_ports)
                && in_range(f.l4.dport, r.dst_ports)))
        && ((r.icmp_type.is_none() && r.icmp_code.is_none())
            || (f.l4.valid
                && matches!(f.proto, PROTO_ICMP | PROTO_ICMPV6)
                && r.icmp_type.is_none_or(|t| t == f.l4.icmp_type)
                && r.icmp_code.is_none_or(|c| c == f.l4.icmp_code)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::{L4Info, PROTO_TCP};

    #[test]
    fn first_match_wins_and_counts() {
        let acl = Acl::new(AclConfig {
            name: "a".into(),
            rules: vec![
                AclRule {
                    proto: Some(PROTO_ICMP),
                    icmp_type: Some(8),
                    ..AclRule::any(AclAction::Deny)
                },
                AclRule {
                    dst: Some("10.0.0.0/8".parse().unwrap()),
                    dst_ports: Some((80, 443)),
                    ..AclRule::any(AclAction::Permit)
                },
            ],
        });
        let l2 = L2Fields {
            src: Mac::ZERO,
            dst: Mac::ZERO,
            ethertype: 0x800,
        };
        let flow = |proto, dport, icmp_type| Flow {
            src: "1.1.1.1".parse().unwrap(),
            dst: "10.1.1.1".parse().unwrap(),
            proto,
            l4: L4Info {
                dport,
                icmp_type,
                valid: true,
                ..Default::default()
            },
        };
        assert_eq!(
            acl.eval(&l2, &flow(PROTO_ICMP, 0, 8), 84).map(|x| x.1),
            Some(AclAction::Deny)
        );
        assert_eq!(
            acl.eval(&l2, &flow(PROTO_TCP, 80, 0), 60).map(|x| x.1),
            Some(AclAction::Permit)
        );
        assert_eq!(acl.eval(&l2, &flow(PROTO_TCP, 22, 0), 60), None);
        assert_eq!(acl.eval(&l2, &flow(PROTO_ICMP, 0, 0), 84), None);
        assert_eq!(acl.hits(), vec![1, 1]);
        assert_eq!(
            acl.octets(),
            vec![84, 60],
            "unmatched packets count nowhere"
        );
    }
}
