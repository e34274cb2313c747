//! `/api/v1/conversations`: list and poll, read, reply, assign, close.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::ids::{AgentId, ConversationId, CustomerId};
use crate::domain::model::{ConversationFilter, ConversationStatus};
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path, Query, page_limit};
use crate::wire::{
    AssignRequest, ConversationDto, ConversationPage, ConversationWithMessages, MessageDto,
    PostMessage, PostedMessage,
};

const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 200;
const MAX_MESSAGES: u64 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `open` or `closed`.
    status: Option<ConversationStatus>,
    /// Only conversations assigned to this agent.
    assignee: Option<Uuid>,
    /// Only this customer's conversations.
    customer: Option<Uuid>,
    /// The `next_cursor` of the previous page: only conversations that changed since.
    cursor: Option<String>,
    /// Only conversations updated at or after this time (RFC 3339).
    updated_since: Option<DateTime<Utc>>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
}

/// `GET /api/v1/conversations`: conversations in the order they last changed.
///
/// Poll with `cursor`: each page holds the conversations that changed after the cursor, oldest change
/// first, and `next_cursor` continues from there. A conversation that changes again shows up again,
/// in its new place; nothing is skipped and nothing repeats between two changes.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations",
    params(ListParams),
    security(("bearer" = ["conversations:read"])),
    responses((status = 200, body = ConversationPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsRead>,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<ConversationPage>, ApiError> {
    let cursor =
        match params.cursor.as_deref() {
            None | Some("") => 0,
            Some(raw) => raw.parse::<i64>().ok().filter(|c| *c >= 0).ok_or_else(|| {
                ApiError::BadRequest("cursor: not a cursor this API gave out".into())
            })?,
        };
    let limit = page_limit(params.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let filter = ConversationFilter {
        status: params.status,
        assignee: params.assignee.map(AgentId),
        customer: params.customer.map(CustomerId),
        after_change: Some(cursor),
        updated_since: params.updated_since,
        limit,
    };
    let items = state.chat.conversations(&filter).await?;
    let next_cursor = items.last().map_or(cursor, |c| c.change_seq).to_string();
    Ok(axum::Json(ConversationPage {
        items: items.iter().map(ConversationDto::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessagesParams {
    /// Only messages with a greater `seq` (default 0: from the start).
    after_seq: Option<i64>,
    /// At most this many messages, 1 to 500 (default 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// `GET /api/v1/conversations/{id}`: one conversation with its messages.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = Uuid, Path, description = "conversation id"), MessagesParams),
    security(("bearer" = ["conversations:read"])),
    responses((status = 200, body = ConversationWithMessages), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsRead>,
    Path(id): Path<Uuid>,
    Query(params): Query<MessagesParams>,
) -> Result<axum::Json<ConversationWithMessages>, ApiError> {
    let limit = page_limit(params.limit, MAX_MESSAGES, MAX_MESSAGES)?;
    let conversation = state.chat.conversation(ConversationId(id)).await?;
    let messages = state
        .chat
        .messages_after(conversation.id, params.after_seq.unwrap_or(0), limit)
        .await?;
    Ok(axum::Json(ConversationWithMessages {
        conversation: ConversationDto::from(&conversation),
        messages: messages.iter().map(MessageDto::from).collect(),
    }))
}

/// `POST /api/v1/conversations/{id}/messages`: post a message as an agent.
///
/// 201 when stored; 200 with `duplicate: true` when `client_id` was already stored.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = Uuid, Path, description = "conversation id")),
    request_body = PostMessage,
    security(("bearer" = ["conversations:write"])),
    responses((status = 201, body = PostedMessage), (status = 200, body = PostedMessage),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn post_message(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsWrite>,
    Path(id): Path<Uuid>,
    Json(body): Json<PostMessage>,
) -> Result<(StatusCode, axum::Json<PostedMessage>), ApiError> {
    let agent = state
        .store
        .agent(AgentId(body.agent_id))
        .await?
        .ok_or(ApiError::Validation {
            field: "agent_id".into(),
            message: "no such agent".into(),
        })?;
    let outcome = state
        .chat
        .agent_message(&agent, ConversationId(id), body.client_id, &body.body)
        .await?;
    let status = if outcome.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        axum::Json(PostedMessage {
            message: MessageDto::from(&outcome.message),
            duplicate: outcome.duplicate,
        }),
    ))
}

/// `POST /api/v1/conversations/{id}/assign`: route a conversation to an agent (or back to the queue).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/assign", tag = "conversations",
    params(("id" = Uuid, Path, description = "conversation id")),
    request_body = AssignRequest,
    security(("bearer" = ["conversations:write"])),
    responses((status = 200, body = ConversationDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the agent is disabled"),
        (status = 422, body = ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsWrite>,
    Path(id): Path<Uuid>,
    Json(body): Json<AssignRequest>,
) -> Result<axum::Json<ConversationDto>, ApiError> {
    let updated = state
        .chat
        .assign(ConversationId(id), body.agent_id.map(AgentId))
        .await?;
    Ok(axum::Json(ConversationDto::from(&updated)))
}

/// `POST /api/v1/conversations/{id}/close`: close a conversation.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/close", tag = "conversations",
    params(("id" = Uuid, Path, description = "conversation id")),
    security(("bearer" = ["conversations:write"])),
    responses((status = 200, body = ConversationDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    _caller: Caller<need::ConversationsWrite>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ConversationDto>, ApiError> {
    let updated = state.chat.close(ConversationId(id)).await?;
    Ok(axum::Json(ConversationDto::from(&updated)))
}
