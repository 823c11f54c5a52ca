//! Hostile documents at the parsers: every one is refused with a clean
//! error (never an abort inside libyang, never a stack overflow), and the
//! error says what kind of problem it is.

use std::sync::OnceLock;

use nectar_yang::Error;
use nectar_yang::encoding::{Content, Format, parse, parse_at};
use nectar_yang::path::DataPath;
use nectar_yang::yang2::context::Context;
use nectar_yang::{ModelSet, models};

fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(models::NETWORK)
            .build()
            .expect("context")
    })
}

const LOOP_XML: &str = r#"<type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:softwareLoopback</type>"#;

fn xml_entries(entries: &[&str]) -> String {
    let mut s = String::from(r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">"#);
    for e in entries {
        s.push_str(&format!("<interface>{e}</interface>"));
    }
    s.push_str("</interfaces>");
    s
}

fn is_duplicate(r: Result<impl std::fmt::Debug, Error>, name: &str) {
    match r {
        Err(Error::Duplicate { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected a duplicate {name:?}, got {other:?}"),
    }
}

// Defect 5 of issue 17: a list key given twice in an entry, then the same
// entry again, aborted the process in libyang's sorted insertion
// (rb_compare_lists assertion). Every content kind and both formats.
#[test]
fn a_list_key_given_twice_is_refused_not_an_abort() {
    let json = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"k2","name":"k2","type":"iana-if-type:softwareLoopback"},{"name":"k2","type":"iana-if-type:softwareLoopback"}]}}"#;
    let json_q = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"k2","ietf-interfaces:name":"k2","type":"iana-if-type:softwareLoopback"},{"name":"k2","type":"iana-if-type:softwareLoopback"}]}}"#;
    let xml = xml_entries(&[
        &format!("<name>k2</name><name>k2</name>{LOOP_XML}"),
        &format!("<name>k2</name>{LOOP_XML}"),
    ]);
    // The key twice as the entry's last children, and an entry holding only
    // its key twice.
    let xml_late = xml_entries(&[
        &format!("<name>k2</name>{LOOP_XML}<name>k2</name>"),
        &format!("<name>k2</name>{LOOP_XML}"),
    ]);
    let xml_bare = xml_entries(&["<name>k2</name><name>k2</name>", "<name>k2</name>"]);
    for content in [
        Content::Edit,
        Content::Fragment,
        Content::Config,
        Content::Operational,
    ] {
        is_duplicate(parse(ctx(), json, Format::Json, content), "name");
        is_duplicate(
            parse(ctx(), json_q, Format::Json, content),
            "ietf-interfaces:name",
        );
        for x in [&xml, &xml_late, &xml_bare] {
            is_duplicate(parse(ctx(), x, Format::Xml, content), "name");
        }
    }
    // Below the top level (a RESTCONF PUT/PATCH body for a child resource).
    let at = DataPath::parse_uri(ctx(), "/ietf-interfaces:interfaces").unwrap();
    let body = r#"{"ietf-interfaces:interface":[{"name":"k2","name":"k2"},{"name":"k2"}]}"#;
    is_duplicate(
        parse_at(ctx(), &at, body, Format::Json, Content::Edit),
        "name",
    );
    let body = r#"<interface xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><name>k2</name><name>k2</name></interface><interface xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><name>k2</name></interface>"#;
    is_duplicate(
        parse_at(ctx(), &at, body, Format::Xml, Content::Edit),
        "name",
    );
    let at = DataPath::parse_uri(ctx(), "/ietf-interfaces:interfaces/interface=k2").unwrap();
    let body = r#"<name xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">k2</name>"#;
    is_duplicate(
        parse_at(ctx(), &at, body, Format::Xml, Content::Edit),
        "name",
    );
}

// Defect 11 of issue 17: one leaf twice, and two entries of a list with the
// same key and different content, are refused in an edit (not merged).
#[test]
fn a_node_or_list_entry_given_twice_in_an_edit_is_refused() {
    let xml = xml_entries(&[&format!(
        "<name>a</name>{LOOP_XML}<description>x</description><description>y</description>"
    )]);
    is_duplicate(
        parse(ctx(), &xml, Format::Xml, Content::Edit),
        "description",
    );
    let json = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"a","description":"x","description":"y"}]}}"#;
    is_duplicate(
        parse(ctx(), json, Format::Json, Content::Edit),
        "description",
    );
    let xml = xml_entries(&[
        "<name>a</name><description>x</description>",
        "<name>a</name><enabled>false</enabled>",
    ]);
    is_duplicate(parse(ctx(), &xml, Format::Xml, Content::Edit), "interface");
    let json = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"a","description":"x"},{"name":"a","enabled":false}]}}"#;
    is_duplicate(parse(ctx(), json, Format::Json, Content::Edit), "interface");
    // Different entries, and the same container name from the same module
    // spelled two ways, are fine / refused as expected.
    let json = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"a"},{"name":"b"}]}}"#;
    assert!(parse(ctx(), json, Format::Json, Content::Edit).is_ok());
    let json = r#"{"ietf-interfaces:interfaces":{},"ietf-interfaces:interfaces":{}}"#;
    is_duplicate(
        parse(ctx(), json, Format::Json, Content::Edit),
        "ietf-interfaces:interfaces",
    );
}

fn is_malformed(r: Result<impl std::fmt::Debug, Error>, what: &str) {
    match r {
        Err(Error::Malformed(_)) => {}
        other => panic!("{what}: expected malformed, got {other:?}"),
    }
}

// Defects 4, 6 and 12 of issue 17: a body that is not exactly one valid
// JSON value or well-formed XML is malformed; deep nesting is refused
// before any recursive parser sees it.
#[test]
fn malformed_and_deep_documents_are_malformed() {
    let good = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"a","description":"x"}]}}"#;
    assert!(parse(ctx(), good, Format::Json, Content::Edit).is_ok());
    for (what, body) in [
        ("not json", "not json".to_string()),
        ("short escape", good.replace("\"x\"", r#""a\u0e9 b""#)),
        ("bad escape", good.replace("\"x\"", r#""a\uZZZZ b""#)),
        ("lone surrogate", good.replace("\"x\"", r#""\ud800""#)),
        ("two documents", format!("{good}{good}")),
        ("trailing garbage", format!("{good} garbage")),
        ("NUL", good.replace('x', "a\u{0}b")),
        ("escaped NUL", good.replace("\"x\"", r#""a\u0000b""#)),
        ("deep", format!("{}{}", "[".repeat(5000), "]".repeat(5000))),
        (
            "deep objects",
            format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000)),
        ),
    ] {
        is_malformed(parse(ctx(), &body, Format::Json, Content::Edit), what);
    }
    for (what, body) in [
        ("not xml", "<interfaces".to_string()),
        (
            "mismatched",
            r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"></wrong>"#
                .to_string(),
        ),
        ("deep", format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000))),
        (
            "doctype",
            r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>"#
                .to_string(),
        ),
    ] {
        is_malformed(parse(ctx(), &body, Format::Xml, Content::Edit), what);
    }
}

// A door's configured document depth is the bound, in both encodings: a
// document one level deeper than it is malformed, one at it parses; the
// bound never goes past MAX_DEPTH_BOUND whatever is asked.
#[test]
fn the_configured_depth_is_the_bound() {
    use nectar_yang::encoding::{Limits, MAX_DEPTH_BOUND, parse_with};
    // {"ietf-interfaces:interfaces":{"interface":[{"name":"a"}]}}: depth 4 in
    // JSON (object, object, array, object); 3 in XML.
    let json = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"a","description":"x"}]}}"#;
    let xml = xml_entries(&["<name>a</name>"]);
    let at = |d| Limits { max_depth: d };
    assert!(parse_with(ctx(), json, Format::Json, Content::Edit, &at(4)).is_ok());
    is_malformed(
        parse_with(ctx(), json, Format::Json, Content::Edit, &at(3)),
        "json at 3",
    );
    assert!(parse_with(ctx(), &xml, Format::Xml, Content::Edit, &at(3)).is_ok());
    is_malformed(
        parse_with(ctx(), &xml, Format::Xml, Content::Edit, &at(2)),
        "xml at 2",
    );
    let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    is_malformed(
        parse_with(ctx(), &deep, Format::Xml, Content::Edit, &at(100_000)),
        "beyond the bound",
    );
    match parse_with(ctx(), &deep, Format::Xml, Content::Edit, &at(100_000)) {
        Err(Error::Malformed(m)) => {
            assert!(m.contains(&format!("deeper than {MAX_DEPTH_BOUND}")), "{m}")
        }
        other => panic!("{other:?}"),
    }
}
