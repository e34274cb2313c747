//! Deliveries an integration plugin queues itself (`delivery-enqueue`): to one webhook endpoint, through the
//! same outbox, signing, retries and per-attempt log as the platform's own events.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::ids::{ConversationId, EventId, WebhookId};
use crate::domain::webhook_events::EventType;

/// Longest event type a plugin may choose.
const MAX_TYPE_LEN: usize = 64;
/// Largest `data` document of one queued delivery, in bytes of JSON.
pub const MAX_DATA_BYTES: usize = 256 * 1024;

/// A dotted, lower-case event type a plugin chose (`crm.transcript`). The platform's own types are
/// reserved, so a receiver can trust that `message.created` came from the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PluginEventType(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnqueueError {
    #[error(
        "event type `{0}` must be 1 to 64 characters of a-z, 0-9, `_` and `-` in dot-separated parts, with at least one dot"
    )]
    BadType(String),
    #[error("event type `{0}` is the platform's own")]
    ReservedType(String),
    #[error("data must be a JSON document of at most {MAX_DATA_BYTES} bytes")]
    BadData,
    #[error("no enabled webhook endpoint `{0}`")]
    UnknownWebhook(String),
    #[error("no conversation `{0}`")]
    UnknownConversation(String),
}

impl PluginEventType {
    pub fn parse(raw: &str) -> Result<Self, EnqueueError> {
        let part_ok = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        };
        if raw.len() > MAX_TYPE_LEN || !raw.contains('.') || !raw.split('.').all(part_ok) {
            return Err(EnqueueError::BadType(
                raw.chars().take(MAX_TYPE_LEN).collect(),
            ));
        }
        if raw.parse::<EventType>().is_ok() {
            return Err(EnqueueError::ReservedType(raw.to_string()));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a plugin queues: checked, ready for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundDelivery {
    pub webhook: WebhookId,
    pub event_type: PluginEventType,
    pub data: serde_json::Value,
    /// Orders the delivery among the conversation's events for the endpoint.
    pub conversation: Option<ConversationId>,
}

impl OutboundDelivery {
    /// Checks what came over the plugin boundary (ids and JSON as text).
    pub fn parse(
        webhook: &str,
        event_type: &str,
        data: &str,
        conversation: Option<&str>,
    ) -> Result<Self, EnqueueError> {
        let webhook = uuid::Uuid::parse_str(webhook)
            .map(WebhookId)
            .map_err(|_| EnqueueError::UnknownWebhook(webhook.chars().take(64).collect()))?;
        let event_type = PluginEventType::parse(event_type)?;
        if data.len() > MAX_DATA_BYTES {
            return Err(EnqueueError::BadData);
        }
        let data = serde_json::from_str(data).map_err(|_| EnqueueError::BadData)?;
        let conversation = conversation
            .map(|raw| {
                uuid::Uuid::parse_str(raw)
                    .map(ConversationId)
                    .map_err(|_| EnqueueError::UnknownConversation(raw.chars().take(64).collect()))
            })
            .transpose()?;
        Ok(Self {
            webhook,
            event_type,
            data,
            conversation,
        })
    }
}

/// The envelope a plugin's delivery is sent in: the platform events' shape, `data` as the plugin gave it.
#[derive(Debug, Serialize)]
pub struct PluginEnvelope<'a> {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: &'a PluginEventType,
    pub timestamp: DateTime<Utc>,
    pub data: &'a serde_json::Value,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn plugin_event_types_are_dotted_and_not_the_platforms() {
        assert!(PluginEventType::parse("crm.transcript").is_ok());
        assert!(PluginEventType::parse("acme.lead_2.created").is_ok());
        for bad in ["transcript", "Crm.x", "crm..x", ".x", "crm.x!", ""] {
            assert!(
                matches!(PluginEventType::parse(bad), Err(EnqueueError::BadType(_))),
                "{bad}"
            );
        }
        assert!(PluginEventType::parse(&format!("a.{}", "b".repeat(70))).is_err());
        assert_eq!(
            PluginEventType::parse("message.created"),
            Err(EnqueueError::ReservedType("message.created".into()))
        );
    }

    #[test]
    fn a_delivery_needs_ids_and_a_json_document() {
        let webhook = uuid::Uuid::new_v4().to_string();
        let ok = OutboundDelivery::parse(&webhook, "crm.note", r#"{"a":1}"#, None).unwrap();
        assert_eq!(ok.data, serde_json::json!({"a": 1}));
        assert!(matches!(
            OutboundDelivery::parse("nope", "crm.note", "{}", None),
            Err(EnqueueError::UnknownWebhook(_))
        ));
        assert_eq!(
            OutboundDelivery::parse(&webhook, "crm.note", "{", None),
            Err(EnqueueError::BadData)
        );
        assert!(matches!(
            OutboundDelivery::parse(&webhook, "crm.note", "{}", Some("x")),
            Err(EnqueueError::UnknownConversation(_))
        ));
    }
}
