//! `/api/v1/rules`: Action Rules as data — list, create, change, reorder, enable, delete, check a
//! script, test.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::DomainError;
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
    /// A wall-clock time in `context.timezone`, e.g. `2026-12-03T08:59:00`; replaces `context.now`.
    /// A time the clock skips (spring forward) is 422; a repeated one takes the first pass.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2026-12-03T08:59:00")]
    pub local_time: Option<NaiveDateTime>,
}

/// The decision for a test context, and why each rule answered as it did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesTestDto {
    /// `visible`, `away`, `decided_by`, `recheck_after_secs`, `override` and `rules` (each
    /// rule's `name`, `enabled`, `answer`, `recheck_after_secs`, `error`), as in rules/README.md.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub decision: natter_rules::Decision,
    /// One sentence per entry of `rules`, same order: what the rule looked at and what it answered.
    pub reasons: Vec<String>,
    /// The instant evaluated (from `local_time` when given).
    pub now: DateTime<Utc>,
}

/// The new order of the rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleOrderBody {
    /// Every rule's id once, first to run first.
    pub ids: Vec<Uuid>,
}

/// A script to check before saving it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompileBody {
    pub script: String,
}

/// The script compiles.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompileDto {
    pub ok: bool,
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

/// `POST /api/v1/rules/test`: each rule's answer, why, and the final decision for a given context.
///
/// Overrides are not read from storage here: put one in `context.override` to test with it.
#[utoipa::path(post, path = "/api/v1/rules/test", tag = "rules",
    request_body = RulesTestBody,
    security(("bearer" = ["rules:read"])),
    responses((status = 200, body = RulesTestDto),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn test(
    State(state): State<AppState>,
    _caller: Caller<need::RulesRead>,
    Json(body): Json<RulesTestBody>,
) -> Result<axum::Json<RulesTestDto>, ApiError> {
    let mut context = body.context;
    if let Some(local) = body.local_time {
        context.now = local
            .and_local_timezone(context.timezone)
            .earliest()
            .ok_or_else(|| DomainError::invalid("local_time", "the clock skips this time here"))?
            .with_timezone(&Utc);
    }
    let params = serde_json::Value::Object(body.params.unwrap_or_default());
    let draft = body.script.as_deref().map(|script| (script, params));
    let run = state.visibility.test(&context, draft).await?;
    Ok(axum::Json(RulesTestDto {
        decision: run.decision,
        reasons: run.reasons,
        now: context.now,
    }))
}

/// `POST /api/v1/rules/compile`: check a script without saving it; a script that does not
/// compile is 422 `script_invalid` with `line` and `column`.
#[utoipa::path(post, path = "/api/v1/rules/compile", tag = "rules",
    request_body = CompileBody,
    security(("bearer" = ["rules:read"])),
    responses((status = 200, body = CompileDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`script_invalid` with `line` and `column`")))]
pub async fn compile(
    State(state): State<AppState>,
    _caller: Caller<need::RulesRead>,
    Json(body): Json<CompileBody>,
) -> Result<axum::Json<CompileDto>, ApiError> {
    state.visibility.compile("draft", &body.script)?;
    Ok(axum::Json(CompileDto { ok: true }))
}

/// `PUT /api/v1/rules/order`: run the rules in this order; `ids` names every rule once.
#[utoipa::path(put, path = "/api/v1/rules/order", tag = "rules",
    request_body = RuleOrderBody,
    security(("bearer" = ["rules:write"])),
    responses((status = 200, body = Vec<RuleDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reorder(
    State(state): State<AppState>,
    _caller: Caller<need::RulesWrite>,
    Json(body): Json<RuleOrderBody>,
) -> Result<axum::Json<Vec<RuleDto>>, ApiError> {
    let ids: Vec<RuleId> = body.ids.into_iter().map(RuleId).collect();
    let rules = state.visibility.reorder_rules(&ids).await?;
    tracing::info!(rules = rules.len(), "rules reordered");
    Ok(axum::Json(rules.iter().map(RuleDto::from).collect()))
}

/// `GET /api/v1/rules/timezones`: the IANA time zone names rules and sites accept.
#[utoipa::path(get, path = "/api/v1/rules/timezones", tag = "rules",
    security(("bearer" = ["rules:read"])),
    responses((status = 200, body = Vec<String>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn timezones(_caller: Caller<need::RulesRead>) -> axum::Json<Vec<&'static str>> {
    axum::Json(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect())
}
