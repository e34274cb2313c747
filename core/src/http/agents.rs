//! `/api/v1/agents`: the people answering chats, and their public agent chat URLs.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::DomainError;
use crate::domain::agent_links::LinkTarget;
use crate::domain::agents::{self, AgentRequest};
use crate::domain::ids::{AgentId, ConversationId, CustomerId};
use crate::domain::model::AgentRole;
use crate::domain::scope::Scope;
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};
use crate::wire::{AgentDto, ChatLinkDto, CreateAgent, CreateChatLink, SetPassword, SetRole};

/// `GET /api/v1/agents`: every agent with their live status.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents",
    security(("bearer" = ["agents:read"])),
    responses((status = 200, body = Vec<AgentDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::AgentsRead>,
) -> Result<axum::Json<Vec<AgentDto>>, ApiError> {
    let agents = state.store.list_agents().await?;
    Ok(axum::Json(
        agents
            .iter()
            .map(|a| AgentDto::new(a, state.chat.agent_status(a.id)))
            .collect(),
    ))
}

/// `GET /api/v1/agents/{id}`: one agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents",
    params(("id" = Uuid, Path, description = "agent id")),
    security(("bearer" = ["agents:read"])),
    responses((status = 200, body = AgentDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    _caller: Caller<need::AgentsRead>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<AgentDto>, ApiError> {
    let agent = state
        .store
        .agent(AgentId(id))
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    Ok(axum::Json(AgentDto::new(
        &agent,
        state.chat.agent_status(agent.id),
    )))
}

/// `POST /api/v1/agents`: create an agent. `"role": "admin"` needs the `admin` scope.
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents",
    request_body = CreateAgent,
    security(("bearer" = ["agents:write"])),
    responses((status = 201, body = AgentDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller<need::AgentsWrite>,
    Json(body): Json<CreateAgent>,
) -> Result<(StatusCode, axum::Json<AgentDto>), ApiError> {
    let role = body.role.unwrap_or(AgentRole::Agent);
    // `agents:write` makes agents; only an admin makes admins.
    if role == AgentRole::Admin && !caller.actor.holds(Scope::Admin) {
        return Err(ApiError::Forbidden(Scope::Admin));
    }
    let agent = agents::create(
        &state.store,
        AgentRequest {
            email: &body.email,
            name: &body.name,
            external_id: body.external_id.as_deref(),
            role,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AgentDto::new(&agent, state.chat.agent_status(agent.id))),
    ))
}

/// `PUT /api/v1/agents/{id}/role`: makes an agent an admin, or a plain agent again.
///
/// Admins may use the console's admin pages (and, with their session, every route of this API).
/// The last enabled admin cannot be made a plain agent (409).
#[utoipa::path(put, path = "/api/v1/agents/{id}/role", tag = "agents",
    params(("id" = Uuid, Path, description = "agent id")),
    request_body = SetRole,
    security(("bearer" = ["admin"])),
    responses((status = 200, body = AgentDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the last admin cannot lose the role"),
        (status = 422, body = ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
    Path(id): Path<Uuid>,
    Json(body): Json<SetRole>,
) -> Result<axum::Json<AgentDto>, ApiError> {
    let agent = agents::set_role(&state.store, AgentId(id), body.role).await?;
    tracing::info!(agent = %agent.id, role = agent.role.as_str(), "agent role changed");
    Ok(axum::Json(AgentDto::new(
        &agent,
        state.chat.agent_status(agent.id),
    )))
}

/// `PUT /api/v1/agents/{id}/password`: sets the password the agent signs in to the console with.
///
/// At least 10 characters. Replaces any earlier one; sessions already open stay open. The password
/// is stored as an argon2id hash and never returned or logged.
#[utoipa::path(put, path = "/api/v1/agents/{id}/password", tag = "agents",
    params(("id" = Uuid, Path, description = "agent id")),
    request_body = SetPassword,
    security(("bearer" = ["agents:write"])),
    responses((status = 204, description = "password set"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_password(
    State(state): State<AppState>,
    _caller: Caller<need::AgentsWrite>,
    Path(id): Path<Uuid>,
    Json(body): Json<SetPassword>,
) -> Result<StatusCode, ApiError> {
    state
        .logins
        .set_password(AgentId(id), &body.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/agents/{id}/chat-links`: a public agent chat URL.
///
/// Give `customerId` (lands in that customer's open, else latest, conversation) or `conversationId`.
/// The URL works once, until `expires_at`; opening it logs the agent in and shows the conversation.
#[utoipa::path(post, path = "/api/v1/agents/{id}/chat-links", tag = "agents",
    params(("id" = Uuid, Path, description = "agent id")),
    request_body = CreateChatLink,
    security(("bearer" = ["agent-links:create"])),
    responses((status = 201, body = ChatLinkDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the agent is disabled"),
        (status = 422, body = ErrorBody)))]
pub async fn create_chat_link(
    State(state): State<AppState>,
    _caller: Caller<need::AgentLinksCreate>,
    Path(id): Path<Uuid>,
    Json(body): Json<CreateChatLink>,
) -> Result<(StatusCode, axum::Json<ChatLinkDto>), ApiError> {
    let target = match (body.customer_id, body.conversation_id) {
        (Some(customer), None) => LinkTarget::Customer(CustomerId(customer)),
        (None, Some(conversation)) => LinkTarget::Conversation(ConversationId(conversation)),
        _ => {
            return Err(DomainError::invalid(
                "customerId",
                "give exactly one of customerId and conversationId",
            )
            .into());
        }
    };
    let issued = state
        .links
        .issue(AgentId(id), target, body.expires_in)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ChatLinkDto {
            url: format!("{}/agent/link/{}", state.base_url, issued.token),
            conversation_id: issued.conversation_id.0,
            expires_at: issued.expires_at,
        }),
    ))
}
