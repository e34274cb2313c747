//! What one plugin call may spend: time, memory, payload size; and the limiter a store enforces them with.

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
}

impl Limits {
    pub fn from_config(config: &PluginsConfig) -> Self {
        Self {
            call_deadline: Duration::from_millis(config.call_deadline_ms.max(1)),
            memory_bytes: config.memory_limit_bytes,
            max_payload_bytes: config.max_payload_bytes,
            failures_before_disable: config.failures_before_disable.max(1),
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
