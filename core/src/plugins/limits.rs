//! What one plugin call may spend: time, memory, payload size; and the limiter a store enforces them with.
//! Also what a plugin may keep: the cap on its key-value store.

use std::time::Duration;

use wasmtime::ResourceLimiter;

use crate::config::PluginsConfig;

/// The limits every call runs under, from `[plugins]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub call_deadline: Duration,
    pub memory_bytes: usize,
    pub max_payload_bytes: usize,
    pub failures_before_disable: u32,
    pub kv: KvQuota,
}

impl Limits {
    pub fn from_config(config: &PluginsConfig) -> Self {
        Self {
            call_deadline: Duration::from_millis(config.call_deadline_ms.max(1)),
            memory_bytes: config.memory_limit_bytes,
            max_payload_bytes: config.max_payload_bytes,
            failures_before_disable: config.failures_before_disable.max(1),
            kv: KvQuota {
                max_keys: config.kv_max_keys,
                max_bytes: config.kv_max_bytes,
            },
        }
    }
}

/// How much one plugin may keep in its key-value store (`plugins.kv_max_keys`, `plugins.kv_max_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvQuota {
    pub max_keys: u64,
    /// Keys and values together, in bytes of UTF-8.
    pub max_bytes: u64,
}

/// What a plugin's key-value store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KvUsage {
    pub keys: u64,
    pub bytes: u64,
}

/// A write refused because the plugin's key-value store would grow past its quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvFull {
    #[error(
        "the key-value store is full: it holds {keys} keys and plugins.kv_max_keys is {max}; overwrite an existing key instead"
    )]
    Keys { keys: u64, max: u64 },
    #[error(
        "the key-value store is full: this write would make it {bytes} bytes and plugins.kv_max_bytes is {max}"
    )]
    Bytes { bytes: u64, max: u64 },
}

impl KvQuota {
    /// Whether a write taking the store from `before` to `after` is allowed. A write that does not grow
    /// what is over the quota passes, so a plugin over a lowered quota can still shrink or rewrite its data.
    pub fn check(&self, before: KvUsage, after: KvUsage) -> Result<(), KvFull> {
        if after.keys > self.max_keys && after.keys > before.keys {
            return Err(KvFull::Keys {
                keys: before.keys,
                max: self.max_keys,
            });
        }
        if after.bytes > self.max_bytes && after.bytes > before.bytes {
            return Err(KvFull::Bytes {
                bytes: after.bytes,
                max: self.max_bytes,
            });
        }
        Ok(())
    }
}

impl KvUsage {
    /// The usage after writing `key` = `value`, given the bytes the key held before (`None`: a new key).
    pub fn after_write(self, key: &str, value: &str, previous: Option<u64>) -> KvUsage {
        let written = (key.len() + value.len()) as u64;
        match previous {
            Some(old) => KvUsage {
                keys: self.keys,
                bytes: self.bytes.saturating_sub(old) + written,
            },
            None => KvUsage {
                keys: self.keys + 1,
                bytes: self.bytes + written,
            },
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_config(&PluginsConfig::default())
    }
}

/// Raised (as the trap's error) when a call tries to grow memory past its cap. Our own type, because with
/// a limiter error wasmtime does not report a `Trap`, and the failure must still be told apart from one.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (asked for {desired})")]
pub struct MemoryExceeded {
    pub limit: usize,
    pub desired: usize,
}

/// A per-store limiter: one plugin instance, each of its memories capped.
#[derive(Debug)]
pub struct CallLimiter {
    memory_limit: usize,
}

impl CallLimiter {
    pub fn new(memory_limit: usize) -> Self {
        Self { memory_limit }
    }

    pub fn limit(&self) -> usize {
        self.memory_limit
    }
}

/// Tables hold function references; a plugin needing more than this is broken, not busy.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            return Err(MemoryExceeded {
                limit: self.memory_limit,
                desired,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        // A component instantiates a few core modules (the plugin, its shims); a handful is plenty.
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTA: KvQuota = KvQuota {
        max_keys: 2,
        max_bytes: 20,
    };

    /// The usage before, the key and value written, the bytes the key held, and the check's answer.
    type Case = (
        KvUsage,
        &'static str,
        &'static str,
        Option<u64>,
        Result<(), KvFull>,
    );

    fn usage(keys: u64, bytes: u64) -> KvUsage {
        KvUsage { keys, bytes }
    }

    #[test]
    fn the_kv_quota_refuses_growth_past_either_cap() {
        let empty = KvUsage::default();
        let cases: &[Case] = &[
            (empty, "a", "123", None, Ok(())),
            (usage(1, 4), "b", "123", None, Ok(())),
            (
                usage(2, 8),
                "c",
                "1",
                None,
                Err(KvFull::Keys { keys: 2, max: 2 }),
            ),
            // Overwriting an existing key is no new key.
            (usage(2, 8), "a", "12345", Some(4), Ok(())),
            (
                usage(2, 8),
                "a",
                "1234567890123456",
                Some(4),
                Err(KvFull::Bytes { bytes: 21, max: 20 }),
            ),
            // Exactly at the cap is allowed.
            (usage(1, 4), "b", "123456789012345", None, Ok(())),
            // Over a quota lowered since: shrinking is allowed, growing is not.
            (usage(3, 30), "a", "1", Some(10), Ok(())),
            (
                usage(3, 30),
                "a",
                "123456789012",
                Some(10),
                Err(KvFull::Bytes { bytes: 33, max: 20 }),
            ),
        ];
        for (before, key, value, previous, allowed) in cases {
            let after = before.after_write(key, value, *previous);
            assert_eq!(
                &QUOTA.check(*before, after),
                allowed,
                "{before:?} + {key}={value}"
            );
        }
    }

    #[test]
    fn a_full_store_says_which_setting_to_raise() {
        let message = KvFull::Keys { keys: 2, max: 2 }.to_string();
        assert!(message.contains("plugins.kv_max_keys"), "{message}");
        let message = KvFull::Bytes { bytes: 21, max: 20 }.to_string();
        assert!(message.contains("plugins.kv_max_bytes"), "{message}");
    }
}
