//! Loading one component: compiling it, checking its API version, kind and manifest (and an integration's
//! routes and events), and linking it with its WIT version's adapter.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::domain::plugin_api::{HookSubscription, PluginError};
use crate::domain::webhook_events::EventType;
use crate::plugins::api_version::{self, InterfaceName};
use crate::plugins::call::{self, CallState};
use crate::plugins::capabilities::Grants;
use crate::plugins::compile_cache::CompileCache;
use crate::plugins::host::{Adapter, Health, Loaded, PluginHost, PluginSource, new_store};
use crate::plugins::integration::{PluginRoute, Registration};
use crate::plugins::limits::{CallLimiter, Limits};
use crate::plugins::v0_1::WidgetAdapter;
use crate::plugins::v0_1::cobrowse::CobrowseAdapter;
use crate::plugins::v0_1::integration::IntegrationAdapter;
use crate::plugins::{Manifest, PluginKind};

/// The first bytes of a WebAssembly component (a core module has `01 00 00 00` after the magic).
const COMPONENT_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const MODULE_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// The engine and, when configured, the folder of compiled components.
pub(crate) struct Compiler<'a> {
    pub engine: &'a Engine,
    pub cache: Option<&'a CompileCache>,
}

impl Compiler<'_> {
    fn compile(&self, bytes: &[u8]) -> wasmtime::Result<Component> {
        match self.cache {
            Some(cache) => cache.component(self.engine, bytes),
            None => Component::new(self.engine, bytes),
        }
    }
}

impl PluginHost {
    /// Compiles and checks one component on a blocking thread.
    pub(super) async fn load(
        &self,
        hint: &str,
        bytes: Vec<u8>,
        source: PluginSource,
    ) -> Result<Arc<Loaded>, PluginError> {
        let engine = self.inner.engine.clone();
        let limits = self.inner.limits;
        let grants = self.inner.grants.clone();
        let state = CallState {
            plugin: hint.into(),
            limiter: CallLimiter::new(limits.memory_bytes),
            granted: BTreeSet::new(),
            data: self.inner.data.clone(),
            runtime: tokio::runtime::Handle::current(),
            max_payload_bytes: limits.max_payload_bytes,
            kv_quota: limits.kv,
            deadline: tokio::time::Instant::now(),
            denied: None,
            last_error_log: None,
            platform: None,
        };
        let hint = hint.to_string();
        let cache = self.inner.compile_cache.clone();
        tokio::task::spawn_blocking(move || {
            let compiler = Compiler {
                engine: &engine,
                cache: cache.as_deref(),
            };
            load_component(&compiler, &limits, &grants, &hint, &bytes, source, state)
        })
        .await
        .map_err(|e| PluginError::Host(format!("plugin load thread: {e}")))?
        .map(Arc::new)
    }
}

/// Compiles a component, checks its API version, kind and manifest, and links it with its version's adapter.
pub(crate) fn load_component(
    compiler: &Compiler<'_>,
    limits: &Limits,
    grants: &Grants,
    hint: &str,
    bytes: &[u8],
    source: PluginSource,
    state: CallState,
) -> Result<Loaded, PluginError> {
    if bytes.starts_with(&MODULE_PREAMBLE) {
        return Err(PluginError::invalid(
            hint,
            "this is a core WebAssembly module, not a component; build it with `natter plugin build`",
        ));
    }
    if !bytes.starts_with(&COMPONENT_PREAMBLE) {
        return Err(PluginError::invalid(hint, "not a WebAssembly component"));
    }
    let engine = compiler.engine;
    let component = compiler
        .compile(bytes)
        .map_err(|e| PluginError::invalid(hint, format!("does not compile: {e:#}")))?;
    let (kind, version) = plugin_export(engine, &component, hint)?;
    let unlinkable = |e: wasmtime::Error| {
        PluginError::invalid(
            hint,
            format!(
                "its imports cannot be satisfied (plugins get natter:plugin/host only, no WASI): {e:#}"
            ),
        )
    };
    let adapter = match kind {
        PluginKind::Widget => {
            Adapter::Widget0_1(WidgetAdapter::link(engine, &component).map_err(unlinkable)?)
        }
        PluginKind::Cobrowse => {
            Adapter::Cobrowse0_1(CobrowseAdapter::link(engine, &component).map_err(unlinkable)?)
        }
        PluginKind::Integration => Adapter::Integration0_1(
            IntegrationAdapter::link(engine, &component).map_err(unlinkable)?,
        ),
    };
    let mut store = new_store(engine, limits, state);
    let manifest = adapter.manifest(&mut store).map_err(|e| {
        PluginError::invalid(
            hint,
            format!("manifest(): {}", call::classify(hint, &e, store.data())),
        )
    })?;
    check_manifest(&manifest, kind, &version, hint)?;
    let mut store = new_store(engine, limits, fresh(store.into_data()));
    let schema = adapter.config_schema(&mut store).map_err(|e| {
        PluginError::invalid(
            hint,
            format!(
                "config-schema(): {}",
                call::classify(hint, &e, store.data())
            ),
        )
    })?;
    let (routes, events) = match &adapter {
        Adapter::Widget0_1(_) | Adapter::Cobrowse0_1(_) => (Vec::new(), Vec::new()),
        Adapter::Integration0_1(integration) => {
            let mut store = new_store(engine, limits, fresh(store.into_data()));
            let registration = integration.register(&mut store).map_err(|e| {
                PluginError::invalid(
                    hint,
                    format!("register(): {}", call::classify(hint, &e, store.data())),
                )
            })?;
            let events = check_events(&manifest.name, &registration.events)?;
            (check_routes(&manifest.name, registration)?, events)
        }
    };
    let Ok(schema_doc) = serde_json::from_str::<serde_json::Value>(&schema) else {
        return Err(PluginError::invalid(hint, "config-schema() is not JSON"));
    };
    let hooks = HookSubscription::from_schema(&schema_doc)
        .map_err(|reason| PluginError::invalid(hint, format!("config-schema(): {reason}")))?;
    let granted = grants.effective(&manifest.name, &manifest.capabilities);
    for asked in &manifest.capabilities {
        if !granted.iter().any(|c| c.as_str() == asked) {
            tracing::warn!(plugin = %manifest.name, capability = %asked, "capability asked for but not granted in [plugins.grants]; its use will be refused");
        }
    }
    Ok(Loaded {
        digest: hex::encode(Sha256::digest(bytes)).into(),
        generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        manifest,
        source,
        granted,
        schema: schema.into(),
        hooks,
        adapter,
        health: Health::default(),
        routes,
        events,
    })
}

/// Checks the event types an integration asks for; an unknown one refuses the plugin, with the reason.
fn check_events(plugin: &str, events: &[String]) -> Result<Vec<EventType>, PluginError> {
    let mut out: Vec<EventType> = Vec::new();
    for name in events {
        let event = name
            .parse::<EventType>()
            .map_err(|e| PluginError::invalid(plugin, format!("register(): {e}")))?;
        if !out.contains(&event) {
            out.push(event);
        }
    }
    Ok(out)
}

/// Checks an integration's declared routes; one bad route refuses the plugin, with the reason.
fn check_routes(plugin: &str, registration: Registration) -> Result<Vec<PluginRoute>, PluginError> {
    let mut routes: Vec<PluginRoute> = Vec::new();
    for spec in registration.routes {
        let route =
            PluginRoute::check(plugin, spec).map_err(|why| PluginError::invalid(plugin, why))?;
        if routes
            .iter()
            .any(|r| r.method == route.method && r.shape() == route.shape())
        {
            return Err(PluginError::invalid(
                plugin,
                format!("it declares {} {} twice", route.method.as_str(), route.path),
            ));
        }
        routes.push(route);
    }
    Ok(routes)
}

/// The state of a used store, reset for the next call.
fn fresh(used: CallState) -> CallState {
    CallState {
        denied: None,
        last_error_log: None,
        limiter: CallLimiter::new(used.limiter.limit()),
        ..used
    }
}

/// Finds the `natter:plugin/<kind>-plugin@X.Y.Z` export, checks X.Y.Z is supported and the imports agree.
fn plugin_export(
    engine: &Engine,
    component: &Component,
    hint: &str,
) -> Result<(PluginKind, String), PluginError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let Some((kind, version)) = exports.iter().find_map(|name| {
        let InterfaceName { interface, version } = api_version::parse_name(name)?;
        Some((api_version::kind_of_export(interface)?, version.to_string()))
    }) else {
        return Err(PluginError::invalid(
            hint,
            "not a natter plugin: it exports no natter:plugin/<kind>-plugin interface",
        ));
    };
    if !api_version::is_supported(&version) {
        return Err(PluginError::ApiVersion {
            plugin: hint.to_string(),
            found: version,
            supported: api_version::supported_text(),
        });
    }
    for import in &imports {
        match api_version::parse_name(import) {
            Some(name) if name.version != version => {
                return Err(PluginError::invalid(
                    hint,
                    format!("it imports {import} but exports natter:plugin@{version}"),
                ));
            }
            Some(_) => {}
            None => {
                return Err(PluginError::invalid(
                    hint,
                    format!("it imports {import}, which this host does not provide (no WASI)"),
                ));
            }
        }
    }
    Ok((kind, version))
}

fn check_manifest(
    manifest: &Manifest,
    kind: PluginKind,
    version: &str,
    hint: &str,
) -> Result<(), PluginError> {
    let name_ok = !manifest.name.is_empty()
        && manifest.name.len() <= 64
        && manifest
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(PluginError::invalid(
            hint,
            format!(
                "manifest name \"{}\" must be 1 to 64 lowercase letters, digits or dashes",
                manifest.name
            ),
        ));
    }
    if api_version::compat_key(&manifest.api_version) != api_version::compat_key(version) {
        return Err(PluginError::invalid(
            &manifest.name,
            format!(
                "its manifest says api-version {} but it was built for natter:plugin@{version}",
                manifest.api_version
            ),
        ));
    }
    if manifest.kind != kind {
        return Err(PluginError::invalid(
            &manifest.name,
            format!(
                "its manifest says kind {} but it exports the {} interface",
                manifest.kind.as_str(),
                kind.as_str()
            ),
        ));
    }
    Ok(())
}
