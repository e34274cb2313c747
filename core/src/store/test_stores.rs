//! The stores the store's own tests run on: a SQLite file always, and a fresh PostgreSQL database
//! too when `NATTER_TEST_POSTGRES` names a server (as for the end-to-end tests), so that the
//! statements each backend has of its own are both tested.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use crate::domain::webhook_events::EventType;
use crate::domain::webhooks::{WebhookEndpoint, WebhookSecret};
use crate::store::{NewWebhook, Store};

/// A migrated, empty store and what keeps it alive.
pub(crate) struct TestStore {
    pub store: Store,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// A SQLite store, and a PostgreSQL one if `NATTER_TEST_POSTGRES` is set.
pub(crate) async fn test_stores() -> Vec<TestStore> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("natter.db").display()
    );
    let mut stores = vec![TestStore {
        store: migrated(&url).await,
        backend: "SQLite",
        _dir: Some(dir),
    }];
    if let Ok(base) = std::env::var("NATTER_TEST_POSTGRES") {
        let name = format!("natter_t_unit_{}", uuid::Uuid::new_v4().simple());
        let url = Store::create_postgres_database(&base, &name).await.unwrap();
        stores.push(TestStore {
            store: migrated(&url).await,
            backend: "PostgreSQL",
            _dir: None,
        });
    }
    stores
}

async fn migrated(url: &str) -> Store {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// An enabled webhook endpoint taking `events` (at an address nothing listens on).
pub(crate) async fn a_webhook(store: &Store, events: &[EventType]) -> WebhookEndpoint {
    store
        .insert_webhook(
            NewWebhook {
                url: "http://127.0.0.1:9/hook".into(),
                events: events.to_vec(),
                enabled: true,
                secret: WebhookSecret::generate(),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap()
}
