//! The delivery worker's side of the outbox: claiming due deliveries in order, and recording how
//! each attempt went.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::ids::{DeliveryId, EventId, WebhookId};
use crate::domain::webhooks::{Attempt, DeliveryState, WebhookSecret};
use crate::store::entities::{outbox_event, webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::store::webhooks::{open_states, payloads};
use crate::store::{Store, StoreResult};

/// A delivery the worker claimed: everything one attempt needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery_id: DeliveryId,
    pub endpoint_id: WebhookId,
    /// The `webhook-id`.
    pub event_id: EventId,
    pub url: String,
    pub secret: WebhookSecret,
    /// What to send, byte for byte: the body fixed by an earlier attempt, else the envelope.
    pub payload: String,
    /// Whether `payload` is already the fixed webhook body; if not, the first attempt fixes it
    /// ([`Store::fix_webhook_body`]).
    pub body_fixed: bool,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When the delivery was first attempted; `None` if this is the first attempt.
    pub first_attempt_at: Option<DateTime<Utc>>,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone)]
pub enum NextStep {
    Delivered,
    Retry {
        at: DateTime<Utc>,
    },
    /// Given up. The endpoint is disabled with `reason` once `disable_after` deliveries in a row
    /// were given up.
    GiveUp {
        disable_after: u32,
        reason: String,
    },
}

/// One attempt to write to the log, with its consequences.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: DeliveryId,
    pub endpoint_id: WebhookId,
    pub attempt: Attempt,
    pub next: NextStep,
    /// Disable the endpoint now, whatever its record (the receiver answered 410 Gone).
    pub disable_endpoint: Option<String>,
}

impl Store {
    /// Claims up to `limit` deliveries that are due, only the oldest open one of each conversation
    /// per endpoint, of enabled endpoints, oldest event first. A claim is a lease: the delivery is
    /// made due again at `lease_until`, so an attempt cut short by a crash is retried after it.
    pub async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        use webhook_delivery::{Column, Entity};
        let earlier = Alias::new("earlier");
        // An open delivery of the same conversation and endpoint with a smaller position blocks
        // this one: per conversation, events reach an endpoint in the order they happened.
        let blocked = Query::select()
            .expr(Expr::val(1))
            .from_as(Entity, earlier.clone())
            .and_where(
                Expr::col((earlier.clone(), Column::EndpointId))
                    .equals((Entity, Column::EndpointId)),
            )
            .and_where(
                Expr::col((earlier.clone(), Column::ConversationId))
                    .equals((Entity, Column::ConversationId)),
            )
            .and_where(Expr::col((earlier.clone(), Column::State)).is_in(open_states()))
            .and_where(
                Expr::col((earlier, Column::EventSeq)).lt(Expr::col((Entity, Column::EventSeq))),
            )
            .to_owned();
        let enabled = Query::select()
            .column(webhook_endpoint::Column::Id)
            .from(webhook_endpoint::Entity)
            .and_where(Expr::col(webhook_endpoint::Column::Enabled).eq(true))
            .to_owned();
        let due = Entity::find()
            .filter(Column::State.is_in(open_states()))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(Column::EndpointId.in_subquery(enabled))
            .filter(Expr::exists(blocked).not())
            .order_by_asc(Column::EventSeq)
            .limit(limit);
        // Most polls find nothing: ask outside the write lock first, so they never queue writers.
        if due.clone().one(self.db()).await?.is_none() {
            return Ok(Vec::new());
        }
        let w = self.write().await?;
        // Several nodes claim from one PostgreSQL: a row another node is claiming right now is
        // locked, and skipped rather than claimed twice. (SQLite serves one node and has no row locks.)
        let heads = due
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&w.tx)
            .await?;
        if heads.is_empty() {
            return Ok(Vec::new());
        }
        Entity::update_many()
            .col_expr(Column::NextAttemptAt, lease_until.into())
            .filter(Column::Id.is_in(heads.iter().map(|d| d.id)))
            .exec(&w.tx)
            .await?;
        let endpoints = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(heads.iter().map(|d| d.endpoint_id)))
            .all(&w.tx)
            .await?;
        let payloads = payloads(&w.tx, heads.iter().map(|d| d.event_id)).await?;
        w.commit().await?;
        Ok(heads
            .into_iter()
            .filter_map(|d| {
                let endpoint = endpoints.iter().find(|e| e.id == d.endpoint_id)?;
                // Shared: endpoints subscribed to the same event are claimed in the same batch.
                let stored = payloads.get(&d.event_id)?.clone();
                Some(ClaimedDelivery {
                    delivery_id: DeliveryId(d.id),
                    endpoint_id: WebhookId(d.endpoint_id),
                    event_id: EventId(d.event_id),
                    url: endpoint.url.clone(),
                    secret: WebhookSecret::from_stored(endpoint.secret.clone()),
                    body_fixed: stored.webhook_body.is_some(),
                    payload: stored.sent(),
                    attempts: u32::try_from(d.attempts).unwrap_or(0),
                    first_attempt_at: d.first_attempt_at,
                })
            })
            .collect())
    }

    /// Fixes the body every endpoint gets for this event, unless an attempt (of another endpoint)
    /// fixed one first; answers the body in force.
    pub async fn fix_webhook_body(&self, event_id: EventId, body: &str) -> StoreResult<String> {
        use outbox_event::{Column, Entity};
        let w = self.write().await?;
        Entity::update_many()
            .col_expr(Column::WebhookBody, Expr::value(body))
            .filter(Column::Id.eq(event_id.0))
            .filter(Column::WebhookBody.is_null())
            .exec(&w.tx)
            .await?;
        let fixed = Entity::find_by_id(event_id.0)
            .one(&w.tx)
            .await?
            .and_then(|row| row.webhook_body)
            .unwrap_or_else(|| body.to_string());
        w.commit().await?;
        Ok(fixed)
    }

    /// Logs an attempt and moves its delivery (and maybe its endpoint) on. A delivery deleted in
    /// the meantime (its endpoint was removed) is left alone.
    pub async fn record_attempt(&self, record: AttemptRecord) -> StoreResult<()> {
        let w = self.write().await?;
        let Some(row) = webhook_delivery::Entity::find_by_id(record.delivery_id.0)
            .one(&w.tx)
            .await?
        else {
            return Ok(());
        };
        let a = &record.attempt;
        let number = row.attempts + 1;
        webhook_attempt::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            delivery_id: Set(row.id),
            number: Set(number),
            started_at: Set(a.started_at),
            duration_ms: Set(i64::try_from(a.duration_ms).unwrap_or(i64::MAX)),
            status_code: Set(a.status.map(i32::from)),
            error: Set(a.error.clone()),
            response_body: Set(a.response_body.clone()),
        }
        .insert(&w.tx)
        .await?;
        let first = row.first_attempt_at.unwrap_or(a.started_at);
        let mut delivery: webhook_delivery::ActiveModel = row.into();
        delivery.attempts = Set(number);
        delivery.first_attempt_at = Set(Some(first));
        delivery.last_attempt_at = Set(Some(a.started_at));
        delivery.last_status = Set(a.status.map(i32::from));
        delivery.last_error = Set(a.error.clone());
        let state = match &record.next {
            NextStep::Delivered => {
                delivery.delivered_at = Set(Some(a.started_at));
                DeliveryState::Delivered
            }
            NextStep::Retry { at } => {
                delivery.next_attempt_at = Set(*at);
                DeliveryState::Retrying
            }
            NextStep::GiveUp { .. } => DeliveryState::Dead,
        };
        delivery.state = Set(state.as_str().into());
        delivery.update(&w.tx).await?;

        if let Some(endpoint) = webhook_endpoint::Entity::find_by_id(record.endpoint_id.0)
            .one(&w.tx)
            .await?
        {
            let failures = endpoint.consecutive_failures;
            let mut active: webhook_endpoint::ActiveModel = endpoint.clone().into();
            let mut disable = record.disable_endpoint.clone();
            let mut changed = false;
            match &record.next {
                NextStep::Delivered if failures > 0 => {
                    active.consecutive_failures = Set(0);
                    changed = true;
                }
                NextStep::Delivered | NextStep::Retry { .. } => {}
                NextStep::GiveUp {
                    disable_after,
                    reason,
                } => {
                    let failures = failures.saturating_add(1);
                    active.consecutive_failures = Set(failures);
                    changed = true;
                    if u32::try_from(failures).unwrap_or(u32::MAX) >= *disable_after {
                        disable.get_or_insert_with(|| reason.clone());
                    }
                }
            }
            if let Some(reason) = disable.filter(|_| endpoint.enabled) {
                tracing::warn!(webhook = %record.endpoint_id, %reason, "webhook endpoint disabled");
                active.enabled = Set(false);
                active.disabled_reason = Set(Some(reason));
                active.updated_at = Set(a.started_at);
                changed = true;
            }
            if changed {
                active.update(&w.tx).await?;
            }
        }
        w.commit().await
    }
}
