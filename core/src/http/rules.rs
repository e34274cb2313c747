//! `/api/v1/rules`: Action Rules as data — list, create, change, reorder, enable, delete, test.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::ids::RuleId;
use crate::domain::model::Rule;
use crate::domain::visibility::RuleInput;
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleDto {
    pub id: Uuid,
    pub name: String,
    pub script: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Rules run in ascending position.
    pub position: i32,
    pub enabled: bool,
    /// The built-in rule this one was made from.
    pub builtin: Option<String>,
    /// Grows by one on every change.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Rule> for RuleDto {
    fn from(r: &Rule) -> Self {
        Self {
            id: r.id.0,
            name: r.name.clone(),
            script: r.script.clone(),
            params: r.params.clone(),
            position: r.position,
            enabled: r.enabled,
            builtin: r.builtin.clone(),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A rule to create or the new content of one. Give `script`, or `builtin` to use a built-in's
/// script (its parameters are checked and default to the built-in's).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    pub script: Option<String>,
    /// A built-in rule's key, e.g. `seconds_on_page` (see `GET /api/v1/rules/builtins`).
    #[serde(default)]
    pub builtin: Option<String>,
    /// A JSON object; checked against the built-in's parameters.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
    /// Default: after the last rule (create) or unchanged (update).
    #[serde(default)]
    pub position: Option<i32>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl From<RuleBody> for RuleInput {
    fn from(b: RuleBody) -> Self {
        RuleInput {
            name: b.name,
            script: b.script,
            builtin: b.builtin,
            params: b.params,
            position: b.position,
            enabled: b.enabled,
        }
    }
}

/// Evaluate the stored rules, or a draft script, against a context written by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesTestBody {
    /// The situation: `now`, `timezone`, `agents`, `visitor`, `override` (see rules/README.md).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: natter_rules::Context,
    /// A draft script to evaluate alone instead of the stored rules.
    #[serde(default)]
    pub script: Option<String>,
    /// The draft script's parameters (a JSON object; anything else is 422, with or without a script).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `GET /api/v1/rules`: every rule in the order they run.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules",
    security(("bearer" = ["rules:read"])),
    responses((status = 200, body = Vec<RuleDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::RulesRead>,
) -> Result<axum::Json<Vec<RuleDto>>, ApiError> {
    let rules = state.visibility.rules().await?;
    Ok(axum::Json(rules.iter().map(RuleDto::from).collect()))
}

/// `GET /api/v1/rules/builtins`: the built-in rules with their parameters and defaults.
#[utoipa::path(get, path = "/api/v1/rules/builtins", tag = "rules",
    security(("bearer" = ["rules:read"])),
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn builtins(
    _caller: Caller<need::RulesRead>,
) -> axum::Json<Vec<natter_rules::BuiltinRule>> {
    axum::Json(natter_rules::builtin_rules())
}

/// `GET /api/v1/rules/{id}`
#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = Uuid, Path, description = "rule id")),
    security(("bearer" = ["rules:read"])),
    responses((status = 200, body = RuleDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    _caller: Caller<need::RulesRead>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<RuleDto>, ApiError> {
    let rule = state.visibility.rule(RuleId(id)).await?;
    Ok(axum::Json(RuleDto::from(&rule)))
}

/// `POST /api/v1/rules`: add a rule. A script that does not compile is refused with line and column.
#[utoipa::path(post, path = "/api/v1/rules", tag = "rules",
    request_body = RuleBody,
    security(("bearer" = ["rules:write"])),
    responses((status = 201, body = RuleDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    _caller: Caller<need::RulesWrite>,
    Json(body): Json<RuleBody>,
) -> Result<(StatusCode, axum::Json<RuleDto>), ApiError> {
    let rule = state.visibility.create_rule(body.into()).await?;
    tracing::info!(rule = %rule.name, id = %rule.id, "rule created");
    Ok((StatusCode::CREATED, axum::Json(RuleDto::from(&rule))))
}

/// `PUT /api/v1/rules/{id}`: replace a rule's name, script, parameters, position or enabled flag.
#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = Uuid, Path, description = "rule id")),
    request_body = RuleBody,
    security(("bearer" = ["rules:write"])),
    responses((status = 200, body = RuleDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    _caller: Caller<need::RulesWrite>,
    Path(id): Path<Uuid>,
    Json(body): Json<RuleBody>,
) -> Result<axum::Json<RuleDto>, ApiError> {
    let rule = state
        .visibility
        .update_rule(RuleId(id), body.into())
        .await?;
    tracing::info!(rule = %rule.name, version = rule.version, "rule changed");
    Ok(axum::Json(RuleDto::from(&rule)))
}

/// `DELETE /api/v1/rules/{id}`
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = Uuid, Path, description = "rule id")),
    security(("bearer" = ["rules:write"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    _caller: Caller<need::RulesWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.visibility.delete_rule(RuleId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/rules/test`: each rule's answer and the final decision for a given context.
///
/// Overrides are not read from storage here: put one in `context.override` to test with it.
#[utoipa::path(post, path = "/api/v1/rules/test", tag = "rules",
    request_body = RulesTestBody,
    security(("bearer" = ["rules:read"])),
    responses((status = 200, body = Object, description = "the decision: visible, away, decided_by, rules"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn test(
    State(state): State<AppState>,
    _caller: Caller<need::RulesRead>,
    Json(body): Json<RulesTestBody>,
) -> Result<axum::Json<natter_rules::Decision>, ApiError> {
    let params = serde_json::Value::Object(body.params.unwrap_or_default());
    let draft = body.script.as_deref().map(|script| (script, params));
    let decision = state.visibility.test(&body.context, draft)?;
    Ok(axum::Json(decision))
}
