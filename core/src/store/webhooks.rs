//! Webhook endpoints, their delivery log and manual redelivery.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::domain::ids::{ConversationId, DeliveryId, EventId, WebhookId};
use crate::domain::webhook_events::EventType;
use crate::domain::webhooks::{Attempt, Delivery, DeliveryState, WebhookEndpoint, WebhookSecret};
use crate::store::convert::{json_list, to_json_list};
use crate::store::entities::{outbox_event, webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::store::{Store, StoreError, StoreResult};

/// An endpoint to add.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventType>,
    pub enabled: bool,
    pub secret: WebhookSecret,
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub enabled: Option<bool>,
    pub secret: Option<WebhookSecret>,
}

impl Store {
    pub async fn insert_webhook(
        &self,
        new: NewWebhook,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint> {
        let row = webhook_endpoint::ActiveModel {
            id: Set(WebhookId::new().0),
            url: Set(new.url),
            events: Set(events_json(&new.events)),
            enabled: Set(new.enabled),
            disabled_reason: Set(None),
            secret: Set(new.secret.expose().to_string()),
            consecutive_failures: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let w = self.write().await?;
        let model = row.insert(&w.tx).await?;
        w.commit().await?;
        endpoint(model)
    }

    /// Every endpoint, oldest first.
    pub async fn webhooks(&self) -> StoreResult<Vec<WebhookEndpoint>> {
        webhook_endpoint::Entity::find()
            .order_by_asc(webhook_endpoint::Column::CreatedAt)
            .all(self.db())
            .await?
            .into_iter()
            .map(endpoint)
            .collect()
    }

    pub async fn webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        webhook_endpoint::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .map(endpoint)
            .transpose()
    }

    /// Applies `change`. Enabling a disabled endpoint clears the reason and its failure count, and
    /// makes its open deliveries due now with a fresh retry window. `None` if there is no such endpoint.
    pub async fn update_webhook(
        &self,
        id: WebhookId,
        change: WebhookChange,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let w = self.write().await?;
        let Some(row) = webhook_endpoint::Entity::find_by_id(id.0)
            .one(&w.tx)
            .await?
        else {
            return Ok(None);
        };
        let resumed = change.enabled == Some(true) && !row.enabled;
        let mut active: webhook_endpoint::ActiveModel = row.into();
        if let Some(url) = change.url {
            active.url = Set(url);
        }
        if let Some(events) = change.events {
            active.events = Set(events_json(&events));
        }
        if let Some(enabled) = change.enabled {
            active.enabled = Set(enabled);
        }
        if let Some(secret) = change.secret {
            active.secret = Set(secret.expose().to_string());
        }
        if resumed {
            active.disabled_reason = Set(None);
            active.consecutive_failures = Set(0);
            webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::NextAttemptAt, now.into())
                .col_expr(
                    webhook_delivery::Column::FirstAttemptAt,
                    Option::<DateTime<Utc>>::None.into(),
                )
                .filter(webhook_delivery::Column::EndpointId.eq(id.0))
                .filter(webhook_delivery::Column::State.is_in(open_states()))
                .exec(&w.tx)
                .await?;
        }
        active.updated_at = Set(now);
        let model = active.update(&w.tx).await?;
        w.commit().await?;
        if resumed {
            self.events_committed();
        }
        endpoint(model).map(Some)
    }

    /// Removes an endpoint with its deliveries and attempts. `false` if there was no such endpoint.
    pub async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        let w = self.write().await?;
        let deliveries: Vec<uuid::Uuid> = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Id)
            .filter(webhook_delivery::Column::EndpointId.eq(id.0))
            .into_tuple()
            .all(&w.tx)
            .await?;
        for chunk in deliveries.chunks(500) {
            webhook_attempt::Entity::delete_many()
                .filter(webhook_attempt::Column::DeliveryId.is_in(chunk.iter().copied()))
                .exec(&w.tx)
                .await?;
        }
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::EndpointId.eq(id.0))
            .exec(&w.tx)
            .await?;
        let result = webhook_endpoint::Entity::delete_by_id(id.0)
            .exec(&w.tx)
            .await?;
        w.commit().await?;
        Ok(result.rows_affected > 0)
    }

    /// An endpoint's deliveries, newest event first, each with its attempts in order.
    pub async fn deliveries(
        &self,
        endpoint_id: WebhookId,
        state: Option<DeliveryState>,
        limit: u64,
    ) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>> {
        // One snapshot: a delivery recorded between the reads would show an attempt its row
        // does not count yet.
        let tx = self.read_snapshot().await?;
        let mut query = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id.0));
        if let Some(state) = state {
            query = query.filter(webhook_delivery::Column::State.eq(state.as_str()));
        }
        let rows = query
            .order_by_desc(webhook_delivery::Column::EventSeq)
            .limit(limit)
            .all(&tx)
            .await?;
        let payloads = payloads(&tx, rows.iter().map(|r| r.event_id)).await?;
        let mut attempts: HashMap<uuid::Uuid, Vec<Attempt>> = HashMap::new();
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
        for chunk in ids.chunks(500) {
            let found = webhook_attempt::Entity::find()
                .filter(webhook_attempt::Column::DeliveryId.is_in(chunk.iter().copied()))
                .order_by_asc(webhook_attempt::Column::Number)
                .all(&tx)
                .await?;
            for row in found {
                attempts
                    .entry(row.delivery_id)
                    .or_default()
                    .push(attempt(row));
            }
        }
        rows.into_iter()
            .map(|row| {
                let payload = payloads
                    .get(&row.event_id)
                    .cloned()
                    .map(StoredPayload::sent)
                    .unwrap_or_default();
                let log = attempts.remove(&row.id).unwrap_or_default();
                Ok((delivery(row, payload)?, log))
            })
            .collect()
    }

    /// Makes a delivery of `endpoint_id` due now with a fresh retry window, whatever its state.
    /// `None` if the endpoint has no such delivery.
    pub async fn redeliver(
        &self,
        endpoint_id: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(Delivery, Vec<Attempt>)>> {
        let w = self.write().await?;
        let Some(row) = webhook_delivery::Entity::find_by_id(id.0)
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id.0))
            .one(&w.tx)
            .await?
        else {
            return Ok(None);
        };
        let mut active: webhook_delivery::ActiveModel = row.into();
        active.state = Set(DeliveryState::Pending.as_str().into());
        active.next_attempt_at = Set(now);
        active.first_attempt_at = Set(None);
        let row = active.update(&w.tx).await?;
        let payload = payloads(&w.tx, [row.event_id])
            .await?
            .remove(&row.event_id)
            .map(StoredPayload::sent)
            .unwrap_or_default();
        let log = webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.eq(row.id))
            .order_by_asc(webhook_attempt::Column::Number)
            .all(&w.tx)
            .await?
            .into_iter()
            .map(attempt)
            .collect();
        w.commit().await?;
        self.events_committed();
        tracing::info!(webhook = %endpoint_id, delivery = %id, "redelivery queued");
        Ok(Some((delivery(row, payload)?, log)))
    }
}

/// Whether an endpoint row subscribes to the event type named `event_type`.
pub(crate) fn subscribes(row: &webhook_endpoint::Model, event_type: &str) -> bool {
    serde_json::from_str::<Vec<String>>(&row.events)
        .is_ok_and(|names| names.iter().any(|n| n == event_type))
}

pub(crate) fn open_states() -> [&'static str; 2] {
    [
        DeliveryState::Pending.as_str(),
        DeliveryState::Retrying.as_str(),
    ]
}

fn events_json(events: &[EventType]) -> String {
    let names: Vec<String> = events.iter().map(|e| e.as_str().to_string()).collect();
    to_json_list(&names)
}

/// An event as the outbox holds it for webhooks.
#[derive(Debug, Clone)]
pub(crate) struct StoredPayload {
    pub envelope: String,
    /// The body fixed by the first attempt, if one was made.
    pub webhook_body: Option<String>,
}

impl StoredPayload {
    /// What endpoints get (or will get, until the first attempt fixes it).
    pub fn sent(self) -> String {
        self.webhook_body.unwrap_or(self.envelope)
    }
}

pub(crate) async fn payloads(
    db: &impl ConnectionTrait,
    event_ids: impl IntoIterator<Item = uuid::Uuid>,
) -> StoreResult<HashMap<uuid::Uuid, StoredPayload>> {
    let ids: Vec<uuid::Uuid> = event_ids.into_iter().collect();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows = outbox_event::Entity::find()
            .filter(outbox_event::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|r| {
            (
                r.id,
                StoredPayload {
                    envelope: r.payload,
                    webhook_body: r.webhook_body,
                },
            )
        }));
    }
    Ok(out)
}

pub(crate) fn endpoint(row: webhook_endpoint::Model) -> StoreResult<WebhookEndpoint> {
    let events = json_list(&row.events, "webhook events")?
        .iter()
        .map(|name| {
            name.parse::<EventType>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(WebhookEndpoint {
        id: WebhookId(row.id),
        url: row.url,
        events,
        enabled: row.enabled,
        disabled_reason: row.disabled_reason,
        secret: WebhookSecret::from_stored(row.secret),
        consecutive_failures: u32::try_from(row.consecutive_failures).unwrap_or(0),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn delivery(row: webhook_delivery::Model, payload: String) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: DeliveryId(row.id),
        endpoint_id: WebhookId(row.endpoint_id),
        event_id: EventId(row.event_id),
        event_type: row.event_type,
        conversation_id: row.conversation_id.map(ConversationId),
        state: DeliveryState::parse(&row.state)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery state `{}`", row.state)))?,
        attempt_count: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        first_attempt_at: row.first_attempt_at,
        last_attempt_at: row.last_attempt_at,
        last_status: row.last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: row.last_error,
        delivered_at: row.delivered_at,
        created_at: row.created_at,
        payload,
    })
}

fn attempt(row: webhook_attempt::Model) -> Attempt {
    Attempt {
        number: u32::try_from(row.number).unwrap_or(0),
        started_at: row.started_at,
        duration_ms: u64::try_from(row.duration_ms).unwrap_or(0),
        status: row.status_code.and_then(|s| u16::try_from(s).ok()),
        error: row.error,
        response_body: row.response_body,
    }
}
