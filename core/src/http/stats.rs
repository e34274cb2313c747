//! `/api/v1/stats`: what this node holds for its open sockets, so an operator (and a test) can see
//! that it follows the sockets up and comes back down when they close.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::http::auth::{Caller, need};
use crate::http::error::ErrorBody;

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsDto {
    pub sockets: SocketsDto,
    pub registries: RegistriesDto,
}

/// Open WebSocket connections on this node.
#[derive(Debug, Serialize, ToSchema)]
pub struct SocketsDto {
    pub visitors: u64,
    pub agents: u64,
}

/// The per-visitor tables of this node: each holds an entry per connected visitor and none after
/// they left.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistriesDto {
    /// Page, browser and language of connected visitors (the console's details pane).
    pub live_visitors: u64,
    /// The facts visibility rules are decided on, per connected visitor.
    pub visibility_facts: u64,
    /// Realtime channels of single visitors (their own conversation's events).
    pub visitor_topics: u64,
    /// Co-browse sessions held by this node.
    pub cobrowse_sessions: u64,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// `GET /api/v1/stats`: open sockets and the per-visitor tables of the node that answers.
#[utoipa::path(get, path = "/api/v1/stats", tag = "server",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = StatsDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
) -> axum::Json<StatsDto> {
    axum::Json(StatsDto {
        sockets: SocketsDto {
            visitors: count(state.sockets.visitors()),
            agents: count(state.sockets.agents()),
        },
        registries: RegistriesDto {
            live_visitors: count(state.visitors.count()),
            visibility_facts: count(state.visibility.live_count()),
            visitor_topics: count(state.chat.bus().visitor_topics()),
            cobrowse_sessions: count(state.cobrowse.session_count()),
        },
    })
}
