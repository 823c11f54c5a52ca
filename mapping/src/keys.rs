//! Small helpers over JSON-style data paths (`/module:list[key='value']/leaf`): the path of
//! the source object a change belongs to, and key values from predicates.

use nectar_mgmt::ly;

/// The first `n` steps of a data path (the path of an ancestor), or `None` when the path is
/// shorter.
pub fn truncate(path: &str, n: usize) -> Option<String> {
    let steps = ly::steps(path);
    (steps.len() >= n).then(|| format!("/{}", steps[..n].join("/")))
}

/// The value of key `key` in the predicates of step `step` (0-based) of a data path.
pub fn key_at(path: &str, step: usize, key: &str) -> Option<String> {
    let steps = ly::steps(path);
    predicates(steps.get(step)?)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The `[k='v']` predicates of one step, in order, with quotes removed.
pub fn predicates(step: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = match step.find('[') {
        Some(i) => &step[i..],
        None => return out,
    };
    while let Some(r) = rest.strip_prefix('[') {
        let Some(eq) = r.find('=') else { break };
        let k = r[..eq].trim().to_string();
        let v = &r[eq + 1..];
        let Some(q) = v.chars().next() else { break };
        if q != '\'' && q != '"' {
            break;
        }
        let Some(end) = v[1..].find(q) else { break };
        out.push((k, v[1..1 + end].to_string()));
        rest = &v[1 + end + 1..];
        rest = rest.strip_prefix(']').unwrap_or(rest);
    }
    out
}

/// A key value quoted for a path predicate (`'v'`, or `"v"` when it holds a `'`).
pub fn quote(v: &str) -> String {
    if v.contains('\'') {
        format!("\"{v}\"")
    } else {
        format!("'{v}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_truncation() {
        let p = "/ietf-interfaces:interfaces/interface[name='eth/0']/ietf-ip:ipv4/address[ip='10.0.0.1']/prefix-length";
        assert_eq!(
            truncate(p, 2).unwrap(),
            "/ietf-interfaces:interfaces/interface[name='eth/0']"
        );
        assert_eq!(key_at(p, 1, "name").unwrap(), "eth/0");
        assert_eq!(key_at(p, 3, "ip").unwrap(), "10.0.0.1");
        assert!(truncate(p, 9).is_none());
        let r = "/a:b/p[type='ietf-routing:static'][name=\"it's\"]/x";
        assert_eq!(key_at(r, 1, "type").unwrap(), "ietf-routing:static");
        assert_eq!(key_at(r, 1, "name").unwrap(), "it's");
        assert_eq!(quote("it's"), "\"it's\"");
    }
}
