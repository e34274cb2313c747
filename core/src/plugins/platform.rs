//! What integration plugins reach of the platform through host functions (agents, ...), behind a trait so
//! the host runs on the server's store, or without one (`natter plugin check`, unit tests: every such host
//! function then answers `unavailable`). Each function is gated by a capability.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::domain::customers::{CustomerFields, CustomerFieldsError};
use crate::domain::ids::{ConversationId, EventId};
use crate::domain::model::{Agent, Conversation, Customer, Message};
use crate::domain::plugin_deliveries::{EnqueueError, MAX_DATA_BYTES, OutboundDelivery};
use crate::plugins::call::{CallState, ImportError};
use crate::plugins::capabilities::Capability;
use crate::store::agent_sync::SyncedAgent;
use crate::store::{PluginDeliveryError, Store, StoreError};

/// Most messages one `messages-list` call answers.
pub const MAX_MESSAGES_PER_CALL: u32 = 500;

/// A conversation with its customer's external id, as `conversation-get` answers it.
#[derive(Debug, Clone)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub external_customer_id: Option<String>,
}

/// The platform's data as host functions see it.
pub trait Platform: Send + Sync {
    /// Every agent, oldest first.
    fn agents(&self) -> BoxFuture<'_, Result<Vec<Agent>, StoreError>>;

    /// Creates or updates the agent with this external id.
    fn save_agent(&self, agent: SyncedAgent) -> BoxFuture<'_, Result<Agent, StoreError>>;

    fn customer<'a>(
        &'a self,
        external_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Customer>, StoreError>>;

    /// Creates or updates the customer with this external id (`customer.updated` on a change).
    fn save_customer(&self, fields: CustomerFields) -> BoxFuture<'_, Result<Customer, StoreError>>;

    fn conversation(
        &self,
        id: ConversationId,
    ) -> BoxFuture<'_, Result<Option<ConversationView>, StoreError>>;

    /// Messages with a `seq` above `after_seq`, oldest first.
    fn messages(
        &self,
        conversation: ConversationId,
        after_seq: i64,
        limit: u64,
    ) -> BoxFuture<'_, Result<Vec<Message>, StoreError>>;

    /// Queues a delivery to one endpoint through the outbox; answers the event id.
    fn enqueue_delivery(
        &self,
        delivery: OutboundDelivery,
    ) -> BoxFuture<'_, Result<EventId, PluginDeliveryError>>;
}

impl Platform for Store {
    fn agents(&self) -> BoxFuture<'_, Result<Vec<Agent>, StoreError>> {
        Box::pin(self.list_agents())
    }

    fn save_agent(&self, agent: SyncedAgent) -> BoxFuture<'_, Result<Agent, StoreError>> {
        Box::pin(self.save_synced_agent(agent))
    }

    fn customer<'a>(
        &'a self,
        external_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Customer>, StoreError>> {
        Box::pin(self.customer_by_external_id(external_id))
    }

    fn save_customer(&self, fields: CustomerFields) -> BoxFuture<'_, Result<Customer, StoreError>> {
        Box::pin(async move { Ok(self.save_customer(fields).await?.customer) })
    }

    fn conversation(
        &self,
        id: ConversationId,
    ) -> BoxFuture<'_, Result<Option<ConversationView>, StoreError>> {
        Box::pin(async move {
            let Some(conversation) = Store::conversation(self, id).await? else {
                return Ok(None);
            };
            let external_customer_id = Store::customer(self, conversation.customer_id)
                .await?
                .and_then(|c| c.external_id);
            Ok(Some(ConversationView {
                conversation,
                external_customer_id,
            }))
        })
    }

    fn messages(
        &self,
        conversation: ConversationId,
        after_seq: i64,
        limit: u64,
    ) -> BoxFuture<'_, Result<Vec<Message>, StoreError>> {
        Box::pin(self.messages_after(conversation, after_seq, limit))
    }

    fn enqueue_delivery(
        &self,
        delivery: OutboundDelivery,
    ) -> BoxFuture<'_, Result<EventId, PluginDeliveryError>> {
        Box::pin(async move {
            self.enqueue_plugin_delivery(&delivery, chrono::Utc::now())
                .await
        })
    }
}

/// Longest text an integration may store in one agent field.
const MAX_AGENT_FIELD_BYTES: usize = 1024;
/// Most groups one agent may have.
const MAX_AGENT_GROUPS: usize = 100;

impl CallState {
    fn platform(&self) -> Result<Arc<dyn Platform>, ImportError> {
        self.platform
            .clone()
            .ok_or_else(|| ImportError::Unavailable("this host has no platform data".into()))
    }

    pub fn agents_list(&mut self) -> Result<Vec<Agent>, ImportError> {
        self.require(Capability::AgentsRead)?;
        let platform = self.platform()?;
        self.wait("agents-list", platform.agents())?
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    pub fn agent_save(&mut self, agent: SyncedAgent) -> Result<Agent, ImportError> {
        self.require(Capability::AgentsWrite)?;
        let too_long = [&agent.external_id, &agent.email, &agent.name]
            .into_iter()
            .chain(&agent.groups)
            .any(|text| text.len() > MAX_AGENT_FIELD_BYTES);
        if too_long || agent.groups.len() > MAX_AGENT_GROUPS {
            return Err(ImportError::TooLarge);
        }
        if agent.external_id.trim().is_empty() || agent.email.trim().is_empty() {
            return Err(ImportError::Unavailable(
                "an agent needs an external id and an email".into(),
            ));
        }
        let platform = self.platform()?;
        self.wait("agent-save", platform.save_agent(agent))?
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    pub fn customer_get(&mut self, external_id: &str) -> Result<Option<Customer>, ImportError> {
        self.require(Capability::CustomersRead)?;
        let platform = self.platform()?;
        self.wait("customer-get", platform.customer(external_id))?
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    /// Fields are normalised here, so every plugin gets the same trimming, label order and limits.
    pub fn customer_save(&mut self, fields: CustomerFields) -> Result<Customer, ImportError> {
        self.require(Capability::CustomersWrite)?;
        let fields = fields.normalised().map_err(|e| match e {
            CustomerFieldsError::TooLong(_) | CustomerFieldsError::TooManyLabels => {
                ImportError::TooLarge
            }
            other => ImportError::Unavailable(other.to_string()),
        })?;
        let platform = self.platform()?;
        self.wait("customer-save", platform.save_customer(fields))?
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    pub fn conversation_get(&mut self, id: &str) -> Result<Option<ConversationView>, ImportError> {
        self.require(Capability::ConversationsRead)?;
        // An id that is not a UUID names no conversation, as an unknown one does.
        let Ok(id) = uuid::Uuid::parse_str(id) else {
            return Ok(None);
        };
        let platform = self.platform()?;
        self.wait(
            "conversation-get",
            platform.conversation(ConversationId(id)),
        )?
        .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    pub fn messages_list(
        &mut self,
        conversation: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, ImportError> {
        self.require(Capability::ConversationsRead)?;
        let Ok(id) = uuid::Uuid::parse_str(conversation) else {
            return Ok(Vec::new());
        };
        let platform = self.platform()?;
        let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
        let limit = u64::from(limit.min(MAX_MESSAGES_PER_CALL));
        self.wait(
            "messages-list",
            platform.messages(ConversationId(id), after, limit),
        )?
        .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    pub fn delivery_enqueue(
        &mut self,
        webhook: &str,
        event_type: &str,
        data: &str,
        conversation: Option<&str>,
    ) -> Result<EventId, ImportError> {
        self.require(Capability::DeliveriesWrite)?;
        let delivery = OutboundDelivery::parse(webhook, event_type, data, conversation).map_err(
            |e| match e {
                EnqueueError::BadData if data.len() > MAX_DATA_BYTES => ImportError::TooLarge,
                other => ImportError::Invalid(other.to_string()),
            },
        )?;
        let platform = self.platform()?;
        let queued = self
            .wait("delivery-enqueue", platform.enqueue_delivery(delivery))?
            .map_err(|e| match e {
                PluginDeliveryError::Refused(why) => ImportError::Invalid(why.to_string()),
                PluginDeliveryError::Store(e) => ImportError::Unavailable(e.to_string()),
            })?;
        tracing::debug!(plugin = %self.plugin, event = %queued, "plugin queued a delivery");
        Ok(queued)
    }
}
