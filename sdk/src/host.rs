//! The host's imports with the plugin author's types: clock and the capability-gated key-value store.
//!
//! `wasm32-unknown-unknown` has no clock or storage of its own (`SystemTime::now()` compiles and then
//! panics), so a plugin asks the host. Off wasm32 the functions answer locally so unit tests can run.

pub use crate::types::HostError;

/// Milliseconds since the Unix epoch, from the host's clock.
pub fn now_ms() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::now_ms()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Reads from the plugin's key-value store; needs [`capability::KV`](crate::capability::KV).
pub fn kv_get(key: &str) -> Result<Option<String>, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::kv_get(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = key;
        Err(no_host())
    }
}

/// Writes to the plugin's key-value store; needs [`capability::KV`](crate::capability::KV).
pub fn kv_set(key: &str, value: &str) -> Result<(), HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::kv_set(key, value)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (key, value);
        Err(no_host())
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn no_host() -> HostError {
    HostError::Unavailable("no host outside wasm32".to_owned())
}

pub use crate::types::{Agent, AgentFields};

/// Every agent, oldest first; needs [`capability::AGENTS_READ`](crate::capability::AGENTS_READ).
pub fn agents_list() -> Result<Vec<Agent>, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::agents_list()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        Err(no_host())
    }
}

/// Creates or updates the agent with `fields.external_id`; needs
/// [`capability::AGENTS_WRITE`](crate::capability::AGENTS_WRITE).
pub fn agent_save(fields: &AgentFields) -> Result<Agent, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::agent_save(fields)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = fields;
        Err(no_host())
    }
}

pub use crate::types::{Customer, CustomerFields};

/// The customer with this external id, if any; needs
/// [`capability::CUSTOMERS_READ`](crate::capability::CUSTOMERS_READ).
pub fn customer_get(external_id: &str) -> Result<Option<Customer>, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::customer_get(external_id)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = external_id;
        Err(no_host())
    }
}

/// Creates or updates the customer with `fields.external_id`; needs
/// [`capability::CUSTOMERS_WRITE`](crate::capability::CUSTOMERS_WRITE).
pub fn customer_save(fields: &CustomerFields) -> Result<Customer, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::customer_save(fields)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = fields;
        Err(no_host())
    }
}
