//! Email through lettre: offline messages from the widget, conversation transcripts and agent
//! notifications.
//!
//! Mails are rendered when the change that causes them commits and written to the outbox in that
//! same transaction (`store::mail`); the worker here sends them over SMTP, retrying with the webhook
//! worker's back-off while the server is unreachable or answers 4xx, and giving up on 5xx.
//!
//! - `render.rs`: the texts (English defaults, overridable per language) and the three mails.
//! - `planner.rs`: which mails an event causes (the store asks it inside the transaction).
//! - `service.rs`: what the HTTP layer calls: the offline form, transcripts, the delivery list.
//! - `transport.rs`: the SMTP transport from `[mail]`, building a message, reading the answer.
//! - `worker.rs`: the delivery loop.

mod planner;
pub mod render;
mod service;
pub mod transport;
mod worker;

pub use planner::Planner;
pub use render::Renderer;
pub use service::{Mail, OfflineForm, TranscriptRequest};
pub use transport::{MailError, SmtpSender};
pub use worker::spawn;
