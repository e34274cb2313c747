//! Mail as the domain sees it: what kinds of mail exist, a rendered mail waiting in the outbox, its
//! delivery state, and the planner that decides, inside a change's transaction, which mails it causes.
//!
//! Rendering and sending live in `crate::mail`; this module stays plain data so `store` can write
//! mails in the same transaction as the change that caused them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{AgentId, ConversationId, SiteId, VisitorId};
use crate::domain::model::{Agent, Conversation, Message};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// A visitor's message from the offline form, to the site's inbox.
    OfflineMessage,
    /// A conversation's transcript, to the address the visitor gave in it.
    Transcript,
    /// An agent who is not connected learns that a conversation waits for them.
    AgentNotification,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::OfflineMessage => "offline_message",
            MailKind::Transcript => "transcript",
            MailKind::AgentNotification => "agent_notification",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            MailKind::OfflineMessage,
            MailKind::Transcript,
            MailKind::AgentNotification,
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

/// Decides, while a change's transaction is open, which mails the change causes. The store asks it
/// for every event it writes to the outbox, and writes what it answers in the same transaction.
pub trait MailPlanner: Send + Sync {
    /// Whether the agent has a console open (then the console tells them; no mail).
    fn agent_connected(&self, agent: AgentId) -> bool;
    /// After a notification about a conversation, an agent gets no other about it for this long.
    fn quiet_period(&self) -> chrono::Duration;
    /// How long the one-time chat link in a notification works.
    fn link_ttl(&self) -> chrono::Duration;
    /// The mail to the inbox for a visitor's offline message.
    fn offline_message(
        &self,
        contact: &Contact,
        conversation: &Conversation,
        message: &Message,
    ) -> Option<NewMail>;
    /// The mail to an agent who is away, with the one-time link (`link_token`) into the conversation.
    fn agent_notification(
        &self,
        agent: &Agent,
        conversation: &Conversation,
        message: Option<&Message>,
        link_token: &str,
    ) -> Option<NewMail>;
}
