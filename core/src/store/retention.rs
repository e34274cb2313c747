//! Pruning what the outbox no longer needs: finished webhook deliveries and mails (with their attempt
//! logs) older than the retention period, then events nothing refers to any more.
//!
//! Nothing open is ever pruned: a delivery still pending or retrying, or a mail not yet sent or given
//! up, stays whatever its age, and so does its event. An event also stays until every integration
//! plugin's cursor has passed it, so `on-event` never misses one.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::mail::MailState;
use crate::domain::webhooks::DeliveryState;
use crate::store::entities::{
    mail_attempt, mail_delivery, outbox_event, plugin_event_cursor, webhook_attempt,
    webhook_delivery,
};
use crate::store::{Store, StoreResult};

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub events: u64,
    pub mails: u64,
}

impl Store {
    /// Removes finished deliveries and mails created before `cutoff`, and the events older than it
    /// that no delivery and no plugin cursor needs; one transaction.
    pub async fn prune_before(&self, cutoff: DateTime<Utc>) -> StoreResult<Pruned> {
        let w = self.write().await?;
        let finished = [DeliveryState::Delivered, DeliveryState::Dead].map(DeliveryState::as_str);
        let old_deliveries = Query::select()
            .column(webhook_delivery::Column::Id)
            .from(webhook_delivery::Entity)
            .and_where(webhook_delivery::Column::State.is_in(finished))
            .and_where(webhook_delivery::Column::CreatedAt.lt(cutoff))
            .to_owned();
        webhook_attempt::Entity::delete_many()
            .filter(webhook_attempt::Column::DeliveryId.in_subquery(old_deliveries))
            .exec(&w.tx)
            .await?;
        let deliveries = webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::State.is_in(finished))
            .filter(webhook_delivery::Column::CreatedAt.lt(cutoff))
            .exec(&w.tx)
            .await?
            .rows_affected;

        let referenced = Query::select()
            .column(webhook_delivery::Column::EventId)
            .from(webhook_delivery::Entity)
            .to_owned();
        let slowest_plugin: Option<i64> = plugin_event_cursor::Entity::find()
            .select_only()
            .column_as(plugin_event_cursor::Column::LastSeq.min(), "min")
            .into_tuple::<Option<i64>>()
            .one(&w.tx)
            .await?
            .flatten();
        let mut events = outbox_event::Entity::delete_many()
            .filter(outbox_event::Column::CreatedAt.lt(cutoff))
            .filter(outbox_event::Column::Id.not_in_subquery(referenced));
        if let Some(seq) = slowest_plugin {
            events = events.filter(outbox_event::Column::Seq.lte(seq));
        }
        let events = events.exec(&w.tx).await?.rows_affected;

        let done = [MailState::Sent, MailState::Failed].map(MailState::as_str);
        let old_mails = Query::select()
            .column(mail_delivery::Column::Id)
            .from(mail_delivery::Entity)
            .and_where(mail_delivery::Column::State.is_in(done))
            .and_where(mail_delivery::Column::CreatedAt.lt(cutoff))
            .to_owned();
        mail_attempt::Entity::delete_many()
            .filter(mail_attempt::Column::MailId.in_subquery(old_mails))
            .exec(&w.tx)
            .await?;
        let mails = mail_delivery::Entity::delete_many()
            .filter(mail_delivery::Column::State.is_in(done))
            .filter(mail_delivery::Column::CreatedAt.lt(cutoff))
            .exec(&w.tx)
            .await?
            .rows_affected;
        w.commit().await?;
        Ok(Pruned {
            deliveries,
            events,
            mails,
        })
    }
}
