//! The audit log: who changed the server's configuration, what, and when. Entries are written after
//! a change succeeded and never edited; the console's admin pages list them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::model::{Agent, ApiToken};

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditActor {
    pub kind: ActorKind,
    /// The agent's or token's id; empty for `cli`.
    pub id: String,
    /// The agent's email or the token's name at the time of the change.
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// An admin signed in to the console.
    Agent,
    /// An API token.
    Token,
    /// A `natter` command run on the host.
    Cli,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Agent => "agent",
            ActorKind::Token => "token",
            ActorKind::Cli => "cli",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Agent, Self::Token, Self::Cli]
            .into_iter()
            .find(|kind| kind.as_str() == s)
    }
}

impl AuditActor {
    pub fn agent(agent: &Agent) -> Self {
        Self {
            kind: ActorKind::Agent,
            id: agent.id.0.to_string(),
            label: agent.email.clone(),
        }
    }

    pub fn token(token: &ApiToken) -> Self {
        Self {
            kind: ActorKind::Token,
            id: token.id.0.to_string(),
            label: token.name.clone(),
        }
    }

    pub fn cli() -> Self {
        Self {
            kind: ActorKind::Cli,
            id: String::new(),
            label: "natter command".into(),
        }
    }
}

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
    /// What was done: `METHOD /api/v1/route/{template}` for REST, a dotted name for commands
    /// (`agent.create`).
    pub action: String,
    /// What it was done to: the request path, or the agent's email for a command.
    pub target: String,
    /// The HTTP status answered; 0 for a command.
    pub status: u16,
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor: AuditActor,
    pub action: String,
    pub target: String,
    pub status: u16,
}
