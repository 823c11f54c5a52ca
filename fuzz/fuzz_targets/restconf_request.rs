//! RESTCONF request targets as a client writes them: the query string (every parameter,
//! percent-decoding, `fields` with its nesting), then the path of the data resource
//! (RFC 8040 section 3.5.3 keys) against nectar's model set, its XPath and schema node,
//! and the `fields` selections expanded under it.
#![no_main]

mod common;

use common::ctx;
use libfuzzer_sys::fuzz_target;
use nectar_restconf::query::{Query, Resource};
use nectar_restconf::tree::expand_fields;
use nectar_yang::path::DataPath;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (uri, query) = match text.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (text, None),
    };
    for (method, res) in [
        ("GET", Resource::Data { operational: false }),
        ("PATCH", Resource::Data { operational: true }),
        ("POST", Resource::Operation),
        ("GET", Resource::Stream),
    ] {
        let _ = Query::parse(query, method, res);
    }
    if let Some(q) = query
        && let Some(f) = q.split('&').find_map(|p| p.strip_prefix("fields="))
    {
        let _ = expand_fields(f);
    }
    if let Ok(p) = DataPath::parse_uri(ctx(), uri) {
        let _ = p.to_xpath();
        let _ = p.to_uri();
        let _ = p.schema_node(ctx());
    }
});
