//! Co-browsing: the audit trail of each conversation's co-browse sessions (requested, consent granted or
//! declined, control granted or revoked, ended and why). Recorded page content is never stored.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CobrowseAudit {
    Table,
    Id,
    ConversationId,
    SessionId,
    Action,
    ActorKind,
    ActorId,
    Detail,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CobrowseAudit::Table)
                    .col(uuid(CobrowseAudit::Id).primary_key())
                    .col(uuid(CobrowseAudit::ConversationId))
                    .col(uuid(CobrowseAudit::SessionId))
                    .col(string(CobrowseAudit::Action))
                    .col(string(CobrowseAudit::ActorKind))
                    .col(uuid_null(CobrowseAudit::ActorId))
                    .col(string_null(CobrowseAudit::Detail))
                    .col(timestamp_with_time_zone(CobrowseAudit::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_cobrowse_audit_conversation")
                    .table(CobrowseAudit::Table)
                    .col(CobrowseAudit::ConversationId)
                    .col(CobrowseAudit::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CobrowseAudit::Table).to_owned())
            .await
    }
}
