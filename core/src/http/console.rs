//! The agent console's pages: arrival through a public agent chat URL, the sign-in page, and the
//! console itself (static assets embedded in the binary, so running it needs no build step).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderName, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::app::AppState;
use crate::domain::DomainError;
use crate::http::error::ApiError;
use crate::http::extract::Path;
use crate::http::session;

const CONSOLE_HTML: &str = include_str!("../../assets/console/index.html");
const CONSOLE_JS: &str = include_str!("../../assets/console/console.js");
const CONSOLE_CSS: &str = include_str!("../../assets/console/console.css");
const LOGIN_HTML: &str = include_str!("../../assets/console/login.html");
const LOGIN_JS: &str = include_str!("../../assets/console/login.js");
const COBROWSE_JS: &str = include_str!("../../assets/console/cobrowse.js");
const REPLAY_HTML: &str = include_str!("../../assets/console/replay.html");

/// The sign-in page's empty error line, replaced by a message when a form sign-in fails.
const LOGIN_ERROR_SLOT: &str =
    r#"<p id="login-error" class="form-error" role="alert" data-testid="login-error" hidden></p>"#;

/// The console's pages load only their own scripts and styles and talk only to their own server:
/// even a message that slipped past `textContent` could not load or run anything.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The co-browse replay's own document, framed by the console. The visitor's page keeps its inline
/// `<style>` elements and `style` attributes, which the console's policy would drop, so this document
/// (and the replay frame inside it, which inherits its policy) allows inline styles, and only that:
/// scripts still come only from this server (the viewer), and nothing replayed runs.
const REPLAY_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; \
     frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

/// `GET /agent/link/{token}`: uses a public agent chat URL once, sets the session cookie and
/// redirects into the conversation, which the agent takes if it is still in the queue. A bad link
/// gets a page that says so, and no session.
pub async fn open_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    match state.links.open(&token).await {
        Ok(opened) => {
            // The agent is in: failing to take the conversation must not cost them the session.
            if let Err(e) = state
                .chat
                .agent_arrived(opened.conversation_id, opened.agent_id)
                .await
            {
                tracing::warn!(conversation = %opened.conversation_id, error = %e,
                    "agent chat link: conversation not assigned");
            }
            let cookie = session::set_cookie(&state, &opened.session, opened.max_age_seconds)?;
            let location = format!("/agent/#conversation={}", opened.conversation_id);
            Ok((
                StatusCode::SEE_OTHER,
                [(LOCATION, location)],
                [(SET_COOKIE, cookie)],
                [(CACHE_CONTROL, "no-store")],
            )
                .into_response())
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
or was not copied completely.</p><p>Ask for a new link, or <a href="/agent/login">sign in to the agent console</a>.</p></body></html>"#;

/// `GET /agent`: the console lives at `/agent/`.
pub async fn redirect_home() -> Response {
    (StatusCode::PERMANENT_REDIRECT, [(LOCATION, "/agent/")]).into_response()
}

/// `GET /agent/`: the agent console.
pub async fn page() -> Response {
    page_response(StatusCode::OK, CONSOLE_HTML.into())
}

/// `GET /agent/replay`: the document the console's co-browse panel frames the replay in.
pub async fn replay_page() -> Response {
    with_policy(
        StatusCode::OK,
        REPLAY_HTML.into(),
        REPLAY_CONTENT_SECURITY_POLICY,
    )
}

/// `GET /agent/login`: the sign-in page.
pub async fn login_page() -> Response {
    page_response(StatusCode::OK, LOGIN_HTML.into())
}

/// The sign-in page again, saying why the last attempt failed (a fixed text, never the input).
pub fn login_failed(status: StatusCode, message: &'static str) -> Response {
    page_response(status, login_page_with_error(message))
}

fn login_page_with_error(message: &'static str) -> String {
    LOGIN_HTML.replace(
        LOGIN_ERROR_SLOT,
        &format!(
            r#"<p id="login-error" class="form-error" role="alert" data-testid="login-error">{message}</p>"#
        ),
    )
}

/// `GET /agent/console.js`
pub async fn script() -> Response {
    static_asset(CONSOLE_JS, "text/javascript; charset=utf-8")
}

/// `GET /agent/cobrowse.js`: the console's co-browse panel (the replay itself is the plugin's
/// `/cobrowse/viewer.js`).
pub async fn cobrowse_script() -> Response {
    static_asset(COBROWSE_JS, "text/javascript; charset=utf-8")
}

/// `GET /agent/login.js`
pub async fn login_script() -> Response {
    static_asset(LOGIN_JS, "text/javascript; charset=utf-8")
}

/// `GET /agent/console.css`
pub async fn styles() -> Response {
    static_asset(CONSOLE_CSS, "text/css; charset=utf-8")
}

/// A console page, under the console's content security policy.
pub(crate) fn page_response(status: StatusCode, html: String) -> Response {
    with_policy(status, html, CONTENT_SECURITY_POLICY)
}

fn with_policy(status: StatusCode, html: String, policy: &'static str) -> Response {
    (
        status,
        [
            (CACHE_CONTROL, "no-cache"),
            (HeaderName::from_static("content-security-policy"), policy),
            (HeaderName::from_static("referrer-policy"), "same-origin"),
            (HeaderName::from_static("x-content-type-options"), "nosniff"),
        ],
        Html(html),
    )
        .into_response()
}

fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "no-cache"),
            (HeaderName::from_static("x-content-type-options"), "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_page_has_the_error_slot() {
        assert!(LOGIN_HTML.contains(LOGIN_ERROR_SLOT));
        let page = login_page_with_error("Nope.");
        assert!(page.contains(">Nope.</p>"));
        assert!(!page.contains(LOGIN_ERROR_SLOT));
    }
}
