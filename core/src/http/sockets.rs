//! `GET /ws/visitor?site=KEY` and `GET /ws/agent`: the HTTP side of the two WebSocket gateways. Who
//! may open a socket (a known site and one of its allowed origins; a live agent session, from the
//! console's own pages) is answered here in the API's error shape, before the upgrade, and the
//! socket gets lean transport settings; what then happens on it is `crate::ws`.

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::header::{ACCEPT_LANGUAGE, ORIGIN, USER_AGENT};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::session::{self, SessionAgent};
use crate::ws;
use crate::ws::visitor::ClientHints;

/// tungstenite allocates and zero-fills a socket's read buffer when it opens: 128 KiB by default,
/// most of what an idle visitor cost. 4 KiB holds a chat frame; a larger one (a co-browse snapshot)
/// grows that socket's buffer as it arrives.
const READ_BUFFER_BYTES: usize = 4 * 1024;

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
    session::refuse_foreign_page(
        &headers,
        &uri,
        &state.base_url,
        "an agent socket opens from the console's own pages only",
    )?;
    let max = state.config.server.max_frame_bytes;
    Ok(lean(upgrade, max * 4)
        .on_upgrade(move |socket| ws::agent::run(state, agent, socket))
        .into_response())
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(ORIGIN).and_then(|v| v.to_str().ok())
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
