//! Migrations against the real `natter` binary: `natter migrate` is SIGKILLed in the middle of each
//! migration of a fresh database (after its statements ran, before its commit, held there by the runner's
//! test hook), and the next start completes the schema: the same tables, columns, indexes and recorded
//! migrations as a database migrated in one go. On SQLite, and on PostgreSQL when `NATTER_TEST_POSTGRES`
//! is set.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use natter_core::store::Store;
use natter_core::store::migrate::{HOLD_ENV, HOLD_MESSAGE};
use natter_tests::process::{NatterProcess, sqlite_url};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

const WAIT: Duration = Duration::from_secs(60);

fn natter() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_natter"))
}

/// Where fresh databases come from: SQLite files in a temporary folder, or databases on a PostgreSQL server.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres { base: String, made: Vec<String> },
}

impl Backend {
    /// A new, empty database; answers its URL.
    async fn fresh(&mut self, label: &str) -> String {
        match self {
            Backend::Sqlite(dir) => {
                let folder = dir.path().join(label);
                std::fs::create_dir_all(&folder).unwrap();
                sqlite_url(&folder)
            }
            Backend::Postgres { base, made } => {
                let name = format!("natter_t_{}", uuid::Uuid::new_v4().simple());
                let url = Store::create_postgres_database(base, &name).await.unwrap();
                made.push(name);
                url
            }
        }
    }

    async fn clean_up(self) {
        if let Backend::Postgres { base, made } = self {
            for name in made {
                let _ = Store::drop_postgres_database(&base, &name).await;
            }
        }
    }
}

/// A configuration file for `url` in its own folder.
fn config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join(format!("config-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, format!("[database]\nurl = \"{url}\"\n")).unwrap();
    path
}

/// `natter migrate`, run to its end.
fn migrate(config: &Path) {
    let output = Command::new(natter())
        .arg("--config")
        .arg(config)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(output.status.success(), "natter migrate: {output:?}");
}

/// `natter migrate` held right before it commits `migration`, then SIGKILLed.
fn migrate_killed_in(config: &Path, migration: &str) {
    let mut child = Command::new(natter())
        .arg("--config")
        .arg(config)
        .arg("migrate")
        .env(HOLD_ENV, migration)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, seen) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    loop {
        let line = seen.recv_timeout(WAIT).unwrap_or_else(|e| {
            panic!("natter migrate did not hold in {migration} ({e}); it said: {log:#?}")
        });
        if line.contains(HOLD_MESSAGE) && line.contains(migration) {
            break;
        }
        log.push(line);
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Everything that makes up the schema, one line each, sorted, and the recorded migrations.
async fn schema(url: &str) -> Vec<String> {
    let db = Database::connect(url).await.unwrap();
    let backend = db.get_database_backend();
    let queries: &[&str] = match backend {
        DbBackend::Postgres => &[
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || \
             is_nullable || ' ' || COALESCE(column_default, '') AS line FROM information_schema.columns \
             WHERE table_schema = 'public'",
            "SELECT 'index ' || indexdef AS line FROM pg_indexes WHERE schemaname = 'public'",
            "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || \
             pg_get_constraintdef(oid) AS line FROM pg_constraint \
             WHERE connamespace = 'public'::regnamespace",
            "SELECT 'applied ' || version AS line FROM seaql_migrations",
        ],
        _ => &[
            "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') AS line FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%'",
            "SELECT 'applied ' || version AS line FROM seaql_migrations",
        ],
    };
    let mut lines = Vec::new();
    for query in queries {
        let rows = db
            .query_all(Statement::from_string(backend, query.to_string()))
            .await
            .unwrap();
        lines.extend(
            rows.iter()
                .map(|row| row.try_get::<String>("", "line").unwrap()),
        );
    }
    db.close().await.unwrap();
    lines.sort();
    lines
}

/// The recorded migrations of a database, in version order.
fn applied(schema: &[String]) -> Vec<String> {
    schema
        .iter()
        .filter_map(|line| line.strip_prefix("applied "))
        .map(str::to_string)
        .collect()
}

async fn killed_in_every_migration_then_completed(mut backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let reference = backend.fresh("reference").await;
    migrate(&config(folder.path(), &reference));
    let expected = schema(&reference).await;
    let migrations = applied(&expected);
    assert!(migrations.len() >= 10, "{migrations:?}");

    for (n, migration) in migrations.iter().enumerate() {
        let url = backend.fresh(migration).await;
        let config = config(folder.path(), &url);
        migrate_killed_in(&config, migration);
        let left = schema(&url).await;
        assert_eq!(
            applied(&left),
            migrations[..n],
            "killed in {migration}: exactly the migrations before it are recorded"
        );
        if migration.ends_with("create_mail_attempts") {
            // The case from the field: the server itself starts on what the kill left.
            let server = NatterProcess::start_on(natter(), folder.path(), &url, "").await;
            server.kill();
        } else {
            migrate(&config);
        }
        assert_eq!(
            schema(&url).await,
            expected,
            "killed in {migration}, then started again: the schema is complete"
        );
    }
    backend.clean_up().await;
}

#[tokio::test]
async fn sigkill_in_any_migration_leaves_a_database_that_starts_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    killed_in_every_migration_then_completed(Backend::Sqlite(dir)).await;
}

#[tokio::test]
async fn sigkill_in_any_migration_leaves_a_database_that_starts_postgres() {
    let Ok(base) = std::env::var("NATTER_TEST_POSTGRES") else {
        eprintln!("skipped: NATTER_TEST_POSTGRES is not set");
        return;
    };
    killed_in_every_migration_then_completed(Backend::Postgres {
        base,
        made: Vec::new(),
    })
    .await;
}
