//! Client documents (RFC 7951 JSON and XML, as NETCONF `<config>`, RESTCONF bodies and
//! YANG Patch values carry them) through nectar's strict checks and libyang, as an edit
//! and as a whole configuration. What parses prints in both encodings, and each printout
//! parses back to the same document (the encoders round-trip). Nothing may reach a
//! libyang assertion.
#![no_main]

mod common;

use common::ctx;
use libfuzzer_sys::fuzz_target;
use nectar_yang::encoding::{Content, Format, PrintOptions, parse, print_tree};

fn print(t: &yang2::data::DataTree<'_>, f: Format) -> Option<String> {
    print_tree(t, &PrintOptions::new(f)).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = if sel & 1 == 0 { Format::Json } else { Format::Xml };
    let content = if sel & 2 == 0 { Content::Edit } else { Content::Config };
    let Ok(tree) = parse(ctx(), text, format, content) else {
        return;
    };
    for f in [Format::Json, Format::Xml] {
        let Some(once) = print(&tree, f) else { continue };
        let again = parse(ctx(), &once, f, Content::Fragment)
            .unwrap_or_else(|e| panic!("printed {f:?} does not parse back: {e}\n{once}"));
        let twice = print(&again, f).expect("reprint");
        assert_eq!(once, twice, "round trip through {f:?}");
    }
});
