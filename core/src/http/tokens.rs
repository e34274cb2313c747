//! `/api/v1/auth/token(s)`: API tokens, created by an admin.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::ids::TokenId;
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};
use crate::wire::{CreateToken, CreatedTokenDto, TokenDto};

/// `POST /api/v1/auth/token`: create an API token. The secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth",
    request_body = CreateToken,
    security(("bearer" = ["admin"])),
    responses((status = 201, body = CreatedTokenDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller<need::Admin>,
    Json(body): Json<CreateToken>,
) -> Result<(StatusCode, axum::Json<CreatedTokenDto>), ApiError> {
    let created = state
        .tokens
        .create(&body.name, body.scopes, body.expires_at)
        .await?;
    tracing::info!(token = %created.token.id, by = %caller.actor, "API token created");
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedTokenDto {
            info: TokenDto::from(&created.token),
            token: created.secret,
        }),
    ))
}

/// `GET /api/v1/auth/tokens`: every token, without secrets.
#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Vec<TokenDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
) -> Result<axum::Json<Vec<TokenDto>>, ApiError> {
    let tokens = state.tokens.list().await?;
    Ok(axum::Json(tokens.iter().map(TokenDto::from).collect()))
}

/// `DELETE /api/v1/auth/tokens/{id}`: revoke a token. It stops working at once.
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "token id")),
    security(("bearer" = ["admin"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.tokens.revoke(TokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
