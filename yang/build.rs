//! Embeds every YANG module of the model set into the crate: the standard
//! modules extracted by `scripts/fetch-models` into `yang/models/` and
//! nectar's own modules in `yang/modules/`. The binary never reads YANG files
//! from the filesystem at run time. The few published errata of the pinned
//! standard modules ([`ERRATA`], [`UNPREFIXED_IDENTITIES`]) are applied here,
//! each checked against the exact text it replaces.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Published bugs of the pinned standard modules that make a part of them
/// unusable, fixed the way their issue says: (file, the exact text of the
/// pinned module, its replacement). The build fails if the text is not there
/// (the pin changed: drop the erratum if the new release fixed it).
const ERRATA: &[(&str, &str, &str)] = &[
    // openconfig/public#181: the `ethernet` container (MAC address,
    // switched-vlan) is conditioned on the interface's *state* type, which a
    // configuration datastore never holds (RFC 7950 section 6.4.1), so no
    // configuration could ever contain it. The condition is on the configured
    // type instead.
    (
        "openconfig-if-ethernet.yang",
        "when \"oc-if:state/oc-if:type = 'ianaift:ethernetCsmacd'\"",
        "when \"oc-if:config/oc-if:type = 'ianaift:ethernetCsmacd'\"",
    ),
];

/// (file, the module defining the identities, [(identity, occurrences)]).
type Unprefixed = (&'static str, &'static str, &'static [(&'static str, usize)]);

/// Identities that `when` expressions of the pinned modules compare with an
/// identityref leaf under their bare name (`config/type = 'L2VSI'`): RFC 7950
/// section 9.10.3 makes an identityref's XPath value the identity's *prefixed*
/// name, so such a condition is never true and the subtree it guards can never
/// be configured (libyang reads a bare name as an identity of the expression's
/// own module: it happens to work for openconfig-acl, whose identities are its
/// own, never for openconfig-network-instance, whose are imported). Fixed as
/// upstream did, by prefixing each name in the file with the prefix the file
/// gives the identity's module. Each count is how many times `'NAME'` occurs
/// in the file: the build fails unless every occurrence lies inside a `when`
/// expression, the identity exists in that module and the counts are exact
/// (the pin changed: drop the entry if the new release fixed it).
const UNPREFIXED_IDENTITIES: &[Unprefixed] = &[
    // openconfig/public#223 and #228 (network instance types and protocol
    // identifiers), fixed upstream by openconfig/public#804: the network
    // instance's `fdb`, encapsulation, MPLS, segment routing, route limits,
    // and every protocol's container (`static-routes` for STATIC) are guarded
    // by bare identity names of the modules it imports.
    (
        "openconfig-network-instance.yang",
        "openconfig-network-instance-types",
        &[
            ("DEFAULT_INSTANCE", 4),
            ("L3VRF", 2),
            ("L2VSI", 5),
            ("L2P2P", 5),
            ("L2L3", 6),
            ("LOCAL", 1),
            ("REMOTE", 1),
        ],
    ),
    (
        "openconfig-network-instance.yang",
        "openconfig-policy-types",
        &[
            ("STATIC", 1),
            ("LOCAL_AGGREGATE", 1),
            ("BGP", 1),
            ("OSPF", 1),
            ("ISIS", 1),
            ("PIM", 1),
            ("IGMP", 1),
        ],
    ),
    // openconfig/public#264 (openconfig/public#1247 for later releases): the
    // ACL entry's `l2`, `ipv4`, `ipv6` and `transport` match containers are
    // guarded by the set type's bare identity names.
    (
        "openconfig-acl.yang",
        "openconfig-acl",
        &[("ACL_L2", 1), ("ACL_IPV4", 2), ("ACL_IPV6", 2)],
    ),
];

/// The argument of the first `keyword` statement in `text` (an `import`
/// body's or the module's own `prefix`), quotes removed.
fn argument_of(text: &str, keyword: &str) -> Option<String> {
    let mut words = text.split(|c: char| c.is_whitespace() || c == ';' || c == '{' || c == '}');
    words.find(|w| *w == keyword)?;
    words
        .find(|w| !w.is_empty())
        .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// The prefix `text` (module `own`) uses for identities of module `module`:
/// its own prefix, or the one of its `import module` statement.
fn prefix_for(text: &str, own: &str, module: &str) -> Option<String> {
    if module == own {
        return argument_of(text, "prefix");
    }
    let import = format!("import {module} ");
    let start = text.find(&import)? + import.len();
    let body = &text[start..start + text[start..].find('}')?];
    argument_of(body, "prefix")
}

/// True if the statement argument enclosing byte `at` of `text` is a `when`
/// expression: the last `when "` before it opens an argument that no `{` or
/// `;` has closed yet.
fn in_when(text: &str, at: usize) -> bool {
    text[..at]
        .rfind("when \"")
        .is_some_and(|w| !text[w..at].contains(['{', ';']))
}

/// Applies [`UNPREFIXED_IDENTITIES`] for `file` to its `text`.
fn prefix_identities(path: &Path, file: &str, text: &mut String) {
    let own = file.trim_end_matches(".yang");
    for (_, module, identities) in UNPREFIXED_IDENTITIES.iter().filter(|(f, _, _)| *f == file) {
        let prefix = prefix_for(text, own, module)
            .unwrap_or_else(|| panic!("{}: no prefix for module {module}", path.display()));
        let defining = path.with_file_name(format!("{module}.yang"));
        let types = std::fs::read_to_string(&defining)
            .unwrap_or_else(|e| panic!("{}: {e}", defining.display()));
        for (name, count) in *identities {
            assert!(
                types.contains(&format!("identity {name} {{")),
                "{}: no identity {name}",
                defining.display()
            );
            let bare = format!("'{name}'");
            let at: Vec<usize> = text.match_indices(&bare).map(|(i, _)| i).collect();
            assert!(
                *count > 0 && at.len() == *count,
                "{}: the erratum expects `{bare}` {count} times, found {}",
                path.display(),
                at.len()
            );
            for i in &at {
                assert!(
                    in_when(text, *i),
                    "{}: `{bare}` at byte {i} is not in a when expression",
                    path.display()
                );
            }
            *text = text.replace(&bare, &format!("'{prefix}:{name}'"));
        }
    }
}

/// The file to embed for `path`: the module itself, or its corrected copy in
/// `OUT_DIR` when an erratum applies to it.
fn with_errata(path: &Path) -> PathBuf {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    let fixes: Vec<_> = ERRATA.iter().filter(|(f, _, _)| *f == file).collect();
    let prefixing = UNPREFIXED_IDENTITIES.iter().any(|(f, _, _)| *f == file);
    if fixes.is_empty() && !prefixing {
        return path.to_path_buf();
    }
    let mut text = std::fs::read_to_string(path).unwrap();
    for (_, old, new) in fixes {
        assert!(
            text.matches(old).count() == 1,
            "{}: the erratum expects exactly one `{old}`",
            path.display()
        );
        text = text.replace(old, new);
    }
    prefix_identities(path, file, &mut text);
    let dir = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("errata");
    std::fs::create_dir_all(&dir).unwrap();
    let dest = dir.join(file);
    std::fs::write(&dest, text).unwrap();
    dest
}

struct Found {
    name: String,
    revision: Option<String>,
    belongs_to: Option<String>,
    family: &'static str,
    path: PathBuf,
}

#[path = "build/paths.rs"]
mod paths;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let models = root.join("models");
    let own = root.join("modules");
    println!("cargo:rerun-if-changed={}", models.display());
    println!("cargo:rerun-if-changed={}", models.join(".stamp").display());
    println!("cargo:rerun-if-changed={}", own.display());

    if !models.join(".stamp").exists() {
        panic!(
            "the standard YANG modules are missing: run `scripts/fetch-models` \
             (it downloads the pinned pyang and ntc-rosetta wheels, verifies \
             their sha256 and extracts the modules into yang/models/)"
        );
    }

    let mut found = Vec::new();
    for (dir, family) in [
        (models.join("ietf"), "Ietf"),
        (models.join("openconfig"), "OpenConfig"),
        (own.clone(), "Nectar"),
    ] {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yang"))
            .collect();
        entries.sort();
        for path in entries {
            println!("cargo:rerun-if-changed={}", path.display());
            found.push(scan(&path, family));
        }
    }

    let mut seen = std::collections::HashSet::new();
    for f in &found {
        assert!(
            seen.insert(f.name.clone()),
            "module {} is present twice in the model set",
            f.name
        );
    }

    let mut out = String::from("/// Every module of the model set, generated by build.rs.\n");
    out.push_str("pub static MODULES: &[EmbeddedModule] = &[\n");
    for f in &found {
        writeln!(
            out,
            "    EmbeddedModule {{ name: {:?}, revision: {:?}, belongs_to: {:?}, family: Family::{}, text: include_str!({:?}) }},",
            f.name,
            f.revision,
            f.belongs_to,
            f.family,
            with_errata(&f.path).display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();

    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("paths.rs");
    let sources: Vec<paths::Source> = found
        .iter()
        .map(|f| paths::Source {
            name: f.name.clone(),
            revision: f.revision.clone(),
            belongs_to: f.belongs_to.clone(),
            text: std::fs::read_to_string(with_errata(&f.path)).unwrap(),
        })
        .collect();
    std::fs::write(dest, paths::generate(sources)).unwrap();
}

/// Reads the header statements a loader needs: the (sub)module name, its most
/// recent revision and, for submodules, the module it belongs to. This is not a
/// YANG parser: libyang parses the text at run time; a file whose header does
/// not look like this fails the build loudly.
fn scan(path: &Path, family: &'static str) -> Found {
    let text = std::fs::read_to_string(path).unwrap();
    let mut name = None;
    let mut belongs_to = None;
    let mut revision = None;
    for line in text.lines() {
        let t = line.trim_start();
        let word = |kw: &str| {
            t.strip_prefix(kw)
                .filter(|rest| rest.starts_with(char::is_whitespace))
                .map(|rest| {
                    rest.trim()
                        .trim_end_matches('{')
                        .trim_end_matches(';')
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
        };
        if name.is_none() {
            name = word("module").or_else(|| word("submodule"));
        }
        if belongs_to.is_none() {
            belongs_to = word("belongs-to");
        }
        if revision.is_none() {
            revision = word("revision");
        }
    }
    Found {
        name: name.unwrap_or_else(|| panic!("{}: no module statement", path.display())),
        revision,
        belongs_to,
        family,
        path: path.to_path_buf(),
    }
}
