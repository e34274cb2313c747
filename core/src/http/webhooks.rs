//! `/api/v1/webhooks`: endpoints that receive events (Settings → API → WebHooks), their
//! signing secret (shown once), the per-attempt delivery log and manual redelivery.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::ids::{DeliveryId, WebhookId};
use crate::domain::webhook_events::EventType;
use crate::domain::webhooks::{
    Attempt, Delivery, DeliveryState, EndpointInput, MAX_DELIVERY_PAGE, WebhookEndpoint,
};
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path, Query, page_limit};

const DEFAULT_DELIVERY_PAGE: u64 = 50;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<EventType>,
    pub enabled: bool,
    /// Why the server disabled this endpoint (e.g. it kept failing); `null` otherwise.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&WebhookEndpoint> for WebhookDto {
    fn from(e: &WebhookEndpoint) -> Self {
        Self {
            id: e.id.0,
            url: e.url.clone(),
            events: e.events.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookDto {
    #[serde(flatten)]
    pub info: WebhookDto,
    /// The signing secret (`whsec_…`). Shown in this answer only.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretDto {
    /// The new signing secret (`whsec_…`). Shown in this answer only; the old one stops at once.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST events: http or https, no credentials in it.
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// The event types to send, e.g. `["conversation.started", "message.created"]`.
    #[schema(min_items = 1)]
    pub events: Vec<EventType>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 2000)]
    pub url: Option<String>,
    #[serde(default)]
    #[schema(min_items = 1)]
    pub events: Option<Vec<EventType>>,
    /// `true` on a disabled endpoint clears its reason and resumes its pending deliveries.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptDto {
    /// 1 for the first attempt of the delivery, 2 for the second…
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// The receiver's HTTP status, `null` when it did not answer.
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// The first kilobyte of the receiver's answer.
    pub response_body: Option<String>,
}

impl From<&Attempt> for AttemptDto {
    fn from(a: &Attempt) -> Self {
        Self {
            number: a.number,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            status_code: a.status,
            error: a.error.clone(),
            response_body: a.response_body.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: Uuid,
    /// The event's id: the `webhook-id` header of every attempt.
    pub event_id: Uuid,
    /// A platform event type (`message.created`), or the type an integration plugin chose for a delivery
    /// it queued (`crm.transcript`).
    pub event_type: String,
    pub conversation_id: Option<Uuid>,
    pub state: DeliveryState,
    pub attempt_count: u32,
    /// When the next attempt is due; `null` once delivered or given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The envelope as sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptDto>,
}

impl DeliveryDto {
    fn new(d: &Delivery, attempts: &[Attempt]) -> Self {
        Self {
            id: d.id.0,
            event_id: d.event_id.0,
            event_type: d.event_type.clone(),
            conversation_id: d.conversation_id.map(|c| c.0),
            state: d.state,
            attempt_count: d.attempt_count,
            next_attempt_at: d.state.is_open().then_some(d.next_attempt_at),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at,
            created_at: d.created_at,
            payload: serde_json::from_str(&d.payload)
                .unwrap_or_else(|_| serde_json::Value::String(d.payload.clone())),
            attempts: attempts.iter().map(AttemptDto::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesParams {
    /// Only deliveries in this state: `pending`, `retrying`, `delivered` or `dead`.
    state: Option<DeliveryState>,
    /// At most this many, newest event first, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
}

/// `GET /api/v1/webhooks`: every endpoint, without secrets.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    security(("bearer" = ["webhooks:read"])),
    responses((status = 200, body = Vec<WebhookDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::WebhooksRead>,
) -> Result<axum::Json<Vec<WebhookDto>>, ApiError> {
    let endpoints = state.webhooks.list().await?;
    Ok(axum::Json(endpoints.iter().map(WebhookDto::from).collect()))
}

/// `POST /api/v1/webhooks`: add an endpoint. The signing secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    security(("bearer" = ["webhooks:write"])),
    responses((status = 201, body = CreatedWebhookDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    _caller: Caller<need::WebhooksWrite>,
    Json(body): Json<CreateWebhook>,
) -> Result<(StatusCode, axum::Json<CreatedWebhookDto>), ApiError> {
    let endpoint = state
        .webhooks
        .create(&body.url, body.events, body.enabled)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWebhookDto {
            info: WebhookDto::from(&endpoint),
            secret: endpoint.secret.expose().to_string(),
        }),
    ))
}

/// `GET /api/v1/webhooks/{id}`: one endpoint, without its secret.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "webhook id")),
    security(("bearer" = ["webhooks:read"])),
    responses((status = 200, body = WebhookDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    _caller: Caller<need::WebhooksRead>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<WebhookDto>, ApiError> {
    let endpoint = state.webhooks.get(WebhookId(id)).await?;
    Ok(axum::Json(WebhookDto::from(&endpoint)))
}

/// `PATCH /api/v1/webhooks/{id}`: change the URL, the events or whether it is enabled.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "webhook id")),
    request_body = UpdateWebhook,
    security(("bearer" = ["webhooks:write"])),
    responses((status = 200, body = WebhookDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    _caller: Caller<need::WebhooksWrite>,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateWebhook>,
) -> Result<axum::Json<WebhookDto>, ApiError> {
    let input = EndpointInput {
        url: body.url,
        events: body.events,
        enabled: body.enabled,
    };
    let endpoint = state.webhooks.update(WebhookId(id), input).await?;
    Ok(axum::Json(WebhookDto::from(&endpoint)))
}

/// `DELETE /api/v1/webhooks/{id}`: remove an endpoint with its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "webhook id")),
    security(("bearer" = ["webhooks:write"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    _caller: Caller<need::WebhooksWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.webhooks.delete(WebhookId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/webhooks/{id}/rotate-secret`: a new signing secret, shown in this answer only.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = Uuid, Path, description = "webhook id")),
    security(("bearer" = ["webhooks:write"])),
    responses((status = 200, body = SecretDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    _caller: Caller<need::WebhooksWrite>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<SecretDto>, ApiError> {
    let endpoint = state.webhooks.rotate_secret(WebhookId(id)).await?;
    Ok(axum::Json(SecretDto {
        secret: endpoint.secret.expose().to_string(),
    }))
}

/// `GET /api/v1/webhooks/{id}/deliveries`: the delivery log, newest event first, every attempt
/// with its status, error, duration and the start of the answer.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path, description = "webhook id"), DeliveriesParams),
    security(("bearer" = ["webhooks:read"])),
    responses((status = 200, body = Vec<DeliveryDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    _caller: Caller<need::WebhooksRead>,
    Path(id): Path<Uuid>,
    Query(params): Query<DeliveriesParams>,
) -> Result<axum::Json<Vec<DeliveryDto>>, ApiError> {
    let limit = page_limit(params.limit, DEFAULT_DELIVERY_PAGE, MAX_DELIVERY_PAGE)?;
    let found = state
        .webhooks
        .deliveries(WebhookId(id), params.state, limit)
        .await?;
    Ok(axum::Json(
        found
            .iter()
            .map(|(delivery, attempts)| DeliveryDto::new(delivery, attempts))
            .collect(),
    ))
}

/// `POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`: send a delivery again now,
/// whatever its state, with the same `webhook-id` and a fresh retry window.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "webhook id"),
        ("delivery_id" = Uuid, Path, description = "delivery id")),
    security(("bearer" = ["webhooks:write"])),
    responses((status = 202, body = DeliveryDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn redeliver(
    State(state): State<AppState>,
    _caller: Caller<need::WebhooksWrite>,
    Path((id, delivery_id)): Path<(Uuid, Uuid)>,
) -> Result<(StatusCode, axum::Json<DeliveryDto>), ApiError> {
    let (queued, attempts) = state
        .webhooks
        .redeliver(WebhookId(id), DeliveryId(delivery_id))
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(DeliveryDto::new(&queued, &attempts)),
    ))
}
