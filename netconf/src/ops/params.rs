//! Reading an operation's parameters from its XML element, and printing
//! replies: the checks every operation shares (unknown or repeated
//! parameters, datastore names, with-defaults, filters).

use super::*;

pub(super) fn proto(tag: ErrorTag, msg: impl Into<String>) -> MgmtError {
    MgmtError::new(ErrorType::Protocol, tag, msg)
}

/// `unknown-element` for any child of `op` not in `allowed` (local names
/// in the namespace `ns`).
pub(super) fn only(op: &Element, ns: &str, allowed: &[&str]) -> Result<(), MgmtError> {
    for c in op.elements() {
        if c.ns.as_deref() == Some(ns) && allowed.contains(&c.local.as_str()) {
            continue;
        }
        if c.local == "with-defaults" && c.ns.as_deref() == Some(WD_NS) {
            continue;
        }
        return Err(reply::unknown_element(ErrorType::Protocol, &c.local));
    }
    Ok(())
}

/// Parameters of the protocol operations that may be given more than once
/// (leaf-lists); every other parameter is single (RFC 6241 §7, RFC 8526,
/// RFC 6022, RFC 5277).
const MULTI_PARAMETERS: &[&str] = &["origin-filter", "negated-origin-filter"];

/// `bad-element` for a parameter given twice: two `<target>`s, `<config>`s,
/// `<source>`s, `<filter>`s or `<identifier>`s are ambiguous, and taking
/// one silently applies an edit the client did not mean.
pub(super) fn single_parameters(op: &Element) -> Result<(), MgmtError> {
    let params: Vec<&Element> = op.elements().collect();
    for (i, p) in params.iter().enumerate() {
        if MULTI_PARAMETERS.contains(&p.local.as_str()) {
            continue;
        }
        if params[..i]
            .iter()
            .any(|q| q.local == p.local && q.ns == p.ns)
        {
            return Err(reply::bad_element(
                ErrorType::Protocol,
                &p.local,
                &format!("the parameter {} is given more than once", p.local),
            ));
        }
    }
    Ok(())
}

/// The datastore named inside `<target>` / `<source>`.
pub(super) fn datastore_in(el: &Element) -> Result<Datastore, MgmtError> {
    let mut kids = el.elements();
    let Some(d) = kids.next() else {
        return Err(reply::missing_element(ErrorType::Protocol, &el.local)
            .with_info("bad-element", el.local.clone()));
    };
    if kids.next().is_some() {
        return Err(reply::bad_element(
            ErrorType::Protocol,
            &el.local,
            &format!("{} names more than one datastore", el.local),
        ));
    }
    if d.ns.as_deref() != Some(BASE_NS) {
        return Err(reply::unknown_element(ErrorType::Protocol, &d.local));
    }
    match d.local.as_str() {
        "running" => Ok(Datastore::Running),
        "candidate" => Ok(Datastore::Candidate),
        "startup" => Ok(Datastore::Startup),
        "url" => Err(proto(
            ErrorTag::OperationNotSupported,
            "the :url capability is not supported",
        )),
        _ => Err(reply::unknown_element(ErrorType::Protocol, &d.local)),
    }
}

pub(super) fn required<'a>(
    op: &'a Element,
    name: &str,
    ns: &str,
) -> Result<&'a Element, MgmtError> {
    op.child(name, ns)
        .ok_or_else(|| reply::missing_element(ErrorType::Protocol, name))
}

/// A libyang error about client data, with the error-info RFC 6241 asks for.
pub(crate) fn data_error(e: nectar_yang::Error) -> MgmtError {
    let mut m = MgmtError::from_yang(&e);
    let msg = m.message.clone();
    let quoted: Vec<&str> = msg.split('"').skip(1).step_by(2).collect();
    if msg.starts_with("No module with namespace") || msg.contains("Unknown XML prefix") {
        m.tag = ErrorTag::UnknownNamespace;
        m.error_type = ErrorType::Application;
        if let Some(ns) = quoted.first() {
            m = m.with_info("bad-namespace", ns.to_string());
        }
    } else if m.tag == ErrorTag::UnknownElement
        && let Some(el) = quoted.first()
    {
        m = m.with_info("bad-element", el.to_string());
    } else if m.tag == ErrorTag::MissingElement
        && let Some(el) = quoted.first()
    {
        m = m.with_info("bad-element", el.to_string());
    }
    m
}

/// Parses the children of `<config>` as an edit (operation attributes
/// allowed, nothing validated yet).
pub(super) fn parse_config(
    ctx: &'static Context,
    config: &Element,
    limits: &encoding::Limits,
) -> Result<Tree, MgmtError> {
    parse_config_xml(ctx, &config.children_xml(), limits)
}

/// [`parse_config`] of the config's content already printed as XML.
pub(super) fn parse_config_xml(
    ctx: &'static Context,
    xml: &str,
    limits: &encoding::Limits,
) -> Result<Tree, MgmtError> {
    encoding::parse_with(ctx, xml, Format::Xml, Content::Edit, limits).map_err(data_error)
}

pub(super) fn with_defaults(op: &Element) -> Result<WithDefaults, MgmtError> {
    match op.child("with-defaults", WD_NS) {
        None => Ok(WithDefaults::Explicit),
        Some(w) => WithDefaults::parse(w.text().trim()).ok_or_else(|| {
            MgmtError::new(
                ErrorType::Application,
                ErrorTag::InvalidValue,
                format!("unknown with-defaults mode {:?}", w.text().trim()),
            )
            .with_info("bad-element", "with-defaults")
        }),
    }
}

/// Prints data as XML with a with-defaults mode (RFC 6243 §6: the tagged
/// mode's `default` attribute is in the NETCONF namespace for it).
pub(crate) fn print_xml(tree: &Tree, wd: WithDefaults) -> Result<String, MgmtError> {
    print_xml_keep(tree, wd, false)
}

/// [`print_xml`], optionally keeping empty non-presence containers (a
/// get-data max-depth cut leaves them empty on purpose).
pub(crate) fn print_xml_keep(
    tree: &Tree,
    wd: WithDefaults,
    keep_empty: bool,
) -> Result<String, MgmtError> {
    let s = encoding::print_tree(tree, &xml_options(wd, keep_empty))?;
    Ok(tag_defaults(s, wd))
}

/// How NETCONF prints data as XML.
pub(crate) fn xml_options(wd: WithDefaults, keep_empty: bool) -> PrintOptions {
    let mut opts = PrintOptions::xml().with_defaults(wd);
    opts.keep_empty_containers = keep_empty;
    opts
}

/// XML printed with `wd`, with the tagged mode's `default` attribute in the
/// namespace RFC 6243 §6 gives it.
pub(crate) fn tag_defaults(s: String, wd: WithDefaults) -> String {
    if wd == WithDefaults::ReportAllTagged {
        s.replace(&format!("=\"{WD_NS}\""), &format!("=\"{WD_ATTR_NS}\""))
    } else {
        s
    }
}

pub(super) fn parse_filter(
    ctx: &Context,
    op: &Element,
    limits: &filter::Limits,
) -> Result<Selection, MgmtError> {
    match op.child("filter", BASE_NS) {
        None => Ok(Selection::All),
        Some(f) => filter::from_filter_with(ctx, f, limits),
    }
}

pub(super) fn parse_u32(el: &Element) -> Result<u32, MgmtError> {
    el.text().trim().parse::<u32>().map_err(|_| {
        MgmtError::new(
            ErrorType::Protocol,
            ErrorTag::InvalidValue,
            format!("{} must be an unsigned 32-bit number", el.local),
        )
        .with_info("bad-element", el.local.clone())
    })
}

pub(super) fn invalid_param(name: &str, value: &str) -> MgmtError {
    MgmtError::new(
        ErrorType::Protocol,
        ErrorTag::InvalidValue,
        format!("invalid {name} {value:?}"),
    )
    .with_info("bad-element", name)
}
