//! The event outbox: events are written in the transaction of the change that caused them, and
//! fanned out in that same transaction to one delivery per subscribed, enabled endpoint.
//!
//! Fanning out at write time, rather than in the worker, means there is no cursor to keep: a
//! committed change has its deliveries committed with it, and a SIGKILL at any point loses nothing.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, Set,
};

use crate::domain::ids::{DeliveryId, EventId};
use crate::domain::plugin_deliveries::{EnqueueError, OutboundDelivery, PluginEnvelope};
use crate::domain::webhook_events::DomainEvent;
use crate::domain::webhooks::DeliveryState;
use crate::store::bulk;
use crate::store::counters::{self, Counter};
use crate::store::entities::{
    conversation, message, outbox_event, webhook_delivery, webhook_endpoint,
};
use crate::store::mail::write_planned_mails;
use crate::store::webhooks::subscribes;
use crate::store::{Store, StoreError, StoreResult};

impl Store {
    /// Writes `event` to the outbox with its webhook deliveries and the mails it causes, inside the
    /// caller's transaction.
    pub(crate) async fn append_event(
        &self,
        db: &impl ConnectionTrait,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.append_events(db, &[(event, now)]).await?;
        Ok(())
    }

    /// [`Store::append_event`] for several events at once, in this order: a few statements for all.
    /// Says which workers have something new once the transaction commits.
    pub(crate) async fn append_events(
        &self,
        db: &impl ConnectionTrait,
        events: &[(&DomainEvent, DateTime<Utc>)],
    ) -> StoreResult<QueuedWork> {
        let (_, deliveries) = append_all(db, events).await?;
        Ok(QueuedWork {
            deliveries,
            mails: self.write_mails(db, events).await?,
        })
    }

    /// Writes the mails `events` cause. Says whether any was queued.
    pub(crate) async fn write_mails(
        &self,
        db: &impl ConnectionTrait,
        events: &[(&DomainEvent, DateTime<Utc>)],
    ) -> StoreResult<bool> {
        let mut mails = false;
        if let Some(planner) = self.mail_planner.get() {
            for (event, now) in events {
                mails |= write_planned_mails(db, planner.as_ref(), event, *now).await?;
            }
        }
        Ok(mails)
    }
}

/// What a transaction's events queued besides themselves: the workers that have work once it
/// commits. Waking a worker that has none costs it a claim query, which on a busy message path is
/// a query per batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueuedWork {
    /// Webhook deliveries (the delivery worker).
    pub deliveries: bool,
    /// Mails (the mail worker).
    pub mails: bool,
}

impl QueuedWork {
    /// Work for every worker: what a caller that did not keep count assumes.
    pub(crate) const ALL: Self = Self {
        deliveries: true,
        mails: true,
    };
}

impl std::ops::BitOrAssign for QueuedWork {
    fn bitor_assign(&mut self, other: Self) {
        self.deliveries |= other.deliveries;
        self.mails |= other.mails;
    }
}

/// Writes `event` to the outbox and queues it for every endpoint that wants it. Call it inside the
/// write transaction of the change, so both commit or neither does.
pub(crate) async fn append(
    db: &impl ConnectionTrait,
    event: &DomainEvent,
    now: DateTime<Utc>,
) -> StoreResult<EventId> {
    let (ids, _) = append_all(db, &[(event, now)]).await?;
    ids.first()
        .copied()
        .ok_or_else(|| StoreError::Corrupt("an appended event has no id".into()))
}

/// [`append`] for several events, numbered in this order: one block of positions, then
/// [`insert_with_events`]. Answers the events' ids and whether any delivery was queued.
async fn append_all(
    db: &impl ConnectionTrait,
    events: &[(&DomainEvent, DateTime<Utc>)],
) -> StoreResult<(Vec<EventId>, bool)> {
    let Ok(count) = i64::try_from(events.len()) else {
        return Err(StoreError::Corrupt("too many events at once".into()));
    };
    if count == 0 {
        return Ok((Vec::new(), false));
    }
    let first_seq = counters::take(db, Counter::Events, count).await? - count + 1;
    let rows = event_rows(events, first_seq)?;
    let inserted = insert_with_events(db, &[], false, &rows).await?;
    let ids = rows.iter().map(|row| EventId(row.id)).collect();
    Ok((ids, inserted.deliveries_queued))
}

/// The outbox rows of `events`, at the positions from `first_seq` on.
pub(crate) fn event_rows(
    events: &[(&DomainEvent, DateTime<Utc>)],
    first_seq: i64,
) -> StoreResult<Vec<outbox_event::Model>> {
    events
        .iter()
        .zip(first_seq..)
        .map(|((event, now), seq)| {
            let id = EventId::new();
            let payload = serde_json::to_string(&event.envelope(id, *now))
                .map_err(|e| StoreError::Corrupt(format!("event does not serialise: {e}")))?;
            Ok(outbox_event::Model {
                id: id.0,
                seq,
                event_type: event.event_type().as_str().into(),
                conversation_id: event.conversation_id().map(|c| c.0),
                payload,
                webhook_body: None,
                created_at: *now,
            })
        })
        .collect()
}

/// What [`insert_with_events`] wrote.
pub(crate) struct Inserted {
    /// Messages inserted (without those skipped as stored already).
    pub messages: u64,
    /// Whether any event was queued for an endpoint.
    pub deliveries_queued: bool,
}

/// Inserts `messages` (with `skip_stored`, skipping a message whose (conversation, client id) is
/// stored already), then `events` and one delivery of each to every enabled endpoint that
/// subscribes to its type, due at the event's time.
///
/// On PostgreSQL this is one statement ([`bulk::insert_messages_events_and_deliveries`]): the
/// message path writes a batch's messages and events at once, and every round trip there is time
/// an acknowledgement waits. SQLite runs in the process, so the inserts and the read of the
/// endpoints stay apart.
pub(crate) async fn insert_with_events(
    db: &impl ConnectionTrait,
    messages: &[message::Model],
    skip_stored: bool,
    events: &[outbox_event::Model],
) -> StoreResult<Inserted> {
    if db.get_database_backend() == DbBackend::Postgres {
        let (messages, deliveries) = bulk::insert_messages_events_and_deliveries(
            db,
            messages,
            skip_stored,
            events,
            DeliveryState::Pending,
        )
        .await?;
        return Ok(Inserted {
            messages,
            deliveries_queued: deliveries > 0,
        });
    }
    let inserted = if messages.is_empty() {
        0
    } else {
        bulk::insert_messages(db, messages, skip_stored).await?
    };
    if !events.is_empty() {
        bulk::insert_events(db, events).await?;
    }
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let mut deliveries = Vec::new();
    for event in events {
        deliveries.extend(
            endpoints
                .iter()
                .filter(|endpoint| subscribes(endpoint, &event.event_type))
                .map(|endpoint| {
                    delivery_row(
                        endpoint.id,
                        EventId(event.id),
                        event.seq,
                        &event.event_type,
                        event.conversation_id,
                        event.created_at,
                    )
                }),
        );
    }
    if !deliveries.is_empty() {
        bulk::insert_new_deliveries(db, &deliveries).await?;
    }
    Ok(Inserted {
        messages: inserted,
        deliveries_queued: !deliveries.is_empty(),
    })
}

/// One event queued for one endpoint, due now.
fn delivery_row(
    endpoint: uuid::Uuid,
    event: EventId,
    seq: i64,
    event_type: &str,
    conversation_id: Option<uuid::Uuid>,
    now: DateTime<Utc>,
) -> webhook_delivery::Model {
    webhook_delivery::Model {
        id: DeliveryId::new().0,
        endpoint_id: endpoint,
        event_id: event.0,
        event_seq: seq,
        event_type: event_type.into(),
        conversation_id,
        state: DeliveryState::Pending.as_str().into(),
        attempts: 0,
        next_attempt_at: now,
        first_attempt_at: None,
        last_attempt_at: None,
        last_status: None,
        last_error: None,
        delivered_at: None,
        created_at: now,
    }
}

/// Why a plugin's delivery was not queued.
#[derive(Debug, thiserror::Error)]
pub enum PluginDeliveryError {
    #[error(transparent)]
    Refused(#[from] EnqueueError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for PluginDeliveryError {
    fn from(e: sea_orm::DbErr) -> Self {
        PluginDeliveryError::Store(e.into())
    }
}

impl Store {
    /// Queues an integration plugin's delivery for one enabled endpoint, in one transaction: the outbox
    /// event (its envelope fixed as the webhook body, so no shaper rewrites it) and the delivery.
    pub async fn enqueue_plugin_delivery(
        &self,
        delivery: &OutboundDelivery,
        now: DateTime<Utc>,
    ) -> Result<EventId, PluginDeliveryError> {
        let w = self.write().await?;
        let endpoint = webhook_endpoint::Entity::find_by_id(delivery.webhook.0)
            .one(&w.tx)
            .await?
            .filter(|e| e.enabled)
            .ok_or_else(|| EnqueueError::UnknownWebhook(delivery.webhook.0.to_string()))?;
        if let Some(conversation) = delivery.conversation {
            conversation::Entity::find_by_id(conversation.0)
                .one(&w.tx)
                .await?
                .ok_or_else(|| EnqueueError::UnknownConversation(conversation.0.to_string()))?;
        }
        let id = EventId::new();
        let seq = counters::take(&w.tx, Counter::Events, 1).await?;
        let envelope = PluginEnvelope {
            id,
            event_type: &delivery.event_type,
            timestamp: now,
            data: &delivery.data,
        };
        let payload = serde_json::to_string(&envelope)
            .map_err(|e| StoreError::Corrupt(format!("delivery does not serialise: {e}")))?;
        let conversation_id = delivery.conversation.map(|c| c.0);
        outbox_event::ActiveModel {
            id: Set(id.0),
            seq: Set(seq),
            event_type: Set(delivery.event_type.as_str().into()),
            conversation_id: Set(conversation_id),
            payload: Set(payload.clone()),
            webhook_body: Set(Some(payload)),
            created_at: Set(now),
        }
        .insert(&w.tx)
        .await?;
        delivery_row(
            endpoint.id,
            id,
            seq,
            delivery.event_type.as_str(),
            conversation_id,
            now,
        )
        .into_active_model()
        .insert(&w.tx)
        .await?;
        w.commit().await?;
        self.events_committed();
        Ok(id)
    }
}
