//! The quota on a plugin's key-value store, on the real database (SQLite, or PostgreSQL when
//! `NATTER_TEST_POSTGRES` is set): keys and bytes are counted by the database, in the writing transaction.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_core::plugins::capabilities::KvSetError;
use natter_core::plugins::limits::{KvFull, KvQuota};
use natter_core::store::Store;
use natter_tests::DataDir;

async fn store() -> (Store, DataDir) {
    let data = DataDir::new();
    data.ensure_database().await;
    let store = Store::connect(&data.database_url()).await.unwrap();
    store.migrate().await.unwrap();
    (store, data)
}

#[tokio::test]
async fn writes_past_the_quota_are_refused_and_write_nothing() {
    let (store, _data) = store().await;
    let quota = KvQuota {
        max_keys: 2,
        max_bytes: 12,
    };
    store.plugin_kv_set("p", "a", "1234", quota).await.unwrap();
    store.plugin_kv_set("p", "b", "12", quota).await.unwrap();
    // Another plugin has a quota of its own.
    store.plugin_kv_set("q", "c", "1", quota).await.unwrap();

    let refused = store.plugin_kv_set("p", "c", "1", quota).await.unwrap_err();
    assert!(
        matches!(refused, KvSetError::Full(KvFull::Keys { keys: 2, max: 2 })),
        "{refused}"
    );
    assert_eq!(store.plugin_kv_get("p", "c").await.unwrap(), None);

    // Overwriting is no new key; bytes are counted without the value it replaces.
    store
        .plugin_kv_set("p", "a", "123456", quota)
        .await
        .unwrap();
    let refused = store
        .plugin_kv_set("p", "a", "123456789", quota)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            KvSetError::Full(KvFull::Bytes { bytes: 13, max: 12 })
        ),
        "{refused}"
    );
    assert_eq!(
        store.plugin_kv_get("p", "a").await.unwrap().as_deref(),
        Some("123456"),
        "the refused write changed nothing"
    );
}

#[tokio::test]
async fn bytes_are_counted_in_utf8_not_characters() {
    let (store, _data) = store().await;
    let quota = KvQuota {
        max_keys: 10,
        max_bytes: 10,
    };
    // Five characters, ten bytes, and one byte of key: eleven.
    let refused = store
        .plugin_kv_set("p", "k", "ééééé", quota)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            KvSetError::Full(KvFull::Bytes { bytes: 11, max: 10 })
        ),
        "{refused}"
    );
    store.plugin_kv_set("p", "k", "éééé", quota).await.unwrap();
    // Stored now: 9 bytes. Rewriting it to 10 is allowed, to 11 is not.
    store.plugin_kv_set("p", "k", "éééé1", quota).await.unwrap();
    assert!(store.plugin_kv_set("p", "k", "ééééé", quota).await.is_err());
}
