//! The chat domain: conversations, messages, routing, presence, tokens and agent links.
//! Plain Rust: no axum, no SQL. It calls the store for persistence and the bus for fan-out.

pub mod agent_links;
pub mod agent_logins;
pub mod agents;
pub mod audit;
pub mod chat;
pub mod clock;
pub mod cobrowse;
pub mod customers;
pub mod error;
pub mod events;
pub mod ids;
pub mod integrations;
pub mod live_visitors;
pub mod mail;
pub mod model;
pub mod plugin_api;
pub mod plugin_deliveries;
pub mod presence;
pub mod scope;
pub mod secret;
pub mod tokens;
pub mod visibility;
pub mod webhook_events;
pub mod webhooks;
pub mod widget;
pub mod widget_hooks;

pub use error::DomainError;
