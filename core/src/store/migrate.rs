//! Applies pending migrations in version order, each in a transaction of its own together with its
//! `seaql_migrations` row, so a process killed in the middle of one leaves the database as it was before it.
//!
//! sea-orm-migration's own runner commits each statement on its own on SQLite, and all of them at once on
//! PostgreSQL; a crash then left tables whose migration was never recorded ("table … already exists" on
//! every later start). SQLite and PostgreSQL both have transactional DDL, so the runner here wraps every
//! migration's `up` and its row in one transaction. Which migrations are applied is read from the same
//! table and compared by name, as sea-orm does, so databases migrated by its runner (in whatever order)
//! carry on where they stopped.
//!
//! Test hook: `NATTER_TEST_HOLD_MIGRATION=<migration name>` makes the runner stop right before it commits
//! that migration, after printing a line saying so to standard error, and wait there; the crash tests
//! kill the process at that point. Unset in production, it costs one environment lookup per start.

use std::collections::BTreeSet;

use sea_orm::{
    ActiveValue, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};
use sea_orm::{ColumnTrait, DatabaseTransaction};
use sea_orm_migration::seaql_migrations;
use sea_orm_migration::{MigrationTrait, MigratorTrait, SchemaManager};

use crate::store::migrations::Migrator;

/// The environment variable of the test hook (see the module documentation).
pub const HOLD_ENV: &str = "NATTER_TEST_HOLD_MIGRATION";

/// What the runner printed when it holds before a commit; the crash tests wait for this text.
pub const HOLD_MESSAGE: &str = "holding before commit";

/// Any number unlikely to clash with another application's advisory lock on the same PostgreSQL server.
const POSTGRES_LOCK_KEY: i64 = 0x6e61_7474_6572; // "natter"

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// Reading or creating the migrations table failed.
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// One migration failed; its transaction was rolled back, earlier ones stay applied.
    #[error("migration {migration} failed and was rolled back: {source}")]
    Migration { migration: String, source: DbErr },
    /// The database records migrations this binary does not have: a newer version of Natter migrated it.
    #[error(
        "the database has migrations this version of natter does not know ({0}); it was migrated by a newer version"
    )]
    Unknown(String),
}

/// Applies every pending migration; answers the names of those it applied, in order.
pub(crate) async fn run(db: &DatabaseConnection) -> Result<Vec<String>, MigrateError> {
    let hold = std::env::var(HOLD_ENV).ok();
    Migrator::install(db).await?;
    let applied = applied(db).await?;
    let migrations = in_version_order(Migrator::migrations());
    let defined: BTreeSet<&str> = migrations.iter().map(|m| m.name()).collect();
    let unknown: Vec<&str> = applied
        .iter()
        .map(String::as_str)
        .filter(|name| !defined.contains(name))
        .collect();
    if !unknown.is_empty() {
        return Err(MigrateError::Unknown(unknown.join(", ")));
    }
    let mut done = Vec::new();
    for migration in migrations.iter().filter(|m| !applied.contains(m.name())) {
        let name = migration.name().to_string();
        let fail = |source| MigrateError::Migration {
            migration: name.clone(),
            source,
        };
        if apply(db, migration.as_ref(), hold.as_deref())
            .await
            .map_err(fail)?
        {
            tracing::info!(migration = %name, "migration applied");
            done.push(name);
        }
    }
    Ok(done)
}

/// Migrations sorted by name, which starts with their version: the order they were written in.
pub(crate) fn in_version_order(
    mut migrations: Vec<Box<dyn MigrationTrait>>,
) -> Vec<Box<dyn MigrationTrait>> {
    migrations.sort_by(|a, b| a.name().cmp(b.name()));
    migrations
}

/// The names in `seaql_migrations`.
async fn applied(db: &DatabaseConnection) -> Result<BTreeSet<String>, DbErr> {
    Ok(seaql_migrations::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.version)
        .collect())
}

/// Runs one migration and records it in one transaction; answers `false` if another process applied it
/// meanwhile. A failure drops the transaction, which rolls it back.
async fn apply(
    db: &DatabaseConnection,
    migration: &dyn MigrationTrait,
    hold: Option<&str>,
) -> Result<bool, DbErr> {
    let name = migration.name();
    let tx = db.begin().await?;
    if tx.get_database_backend() == DbBackend::Postgres {
        // Two nodes starting at once: the second waits here until the first commits, then sees the row.
        tx.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({POSTGRES_LOCK_KEY})"
        ))
        .await?;
    }
    if is_recorded(&tx, name).await? {
        return Ok(false);
    }
    migration.up(&SchemaManager::new(&tx)).await?;
    let now = chrono::Utc::now().timestamp();
    seaql_migrations::Entity::insert(seaql_migrations::ActiveModel {
        version: ActiveValue::Set(name.to_string()),
        applied_at: ActiveValue::Set(now),
    })
    .exec_without_returning(&tx)
    .await?;
    if hold == Some(name) {
        hold_forever(name).await;
    }
    tx.commit().await?;
    Ok(true)
}

async fn is_recorded(tx: &DatabaseTransaction, name: &str) -> Result<bool, DbErr> {
    Ok(seaql_migrations::Entity::find()
        .filter(seaql_migrations::Column::Version.eq(name))
        .one(tx)
        .await?
        .is_some())
}

/// The test hook: says where it stopped, then never returns (the test kills the process).
async fn hold_forever(name: &str) {
    eprintln!("migration {name}: {HOLD_MESSAGE} ({HOLD_ENV})");
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::MigratorTrait;

    use crate::store::Store;
    use crate::store::migrations::{Migrator, OldOrder};

    /// A fresh SQLite file, removed with the returned directory.
    async fn fresh_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("natter.db").display()
        );
        (Store::connect(&url).await.unwrap(), dir)
    }

    /// Every table, index and column definition, and the recorded migrations: what "the same schema" means.
    async fn schema(store: &Store) -> Vec<String> {
        let db = store.db();
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') AS line FROM sqlite_master \
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
                    .to_string(),
            ))
            .await
            .unwrap();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| row.try_get::<String>("", "line").unwrap())
            .collect();
        let mut versions: Vec<String> = Migrator::get_migration_models(db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| format!("applied {}", m.version))
            .collect();
        versions.sort();
        lines.extend(versions);
        lines
    }

    #[test]
    fn migrations_are_listed_in_version_order() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            names, sorted,
            "Migrator::migrations() in version order, no duplicates"
        );
    }

    #[tokio::test]
    async fn a_second_run_applies_nothing() {
        let (store, _dir) = fresh_store().await;
        let first = super::run(store.db()).await.unwrap();
        assert_eq!(first.len(), Migrator::migrations().len());
        assert!(super::run(store.db()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_database_migrated_in_the_old_order_still_starts() {
        let (reference, _d1) = fresh_store().await;
        super::run(reference.db()).await.unwrap();
        let expected = schema(&reference).await;

        // Fully migrated by sea-orm's runner in the old order (000007 and 000008 before 000006).
        let (complete, _d2) = fresh_store().await;
        OldOrder::up(complete.db(), None).await.unwrap();
        assert!(super::run(complete.db()).await.unwrap().is_empty());
        assert_eq!(schema(&complete).await, expected);

        // Stopped after 000008 in the old order: 000006 is still pending and comes first now.
        let (partial, _d3) = fresh_store().await;
        OldOrder::up(partial.db(), Some(7)).await.unwrap();
        let applied = super::run(partial.db()).await.unwrap();
        assert_eq!(
            applied,
            [
                "m20261126_000006_add_agent_groups",
                "m20261126_000010_create_integration_tables",
                "m20261126_000011_create_mail_attempts",
                "m20261203_000012_add_agent_roles",
                "m20261203_000013_create_audit_log",
            ]
        );
        assert_eq!(schema(&partial).await, expected);
    }

    #[tokio::test]
    async fn a_failing_migration_leaves_nothing_behind() {
        let (store, _dir) = fresh_store().await;
        // An index of the name 000011 gives its index exists already, so that migration fails at its
        // second statement: its table, created just before, must go with it, and nothing after it runs.
        store
            .execute_raw("CREATE TABLE decoy (x INTEGER)")
            .await
            .unwrap();
        store
            .execute_raw("CREATE INDEX mail_attempts_mail ON decoy (x)")
            .await
            .unwrap();
        let error = super::run(store.db()).await.unwrap_err().to_string();
        assert!(
            error.contains("m20261126_000011_create_mail_attempts")
                && error.contains("rolled back"),
            "{error}"
        );
        let applied: Vec<String> = Migrator::get_migration_models(store.db())
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.version)
            .collect();
        let before_it = Migrator::migrations()
            .iter()
            .take_while(|m| !m.name().ends_with("mail_attempts"))
            .count();
        assert_eq!(applied.len(), before_it);
        assert!(!applied.iter().any(|v| v.ends_with("mail_attempts")));
        let table = store
            .db()
            .query_one(Statement::from_string(
                store.db().get_database_backend(),
                "SELECT name FROM sqlite_master WHERE name = 'mail_attempts'".to_string(),
            ))
            .await
            .unwrap();
        assert!(
            table.is_none(),
            "the failed migration's table was rolled back"
        );
    }
}
