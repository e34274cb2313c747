//! The widget preview of the admin console: a sample page (`/agent/admin/preview`) that loads the widget
//! as the WebChat plugin renders a draft configuration (`/api/v1/widget/preview`), nothing stored.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::AppState;
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::Query;

/// The sample page's own policy. The widget puts its stylesheet into a `<style>` element of its shadow
/// root, which the console's policy (`style-src 'self'`) would drop, so this document allows inline
/// styles, and only that: scripts still come only from this server, and it talks to nothing else.
const PREVIEW_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The draft configuration document, as JSON (e.g. `{"color":"#0f766e"}`); empty for the defaults.
    #[serde(default)]
    config: String,
    /// The language to show, of the draft's `language` or `translations` (read by the widget from its
    /// own URL, as on a site's `widget.js?site=KEY&lang=de`); absent: the browser's.
    #[serde(default)]
    lang: Option<String>,
}

/// `GET /api/v1/widget/preview?config=JSON`: `widget.js` as the widget plugin renders a draft
/// configuration, without storing it. The draft is validated as `PUT /api/v1/widget/config` would
/// (422 naming each bad field). The script has no site: it shows the widget and never connects.
#[utoipa::path(get, path = "/api/v1/widget/preview", tag = "widget",
    params(PreviewQuery),
    security(("bearer" = ["widget:read"])),
    responses((status = 200, content_type = "application/javascript", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn script(
    State(state): State<AppState>,
    _caller: Caller<need::WidgetRead>,
    query: Result<Query<PreviewQuery>, ApiError>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let draft = draft(&query.config)?;
    let script = state.widgets.preview(draft).await?;
    Ok((
        StatusCode::OK,
        [
            (CONTENT_TYPE, "application/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        script.to_string(),
    )
        .into_response())
}

/// The draft as a JSON object: the only shape a configuration document has.
fn draft(text: &str) -> Result<serde_json::Value, ApiError> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err(ApiError::Validation {
            field: "config".into(),
            message: "must be a JSON object".into(),
        }),
        Err(e) => Err(ApiError::Validation {
            field: "config".into(),
            message: format!("not JSON: {e}"),
        }),
    }
}

/// `GET /agent/admin/preview?config=JSON`: a sample page of a website with the widget of the draft
/// `config`, framed by the console's widget page. The page has no data of its own; the script it loads
/// needs the admin's session.
pub async fn page(query: Result<Query<PreviewQuery>, ApiError>) -> Response {
    let (config, lang) = query.map(|Query(q)| (q.config, q.lang)).unwrap_or_default();
    // Percent-encoded, the draft is letters, digits and `%` only: nothing in it can leave the attribute.
    let mut src = format!(
        "/api/v1/widget/preview?config={}",
        utf8_percent_encode(&config, NON_ALPHANUMERIC)
    );
    if let Some(lang) = lang.filter(|l| !l.is_empty()) {
        src.push_str("&amp;lang=");
        src.push_str(&utf8_percent_encode(&lang, NON_ALPHANUMERIC).to_string());
    }
    (
        [
            (CONTENT_SECURITY_POLICY, PREVIEW_CONTENT_SECURITY_POLICY),
            (CACHE_CONTROL, "no-store"),
        ],
        Html(PREVIEW_PAGE.replace("{src}", &src)),
    )
        .into_response()
}

const PREVIEW_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Widget preview · Natter</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/agent/admin/preview.css">
<script src="/agent/admin/preview.js"></script>
</head><body>
<header class="sample-header"><span class="sample-logo"></span><span class="sample-nav"></span></header>
<main class="sample-page">
<h1>Your website</h1>
<p class="sample-line"></p><p class="sample-line"></p><p class="sample-line short"></p>
<p class="sample-note">A preview: the widget as visitors will see it, not connected.</p>
</main>
<script src="{src}" async></script>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use crate::http::widget_preview::draft;

    #[test]
    fn a_draft_is_an_object() {
        assert!(draft("").is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty())));
        assert!(draft(r##"{"color":"#000000"}"##).is_ok());
        assert!(draft("[1]").is_err());
        assert!(draft("{").is_err());
    }
}
