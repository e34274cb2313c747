//! The `outbox` table: every event, written in the transaction of the change that caused it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub seq: i64,
    pub event_type: String,
    pub conversation_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// What webhook endpoints get, once the first attempt fixed it; `None` until then.
    #[sea_orm(column_type = "Text", nullable)]
    pub webhook_body: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
