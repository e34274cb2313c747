//! A webhook receiver for the end-to-end tests: a real HTTP server on `127.0.0.1:0` that checks the
//! Standard Webhooks signature of every request, answers with the statuses a test scripts, and
//! records everything that arrived.
//!
//! The signature check is written here from the specification, not borrowed from the server, so
//! a test fails if the server signs anything else than what a receiver verifies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::task::JoinHandle;

use crate::{Api, wait_until};

/// How far `webhook-timestamp` may be from the receiver's clock (the specification's default).
const TOLERANCE_SECONDS: i64 = 300;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `webhook-id` header.
    pub id: String,
    pub timestamp: i64,
    /// The `webhook-signature` header.
    pub signature: String,
    /// The signature matched the secret and the timestamp was fresh.
    pub verified: bool,
    /// The raw body, to compare retries byte for byte.
    pub raw: String,
    pub body: Value,
    /// What the receiver answered (a late answer may have come after the sender gave up).
    pub answered: u16,
}

impl Received {
    pub fn event_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }

    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.answered)
    }
}

#[derive(Default)]
struct Shared {
    secret: Mutex<Option<String>>,
    script: Mutex<VecDeque<(u16, Duration)>>,
    fallback: Mutex<Option<u16>>,
    received: Mutex<Vec<Received>>,
}

/// A running receiver. Dropping it stops it.
pub struct Receiver {
    /// Where to point a webhook endpoint.
    pub url: String,
    shared: Arc<Shared>,
    handle: JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("bound");
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/hook"),
            shared,
            handle,
        }
    }

    /// Creates a webhook endpoint for this receiver (`POST /api/v1/webhooks`) and keeps its secret to
    /// check signatures; answers the endpoint as created.
    pub async fn subscribe(&self, api: &Api, events: &[&str]) -> Value {
        let created = api
            .post(
                "/api/v1/webhooks",
                serde_json::json!({"url": self.url, "events": events}),
            )
            .await
            .expect("the endpoint is created");
        self.set_secret(created["secret"].as_str().unwrap_or_default());
        created
    }

    /// Waits until the endpoint's delivery log lists a delivered event, and answers the log of delivered
    /// ones. The receiver sees a request before the server has recorded its answer, so a test that read
    /// the log as soon as a request arrived could find it still pending.
    pub async fn delivered_log(&self, api: &Api, endpoint: &str, wait: Duration) -> Value {
        let path = format!("/api/v1/webhooks/{endpoint}/deliveries?state=delivered");
        wait_until("the log shows the delivery", wait, || {
            let (api, path) = (api.clone(), path.clone());
            async move { !api.get(&path).await.unwrap().as_array().unwrap().is_empty() }
        })
        .await;
        api.get(&path).await.unwrap()
    }

    /// The endpoint's secret, as shown once when it was created.
    pub fn set_secret(&self, secret: &str) {
        *lock(&self.shared.secret) = Some(secret.to_string());
    }

    /// Answers the next requests with these statuses, in order, then as before.
    pub fn answer_next(&self, statuses: &[u16]) {
        lock(&self.shared.script).extend(statuses.iter().map(|s| (*s, Duration::ZERO)));
    }

    /// Answers the next request with `status`, but only after `delay` (to outlast a timeout).
    pub fn answer_late(&self, status: u16, delay: Duration) {
        lock(&self.shared.script).push_back((status, delay));
    }

    /// Answers every request (after any scripted ones) with `status`; `None` goes back to 200.
    pub fn answer_always(&self, status: Option<u16>) {
        *lock(&self.shared.fallback) = status;
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// The requests answered 2xx, each `webhook-id` once (its first acceptance), in arrival order.
    pub fn delivered(&self) -> Vec<Received> {
        let mut seen = std::collections::HashSet::new();
        self.received()
            .into_iter()
            .filter(|r| r.accepted() && seen.insert(r.id.clone()))
            .collect()
    }

    /// Waits until `check` holds for the delivered events; fails with `what` otherwise.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        wait_until(what, timeout, || {
            let ok = check(&self.delivered());
            async move { ok }
        })
        .await;
        self.delivered()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let id = header("webhook-id");
    let timestamp = header("webhook-timestamp").parse::<i64>().unwrap_or(0);
    let raw = String::from_utf8_lossy(&body).into_owned();
    let signature = header("webhook-signature");
    let secret = lock(&shared.secret).clone();
    let verified = secret.is_some_and(|secret| verify(&secret, &id, timestamp, &raw, &signature));
    let scripted = lock(&shared.script).pop_front();
    let (answered, delay) = scripted
        .or_else(|| lock(&shared.fallback).map(|s| (s, Duration::ZERO)))
        .unwrap_or((200, Duration::ZERO));
    lock(&shared.received).push(Received {
        id,
        timestamp,
        signature,
        verified,
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
        answered,
    });
    tokio::time::sleep(delay).await;
    StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Standard Webhooks verification: one of the space-separated `v1,<base64>` signatures must be
/// HMAC-SHA256 of `{id}.{timestamp}.{body}` under the base64-decoded secret, and the timestamp fresh.
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &str, signatures: &str) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
    else {
        return false;
    };
    if (chrono::Utc::now().timestamp() - timestamp).abs() > TOLERANCE_SECONDS {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}
