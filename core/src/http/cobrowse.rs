//! Co-browsing over HTTP: the plugin's configuration (`/api/v1/cobrowse/config`), a conversation's
//! co-browse audit trail (`/api/v1/conversations/{id}/cobrowse`, and the console's
//! `/agent/api/conversations/{id}/cobrowse`), and the browser scripts (`/cobrowse/recorder.js`,
//! `/cobrowse/viewer.js`). Sessions themselves live on the WebSockets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::cobrowse::{AuditAction, AuditEntry, SessionView};
use crate::domain::ids::ConversationId;
use crate::domain::model::AuthorKind;
use crate::domain::widget::EffectiveConfig;
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};
use crate::http::session::SessionAgent;
use crate::plugins::CobrowseAsset;

#[derive(Debug, Serialize, ToSchema)]
pub struct CobrowseConfigDto {
    /// The co-browse plugin (`cobrowse.plugin`).
    pub plugin: String,
    /// 0 while nothing was stored; one more per change.
    pub version: i64,
    /// The configuration in force: the stored document over the schema's defaults.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// The document as stored (what `PUT` set), without defaults.
    #[schema(value_type = Object)]
    pub stored: serde_json::Value,
    /// The plugin's JSON Schema for the document.
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
}

impl CobrowseConfigDto {
    fn new(plugin: String, effective: EffectiveConfig) -> Self {
        Self {
            plugin,
            version: effective.version,
            config: effective.config,
            stored: effective.stored,
            schema: effective.schema,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    pub action: AuditAction,
    /// Who did it: `agent`, `visitor`, or `system` (chat closed, time limit, the visitor's page went).
    pub actor_kind: AuthorKind,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub actor_id: Option<Uuid>,
    /// For `ended`: why (`ended_by_agent`, `ended_by_visitor`, `chat_closed`, `time_limit`, `visitor_left`).
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            session_id: e.session_id.0,
            action: e.action,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            detail: e.detail,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CobrowseTrailDto {
    /// The live session (requested or active), if any.
    pub session: Option<SessionView>,
    /// Everything that happened, oldest first.
    pub audit: Vec<AuditEntryDto>,
}

/// `GET /api/v1/cobrowse/config`: the co-browse configuration in force.
#[utoipa::path(get, path = "/api/v1/cobrowse/config", tag = "cobrowse",
    security(("bearer" = ["widget:read"])),
    responses((status = 200, body = CobrowseConfigDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_config(
    State(state): State<AppState>,
    _caller: Caller<need::WidgetRead>,
) -> Result<axum::Json<CobrowseConfigDto>, ApiError> {
    let effective = state.cobrowse.effective().await?;
    Ok(axum::Json(CobrowseConfigDto::new(
        state.config.cobrowse.plugin.clone(),
        effective,
    )))
}

/// `PUT /api/v1/cobrowse/config`: replace the co-browse configuration (consent text, masking selectors,
/// remote control, time limit). The plugin validates it; a bad value is 422 naming the field.
#[utoipa::path(put, path = "/api/v1/cobrowse/config", tag = "cobrowse",
    request_body(content = Object, description = "e.g. {\"mask_selectors\": [\".account-number\"]}"),
    security(("bearer" = ["widget:write"])),
    responses((status = 200, body = CobrowseConfigDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn put_config(
    State(state): State<AppState>,
    caller: Caller<need::WidgetWrite>,
    // A document is a JSON object; anything else is 422 before the plugin sees it.
    Json(body): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<axum::Json<CobrowseConfigDto>, ApiError> {
    let effective = state
        .cobrowse
        .put_config(serde_json::Value::Object(body))
        .await?;
    tracing::info!(by = %caller.actor, version = effective.version, "co-browse configuration stored");
    Ok(axum::Json(CobrowseConfigDto::new(
        state.config.cobrowse.plugin.clone(),
        effective,
    )))
}

/// `GET /api/v1/conversations/{id}/cobrowse`: the conversation's co-browse audit trail and live session.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/cobrowse", tag = "cobrowse",
    params(("id" = Uuid, Path, description = "conversation id")),
    security(("bearer" = ["conversations:read"])),
    responses((status = 200, body = CobrowseTrailDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn trail(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsRead>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<CobrowseTrailDto>, ApiError> {
    trail_of(&state, ConversationId(id)).await
}

/// `GET /agent/api/conversations/{id}/cobrowse`: the same, for the console.
pub async fn console_trail(
    State(state): State<AppState>,
    _signed_in: SessionAgent,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<CobrowseTrailDto>, ApiError> {
    trail_of(&state, ConversationId(id)).await
}

async fn trail_of(
    state: &AppState,
    id: ConversationId,
) -> Result<axum::Json<CobrowseTrailDto>, ApiError> {
    let audit = state.cobrowse.audit_trail(id).await?;
    Ok(axum::Json(CobrowseTrailDto {
        session: state.cobrowse.view(id),
        audit: audit.into_iter().map(AuditEntryDto::from).collect(),
    }))
}

/// `GET /cobrowse/recorder.js`: the visitor-side recorder. Public; the widget loads it only once the
/// visitor agreed to a session.
pub async fn recorder(State(state): State<AppState>) -> Response {
    script(&state, CobrowseAsset::Recorder).await
}

/// `GET /cobrowse/viewer.js`: the agent-side viewer the console's replay frame (`/agent/replay`) loads.
pub async fn viewer(State(state): State<AppState>) -> Response {
    script(&state, CobrowseAsset::Viewer).await
}

async fn script(state: &AppState, which: CobrowseAsset) -> Response {
    match state.cobrowse.asset(which).await {
        Ok(script) => (
            StatusCode::OK,
            [
                (CONTENT_TYPE, "application/javascript; charset=utf-8"),
                (CACHE_CONTROL, "public, max-age=60"),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            script.to_string(),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "co-browse script unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (CONTENT_TYPE, "application/javascript; charset=utf-8"),
                    (CACHE_CONTROL, "no-store"),
                    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                "/* natter: co-browsing is unavailable right now */\n",
            )
                .into_response()
        }
    }
}
