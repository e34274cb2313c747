//! Domain events as integrators receive them: the event types, and the envelope
//! `{ "id", "type", "timestamp", "data" }` written to the outbox with the change that caused it.
//!
//! Payloads are camelCase, unlike the snake_case REST API: `data.customerId` is the very key the
//! agent link API takes (`POST /api/v1/agents/{id}/chat-links` with `{"customerId": …}`), so an
//! integrator passes it on as it came. The envelope is built once, when the event is written, and
//! every attempt sends the same bytes.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ids::{
    AgentId, ConversationId, CustomerId, EventId, MessageId, SiteId, VisitorId,
};
use crate::domain::model::{
    Agent, AuthorKind, Conversation, ConversationStatus, Customer, Message,
};

/// What happened. Endpoints subscribe to a list of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A visitor's first message opened a conversation (sent before that message's `message.created`).
    #[serde(rename = "conversation.started")]
    ConversationStarted,
    /// A message was stored: a visitor's or an agent's.
    #[serde(rename = "message.created")]
    MessageCreated,
    /// The conversation was routed to an agent, or back to the queue (`assignee: null`).
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "conversation.closed")]
    ConversationClosed,
    /// An integration created or changed a customer (name, email, labels).
    #[serde(rename = "customer.updated")]
    CustomerUpdated,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::ConversationStarted,
        EventType::MessageCreated,
        EventType::ConversationAssigned,
        EventType::ConversationClosed,
        EventType::CustomerUpdated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationStarted => "conversation.started",
            EventType::MessageCreated => "message.created",
            EventType::ConversationAssigned => "conversation.assigned",
            EventType::ConversationClosed => "conversation.closed",
            EventType::CustomerUpdated => "customer.updated",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown event type `{0}`")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_string()))
    }
}

/// A change worth telling integrators about, with what they need to route it and join it to their
/// own records.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    ConversationStarted {
        conversation: Conversation,
        /// The message that opened it.
        message: Message,
    },
    MessageCreated {
        conversation: Conversation,
        message: Message,
    },
    ConversationAssigned {
        conversation: Conversation,
        /// `None`: back in the queue.
        assignee: Option<Agent>,
    },
    ConversationClosed {
        conversation: Conversation,
    },
    CustomerUpdated {
        customer: Customer,
    },
}

impl DomainEvent {
    pub fn event_type(&self) -> EventType {
        match self {
            DomainEvent::ConversationStarted { .. } => EventType::ConversationStarted,
            DomainEvent::MessageCreated { .. } => EventType::MessageCreated,
            DomainEvent::ConversationAssigned { .. } => EventType::ConversationAssigned,
            DomainEvent::ConversationClosed { .. } => EventType::ConversationClosed,
            DomainEvent::CustomerUpdated { .. } => EventType::CustomerUpdated,
        }
    }

    /// The conversation whose events must reach each endpoint in order; customer events stand alone.
    pub fn conversation_id(&self) -> Option<ConversationId> {
        self.conversation().map(|c| c.id)
    }

    fn conversation(&self) -> Option<&Conversation> {
        match self {
            DomainEvent::ConversationStarted { conversation, .. }
            | DomainEvent::MessageCreated { conversation, .. }
            | DomainEvent::ConversationAssigned { conversation, .. }
            | DomainEvent::ConversationClosed { conversation } => Some(conversation),
            DomainEvent::CustomerUpdated { .. } => None,
        }
    }

    /// The envelope as sent: `id` is the `webhook-id` of every attempt.
    pub fn envelope(&self, id: EventId, timestamp: DateTime<Utc>) -> Envelope {
        let data = match self {
            DomainEvent::ConversationStarted {
                conversation,
                message,
            }
            | DomainEvent::MessageCreated {
                conversation,
                message,
            } => EventData::Conversation(ConversationData::new(
                conversation,
                Some(MessageData::from(message)),
                None,
            )),
            DomainEvent::ConversationAssigned {
                conversation,
                assignee,
            } => EventData::Conversation(ConversationData::new(
                conversation,
                None,
                Some(assignee.as_ref().map(AssigneeData::from)),
            )),
            DomainEvent::ConversationClosed { conversation } => {
                EventData::Conversation(ConversationData::new(conversation, None, None))
            }
            DomainEvent::CustomerUpdated { customer } => {
                EventData::Customer(CustomerData::from(customer))
            }
        };
        Envelope {
            id,
            event_type: self.event_type(),
            timestamp,
            data,
        }
    }
}

impl ConversationData {
    fn new(
        conversation: &Conversation,
        message: Option<MessageData>,
        assignee: Option<Option<AssigneeData>>,
    ) -> Self {
        Self {
            conversation_id: conversation.id,
            customer_id: conversation.customer_id,
            site_id: conversation.site_id,
            visitor_id: conversation.visitor_id,
            status: conversation.status,
            assignee_id: conversation.assignee_id,
            last_seq: conversation.last_seq,
            message,
            assignee,
        }
    }
}

/// `{ "id", "type", "timestamp", "data" }`, the Standard Webhooks shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the change happened (not when this attempt was sent: that is `webhook-timestamp`).
    pub timestamp: DateTime<Utc>,
    pub data: EventData,
}

/// What an event is about: a conversation, or (`customer.updated`) a customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventData {
    Conversation(ConversationData),
    Customer(CustomerData),
}

/// The conversation an event is about, and the message or assignee when the event has one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationData {
    pub conversation_id: ConversationId,
    /// Pass it as `customerId` to the agent link API to get an agent into this conversation.
    pub customer_id: CustomerId,
    pub site_id: SiteId,
    pub visitor_id: VisitorId,
    pub status: ConversationStatus,
    pub assignee_id: Option<AgentId>,
    /// The `seq` of the conversation's newest message when the event was written.
    pub last_seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageData>,
    /// Only in `conversation.assigned`, where `null` means back to the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Option<AssigneeData>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageData {
    pub id: MessageId,
    /// 1, 2, 3… within the conversation, without gaps.
    pub seq: i64,
    pub author: AuthorData,
    pub body: String,
    /// The sender's own id for the message, if it gave one.
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorData {
    pub kind: AuthorKind,
    /// The agent's id for agent messages, the visitor's for visitor messages.
    pub id: Option<uuid::Uuid>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssigneeData {
    pub id: AgentId,
    /// The agent's id in the integrator's own system, when agents are synced.
    pub external_id: Option<String>,
    pub name: String,
    pub email: String,
}

/// A customer as `customer.updated` carries it: `customerId` joins it to conversation events,
/// `externalId` to the integrator's own records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerData {
    pub customer_id: CustomerId,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub labels: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Customer> for CustomerData {
    fn from(c: &Customer) -> Self {
        Self {
            customer_id: c.id,
            external_id: c.external_id.clone(),
            email: c.email.clone(),
            firstname: c.firstname.clone(),
            lastname: c.lastname.clone(),
            labels: c.labels.clone(),
            updated_at: c.updated_at,
        }
    }
}

impl From<&Message> for MessageData {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id,
            seq: m.seq,
            author: AuthorData {
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

impl From<&Agent> for AssigneeData {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.id,
            external_id: a.external_id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn conversation() -> Conversation {
        let now = Utc::now();
        Conversation {
            id: ConversationId::new(),
            site_id: SiteId::new(),
            visitor_id: VisitorId::new(),
            customer_id: CustomerId::new(),
            status: ConversationStatus::Open,
            assignee_id: None,
            last_seq: 1,
            change_seq: 3,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn type_names_are_dotted_and_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().ok(), Some(t));
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
        }
        assert!("conversation_created".parse::<EventType>().is_err());
    }

    #[test]
    fn envelope_is_camel_case_with_routing_keys() {
        let c = conversation();
        let message = Message {
            id: MessageId::new(),
            conversation_id: c.id,
            seq: 1,
            author_kind: AuthorKind::Visitor,
            author_id: Some(c.visitor_id.0),
            author_name: None,
            body: "hi".into(),
            client_id: Some("c1".into()),
            created_at: c.created_at,
        };
        let event = DomainEvent::MessageCreated {
            conversation: c.clone(),
            message,
        };
        let json = serde_json::to_value(event.envelope(EventId::new(), c.created_at)).unwrap();
        assert_eq!(json["type"], "message.created");
        assert_eq!(json["data"]["customerId"], c.customer_id.to_string());
        assert_eq!(json["data"]["conversationId"], c.id.to_string());
        assert_eq!(json["data"]["message"]["seq"], 1);
        assert_eq!(json["data"]["message"]["author"]["kind"], "visitor");
        assert!(json["data"].get("assignee").is_none());

        let unassigned = DomainEvent::ConversationAssigned {
            conversation: c.clone(),
            assignee: None,
        };
        let json = serde_json::to_value(unassigned.envelope(EventId::new(), c.created_at)).unwrap();
        assert!(json["data"]["assignee"].is_null());
        assert!(json["data"].get("assignee").is_some(), "null, not missing");
    }

    #[test]
    fn customer_updated_carries_both_ids_and_no_conversation() {
        let now = Utc::now();
        let customer = Customer {
            id: CustomerId::new(),
            external_id: Some("cust-42".into()),
            email: Some("ada@example.com".into()),
            firstname: Some("Ada".into()),
            lastname: None,
            labels: vec!["vip".into()],
            created_at: now,
            updated_at: now,
        };
        let event = DomainEvent::CustomerUpdated {
            customer: customer.clone(),
        };
        assert_eq!(event.conversation_id(), None, "no per-conversation order");
        let json = serde_json::to_value(event.envelope(EventId::new(), now)).unwrap();
        assert_eq!(json["type"], "customer.updated");
        assert_eq!(json["data"]["customerId"], customer.id.to_string());
        assert_eq!(json["data"]["externalId"], "cust-42");
        assert_eq!(json["data"]["labels"], serde_json::json!(["vip"]));
        assert!(json["data"].get("conversationId").is_none());
    }
}
