//! One plugin call: the data its store carries, the host imports every WIT version shares, and the
//! classification of what went wrong.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;
use wasmtime::Trap;

use crate::domain::plugin_api::{FailureKind, PluginError};
use crate::plugins::capabilities::{Capability, KvSetError, PluginData};
use crate::plugins::limits::{CallLimiter, KvFull, KvQuota, MemoryExceeded};

/// Longest log line a plugin may write; the rest is cut so a plugin cannot flood the log.
const MAX_LOG_CHARS: usize = 2048;
/// Longest key of a plugin's key-value store.
pub const MAX_KV_KEY_BYTES: usize = 256;

/// The data of a call's store: fresh for every call, dropped with it.
pub struct CallState {
    pub plugin: Arc<str>,
    pub limiter: CallLimiter,
    pub granted: BTreeSet<Capability>,
    pub data: Arc<dyn PluginData>,
    pub runtime: tokio::runtime::Handle,
    pub max_payload_bytes: usize,
    pub kv_quota: KvQuota,
    /// When the call must be over. Wasm code is interrupted by the epoch deadline; a host function
    /// waiting on the database is bounded by this instant (set with the store, see `host::new_store`).
    pub deadline: Instant,
    /// The first capability the plugin used without holding it, to classify the call's failure.
    pub denied: Option<Capability>,
    /// The last error the plugin logged (its panic message, through the SDK's hook), for trap reports.
    pub last_error_log: Option<String>,
    /// The platform's data for integration host functions; `None` where the host runs without a server.
    pub platform: Option<Arc<dyn crate::plugins::platform::Platform>>,
}

/// The log levels of every WIT version, mapped onto `tracing`.
#[derive(Debug, Clone, Copy)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Why a gated import refused, before conversion into a WIT version's `host-error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    Denied(Capability),
    TooLarge,
    Unavailable(String),
    /// The arguments were refused (an unknown endpoint, a reserved event type).
    Invalid(String),
    /// The plugin's key-value store would grow past its quota.
    Full(KvFull),
    /// The call's deadline passed while the host function waited for what it names: the call ends there,
    /// as a trap the plugin cannot catch ([`HostDeadline`]).
    Deadline(&'static str),
}

/// The trap a call ends with when a host function waited past the call's deadline.
#[derive(Debug, thiserror::Error)]
#[error("the call ran past its deadline while the host waited for {0}")]
pub struct HostDeadline(pub &'static str);

impl CallState {
    pub fn log(&mut self, level: LogLevel, message: &str) {
        let message: String = message.chars().take(MAX_LOG_CHARS).collect();
        let plugin = &*self.plugin;
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => {
                tracing::warn!(plugin, "{message}");
                self.last_error_log = Some(message);
            }
        }
    }

    pub fn now_ms(&self) -> u64 {
        u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
    }

    pub(crate) fn require(&mut self, capability: Capability) -> Result<(), ImportError> {
        if self.granted.contains(&capability) {
            return Ok(());
        }
        if self.denied.is_none() {
            self.denied = Some(capability);
        }
        tracing::warn!(plugin = %self.plugin, %capability, "plugin used a capability it was not granted; refused");
        Err(ImportError::Denied(capability))
    }

    /// Waits for `work` (the database, for what `what` names) until the call's deadline at most.
    /// Calls run on a blocking thread, so waiting here stalls no async worker. Work cut off at the
    /// deadline is dropped: a write not yet committed rolls back, so nothing is left half-written.
    pub(crate) fn wait<F: Future>(
        &self,
        what: &'static str,
        work: F,
    ) -> Result<F::Output, ImportError> {
        // The timer is made inside `block_on`: it needs the runtime's context.
        self.runtime
            .block_on(async { tokio::time::timeout_at(self.deadline, work).await })
            .map_err(|_| {
                tracing::warn!(plugin = %self.plugin, waiting_for = what, "plugin call reached its deadline in a host function");
                ImportError::Deadline(what)
            })
    }

    pub fn kv_get(&mut self, key: &str) -> Result<Option<String>, ImportError> {
        self.require(Capability::Kv)?;
        if key.len() > MAX_KV_KEY_BYTES {
            return Err(ImportError::TooLarge);
        }
        self.wait("kv-get", self.data.kv_get(&self.plugin, key))?
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    pub fn kv_set(&mut self, key: &str, value: &str) -> Result<(), ImportError> {
        self.require(Capability::Kv)?;
        if key.len() > MAX_KV_KEY_BYTES || value.len() > self.max_payload_bytes {
            return Err(ImportError::TooLarge);
        }
        let written = self.wait(
            "kv-set",
            self.data.kv_set(&self.plugin, key, value, self.kv_quota),
        )?;
        written.map_err(|e| match e {
            KvSetError::Full(full) => {
                tracing::warn!(plugin = %self.plugin, %full, "plugin kv-set refused");
                ImportError::Full(full)
            }
            KvSetError::Store(e) => ImportError::Unavailable(e.to_string()),
        })
    }
}

/// Turns a failed instantiation or call into a classified [`PluginError`].
pub fn classify(plugin: &str, error: &wasmtime::Error, state: &CallState) -> PluginError {
    let memory = error.downcast_ref::<MemoryExceeded>().or_else(|| {
        error
            .chain()
            .find_map(|cause| cause.downcast_ref::<MemoryExceeded>())
    });
    if let Some(exceeded) = memory {
        return PluginError::call(plugin, FailureKind::Memory, exceeded.to_string());
    }
    let waited = error.downcast_ref::<HostDeadline>().or_else(|| {
        error
            .chain()
            .find_map(|cause| cause.downcast_ref::<HostDeadline>())
    });
    if let Some(waited) = waited {
        return PluginError::call(plugin, FailureKind::Deadline, waited.to_string());
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::call(
            plugin,
            FailureKind::Deadline,
            "the call ran past its deadline and was interrupted",
        ),
        Some(trap) => {
            let message = match &state.last_error_log {
                Some(logged) => format!("{trap} (the plugin logged: {logged})"),
                None => trap.to_string(),
            };
            PluginError::call(plugin, FailureKind::Trap, message)
        }
        None => PluginError::call(plugin, FailureKind::Trap, format!("{error:#}")),
    }
}

/// The failure of a call whose plugin answered with an error of its own: a refused capability explains it.
pub fn answered_error(plugin: &str, message: String, state: &CallState) -> PluginError {
    match state.denied {
        Some(capability) => PluginError::call(
            plugin,
            FailureKind::Denied,
            format!("capability `{capability}` is not granted ({message})"),
        ),
        None => PluginError::call(plugin, FailureKind::Failed, message),
    }
}
