//! Action Rules and REST visibility overrides.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Rules {
    Table,
    Id,
    Name,
    Script,
    Params,
    Position,
    Enabled,
    Builtin,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum VisibilityOverrides {
    Table,
    Id,
    /// `site:<site id>`, `customer:<customer id>` or `visitor:<visitor id>`: one override per target.
    TargetKey,
    Level,
    Target,
    Action,
    Until,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Rules::Table)
                    .col(uuid(Rules::Id).primary_key())
                    .col(string(Rules::Name))
                    .col(text(Rules::Script))
                    .col(text(Rules::Params))
                    .col(integer(Rules::Position))
                    .col(boolean(Rules::Enabled))
                    .col(string_null(Rules::Builtin))
                    .col(integer(Rules::Version))
                    .col(timestamp_with_time_zone(Rules::CreatedAt))
                    .col(timestamp_with_time_zone(Rules::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VisibilityOverrides::Table)
                    .col(uuid(VisibilityOverrides::Id).primary_key())
                    .col(string(VisibilityOverrides::TargetKey).unique_key())
                    .col(string(VisibilityOverrides::Level))
                    .col(string(VisibilityOverrides::Target))
                    .col(string(VisibilityOverrides::Action))
                    .col(timestamp_with_time_zone_null(VisibilityOverrides::Until))
                    .col(timestamp_with_time_zone(VisibilityOverrides::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(VisibilityOverrides::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Rules::Table).to_owned())
            .await
    }
}
