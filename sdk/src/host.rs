//! The host's imports with the plugin author's types: the clock, and the capability-gated key-value store,
//! agents, customers, conversations and outbound deliveries.
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

pub use crate::types::{Conversation, Message, OutboundDelivery};

/// The conversation with this id, if any; needs
/// [`capability::CONVERSATIONS_READ`](crate::capability::CONVERSATIONS_READ).
pub fn conversation_get(id: &str) -> Result<Option<Conversation>, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::conversation_get(id)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = id;
        Err(no_host())
    }
}

/// Up to `limit` (at most 500) messages with a `seq` above `after_seq`, oldest first; needs
/// [`capability::CONVERSATIONS_READ`](crate::capability::CONVERSATIONS_READ).
pub fn messages_list(
    conversation_id: &str,
    after_seq: u64,
    limit: u32,
) -> Result<Vec<Message>, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::messages_list(conversation_id, after_seq, limit)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (conversation_id, after_seq, limit);
        Err(no_host())
    }
}

/// Every message of a conversation, oldest first, paging through [`messages_list`].
pub fn messages_all(conversation_id: &str) -> Result<Vec<Message>, HostError> {
    let mut all: Vec<Message> = Vec::new();
    loop {
        let after = all.last().map_or(0, |m| m.seq);
        let page = messages_list(conversation_id, after, 500)?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

/// Queues a signed delivery to one configured webhook endpoint through the outbox and answers its
/// event id (the `webhook-id` header); needs
/// [`capability::DELIVERIES_WRITE`](crate::capability::DELIVERIES_WRITE).
pub fn delivery_enqueue(delivery: &OutboundDelivery) -> Result<String, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::natter::plugin::host::delivery_enqueue(delivery)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = delivery;
        Err(no_host())
    }
}
