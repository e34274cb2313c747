//! The first schema: sites, agents, customers, visitors, conversations, messages, tokens, links, sessions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sites {
    Table,
    Id,
    Key,
    Name,
    AllowedOrigins,
    Timezone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    ExternalId,
    Email,
    Name,
    Status,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    ExternalId,
    Email,
    Firstname,
    Lastname,
    Labels,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Visitors {
    Table,
    Id,
    SiteId,
    CustomerId,
    VisitCount,
    FirstSeen,
    LastSeen,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    SiteId,
    VisitorId,
    CustomerId,
    Status,
    AssigneeId,
    LastSeq,
    ChangeSeq,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    ConversationId,
    Seq,
    AuthorKind,
    AuthorId,
    AuthorName,
    Body,
    ClientId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    Name,
    Prefix,
    Hash,
    Scopes,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AgentLinks {
    Table,
    Id,
    AgentId,
    ConversationId,
    Hash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum AgentSessions {
    Table,
    Id,
    AgentId,
    Hash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    Name,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sites::Table)
                    .col(uuid(Sites::Id).primary_key())
                    .col(string(Sites::Key).unique_key())
                    .col(string(Sites::Name))
                    .col(text(Sites::AllowedOrigins))
                    .col(string(Sites::Timezone))
                    .col(timestamp_with_time_zone(Sites::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(uuid(Agents::Id).primary_key())
                    .col(string_null(Agents::ExternalId).unique_key())
                    .col(string(Agents::Email))
                    .col(string(Agents::Name))
                    .col(string(Agents::Status))
                    .col(boolean(Agents::Enabled))
                    .col(timestamp_with_time_zone(Agents::CreatedAt))
                    .col(timestamp_with_time_zone(Agents::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(uuid(Customers::Id).primary_key())
                    .col(string_null(Customers::ExternalId).unique_key())
                    .col(string_null(Customers::Email))
                    .col(string_null(Customers::Firstname))
                    .col(string_null(Customers::Lastname))
                    .col(text(Customers::Labels))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .col(timestamp_with_time_zone(Customers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Visitors::Table)
                    .col(uuid(Visitors::Id).primary_key())
                    .col(uuid(Visitors::SiteId))
                    .col(uuid_null(Visitors::CustomerId))
                    .col(integer(Visitors::VisitCount))
                    .col(timestamp_with_time_zone(Visitors::FirstSeen))
                    .col(timestamp_with_time_zone(Visitors::LastSeen))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Visitors::Table, Visitors::SiteId)
                            .to(Sites::Table, Sites::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Visitors::Table, Visitors::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(uuid(Conversations::Id).primary_key())
                    .col(uuid(Conversations::SiteId))
                    .col(uuid(Conversations::VisitorId))
                    .col(uuid(Conversations::CustomerId))
                    .col(string(Conversations::Status))
                    .col(uuid_null(Conversations::AssigneeId))
                    .col(big_integer(Conversations::LastSeq))
                    .col(big_integer(Conversations::ChangeSeq))
                    .col(timestamp_with_time_zone(Conversations::CreatedAt))
                    .col(timestamp_with_time_zone(Conversations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Conversations::Table, Conversations::SiteId)
                            .to(Sites::Table, Sites::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Conversations::Table, Conversations::VisitorId)
                            .to(Visitors::Table, Visitors::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Conversations::Table, Conversations::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Conversations::Table, Conversations::AssigneeId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("conversations_change_seq")
                    .table(Conversations::Table)
                    .col(Conversations::ChangeSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("conversations_visitor")
                    .table(Conversations::Table)
                    .col(Conversations::VisitorId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(uuid(Messages::Id).primary_key())
                    .col(uuid(Messages::ConversationId))
                    .col(big_integer(Messages::Seq))
                    .col(string(Messages::AuthorKind))
                    .col(uuid_null(Messages::AuthorId))
                    .col(string_null(Messages::AuthorName))
                    .col(text(Messages::Body))
                    .col(string_null(Messages::ClientId))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Messages::Table, Messages::ConversationId)
                            .to(Conversations::Table, Conversations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("messages_conversation_seq")
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // One stored message per client id and conversation: this is what makes resends idempotent
        // even if two resends race.
        manager
            .create_index(
                Index::create()
                    .name("messages_conversation_client_id")
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(uuid(ApiTokens::Id).primary_key())
                    .col(string(ApiTokens::Name))
                    .col(string(ApiTokens::Prefix))
                    .col(string(ApiTokens::Hash).unique_key())
                    .col(text(ApiTokens::Scopes))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgentLinks::Table)
                    .col(uuid(AgentLinks::Id).primary_key())
                    .col(uuid(AgentLinks::AgentId))
                    .col(uuid(AgentLinks::ConversationId))
                    .col(string(AgentLinks::Hash).unique_key())
                    .col(timestamp_with_time_zone(AgentLinks::CreatedAt))
                    .col(timestamp_with_time_zone(AgentLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AgentLinks::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AgentLinks::Table, AgentLinks::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AgentLinks::Table, AgentLinks::ConversationId)
                            .to(Conversations::Table, Conversations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgentSessions::Table)
                    .col(uuid(AgentSessions::Id).primary_key())
                    .col(uuid(AgentSessions::AgentId))
                    .col(string(AgentSessions::Hash).unique_key())
                    .col(timestamp_with_time_zone(AgentSessions::CreatedAt))
                    .col(timestamp_with_time_zone(AgentSessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AgentSessions::Table, AgentSessions::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Counters::Table)
                    .col(string(Counters::Name).primary_key())
                    .col(big_integer(Counters::Value))
                    .to_owned(),
            )
            .await?;
        let seed = Query::insert()
            .into_table(Counters::Table)
            .columns([Counters::Name, Counters::Value])
            .values_panic(["changes".into(), 0i64.into()])
            .to_owned();
        manager.exec_stmt(seed).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AgentSessions::Table.into_iden(),
            AgentLinks::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Messages::Table.into_iden(),
            Conversations::Table.into_iden(),
            Visitors::Table.into_iden(),
            Customers::Table.into_iden(),
            Agents::Table.into_iden(),
            Sites::Table.into_iden(),
            Counters::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
