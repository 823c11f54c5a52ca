//! Which part of the schema a selection covers, and whether a change falls
//! in it: shared by the subscription engines of every door (YANG-Push here,
//! gNMI Subscribe in the gnmi crate), so they react to the same changes.

use crate::ly;
use crate::provider::Change;

/// The XPath to read a selection with from the operational datastore: the
/// core fills state only for the providers a path can reach, which it
/// decides by the path's schema prefix, so a path that starts with a
/// wildcard reads everything (and is selected locally).
pub fn fetch_xpath(xpath: &str) -> Option<String> {
    if xpath.starts_with("/*") || xpath.starts_with("//") || xpath == "/" {
        None
    } else {
        Some(xpath.to_string())
    }
}

/// The schema path prefix an XPath is confined to: the steps before the
/// first wildcard, without predicates (empty: anywhere). Changes outside it
/// cannot concern the XPath.
pub fn schema_prefix(xpath: &str) -> String {
    let cut = [xpath.find("/*"), xpath.find("//")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(xpath.len());
    let head = &xpath[..cut];
    if head.is_empty() || !head.starts_with('/') {
        return String::new();
    }
    // In the form of the core's change paths: a step names its module only
    // where it differs from its parent's (`/a:x/a:y` is `/a:x/y`).
    let mut out = String::with_capacity(head.len());
    let mut module = "";
    for step in ly::steps(head) {
        let name = step.split_once('[').map_or(step, |(n, _)| n);
        out.push('/');
        match name.split_once(':') {
            Some((m, local)) if m == module => out.push_str(local),
            Some((m, _)) => {
                module = m;
                out.push_str(name);
            }
            None => out.push_str(name),
        }
    }
    out
}

/// The schema prefixes of each branch of a selection (`[""]`: everything).
pub fn prefixes(xpath: Option<&str>) -> Vec<String> {
    match xpath {
        None => vec![String::new()],
        Some(x) => ly::union_branches(x)
            .into_iter()
            .map(schema_prefix)
            .collect(),
    }
}

/// True when one schema path is an ancestor-or-self of the other.
pub fn overlaps(a: &str, b: &str) -> bool {
    let under =
        |p: &str, q: &str| p == q || (p.starts_with(q) && p.as_bytes().get(q.len()) == Some(&b'/'));
    a.is_empty() || b.is_empty() || under(a, b) || under(b, a)
}

/// Whether a commit's changes may change what a selection (its
/// [`prefixes`]) shows to a user: a change under it, or a change of NACM's
/// rules (which decide what the user may read).
pub fn changes_concern(changes: &[Change], prefixes: &[String]) -> bool {
    changes.iter().any(|c| {
        c.schema_path.starts_with("/ietf-netconf-acm:")
            || prefixes.iter().any(|p| overlaps(&c.schema_path, p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_in_the_form_of_change_paths() {
        assert_eq!(schema_prefix("/a:x/y[k='1']/z"), "/a:x/y/z");
        assert_eq!(schema_prefix("/a:x/a:y[a:k='1']/b:z"), "/a:x/y/b:z");
        assert_eq!(schema_prefix("/a:x/*/z"), "/a:x");
        assert_eq!(schema_prefix("/a:x//a:z"), "/a:x");
        assert_eq!(schema_prefix("/*"), "");
        assert_eq!(prefixes(Some("/a:x | /b:y/b:z")), vec!["/a:x", "/b:y/z"]);
        assert!(overlaps("/a:x/y", "/a:x"));
        assert!(overlaps("/a:x", "/a:x/y/z"));
        assert!(!overlaps("/a:x", "/a:xy"));
        assert!(overlaps("", "/b:q"));
    }
}
