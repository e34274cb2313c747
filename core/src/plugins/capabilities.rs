//! Capabilities: what a plugin may do beyond computing. Deny by default: a plugin gets a capability only if
//! its manifest asks for it and `[plugins.grants]` lists it; any other use of a gated import is refused.
//!
//! Also the storage the host keeps per plugin (its key-value store, whether it is disabled), behind a trait so
//! the host runs on the server's database, or in memory for `natter plugin check` and unit tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use crate::plugins::limits::{KvFull, KvQuota, KvUsage};
use crate::store::StoreError;

/// A capability a manifest may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// A small key-value store of the plugin's own: `kv-get`, `kv-set`.
    Kv,
    /// Reading agents: `agents-list`.
    AgentsRead,
    /// Creating, updating and disabling agents (never deleting): `agent-save`.
    AgentsWrite,
    /// Reading customers: `customer-get`.
    CustomersRead,
    /// Creating and updating customers and their labels: `customer-save`.
    CustomersWrite,
    /// Reading conversations and their messages: `conversation-get`, `messages-list`.
    ConversationsRead,
    /// Queueing signed deliveries to configured webhook endpoints through the outbox: `delivery-enqueue`.
    DeliveriesWrite,
}

impl Capability {
    pub const ALL: [Capability; 7] = [
        Capability::Kv,
        Capability::AgentsRead,
        Capability::AgentsWrite,
        Capability::CustomersRead,
        Capability::CustomersWrite,
        Capability::ConversationsRead,
        Capability::DeliveriesWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Kv => "kv",
            Capability::AgentsRead => "agents.read",
            Capability::AgentsWrite => "agents.write",
            Capability::CustomersRead => "customers.read",
            Capability::CustomersWrite => "customers.write",
            Capability::ConversationsRead => "conversations.read",
            Capability::DeliveriesWrite => "deliveries.write",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown capability `{0}` (known: kv, agents.read, agents.write, customers.read, customers.write, conversations.read, deliveries.write)"
)]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCapability(s.to_string()))
    }
}

/// The grants of `[plugins.grants]`: plugin name → capabilities.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(BTreeMap<String, BTreeSet<String>>);

impl Grants {
    pub fn from_config(grants: &BTreeMap<String, Vec<String>>) -> Self {
        Self(
            grants
                .iter()
                .map(|(plugin, caps)| (plugin.clone(), caps.iter().cloned().collect()))
                .collect(),
        )
    }

    /// What the configuration grants `plugin`, known capabilities or not (for display).
    pub fn configured(&self, plugin: &str) -> Vec<String> {
        self.0
            .get(plugin)
            .map(|caps| caps.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// What a plugin actually holds: asked for in its manifest, granted here, and known to this host.
    pub fn effective(&self, plugin: &str, asked: &[String]) -> BTreeSet<Capability> {
        let Some(granted) = self.0.get(plugin) else {
            return BTreeSet::new();
        };
        asked
            .iter()
            .filter(|cap| granted.contains(*cap))
            .filter_map(|cap| cap.parse().ok())
            .collect()
    }
}

/// Why and when a plugin was disabled; kept until its bytes change or an admin enables it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledRecord {
    /// SHA-256 of the component the failures came from: a replaced file starts afresh.
    pub digest: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Why a key-value write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum KvSetError {
    #[error(transparent)]
    Full(#[from] KvFull),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Storage the host needs per plugin.
pub trait PluginData: Send + Sync {
    fn kv_get<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>>;

    /// Writes `key` unless the store would grow past `quota`; the check and the write are one step, so
    /// concurrent calls cannot together overshoot it.
    fn kv_set<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
        value: &'a str,
        quota: KvQuota,
    ) -> BoxFuture<'a, Result<(), KvSetError>>;

    /// Every plugin recorded as disabled.
    fn disabled(&self) -> BoxFuture<'_, Result<HashMap<String, DisabledRecord>, StoreError>>;

    /// Records `plugin` as disabled (`Some`) or enabled again (`None`).
    fn set_disabled<'a>(
        &'a self,
        plugin: &'a str,
        record: Option<DisabledRecord>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// [`PluginData`] in memory: for `natter plugin check` and tests.
#[derive(Debug, Default)]
pub struct MemoryPluginData {
    kv: Mutex<HashMap<(String, String), String>>,
    disabled: Mutex<HashMap<String, DisabledRecord>>,
}

impl PluginData for MemoryPluginData {
    fn kv_get<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let value = self
            .kv
            .lock()
            .ok()
            .and_then(|kv| kv.get(&(plugin.to_string(), key.to_string())).cloned());
        Box::pin(async move { Ok(value) })
    }

    fn kv_set<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
        value: &'a str,
        quota: KvQuota,
    ) -> BoxFuture<'a, Result<(), KvSetError>> {
        let mut kv = self
            .kv
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let size = |k: &str, v: &str| (k.len() + v.len()) as u64;
        let mut before = KvUsage::default();
        for ((_, k), v) in kv.iter().filter(|((p, _), _)| p == plugin) {
            before.keys += 1;
            before.bytes += size(k, v);
        }
        let slot = (plugin.to_string(), key.to_string());
        let previous = kv.get(&slot).map(|v| size(key, v));
        let outcome = quota
            .check(before, before.after_write(key, value, previous))
            .map(|()| {
                kv.insert(slot, value.to_string());
            });
        Box::pin(async move { Ok(outcome?) })
    }

    fn disabled(&self) -> BoxFuture<'_, Result<HashMap<String, DisabledRecord>, StoreError>> {
        let all = self.disabled.lock().map(|d| d.clone()).unwrap_or_default();
        Box::pin(async move { Ok(all) })
    }

    fn set_disabled<'a>(
        &'a self,
        plugin: &'a str,
        record: Option<DisabledRecord>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        if let Ok(mut disabled) = self.disabled.lock() {
            match record {
                Some(record) => disabled.insert(plugin.to_string(), record),
                None => disabled.remove(plugin),
            };
        }
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[tokio::test]
    async fn the_memory_kv_store_keeps_to_its_quota() {
        let data = MemoryPluginData::default();
        let quota = KvQuota {
            max_keys: 2,
            max_bytes: 100,
        };
        data.kv_set("p", "a", "1", quota).await.unwrap();
        data.kv_set("p", "b", "2", quota).await.unwrap();
        // Another plugin has a quota of its own.
        data.kv_set("q", "c", "3", quota).await.unwrap();
        let refused = data.kv_set("p", "c", "3", quota).await.unwrap_err();
        assert!(
            matches!(refused, KvSetError::Full(KvFull::Keys { keys: 2, max: 2 })),
            "{refused}"
        );
        assert_eq!(
            data.kv_get("p", "c").await.unwrap(),
            None,
            "nothing written"
        );
        data.kv_set("p", "a", "rewritten", quota).await.unwrap();
        assert_eq!(
            data.kv_get("p", "a").await.unwrap().as_deref(),
            Some("rewritten")
        );
    }

    #[test]
    fn a_capability_needs_both_the_manifest_and_the_configuration() {
        let grants = Grants::from_config(&BTreeMap::from([(
            "webchat".to_string(),
            vec!["kv".to_string(), "teleport".to_string()],
        )]));
        let asked = vec!["kv".to_string()];
        assert_eq!(
            grants.effective("webchat", &asked),
            BTreeSet::from([Capability::Kv])
        );
        assert!(grants.effective("webchat", &[]).is_empty(), "not asked");
        assert!(grants.effective("other", &asked).is_empty(), "not granted");
        assert_eq!(grants.configured("webchat"), vec!["kv", "teleport"]);
    }
}
