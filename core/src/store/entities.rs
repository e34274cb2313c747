//! sea-orm entities, one per table. They never leave the `store` module.

pub mod agent;
pub mod agent_link;
pub mod agent_session;
pub mod api_token;
pub mod audit_entry;
pub mod cobrowse_audit;
pub mod conversation;
pub mod counter;
pub mod customer;
pub mod mail_attempt;
pub mod mail_contact;
pub mod mail_delivery;
pub mod message;
pub mod outbox_event;
pub mod plugin_event_cursor;
pub mod plugin_kv;
pub mod plugin_state;
pub mod rule;
pub mod site;
pub mod site_identity_secret;
pub mod visibility_override;
pub mod visitor;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod widget_config;
