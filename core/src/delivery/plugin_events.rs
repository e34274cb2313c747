//! Hands outbox events to the integration plugins that registered for them (`on-event`), in event
//! order, at least once.
//!
//! Each plugin has a cursor over the outbox (`store::plugin_events`), moved only after the plugin
//! handled the event, so a crash makes the plugin see the event again rather than miss it. A failing
//! event is retried with back-off, then skipped after [`MAX_ATTEMPTS`] with the error kept on the
//! cursor, so one poisonous event cannot stall a plugin for ever. A disabled plugin keeps its place
//! and resumes where it stopped once enabled.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DeliveryConfig;
use crate::delivery::backoff;
use crate::delivery::lease::Lease;
use crate::domain::integrations::{IntegrationError, Integrations};
use crate::plugins::{PluginError, PluginHost, PluginKind};
use crate::store::{PluginCursor, Store, StoreError};

/// Attempts at one event before it is skipped for that plugin.
pub const MAX_ATTEMPTS: u32 = 5;
/// Events read per plugin per round.
const BATCH: u64 = 100;
/// One node at a time hands events to plugins; a dead node's lease runs out after this long. It is
/// renewed at every batch, which takes at most `BATCH` plugin calls.
const LEASE: Duration = Duration::from_secs(60);

pub fn spawn(
    store: Store,
    plugins: PluginHost,
    integrations: Integrations,
    config: DeliveryConfig,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let worker = EventWorker {
        lease: Lease::new(store.clone(), "plugin-events", LEASE),
        store,
        plugins,
        integrations,
        config,
        retry_at: HashMap::new(),
    };
    tokio::spawn(worker.run(shutdown))
}

struct EventWorker {
    /// With several nodes, only the holder hands events over, so a plugin sees each event once per
    /// attempt rather than once per node.
    lease: Lease,
    store: Store,
    plugins: PluginHost,
    integrations: Integrations,
    config: DeliveryConfig,
    /// Plugins waiting out a back-off after a failed event.
    retry_at: HashMap<String, Instant>,
}

impl EventWorker {
    async fn run(mut self, shutdown: CancellationToken) {
        let signal = self.store.plugin_event_signal();
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(10));
        while !shutdown.is_cancelled() {
            let plugins = self.listening_plugins();
            if plugins.is_empty() || !self.lease.hold().await {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = signal.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
                continue;
            }
            for plugin in plugins {
                if let Err(e) = self.catch_up(&plugin, &shutdown).await {
                    tracing::error!(%plugin, error = %e, "cannot hand events to the plugin");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = signal.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Integration plugins that registered for at least one event type, are not disabled and are
    /// not waiting out a back-off.
    fn listening_plugins(&self) -> Vec<String> {
        let now = Instant::now();
        self.plugins
            .list()
            .into_iter()
            .filter(|info| info.manifest.kind == PluginKind::Integration)
            .filter_map(|info| self.plugins.get(&info.manifest.name))
            .filter(|plugin| !plugin.events().is_empty() && !plugin.is_disabled())
            .map(|plugin| plugin.manifest().name.clone())
            .filter(|name| self.retry_at.get(name).is_none_or(|at| *at <= now))
            .collect()
    }

    /// Hands the plugin every event after its cursor, until it has none left or one fails.
    async fn catch_up(
        &mut self,
        plugin: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), StoreError> {
        let Some(wanted) = self.plugins.get(plugin).map(|p| p.events().to_vec()) else {
            return Ok(());
        };
        let mut cursor = self.store.plugin_cursor(plugin).await?;
        loop {
            let events = self.store.events_after(cursor.last_seq, BATCH).await?;
            if events.is_empty() || shutdown.is_cancelled() || !self.lease.hold().await {
                return Ok(());
            }
            for event in events {
                if !wanted.iter().any(|t| t.as_str() == event.event_type) {
                    cursor.last_seq = event.seq;
                    continue;
                }
                match self.integrations.on_event(plugin, &event.envelope).await {
                    Ok(()) => {
                        cursor = PluginCursor {
                            last_seq: event.seq,
                            attempts: 0,
                        };
                        self.store.set_plugin_cursor(plugin, &cursor, None).await?;
                    }
                    // Stay put: the plugin resumes here once an admin enables it.
                    Err(IntegrationError::Plugin(PluginError::Disabled(_))) => {
                        self.store.set_plugin_cursor(plugin, &cursor, None).await?;
                        return Ok(());
                    }
                    Err(e) => {
                        self.failed(plugin, &mut cursor, event.seq, &e.to_string())
                            .await?;
                        return Ok(());
                    }
                }
            }
            // Unwanted events only moved the cursor in memory: keep that too.
            self.store.set_plugin_cursor(plugin, &cursor, None).await?;
        }
    }

    /// Counts a failed attempt at the event after `cursor`; skips the event after the last attempt.
    async fn failed(
        &mut self,
        plugin: &str,
        cursor: &mut PluginCursor,
        seq: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        cursor.attempts += 1;
        if cursor.attempts >= MAX_ATTEMPTS {
            tracing::error!(%plugin, seq, %error, attempts = cursor.attempts,
                "event skipped for this plugin after repeated failures");
            *cursor = PluginCursor {
                last_seq: seq,
                attempts: 0,
            };
        } else {
            tracing::warn!(%plugin, seq, %error, attempt = cursor.attempts,
                "plugin failed to handle an event; retrying");
            let wait = backoff(
                cursor.attempts,
                self.config.backoff_base_ms,
                self.config.backoff_cap_ms,
            );
            self.retry_at
                .insert(plugin.to_string(), Instant::now() + wait);
        }
        self.store
            .set_plugin_cursor(plugin, cursor, Some(error))
            .await
    }
}
