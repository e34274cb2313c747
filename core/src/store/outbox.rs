//! The event outbox: events are written in the transaction of the change that caused them, and
//! fanned out in that same transaction to one delivery per subscribed, enabled endpoint.
//!
//! Fanning out at write time, rather than in the worker, means there is no cursor to keep: a
//! committed change has its deliveries committed with it, and a SIGKILL at any point loses nothing.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::ids::{DeliveryId, EventId};
use crate::domain::webhook_events::DomainEvent;
use crate::domain::webhooks::DeliveryState;
use crate::store::entities::{counter, outbox_event, webhook_delivery, webhook_endpoint};
use crate::store::webhooks::subscribes;
use crate::store::{StoreError, StoreResult};

/// Writes `event` to the outbox and queues it for every endpoint that wants it. Call it inside the
/// write transaction of the change, so both commit or neither does.
pub(crate) async fn append(
    db: &impl ConnectionTrait,
    event: &DomainEvent,
    now: DateTime<Utc>,
) -> StoreResult<EventId> {
    let id = EventId::new();
    let seq = next_event_seq(db).await?;
    let event_type = event.event_type();
    let conversation_id = event.conversation_id().map(|c| c.0);
    let payload = serde_json::to_string(&event.envelope(id, now))
        .map_err(|e| StoreError::Corrupt(format!("event does not serialise: {e}")))?;
    outbox_event::ActiveModel {
        id: Set(id.0),
        seq: Set(seq),
        event_type: Set(event_type.as_str().into()),
        conversation_id: Set(conversation_id),
        payload: Set(payload),
        webhook_body: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(db)
        .await?;
    for endpoint in endpoints.iter().filter(|e| subscribes(e, event_type)) {
        webhook_delivery::ActiveModel {
            id: Set(DeliveryId::new().0),
            endpoint_id: Set(endpoint.id),
            event_id: Set(id.0),
            event_seq: Set(seq),
            event_type: Set(event_type.as_str().into()),
            conversation_id: Set(conversation_id),
            state: Set(DeliveryState::Pending.as_str().into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            first_attempt_at: Set(None),
            last_attempt_at: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            delivered_at: Set(None),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(id)
}

/// The next position in event order. Like the change counter, taking it locks one row, so events
/// commit in the order of their positions, and a conversation's events are numbered as they happened.
async fn next_event_seq(db: &impl ConnectionTrait) -> StoreResult<i64> {
    counter::Entity::update_many()
        .col_expr(
            counter::Column::Value,
            Expr::col(counter::Column::Value).add(1),
        )
        .filter(counter::Column::Name.eq("events"))
        .exec(db)
        .await?;
    let row = counter::Entity::find_by_id("events".to_string())
        .one(db)
        .await?
        .ok_or_else(|| StoreError::Corrupt("event counter missing".into()))?;
    Ok(row.value)
}
