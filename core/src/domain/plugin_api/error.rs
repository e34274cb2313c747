//! What can go wrong with a plugin, classified so logs, counters and HTTP answers can tell causes apart.

use std::fmt;

/// Why a call failed, as counted and shown in `natter plugin list` and `GET /api/v1/plugins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The guest trapped (a panic, `unreachable`, an out-of-bounds access).
    Trap,
    /// The call ran past `plugins.call_deadline_ms` and was interrupted.
    Deadline,
    /// The call tried to grow memory past `plugins.memory_limit_bytes`.
    Memory,
    /// A document in or out of the call was larger than `plugins.max_payload_bytes`.
    PayloadTooLarge,
    /// The plugin used a capability it was not granted.
    Denied,
    /// The plugin answered with an error of its own.
    Failed,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Deadline => "deadline",
            FailureKind::Memory => "memory",
            FailureKind::PayloadTooLarge => "payload_too_large",
            FailureKind::Denied => "denied",
            FailureKind::Failed => "failed",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// A call failed; the plugin is counted and may be disabled.
    #[error("plugin \"{plugin}\" failed ({kind}): {message}")]
    Call {
        plugin: String,
        kind: FailureKind,
        message: String,
    },
    /// The component was built against a WIT version this server has no adapter for.
    #[error(
        "plugin \"{plugin}\" was built for natter:plugin@{found}; this server supports {supported}"
    )]
    ApiVersion {
        plugin: String,
        found: String,
        supported: String,
    },
    /// The bytes are not a loadable Natter plugin (not a component, no plugin export, bad manifest).
    #[error("plugin \"{plugin}\" cannot be loaded: {reason}")]
    Invalid { plugin: String, reason: String },
    /// Too many consecutive failures; calls are refused until the plugin is replaced or re-enabled.
    #[error("plugin \"{0}\" is disabled after repeated failures")]
    Disabled(String),
    #[error("no plugin named \"{0}\" is loaded")]
    NotFound(String),
    /// The plugin is of another kind than the call needs.
    #[error("plugin \"{plugin}\" is a {kind} plugin, not a {wanted} plugin")]
    WrongKind {
        plugin: String,
        kind: &'static str,
        wanted: &'static str,
    },
    /// The host itself could not run the call (its storage, a worker thread). Not the plugin's fault.
    #[error("plugin host: {0}")]
    Host(String),
}

impl PluginError {
    pub(crate) fn call(plugin: &str, kind: FailureKind, message: impl Into<String>) -> Self {
        PluginError::Call {
            plugin: plugin.to_string(),
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(plugin: &str, reason: impl Into<String>) -> Self {
        PluginError::Invalid {
            plugin: plugin.to_string(),
            reason: reason.into(),
        }
    }

    /// The failure class of a failed call, if this is one.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        match self {
            PluginError::Call { kind, .. } => Some(*kind),
            PluginError::ApiVersion { .. }
            | PluginError::Invalid { .. }
            | PluginError::Disabled(_)
            | PluginError::NotFound(_)
            | PluginError::WrongKind { .. }
            | PluginError::Host(_) => None,
        }
    }
}
