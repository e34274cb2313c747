//! The WebAssembly plugin host: loads plugin components (built-in and from a folder), checks their API
//! version and capabilities, and runs each call in a fresh, limited store.
//!
//! Plugins own presentation and policy; the core owns transport, storage and security. A plugin reaches the
//! server only through the imports of its WIT version (`sdk/wit/v0.1`), each gated by a capability that
//! `config.toml` grants. There is no WASI.
//!
//! The types here are the host's own, independent of any WIT version: each version's adapter (`v0_1`)
//! converts between them and its generated bindings, so old plugins keep loading when the interface grows.

pub mod api_version;
pub mod build;
mod call;
pub mod capabilities;
pub mod engine;
pub mod error;
pub mod host;
pub mod integration;
pub mod limits;
pub mod platform;
#[cfg(test)]
mod tests;
mod v0_1;

pub use capabilities::{Capability, MemoryPluginData, PluginData};
pub use error::{FailureKind, PluginError};
pub use host::{Builtin, HostOptions, PluginHost, PluginInfo, PluginSource, PluginStatus};
pub use limits::Limits;

use std::sync::Arc;

use crate::config::LoadedConfig;
use crate::domain::model::{Message, PageInfo};
use crate::plugins::capabilities::Grants;

/// The built-in plugins, built from `plugins/*` into `plugins/dist` and compiled into the binary, so a
/// server needs no wasm toolchain. A folder plugin with the same manifest name replaces one.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "webchat",
        bytes: include_bytes!("../../plugins/dist/webchat.wasm"),
    },
    Builtin {
        name: "cobrowse",
        bytes: include_bytes!("../../plugins/dist/cobrowse.wasm"),
    },
    Builtin {
        name: "agent-sync",
        bytes: include_bytes!("../../plugins/dist/agent-sync.wasm"),
    },
    Builtin {
        name: "customer-tags",
        bytes: include_bytes!("../../plugins/dist/customer-tags.wasm"),
    },
    Builtin {
        name: "webhooks",
        bytes: include_bytes!("../../plugins/dist/webhooks.wasm"),
    },
];

impl HostOptions {
    /// The host as the configuration sets it up: the built-ins, the folder, the limits and grants.
    pub fn from_config(loaded: &LoadedConfig, data: Arc<dyn PluginData>) -> Self {
        let plugins = &loaded.config.plugins;
        Self {
            limits: Limits::from_config(plugins),
            grants: Grants::from_config(&plugins.grants),
            dir: loaded.plugins_dir(),
            builtins: BUILTINS.to_vec(),
            data,
            platform: None,
        }
    }

    /// Gives integration plugins' host functions the platform's data (the server's store).
    pub fn with_platform(mut self, platform: Arc<dyn platform::Platform>) -> Self {
        self.platform = Some(platform);
        self
    }
}

/// What a plugin is for. One WIT world per kind; 0.1 loads all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Widget,
    Cobrowse,
    Integration,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Widget => "widget",
            PluginKind::Cobrowse => "cobrowse",
            PluginKind::Integration => "integration",
        }
    }
}

/// Who a plugin says it is and what it asks for, read once right after loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    pub api_version: String,
    pub capabilities: Vec<String>,
    pub description: String,
}

/// A configuration value that does not fit the plugin's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field; empty for the document itself.
    pub field: String,
    pub message: String,
}

/// Where a widget runs, filled per request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderContext {
    pub site_key: String,
    pub base_url: String,
    pub ws_url: String,
}

/// What a widget plugin renders: the self-contained loader script, its styles, optional markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub script: String,
    pub style: String,
    pub markup: Option<String>,
}

/// What the host knows about a visitor when it calls a widget's `on-visitor-event` hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HookVisitor {
    pub site_key: String,
    pub visitor_id: String,
    pub page: Option<PageInfo>,
    /// The visitor's open conversation, if any.
    pub conversation_id: Option<String>,
    pub agents_online: u32,
    pub agents_available: u32,
}

/// Something that happened to a visitor, as a widget hook sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum HookEventKind {
    /// The widget connected from a page.
    Connected,
    /// The visitor's first message opened this conversation.
    ConversationStarted(String),
    MessageCreated(Message),
    ConversationClosed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    pub visitor: HookVisitor,
    pub kind: HookEventKind,
}

/// What a widget asks the host to do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidgetAction {
    /// Post a system message into the visitor's conversation.
    SystemMessage(String),
}

/// The browser scripts a co-browse plugin serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CobrowseAsset {
    /// For the visitor's page, loaded once a session starts.
    Recorder,
    /// For the agent console.
    Viewer,
}
