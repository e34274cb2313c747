//! Webhook delivery: the worker that takes events from the outbox and POSTs them to endpoints,
//! signed per Standard Webhooks, retried with back-off, one at a time per conversation and endpoint.
//!
//! Also the worker that hands the same events to integration plugins (`plugin_events`), and the
//! retention pass that prunes what is finished and old (`retention`).
//!
//! The worker owns timing and transport only. Which events exist, and which endpoint gets which,
//! was decided when the change committed (`store::outbox`); what it records is the attempt log.

mod client;
pub mod lease;
pub mod plugin_events;
pub mod retention;
pub mod signing;
mod worker;

pub use worker::{DeliveryError, spawn};
/// Shared with the mail worker: one back-off design for everything the outbox sends.
pub(crate) use worker::{backoff, to_chrono};
