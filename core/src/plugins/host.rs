//! The plugin host: the registry of loaded plugins, their health, and the calls into them.
//!
//! Each plugin is compiled once (linked into an instance-pre); each call gets a fresh store from the pooling
//! allocator, with the deadline, memory cap and grants of that plugin, on a blocking thread so a slow plugin
//! never holds up the async workers that carry the chat. A call that fails is logged once and counted;
//! `failures_before_disable` consecutive failures disable the plugin until its bytes change or an admin
//! enables it again (the record is stored, so a restart does not re-enable a plugin that keeps failing).
//!
//! Loading a component is in `host/load.rs`, the plugin folder's hot reload in `host/reload.rs`, the calls
//! of each kind in `host/widget.rs`, `host/cobrowse.rs` and `plugins/integration.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use wasmtime::{Engine, Store};

use crate::domain::plugin_api::{FailureKind, HookSubscription, PluginError};
use crate::domain::webhook_events::EventType;
use crate::plugins::call::{self, CallState};
use crate::plugins::capabilities::{Capability, DisabledRecord, Grants, PluginData};
use crate::plugins::compile_cache::CompileCache;
use crate::plugins::engine::{self, EpochTicker};
use crate::plugins::integration::PluginRoute;
use crate::plugins::limits::{CallLimiter, Limits};
use crate::plugins::platform::Platform;
use crate::plugins::v0_1::WidgetAdapter;
use crate::plugins::v0_1::cobrowse::CobrowseAdapter;
use crate::plugins::v0_1::integration::IntegrationAdapter;
use crate::plugins::{FieldError, Manifest, PluginKind};

mod cobrowse;
mod load;
mod reload;
mod widget;

pub use reload::RELOAD_INTERVAL;

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
    /// Where compiled components are kept between starts; `None` compiles on every start.
    pub compile_cache: Option<PathBuf>,
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
    /// The visitor events a widget plugin's hook takes ([`HookSubscription::from_schema`]).
    hooks: HookSubscription,
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

    pub fn hooks(&self) -> &HookSubscription {
        &self.hooks
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
    compile_cache: Option<Arc<CompileCache>>,
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
                compile_cache: options
                    .compile_cache
                    .map(|dir| Arc::new(CompileCache::new(dir))),
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
