//! Wire types: the JSON shapes the REST API and the sockets share (conversations, messages, agents, …).
//! Plain serde + OpenAPI schema types, no axum: `http` and `ws` both build them from domain values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::model::{
    Agent, AgentRole, AgentStatus, ApiToken, AuthorKind, Conversation, ConversationStatus,
    Customer, Message, Site,
};
use crate::domain::scope::Scope;
use crate::domain::widget::EffectiveConfig;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationDto {
    pub id: Uuid,
    pub site_id: Uuid,
    pub visitor_id: Uuid,
    /// The customer this conversation belongs to (use it to ask for an agent chat link).
    pub customer_id: Uuid,
    pub status: ConversationStatus,
    pub assignee_id: Option<Uuid>,
    /// The `seq` of the newest message.
    pub last_seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Conversation> for ConversationDto {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id.0,
            site_id: c.site_id.0,
            visitor_id: c.visitor_id.0,
            customer_id: c.customer_id.0,
            status: c.status,
            assignee_id: c.assignee_id.map(|a| a.0),
            last_seq: c.last_seq,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorDto {
    pub kind: AuthorKind,
    pub id: Option<Uuid>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageDto {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// 1, 2, 3… within the conversation, without gaps.
    pub seq: i64,
    pub author: AuthorDto,
    /// Plain text. Clients must render it as text, never as HTML.
    pub body: String,
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Message> for MessageDto {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.0,
            conversation_id: m.conversation_id.0,
            seq: m.seq,
            author: AuthorDto {
                kind: m.author_kind,
                id: m.author_id,
                name: m.author_name.clone(),
            },
            body: m.body.clone(),
            client_id: m.client_id.clone(),
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationPage {
    pub items: Vec<ConversationDto>,
    /// Pass as `cursor` to get the changes after this page. Stays the same when nothing changed.
    pub next_cursor: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationWithMessages {
    pub conversation: ConversationDto,
    pub messages: Vec<MessageDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// The agent the message is from.
    pub agent_id: Uuid,
    /// Plain text, at most `chat.max_message_chars` characters; not only spaces.
    #[schema(min_length = 1)]
    pub body: String,
    /// Your own id for this message: sending it again stores nothing new.
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostedMessage {
    pub message: MessageDto,
    /// True when `client_id` was seen before and nothing new was stored.
    pub duplicate: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The agent to assign; `null` puts the conversation back in the queue.
    pub agent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentDto {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub email: String,
    pub name: String,
    pub status: AgentStatus,
    /// `admin` may configure the server from the console; `agent` answers chats.
    pub role: AgentRole,
    pub enabled: bool,
    /// Group names from the integrator's directory (agent sync).
    pub groups: Vec<String>,
}

impl AgentDto {
    /// `status` is live presence, which only the running server knows.
    pub fn new(a: &Agent, status: AgentStatus) -> Self {
        Self {
            id: a.id.0,
            external_id: a.external_id.clone(),
            email: a.email.clone(),
            name: a.name.clone(),
            status,
            role: a.role,
            enabled: a.enabled,
            groups: a.groups.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    #[schema(min_length = 3, max_length = 254)]
    pub email: String,
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// The id of this agent in your own system, 1 to 200 characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: Option<String>,
    /// `agent` (the default) or `admin`.
    #[serde(default)]
    pub role: Option<AgentRole>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    pub role: AgentRole,
}

/// A new console password. No `Debug`: it must never end up in a log line.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// At least 10 characters.
    #[schema(min_length = 10)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChatLink {
    /// Land in this customer's open (else latest) conversation.
    #[serde(default, alias = "customer_id", rename = "customerId")]
    pub customer_id: Option<Uuid>,
    /// Land in this conversation.
    #[serde(default, alias = "conversation_id", rename = "conversationId")]
    pub conversation_id: Option<Uuid>,
    /// Lifetime in seconds; capped by `auth.chat_link_ttl_seconds`.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatLinkDto {
    /// Open it once, before it expires, to be logged in and land in the conversation.
    pub url: String,
    pub conversation_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At least one.
    #[schema(min_items = 1)]
    pub scopes: Vec<Scope>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: Uuid,
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiToken> for TokenDto {
    fn from(t: &ApiToken) -> Self {
        Self {
            id: t.id.0,
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            scopes: t.scopes.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenDto {
    #[serde(flatten)]
    pub info: TokenDto,
    /// The secret. Shown this once; only its hash is stored.
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteDto {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub timezone: String,
    /// The tag to paste into the site's pages.
    pub snippet: String,
}

impl SiteDto {
    pub fn new(site: &Site, base_url: &str) -> Self {
        Self {
            id: site.id.0,
            key: site.key.clone(),
            name: site.name.clone(),
            allowed_origins: site.allowed_origins.clone(),
            timezone: site.timezone.clone(),
            snippet: format!(
                "<script src=\"{base_url}/widget.js?site={}\" async></script>",
                site.key
            ),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Origins (`https://example.com`) allowed to open the visitor socket; empty allows any. Stored
    /// as browsers send them: the host in lower case and in ASCII, without a default port.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// An IANA time zone, e.g. `Europe/Berlin`.
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

/// A customer as agents see them: who they are in the integrator's system, and their labels.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: Uuid,
    /// The integrator's id, once the customer was identified or synced.
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub labels: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<Customer> for CustomerDto {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.0,
            external_id: c.external_id,
            email: c.email,
            firstname: c.firstname,
            lastname: c.lastname,
            labels: c.labels,
            updated_at: c.updated_at,
        }
    }
}

/// Where a visitor is now, for the console's details pane (`/agent/api/visitors/{id}` and the
/// agent socket's `visitor` frame). Everything but the ids is null while they are not connected.
#[derive(Debug, Clone, Serialize)]
pub struct VisitorContextDto {
    pub visitor_id: Uuid,
    pub online: bool,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    /// A short name such as "Chrome 131 on Windows".
    pub browser: Option<String>,
    /// A language tag such as `de-DE`.
    pub language: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

impl VisitorContextDto {
    pub fn new(
        visitor: crate::domain::ids::VisitorId,
        context: Option<&crate::domain::live_visitors::VisitorContext>,
    ) -> Self {
        let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Self {
            visitor_id: visitor.0,
            online: context.is_some(),
            page_url: context.and_then(|c| text(&c.page_url)),
            page_title: context.and_then(|c| text(&c.page_title)),
            browser: context.and_then(|c| text(&c.browser)),
            language: context.and_then(|c| text(&c.language)),
            since: context.map(|c| c.since),
        }
    }
}

/// A plugin's configuration (the widget's, or an integration's): what is in force, what was stored,
/// and the schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginConfigDto {
    /// The plugin the configuration belongs to.
    pub plugin: String,
    /// 0 while nothing was stored; one more per change (`widget.js` changes with the widget's).
    pub version: i64,
    /// The configuration in force: the stored document over the schema's defaults.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// The document as stored (what `PUT` set), without defaults.
    #[schema(value_type = Object)]
    pub stored: serde_json::Value,
    /// The plugin's JSON Schema for the document.
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<EffectiveConfig> for PluginConfigDto {
    fn from(c: EffectiveConfig) -> Self {
        Self {
            plugin: c.plugin,
            version: c.version,
            config: c.config,
            stored: c.stored,
            schema: c.schema,
            updated_at: c.updated_at,
        }
    }
}
