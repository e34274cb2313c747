//! `/agent/api/*`: what the console reads over HTTP with its session cookie (no API token): who is
//! signed in, and the colleagues a conversation can be assigned to. Everything live goes through
//! `/ws/agent`.

use axum::extract::State;

use crate::app::AppState;
use crate::http::dto::AgentDto;
use crate::http::error::ApiError;
use crate::http::session::SessionAgent;

/// `GET /agent/api/me`: the signed-in agent; `401` sends the console to the sign-in page.
pub async fn me(
    State(state): State<AppState>,
    SessionAgent { agent }: SessionAgent,
) -> axum::Json<AgentDto> {
    axum::Json(AgentDto::new(&agent, state.chat.agent_status(agent.id)))
}

/// `GET /agent/api/agents`: the enabled agents with their live status, for "assign to…".
pub async fn agents(
    State(state): State<AppState>,
    _signed_in: SessionAgent,
) -> Result<axum::Json<Vec<AgentDto>>, ApiError> {
    let agents = state.store.list_agents().await?;
    Ok(axum::Json(
        agents
            .iter()
            .filter(|a| a.enabled)
            .map(|a| AgentDto::new(a, state.chat.agent_status(a.id)))
            .collect(),
    ))
}
