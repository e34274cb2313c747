//! The WebAssembly plugin host: loads plugin components (built-in and from a folder), checks their API
//! version and capabilities, and runs each call in a fresh, limited store.
//!
//! Plugins own presentation and policy; the core owns transport, storage and security. A plugin reaches the
//! server only through the imports of its WIT version (`sdk/wit/v0.1`), each gated by a capability that
//! `config.toml` grants. There is no WASI.
//!
//! The host implements `domain::plugin_api::Plugins`, the contract the domain calls through; the
//! values of that contract are independent of any WIT version: each version's adapter (`v0_1`)
//! converts between them and its generated bindings, so old plugins keep loading when the interface grows.

pub mod api_version;
pub mod build;
mod call;
pub mod capabilities;
pub mod compile_cache;
mod contract;
pub mod engine;
pub mod host;
pub mod integration;
pub mod limits;
pub mod platform;
#[cfg(test)]
mod tests;
mod v0_1;

pub use crate::domain::plugin_api::{
    CobrowseAsset, FailureKind, FieldError, HookEvent, HookEventKind, HookVisitor, Manifest,
    PluginError, PluginKind, RenderContext, Rendered, WidgetAction,
};
pub use capabilities::{Capability, MemoryPluginData, PluginData};
pub use host::{Builtin, HostOptions, PluginHost, PluginInfo, PluginSource, PluginStatus};
pub use limits::Limits;

use std::sync::Arc;

use crate::config::LoadedConfig;
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
            compile_cache: loaded.plugin_cache_dir(),
        }
    }

    /// Gives integration plugins' host functions the platform's data (the server's store).
    pub fn with_platform(mut self, platform: Arc<dyn platform::Platform>) -> Self {
        self.platform = Some(platform);
        self
    }
}
