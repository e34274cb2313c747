//! What the plugin host keeps: each plugin's key-value store, disabled plugins, widget configurations.

use std::collections::HashMap;

use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, Set, Statement};

use crate::domain::widget::StoredWidgetConfig;
use crate::plugins::PluginData;
use crate::plugins::capabilities::{DisabledRecord, KvSetError};
use crate::plugins::limits::{KvQuota, KvUsage};
use crate::store::entities::{plugin_kv, plugin_state, widget_config};
use crate::store::{Store, StoreError, StoreResult};

impl Store {
    pub async fn plugin_kv_get(&self, plugin: &str, key: &str) -> StoreResult<Option<String>> {
        Ok(
            plugin_kv::Entity::find_by_id((plugin.to_string(), key.to_string()))
                .one(self.db())
                .await?
                .map(|row| row.value),
        )
    }

    /// Writes `key` unless the plugin's store would grow past `quota`. The usage is read under the write
    /// lock, in the transaction that writes, so a refused write changes nothing and two writes cannot
    /// together pass the quota.
    pub async fn plugin_kv_set(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        quota: KvQuota,
    ) -> Result<(), KvSetError> {
        let row = plugin_kv::ActiveModel {
            plugin: Set(plugin.to_string()),
            key: Set(key.to_string()),
            value: Set(value.to_string()),
            updated_at: Set(Utc::now()),
        };
        let w = self.write().await?;
        let (before, previous) = kv_usage(&w.tx, plugin, key).await?;
        quota.check(before, before.after_write(key, value, previous))?;
        plugin_kv::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([plugin_kv::Column::Plugin, plugin_kv::Column::Key])
                    .update_columns([plugin_kv::Column::Value, plugin_kv::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&w.tx)
            .await
            .map_err(StoreError::from)?;
        Ok(w.commit().await?)
    }

    pub async fn disabled_plugins(&self) -> StoreResult<HashMap<String, DisabledRecord>> {
        Ok(plugin_state::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|row| {
                (
                    row.plugin,
                    DisabledRecord {
                        digest: row.digest,
                        reason: row.reason,
                        at: row.disabled_at,
                    },
                )
            })
            .collect())
    }

    pub async fn set_plugin_disabled(
        &self,
        plugin: &str,
        record: Option<DisabledRecord>,
    ) -> StoreResult<()> {
        let w = self.write().await?;
        match record {
            Some(record) => {
                let row = plugin_state::ActiveModel {
                    plugin: Set(plugin.to_string()),
                    digest: Set(record.digest),
                    reason: Set(record.reason),
                    disabled_at: Set(record.at),
                };
                plugin_state::Entity::insert(row)
                    .on_conflict(
                        OnConflict::column(plugin_state::Column::Plugin)
                            .update_columns([
                                plugin_state::Column::Digest,
                                plugin_state::Column::Reason,
                                plugin_state::Column::DisabledAt,
                            ])
                            .to_owned(),
                    )
                    .exec_without_returning(&w.tx)
                    .await?;
            }
            None => {
                plugin_state::Entity::delete_by_id(plugin.to_string())
                    .exec(&w.tx)
                    .await?;
            }
        }
        w.commit().await
    }

    /// The stored configuration of a widget plugin, if an admin ever set one.
    pub async fn widget_config(&self, plugin: &str) -> StoreResult<Option<StoredWidgetConfig>> {
        widget_config::Entity::find_by_id(plugin.to_string())
            .one(self.db())
            .await?
            .map(stored_widget_config)
            .transpose()
    }

    /// Stores a (validated) configuration with the next version number.
    pub async fn put_widget_config(
        &self,
        plugin: &str,
        config: &serde_json::Value,
    ) -> StoreResult<StoredWidgetConfig> {
        let now = Utc::now();
        let w = self.write().await?;
        let version = widget_config::Entity::find_by_id(plugin.to_string())
            .one(&w.tx)
            .await?
            .map_or(0, |row| row.version)
            + 1;
        let row = widget_config::ActiveModel {
            plugin: Set(plugin.to_string()),
            config: Set(config.to_string()),
            version: Set(version),
            updated_at: Set(now),
        };
        widget_config::Entity::insert(row)
            .on_conflict(
                OnConflict::column(widget_config::Column::Plugin)
                    .update_columns([
                        widget_config::Column::Config,
                        widget_config::Column::Version,
                        widget_config::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&w.tx)
            .await?;
        w.commit().await?;
        Ok(StoredWidgetConfig {
            plugin: plugin.to_string(),
            config: config.clone(),
            version,
            updated_at: now,
        })
    }
}

/// What `plugin` keeps in its key-value store, and the bytes `key` holds if it exists. Counted in the
/// database: summing in Rust would read every value on every write.
async fn kv_usage(
    tx: &DatabaseTransaction,
    plugin: &str,
    key: &str,
) -> StoreResult<(KvUsage, Option<u64>)> {
    let backend = tx.get_database_backend();
    // Bytes, not characters: `length` counts characters of text in both databases.
    let (size, p1, p2) = match backend {
        DbBackend::Postgres => (r#"octet_length("key") + octet_length("value")"#, "$1", "$2"),
        DbBackend::Sqlite | DbBackend::MySql => (
            r#"length(CAST("key" AS BLOB)) + length(CAST("value" AS BLOB))"#,
            "?1",
            "?2",
        ),
    };
    let sql = format!(
        r#"SELECT COUNT(*) AS keys, COALESCE(SUM({size}), 0) AS bytes,
           COALESCE(SUM(CASE WHEN "key" = {p2} THEN 1 ELSE 0 END), 0) AS present,
           COALESCE(SUM(CASE WHEN "key" = {p2} THEN {size} ELSE 0 END), 0) AS key_bytes
           FROM plugin_kv WHERE "plugin" = {p1}"#
    );
    let row = tx
        .query_one(Statement::from_sql_and_values(
            backend,
            sql,
            [plugin.into(), key.into()],
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("no answer counting plugin_kv".into()))?;
    let number = |column: &str| -> StoreResult<u64> {
        let n: i64 = row.try_get("", column)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let usage = KvUsage {
        keys: number("keys")?,
        bytes: number("bytes")?,
    };
    let previous = (number("present")? > 0)
        .then(|| number("key_bytes"))
        .transpose()?;
    Ok((usage, previous))
}

fn stored_widget_config(row: widget_config::Model) -> StoreResult<StoredWidgetConfig> {
    Ok(StoredWidgetConfig {
        config: serde_json::from_str(&row.config)
            .map_err(|_| StoreError::Corrupt(format!("widget config of `{}`", row.plugin)))?,
        plugin: row.plugin,
        version: row.version,
        updated_at: row.updated_at,
    })
}

impl PluginData for Store {
    fn kv_get<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(self.plugin_kv_get(plugin, key))
    }

    fn kv_set<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
        value: &'a str,
        quota: KvQuota,
    ) -> BoxFuture<'a, Result<(), KvSetError>> {
        Box::pin(self.plugin_kv_set(plugin, key, value, quota))
    }

    fn disabled(&self) -> BoxFuture<'_, Result<HashMap<String, DisabledRecord>, StoreError>> {
        Box::pin(self.disabled_plugins())
    }

    fn set_disabled<'a>(
        &'a self,
        plugin: &'a str,
        record: Option<DisabledRecord>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.set_plugin_disabled(plugin, record))
    }
}
