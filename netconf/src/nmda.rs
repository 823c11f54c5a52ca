//! RFC 8526 get-data output shaping: config-filter, max-depth and the origin
//! filters, over a tree whose configuration nodes carry the
//! `ietf-origin:origin` annotation (made by `nectar_mgmt::origin`; a node
//! without one inherits its parent's). State data has no origin (RFC 8342
//! §5.3.4 defines it for configuration only): an origin-filter leaves it
//! out, a negated-origin-filter keeps it.

use nectar_mgmt::error::MgmtError;
use nectar_mgmt::ly::{self, Tree};
use nectar_yang::print::NodePath;
use yang2::data::DataNodeRef;
use yang2::iter::NodeIterable;

/// The origin identity (without module) of a configuration node.
fn origin_of(n: &DataNodeRef<'_, 'static>) -> Option<String> {
    let mut cur = Some(n.clone());
    while let Some(node) = cur {
        if let Some(m) = node.meta().find(|m| m.name() == "origin") {
            let v = m.value();
            return Some(v.split_once(':').map_or(v, |(_, l)| l).to_string());
        }
        cur = node.parent();
    }
    None
}

/// Removes what the filters leave out.
pub fn shape(
    tree: &mut Tree,
    config_filter: Option<bool>,
    max_depth: Option<u32>,
    origin_filter: Option<&(bool, Vec<String>)>,
) -> Result<(), MgmtError> {
    let f = Filters {
        config_filter,
        max_depth,
        origin_filter,
    };
    let mut remove: Vec<String> = Vec::new();
    if let Some(top) = tree.reference() {
        for root in top.inclusive_siblings() {
            f.collect(&root, 1, &mut remove);
        }
    }
    for p in remove {
        ly::remove(tree, &p)?;
    }
    Ok(())
}

struct Filters<'a> {
    config_filter: Option<bool>,
    max_depth: Option<u32>,
    origin_filter: Option<&'a (bool, Vec<String>)>,
}

impl Filters<'_> {
    /// Whether a node is selected on its own (its descendants are decided
    /// one by one).
    fn selected(&self, n: &DataNodeRef<'_, 'static>) -> bool {
        let config = n.schema().is_config();
        if let Some(c) = self.config_filter
            && c != config
        {
            return false;
        }
        match self.origin_filter {
            None => true,
            Some((negated, ids)) => {
                let matched = config && origin_of(n).is_some_and(|o| ids.contains(&o));
                matched != *negated
            }
        }
    }

    fn collect(&self, n: &DataNodeRef<'_, 'static>, depth: u32, out: &mut Vec<String>) {
        let schema = n.schema();
        if schema.is_list_key() {
            return;
        }
        if self.max_depth.is_some_and(|m| depth > m) {
            out.push(n.data_path());
            return;
        }
        let keep_self = self.selected(n);
        let inner = !n.children().all(|c| c.schema().is_list_key());
        if !keep_self && !inner {
            out.push(n.data_path());
            return;
        }
        if !keep_self && !self.any_selected_below(n) {
            out.push(n.data_path());
            return;
        }
        for c in n.children() {
            self.collect(&c, depth + 1, out);
        }
    }

    fn any_selected_below(&self, n: &DataNodeRef<'_, 'static>) -> bool {
        n.traverse()
            .skip(1)
            .any(|d| !d.schema().is_list_key() && self.selected(&d))
    }
}
