//! The records the domain works with. Storage maps its rows onto these; the wire maps these onto DTOs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{
    AgentId, ConversationId, CustomerId, MessageId, RuleId, SiteId, TokenId, VisitorId,
};
use crate::domain::scope::Scope;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    pub id: SiteId,
    /// The public key in the widget snippet (`/widget.js?site=KEY`).
    pub key: String,
    pub name: String,
    /// Origins allowed to open the visitor socket; empty allows any.
    pub allowed_origins: Vec<String>,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}

impl Site {
    /// Whether a browser on a page of `origin` (its `Origin` header) may open this site's chat: any
    /// page when the site lists no origins, else only a page of one of them, named exactly.
    pub fn allows_origin(&self, origin: Option<&str>) -> bool {
        self.allowed_origins.is_empty()
            || origin.is_some_and(|origin| self.allowed_origins.iter().any(|o| o == origin))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    Online,
    Available,
    Away,
    Offline,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Available => "available",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Online, Self::Available, Self::Away, Self::Offline]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// What an agent may do in the console: answer chats, or also configure the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentRole {
    Agent,
    Admin,
}

impl AgentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Agent => "agent",
            AgentRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Agent, Self::Admin]
            .into_iter()
            .find(|role| role.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    pub id: AgentId,
    pub external_id: Option<String>,
    pub email: String,
    pub name: String,
    pub status: AgentStatus,
    pub role: AgentRole,
    pub enabled: bool,
    /// Group names from the integrator's directory (agent sync); empty for agents made here.
    pub groups: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visitor {
    pub id: VisitorId,
    pub site_id: SiteId,
    pub customer_id: Option<CustomerId>,
    pub visit_count: u32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// The page a visitor is on, as the widget reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageInfo {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub referrer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    Open,
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversation {
    #[schema(value_type = String, format = Uuid)]
    pub id: ConversationId,
    #[schema(value_type = String, format = Uuid)]
    pub site_id: SiteId,
    #[schema(value_type = String, format = Uuid)]
    pub visitor_id: VisitorId,
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    pub status: ConversationStatus,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assignee_id: Option<AgentId>,
    /// The `seq` of the newest message.
    pub last_seq: i64,
    /// Position in the change feed: grows every time this conversation changes. Polling cursors use it.
    pub change_seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthorKind {
    Visitor,
    Agent,
    System,
}

impl AuthorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorKind::Visitor => "visitor",
            AuthorKind::Agent => "agent",
            AuthorKind::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "visitor" => Some(Self::Visitor),
            "agent" => Some(Self::Agent),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    #[schema(value_type = String, format = Uuid)]
    pub id: MessageId,
    #[schema(value_type = String, format = Uuid)]
    pub conversation_id: ConversationId,
    /// 1, 2, 3… within the conversation, without gaps.
    pub seq: i64,
    pub author_kind: AuthorKind,
    /// The agent's id for agent messages, the visitor's for visitor messages.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub author_id: Option<uuid::Uuid>,
    pub author_name: Option<String>,
    pub body: String,
    /// The sender's own id for the message, which makes resends idempotent.
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    /// The first characters of the token, so people can tell tokens apart without the secret.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// The filter of a conversation list or poll.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub assignee: Option<AgentId>,
    pub customer: Option<CustomerId>,
    /// Only conversations whose `change_seq` is greater than this.
    pub after_change: Option<i64>,
    pub updated_since: Option<DateTime<Utc>>,
    pub limit: u64,
}

/// An Action Rule as stored: a script, its parameters, its place in the admin's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: RuleId,
    pub name: String,
    pub script: String,
    /// A JSON object, the script's read-only `params`.
    pub params: serde_json::Value,
    pub position: i32,
    pub enabled: bool,
    /// The built-in rule this one was made from, if any.
    pub builtin: Option<String>,
    /// Grows by one on every change.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who a REST visibility override is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverrideTarget {
    Site(SiteId),
    Customer(CustomerId),
    Visitor(VisitorId),
}

impl OverrideTarget {
    pub fn level(self) -> natter_rules::OverrideLevel {
        match self {
            OverrideTarget::Site(_) => natter_rules::OverrideLevel::Site,
            OverrideTarget::Customer(_) => natter_rules::OverrideLevel::Customer,
            OverrideTarget::Visitor(_) => natter_rules::OverrideLevel::Visitor,
        }
    }

    pub fn id(self) -> uuid::Uuid {
        match self {
            OverrideTarget::Site(id) => id.0,
            OverrideTarget::Customer(id) => id.0,
            OverrideTarget::Visitor(id) => id.0,
        }
    }
}

/// A REST override: show or hide the widget for a site, a customer or a visitor, maybe until a time.
#[derive(Debug, Clone, PartialEq)]
pub struct VisibilityOverride {
    pub target: OverrideTarget,
    pub action: natter_rules::Action,
    pub until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}
