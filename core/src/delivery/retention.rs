//! The retention pass: once at start and then every `prune_interval_seconds`, remove finished deliveries,
//! mails and unneeded events older than `retention_days` (see `store::retention` for what stays).
//! Ages are measured with the server's clock, the one that stamped the rows.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DeliveryConfig;
use crate::domain::clock::Clock;
use crate::store::Store;

/// Starts the pass, unless `retention_days` is 0 (keep everything).
pub fn spawn(
    store: Store,
    clock: Arc<dyn Clock>,
    config: &DeliveryConfig,
    shutdown: CancellationToken,
) -> Option<JoinHandle<()>> {
    if config.retention_days == 0 {
        return None;
    }
    let keep = chrono::Duration::days(i64::from(config.retention_days));
    let every = Duration::from_secs(config.prune_interval_seconds.max(1));
    Some(tokio::spawn(async move {
        while !shutdown.is_cancelled() {
            match store.prune_before(clock.now() - keep).await {
                Ok(pruned) if pruned != Default::default() => {
                    tracing::info!(
                        deliveries = pruned.deliveries,
                        events = pruned.events,
                        mails = pruned.mails,
                        "pruned what the retention period no longer keeps"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "cannot prune the outbox; trying again later")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(every) => {}
            }
        }
    }))
}
