//! The agent console's pages: arrival through a public agent chat URL, and the console itself
//! (static assets embedded in the binary, so running it needs no build step).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::app::AppState;
use crate::domain::DomainError;
use crate::http::error::ApiError;

pub const SESSION_COOKIE: &str = "natter_session";

const CONSOLE_HTML: &str = include_str!("../../assets/console/index.html");
const CONSOLE_JS: &str = include_str!("../../assets/console/console.js");
const CONSOLE_CSS: &str = include_str!("../../assets/console/console.css");

/// `GET /agent/link/{token}`: uses a public agent chat URL once, sets the session cookie and
/// redirects into the conversation. A bad link gets a page that says so, and no session.
pub async fn open_link(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    match state.links.open(&token).await {
        Ok(opened) => {
            let secure = if state.base_url.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
                opened.session, opened.max_age_seconds
            );
            let location = format!("/agent/#conversation={}", opened.conversation_id);
            let mut response = (StatusCode::SEE_OTHER, [("location", location)]).into_response();
            let headers = response.headers_mut();
            headers.insert(
                SET_COOKIE,
                HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
            );
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(DomainError::LinkInvalid) => Ok((
            StatusCode::GONE,
            [(CACHE_CONTROL, "no-store")],
            Html(LINK_INVALID_PAGE),
        )
            .into_response()),
        Err(other) => Err(other.into()),
    }
}

const LINK_INVALID_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link no longer valid · Natter</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2937}</style>
</head><body><h1>This chat link is no longer valid</h1>
<p>Agent chat links work once and expire after a short time. This one has been used already, has expired,
or was not copied completely.</p><p>Ask for a new link, or sign in to the agent console.</p></body></html>"#;

/// `GET /agent/`: the agent console.
pub async fn page() -> Response {
    static_asset(CONSOLE_HTML, "text/html; charset=utf-8")
}

/// `GET /agent/console.js`
pub async fn script() -> Response {
    static_asset(CONSOLE_JS, "text/javascript; charset=utf-8")
}

/// `GET /agent/console.css`
pub async fn styles() -> Response {
    static_asset(CONSOLE_CSS, "text/css; charset=utf-8")
}

fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response()
}
