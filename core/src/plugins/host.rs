//! The plugin host: the registry of loaded plugins, their health, and the calls into them.
//!
//! Each plugin is compiled once (linked into an instance-pre); each call gets a fresh store from the pooling
//! allocator, with the deadline, memory cap and grants of that plugin, on a blocking thread so a slow plugin
//! never holds up the async workers that carry the chat. A call that fails is logged once and counted;
//! `failures_before_disable` consecutive failures disable the plugin until its bytes change or an admin
//! enables it again (the record is stored, so a restart does not re-enable a plugin that keeps failing).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use wasmtime::component::Component;
use wasmtime::{Engine, Store};

use crate::domain::plugin_api::{FailureKind, PluginError};
use crate::domain::webhook_events::EventType;
use crate::plugins::api_version::{self, InterfaceName};
use crate::plugins::call::{self, CallState};
use crate::plugins::capabilities::{Capability, DisabledRecord, Grants, PluginData};
use crate::plugins::engine::{self, EpochTicker};
use crate::plugins::integration::{PluginRoute, Registration};
use crate::plugins::limits::{CallLimiter, Limits};
use crate::plugins::platform::Platform;
use crate::plugins::v0_1::WidgetAdapter;
use crate::plugins::v0_1::cobrowse::CobrowseAdapter;
use crate::plugins::v0_1::integration::IntegrationAdapter;
use crate::plugins::{
    CobrowseAsset, FieldError, HookEvent, HookEventKind, Manifest, PluginKind, RenderContext,
    Rendered, WidgetAction,
};

/// How often the plugin folder is checked for new, replaced or removed files.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The first bytes of a WebAssembly component (a core module has `01 00 00 00` after the magic).
const COMPONENT_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const MODULE_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/// A plugin compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

/// Where a loaded plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    Builtin,
    File(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Builtin => f.write_str("built-in"),
            PluginSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Whether a plugin takes calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginStatus {
    Active,
    Disabled {
        reason: String,
        at: chrono::DateTime<chrono::Utc>,
    },
}

/// A loaded plugin as `natter plugin list` and `GET /api/v1/plugins` show it.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    pub manifest: Manifest,
    pub source: PluginSource,
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// Whether this folder plugin takes the place of a built-in of the same name.
    pub replaces_builtin: bool,
    pub capabilities_granted: Vec<String>,
    pub status: PluginStatus,
    pub calls: u64,
    pub failures: u64,
    pub consecutive_failures: u32,
    pub last_failure: Option<String>,
}

/// How the host is set up: limits, grants, where plugins come from, where it keeps their data.
pub struct HostOptions {
    pub limits: Limits,
    pub grants: Grants,
    pub dir: Option<PathBuf>,
    pub builtins: Vec<Builtin>,
    pub data: Arc<dyn PluginData>,
    /// What integration host functions reach (agents, ...); `None` answers them `unavailable`.
    pub platform: Option<Arc<dyn Platform>>,
}

/// The versioned adapter a plugin was linked with.
pub(crate) enum Adapter {
    Widget0_1(WidgetAdapter),
    Cobrowse0_1(CobrowseAdapter),
    Integration0_1(IntegrationAdapter),
}

impl Adapter {
    fn manifest(&self, store: &mut Store<CallState>) -> wasmtime::Result<Manifest> {
        match self {
            Adapter::Widget0_1(a) => a.manifest(store),
            Adapter::Cobrowse0_1(a) => a.manifest(store),
            Adapter::Integration0_1(a) => a.manifest(store),
        }
    }

    fn config_schema(&self, store: &mut Store<CallState>) -> wasmtime::Result<String> {
        match self {
            Adapter::Widget0_1(a) => a.config_schema(store),
            Adapter::Cobrowse0_1(a) => a.config_schema(store),
            Adapter::Integration0_1(a) => a.config_schema(store),
        }
    }

    fn validate_config(
        &self,
        store: &mut Store<CallState>,
        config: &str,
    ) -> wasmtime::Result<Result<(), Vec<FieldError>>> {
        match self {
            Adapter::Widget0_1(a) => a.validate_config(store, config),
            Adapter::Cobrowse0_1(a) => a.validate_config(store, config),
            Adapter::Integration0_1(a) => a.validate_config(store, config),
        }
    }
}

/// A call's answer that the adapter of the wrong kind cannot give (the kind is checked before the call).
fn wrong_adapter<R>() -> wasmtime::Result<Result<R, String>> {
    Err(wasmtime::Error::msg(
        "the plugin's adapter is not of the kind called",
    ))
}

/// A plugin compiled, checked and ready to call.
pub struct Loaded {
    manifest: Manifest,
    source: PluginSource,
    digest: Arc<str>,
    /// Different for every load, so caches of a replaced plugin's output go stale.
    generation: u64,
    granted: BTreeSet<Capability>,
    schema: Arc<str>,
    adapter: Adapter,
    health: Health,
    /// An integration plugin's checked routes; empty for other kinds.
    routes: Vec<PluginRoute>,
    /// The event types an integration plugin takes through `on-event`.
    events: Vec<EventType>,
}

#[derive(Default)]
struct Health {
    calls: AtomicU64,
    failures: AtomicU64,
    consecutive: AtomicU32,
    last_failure: Mutex<Option<String>>,
    disabled: Mutex<Option<DisabledRecord>>,
}

impl Loaded {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub(crate) fn digest_shared(&self) -> Arc<str> {
        self.digest.clone()
    }

    /// The plugin's configuration schema (JSON), read once at load.
    pub fn config_schema(&self) -> &str {
        &self.schema
    }

    pub(crate) fn config_schema_shared(&self) -> Arc<str> {
        self.schema.clone()
    }

    /// The REST routes an integration plugin serves.
    pub fn routes(&self) -> &[PluginRoute] {
        &self.routes
    }

    /// The event types an integration plugin registered for.
    pub fn events(&self) -> &[EventType] {
        &self.events
    }

    /// Whether the plugin was disabled after repeated failures.
    pub fn is_disabled(&self) -> bool {
        self.disabled().is_some()
    }

    fn disabled(&self) -> Option<DisabledRecord> {
        self.health.disabled.lock().ok().and_then(|d| d.clone())
    }
}

/// A file of the plugin folder as last seen, and what loading it gave.
struct FileEntry {
    stamp: (Option<SystemTime>, u64),
    outcome: Result<Arc<Loaded>, String>,
}

#[derive(Default)]
struct Registry {
    builtins: BTreeMap<String, Arc<Loaded>>,
    files: BTreeMap<PathBuf, FileEntry>,
    /// What calls see: built-ins, replaced by folder plugins of the same name.
    active: BTreeMap<String, Arc<Loaded>>,
}

struct Inner {
    engine: Engine,
    ticker: EpochTicker,
    limits: Limits,
    grants: Grants,
    dir: Option<PathBuf>,
    data: Arc<dyn PluginData>,
    platform: Option<Arc<dyn Platform>>,
    registry: RwLock<Registry>,
    permits: Semaphore,
    reloading: tokio::sync::Mutex<()>,
    stopped: CancellationToken,
}

/// The plugin host. Cheap to clone.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

impl PluginHost {
    /// Builds the engine, loads the built-ins and the folder, and applies stored disabled records.
    /// A plugin that does not load is logged and left out; the server starts without it.
    pub async fn start(options: HostOptions) -> Result<Self, PluginError> {
        let engine =
            engine::build(&options.limits).map_err(|e| PluginError::Host(format!("{e:#}")))?;
        let ticker = EpochTicker::start(&engine).map_err(|e| PluginError::Host(e.to_string()))?;
        let host = Self {
            inner: Arc::new(Inner {
                engine,
                ticker,
                limits: options.limits,
                grants: options.grants,
                dir: options.dir,
                data: options.data,
                platform: options.platform,
                registry: RwLock::new(Registry::default()),
                permits: Semaphore::new(engine::CONCURRENT_CALLS as usize),
                reloading: tokio::sync::Mutex::new(()),
                stopped: CancellationToken::new(),
            }),
        };
        let mut builtins = BTreeMap::new();
        for builtin in options.builtins {
            let bytes = builtin.bytes.to_vec();
            match host.load(builtin.name, bytes, PluginSource::Builtin).await {
                Ok(loaded) => {
                    builtins.insert(loaded.manifest.name.clone(), loaded);
                }
                Err(e) => {
                    tracing::error!(plugin = builtin.name, error = %e, "built-in plugin not loaded")
                }
            }
        }
        host.write_registry().builtins = builtins;
        if let Some(dir) = host.inner.dir.clone() {
            host.rescan(&dir).await;
        }
        host.refresh().await;
        Ok(host)
    }

    /// Polls the plugin folder every [`RELOAD_INTERVAL`] until [`PluginHost::stop`], so a dropped-in,
    /// replaced or removed `.wasm` file takes effect without a restart. Does nothing without a folder.
    pub fn watch(&self) {
        if self.inner.dir.is_none() {
            return;
        }
        let host = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(RELOAD_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = host.inner.stopped.cancelled() => break,
                    _ = interval.tick() => host.reload().await,
                }
            }
        });
    }

    /// Stops the folder watch and the epoch ticker (calls still running then run to completion unbounded
    /// in time but not in memory; the server is on its way down).
    pub fn stop(&self) {
        self.inner.stopped.cancel();
        self.inner.ticker.stop();
    }

    /// The limits calls run under.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Rescans the plugin folder: loads new and changed files, forgets removed ones.
    pub async fn reload(&self) {
        let changed = match self.inner.dir.clone() {
            Some(dir) => self.rescan(&dir).await,
            None => true,
        };
        if changed {
            self.refresh().await;
        }
    }

    /// Loads what changed in `dir` since the last scan; answers whether anything did.
    async fn rescan(&self, dir: &Path) -> bool {
        let _one_at_a_time = self.inner.reloading.lock().await;
        let seen = scan(dir).await;
        let (changed, removed) = {
            let registry = self.read_registry();
            let changed: Vec<_> = seen
                .iter()
                .filter(|(path, stamp)| {
                    registry.files.get(*path).is_none_or(|e| e.stamp != **stamp)
                })
                .map(|(path, stamp)| (path.clone(), *stamp))
                .collect();
            let removed: Vec<PathBuf> = registry
                .files
                .keys()
                .filter(|path| !seen.contains_key(*path))
                .cloned()
                .collect();
            (changed, removed)
        };
        if changed.is_empty() && removed.is_empty() {
            return false;
        }
        let mut loaded = Vec::new();
        for (path, stamp) in changed {
            let hint = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let outcome = match tokio::fs::read(&path).await {
                Ok(bytes) => self
                    .load(&hint, bytes, PluginSource::File(path.clone()))
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot read {}: {e}", path.display())),
            };
            match &outcome {
                Ok(plugin) => tracing::info!(
                    plugin = %plugin.manifest.name,
                    version = %plugin.manifest.version,
                    file = %path.display(),
                    "plugin loaded"
                ),
                Err(error) => tracing::error!(file = %path.display(), %error, "plugin not loaded"),
            }
            loaded.push((path, FileEntry { stamp, outcome }));
        }
        let mut registry = self.write_registry();
        for path in &removed {
            tracing::info!(file = %path.display(), "plugin file removed");
            registry.files.remove(path);
        }
        for (path, entry) in loaded {
            registry.files.insert(path, entry);
        }
        true
    }

    /// Recomputes what calls see, with the disabled records of storage applied.
    async fn refresh(&self) {
        let disabled = match self.inner.data.disabled().await {
            Ok(disabled) => disabled,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read disabled plugins; assuming none");
                HashMap::new()
            }
        };
        self.recompute_active(&disabled);
    }

    /// Rebuilds the name → plugin map: built-ins, then folder files in name order (a folder plugin named
    /// like a built-in replaces it; of two files with one name, the first in file-name order wins).
    fn recompute_active(&self, disabled: &HashMap<String, DisabledRecord>) {
        let mut registry = self.write_registry();
        let mut active = registry.builtins.clone();
        let mut from_files = BTreeSet::new();
        for (path, entry) in &registry.files {
            if let Ok(plugin) = &entry.outcome {
                let name = plugin.manifest.name.clone();
                if !from_files.insert(name.clone()) {
                    tracing::warn!(plugin = %name, file = %path.display(), "another file already provides this plugin; ignored");
                    continue;
                }
                active.insert(name, plugin.clone());
            }
        }
        for (name, plugin) in &active {
            if let Some(record) = disabled.get(name)
                && *record.digest == *plugin.digest
                && let Ok(mut slot) = plugin.health.disabled.lock()
                && slot.is_none()
            {
                *slot = Some(record.clone());
            }
        }
        registry.active = active;
    }

    /// Loads one more component next to the built-ins (`natter plugin check`, benchmarks) and answers
    /// what was loaded. It replaces a plugin of the same name.
    pub async fn add(
        &self,
        hint: &str,
        bytes: Vec<u8>,
        source: PluginSource,
    ) -> Result<PluginInfo, PluginError> {
        let plugin = self.load(hint, bytes, source).await?;
        let name = plugin.manifest.name.clone();
        self.write_registry().builtins.insert(name.clone(), plugin);
        self.recompute_active(&HashMap::new());
        self.list()
            .into_iter()
            .find(|info| info.manifest.name == name)
            .ok_or(PluginError::NotFound(name))
    }

    /// Every plugin calls would reach, by name.
    pub fn list(&self) -> Vec<PluginInfo> {
        let registry = self.read_registry();
        registry
            .active
            .values()
            .map(|plugin| PluginInfo {
                manifest: plugin.manifest.clone(),
                source: plugin.source.clone(),
                digest: plugin.digest.to_string(),
                replaces_builtin: plugin.source != PluginSource::Builtin
                    && registry.builtins.contains_key(&plugin.manifest.name),
                capabilities_granted: plugin.granted.iter().map(|c| c.to_string()).collect(),
                status: match plugin.disabled() {
                    Some(record) => PluginStatus::Disabled {
                        reason: record.reason,
                        at: record.at,
                    },
                    None => PluginStatus::Active,
                },
                calls: plugin.health.calls.load(Ordering::Relaxed),
                failures: plugin.health.failures.load(Ordering::Relaxed),
                consecutive_failures: plugin.health.consecutive.load(Ordering::Relaxed),
                last_failure: plugin
                    .health
                    .last_failure
                    .lock()
                    .ok()
                    .and_then(|l| l.clone()),
            })
            .collect()
    }

    /// Files of the plugin folder that did not load, with the reason.
    pub fn load_errors(&self) -> Vec<(PathBuf, String)> {
        self.read_registry()
            .files
            .iter()
            .filter_map(|(path, entry)| {
                entry
                    .outcome
                    .as_ref()
                    .err()
                    .map(|e| (path.clone(), e.clone()))
            })
            .collect()
    }

    /// The loaded plugin of this name, disabled or not.
    pub fn get(&self, name: &str) -> Option<Arc<Loaded>> {
        self.read_registry().active.get(name).cloned()
    }

    /// The configuration grants of `plugin`, as written (for `natter plugin list`).
    pub fn configured_grants(&self, plugin: &str) -> Vec<String> {
        self.inner.grants.configured(plugin)
    }

    /// Takes a disabled plugin back into service and forgets its failures.
    pub async fn enable(&self, name: &str) -> Result<(), PluginError> {
        let plugin = self
            .get(name)
            .ok_or_else(|| PluginError::NotFound(name.to_string()))?;
        self.inner
            .data
            .set_disabled(name, None)
            .await
            .map_err(|e| PluginError::Host(e.to_string()))?;
        if let Ok(mut slot) = plugin.health.disabled.lock() {
            *slot = None;
        }
        plugin.health.consecutive.store(0, Ordering::Relaxed);
        tracing::info!(plugin = name, "plugin enabled again");
        Ok(())
    }

    /// Checks a configuration document with the plugin's `validate-config` (any kind).
    pub async fn validate_config(
        &self,
        name: &str,
        config: &str,
    ) -> Result<Result<(), Vec<FieldError>>, PluginError> {
        let kind = self
            .get(name)
            .map(|p| p.manifest.kind)
            .ok_or_else(|| PluginError::NotFound(name.to_string()))?;
        let config = config.to_string();
        let input = config.len();
        self.call(
            name,
            kind,
            input,
            field_errors_size,
            move |adapter, store| Ok(Ok(adapter.validate_config(store, &config)?)),
        )
        .await
    }

    /// A co-browse plugin's recorder or viewer script; also answers with the plugin's generation.
    pub async fn cobrowse_asset(
        &self,
        name: &str,
        config: &str,
        which: CobrowseAsset,
    ) -> Result<(String, u64), PluginError> {
        let generation = self
            .get(name)
            .map(|p| p.generation)
            .ok_or_else(|| PluginError::NotFound(name.to_string()))?;
        let config = config.to_string();
        let script = self
            .call(
                name,
                PluginKind::Cobrowse,
                config.len(),
                String::len,
                move |adapter, store| match adapter {
                    Adapter::Cobrowse0_1(a) => a.asset_script(store, &config, which),
                    _ => wrong_adapter(),
                },
            )
            .await?;
        Ok((script, generation))
    }

    /// Passes one recorded event through a co-browse plugin's filter: the event to forward (`None`:
    /// dropped) and the session's next filter state.
    pub async fn cobrowse_filter(
        &self,
        name: &str,
        config: &str,
        state: &str,
        event: &str,
    ) -> Result<(Option<String>, String), PluginError> {
        let (config, state, event) = (config.to_string(), state.to_string(), event.to_string());
        let input = config.len() + state.len() + event.len();
        self.call(
            name,
            PluginKind::Cobrowse,
            input,
            |(event, state): &(Option<String>, String)| {
                event.as_ref().map_or(0, String::len) + state.len()
            },
            move |adapter, store| match adapter {
                Adapter::Cobrowse0_1(a) => a.filter_event(store, &config, &state, &event),
                _ => wrong_adapter(),
            },
        )
        .await
    }

    /// Renders a widget; also answers with the plugin's generation (what a cache of the output is valid for).
    pub async fn render(
        &self,
        name: &str,
        config: &str,
        ctx: &RenderContext,
    ) -> Result<(Rendered, u64), PluginError> {
        let generation = self
            .get(name)
            .map(|p| p.generation)
            .ok_or_else(|| PluginError::NotFound(name.to_string()))?;
        let config = config.to_string();
        let ctx = ctx.clone();
        let input = config.len() + ctx.site_key.len() + ctx.base_url.len() + ctx.ws_url.len();
        let rendered = self
            .call(
                name,
                PluginKind::Widget,
                input,
                rendered_size,
                move |adapter, store| match adapter {
                    Adapter::Widget0_1(widget) => widget.render(store, &config, &ctx),
                    _ => wrong_adapter(),
                },
            )
            .await?;
        Ok((rendered, generation))
    }

    /// Runs a widget's `on-visitor-event` hook; answers the actions it asks for, in order.
    pub async fn on_visitor_event(
        &self,
        name: &str,
        config: &str,
        event: HookEvent,
    ) -> Result<Vec<WidgetAction>, PluginError> {
        let config = config.to_string();
        let input = config.len() + hook_event_size(&event);
        self.call(
            name,
            PluginKind::Widget,
            input,
            |actions: &Vec<WidgetAction>| actions_size(actions),
            move |adapter, store| match adapter {
                Adapter::Widget0_1(widget) => widget.on_visitor_event(store, &config, event),
                _ => wrong_adapter(),
            },
        )
        .await
    }

    /// Runs `f` on a fresh store of plugin `name`, on a blocking thread, under the plugin's limits.
    /// `f` answers `Ok(Err(message))` when the plugin itself answered with an error; `output_bytes`
    /// measures a successful answer against the payload cap.
    pub(crate) async fn call<R, F>(
        &self,
        name: &str,
        kind: PluginKind,
        input_bytes: usize,
        output_bytes: fn(&R) -> usize,
        f: F,
    ) -> Result<R, PluginError>
    where
        R: Send + 'static,
        F: FnOnce(&Adapter, &mut Store<CallState>) -> wasmtime::Result<Result<R, String>>
            + Send
            + 'static,
    {
        let plugin = self
            .get(name)
            .ok_or_else(|| PluginError::NotFound(name.to_string()))?;
        if plugin.manifest.kind != kind {
            return Err(PluginError::WrongKind {
                plugin: name.to_string(),
                kind: plugin.manifest.kind.as_str(),
                wanted: kind.as_str(),
            });
        }
        if plugin.disabled().is_some() {
            return Err(PluginError::Disabled(name.to_string()));
        }
        let max = self.inner.limits.max_payload_bytes;
        let outcome = if input_bytes > max {
            Err(too_large(name, "input", input_bytes, max))
        } else {
            let _permit = self
                .inner
                .permits
                .acquire()
                .await
                .map_err(|e| PluginError::Host(e.to_string()))?;
            let engine = self.inner.engine.clone();
            let limits = self.inner.limits;
            let state = self.call_state(&plugin);
            let runner = plugin.clone();
            tokio::task::spawn_blocking(move || {
                let mut store = new_store(&engine, &limits, state);
                let answer = f(&runner.adapter, &mut store);
                let plugin = &*runner.manifest.name;
                match answer {
                    Ok(Ok(value)) if output_bytes(&value) > max => {
                        Err(too_large(plugin, "output", output_bytes(&value), max))
                    }
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(message)) => Err(call::answered_error(plugin, message, store.data())),
                    Err(error) => Err(call::classify(plugin, &error, store.data())),
                }
            })
            .await
            .map_err(|e| PluginError::Host(format!("plugin call thread: {e}")))?
        };
        self.record(&plugin, &outcome).await;
        outcome
    }

    fn call_state(&self, plugin: &Loaded) -> CallState {
        CallState {
            plugin: plugin.manifest.name.as_str().into(),
            limiter: CallLimiter::new(self.inner.limits.memory_bytes),
            granted: plugin.granted.clone(),
            data: self.inner.data.clone(),
            runtime: tokio::runtime::Handle::current(),
            max_payload_bytes: self.inner.limits.max_payload_bytes,
            kv_quota: self.inner.limits.kv,
            // Set again when the call's store is made; this one is never waited on.
            deadline: tokio::time::Instant::now(),
            denied: None,
            last_error_log: None,
            platform: self.inner.platform.clone(),
        }
    }

    /// Counts a call; logs a failure once; disables the plugin after too many in a row.
    async fn record<R>(&self, plugin: &Loaded, outcome: &Result<R, PluginError>) {
        let health = &plugin.health;
        health.calls.fetch_add(1, Ordering::Relaxed);
        let error = match outcome {
            Ok(_) => {
                health.consecutive.store(0, Ordering::Relaxed);
                return;
            }
            Err(error) if error.failure_kind().is_some() => error,
            // Not the plugin's doing (the host could not run it): neither counted nor logged here.
            Err(_) => return,
        };
        health.failures.fetch_add(1, Ordering::Relaxed);
        let consecutive = health.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(plugin = %plugin.manifest.name, consecutive, error = %error, "plugin call failed");
        if let Ok(mut last) = health.last_failure.lock() {
            *last = Some(error.to_string());
        }
        if consecutive < self.inner.limits.failures_before_disable {
            return;
        }
        let record = DisabledRecord {
            digest: plugin.digest.to_string(),
            reason: format!("{consecutive} consecutive failures; last: {error}"),
            at: chrono::Utc::now(),
        };
        {
            let Ok(mut slot) = health.disabled.lock() else {
                return;
            };
            if slot.is_some() {
                return;
            }
            *slot = Some(record.clone());
        }
        tracing::error!(plugin = %plugin.manifest.name, reason = %record.reason, "plugin disabled");
        if let Err(e) = self
            .inner
            .data
            .set_disabled(&plugin.manifest.name, Some(record))
            .await
        {
            tracing::warn!(plugin = %plugin.manifest.name, error = %e, "cannot store that the plugin is disabled");
        }
    }

    /// Compiles and checks one component on a blocking thread.
    async fn load(
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
        tokio::task::spawn_blocking(move || {
            load_component(&engine, &limits, &grants, &hint, &bytes, source, state)
        })
        .await
        .map_err(|e| PluginError::Host(format!("plugin load thread: {e}")))?
        .map(Arc::new)
    }

    fn read_registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.inner
            .registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_registry(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.inner
            .registry
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn too_large(plugin: &str, what: &str, size: usize, max: usize) -> PluginError {
    PluginError::call(
        plugin,
        FailureKind::PayloadTooLarge,
        format!("the {what} is {size} bytes; plugins.max_payload_bytes is {max}"),
    )
}

fn rendered_size(r: &Rendered) -> usize {
    r.script.len() + r.style.len() + r.markup.as_ref().map_or(0, String::len)
}

fn hook_event_size(event: &HookEvent) -> usize {
    let v = &event.visitor;
    let page = v
        .page
        .as_ref()
        .map_or(0, |p| p.url.len() + p.title.len() + p.referrer.len());
    let kind = match &event.kind {
        HookEventKind::Connected => 0,
        HookEventKind::ConversationStarted(id) | HookEventKind::ConversationClosed(id) => id.len(),
        HookEventKind::MessageCreated(m) => {
            m.body.len() + m.author_name.as_ref().map_or(0, String::len)
        }
    };
    v.site_key.len() + v.visitor_id.len() + page + kind
}

fn actions_size(actions: &[WidgetAction]) -> usize {
    actions
        .iter()
        .map(|WidgetAction::SystemMessage(text)| text.len())
        .sum()
}

fn field_errors_size(answer: &Result<(), Vec<FieldError>>) -> usize {
    answer.as_ref().err().map_or(0, |errors| {
        errors.iter().map(|e| e.field.len() + e.message.len()).sum()
    })
}

/// A fresh store for one call: its own limiter, and a deadline counted from now, for the wasm code
/// (epoch ticks) and for host functions that wait (an instant).
fn new_store(engine: &Engine, limits: &Limits, mut state: CallState) -> Store<CallState> {
    state.deadline = tokio::time::Instant::now() + limits.call_deadline;
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(engine::deadline_ticks(limits.call_deadline));
    store.epoch_deadline_trap();
    store
}

/// The `.wasm` files of the plugin folder with their modification stamp. A missing folder has none.
async fn scan(dir: &Path) -> BTreeMap<PathBuf, (Option<SystemTime>, u64)> {
    let mut found = BTreeMap::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return found;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "wasm") {
            continue;
        }
        if let Ok(meta) = entry.metadata().await
            && meta.is_file()
        {
            found.insert(path, (meta.modified().ok(), meta.len()));
        }
    }
    found
}

/// Compiles a component, checks its API version, kind and manifest, and links it with its version's adapter.
pub(crate) fn load_component(
    engine: &Engine,
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
    let component = Component::new(engine, bytes)
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
    if serde_json::from_str::<serde_json::Value>(&schema).is_err() {
        return Err(PluginError::invalid(hint, "config-schema() is not JSON"));
    }
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
