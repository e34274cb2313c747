//! Schema migrations, run on start and by `natter migrate` (through `store::migrate`, which gives each one
//! a transaction of its own). A landed migration is never edited; a new one is added at the end of the
//! list, which stays in version order.

use sea_orm_migration::prelude::*;

#[path = "migrations/m20261126_000001_create_chat_tables.rs"]
mod m20261126_000001_create_chat_tables;
#[path = "migrations/m20261126_000002_create_visibility_tables.rs"]
mod m20261126_000002_create_visibility_tables;
#[path = "migrations/m20261126_000003_create_webhook_tables.rs"]
mod m20261126_000003_create_webhook_tables;
#[path = "migrations/m20261126_000004_add_agent_password_hash.rs"]
mod m20261126_000004_add_agent_password_hash;
#[path = "migrations/m20261126_000005_create_plugin_tables.rs"]
mod m20261126_000005_create_plugin_tables;
#[path = "migrations/m20261126_000006_add_agent_groups.rs"]
mod m20261126_000006_add_agent_groups;
#[path = "migrations/m20261126_000007_create_cobrowse_tables.rs"]
mod m20261126_000007_create_cobrowse_tables;
#[path = "migrations/m20261126_000008_create_mail_tables.rs"]
mod m20261126_000008_create_mail_tables;
#[path = "migrations/m20261126_000010_create_integration_tables.rs"]
mod m20261126_000010_create_integration_tables;
#[path = "migrations/m20261126_000011_create_mail_attempts.rs"]
mod m20261126_000011_create_mail_attempts;
#[path = "migrations/m20261203_000012_add_agent_roles.rs"]
mod m20261203_000012_add_agent_roles;
#[path = "migrations/m20261203_000013_create_audit_log.rs"]
mod m20261203_000013_create_audit_log;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_chat_tables::Migration),
            Box::new(m20261126_000002_create_visibility_tables::Migration),
            Box::new(m20261126_000003_create_webhook_tables::Migration),
            Box::new(m20261126_000004_add_agent_password_hash::Migration),
            Box::new(m20261126_000005_create_plugin_tables::Migration),
            Box::new(m20261126_000006_add_agent_groups::Migration),
            Box::new(m20261126_000007_create_cobrowse_tables::Migration),
            Box::new(m20261126_000008_create_mail_tables::Migration),
            Box::new(m20261126_000010_create_integration_tables::Migration),
            Box::new(m20261126_000011_create_mail_attempts::Migration),
            Box::new(m20261203_000012_add_agent_roles::Migration),
            Box::new(m20261203_000013_create_audit_log::Migration),
        ]
    }
}

/// The list as it was before it was put in version order (000007 and 000008 before 000006), for the test
/// that databases migrated that way still start.
#[cfg(test)]
pub(crate) struct OldOrder;

#[cfg(test)]
#[async_trait::async_trait]
impl MigratorTrait for OldOrder {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_chat_tables::Migration),
            Box::new(m20261126_000002_create_visibility_tables::Migration),
            Box::new(m20261126_000003_create_webhook_tables::Migration),
            Box::new(m20261126_000004_add_agent_password_hash::Migration),
            Box::new(m20261126_000005_create_plugin_tables::Migration),
            Box::new(m20261126_000007_create_cobrowse_tables::Migration),
            Box::new(m20261126_000008_create_mail_tables::Migration),
            Box::new(m20261126_000006_add_agent_groups::Migration),
            Box::new(m20261126_000010_create_integration_tables::Migration),
            Box::new(m20261126_000011_create_mail_attempts::Migration),
            Box::new(m20261203_000012_add_agent_roles::Migration),
            Box::new(m20261203_000013_create_audit_log::Migration),
        ]
    }
}
