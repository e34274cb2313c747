//! Conversations and messages: storing them, routing them, and announcing every change live.

use std::sync::Arc;

use crate::bus::Bus;
use crate::domain::DomainError;
use crate::domain::clock::Clock;
use crate::domain::customers::MAX_FIELD_BYTES;
use crate::domain::events::{Author, RealtimeEvent, Topic};
use crate::domain::ids::{AgentId, ConversationId, VisitorId};
use crate::domain::model::{
    Agent, AgentStatus, AuthorKind, Conversation, ConversationFilter, Message, PageInfo, Site,
    Visitor,
};
use crate::domain::presence::{Presence, PresenceCounts, StatusChange};
use crate::store::{AppendOutcome, NewMessage, Store, StoreError};

/// Longest client message id accepted (a UUID is 36).
const MAX_CLIENT_ID: usize = 64;

#[derive(Debug, Clone, Copy)]
pub struct ChatLimits {
    pub max_message_chars: usize,
}

/// A change in a visitor's chat, as told to a [`ChatObserver`].
#[derive(Debug, Clone)]
pub enum ChatEvent {
    /// A visitor's widget connected from a page.
    VisitorConnected {
        site: Site,
        visitor: VisitorId,
        page: PageInfo,
    },
    ConversationStarted(Conversation),
    MessageCreated(Conversation, Message),
    ConversationClosed(Conversation),
}

/// Told about chat changes after they are stored and announced. It must not block: the chat goes on
/// whatever it does with them.
pub trait ChatObserver: Send + Sync {
    fn chat_event(&self, event: ChatEvent);
}

#[derive(Clone)]
pub struct Chat {
    store: Store,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    presence: Arc<Presence>,
    limits: ChatLimits,
    observer: Option<Arc<dyn ChatObserver>>,
}

impl Chat {
    pub fn new(
        store: Store,
        bus: Arc<dyn Bus>,
        clock: Arc<dyn Clock>,
        presence: Arc<Presence>,
        limits: ChatLimits,
    ) -> Self {
        Self {
            store,
            bus,
            clock,
            presence,
            limits,
            observer: None,
        }
    }

    /// This chat, telling `observer` about every change made through it.
    #[must_use]
    pub fn observed_by(mut self, observer: Arc<dyn ChatObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// A visitor arrived on a page: records the visit.
    pub async fn visitor_arrived(
        &self,
        site: &Site,
        visitor: VisitorId,
    ) -> Result<Visitor, DomainError> {
        let visitor = self
            .store
            .touch_visitor(site.id, visitor, self.clock.now())
            .await?;
        if visitor.site_id != site.id {
            return Err(DomainError::invalid(
                "visitor_id",
                "belongs to another site",
            ));
        }
        Ok(visitor)
    }

    /// Links the visitor to the customer a page vouched for: `proof` must be the site identity
    /// secret's HMAC of `customer_id` (see `domain::customers`). Answers the visitor as linked.
    pub async fn identify_visitor(
        &self,
        site: &Site,
        visitor: Visitor,
        customer_id: &str,
        proof: &str,
    ) -> Result<Visitor, DomainError> {
        let customer_id = customer_id.trim();
        if customer_id.is_empty() || customer_id.len() > MAX_FIELD_BYTES {
            return Err(DomainError::invalid(
                "customer.id",
                format!("must be 1 to {MAX_FIELD_BYTES} bytes"),
            ));
        }
        let Some(secret) = self.store.identity_secret(site.id).await? else {
            return Err(DomainError::invalid(
                "customer",
                "this site takes no customer identities: it has no identity secret",
            ));
        };
        if !secret.verifies(customer_id, proof) {
            return Err(DomainError::invalid(
                "customer.hash",
                "is not the site's HMAC of this customer id",
            ));
        }
        let customer = self
            .store
            .identify_visitor(visitor.id, customer_id, self.clock.now())
            .await?;
        Ok(Visitor {
            customer_id: Some(customer.id),
            ..visitor
        })
    }

    /// A visitor's widget connected and said which page it is on.
    pub fn visitor_connected(&self, site: &Site, visitor: VisitorId, page: PageInfo) {
        self.observe(ChatEvent::VisitorConnected {
            site: site.clone(),
            visitor,
            page,
        });
    }

    /// Stores a visitor's message; the first one opens a conversation.
    pub async fn visitor_message(
        &self,
        site: &Site,
        visitor: VisitorId,
        client_id: Option<String>,
        body: &str,
    ) -> Result<AppendOutcome, DomainError> {
        let new = self.new_message(AuthorKind::Visitor, Some(visitor.0), None, client_id, body)?;
        let outcome = self
            .store
            .append_visitor_message(site.id, visitor, new, self.clock.now())
            .await?;
        self.announce(&outcome);
        Ok(outcome)
    }

    /// Stores an agent's reply in an open conversation. Answering a conversation nobody has assigns
    /// it to the answering agent (in the same transaction); one that is assigned keeps its assignee.
    pub async fn agent_message(
        &self,
        agent: &Agent,
        conversation: ConversationId,
        client_id: Option<String>,
        body: &str,
    ) -> Result<AppendOutcome, DomainError> {
        let new = self.new_message(
            AuthorKind::Agent,
            Some(agent.id.0),
            Some(agent.name.clone()),
            client_id,
            body,
        )?;
        let outcome = self
            .store
            .append_message(conversation, new, Some(agent.id), self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::Closed => DomainError::Conflict("conversation is closed".into()),
                other => other.into(),
            })?
            .ok_or(DomainError::NotFound("conversation"))?;
        self.announce(&outcome);
        Ok(outcome)
    }

    /// An agent opened a chat link into `conversation`: they take it if nobody has it, as a reply
    /// would. Answers the conversation as it is now.
    pub async fn agent_arrived(
        &self,
        conversation: ConversationId,
        agent: AgentId,
    ) -> Result<Conversation, DomainError> {
        match self
            .store
            .claim_conversation(conversation, agent, self.clock.now())
            .await?
        {
            Some(claimed) => {
                self.announce_conversation(&claimed);
                Ok(claimed)
            }
            None => self.conversation(conversation).await,
        }
    }

    /// Posts a message from the system itself (not a person) into an open conversation.
    pub async fn system_message(
        &self,
        conversation: ConversationId,
        body: &str,
    ) -> Result<AppendOutcome, DomainError> {
        let new = self.new_message(AuthorKind::System, None, None, None, body)?;
        let outcome = self
            .store
            .append_message(conversation, new, None, self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::Closed => DomainError::Conflict("conversation is closed".into()),
                other => other.into(),
            })?
            .ok_or(DomainError::NotFound("conversation"))?;
        self.announce(&outcome);
        Ok(outcome)
    }

    /// Assigns a conversation to an agent (manual routing); `None` returns it to the queue.
    pub async fn assign(
        &self,
        conversation: ConversationId,
        agent: Option<AgentId>,
    ) -> Result<Conversation, DomainError> {
        if let Some(agent) = agent {
            match self.store.agent(agent).await? {
                Some(found) if found.enabled => {}
                Some(_) => return Err(DomainError::Conflict("agent is disabled".into())),
                None => return Err(DomainError::NotFound("agent")),
            }
        }
        let updated = self
            .store
            .assign_conversation(conversation, agent, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("conversation"))?;
        self.announce_conversation(&updated);
        Ok(updated)
    }

    pub async fn close(&self, conversation: ConversationId) -> Result<Conversation, DomainError> {
        let updated = self
            .store
            .close_conversation(conversation, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("conversation"))?;
        self.announce_conversation(&updated);
        self.observe(ChatEvent::ConversationClosed(updated.clone()));
        Ok(updated)
    }

    pub async fn conversation(&self, id: ConversationId) -> Result<Conversation, DomainError> {
        self.store
            .conversation(id)
            .await?
            .ok_or(DomainError::NotFound("conversation"))
    }

    pub async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>, DomainError> {
        Ok(self.store.list_conversations(filter).await?)
    }

    pub async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: i64,
        limit: u64,
    ) -> Result<Vec<Message>, DomainError> {
        Ok(self
            .store
            .messages_after(conversation, after_seq, limit)
            .await?)
    }

    /// Typing is live only: announced to the other side, never stored.
    pub fn typing(&self, conversation: &Conversation, author: Author, active: bool) {
        let event = RealtimeEvent::Typing {
            conversation_id: conversation.id,
            author: author.clone(),
            active,
        };
        match author.kind {
            AuthorKind::Visitor => self.bus.publish(Topic::Agents, event),
            AuthorKind::Agent | AuthorKind::System => self
                .bus
                .publish(Topic::Visitor(conversation.visitor_id), event),
        }
    }

    /// A read mark: announced to the other side.
    pub fn read(&self, conversation: &Conversation, reader: AuthorKind, seq: i64) {
        let event = RealtimeEvent::Read {
            conversation_id: conversation.id,
            reader,
            seq: seq.clamp(0, conversation.last_seq),
        };
        match reader {
            AuthorKind::Visitor => self.bus.publish(Topic::Agents, event),
            AuthorKind::Agent | AuthorKind::System => self
                .bus
                .publish(Topic::Visitor(conversation.visitor_id), event),
        }
    }

    /// An agent socket opened.
    pub async fn agent_connected(&self, agent: AgentId) -> Result<AgentStatus, DomainError> {
        let changes = self.presence.connect(agent).await;
        self.presence_changed(&changes, true).await?;
        Ok(self.presence.status(agent))
    }

    /// An agent socket closed.
    pub async fn agent_disconnected(&self, agent: AgentId) -> Result<(), DomainError> {
        let changes = self.presence.disconnect(agent).await;
        self.presence_changed(&changes, true).await
    }

    /// A connected agent chose available or away.
    pub async fn set_agent_status(
        &self,
        agent: AgentId,
        status: AgentStatus,
    ) -> Result<AgentStatus, DomainError> {
        if !matches!(status, AgentStatus::Available | AgentStatus::Away) {
            return Err(DomainError::invalid("status", "must be available or away"));
        }
        let changes = self.presence.set_status(agent, status).await;
        self.presence_changed(&changes, true).await?;
        Ok(self.presence.status(agent))
    }

    /// Re-reads the shared presence (a heartbeat, or another node's nudge) and announces what changed.
    pub async fn refresh_presence(&self) -> Result<(), DomainError> {
        let changes = self.presence.refresh().await;
        self.presence_changed(&changes, false).await
    }

    /// Takes this node's agents out of the shared presence (a clean stop) and tells the other nodes.
    pub async fn leave_presence(&self) {
        if self.presence.is_shared() {
            self.presence.leave().await;
            self.bus
                .publish(Topic::Nodes, RealtimeEvent::PresenceChanged);
        }
    }

    pub fn presence_counts(&self) -> PresenceCounts {
        self.presence.counts()
    }

    pub fn agent_status(&self, agent: AgentId) -> AgentStatus {
        self.presence.status(agent)
    }

    /// Stores and announces changes of the merged view. Every node works out its own counts from the
    /// shared presence, so counts go to this node's sockets only; a change made here (`local`) nudges
    /// the other nodes to re-read.
    async fn presence_changed(
        &self,
        changes: &[StatusChange],
        local: bool,
    ) -> Result<(), DomainError> {
        if local && self.presence.is_shared() {
            self.bus
                .publish(Topic::Nodes, RealtimeEvent::PresenceChanged);
        }
        if changes.is_empty() {
            return Ok(());
        }
        for change in changes {
            self.store
                .set_agent_status(change.agent, change.status)
                .await?;
        }
        let counts = self.presence.counts();
        let event = RealtimeEvent::Presence {
            online: counts.online,
            available: counts.available,
        };
        self.bus.publish_local(Topic::Agents, event.clone());
        self.bus.publish_local(Topic::AllVisitors, event);
        Ok(())
    }

    fn new_message(
        &self,
        author_kind: AuthorKind,
        author_id: Option<uuid::Uuid>,
        author_name: Option<String>,
        client_id: Option<String>,
        body: &str,
    ) -> Result<NewMessage, DomainError> {
        let body = body.trim();
        if body.is_empty() {
            return Err(DomainError::invalid("body", "must not be empty"));
        }
        let chars = body.chars().count();
        if chars > self.limits.max_message_chars {
            return Err(DomainError::invalid(
                "body",
                format!(
                    "is {chars} characters, at most {} are allowed",
                    self.limits.max_message_chars
                ),
            ));
        }
        if let Some(id) = &client_id
            && (id.is_empty() || id.len() > MAX_CLIENT_ID || id.chars().any(char::is_control))
        {
            return Err(DomainError::invalid(
                "client_id",
                format!("must be 1 to {MAX_CLIENT_ID} printable characters"),
            ));
        }
        Ok(NewMessage {
            author_kind,
            author_id,
            author_name,
            body: body.to_string(),
            client_id,
        })
    }

    fn announce(&self, outcome: &AppendOutcome) {
        if outcome.duplicate {
            return;
        }
        if outcome.opened || outcome.assigned {
            self.announce_conversation(&outcome.conversation);
        }
        let event = RealtimeEvent::Message(outcome.message.clone());
        self.bus.publish(Topic::Agents, event.clone());
        self.bus
            .publish(Topic::Visitor(outcome.conversation.visitor_id), event);
        if outcome.opened {
            self.observe(ChatEvent::ConversationStarted(outcome.conversation.clone()));
        }
        self.observe(ChatEvent::MessageCreated(
            outcome.conversation.clone(),
            outcome.message.clone(),
        ));
    }

    fn observe(&self, event: ChatEvent) {
        if let Some(observer) = &self.observer {
            observer.chat_event(event);
        }
    }

    fn announce_conversation(&self, conversation: &Conversation) {
        let event = RealtimeEvent::Conversation(conversation.clone());
        self.bus.publish(Topic::Agents, event.clone());
        self.bus
            .publish(Topic::Visitor(conversation.visitor_id), event);
    }
}
