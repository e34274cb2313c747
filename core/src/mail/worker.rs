//! The mail delivery loop, on the webhook worker's design: claim what is due (a lease), send it,
//! record the attempt, schedule the retry with the same back-off. Time here is the system's.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::config::DeliveryConfig;
use crate::delivery::{backoff, to_chrono};
use crate::mail::transport::SmtpSender;
use crate::store::{ClaimedMail, MailAttempt, MailNext, Store};

/// How long a claim holds beyond the SMTP timeout before a crashed attempt is made again.
const LEASE_MARGIN: Duration = Duration::from_secs(1);
/// Mails in flight at once: SMTP servers limit connections per client.
const CONCURRENCY: usize = 4;

/// Starts the worker. It stops claiming when `shutdown` is cancelled and lets the attempts in
/// flight finish and record.
pub fn spawn(
    store: Store,
    sender: SmtpSender,
    retry: DeliveryConfig,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    // An attempt ends within the sender's timeout, so it never outlives its claim.
    let worker = Worker {
        store,
        lease: sender.timeout() + LEASE_MARGIN,
        sender: Arc::new(sender),
        retry: Arc::new(retry),
    };
    tokio::spawn(worker.run(shutdown))
}

#[derive(Clone)]
struct Worker {
    store: Store,
    sender: Arc<SmtpSender>,
    retry: Arc<DeliveryConfig>,
    lease: Duration,
}

impl Worker {
    async fn run(self, shutdown: CancellationToken) {
        let signal = self.store.mail_signal();
        let poll = Duration::from_millis(self.retry.poll_interval_ms.max(10));
        let mut in_flight = JoinSet::new();
        tracing::debug!("mail worker started");
        while !shutdown.is_cancelled() {
            let free = CONCURRENCY.saturating_sub(in_flight.len());
            if free > 0 {
                let now = Utc::now();
                match self
                    .store
                    .claim_due_mails(now, now + to_chrono(self.lease), free as u64)
                    .await
                {
                    Ok(claimed) => {
                        for mail in claimed {
                            in_flight.spawn(self.clone().attempt(mail));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot claim mail"),
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = signal.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
        tracing::debug!("mail worker stopped");
    }

    async fn attempt(self, mail: ClaimedMail) {
        let started_at = Utc::now();
        let clock = std::time::Instant::now();
        let outcome = self.sender.send(&mail).await;
        let duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = match &outcome.error {
            None => {
                tracing::debug!(mail = %mail.id, "mail sent");
                MailNext::Sent
            }
            Some(error) if outcome.permanent => {
                tracing::warn!(mail = %mail.id, %error, "mail given up");
                MailNext::Failed
            }
            Some(error) => {
                let first = mail.first_attempt_at.unwrap_or(started_at);
                let window_end = first + to_chrono(Duration::from_secs(self.retry.max_age_seconds));
                if started_at >= window_end {
                    tracing::warn!(mail = %mail.id, %error, "mail given up after the retry window");
                    MailNext::Failed
                } else {
                    tracing::info!(mail = %mail.id, %error, "mail attempt failed; retrying");
                    let wait = backoff(
                        mail.attempts + 1,
                        self.retry.backoff_base_ms,
                        self.retry.backoff_cap_ms,
                    );
                    MailNext::Retry {
                        at: (started_at + to_chrono(wait)).min(window_end),
                    }
                }
            }
        };
        let record = MailAttempt {
            id: mail.id,
            started_at,
            duration_ms,
            code: outcome.code,
            error: outcome.error,
            next,
        };
        if let Err(e) = self.store.record_mail_attempt(record).await {
            // The lease runs out and the mail is sent again with the same Message-ID.
            tracing::error!(error = %e, mail = %mail.id, "cannot record a mail attempt");
        }
    }
}
