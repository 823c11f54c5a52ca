//! Capabilities and Get (gNMI §3.2, §3.3).
//!
//! Get reads through the management core as the calling user (NACM filters
//! what the user may not read): CONFIG from running, STATE, OPERATIONAL and
//! ALL from the operational datastore. Each requested path gives one
//! Notification; each data node the path selects (several with wildcards)
//! gives one Update with its concrete path, the node's subtree as JSON or
//! JSON_IETF, or with PROTO one Update per leaf with a scalar TypedValue. A
//! path without wildcards that selects no data is NOT_FOUND; a wildcard path
//! that matches nothing gives a Notification without updates. With the depth
//! extension, each selected node holds its data `level` levels deep, the
//! last level only its leaves and leaf-lists.

use nectar_yang::print::NodePath;
use std::collections::{HashMap, HashSet};

use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{Caller, Datastore, Read};
use nectar_yang::encoding::{PrintOptions, print_tree};
use nectar_yang::path::{GnmiPath, gnmi_to_xpath};

use crate::context::{CallContext, now_ns};
use crate::data::{self, Content};
use crate::error::{Error, Result};
use crate::path::{self, PathCache};
use crate::proto::gnmi as pb;
use crate::value::{Encoding, node_json};

/// gNMI version nectar implements.
pub const GNMI_VERSION: &str = "0.10.0";

/// The implemented modules, encodings and gNMI version.
pub fn capabilities(shared: &CallContext) -> pb::CapabilityResponse {
    let ctx = shared.handle.context();
    let mut models: Vec<pb::ModelData> = ctx
        .modules(true)
        .filter(|m| m.is_implemented())
        .map(|m| pb::ModelData {
            name: m.name().to_string(),
            organization: m.organization().unwrap_or_default().to_string(),
            version: m.revision().unwrap_or_default().to_string(),
        })
        .collect();
    models.sort_by(|a, b| a.name.cmp(&b.name));
    pb::CapabilityResponse {
        supported_models: models,
        supported_encodings: Encoding::SUPPORTED.iter().map(|e| *e as i32).collect(),
        g_nmi_version: GNMI_VERSION.to_string(),
        extension: Vec::new(),
    }
}

/// One requested path, resolved.
struct Wanted {
    full: GnmiPath,
    xpath: String,
    wildcard: bool,
}

pub async fn get(
    shared: &CallContext,
    user: UserCtx,
    peer: Option<String>,
    req: pb::GetRequest,
) -> Result<pb::GetResponse> {
    let exts = crate::ext::parse(&req.extension, crate::ext::Rpc::Get)?;
    let ctx = shared.handle.context();
    let enc = Encoding::from_wire(req.encoding)?;
    let content = Content::from_wire(req.r#type)?;
    let models = data::models(ctx, &req.use_models)?;
    let prefix = path::prefix(req.prefix.as_ref())?;
    let mut wanted = Vec::with_capacity(req.path.len());
    for p in &req.path {
        let p = path::from_proto(p)?;
        let full = path::resolve(ctx, prefix.as_ref(), &p)?;
        let xpath = if full.elems.is_empty() {
            "/".to_string()
        } else {
            gnmi_to_xpath(ctx, None, &full).map_err(Error::path)?
        };
        let wildcard = full.has_wildcards();
        wanted.push(Wanted {
            full,
            xpath,
            wildcard,
        });
    }
    if wanted.is_empty() {
        // No path: the whole data tree (gNMI §3.3.1: the root).
        wanted.push(Wanted {
            full: GnmiPath::new(
                prefix
                    .as_ref()
                    .map(|p| p.origin.clone())
                    .unwrap_or_default(),
                Vec::new(),
            ),
            xpath: "/".into(),
            wildcard: false,
        });
    }
    let ds = match content {
        Content::Config => Datastore::Running,
        _ => Datastore::Operational,
    };
    let timestamp = now_ns();
    let prefix_out = path::response_prefix(req.prefix.as_ref());
    let caller = Caller::once(user, "gnmi", peer);
    let trees = if let ([w], Content::Config, None, Encoding::JsonIetf, None) =
        (&wanted[..], content, &models, enc, exts.depth)
        && w.xpath == "/"
    {
        // All of running: printed by the core from the datastore itself
        // when NACM cannot hide anything from the user (no copy).
        let mut read = Read::new(ds, None);
        read.print = Some(PrintOptions::json());
        let reply = shared.handle.read(caller, read).await?;
        if let Some(text) = reply.text {
            // An empty tree prints nothing; one of defaults only prints {}.
            if text.is_empty() {
                return Err(Error::not_found("no data"));
            }
            return Ok(pb::GetResponse {
                notification: vec![pb::Notification {
                    timestamp,
                    prefix: prefix_out,
                    update: vec![pb::Update {
                        path: Some(path::to_proto(&w.full, "")),
                        val: Some(json_typed(text.into_bytes(), enc)),
                        ..Default::default()
                    }],
                    delete: Vec::new(),
                    atomic: false,
                }],
                ..Default::default()
            });
        }
        vec![Ok(reply.tree)]
    } else {
        let fetch = wanted.iter().map(|w| data::fetch_xpath(&w.xpath)).collect();
        shared.handle.get_each(caller, ds, fetch).await?
    };
    let mut cache = PathCache::new();
    let mut notifications = Vec::with_capacity(wanted.len());
    for (w, tree) in wanted.iter().zip(trees) {
        let mut tree = tree?;
        data::prune(&mut tree, content, models.as_ref())?;
        if let Some(level) = exts.depth {
            data::limit_depth(&mut tree, &w.xpath, level)?;
        }
        let mut update = Vec::new();
        if w.xpath == "/" {
            if tree.reference().is_none() {
                return Err(Error::not_found("no data"));
            }
            match enc {
                Encoding::Proto => {
                    let nodes: Vec<_> = tree
                        .reference()
                        .into_iter()
                        .flat_map(|r| r.inclusive_siblings())
                        .collect();
                    leaf_updates(ctx, &nodes, enc, &mut cache, &mut update)?;
                }
                Encoding::Json | Encoding::JsonIetf => {
                    let bytes = if enc == Encoding::JsonIetf {
                        print_tree(&tree, &PrintOptions::json())
                            .map_err(|e| Error::internal(e.to_string()))?
                            .into_bytes()
                    } else {
                        crate::value::tree_json(&tree)?
                    };
                    update.push(pb::Update {
                        path: Some(path::to_proto(&w.full, "")),
                        val: Some(json_typed(bytes, enc)),
                        ..Default::default()
                    });
                }
            }
        } else {
            let nodes = data::select(&tree, &w.xpath)?;
            if nodes.is_empty() && !w.wildcard {
                return Err(Error::not_found(format!("no data at {}", w.full)));
            }
            match enc {
                Encoding::Proto => leaf_updates(ctx, &nodes, enc, &mut cache, &mut update)?,
                Encoding::Json | Encoding::JsonIetf => {
                    let mut seen_lists = HashSet::new();
                    for n in &nodes {
                        if let Some(list) = data::outer_keyless(n) {
                            // A keyless list has no gNMI path per entry:
                            // reported whole (see `data::outer_keyless`).
                            let p = data::list_path(&list);
                            if !seen_lists.insert(p.clone()) {
                                continue;
                            }
                            let loc = cache.get(ctx, &p)?;
                            update.push(pb::Update {
                                path: Some(loc.full.clone()),
                                val: Some(data::keyless_value(&list)?.typed(enc)),
                                ..Default::default()
                            });
                            continue;
                        }
                        let p = if n.schema().kind() == yang2::schema::SchemaNodeKind::LeafList {
                            // One update for the whole leaf-list.
                            let p = n.data_path();
                            let base = p.rsplit_once('[').map(|(b, _)| b.to_string()).unwrap_or(p);
                            if !seen_lists.insert(base.clone()) {
                                continue;
                            }
                            base
                        } else {
                            n.data_path()
                        };
                        let loc = cache.get(ctx, &p)?;
                        update.push(pb::Update {
                            path: Some(loc.full.clone()),
                            val: Some(json_typed(node_json(n, enc == Encoding::JsonIetf)?, enc)),
                            ..Default::default()
                        });
                    }
                }
            }
        }
        notifications.push(pb::Notification {
            timestamp,
            prefix: prefix_out.clone(),
            update,
            delete: Vec::new(),
            atomic: false,
        });
    }
    Ok(pb::GetResponse {
        notification: notifications,
        ..Default::default()
    })
}

fn json_typed(bytes: Vec<u8>, enc: Encoding) -> pb::TypedValue {
    use pb::typed_value::Value;
    pb::TypedValue {
        value: Some(if enc == Encoding::JsonIetf {
            Value::JsonIetfVal(bytes)
        } else {
            Value::JsonVal(bytes)
        }),
    }
}

/// One update per leaf under the given nodes (PROTO encoding).
fn leaf_updates(
    ctx: &yang2::context::Context,
    nodes: &[yang2::data::DataNodeRef<'_, 'static>],
    enc: Encoding,
    cache: &mut PathCache,
    out: &mut Vec<pb::Update>,
) -> Result<()> {
    let mut seen = HashSet::new();
    let mut counters = HashMap::new();
    let mut leaves = Vec::new();
    for n in nodes {
        data::leaves_under(n, Some(&mut seen), &mut counters, &mut leaves)?;
    }
    for l in leaves {
        let loc = cache.get(ctx, &l.path)?;
        out.push(pb::Update {
            path: Some(loc.full.clone()),
            val: Some(l.value.typed(enc)),
            ..Default::default()
        });
    }
    Ok(())
}
