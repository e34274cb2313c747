//! Mail: one row per mail in the outbox (rendered when the change committed, sent by the worker),
//! and the offline messages visitors sent from the widget with the address they gave.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MailDeliveries {
    Table,
    Id,
    /// `offline_message`, `transcript`, `agent_notification`, `test`.
    Kind,
    ConversationId,
    AgentId,
    Recipient,
    ReplyTo,
    Subject,
    TextBody,
    HtmlBody,
    /// Fixed when the mail was written: every attempt sends the same `Message-ID`.
    MessageId,
    State,
    Attempts,
    NextAttemptAt,
    FirstAttemptAt,
    LastAttemptAt,
    /// The SMTP reply code of the last attempt, if the server answered.
    LastCode,
    LastError,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MailContacts {
    Table,
    Id,
    SiteId,
    VisitorId,
    /// The client id of the message it goes with, which links the two in the message's transaction.
    ClientId,
    Name,
    Email,
    PageUrl,
    Language,
    ConversationId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailDeliveries::Table)
                    .col(uuid(MailDeliveries::Id).primary_key())
                    .col(string(MailDeliveries::Kind))
                    .col(uuid_null(MailDeliveries::ConversationId))
                    .col(uuid_null(MailDeliveries::AgentId))
                    .col(text(MailDeliveries::Recipient))
                    .col(text_null(MailDeliveries::ReplyTo))
                    .col(text(MailDeliveries::Subject))
                    .col(text(MailDeliveries::TextBody))
                    .col(text_null(MailDeliveries::HtmlBody))
                    .col(string(MailDeliveries::MessageId))
                    .col(string(MailDeliveries::State))
                    .col(integer(MailDeliveries::Attempts))
                    .col(timestamp_with_time_zone(MailDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(
                        MailDeliveries::FirstAttemptAt,
                    ))
                    .col(timestamp_with_time_zone_null(MailDeliveries::LastAttemptAt))
                    .col(integer_null(MailDeliveries::LastCode))
                    .col(text_null(MailDeliveries::LastError))
                    .col(timestamp_with_time_zone_null(MailDeliveries::DeliveredAt))
                    .col(timestamp_with_time_zone(MailDeliveries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_deliveries_due")
                    .table(MailDeliveries::Table)
                    .col(MailDeliveries::State)
                    .col(MailDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // The quiet period asks for the newest notification per conversation and agent.
        manager
            .create_index(
                Index::create()
                    .name("mail_deliveries_conversation_agent")
                    .table(MailDeliveries::Table)
                    .col(MailDeliveries::ConversationId)
                    .col(MailDeliveries::AgentId)
                    .col(MailDeliveries::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailContacts::Table)
                    .col(uuid(MailContacts::Id).primary_key())
                    .col(uuid(MailContacts::SiteId))
                    .col(uuid(MailContacts::VisitorId))
                    .col(string(MailContacts::ClientId))
                    .col(text(MailContacts::Name))
                    .col(text(MailContacts::Email))
                    .col(text(MailContacts::PageUrl))
                    .col(string(MailContacts::Language))
                    .col(uuid_null(MailContacts::ConversationId))
                    .col(timestamp_with_time_zone(MailContacts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_contacts_visitor_client")
                    .table(MailContacts::Table)
                    .col(MailContacts::VisitorId)
                    .col(MailContacts::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_contacts_site_created")
                    .table(MailContacts::Table)
                    .col(MailContacts::SiteId)
                    .col(MailContacts::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_contacts_conversation")
                    .table(MailContacts::Table)
                    .col(MailContacts::ConversationId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailContacts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MailDeliveries::Table).to_owned())
            .await
    }
}
