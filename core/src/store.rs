//! Persistence: sea-orm entities, migrations and the repositories the domain calls.
//!
//! Entities never leave this module: every repository function takes and returns domain types.

pub mod agent_sync;
pub mod agents;
mod append_batch;
mod arrivals;
mod audit;
mod bulk;
mod checkpoint;
mod cobrowse;
mod conversations;
mod convert;
mod counters;
mod customers;
mod deliveries;
pub mod entities;
mod group_commit;
mod leases;
mod links;
mod logins;
mod mail;
pub mod migrate;
pub mod migrations;
mod outbox;
mod overrides;
mod plugin_events;
mod plugins;
mod retention;
mod rules;
mod sites;
#[cfg(test)]
mod test_stores;
pub mod tokens;
mod visitors;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, IsolationLevel, TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard, Notify};

use crate::config::SqliteSynchronous;

pub use conversations::{AppendOutcome, NewMessage};
pub use customers::SavedCustomer;
pub use deliveries::{AttemptRecord, ClaimedDelivery, NextStep};
pub use mail::{ClaimedMail, MailAttempt, MailNext};
pub use migrate::MigrateError;
pub use outbox::PluginDeliveryError;
pub use plugin_events::{PluginCursor, StoredEvent};
pub use retention::Pruned;
pub use rules::RuleDraft;
pub use webhooks::{NewWebhook, WebhookChange};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// The conversation is closed: nothing more can be added to it.
    #[error("conversation is closed")]
    Closed,
    /// A stored row that does not map onto the domain (an unknown status, broken JSON).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database behind the server.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// The connections message batches are written on (see [`batch_pool`]).
    batch_db: DatabaseConnection,
    /// Writers queue here: SQLite allows one writer at a time, and a queue in the process is kinder
    /// than `SQLITE_BUSY` retries. On PostgreSQL it also keeps one node's commits in order.
    write_lock: Arc<Mutex<()>>,
    /// Signalled after a commit that queued deliveries, so the delivery worker wakes at once.
    outbox: Arc<Notify>,
    /// Decides which mails an event causes; set once at start when mail is configured.
    mail_planner: Arc<std::sync::OnceLock<Arc<dyn crate::domain::mail::MailPlanner>>>,
    /// Signalled after a commit that queued mail, so the mail worker wakes at once.
    mail_signal: Arc<Notify>,
    /// Signalled after a commit that wrote events, so integration plugins get them at once.
    plugin_events: Arc<Notify>,
    /// Message appends, committed in batches by one writer task.
    group: Arc<group_commit::GroupCommit>,
    /// Visitors arriving on pages, recorded in batches ([`arrivals`]).
    arrivals: Arc<arrivals::Arrivals>,
    /// Sites read by key ([`sites`]): every visitor socket opens with one.
    sites: Arc<sites::SitesByKey>,
    /// Told after every commit on SQLite, so the WAL is checkpointed off the commit path.
    checkpoint: Option<checkpoint::Checkpointer>,
}

/// A write transaction holding the write lock until it commits or is dropped.
pub(crate) struct WriteTx<'a> {
    pub(crate) tx: DatabaseTransaction,
    _guard: MutexGuard<'a, ()>,
    store: &'a Store,
}

impl Store {
    /// Connects to `url` (SQLite in WAL mode, or PostgreSQL); SQLite syncs every commit.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, SqliteSynchronous::Full).await
    }

    /// As [`Store::connect`], with SQLite's commits synced as `synchronous` says.
    pub async fn connect_with(url: &str, synchronous: SqliteSynchronous) -> StoreResult<Self> {
        let mut options = ConnectOptions::new(url.to_string());
        options
            .max_connections(8)
            .connect_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |o| sqlite_options(o, synchronous));
        let db = Database::connect(options).await?;
        let batch_db = batch_pool(&db, url, synchronous).await?;
        let checkpoint = (db.get_database_backend() == DbBackend::Sqlite)
            .then(|| checkpoint::Checkpointer::spawn(db.clone()));
        Ok(Self {
            db,
            batch_db,
            write_lock: Arc::new(Mutex::new(())),
            outbox: Arc::new(Notify::new()),
            mail_planner: Arc::new(std::sync::OnceLock::new()),
            mail_signal: Arc::new(Notify::new()),
            plugin_events: Arc::new(Notify::new()),
            group: Arc::default(),
            arrivals: Arc::default(),
            sites: Arc::default(),
            checkpoint,
        })
    }

    /// Applies every pending migration, each in its own transaction, in version order.
    pub async fn migrate(&self) -> Result<(), migrate::MigrateError> {
        migrate::run(&self.db).await?;
        Ok(())
    }

    /// Whether the database answers (`/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await?;
        Ok(())
    }

    /// Runs one statement outside the repositories (tests that shape a schema by hand).
    #[cfg(test)]
    pub(crate) async fn execute_raw(&self, sql: &str) -> StoreResult<()> {
        let backend = self.db.get_database_backend();
        self.db
            .execute(sea_orm::Statement::from_string(backend, sql.to_string()))
            .await?;
        Ok(())
    }

    /// The URL of database `name` on the server `server_url` points at. Refuses a name that is more
    /// than lowercase letters, digits and `_`, as it is written into statements unquoted.
    pub fn postgres_database_url(server_url: &str, name: &str) -> StoreResult<String> {
        let plain = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        if name.is_empty() || !name.bytes().all(plain) {
            return Err(DbErr::Custom(format!("{name:?} is not a plain database name")).into());
        }
        let mut url = url::Url::parse(server_url)
            .map_err(|e| DbErr::Custom(format!("{server_url:?} is not a URL: {e}")))?;
        url.set_path(name);
        Ok(url.to_string())
    }

    /// Creates an empty PostgreSQL database `name` on the server `server_url` points at, and answers
    /// the new database's URL: each test or benchmark run gets a database of its own. `name` goes
    /// into the statement as it is, so it may hold only lowercase letters, digits and `_`.
    pub async fn create_postgres_database(server_url: &str, name: &str) -> StoreResult<String> {
        let url = Self::postgres_database_url(server_url, name)?;
        administer(server_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(url)
    }

    /// Drops a database [`Store::create_postgres_database`] made, closing what is connected to it.
    pub async fn drop_postgres_database(server_url: &str, name: &str) -> StoreResult<()> {
        Self::postgres_database_url(server_url, name)?;
        administer(
            server_url,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await
    }

    pub async fn close(self) -> StoreResult<()> {
        if self.batch_db.get_database_backend() == DbBackend::Postgres {
            self.batch_db.close().await?;
        }
        self.db.close().await?;
        Ok(())
    }

    /// Notified whenever deliveries may have become due (new events, a redelivery, a resumed endpoint).
    pub fn outbox_signal(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    /// Wakes the workers after a commit that wrote events. A wake-up while a worker is busy is
    /// kept until it waits again.
    pub(crate) fn events_committed(&self) {
        self.events_committed_queuing(outbox::QueuedWork::ALL);
    }

    /// [`Store::events_committed`] for a commit that knows what it queued: the delivery and mail
    /// workers are woken only if it queued work for them. Integration plugins read the events
    /// themselves, so their worker is always woken.
    pub(crate) fn events_committed_queuing(&self, queued: outbox::QueuedWork) {
        if queued.deliveries {
            self.outbox.notify_one();
        }
        if queued.mails {
            self.mail_signal.notify_one();
        }
        self.plugin_events.notify_one();
    }

    /// Notified whenever events were written (for the integration plugins' event worker).
    pub fn plugin_event_signal(&self) -> Arc<Notify> {
        self.plugin_events.clone()
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub(crate) async fn write(&self) -> StoreResult<WriteTx<'_>> {
        let guard = self.write_lock.lock().await;
        let tx = self.db.begin().await?;
        Ok(WriteTx {
            tx,
            _guard: guard,
            store: self,
        })
    }

    /// A read-only transaction whose reads all see one moment, so that a listing read in several
    /// statements (rows, then their attempts) never mixes states from before and after a commit.
    /// An SQLite transaction is such a snapshot already; PostgreSQL's must be `REPEATABLE READ`.
    pub(crate) async fn read_snapshot(&self) -> StoreResult<DatabaseTransaction> {
        Ok(match self.db.get_database_backend() {
            DbBackend::Postgres => {
                self.db
                    .begin_with_config(
                        Some(IsolationLevel::RepeatableRead),
                        Some(AccessMode::ReadOnly),
                    )
                    .await?
            }
            _ => self.db.begin().await?,
        })
    }

    /// Something was committed: on SQLite, the checkpointer copies it into the database file soon.
    pub(crate) fn committed(&self) {
        if let Some(checkpoint) = &self.checkpoint {
            checkpoint.committed();
        }
    }
}

/// Every SQLite connection, set as it opens: most of these are per connection, and a PRAGMA run
/// once after connecting reaches only the one connection that ran it.
fn sqlite_options(
    sqlite: SqliteConnectOptions,
    synchronous: SqliteSynchronous,
) -> SqliteConnectOptions {
    let synchronous = match synchronous {
        // A batch is on disk before its acks go out.
        SqliteSynchronous::Full => sea_orm::sqlx::sqlite::SqliteSynchronous::Full,
        SqliteSynchronous::Normal => sea_orm::sqlx::sqlite::SqliteSynchronous::Normal,
    };
    sqlite
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Statement journals (for multi-row writes) in memory rather than temp files.
        .pragma("temp_store", "MEMORY")
        .pragma("wal_autocheckpoint", checkpoint::BACKSTOP_PAGES.to_string())
}

/// Where message batches are written: a pool of their own whose connections are not pinged before
/// each use, as the shared pool's are. That ping is a round trip on every batch (over the network,
/// or to SQLite's worker thread), which is time every acknowledgement waits. A connection that
/// broke while idle (a restarted PostgreSQL) then fails its batch, which is written again on the
/// shared pool (see `group_commit`), and it is closed when it goes back to its pool, which pings
/// it there, off the acknowledgement's path. An in-memory SQLite database exists once per
/// connection of one pool, so it keeps the shared pool.
async fn batch_pool(
    db: &DatabaseConnection,
    url: &str,
    synchronous: SqliteSynchronous,
) -> StoreResult<DatabaseConnection> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if db.get_database_backend() == DbBackend::Sqlite && in_memory {
        return Ok(db.clone());
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        // One writes while the other is being pinged on its way back to the pool.
        .max_connections(2)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| sqlite_options(o, synchronous));
    Ok(Database::connect(options).await?)
}

/// Runs one statement on its own connection to `server_url` (creating or dropping a database, which
/// cannot run in a transaction or on a pool that may be connected to that database).
async fn administer(server_url: &str, sql: &str) -> StoreResult<()> {
    let admin = Database::connect(server_url).await?;
    let done = admin.execute_unprepared(sql).await;
    admin.close().await?;
    done?;
    Ok(())
}

impl WriteTx<'_> {
    pub(crate) async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        self.store.committed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Store;

    #[test]
    fn a_database_is_named_next_to_the_server_url_and_only_with_plain_characters() {
        let server = "postgres://postgres@127.0.0.1:5432/test";
        assert_eq!(
            Store::postgres_database_url(server, "natter_t_1a")
                .ok()
                .as_deref(),
            Some("postgres://postgres@127.0.0.1:5432/natter_t_1a")
        );
        for name in ["", "Natter", "a-b", "x; DROP DATABASE test"] {
            assert!(
                Store::postgres_database_url(server, name).is_err(),
                "{name:?} is refused"
            );
        }
        assert!(Store::postgres_database_url("not a url", "natter").is_err());
    }
}
