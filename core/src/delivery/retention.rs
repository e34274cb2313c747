//! The retention pass: once at start and then every `prune_interval_seconds`, remove finished deliveries,
//! mails and unneeded events older than `retention_days` (see `store::retention` for what stays).
//! Ages are measured with the server's clock, the one that stamped the rows.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DeliveryConfig;
use crate::delivery::lease::Lease;
use crate::domain::clock::Clock;
use crate::store::{Pruned, Store};

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
    // With several nodes one of them prunes; the others find the lease taken and wait.
    let mut lease = Lease::new(store.clone(), "retention", every);
    Some(tokio::spawn(async move {
        while !shutdown.is_cancelled() {
            let pass = async {
                if lease.hold().await {
                    store.prune_before(clock.now() - keep).await
                } else {
                    Ok(Pruned::default())
                }
            };
            match pass.await {
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
