//! sea-orm entities, one per table. They never leave the `store` module.

pub mod agent;
pub mod agent_link;
pub mod agent_session;
pub mod api_token;
pub mod conversation;
pub mod counter;
pub mod customer;
pub mod message;
pub mod plugin_kv;
pub mod plugin_state;
pub mod site;
pub mod visitor;
pub mod widget_config;
