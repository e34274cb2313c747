//! The widget: `/api/v1/widget/config` (what admins edit) and `/widget.js` (what sites embed).

use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::domain::widget::{EffectiveConfig, WidgetError};
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Query};

/// Browsers and proxies may reuse `widget.js` this long without asking; after that a conditional request
/// (`If-None-Match`) costs a 304. Short, so a configuration change shows within a minute.
const WIDGET_CACHE_CONTROL: &str = "public, max-age=60";

#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetConfigDto {
    /// The widget plugin the configuration belongs to (`plugins.widget`).
    pub plugin: String,
    /// 0 while nothing was stored; one more per change. `widget.js` changes with it.
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
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<EffectiveConfig> for WidgetConfigDto {
    fn from(c: EffectiveConfig) -> Self {
        Self {
            plugin: c.plugin,
            version: c.version,
            config: c.config,
            stored: c.stored,
            schema: c.schema,
            updated_at: c.updated_at,
        }
    }
}

/// `GET /api/v1/widget/config`: the widget configuration in force, with its schema.
#[utoipa::path(get, path = "/api/v1/widget/config", tag = "widget",
    security(("bearer" = ["widget:read"])),
    responses((status = 200, body = WidgetConfigDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_config(
    State(state): State<AppState>,
    _caller: Caller<need::WidgetRead>,
) -> Result<axum::Json<WidgetConfigDto>, ApiError> {
    Ok(axum::Json(state.widgets.config().await?.into()))
}

/// `PUT /api/v1/widget/config`: replace the widget configuration. The widget plugin validates it; a bad
/// value is 422 naming the field. Fields left out take their defaults.
#[utoipa::path(put, path = "/api/v1/widget/config", tag = "widget",
    request_body(content = Object, description = "the configuration document, e.g. {\"color\": \"#0f766e\"}"),
    security(("bearer" = ["widget:write"])),
    responses((status = 200, body = WidgetConfigDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn put_config(
    State(state): State<AppState>,
    caller: Caller<need::WidgetWrite>,
    Json(body): Json<serde_json::Value>,
) -> Result<axum::Json<WidgetConfigDto>, ApiError> {
    let config = state.widgets.put_config(body).await?;
    tracing::info!(by = %caller.token.id, version = config.version, "widget configuration stored");
    Ok(axum::Json(config.into()))
}

#[derive(Debug, Deserialize)]
pub struct ScriptQuery {
    site: String,
}

/// `GET /widget.js?site=KEY`: the widget loader a site embeds. Public. Rendered by the widget plugin once
/// per site, plugin build and configuration version; `If-None-Match` with the current tag answers 304.
pub async fn script(
    State(state): State<AppState>,
    query: Result<Query<ScriptQuery>, ApiError>,
    headers: HeaderMap,
) -> Response {
    let Ok(Query(query)) = query else {
        return javascript_error(
            StatusCode::BAD_REQUEST,
            "add ?site=SITE_KEY to the script URL",
        );
    };
    let etag = match state.widgets.etag(&query.site).await {
        Ok(etag) => etag,
        Err(e) => return script_error(e),
    };
    let not_modified = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, cache_headers(&etag)).into_response();
    }
    match state.widgets.script(&query.site).await {
        Ok(rendered) => (
            StatusCode::OK,
            cache_headers(&rendered.etag),
            [(CONTENT_TYPE, "application/javascript; charset=utf-8")],
            rendered.script.to_string(),
        )
            .into_response(),
        Err(e) => script_error(e),
    }
}

fn cache_headers(etag: &str) -> [(axum::http::HeaderName, HeaderValue); 3] {
    [
        (
            ETAG,
            HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"0\"")),
        ),
        (
            CACHE_CONTROL,
            HeaderValue::from_static(WIDGET_CACHE_CONTROL),
        ),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ]
}

/// Errors of `widget.js` are scripts too: a comment the site owner finds in the browser's network tab,
/// never anything that runs. Details stay in the server log (the host logged plugin failures already).
fn script_error(error: WidgetError) -> Response {
    match error {
        WidgetError::UnknownSite => javascript_error(StatusCode::NOT_FOUND, "unknown site key"),
        WidgetError::Plugin(_) | WidgetError::Invalid(_) => javascript_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the widget is unavailable right now",
        ),
        WidgetError::Store(e) => {
            tracing::error!(error = %e, "widget.js: storage failed");
            javascript_error(StatusCode::INTERNAL_SERVER_ERROR, "server error")
        }
    }
}

fn javascript_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "application/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        format!("/* natter: {message} */\n"),
    )
        .into_response()
}
