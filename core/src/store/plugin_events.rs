//! Where each integration plugin is in the event stream: a cursor over the outbox's `seq`.
//!
//! A cursor is enough because events commit in `seq` order (the `events` counter is taken under a row
//! lock, see `outbox`): no event can appear behind a cursor after it moved past.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::store::entities::{counter, outbox_event, plugin_event_cursor};
use crate::store::{Store, StoreResult};

/// A plugin's position: the last event handled or skipped, and failed attempts at the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCursor {
    pub last_seq: i64,
    pub attempts: u32,
}

/// An outbox event as plugins get it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub event_type: String,
    /// The envelope, as written with the change.
    pub envelope: String,
}

impl Store {
    /// The plugin's cursor; a plugin seen for the first time starts after the newest event, so
    /// installing a plugin does not replay history.
    pub async fn plugin_cursor(&self, plugin: &str) -> StoreResult<PluginCursor> {
        if let Some(row) = plugin_event_cursor::Entity::find_by_id(plugin.to_string())
            .one(self.db())
            .await?
        {
            return Ok(PluginCursor {
                last_seq: row.last_seq,
                attempts: u32::try_from(row.attempts).unwrap_or(0),
            });
        }
        let newest = counter::Entity::find_by_id("events".to_string())
            .one(self.db())
            .await?
            .map_or(0, |c| c.value);
        let cursor = PluginCursor {
            last_seq: newest,
            attempts: 0,
        };
        self.set_plugin_cursor(plugin, &cursor, None).await?;
        Ok(cursor)
    }

    pub async fn set_plugin_cursor(
        &self,
        plugin: &str,
        cursor: &PluginCursor,
        last_error: Option<&str>,
    ) -> StoreResult<()> {
        let row = plugin_event_cursor::ActiveModel {
            plugin: Set(plugin.to_string()),
            last_seq: Set(cursor.last_seq),
            attempts: Set(i32::try_from(cursor.attempts).unwrap_or(i32::MAX)),
            last_error: Set(last_error.map(str::to_string)),
            updated_at: Set(Utc::now()),
        };
        let w = self.write().await?;
        plugin_event_cursor::Entity::insert(row)
            .on_conflict(
                OnConflict::column(plugin_event_cursor::Column::Plugin)
                    .update_columns([
                        plugin_event_cursor::Column::LastSeq,
                        plugin_event_cursor::Column::Attempts,
                        plugin_event_cursor::Column::LastError,
                        plugin_event_cursor::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&w.tx)
            .await?;
        w.commit().await
    }

    /// Up to `limit` events after `seq`, oldest first.
    pub async fn events_after(&self, seq: i64, limit: u64) -> StoreResult<Vec<StoredEvent>> {
        Ok(outbox_event::Entity::find()
            .filter(outbox_event::Column::Seq.gt(seq))
            .order_by_asc(outbox_event::Column::Seq)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(|row| StoredEvent {
                seq: row.seq,
                event_type: row.event_type,
                envelope: row.payload,
            })
            .collect())
    }
}
