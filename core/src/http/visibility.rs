//! `/api/v1/visibility`: REST overrides (show or hide for a site, a customer or a visitor), and
//! what a visitor would see and why.
//!
//! An override names its target the same way in both directions: a site by its key (the one in the
//! widget snippet), a customer or a visitor by its id.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use natter_rules::{Action, OverrideLevel};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::DomainError;
use crate::domain::ids::{CustomerId, SiteId, VisitorId};
use crate::domain::model::{OverrideTarget, VisibilityOverride};
use crate::domain::visibility::VisitorFacts;
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Query};

/// Who an override is for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TargetParams {
    #[param(schema_with = scope_schema)]
    scope: OverrideLevel,
    /// The customer's or visitor's id; for `site`, the site key (default: the first site).
    #[serde(default)]
    #[param(min_length = 1)]
    id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    #[schema(schema_with = scope_schema)]
    pub scope: OverrideLevel,
    /// The customer's or visitor's id; for `site`, the site key (default: the first site).
    #[serde(default)]
    #[schema(min_length = 1)]
    pub id: Option<String>,
    #[schema(schema_with = action_schema)]
    pub action: Action,
    /// When the override stops applying (RFC 3339); none lasts until deleted.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideDto {
    #[schema(schema_with = scope_schema)]
    pub scope: OverrideLevel,
    /// What `PUT` and `DELETE` take as `id`: the site key for `site`, else the customer's or
    /// visitor's id.
    pub id: String,
    #[schema(schema_with = action_schema)]
    pub action: Action,
    pub until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl OverrideDto {
    /// `site_keys` maps site ids to their keys.
    fn new(o: &VisibilityOverride, site_keys: &HashMap<SiteId, String>) -> Self {
        let id = match o.target {
            // Sites are never deleted, so the key is always there; the id is a last resort.
            OverrideTarget::Site(site) => site_keys
                .get(&site)
                .cloned()
                .unwrap_or_else(|| site.0.to_string()),
            OverrideTarget::Customer(customer) => customer.0.to_string(),
            OverrideTarget::Visitor(visitor) => visitor.0.to_string(),
        };
        Self {
            scope: o.target.level(),
            id,
            action: o.action,
            until: o.until,
            created_at: o.created_at,
        }
    }
}

/// `natter_rules::OverrideLevel` as the API spells it.
fn scope_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["site", "customer", "visitor"]))
        .description(Some("`site`, `customer` or `visitor`"))
}

/// `natter_rules::Action` as the API spells it.
fn action_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["show", "hide"]))
        .description(Some("`show` or `hide`"))
}

async fn site_keys(state: &AppState) -> Result<HashMap<SiteId, String>, ApiError> {
    Ok(state
        .store
        .list_sites()
        .await?
        .into_iter()
        .map(|site| (site.id, site.key))
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DecideParams {
    /// The visitor's id (the one the widget keeps).
    visitor: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecideDto {
    pub visitor_id: Uuid,
    /// Whether the visitor has the widget open now; if not, page facts are unknown (empty URL,
    /// 0 seconds on page).
    pub connected: bool,
    /// What the rules saw.
    #[schema(value_type = Object)]
    pub context: natter_rules::Context,
    /// `visible`, `away` (visible, but the offline form instead of chat), `decided_by` (an override,
    /// a rule, or the default) and each rule's answer.
    #[schema(value_type = Object)]
    pub decision: natter_rules::Decision,
}

async fn target(
    state: &AppState,
    scope: OverrideLevel,
    id: Option<&str>,
) -> Result<OverrideTarget, ApiError> {
    let uuid = |raw: Option<&str>| -> Result<Uuid, ApiError> {
        raw.and_then(|r| r.parse().ok()).ok_or_else(|| {
            DomainError::invalid("id", "must be a customer or visitor id (UUID)").into()
        })
    };
    Ok(match scope {
        OverrideLevel::Site => OverrideTarget::Site(site_id(state, id).await?),
        OverrideLevel::Customer => OverrideTarget::Customer(CustomerId(uuid(id)?)),
        OverrideLevel::Visitor => OverrideTarget::Visitor(VisitorId(uuid(id)?)),
    })
}

/// The site with this key; without a key, the first site (the only one of most installations).
async fn site_id(state: &AppState, key: Option<&str>) -> Result<SiteId, ApiError> {
    let found = match key {
        Some(key) => state.store.site_by_key(key).await?.map(|site| site.id),
        None => state.store.list_sites().await?.first().map(|site| site.id),
    };
    found.ok_or_else(|| DomainError::invalid("id", "no site with this key").into())
}

/// `GET /api/v1/visibility`: the overrides in force.
#[utoipa::path(get, path = "/api/v1/visibility", tag = "visibility",
    security(("bearer" = ["visibility:read"])),
    responses((status = 200, body = Vec<OverrideDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::VisibilityRead>,
) -> Result<axum::Json<Vec<OverrideDto>>, ApiError> {
    let keys = site_keys(&state).await?;
    Ok(axum::Json(
        state
            .visibility
            .overrides()
            .iter()
            .map(|o| OverrideDto::new(o, &keys))
            .collect(),
    ))
}

/// `PUT /api/v1/visibility`: show or hide the widget for a site, a customer or a visitor.
///
/// The answer names the target as the request did: `id` is the site key for `site`.
/// The most specific override in force wins (visitor, then customer, then site), over any rule.
/// Connected widgets follow at once.
#[utoipa::path(put, path = "/api/v1/visibility", tag = "visibility",
    request_body = OverrideBody,
    security(("bearer" = ["visibility:write"])),
    responses((status = 200, body = OverrideDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    _caller: Caller<need::VisibilityWrite>,
    Json(body): Json<OverrideBody>,
) -> Result<axum::Json<OverrideDto>, ApiError> {
    let target = target(&state, body.scope, body.id.as_deref()).await?;
    let stored = state
        .visibility
        .set_override(target, body.action, body.until)
        .await?;
    Ok(axum::Json(OverrideDto::new(
        &stored,
        &site_keys(&state).await?,
    )))
}

/// `DELETE /api/v1/visibility?scope=…&id=…`: remove an override.
#[utoipa::path(delete, path = "/api/v1/visibility", tag = "visibility",
    params(TargetParams),
    security(("bearer" = ["visibility:write"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    _caller: Caller<need::VisibilityWrite>,
    Query(params): Query<TargetParams>,
) -> Result<StatusCode, ApiError> {
    let target = target(&state, params.scope, params.id.as_deref()).await?;
    state.visibility.remove_override(target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/visibility/decide?visitor=…`: what this visitor sees now, and which override or
/// rule decided it.
#[utoipa::path(get, path = "/api/v1/visibility/decide", tag = "visibility",
    params(DecideParams),
    security(("bearer" = ["visibility:read"])),
    responses((status = 200, body = DecideDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    _caller: Caller<need::VisibilityRead>,
    Query(params): Query<DecideParams>,
) -> Result<axum::Json<DecideDto>, ApiError> {
    let visitor_id = VisitorId(params.visitor);
    let live = state.visibility.live_facts(visitor_id);
    let connected = live.is_some();
    let facts = match live {
        Some(facts) => facts,
        None => stored_facts(&state, visitor_id).await?,
    };
    Ok(axum::Json(DecideDto {
        visitor_id: params.visitor,
        connected,
        context: state.visibility.context(&facts),
        decision: state.visibility.decide(&facts),
    }))
}

/// What storage knows of a visitor who is not connected.
async fn stored_facts(state: &AppState, visitor_id: VisitorId) -> Result<VisitorFacts, ApiError> {
    let visitor = state
        .store
        .visitor(visitor_id)
        .await?
        .ok_or(ApiError::NotFound("visitor"))?;
    let site = state
        .store
        .site(visitor.site_id)
        .await?
        .ok_or(ApiError::NotFound("site"))?;
    let customer = match visitor.customer_id {
        Some(id) => state
            .store
            .customer(id)
            .await?
            .map(|c| natter_rules::CustomerContext {
                id: c.id.to_string(),
                labels: c.labels,
            }),
        None => None,
    };
    Ok(VisitorFacts {
        visitor_id,
        site_id: site.id,
        timezone: site.timezone.parse().unwrap_or(chrono_tz::UTC),
        visits: visitor.visit_count,
        url: String::new(),
        referrer: String::new(),
        language: String::new(),
        page_since: state.clock.now(),
        customer,
    })
}
