//! The delivery loop: claim what is due, attempt it, record the attempt, schedule the retry.
//!
//! Time here is the system's, never the domain clock: `webhook-timestamp` must be close to the
//! receiver's clock (Standard Webhooks receivers refuse stale timestamps), and retries must come
//! due in real time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::config::DeliveryConfig;
use crate::delivery::client::{Answer, Sender};
use crate::domain::integrations::Integrations;
use crate::domain::webhooks::Attempt;
use crate::store::{AttemptRecord, ClaimedDelivery, NextStep, Store};

/// How long a claim holds beyond the request timeout before a crashed attempt is retried.
const LEASE_MARGIN: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("delivery: cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Starts the worker. It stops claiming when `shutdown` is cancelled, lets the attempts in flight
/// finish and record, and then ends.
pub fn spawn(
    store: Store,
    integrations: Integrations,
    config: DeliveryConfig,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, DeliveryError> {
    let sender = Sender::new(
        Duration::from_secs(config.request_timeout_seconds.max(1)),
        config.allow_private_targets,
    )?;
    let worker = Worker {
        store,
        integrations,
        config: Arc::new(config),
        sender: Arc::new(sender),
    };
    Ok(tokio::spawn(worker.run(shutdown)))
}

#[derive(Clone)]
struct Worker {
    store: Store,
    /// Shapes an event's webhook body (the shaper plugin) the first time it is sent.
    integrations: Integrations,
    config: Arc<DeliveryConfig>,
    sender: Arc<Sender>,
}

impl Worker {
    async fn run(self, shutdown: CancellationToken) {
        let signal = self.store.outbox_signal();
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(10));
        let concurrency = self.config.concurrency.max(1);
        let mut in_flight = JoinSet::new();
        tracing::debug!("delivery worker started");
        while !shutdown.is_cancelled() {
            let free = concurrency.saturating_sub(in_flight.len());
            if free > 0 {
                match self.claim(free).await {
                    Ok(claimed) => {
                        for delivery in claimed {
                            in_flight.spawn(self.clone().attempt(delivery));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot claim webhook deliveries"),
                }
            }
            // Wake for whatever can make something due: an attempt finishing (the next event of
            // its conversation), new events, or time passing (retries).
            tokio::select! {
                () = shutdown.cancelled() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = signal.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
        // Attempts in flight end within the request timeout and record what happened; one cut
        // short by a harder stop is retried when its lease runs out.
        while in_flight.join_next().await.is_some() {}
        tracing::debug!("delivery worker stopped");
    }

    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedDelivery>, crate::store::StoreError> {
        let now = Utc::now();
        let lease = Duration::from_secs(self.config.request_timeout_seconds.max(1)) + LEASE_MARGIN;
        self.store
            .claim_due_deliveries(now, now + to_chrono(lease), limit as u64)
            .await
    }

    async fn attempt(self, mut delivery: ClaimedDelivery) {
        if !delivery.body_fixed {
            let shaped = self.integrations.webhook_body(&delivery.payload).await;
            match self
                .store
                .fix_webhook_body(delivery.event_id, &shaped)
                .await
            {
                Ok(fixed) => delivery.payload = fixed,
                Err(e) => {
                    // Not sent unfixed: the lease runs out and the next attempt tries again.
                    tracing::error!(error = %e, event = %delivery.event_id,
                        "cannot fix the webhook body");
                    return;
                }
            }
        }
        let started_at = Utc::now();
        let timer = Instant::now();
        let answer = self.sender.post(&delivery, started_at).await;
        let duration_ms = u64::try_from(timer.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (next, disable_endpoint) = self.next_step(&delivery, &answer, started_at);
        match &answer.error {
            None => tracing::debug!(webhook = %delivery.endpoint_id, event = %delivery.event_id,
                "webhook delivered"),
            Some(error) => tracing::warn!(webhook = %delivery.endpoint_id,
                event = %delivery.event_id, %error, "webhook attempt failed"),
        }
        let record = AttemptRecord {
            delivery_id: delivery.delivery_id,
            endpoint_id: delivery.endpoint_id,
            attempt: Attempt {
                number: delivery.attempts + 1,
                started_at,
                duration_ms,
                status: answer.status,
                error: answer.error,
                response_body: answer.body,
            },
            next,
            disable_endpoint,
        };
        if let Err(e) = self.store.record_attempt(record).await {
            // The lease runs out and the delivery is attempted again: at least once, never lost.
            tracing::error!(error = %e, delivery = %delivery.delivery_id,
                "cannot record a webhook attempt");
        }
    }

    /// Delivered, retried after a back-off within the retry window, or given up after it.
    fn next_step(
        &self,
        delivery: &ClaimedDelivery,
        answer: &Answer,
        now: DateTime<Utc>,
    ) -> (NextStep, Option<String>) {
        let Some(error) = &answer.error else {
            return (NextStep::Delivered, None);
        };
        // Standard Webhooks: 410 Gone asks the sender to stop. The delivery stays open, so enabling
        // the endpoint again resumes it.
        let gone = (answer.status == Some(410))
            .then(|| "the receiver answered 410 Gone: it asked for no more deliveries".to_string());
        let first = delivery.first_attempt_at.unwrap_or(now);
        let window_end = first + to_chrono(Duration::from_secs(self.config.max_age_seconds));
        if now >= window_end {
            let reason = format!(
                "{} deliveries in a row were given up after retrying for {} s; the last: {error}",
                self.config.failures_before_disable, self.config.max_age_seconds
            );
            let step = NextStep::GiveUp {
                disable_after: self.config.failures_before_disable.max(1),
                reason,
            };
            return (step, gone);
        }
        let wait = backoff(
            delivery.attempts + 1,
            self.config.backoff_base_ms,
            self.config.backoff_cap_ms,
        );
        let at = (now + to_chrono(wait)).min(window_end);
        (NextStep::Retry { at }, gone)
    }
}

/// Exponential back-off with full jitter: a random wait up to `base · 2^(attempt-1)`, capped.
/// Jitter spreads the retries of many deliveries that failed together (a receiver coming back).
pub(crate) fn backoff(attempt: u32, base_ms: u64, cap_ms: u64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(32);
    let ceiling = base_ms.saturating_mul(1u64 << exponent).min(cap_ms);
    Duration::from_millis(rand::rng().random_range(0..=ceiling))
}

pub(crate) fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_stays_under_the_cap() {
        for attempt in 1..40 {
            let ceiling = (100u64 << (attempt - 1).min(32)).min(60_000);
            for _ in 0..50 {
                let wait = backoff(attempt, 100, 60_000);
                assert!(
                    wait <= Duration::from_millis(ceiling),
                    "{attempt}: {wait:?}"
                );
            }
        }
        assert_eq!(backoff(1, 0, 60_000), Duration::ZERO);
    }
}
