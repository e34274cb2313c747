//! Row ↔ domain conversions.

use crate::domain::ids::{
    AgentId, ConversationId, CustomerId, MessageId, SiteId, TokenId, VisitorId,
};
use crate::domain::model::{
    Agent, AgentRole, AgentStatus, ApiToken, AuthorKind, Conversation, ConversationStatus,
    Customer, Message, Site, Visitor,
};
use crate::domain::scope::Scope;
use crate::store::entities::{agent, api_token, conversation, customer, message, site, visitor};
use crate::store::{StoreError, StoreResult};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} `{value}`"))
}

pub(crate) fn json_list(raw: &str, what: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(raw).map_err(|_| corrupt(what, raw))
}

pub(crate) fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn site(row: site::Model) -> StoreResult<Site> {
    Ok(Site {
        id: SiteId(row.id),
        allowed_origins: json_list(&row.allowed_origins, "allowed origins")?,
        key: row.key,
        name: row.name,
        timezone: row.timezone,
        created_at: row.created_at,
    })
}

pub(crate) fn agent(row: agent::Model) -> StoreResult<Agent> {
    Ok(Agent {
        id: AgentId(row.id),
        status: AgentStatus::parse(&row.status)
            .ok_or_else(|| corrupt("agent status", &row.status))?,
        role: AgentRole::parse(&row.role).ok_or_else(|| corrupt("agent role", &row.role))?,
        external_id: row.external_id,
        email: row.email,
        name: row.name,
        enabled: row.enabled,
        groups: json_list(&row.groups, "agent groups")?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn customer(row: customer::Model) -> StoreResult<Customer> {
    Ok(Customer {
        id: CustomerId(row.id),
        labels: json_list(&row.labels, "customer labels")?,
        external_id: row.external_id,
        email: row.email,
        firstname: row.firstname,
        lastname: row.lastname,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn visitor(row: visitor::Model) -> Visitor {
    Visitor {
        id: VisitorId(row.id),
        site_id: SiteId(row.site_id),
        customer_id: row.customer_id.map(CustomerId),
        visit_count: u32::try_from(row.visit_count).unwrap_or(0),
        first_seen: row.first_seen,
        last_seen: row.last_seen,
    }
}

pub(crate) fn conversation(row: conversation::Model) -> StoreResult<Conversation> {
    Ok(Conversation {
        id: ConversationId(row.id),
        site_id: SiteId(row.site_id),
        visitor_id: VisitorId(row.visitor_id),
        customer_id: CustomerId(row.customer_id),
        status: ConversationStatus::parse(&row.status)
            .ok_or_else(|| corrupt("conversation status", &row.status))?,
        assignee_id: row.assignee_id.map(AgentId),
        last_seq: row.last_seq,
        change_seq: row.change_seq,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn message(row: message::Model) -> StoreResult<Message> {
    Ok(Message {
        id: MessageId(row.id),
        conversation_id: ConversationId(row.conversation_id),
        seq: row.seq,
        author_kind: AuthorKind::parse(&row.author_kind)
            .ok_or_else(|| corrupt("author kind", &row.author_kind))?,
        author_id: row.author_id,
        author_name: row.author_name,
        body: row.body,
        client_id: row.client_id,
        created_at: row.created_at,
    })
}

pub(crate) fn api_token(row: api_token::Model) -> StoreResult<ApiToken> {
    let names = json_list(&row.scopes, "token scopes")?;
    let scopes = names
        .iter()
        .map(|name| name.parse::<Scope>().map_err(|_| corrupt("scope", name)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ApiToken {
        id: TokenId(row.id),
        name: row.name,
        prefix: row.prefix,
        scopes,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    })
}
