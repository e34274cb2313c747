//! SQLite's WAL checkpoints, taken off the commit path.
//!
//! In WAL mode a commit appends the pages it changed to the `-wal` file, and a checkpoint copies them
//! back into the database file. Left to itself, SQLite runs that checkpoint inside the commit that
//! takes the WAL past 1,000 pages: that commit then copies megabytes and syncs the database file
//! before it returns, and every append waiting on it (their acks with it) waits too. Under a steady
//! stream of messages that is several times a second.
//!
//! Here each connection's own threshold is a high backstop ([`BACKSTOP_PAGES`]), and a task
//! checkpoints shortly after commits instead ([`PACE`] gathers many commits into one checkpoint), in
//! `PASSIVE` mode on a connection of its own: it copies what it can without waiting for readers or
//! the writer, and commits go on while it runs.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::mpsc;

/// Pages in the WAL past which a committing connection checkpoints by itself (SQLite's default is
/// 1,000): reached only when the task falls behind, or by writes that do not tell it.
pub(crate) const BACKSTOP_PAGES: u32 = 20_000;

/// How long the task waits after a commit before checkpointing: commits that come meanwhile are
/// copied by the same checkpoint, and a page changed by many of them is copied once.
const PACE: Duration = Duration::from_millis(250);

/// Tells the checkpoint task that something was committed. The task ends with the last handle.
#[derive(Clone)]
pub(crate) struct Checkpointer {
    committed: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts the task on `db` (an SQLite pool).
    pub(crate) fn spawn(db: DatabaseConnection) -> Self {
        // One pending signal is enough: the checkpoint after it covers every commit before it.
        let (committed, signals) = mpsc::channel(1);
        tokio::spawn(run(db, signals));
        Self { committed }
    }

    pub(crate) fn committed(&self) {
        // Full: a checkpoint is already due, and it will take this commit too.
        let _ = self.committed.try_send(());
    }
}

async fn run(db: DatabaseConnection, mut signals: mpsc::Receiver<()>) {
    while signals.recv().await.is_some() {
        tokio::time::sleep(PACE).await;
        // A signal that came during the pause is covered by this checkpoint.
        let _ = signals.try_recv();
        let checkpoint = Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(PASSIVE)".to_string(),
        );
        match db.query_one(checkpoint).await {
            Ok(Some(row)) => {
                let busy: i64 = row.try_get_by_index(0).unwrap_or_default();
                let in_wal: i64 = row.try_get_by_index(1).unwrap_or_default();
                let copied: i64 = row.try_get_by_index(2).unwrap_or_default();
                tracing::trace!(busy, in_wal, copied, "WAL checkpoint");
            }
            Ok(None) => {}
            // The pool closes before the last handle goes (`Store::close`); nothing is lost: the
            // next checkpoint, or SQLite's own on closing, copies what this one did not.
            Err(e) => tracing::debug!(error = %e, "WAL checkpoint failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use chrono::Utc;
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

    use super::BACKSTOP_PAGES;
    use crate::config::SqliteSynchronous;
    use crate::domain::ids::VisitorId;
    use crate::domain::model::AuthorKind;
    use crate::store::{NewMessage, Store};

    #[tokio::test]
    async fn every_pooled_connection_has_the_settings_and_commits_reach_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();

        // Eight transactions at once hold all eight pooled connections: each must have been set
        // up, not only the first.
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(store.db().begin().await.unwrap());
        }
        for tx in &held {
            let pragma =
                |name: &str| Statement::from_string(DbBackend::Sqlite, format!("PRAGMA {name}"));
            let value = |row: Option<sea_orm::QueryResult>| -> i64 {
                row.unwrap().try_get_by_index(0).unwrap()
            };
            // temp_store 2 = MEMORY, synchronous 2 = FULL.
            assert_eq!(value(tx.query_one(pragma("temp_store")).await.unwrap()), 2);
            assert_eq!(value(tx.query_one(pragma("synchronous")).await.unwrap()), 2);
            assert_eq!(
                value(tx.query_one(pragma("foreign_keys")).await.unwrap()),
                1
            );
            assert_eq!(
                value(tx.query_one(pragma("busy_timeout")).await.unwrap()),
                5000
            );
            assert_eq!(
                value(tx.query_one(pragma("wal_autocheckpoint")).await.unwrap()),
                i64::from(BACKSTOP_PAGES)
            );
            let mode = tx.query_one(pragma("journal_mode")).await.unwrap().unwrap();
            assert_eq!(mode.try_get_by_index::<String>(0).unwrap(), "wal");
        }
        drop(held);

        // Far fewer pages than the backstop: only the checkpoint task copies them into the file.
        let before = std::fs::metadata(&path).unwrap().len();
        let site = store.ensure_default_site().await.unwrap();
        let visitor = VisitorId::new();
        let now = Utc::now();
        store.touch_visitor(site.id, visitor, now).await.unwrap();
        for n in 0..200 {
            let message = NewMessage {
                author_kind: AuthorKind::Visitor,
                author_id: Some(visitor.0),
                author_name: None,
                body: format!("message {n} {}", "x".repeat(400)),
                client_id: Some(format!("c-{n}")),
            };
            store
                .append_visitor_message(site.id, visitor, message, now)
                .await
                .unwrap();
        }
        let mut after = before;
        for _ in 0..100 {
            after = std::fs::metadata(&path).unwrap().len();
            if after > before + 80_000 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            after > before + 80_000,
            "the messages reached the database file ({before} → {after} bytes)"
        );
    }

    /// `[database] sqlite_synchronous = "normal"` reaches every connection of both pools (the
    /// shared one and the message batches'), and the default is FULL on both.
    #[tokio::test]
    async fn the_configured_synchronous_reaches_every_connection_of_both_pools() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("natter.db").display()
        );
        // synchronous 2 = FULL, 1 = NORMAL.
        for (setting, expected) in [
            (SqliteSynchronous::Full, 2_i64),
            (SqliteSynchronous::Normal, 1),
        ] {
            let store = Store::connect_with(&url, setting).await.unwrap();
            let mut held = Vec::new();
            for _ in 0..8 {
                held.push(store.db().begin().await.unwrap());
            }
            for _ in 0..2 {
                held.push(store.batch_db.begin().await.unwrap());
            }
            for tx in &held {
                let row = tx
                    .query_one(Statement::from_string(
                        DbBackend::Sqlite,
                        "PRAGMA synchronous".to_string(),
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    row.try_get_by_index::<i64>(0).unwrap(),
                    expected,
                    "{setting:?}"
                );
            }
            drop(held);
            store.close().await.unwrap();
        }
    }
}
