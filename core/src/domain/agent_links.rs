//! Public agent chat URLs: one-time, expiring links that log an agent into one conversation,
//! and the sessions they open.

use std::sync::Arc;

use chrono::Duration;

use crate::domain::DomainError;
use crate::domain::clock::Clock;
use crate::domain::ids::{AgentId, ConversationId, CustomerId};
use crate::domain::model::{Agent, ConversationFilter, ConversationStatus};
use crate::domain::secret;
use crate::store::Store;

pub const LINK_PREFIX: &str = "nal_";
pub const SESSION_PREFIX: &str = "nas_";

/// What a link is for: a conversation, or a customer's newest open conversation.
#[derive(Debug, Clone, Copy)]
pub enum LinkTarget {
    Conversation(ConversationId),
    Customer(CustomerId),
}

#[derive(Debug, Clone)]
pub struct IssuedLink {
    /// The secret part of the URL; shown once.
    pub token: String,
    pub conversation_id: ConversationId,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A session opened by a link: the cookie value and where to land.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub session: String,
    pub agent_id: AgentId,
    pub conversation_id: ConversationId,
    pub max_age_seconds: u64,
}

/// A fresh session: the cookie value (shown once) and how long it lasts.
#[derive(Debug, Clone)]
pub struct Session {
    pub session: String,
    pub max_age_seconds: u64,
}

#[derive(Clone)]
pub struct AgentLinks {
    store: Store,
    clock: Arc<dyn Clock>,
    link_ttl_seconds: u64,
    session_ttl_seconds: u64,
}

impl AgentLinks {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        link_ttl_seconds: u64,
        session_ttl_seconds: u64,
    ) -> Self {
        Self {
            store,
            clock,
            link_ttl_seconds,
            session_ttl_seconds,
        }
    }

    /// Issues a link for `agent_id`. `ttl_seconds` may shorten the configured lifetime, never extend it.
    pub async fn issue(
        &self,
        agent_id: AgentId,
        target: LinkTarget,
        ttl_seconds: Option<u64>,
    ) -> Result<IssuedLink, DomainError> {
        let agent = self.enabled_agent(agent_id).await?;
        let conversation_id = match target {
            LinkTarget::Conversation(id) => {
                self.store
                    .conversation(id)
                    .await?
                    .ok_or(DomainError::NotFound("conversation"))?
                    .id
            }
            LinkTarget::Customer(customer) => self.latest_conversation_of(customer).await?,
        };
        let ttl = match ttl_seconds {
            Some(0) => {
                return Err(DomainError::invalid(
                    "expires_in",
                    "must be at least 1 second",
                ));
            }
            Some(asked) => asked.min(self.link_ttl_seconds),
            None => self.link_ttl_seconds,
        };
        let now = self.clock.now();
        let expires_at = now + seconds(ttl);
        let generated = secret::generate(LINK_PREFIX);
        self.store
            .insert_agent_link(agent.id, conversation_id, generated.hash, now, expires_at)
            .await?;
        tracing::info!(agent = %agent.id, conversation = %conversation_id, "agent chat link issued");
        Ok(IssuedLink {
            token: generated.plain,
            conversation_id,
            expires_at,
        })
    }

    /// Uses a link: once, before it expires. Opens a session for its agent.
    pub async fn open(&self, token: &str) -> Result<OpenedSession, DomainError> {
        let now = self.clock.now();
        let (agent_id, conversation_id) = self
            .store
            .consume_agent_link(&secret::hash(token), now)
            .await?
            .ok_or(DomainError::LinkInvalid)?;
        self.enabled_agent(agent_id)
            .await
            .map_err(|_| DomainError::LinkInvalid)?;
        let session = self.start_session(agent_id).await?;
        tracing::info!(agent = %agent_id, conversation = %conversation_id, "agent chat link used");
        Ok(OpenedSession {
            session: session.session,
            agent_id,
            conversation_id,
            max_age_seconds: session.max_age_seconds,
        })
    }

    /// Opens a session for an agent who proved who they are (a link, or email and password).
    pub async fn start_session(&self, agent_id: AgentId) -> Result<Session, DomainError> {
        let now = self.clock.now();
        let session = secret::generate(SESSION_PREFIX);
        self.store
            .insert_agent_session(
                agent_id,
                session.hash,
                now,
                now + seconds(self.session_ttl_seconds),
            )
            .await?;
        Ok(Session {
            session: session.plain,
            max_age_seconds: self.session_ttl_seconds,
        })
    }

    /// Ends a session: its cookie opens nothing any more.
    pub async fn end_session(&self, session: &str) -> Result<(), DomainError> {
        Ok(self
            .store
            .delete_agent_session(&secret::hash(session))
            .await?)
    }

    /// The agent behind a session cookie.
    pub async fn session_agent(&self, session: &str) -> Result<Agent, DomainError> {
        let agent_id = self
            .store
            .session_agent(&secret::hash(session), self.clock.now())
            .await?
            .ok_or(DomainError::LinkInvalid)?;
        self.enabled_agent(agent_id)
            .await
            .map_err(|_| DomainError::LinkInvalid)
    }

    async fn enabled_agent(&self, id: AgentId) -> Result<Agent, DomainError> {
        match self.store.agent(id).await? {
            Some(agent) if agent.enabled => Ok(agent),
            Some(_) => Err(DomainError::Conflict("agent is disabled".into())),
            None => Err(DomainError::NotFound("agent")),
        }
    }

    /// The customer's open conversation, else their most recent one.
    async fn latest_conversation_of(
        &self,
        customer: CustomerId,
    ) -> Result<ConversationId, DomainError> {
        let conversations = self
            .store
            .list_conversations(&ConversationFilter {
                customer: Some(customer),
                limit: 1000,
                ..ConversationFilter::default()
            })
            .await?;
        conversations
            .iter()
            .filter(|c| c.status == ConversationStatus::Open)
            .max_by_key(|c| c.created_at)
            .or_else(|| conversations.iter().max_by_key(|c| c.created_at))
            .map(|c| c.id)
            .ok_or(DomainError::NotFound("conversation for this customer"))
    }
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}
