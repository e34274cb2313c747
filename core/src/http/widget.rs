//! The widget: `/api/v1/widget/config` (what admins edit) and `/widget.js` (what sites embed).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::widget::{WidgetError, WidgetScript};
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Query};
use crate::http::precompressed::accepts_brotli;
use crate::wire::PluginConfigDto;

/// Browsers and proxies may reuse `widget.js` this long without asking; after that a conditional request
/// (`If-None-Match`) costs a 304. Short, so a configuration change shows within a minute.
const WIDGET_CACHE_CONTROL: &str = "public, max-age=60";

/// `GET /api/v1/widget/config`: the widget configuration in force, with its schema.
#[utoipa::path(get, path = "/api/v1/widget/config", tag = "widget",
    security(("bearer" = ["widget:read"])),
    responses((status = 200, body = PluginConfigDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_config(
    State(state): State<AppState>,
    _caller: Caller<need::WidgetRead>,
) -> Result<axum::Json<PluginConfigDto>, ApiError> {
    Ok(axum::Json(state.widgets.config().await?.into()))
}

/// `PUT /api/v1/widget/config`: replace the widget configuration. The widget plugin validates it; a bad
/// value is 422 naming the field. Fields left out take their defaults.
#[utoipa::path(put, path = "/api/v1/widget/config", tag = "widget",
    request_body(content = Object, description = "the configuration document, e.g. {\"color\": \"#0f766e\"}"),
    security(("bearer" = ["widget:write"])),
    responses((status = 200, body = PluginConfigDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn put_config(
    State(state): State<AppState>,
    caller: Caller<need::WidgetWrite>,
    // A document is a JSON object; anything else is 422 before the plugin sees it.
    Json(body): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<axum::Json<PluginConfigDto>, ApiError> {
    let config = state
        .widgets
        .put_config(serde_json::Value::Object(body))
        .await?;
    tracing::info!(by = %caller.actor, version = config.version, "widget configuration stored");
    Ok(axum::Json(config.into()))
}

#[derive(Debug, Deserialize)]
pub struct ScriptQuery {
    site: String,
    /// The configuration version a `widget_config` frame named (the widget adds it when it reloads
    /// itself). Text, so a mangled value is ignored rather than refused.
    v: Option<String>,
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
    if let Some(version) = query.v.as_deref().and_then(|v| v.parse().ok()) {
        // The frame can reach a widget before this node heard of the change from the node that made it.
        state.widgets.expect_version(version);
    }
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
    match state.widgets.script_tagged(&query.site, etag).await {
        Ok(rendered) if accepts_brotli(&headers) => {
            match state.precompressed.brotli(&query.site, &rendered).await {
                Ok(bytes) => (
                    StatusCode::OK,
                    cache_headers(&rendered.etag),
                    [
                        (CONTENT_TYPE, "application/javascript; charset=utf-8"),
                        (CONTENT_ENCODING, "br"),
                        (VARY, "accept-encoding"),
                    ],
                    Bytes::from_owner(bytes),
                )
                    .into_response(),
                Err(e) => {
                    // The script itself is fine: the compression layer serves it as gzip.
                    tracing::warn!(error = %e, "compressing widget.js with brotli failed");
                    plain_script(&rendered)
                }
            }
        }
        Ok(rendered) => plain_script(&rendered),
        Err(e) => script_error(e),
    }
}

fn plain_script(rendered: &WidgetScript) -> Response {
    (
        StatusCode::OK,
        cache_headers(&rendered.etag),
        [(CONTENT_TYPE, "application/javascript; charset=utf-8")],
        rendered.script.to_string(),
    )
        .into_response()
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
