//! The audit log: one row per configuration change (who, what, when), written after the change
//! succeeded, and never updated.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    /// `agent` (a console session), `token` (an API token) or `cli` (a `natter` command on the host).
    ActorKind,
    /// The agent's or token's id; empty for `cli`.
    ActorId,
    /// The agent's email or the token's name, as it was at the time.
    ActorLabel,
    /// What was done, e.g. `PUT /api/v1/widget/config` or `agent.create`.
    Action,
    /// What it was done to: the request path, or the agent's email for a command.
    Target,
    /// The HTTP status answered; 0 for a command.
    Status,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(uuid(AuditLog::Id).primary_key())
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(string(AuditLog::ActorKind))
                    .col(string(AuditLog::ActorId))
                    .col(string(AuditLog::ActorLabel))
                    .col(string(AuditLog::Action))
                    .col(text(AuditLog::Target))
                    .col(integer(AuditLog::Status))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
