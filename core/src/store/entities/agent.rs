//! The `agents` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub external_id: Option<String>,
    pub email: String,
    pub name: String,
    pub status: String,
    /// `agent` or `admin`.
    pub role: String,
    pub enabled: bool,
    /// An argon2 PHC string; `None` for agents without a console password.
    pub password_hash: Option<String>,
    /// A JSON list of group names, kept by agent sync.
    pub groups: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
