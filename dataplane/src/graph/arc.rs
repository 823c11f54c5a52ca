//! Feature arcs: which optional nodes run between two fixed points of the graph, in which
//! order, on which interface. Features are data (name, arc, ordering constraints); the order
//! is computed once (a topological sort) and each interface carries a bitmask per arc of the
//! features enabled on it, set by the control side when it compiles the tables.

use std::sync::OnceLock;

/// IPv4 received unicast: runs between `ip4-input` and `ip4-lookup` (keyed by rx interface).
pub const ARC_IP4_UNICAST: usize = 0;
/// IPv4 output: runs between `ip4-rewrite` and `interface-output` (keyed by tx interface).
pub const ARC_IP4_OUTPUT: usize = 1;
/// IPv6 received unicast.
pub const ARC_IP6_UNICAST: usize = 2;
/// IPv6 output.
pub const ARC_IP6_OUTPUT: usize = 3;
/// Bridged input: runs between `l2-input` and `l2-fwd` (keyed by rx interface).
pub const ARC_L2_INPUT: usize = 4;
/// Bridged output: runs between `l2-fwd`/`l2-flood` and `interface-output` (keyed by tx
/// interface).
pub const ARC_L2_OUTPUT: usize = 5;
/// Number of arcs.
pub const NUM_ARCS: usize = 6;

/// Node that ends each arc.
pub const ARC_END: [&str; NUM_ARCS] = [
    "ip4-lookup",
    "interface-output",
    "ip6-lookup",
    "interface-output",
    "l2-fwd",
    "interface-output",
];

/// Registration of one feature.
#[derive(Debug, Clone, Copy)]
pub struct FeatureReg {
    /// Arc it belongs to.
    pub arc: usize,
    /// Node name (the node implements the feature).
    pub node: &'static str,
    /// Features of the same arc that must run before this one.
    pub runs_after: &'static [&'static str],
    /// Features of the same arc that must run after this one.
    pub runs_before: &'static [&'static str],
}

/// Every feature the dataplane has.
pub const FEATURES: &[FeatureReg] = &[
    FeatureReg {
        arc: ARC_IP4_UNICAST,
        node: "acl-in-ip4",
        runs_after: &["conntrack-ip4"],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_IP4_UNICAST,
        node: "nat44-out2in",
        runs_after: &[],
        runs_before: &["conntrack-ip4"],
    },
    FeatureReg {
        arc: ARC_IP4_UNICAST,
        node: "conntrack-ip4",
        runs_after: &[],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_IP4_OUTPUT,
        node: "nat44-in2out",
        runs_after: &["acl-out-ip4"],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_IP4_OUTPUT,
        node: "acl-out-ip4",
        runs_after: &[],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_IP6_UNICAST,
        node: "acl-in-ip6",
        runs_after: &["conntrack-ip6"],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_IP6_UNICAST,
        node: "conntrack-ip6",
        runs_after: &[],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_IP6_OUTPUT,
        node: "acl-out-ip6",
        runs_after: &[],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_L2_INPUT,
        node: "acl-in-l2",
        runs_after: &["conntrack-l2"],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_L2_INPUT,
        node: "conntrack-l2",
        runs_after: &[],
        runs_before: &[],
    },
    FeatureReg {
        arc: ARC_L2_OUTPUT,
        node: "acl-out-l2",
        runs_after: &[],
        runs_before: &[],
    },
];

/// The arcs with their features in run order.
#[derive(Debug)]
pub struct SortedArcs {
    /// Feature node names per arc, in order.
    pub order: Vec<Vec<&'static str>>,
}

impl SortedArcs {
    /// The bit of feature `node` on `arc`.
    pub fn bit(&self, arc: usize, node: &str) -> u32 {
        let pos = self.order[arc]
            .iter()
            .position(|n| *n == node)
            .unwrap_or_else(|| panic!("feature {node} is not on arc {arc}"));
        1 << pos
    }
}

/// Sorts features per arc by their constraints (stable: registration order breaks ties).
pub fn sort_features(features: &[FeatureReg]) -> Result<SortedArcs, String> {
    let mut order = Vec::new();
    for arc in 0..NUM_ARCS {
        let feats: Vec<&FeatureReg> = features.iter().filter(|f| f.arc == arc).collect();
        if feats.len() > 32 {
            return Err(format!("arc {arc}: more than 32 features"));
        }
        let n = feats.len();
        let idx = |name: &str| feats.iter().position(|f| f.node == name);
        // edges[a] contains b when a must run before b.
        let mut edges = vec![Vec::new(); n];
        for (i, f) in feats.iter().enumerate() {
            for a in f.runs_after {
                let j = idx(a).ok_or_else(|| format!("{}: unknown feature {a}", f.node))?;
                edges[j].push(i);
            }
            for b in f.runs_before {
                let j = idx(b).ok_or_else(|| format!("{}: unknown feature {b}", f.node))?;
                edges[i].push(j);
            }
        }
        let mut indeg = vec![0; n];
        for e in &edges {
            for &j in e {
                indeg[j] += 1;
            }
        }
        let mut out = Vec::with_capacity(n);
        let mut done = vec![false; n];
        while out.len() < n {
            let next = (0..n)
                .find(|&i| !done[i] && indeg[i] == 0)
                .ok_or_else(|| format!("arc {arc}: feature ordering has a cycle"))?;
            done[next] = true;
            out.push(feats[next].node);
            for &j in &edges[next] {
                indeg[j] -= 1;
            }
        }
        order.push(out);
    }
    Ok(SortedArcs { order })
}

/// The dataplane's arcs, sorted once.
pub fn arcs() -> &'static SortedArcs {
    static ARCS: OnceLock<SortedArcs> = OnceLock::new();
    ARCS.get_or_init(|| sort_features(FEATURES).expect("feature registrations are consistent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_arcs_are_sorted_by_constraints() {
        let a = arcs();
        assert_eq!(
            a.order[ARC_IP4_UNICAST],
            vec!["nat44-out2in", "conntrack-ip4", "acl-in-ip4"]
        );
        assert_eq!(a.order[ARC_IP4_OUTPUT], vec!["acl-out-ip4", "nat44-in2out"]);
        assert_eq!(a.bit(ARC_IP4_UNICAST, "acl-in-ip4"), 4);
        assert_eq!(a.order[ARC_L2_INPUT], vec!["conntrack-l2", "acl-in-l2"]);
    }

    #[test]
    fn cycles_and_unknown_names_are_refused() {
        let cyc = [
            FeatureReg {
                arc: 0,
                node: "a",
                runs_after: &["b"],
                runs_before: &[],
            },
            FeatureReg {
                arc: 0,
                node: "b",
                runs_after: &["a"],
                runs_before: &[],
            },
        ];
        assert!(sort_features(&cyc).unwrap_err().contains("cycle"));
        let unk = [FeatureReg {
            arc: 1,
            node: "a",
            runs_after: &["zz"],
            runs_before: &[],
        }];
        assert!(sort_features(&unk).is_err());
    }
}
