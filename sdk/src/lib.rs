//! The plugin SDK: guest bindings for the `natter:plugin` WIT package and the helpers a plugin author needs.
//!
//! A plugin is a Rust library crate built for `wasm32-unknown-unknown` and turned into a WebAssembly
//! component. It implements [`Plugin`] and the trait of its kind ([`Widget`]) on a type of its own and hands
//! that type to the kind's export macro ([`export_widget!`]). The README walks through a complete plugin.
//!
//! Off `wasm32` (a plugin's unit tests on the developer's machine) the crate still compiles: host imports
//! then fall back to harmless local behaviour, see [`log`] and [`host`].

// The export macros name this crate by path from inside the plugin crate; this makes the same paths resolve
// here too, where the generated bindings are expanded.
extern crate self as natter_sdk;

pub mod bindings;
pub mod config;
mod exports;
pub mod host;
pub mod log;
pub mod manifest;
pub mod script;

pub use crate::bindings::natter::plugin::types;
pub use crate::exports::Plugin;
#[cfg(feature = "cobrowse")]
pub use crate::exports::{Cobrowse, cobrowse};
#[cfg(feature = "integration")]
pub use crate::exports::{Integration, integration};
#[cfg(feature = "widget")]
pub use crate::exports::{Widget, widget};
pub use crate::types::{FieldError, Manifest, PluginKind};
/// Re-exported so a plugin can depend on this crate alone and still speak JSON.
pub use serde_json;

/// The version of the WIT package these bindings come from; the manifest carries it to the host.
pub const API_VERSION: &str = "0.1.0";

/// The WIT package, as it appears in the component's import and export names.
pub const WIT_PACKAGE: &str = "natter:plugin@0.1.0";

/// Capability names a manifest may ask for.
pub mod capability {
    /// The plugin's own key-value store: `host::kv_get`, `host::kv_set`.
    pub const KV: &str = "kv";
    /// Reading agents: `host::agents_list`.
    pub const AGENTS_READ: &str = "agents.read";
    /// Creating, updating and disabling agents: `host::agent_save`.
    pub const AGENTS_WRITE: &str = "agents.write";
    /// Reading customers: `host::customer_get`.
    pub const CUSTOMERS_READ: &str = "customers.read";
    /// Creating and updating customers and their labels: `host::customer_save`.
    pub const CUSTOMERS_WRITE: &str = "customers.write";
    /// Reading conversations and their messages: `host::conversation_get`, `host::messages_list`.
    pub const CONVERSATIONS_READ: &str = "conversations.read";
    /// Queueing signed deliveries to configured webhook endpoints: `host::delivery_enqueue`.
    pub const DELIVERIES_WRITE: &str = "deliveries.write";
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    /// Runs once per instance before the first export call: installs the panic hook.
    pub fn init() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(crate::log::install_panic_hook);
    }
}
