//! Mail: one row per delivery attempt, written in the same transaction that moves the mail on, so
//! `GET /api/v1/mail/deliveries/{id}/attempts` shows each try with its SMTP answer.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MailAttempts {
    Table,
    Id,
    MailId,
    /// 1 for the first attempt of a mail.
    Number,
    StartedAt,
    DurationMs,
    /// The SMTP reply code, if the server answered.
    Code,
    Error,
    /// `sent`, `retry` or `failed`: what the attempt did to the mail.
    Outcome,
}

#[derive(DeriveIden)]
enum MailDeliveries {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailAttempts::Table)
                    .col(uuid(MailAttempts::Id).primary_key())
                    .col(uuid(MailAttempts::MailId))
                    .col(integer(MailAttempts::Number))
                    .col(timestamp_with_time_zone(MailAttempts::StartedAt))
                    .col(big_integer(MailAttempts::DurationMs))
                    .col(integer_null(MailAttempts::Code))
                    .col(text_null(MailAttempts::Error))
                    .col(string(MailAttempts::Outcome))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MailAttempts::Table, MailAttempts::MailId)
                            .to(MailDeliveries::Table, MailDeliveries::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_attempts_mail")
                    .table(MailAttempts::Table)
                    .col(MailAttempts::MailId)
                    .col(MailAttempts::Number)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailAttempts::Table).to_owned())
            .await
    }
}
