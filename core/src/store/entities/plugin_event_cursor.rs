//! The `plugin_event_cursors` table: how far each integration plugin has handled the outbox.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugin_event_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plugin: String,
    /// The outbox `seq` of the last event handled (or skipped).
    pub last_seq: i64,
    /// Failed attempts at the event after `last_seq`.
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
