//! `/agent/api/*`: what the console reads over HTTP with its session cookie (no API token): who is
//! signed in, the colleagues a conversation can be assigned to, who a customer is and where a visitor
//! is now. Everything live goes through `/ws/agent`.

use axum::extract::State;

use crate::app::AppState;
use crate::domain::ids::{CustomerId, VisitorId};
use crate::http::error::ApiError;
use crate::http::extract::Path;
use crate::http::session::SessionAgent;
use crate::wire::{AgentDto, CustomerDto, VisitorContextDto};

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

/// `GET /agent/api/customers/{id}`: a conversation's customer (name, email, labels) for the details pane.
pub async fn customer(
    State(state): State<AppState>,
    _signed_in: SessionAgent,
    Path(id): Path<uuid::Uuid>,
) -> Result<axum::Json<CustomerDto>, ApiError> {
    let customer = state
        .store
        .customer(CustomerId(id))
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    Ok(axum::Json(customer.into()))
}

/// `GET /agent/api/visitors/{id}`: the visitor's current page, browser and language while they are
/// connected (`online: false` otherwise), for the details pane; the `visitor` frame keeps it current.
pub async fn visitor(
    State(state): State<AppState>,
    _signed_in: SessionAgent,
    Path(id): Path<uuid::Uuid>,
) -> axum::Json<VisitorContextDto> {
    let visitor = VisitorId(id);
    axum::Json(VisitorContextDto::new(
        visitor,
        state.visitors.get(visitor).as_ref(),
    ))
}
