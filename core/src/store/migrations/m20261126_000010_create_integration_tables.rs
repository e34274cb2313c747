//! Integration tables: each site's identity secret (pages prove which customer their visitor is), where
//! each integration plugin is in the event stream, and the webhook body fixed for each event.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SiteIdentitySecrets {
    Table,
    SiteId,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PluginEventCursors {
    Table,
    Plugin,
    LastSeq,
    Attempts,
    LastError,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    WebhookBody,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SiteIdentitySecrets::Table)
                    .col(uuid(SiteIdentitySecrets::SiteId).primary_key())
                    .col(string(SiteIdentitySecrets::Secret))
                    .col(timestamp_with_time_zone(SiteIdentitySecrets::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SiteIdentitySecrets::Table, SiteIdentitySecrets::SiteId)
                            .to(Sites::Table, Sites::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One row per integration plugin that listens to events: the outbox position it has handled.
        manager
            .create_table(
                Table::create()
                    .table(PluginEventCursors::Table)
                    .col(string(PluginEventCursors::Plugin).primary_key())
                    .col(big_integer(PluginEventCursors::LastSeq))
                    .col(integer(PluginEventCursors::Attempts))
                    .col(text_null(PluginEventCursors::LastError))
                    .col(timestamp_with_time_zone(PluginEventCursors::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The body webhook endpoints get, fixed by the first attempt (the shaping plugin's answer), so
        // every later attempt and every endpoint sends the same bytes.
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(ColumnDef::new(Outbox::WebhookBody).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .drop_column(Outbox::WebhookBody)
                    .to_owned(),
            )
            .await?;
        for table in [
            PluginEventCursors::Table.into_iden(),
            SiteIdentitySecrets::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
