//! Mail as the domain sees it: what kinds of mail exist, a rendered mail waiting in the outbox, its
//! delivery state, and the planner that decides, inside a change's transaction, which mails it causes.
//!
//! Rendering and sending live in `crate::mail`; this module stays plain data so `store` can write
//! mails in the same transaction as the change that caused them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{AgentId, ConversationId, SiteId, VisitorId};
use crate::domain::model::Agent;
use crate::domain::webhook_events::DomainEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// A visitor's message from the offline form, to the site's inbox.
    OfflineMessage,
    /// A conversation's transcript, to the address the visitor gave in it.
    Transcript,
    /// An agent who is not connected learns that a conversation waits for them.
    AgentNotification,
    /// An admin checks the mail settings from the console (`POST /api/v1/mail/test`).
    Test,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::OfflineMessage => "offline_message",
            MailKind::Transcript => "transcript",
            MailKind::AgentNotification => "agent_notification",
            MailKind::Test => "test",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            MailKind::OfflineMessage,
            MailKind::Transcript,
            MailKind::AgentNotification,
            MailKind::Test,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Not attempted yet.
    Pending,
    /// Attempted and failed in a way that may pass (no connection, a 4xx answer); due again later.
    Retrying,
    /// The SMTP server accepted it.
    Sent,
    /// Given up: a 5xx answer, or still failing at the end of the retry window. The reason is kept.
    Failed,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Pending => "pending",
            MailState::Retrying => "retrying",
            MailState::Sent => "sent",
            MailState::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            MailState::Pending,
            MailState::Retrying,
            MailState::Sent,
            MailState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// A rendered mail, ready for the outbox. Addresses were checked when it was rendered; the worker
/// parses them again when it builds the message.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMail {
    pub kind: MailKind,
    pub conversation_id: Option<ConversationId>,
    pub agent_id: Option<AgentId>,
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// A mail in the outbox and how its delivery goes.
#[derive(Debug, Clone, PartialEq)]
pub struct MailDelivery {
    pub id: uuid::Uuid,
    pub kind: MailKind,
    pub conversation_id: Option<ConversationId>,
    pub agent_id: Option<AgentId>,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub state: MailState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_code: Option<u16>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What one delivery attempt did to its mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The SMTP server accepted the mail.
    Sent,
    /// Failed in a way that may pass (no connection, TLS, a 4xx answer); the mail is due again.
    Retry,
    /// The mail was given up: a 5xx answer, or the end of the retry window.
    Failed,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Sent => "sent",
            AttemptOutcome::Retry => "retry",
            AttemptOutcome::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            AttemptOutcome::Sent,
            AttemptOutcome::Retry,
            AttemptOutcome::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == raw)
    }
}

/// One delivery attempt of a mail, as the mail log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct MailAttemptEntry {
    /// 1 for the first attempt.
    pub number: u32,
    pub started_at: DateTime<Utc>,
    /// How long the SMTP session took, connection included.
    pub duration_ms: u64,
    /// The SMTP reply code, if the server answered.
    pub code: Option<u16>,
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
}

/// What a visitor gave in the offline form.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub site_id: SiteId,
    pub visitor_id: VisitorId,
    /// The client id of the message the form sent; ties the contact to it in the message's transaction.
    pub client_id: String,
    pub name: String,
    pub email: String,
    pub page_url: String,
    /// A language tag such as `en` or `de`, picking the mail texts.
    pub language: String,
}

/// The facts the planner needs for one event; the store reads just these (no query for an event
/// that causes no mail).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FactsWanted {
    /// The offline-form contact this visitor sent with this client id, if not yet tied to a
    /// conversation.
    pub offline_contact: Option<(VisitorId, String)>,
    /// This agent, and when they were last notified about the event's conversation.
    pub agent: Option<AgentId>,
}

/// What the store read, inside an event's transaction, for the planner to decide on.
#[derive(Debug, Clone, Default)]
pub struct MailFacts {
    pub offline_contact: Option<Contact>,
    pub agent: Option<Agent>,
    /// When `agent` was last sent a notification about the event's conversation.
    pub agent_notified_at: Option<DateTime<Utc>>,
}

/// A one-time chat link a notification carries, to be written with the mail so that no mail ever
/// carries a link that was not committed.
#[derive(Debug, Clone)]
pub struct NewAgentLink {
    pub agent_id: AgentId,
    pub conversation_id: ConversationId,
    /// The SHA-256 of the token in the mail; the token itself is never stored.
    pub hash: String,
    pub expires_at: DateTime<Utc>,
}

/// What an event causes, as the planner decided: the store writes all of it in the event's
/// transaction.
#[derive(Debug, Clone, Default)]
pub struct MailPlan {
    pub mails: Vec<NewMail>,
    /// Tie `MailFacts::offline_contact` to the event's conversation (so a second message does not
    /// send the form again).
    pub tie_offline_contact: bool,
    pub agent_links: Vec<NewAgentLink>,
}

/// Decides, while a change's transaction is open, which mails the change causes: the mail policy.
/// The store asks it for every event it writes to the outbox, reads the facts it wants, and writes
/// the plan in the same transaction.
pub trait MailPlanner: Send + Sync {
    fn wants(&self, event: &DomainEvent) -> FactsWanted;
    fn plan(&self, event: &DomainEvent, facts: MailFacts, now: DateTime<Utc>) -> MailPlan;
}
