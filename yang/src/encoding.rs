//! Data encodings: RFC 7951 JSON and XML to and from libyang trees, with the
//! parser and printer options each use needs, conversion between the two,
//! and a neutral typed value for leaves ([`ScalarValue`]) that gNMI maps to
//! its `TypedValue` without knowing libyang.
//!
//! Every parser here is strict (data without a schema node is an error) and
//! never accepts opaque nodes.
//!
//! Imports only libyang (yang2, plus one small FFI module for what yang2 does
//! not expose), serde_json and the crate's error and path types.

mod raw;
mod strict;
mod value;

use yang2::context::Context;
use yang2::data::{
    Data, DataFormat, DataNodeRef, DataParserFlags, DataPrinterFlags, DataTree, DataValidationFlags,
};

use crate::Result;
use crate::path::DataPath;

pub use strict::{DEFAULT_MAX_DEPTH, Limits, MAX_DEPTH_BOUND};
pub use value::{ScalarValue, scalar_value};

/// A text encoding of YANG data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RFC 7951 JSON.
    Json,
    /// XML (RFC 7950 §7 encoding, as NETCONF carries it).
    Xml,
}

impl Format {
    pub fn data_format(self) -> DataFormat {
        match self {
            Format::Json => DataFormat::JSON,
            Format::Xml => DataFormat::XML,
        }
    }
}

/// What a document is, which decides how it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Content {
    /// A whole configuration datastore (running, startup, a `<config>` to
    /// copy): state data forbidden, fully validated, defaults added.
    Config,
    /// A whole datastore including state (operational): validated as
    /// operational data, defaults added.
    Operational,
    /// An edit payload (edit-config `<config>`, RESTCONF body, YANG patch
    /// value): parsed only (no validation, no defaults; may be partial and
    /// carry `operation` metadata); state data forbidden.
    Edit,
    /// A fragment of data of any kind (state included), parsed only.
    Fragment,
}

impl Content {
    fn flags(self) -> (DataParserFlags, DataValidationFlags) {
        match self {
            Content::Config => (
                DataParserFlags::STRICT | DataParserFlags::NO_STATE,
                DataValidationFlags::NO_STATE,
            ),
            Content::Operational => (
                DataParserFlags::STRICT,
                DataValidationFlags::from_bits_retain(libyang2_sys::LYD_VALIDATE_OPERATIONAL),
            ),
            Content::Edit => (
                DataParserFlags::STRICT
                    | DataParserFlags::NO_VALIDATION
                    | DataParserFlags::NO_STATE,
                DataValidationFlags::empty(),
            ),
            Content::Fragment => (
                DataParserFlags::STRICT | DataParserFlags::NO_VALIDATION,
                DataValidationFlags::empty(),
            ),
        }
    }
}

/// Parses a document of top-level data nodes. An empty document (or `{}`)
/// is an empty tree.
///
/// The text is checked first (one JSON value or a well-formed XML fragment,
/// bounded depth, no NUL) and the tree after (no node given twice where the
/// schema allows one), so a client's document either parses into sound data
/// or is refused with [`Error::Malformed`](crate::Error::Malformed) or
/// [`Error::Duplicate`](crate::Error::Duplicate); see `strict`. The bounds
/// are the default [`Limits`]; [`parse_with`] takes a door's.
pub fn parse<'a>(
    ctx: &'a Context,
    data: &str,
    format: Format,
    content: Content,
) -> Result<DataTree<'a>> {
    parse_with(ctx, data, format, content, &Limits::default())
}

/// [`parse`] with the bounds a door configures.
pub fn parse_with<'a>(
    ctx: &'a Context,
    data: &str,
    format: Format,
    content: Content,
    limits: &Limits,
) -> Result<DataTree<'a>> {
    let (parse, validate) = content.flags();
    if data.trim().is_empty() {
        let mut tree = DataTree::new(ctx);
        if matches!(content, Content::Config | Content::Operational) {
            tree.validate(validate)?;
        }
        return Ok(tree);
    }
    strict::check_text(data, format, strict::Root::Top(ctx), limits)?;
    // libyang reads the buffer as a C string: terminate it.
    let mut buf = Vec::with_capacity(data.len() + 1);
    buf.extend_from_slice(data.as_bytes());
    buf.push(0);
    let tree = DataTree::parse_string(ctx, buf, format.data_format(), parse, validate)
        .map_err(|e| syntax_error(ctx, e))?;
    strict::check_instances(tree.reference())?;
    Ok(tree)
}

/// A libyang parser error; syntax errors are `malformed-message`.
fn syntax_error(ctx: &Context, e: yang2::Error) -> crate::Error {
    if raw::last_error_is_syntax(ctx) {
        crate::Error::Malformed(e.msg.unwrap_or_else(|| "syntax error".into()))
    } else {
        e.into()
    }
}

/// A YANG notification instance (RFC 7950 §7.16): the notification node (with
/// its parents for a nested one) and its content, without the NETCONF
/// `<notification>`/`eventTime` envelope.
pub fn parse_notification<'a>(
    ctx: &'a Context,
    data: &str,
    format: Format,
) -> Result<DataTree<'a>> {
    let mut buf = Vec::with_capacity(data.len() + 1);
    buf.extend_from_slice(data.as_bytes());
    buf.push(0);
    Ok(DataTree::parse_op_string(
        ctx,
        buf,
        format.data_format(),
        yang2::data::DataOperation::NotificationYang,
    )?)
}

/// A YANG RPC invocation as NETCONF carries it (`<rpc-name xmlns="...">`
/// with its input parameters), checked like [`parse`] before libyang parses
/// it as RPC input.
pub fn parse_rpc<'a>(ctx: &'a Context, data: &str, format: Format) -> Result<DataTree<'a>> {
    parse_rpc_with(ctx, data, format, &Limits::default())
}

/// [`parse_rpc`] with the bounds a door configures.
pub fn parse_rpc_with<'a>(
    ctx: &'a Context,
    data: &str,
    format: Format,
    limits: &Limits,
) -> Result<DataTree<'a>> {
    strict::check_text(data, format, strict::Root::Top(ctx), limits)?;
    let mut buf = Vec::with_capacity(data.len() + 1);
    buf.extend_from_slice(data.as_bytes());
    buf.push(0);
    let tree = DataTree::parse_op_string(
        ctx,
        buf,
        format.data_format(),
        yang2::data::DataOperation::RpcYang,
    )
    .map_err(|e| syntax_error(ctx, e))?;
    strict::check_instances(tree.reference())?;
    Ok(tree)
}

/// A RESTCONF operation invocation (RFC 8040 §3.6.1): the RPC or action
/// `op` names (with its parents and their keys, for an action) and its input
/// parsed from the request body (`{"module:input": {...}}` in JSON,
/// `<input xmlns="module namespace">` in XML; an empty body is no input).
/// The input is parsed strictly (unknown nodes and bad values are errors;
/// mandatory and `must` checks are left to whoever runs the operation); the
/// result is the operation tree a NETCONF `<rpc>` would give.
pub fn parse_restconf_input<'a>(
    ctx: &'a Context,
    op: &DataPath,
    data: &str,
    format: Format,
) -> Result<DataTree<'a>> {
    parse_restconf_input_with(ctx, op, data, format, &Limits::default())
}

/// [`parse_restconf_input`] with the bounds a door configures.
pub fn parse_restconf_input_with<'a>(
    ctx: &'a Context,
    op: &DataPath,
    data: &str,
    format: Format,
    limits: &Limits,
) -> Result<DataTree<'a>> {
    let mut tree = DataTree::new(ctx);
    let xpath = op.to_xpath();
    tree.new_path(&xpath, None, false)?;
    if !data.trim().is_empty() {
        let node = tree.find_path(&xpath)?;
        strict::check_text(data, format, strict::Root::Under(node.schema()), limits)?;
        raw::parse_restconf_input(ctx, &node, data, format.data_format())?;
    }
    Ok(tree)
}

/// A configuration datastore document, validated (see [`Content::Config`]).
pub fn parse_config<'a>(ctx: &'a Context, data: &str, format: Format) -> Result<DataTree<'a>> {
    parse(ctx, data, format, Content::Config)
}

/// An edit payload, parsed only (see [`Content::Edit`]).
pub fn parse_edit<'a>(ctx: &'a Context, data: &str, format: Format) -> Result<DataTree<'a>> {
    parse(ctx, data, format, Content::Edit)
}

/// Parses a document whose top-level nodes are children of the node `at`
/// names (a RESTCONF body for a target below the top level, e.g.
/// `{"ietf-ip:ipv4": {...}}` for `/ietf-interfaces:interfaces/interface=eth0`).
/// The ancestors and their keys are created; the result is the whole tree
/// from the top level, parsed only (validate it with the datastore).
/// `Content::Config` and `Content::Operational` are treated as `Edit` and
/// `Fragment`: a subtree alone cannot be validated.
pub fn parse_at<'a>(
    ctx: &'a Context,
    at: &DataPath,
    data: &str,
    format: Format,
    content: Content,
) -> Result<DataTree<'a>> {
    parse_at_with(ctx, at, data, format, content, &Limits::default())
}

/// [`parse_at`] with the bounds a door configures.
pub fn parse_at_with<'a>(
    ctx: &'a Context,
    at: &DataPath,
    data: &str,
    format: Format,
    content: Content,
    limits: &Limits,
) -> Result<DataTree<'a>> {
    if at.is_root() {
        let content = match content {
            Content::Config | Content::Edit => Content::Edit,
            Content::Operational | Content::Fragment => Content::Fragment,
        };
        return parse_with(ctx, data, format, content, limits);
    }
    let parse_flags = match content {
        Content::Config | Content::Edit => Content::Edit.flags().0,
        Content::Operational | Content::Fragment => Content::Fragment.flags().0,
    };
    let mut tree = DataTree::new(ctx);
    let xpath = at.to_xpath();
    tree.new_path(&xpath, None, false)?;
    if data.trim().is_empty() {
        return Ok(tree);
    }
    {
        let parent = tree.find_path(&xpath)?;
        strict::check_text(data, format, strict::Root::Under(parent.schema()), limits)?;
        raw::parse_into(ctx, &parent, data, format.data_format(), parse_flags.bits())?;
        strict::check_instances(parent.children().next())?;
    }
    Ok(tree)
}

/// Converts a subtree document for the node `at` names between formats:
/// parses with [`parse_at`] and prints the parsed nodes alone (without the
/// ancestors and their keys).
pub fn convert_at(
    ctx: &Context,
    at: &DataPath,
    data: &str,
    from: Format,
    options: &PrintOptions,
) -> Result<String> {
    if at.is_root() {
        let tree = parse(ctx, data, from, Content::Fragment)?;
        return print_tree(&tree, options);
    }
    let tree = parse_at(ctx, at, data, from, Content::Fragment)?;
    let parent = tree.find_path(&at.to_xpath())?;
    // A list entry's keys come first among its children: print from the
    // first parsed node on, with its following siblings.
    match parent.children().find(|c| !c.schema().is_list_key()) {
        None => Ok(empty(options.format)),
        Some(first) => print_node(
            &first,
            &PrintOptions {
                siblings: true,
                ..*options
            },
        ),
    }
}

/// RFC 6243 with-defaults modes, as libyang's printer applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WithDefaults {
    /// Only nodes present in the tree, not the ones libyang added as
    /// defaults (libyang's and RESTCONF's default).
    #[default]
    Explicit,
    /// Nodes whose value equals their default are left out.
    Trim,
    /// Every node, defaults included.
    ReportAll,
    /// Every node; default values tagged with
    /// `ietf-netconf-with-defaults:default="true"`.
    ReportAllTagged,
}

impl WithDefaults {
    /// The RFC 6243 / RFC 8040 parameter value (`report-all`, ...).
    pub fn parse(s: &str) -> Option<WithDefaults> {
        match s {
            "explicit" => Some(WithDefaults::Explicit),
            "trim" => Some(WithDefaults::Trim),
            "report-all" => Some(WithDefaults::ReportAll),
            "report-all-tagged" => Some(WithDefaults::ReportAllTagged),
            _ => None,
        }
    }

    fn flags(self) -> DataPrinterFlags {
        match self {
            WithDefaults::Explicit => DataPrinterFlags::WD_EXPLICIT,
            WithDefaults::Trim => DataPrinterFlags::WD_TRIM,
            WithDefaults::ReportAll => DataPrinterFlags::WD_ALL,
            WithDefaults::ReportAllTagged => {
                DataPrinterFlags::from_bits_retain(libyang2_sys::LYD_PRINT_WD_ALL_TAG)
            }
        }
    }
}

/// How to print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrintOptions {
    pub format: Format,
    pub with_defaults: WithDefaults,
    /// Print the following siblings of the node too (always true for
    /// [`print_tree`] of a whole tree).
    pub siblings: bool,
    /// Indented output; false prints on one line.
    pub pretty: bool,
    /// Keep empty non-presence containers.
    pub keep_empty_containers: bool,
}

impl PrintOptions {
    pub fn new(format: Format) -> Self {
        PrintOptions {
            format,
            with_defaults: WithDefaults::Explicit,
            siblings: true,
            pretty: false,
            keep_empty_containers: false,
        }
    }

    pub fn json() -> Self {
        PrintOptions::new(Format::Json)
    }

    pub fn xml() -> Self {
        PrintOptions::new(Format::Xml)
    }

    pub fn with_defaults(mut self, wd: WithDefaults) -> Self {
        self.with_defaults = wd;
        self
    }

    pub fn pretty(mut self, pretty: bool) -> Self {
        self.pretty = pretty;
        self
    }

    pub fn siblings(mut self, siblings: bool) -> Self {
        self.siblings = siblings;
        self
    }

    fn flags(&self) -> DataPrinterFlags {
        let mut f = self.with_defaults.flags();
        if self.siblings {
            f |= DataPrinterFlags::WITH_SIBLINGS;
        }
        if !self.pretty {
            f |= DataPrinterFlags::SHRINK;
        }
        if self.keep_empty_containers {
            f |= DataPrinterFlags::KEEP_EMPTY_CONT;
        }
        f
    }
}

fn empty(format: Format) -> String {
    match format {
        Format::Json => "{}".to_string(),
        Format::Xml => String::new(),
    }
}

/// Prints a whole tree (all top-level nodes). An empty tree prints as `{}`
/// in JSON and as nothing in XML.
pub fn print_tree(tree: &DataTree<'_>, options: &PrintOptions) -> Result<String> {
    if tree.reference().is_none() {
        return Ok(empty(options.format));
    }
    let options = PrintOptions {
        siblings: true,
        ..*options
    };
    print_data(tree, &options)
}

/// Prints one node with its subtree (and its following siblings if
/// `options.siblings`), named as a top-level node of its module would be:
/// `{"ietf-interfaces:interface":[{...}]}` for a list entry.
pub fn print_node(node: &DataNodeRef<'_, '_>, options: &PrintOptions) -> Result<String> {
    print_data(node, options)
}

fn print_data<'a>(data: &impl Data<'a>, options: &PrintOptions) -> Result<String> {
    let out = crate::print::data(data, options.format.data_format(), options.flags())?;
    Ok(match out {
        Some(s) if !s.trim().is_empty() => {
            if options.pretty {
                s
            } else {
                s.trim_end().to_string()
            }
        }
        _ => empty(options.format),
    })
}

/// Converts a document of top-level nodes between formats (parsed as a
/// fragment: no validation, state allowed, unknown nodes rejected).
pub fn convert(ctx: &Context, data: &str, from: Format, options: &PrintOptions) -> Result<String> {
    let tree = parse(ctx, data, from, Content::Fragment)?;
    print_tree(&tree, options)
}
