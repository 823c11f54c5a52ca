//! NETCONF messages as the server reads them: the XML parser (XML 1.0 names and
//! characters, namespaces, bounded size), then every `filter` in the message translated
//! (subtree or XPath) against nectar's model set. A parsed element prints back to XML
//! that parses to the same element, and printing never writes a character XML forbids.
#![no_main]

mod common;

use common::ctx;
use libfuzzer_sys::fuzz_target;
use nectar_netconf::filter::from_filter;
use nectar_netconf::xml::{Element, is_xml_char, parse};

fn filters<'e>(e: &'e Element, out: &mut Vec<&'e Element>) {
    if e.local == "filter" {
        out.push(e);
    }
    for c in e.elements() {
        filters(c, out);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(msg) = parse(text) else { return };
    let printed = msg.to_xml();
    assert!(printed.chars().all(is_xml_char), "a forbidden character printed");
    let again = parse(&printed).unwrap_or_else(|e| panic!("printout does not parse: {e:?}"));
    assert_eq!(again.to_xml(), printed, "print → parse → print");
    let mut fs = Vec::new();
    filters(&msg, &mut fs);
    for f in fs.into_iter().take(4) {
        let _ = from_filter(ctx(), f);
    }
});
