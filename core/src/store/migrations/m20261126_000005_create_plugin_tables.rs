//! Plugin tables: each plugin's key-value store, plugins disabled after repeated failures, and the
//! widget configuration admins edit.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PluginKv {
    Table,
    Plugin,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PluginStates {
    Table,
    Plugin,
    Digest,
    Reason,
    DisabledAt,
}

#[derive(DeriveIden)]
enum WidgetConfigs {
    Table,
    Plugin,
    Config,
    Version,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginKv::Table)
                    .col(string(PluginKv::Plugin))
                    .col(string(PluginKv::Key))
                    .col(text(PluginKv::Value))
                    .col(timestamp_with_time_zone(PluginKv::UpdatedAt))
                    .primary_key(Index::create().col(PluginKv::Plugin).col(PluginKv::Key))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PluginStates::Table)
                    .col(string(PluginStates::Plugin).primary_key())
                    .col(string(PluginStates::Digest))
                    .col(text(PluginStates::Reason))
                    .col(timestamp_with_time_zone(PluginStates::DisabledAt))
                    .to_owned(),
            )
            .await?;
        // One configuration per widget plugin, for every site for now; a per-site override would add a
        // nullable site column.
        manager
            .create_table(
                Table::create()
                    .table(WidgetConfigs::Table)
                    .col(string(WidgetConfigs::Plugin).primary_key())
                    .col(text(WidgetConfigs::Config))
                    .col(big_integer(WidgetConfigs::Version))
                    .col(timestamp_with_time_zone(WidgetConfigs::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WidgetConfigs::Table.into_iden(),
            PluginStates::Table.into_iden(),
            PluginKv::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
