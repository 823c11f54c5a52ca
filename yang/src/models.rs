//! The model set: which embedded modules the process implements, with which
//! features, and the single libyang context built from them at start-up.

use std::collections::HashMap;

use yang2::context::{Context, ContextFlags, EmbeddedModuleKey, EmbeddedModules};

use crate::{Error, Result};

/// Where an embedded module comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IETF and IANA modules from the pinned pyang wheel.
    Ietf,
    /// The OpenConfig release in the pinned ntc-rosetta wheel.
    OpenConfig,
    /// nectar's own modules (`yang/modules/`).
    Nectar,
}

/// One module or submodule compiled into the binary.
#[derive(Debug)]
pub struct EmbeddedModule {
    pub name: &'static str,
    pub revision: Option<&'static str>,
    /// For a submodule, the module it belongs to.
    pub belongs_to: Option<&'static str>,
    pub family: Family,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Looks an embedded module up by name.
pub fn embedded(name: &str) -> Option<&'static EmbeddedModule> {
    MODULES.iter().find(|m| m.name == name)
}

pub use crate::specs::{DEVIATIONS, MANAGEMENT, ModuleSpec, NETWORK, SUBSCRIPTIONS, TELEMETRY};

/// A list of modules to implement, turned into one libyang context.
#[derive(Debug, Clone, Default)]
pub struct ModelSet {
    specs: Vec<ModuleSpec>,
}

impl ModelSet {
    pub fn new() -> Self {
        ModelSet::default()
    }

    /// The management modules only.
    pub fn management() -> Self {
        ModelSet::new().with(MANAGEMENT)
    }

    /// Adds modules to implement; a module named twice keeps its first spec.
    pub fn with(mut self, specs: &[ModuleSpec]) -> Self {
        for s in specs {
            if !self.specs.iter().any(|have| have.name == s.name) {
                self.specs.push(s.clone());
            }
        }
        self
    }

    pub fn specs(&self) -> &[ModuleSpec] {
        &self.specs
    }

    /// Builds the libyang context. It lives for the rest of the process (one
    /// context per process, shared read-only), so it is leaked on purpose and
    /// data trees can be `DataTree<'static>`.
    pub fn build(&self) -> Result<&'static Context> {
        let mut map: EmbeddedModules = HashMap::new();
        for m in MODULES {
            let key = match m.belongs_to {
                None => EmbeddedModuleKey::new(m.name, m.revision, None, None),
                Some(parent) => EmbeddedModuleKey::new(parent, None, Some(m.name), m.revision),
            };
            map.insert(key, m.text);
        }
        // The context keeps a pointer to the map: it must outlive the context,
        // which lives forever.
        let map: &'static EmbeddedModules = Box::leak(Box::new(map));

        let mut ctx = Context::new(
            ContextFlags::NO_YANGLIBRARY
                | ContextFlags::DISABLE_SEARCHDIRS
                | ContextFlags::REF_IMPLEMENTED,
        )
        .map_err(|e| Error::Model(format!("cannot create libyang context: {e}")))?;
        ctx.set_embedded_modules(map);

        // ietf-yang-library first: libyang's internal copy is not loaded
        // (NO_YANGLIBRARY), so the embedded standard one is used.
        let mut specs = vec![ModuleSpec::new("ietf-yang-library", &[])];
        specs.extend(self.specs.iter().cloned());
        for spec in &specs {
            if embedded(spec.name).is_none() {
                return Err(Error::Model(format!(
                    "module {} is not in the model set",
                    spec.name
                )));
            }
            ctx.load_module(spec.name, None, spec.features)
                .map_err(|e| {
                    Error::Model(format!("cannot load {}: {}", spec.name, Error::from(e)))
                })?;
        }
        Ok(Box::leak(Box::new(ctx)))
    }
}
