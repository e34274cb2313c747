//! Mail over REST: the delivery list, transcripts on request, the admin's test mail, and the widget's
//! offline form and transcript request (public: the widget calls them with the site key and its
//! visitor id).
//!
//! Without `[mail]` every route here answers 503 `mail_disabled`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::ORIGIN};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::ids::{ConversationId, VisitorId};
use crate::domain::mail::{AttemptOutcome, MailAttemptEntry, MailDelivery, MailKind, MailState};
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path, Query, page_limit};
use crate::mail::{OfflineForm, TranscriptRequest};

#[derive(Debug, Serialize, ToSchema)]
pub struct MailDeliveryDto {
    pub id: Uuid,
    pub kind: MailKind,
    pub conversation_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub to: String,
    pub subject: String,
    /// The `Message-ID` left part, the same on every attempt.
    pub message_id: String,
    pub state: MailState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The SMTP reply code of the last attempt, if the server answered.
    pub last_code: Option<u16>,
    /// Why the last attempt failed (kept when the mail is given up).
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<MailDelivery> for MailDeliveryDto {
    fn from(m: MailDelivery) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            conversation_id: m.conversation_id.map(|c| c.0),
            agent_id: m.agent_id.map(|a| a.0),
            to: m.to,
            subject: m.subject,
            message_id: m.message_id,
            state: m.state,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_attempt_at: m.last_attempt_at,
            last_code: m.last_code,
            last_error: m.last_error,
            sent_at: m.sent_at,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailDeliveryPage {
    pub items: Vec<MailDeliveryDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesParams {
    /// `pending`, `retrying`, `sent` or `failed`.
    state: Option<MailState>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// `GET /api/v1/mail/deliveries`: every mail, newest first, with its state and attempts.
#[utoipa::path(get, path = "/api/v1/mail/deliveries", tag = "mail",
    params(DeliveriesParams),
    security(("bearer" = ["conversations:read"])),
    responses((status = 200, body = MailDeliveryPage), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsRead>,
    Query(params): Query<DeliveriesParams>,
) -> Result<axum::Json<MailDeliveryPage>, ApiError> {
    let limit = page_limit(params.limit, 100, 500)?;
    let items = state.mail.deliveries(params.state, limit).await?;
    Ok(axum::Json(MailDeliveryPage {
        items: items.into_iter().map(MailDeliveryDto::from).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailAttemptDto {
    /// 1 for the first attempt.
    pub number: u32,
    pub started_at: DateTime<Utc>,
    /// How long the SMTP session took, connection included.
    pub duration_ms: u64,
    /// The SMTP reply code, if the server answered (250 when it accepted the mail).
    pub code: Option<u16>,
    /// Why the attempt failed: no connection, TLS, the server's answer.
    pub error: Option<String>,
    /// What the attempt did to the mail: `sent`, `retry` or `failed` (given up).
    pub outcome: AttemptOutcome,
}

impl From<MailAttemptEntry> for MailAttemptDto {
    fn from(a: MailAttemptEntry) -> Self {
        Self {
            number: a.number,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            code: a.code,
            error: a.error,
            outcome: a.outcome,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailAttemptPage {
    pub items: Vec<MailAttemptDto>,
}

/// `GET /api/v1/mail/deliveries/{id}/attempts`: every attempt to send one mail, oldest first, with
/// the SMTP code and error of each.
#[utoipa::path(get, path = "/api/v1/mail/deliveries/{id}/attempts", tag = "mail",
    params(("id" = Uuid, Path, description = "mail id")),
    security(("bearer" = ["conversations:read"])),
    responses((status = 200, body = MailAttemptPage), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn attempts(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsRead>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<MailAttemptPage>, ApiError> {
    let items = state.mail.attempts(id).await?;
    Ok(axum::Json(MailAttemptPage {
        items: items.into_iter().map(MailAttemptDto::from).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedMail {
    /// The mail's id in `GET /api/v1/mail/deliveries`.
    pub mail_id: Uuid,
}

/// `POST /api/v1/conversations/{id}/transcript`: mail the transcript to the address the visitor
/// gave in the conversation (409 if they gave none).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/transcript", tag = "mail",
    params(("id" = Uuid, Path, description = "conversation id")),
    security(("bearer" = ["conversations:write"])),
    responses((status = 202, body = QueuedMail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn transcript(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsWrite>,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<QueuedMail>), ApiError> {
    let mail_id = state.mail.send_transcript(ConversationId(id)).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(QueuedMail { mail_id })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestMailRequest {
    /// One plain address such as `admin@example.com`.
    #[schema(min_length = 1, max_length = 254)]
    pub to: String,
}

/// `POST /api/v1/mail/test`: queue a test mail to `to` through the outbox, as every mail is sent:
/// it shows in `GET /api/v1/mail/deliveries` with its attempts. A bad address is 422 naming `to`.
#[utoipa::path(post, path = "/api/v1/mail/test", tag = "mail",
    request_body = TestMailRequest,
    security(("bearer" = ["admin"])),
    responses((status = 202, body = QueuedMail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn test(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
    Json(body): Json<TestMailRequest>,
) -> Result<(StatusCode, axum::Json<QueuedMail>), ApiError> {
    let mail_id = state.mail.send_test(&body.to).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(QueuedMail { mail_id })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineRequest {
    /// The site key of the widget snippet.
    pub site: String,
    pub visitor_id: Uuid,
    pub name: String,
    pub email: String,
    pub message: String,
    /// The page the form was sent from.
    #[serde(default)]
    pub page_url: String,
    /// The visitor's language (`en`, `de-AT`), which picks the mail texts.
    #[serde(default)]
    pub language: String,
    /// The widget's own id for the message; a resent form with the same id is stored once.
    pub client_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfflineAccepted {
    pub conversation_id: Uuid,
}

/// `POST /api/v1/widget/offline-messages`: the widget's offline form. Stores the message as a
/// conversation and mails it to the site's inbox with `Reply-To` set to the visitor. Rate-limited
/// per visitor and per site (429).
#[utoipa::path(post, path = "/api/v1/widget/offline-messages", tag = "mail",
    request_body = OfflineRequest,
    security(()),
    responses((status = 202, body = OfflineAccepted), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn offline_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<OfflineRequest>,
) -> Result<(StatusCode, axum::Json<OfflineAccepted>), ApiError> {
    check_origin(&state, &headers, &body.site).await?;
    let form = OfflineForm {
        visitor_id: VisitorId(body.visitor_id),
        name: body.name,
        email: body.email,
        message: body.message,
        page_url: body.page_url,
        language: body.language,
        client_id: body.client_id,
    };
    let conversation = state.mail.offline_message(&body.site, form).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(OfflineAccepted {
            conversation_id: conversation.0,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorTranscriptRequest {
    pub site: String,
    pub visitor_id: Uuid,
    pub conversation_id: Uuid,
    /// Where to send it, when the conversation has no address yet: it becomes the conversation's
    /// address. Once there is one, another is refused (422 naming `email`).
    #[serde(default)]
    pub email: Option<String>,
    /// The language of the mail's texts (`en`, `de-AT`); the conversation's otherwise.
    #[serde(default)]
    pub language: Option<String>,
}

/// `POST /api/v1/widget/transcripts`: a visitor asks for the transcript of their own conversation.
/// It goes only to the address given in it (409 when there is none and no `email`); another
/// visitor's conversation is 404. Rate-limited per conversation, per visitor and per site (429).
#[utoipa::path(post, path = "/api/v1/widget/transcripts", tag = "mail",
    request_body = VisitorTranscriptRequest,
    security(()),
    responses((status = 202, body = QueuedMail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn visitor_transcript(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<VisitorTranscriptRequest>,
) -> Result<(StatusCode, axum::Json<QueuedMail>), ApiError> {
    check_origin(&state, &headers, &body.site).await?;
    let request = TranscriptRequest {
        visitor_id: VisitorId(body.visitor_id),
        conversation_id: ConversationId(body.conversation_id),
        email: body.email,
        language: body.language,
    };
    let mail_id = state.mail.visitor_transcript(&body.site, request).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(QueuedMail { mail_id })))
}

/// The widget posts from the site's pages, another origin than this server's: any origin may ask,
/// without cookies; which origins a site allows is checked per request (`check_origin`).
pub fn widget_cors() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::POST])
        .allow_headers([axum::http::header::CONTENT_TYPE])
}

/// A browser on a page the site does not allow may not use the form (the visitor socket's rule).
async fn check_origin(
    state: &AppState,
    headers: &HeaderMap,
    site_key: &str,
) -> Result<(), ApiError> {
    let Some(site) = state.store.site_by_key(site_key).await? else {
        return Ok(());
    };
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    if site.allows_origin(origin) {
        Ok(())
    } else {
        Err(ApiError::OriginNotAllowed)
    }
}
