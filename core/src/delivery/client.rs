//! The HTTP side of an attempt: one POST, no redirects, a timeout, and a resolver that refuses
//! names pointing inside the server's network (checked on every connection, so a name that
//! changes its address after the endpoint was saved gains nothing).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, USER_AGENT};

use crate::delivery::signing::{self, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::domain::webhooks::{check_target, is_public};
use crate::store::ClaimedDelivery;

/// The most of a receiver's answer kept in the attempt log.
const RESPONSE_SNIPPET_BYTES: usize = 1024;

/// How the receiver answered, or why it could not.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: Option<u16>,
    /// What went wrong; `None` for a 2xx answer.
    pub error: Option<String>,
    pub body: Option<String>,
}

impl Answer {
    fn failed(error: String) -> Self {
        Self {
            status: None,
            error: Some(error),
            body: None,
        }
    }
}

pub struct Sender {
    client: reqwest::Client,
    allow_private_targets: bool,
    timeout: Duration,
}

impl Sender {
    pub fn new(timeout: Duration, allow_private_targets: bool) -> reqwest::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none());
        if !allow_private_targets {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build()?,
            allow_private_targets,
            timeout,
        })
    }

    /// POSTs the delivery's payload, signed for `now`.
    pub async fn post(&self, delivery: &ClaimedDelivery, now: DateTime<Utc>) -> Answer {
        // The URL was checked when it was saved; checking again covers a configuration that has
        // since stopped allowing private targets.
        if let Err(e) = check_target(&delivery.url, self.allow_private_targets) {
            return Answer::failed(format!("target refused: {e}"));
        }
        let id = delivery.event_id.to_string();
        let timestamp = now.timestamp();
        let signature = signing::sign(&delivery.secret, &id, timestamp, &delivery.payload);
        let sent = self
            .client
            .post(&delivery.url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("Natter-Webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header(ID_HEADER, &id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => return Answer::failed(self.describe(e)),
        };
        let status = response.status();
        let body = snippet(&mut response).await;
        let error = if status.is_success() {
            None
        } else if status.is_redirection() {
            Some(format!("HTTP {status} (redirects are not followed)"))
        } else {
            Some(format!("HTTP {status}"))
        };
        Answer {
            status: Some(status.as_u16()),
            error,
            body,
        }
    }

    /// An error as the log shows it: the causes, without the URL (its query may hold a token).
    fn describe(&self, error: reqwest::Error) -> String {
        if error.is_timeout() {
            return format!("timed out after {} s", self.timeout.as_secs_f32());
        }
        let error = error.without_url();
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        text
    }
}

/// The start of the answer body, as text, for the log.
async fn snippet(response: &mut reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < RESPONSE_SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(RESPONSE_SNIPPET_BYTES);
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// Resolves names to public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if found.is_empty() {
                let refused: BoxError =
                    "the host resolves to no public address (private targets are not allowed)"
                        .into();
                return Err(refused);
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
