//! Webhook endpoints and their deliveries as admins manage them: which URL gets which events, the
//! signing secret, where a URL may point, the delivery log and manual redelivery. The worker that
//! sends lives in `delivery`; events enter the outbox in `store` with the change that caused them.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::DomainError;
use crate::domain::clock::Clock;
use crate::domain::ids::{ConversationId, DeliveryId, EventId, WebhookId};
use crate::domain::webhook_events::EventType;
use crate::store::{NewWebhook, Store, WebhookChange};

/// Standard Webhooks secrets read `whsec_` + base64 of the key.
pub const SECRET_PREFIX: &str = "whsec_";
/// Longest endpoint URL accepted.
const MAX_URL_LEN: usize = 2000;
/// Most deliveries one log request returns.
pub const MAX_DELIVERY_PAGE: u64 = 200;

/// The key endpoints' payloads are signed with. The server must know it to sign, so it is stored as
/// is; it is shown once (on creation or rotation) and never logged: `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// 32 random bytes, the size of the HMAC-SHA256 key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
    }

    /// A secret read back from storage.
    pub fn from_stored(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself: to store it, sign with it, or show it the one time it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the bytes behind the `whsec_` prefix.
    pub fn key(&self) -> Vec<u8> {
        let encoded = self.0.strip_prefix(SECRET_PREFIX).unwrap_or(&self.0);
        STANDARD
            .decode(encoded)
            .unwrap_or_else(|_| encoded.as_bytes().to_vec())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(redacted)")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub url: String,
    /// The event types it gets.
    pub events: Vec<EventType>,
    pub enabled: bool,
    /// Why the server disabled it (set only when it did; cleared when it is enabled again).
    pub disabled_reason: Option<String>,
    pub secret: WebhookSecret,
    /// Deliveries given up in a row since the last success.
    pub consecutive_failures: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    pub fn wants(&self, event: EventType) -> bool {
        self.events.contains(&event)
    }
}

/// Where one event stands on its way to one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not tried yet.
    Pending,
    /// Tried and failed; another attempt is scheduled.
    Retrying,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up: every attempt failed for `delivery.max_age_seconds`. Redeliver by hand.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Retrying, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|state| state.as_str() == s)
    }

    /// Still on its way: the worker will attempt it.
    pub fn is_open(self) -> bool {
        matches!(self, DeliveryState::Pending | DeliveryState::Retrying)
    }
}

/// One event for one endpoint, with its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub endpoint_id: WebhookId,
    pub event_id: EventId,
    /// A platform event type (`message.created`), or the type an integration plugin chose for a delivery it
    /// queued (`crm.transcript`).
    pub event_type: String,
    pub conversation_id: Option<ConversationId>,
    pub state: DeliveryState,
    pub attempt_count: u32,
    /// When the worker tries next (only meaningful while the delivery is open).
    pub next_attempt_at: DateTime<Utc>,
    pub first_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The envelope, exactly the bytes every attempt sends.
    pub payload: String,
}

/// One POST to a receiver and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// 1 for the first attempt of a delivery, 2 for the second…
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong (never containing the secret or the URL).
    pub error: Option<String>,
    /// The start of the receiver's answer, capped.
    pub response_body: Option<String>,
}

/// What an admin may change on an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub enabled: Option<bool>,
}

#[derive(Clone)]
pub struct Webhooks {
    store: Store,
    clock: Arc<dyn Clock>,
    allow_private_targets: bool,
}

impl Webhooks {
    pub fn new(store: Store, clock: Arc<dyn Clock>, allow_private_targets: bool) -> Self {
        Self {
            store,
            clock,
            allow_private_targets,
        }
    }

    /// Adds an endpoint with a fresh secret (the only time the caller sees it).
    pub async fn create(
        &self,
        url: &str,
        events: Vec<EventType>,
        enabled: bool,
    ) -> Result<WebhookEndpoint, DomainError> {
        let url = check_target(url, self.allow_private_targets)?;
        let events = check_events(events)?;
        let new = NewWebhook {
            url,
            events,
            enabled,
            secret: WebhookSecret::generate(),
        };
        let endpoint = self.store.insert_webhook(new, self.clock.now()).await?;
        tracing::info!(webhook = %endpoint.id, "webhook endpoint created");
        Ok(endpoint)
    }

    pub async fn list(&self) -> Result<Vec<WebhookEndpoint>, DomainError> {
        Ok(self.store.webhooks().await?)
    }

    pub async fn get(&self, id: WebhookId) -> Result<WebhookEndpoint, DomainError> {
        self.store
            .webhook(id)
            .await?
            .ok_or(DomainError::NotFound("webhook"))
    }

    /// Changes an endpoint. Enabling a disabled one clears its reason and resumes what is pending.
    pub async fn update(
        &self,
        id: WebhookId,
        input: EndpointInput,
    ) -> Result<WebhookEndpoint, DomainError> {
        let change = WebhookChange {
            url: input
                .url
                .map(|url| check_target(&url, self.allow_private_targets))
                .transpose()?,
            events: input.events.map(check_events).transpose()?,
            enabled: input.enabled,
            secret: None,
        };
        self.store
            .update_webhook(id, change, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("webhook"))
    }

    /// Replaces the secret at once: the next attempt is signed with the new one.
    pub async fn rotate_secret(&self, id: WebhookId) -> Result<WebhookEndpoint, DomainError> {
        let change = WebhookChange {
            secret: Some(WebhookSecret::generate()),
            ..WebhookChange::default()
        };
        let endpoint = self
            .store
            .update_webhook(id, change, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("webhook"))?;
        tracing::info!(webhook = %id, "webhook secret rotated");
        Ok(endpoint)
    }

    /// Removes an endpoint with its deliveries and their log.
    pub async fn delete(&self, id: WebhookId) -> Result<(), DomainError> {
        if self.store.delete_webhook(id).await? {
            Ok(())
        } else {
            Err(DomainError::NotFound("webhook"))
        }
    }

    /// The endpoint's deliveries, newest event first, each with its attempts.
    pub async fn deliveries(
        &self,
        id: WebhookId,
        state: Option<DeliveryState>,
        limit: u64,
    ) -> Result<Vec<(Delivery, Vec<Attempt>)>, DomainError> {
        self.get(id).await?;
        Ok(self
            .store
            .deliveries(id, state, limit.clamp(1, MAX_DELIVERY_PAGE))
            .await?)
    }

    /// Sends a delivery again, whatever its state, with the same `webhook-id` (receivers that drop
    /// duplicates drop it too) and a fresh retry window.
    pub async fn redeliver(
        &self,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<(Delivery, Vec<Attempt>), DomainError> {
        let endpoint = self.get(id).await?;
        if !endpoint.enabled {
            return Err(DomainError::Conflict(
                "the webhook is disabled; enable it first".into(),
            ));
        }
        self.store
            .redeliver(id, delivery, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("delivery"))
    }
}

fn check_events(mut events: Vec<EventType>) -> Result<Vec<EventType>, DomainError> {
    if events.is_empty() {
        return Err(DomainError::invalid(
            "events",
            "name at least one event type",
        ));
    }
    let mut seen = Vec::with_capacity(events.len());
    events.retain(|e| {
        let new = !seen.contains(e);
        seen.push(*e);
        new
    });
    Ok(events)
}

/// Checks an endpoint URL: http or https, no credentials, and (unless allowed) no address inside
/// the server's network. Names are checked again when they resolve, on every attempt.
pub fn check_target(raw: &str, allow_private: bool) -> Result<String, DomainError> {
    let invalid = |message: &str| DomainError::invalid("url", message);
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(invalid("is longer than 2000 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| invalid("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "must not carry credentials; check the signature instead",
        ));
    }
    let allowed = match url.host() {
        None => return Err(invalid("has no host")),
        Some(url::Host::Ipv4(ip)) => allow_private || is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => allow_private || is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            allow_private || (name != "localhost" && !name.ends_with(".localhost"))
        }
    };
    if !allowed {
        return Err(invalid(
            "points at a loopback or private address (allowed only with delivery.allow_private_targets)",
        ));
    }
    Ok(url.to_string())
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared,
/// unspecified, multicast, broadcast, documentation or unique-local, IPv4-mapped ones included.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let shared = a == 100 && (64..128).contains(&b);
            let this_network = a == 0;
            let reserved = a >= 240;
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || shared
                || this_network
                || reserved)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_prefixed_decodes_to_a_key_and_never_debugs() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with(SECRET_PREFIX));
        assert_eq!(secret.key().len(), 32);
        let shown = format!("{secret:?}");
        assert!(!shown.contains(&secret.expose()[SECRET_PREFIX.len()..]));
    }

    #[test]
    fn targets_must_be_public_http_without_credentials() {
        let field = |raw: &str| match check_target(raw, false) {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{raw} accepted: {other:?}"),
        };
        assert!(check_target("https://hooks.example.com/natter?x=1", false).is_ok());
        assert!(check_target("http://93.184.215.14:8080/", false).is_ok());
        for refused in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://token@example.com/",
            "http://127.0.0.1:9000/",
            "http://localhost/",
            "http://api.localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "not a url",
        ] {
            assert_eq!(field(refused), "url", "{refused}");
        }
        assert!(check_target("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_target("https://user:pw@127.0.0.1/", true).is_err());
    }

    #[test]
    fn events_must_be_named_and_are_deduplicated() {
        assert!(check_events(Vec::new()).is_err());
        let events = check_events(vec![
            EventType::MessageCreated,
            EventType::ConversationStarted,
            EventType::MessageCreated,
        ]);
        assert_eq!(
            events.ok(),
            Some(vec![
                EventType::MessageCreated,
                EventType::ConversationStarted
            ])
        );
    }
}
