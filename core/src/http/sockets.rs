//! `GET /ws/visitor?site=KEY` and `GET /ws/agent`: the HTTP side of the two WebSocket gateways. Who
//! may open a socket (a known site and one of its allowed origins; a live agent session, from the
//! console's own pages) is answered here in the API's error shape, before the upgrade, and the
//! socket gets lean transport settings; what then happens on it is `crate::ws`.

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::header::{ACCEPT_LANGUAGE, HOST, ORIGIN, USER_AGENT};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::session::SessionAgent;
use crate::ws;
use crate::ws::visitor::ClientHints;

/// tungstenite allocates and zero-fills a socket's read buffer when it opens: 128 KiB by default,
/// most of what an idle visitor cost. 4 KiB holds a chat frame; a larger one (a co-browse snapshot)
/// grows that socket's buffer as it arrives.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;

#[derive(Debug, Deserialize)]
pub struct VisitorQuery {
    site: String,
}

pub async fn visitor(
    State(state): State<AppState>,
    Query(query): Query<VisitorQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let site = state
        .store
        .site_by_key(&query.site)
        .await?
        .ok_or(ApiError::NotFound("site"))?;
    if !site.allows_origin(origin(&headers)) {
        return Err(ApiError::OriginNotAllowed);
    }
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let client = ClientHints {
        user_agent: header(USER_AGENT),
        accept_language: header(ACCEPT_LANGUAGE),
    };
    // A generous transport cap (a co-browse snapshot is the largest frame); the protocol's own limit is
    // checked per frame with a clean close.
    let max = (state.config.server.max_frame_bytes * 4).max(state.config.cobrowse.max_frame_bytes);
    Ok(lean(upgrade, max)
        .on_upgrade(move |socket| ws::visitor::run(state, site, client, socket))
        .into_response())
}

/// The agent console's socket, for the agent behind the session cookie (401 without one), opened
/// from the console's own pages (403 from any other page).
pub async fn agent(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    SessionAgent { agent }: SessionAgent,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if !from_this_server(&headers, &uri, &state.base_url) {
        return Err(ApiError::CrossSite(
            "an agent socket opens from the console's own pages only",
        ));
    }
    let max = state.config.server.max_frame_bytes;
    Ok(lean(upgrade, max * 4)
        .on_upgrade(move |socket| ws::agent::run(state, agent, socket))
        .into_response())
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(ORIGIN).and_then(|v| v.to_str().ok())
}

/// Whether the page that opens a socket with the agent's cookie is this server's. WebSockets have no
/// CORS, and SameSite=Lax cookies also go to sockets opened by pages of the same site on other
/// origins (a sibling subdomain, where the widget may well be embedded): such a page must not read
/// the agent's conversations. A browser always names its page's origin, which must be this server
/// as the browser reached it (the host it asked for, with its scheme) or as `public_url` names it.
/// A client that sends no `Origin` is not a browser, so it carries no one's cookie but its own.
fn from_this_server(headers: &HeaderMap, uri: &Uri, base_url: &str) -> bool {
    let Some(origin) = origin(headers) else {
        return headers.get(ORIGIN).is_none();
    };
    // `null` (a sandboxed frame, a file) is no origin at all.
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let asked_for =
        host.and_then(|host| url::Url::parse(&format!("{}://{host}", origin.scheme())).ok());
    let public = url::Url::parse(base_url).ok();
    [asked_for, public]
        .into_iter()
        .flatten()
        .any(|server| server.origin() == origin.origin())
}

/// The upgrade with lean buffers and `max_frame_bytes` as the transport's cap on a frame.
fn lean(upgrade: WebSocketUpgrade, max_frame_bytes: usize) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        // The gateways flush every frame they send, so nothing waits in a write buffer: frames go
        // out as they are written instead of being gathered into a 128 KiB one first.
        .write_buffer_size(0)
        .max_message_size(max_frame_bytes)
        .max_frame_size(max_frame_bytes)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn opened_from(origin: Option<&str>, host: &str, public_url: &str) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(
                ORIGIN,
                HeaderValue::from_str(origin).expect("a header value"),
            );
        }
        headers.insert(HOST, HeaderValue::from_str(host).expect("a header value"));
        from_this_server(&headers, &Uri::from_static("/ws/agent"), public_url)
    }

    #[test]
    fn an_agent_socket_opens_from_the_server_as_the_browser_reached_it_or_as_configured() {
        let local = "http://127.0.0.1:8080";
        assert!(opened_from(Some(local), "127.0.0.1:8080", local));
        // Reached by another name than the configured one, as a browser on the machine may.
        assert!(opened_from(
            Some("http://localhost:8080"),
            "localhost:8080",
            local
        ));
        // Behind a proxy that ends TLS and passes the host on; and one that rewrites the host.
        let public = "https://chat.example.com";
        assert!(opened_from(Some(public), "chat.example.com", ""));
        assert!(opened_from(Some(public), "natter:8080", public));
        // A client that is not a browser names no origin.
        assert!(opened_from(None, "127.0.0.1:8080", local));
    }

    #[test]
    fn an_agent_socket_from_any_other_page_is_refused() {
        let public = "https://chat.example.com";
        // A sibling subdomain: same site, so the cookie would go along.
        assert!(!opened_from(
            Some("https://shop.example.com"),
            "chat.example.com",
            public
        ));
        assert!(!opened_from(
            Some("https://chat.example.com:8443"),
            "chat.example.com",
            public
        ));
        assert!(!opened_from(
            Some("http://chat.example.com"),
            "natter:8080",
            public
        ));
        assert!(!opened_from(Some("null"), "chat.example.com", public));
        assert!(!opened_from(Some("not an origin"), "chat.example.com", ""));
    }
}
