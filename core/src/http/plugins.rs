//! `/api/v1/plugins`: the loaded plugins with their health, taking a disabled one back into service, and
//! integration plugins' configuration.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::domain::events::{RealtimeEvent, Topic};
use crate::domain::integrations::IntegrationError;
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};
use crate::plugins::{PluginError, PluginInfo, PluginKind, PluginStatus};
use crate::wire::PluginConfigDto;

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginDto {
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    /// The `natter:plugin` API version it was built against.
    pub api_version: String,
    pub description: String,
    /// `built-in` or the file it was loaded from.
    pub source: String,
    pub replaces_builtin: bool,
    /// SHA-256 of the component.
    pub digest: String,
    pub capabilities_asked: Vec<String>,
    /// What it holds: asked for and granted in `[plugins.grants]`.
    pub capabilities_granted: Vec<String>,
    /// `active` or `disabled`.
    pub status: &'static str,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub calls: u64,
    pub failures: u64,
    pub consecutive_failures: u32,
    pub last_failure: Option<String>,
}

impl From<PluginInfo> for PluginDto {
    fn from(p: PluginInfo) -> Self {
        let (status, disabled_reason, disabled_at) = match p.status {
            PluginStatus::Active => ("active", None, None),
            PluginStatus::Disabled { reason, at } => ("disabled", Some(reason), Some(at)),
        };
        Self {
            name: p.manifest.name,
            version: p.manifest.version,
            kind: p.manifest.kind,
            api_version: p.manifest.api_version,
            description: p.manifest.description,
            source: p.source.to_string(),
            replaces_builtin: p.replaces_builtin,
            digest: p.digest,
            capabilities_asked: p.manifest.capabilities,
            capabilities_granted: p.capabilities_granted,
            status,
            disabled_reason,
            disabled_at,
            calls: p.calls,
            failures: p.failures,
            consecutive_failures: p.consecutive_failures,
            last_failure: p.last_failure,
        }
    }
}

/// `GET /api/v1/plugins`: every loaded plugin, its grants and health.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Vec<PluginDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
) -> axum::Json<Vec<PluginDto>> {
    axum::Json(
        state
            .plugins
            .list()
            .into_iter()
            .map(PluginDto::from)
            .collect(),
    )
}

/// `POST /api/v1/plugins/{name}/enable`: take a plugin disabled after repeated failures back into service.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/enable", tag = "plugins",
    params(("name" = String, Path, description = "plugin name")),
    security(("bearer" = ["admin"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller<need::Admin>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.plugins.enable(&name).await?;
    tracing::info!(plugin = %name, by = %caller.actor, "plugin enabled by an admin");
    // Other nodes that disabled it too take it back (each counts its own failures).
    state
        .chat
        .bus()
        .publish(Topic::Nodes, RealtimeEvent::PluginEnabled(name));
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/plugins/{name}/config`: an integration plugin's configuration, with its schema.
#[utoipa::path(get, path = "/api/v1/plugins/{name}/config", tag = "plugins",
    params(("name" = String, Path, description = "integration plugin name")),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = PluginConfigDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_config(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
    Path(name): Path<String>,
) -> Result<axum::Json<PluginConfigDto>, ApiError> {
    let config = state
        .integrations
        .config(&name)
        .await
        .map_err(config_error)?;
    Ok(axum::Json(config.into()))
}

/// `PUT /api/v1/plugins/{name}/config`: replace an integration plugin's configuration. The plugin
/// validates it; a bad value is 422 naming the field. Fields left out take their defaults.
#[utoipa::path(put, path = "/api/v1/plugins/{name}/config", tag = "plugins",
    params(("name" = String, Path, description = "integration plugin name")),
    request_body(content = Object, description = "the configuration document"),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = PluginConfigDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn put_config(
    State(state): State<AppState>,
    caller: Caller<need::Admin>,
    Path(name): Path<String>,
    // A document is a JSON object; anything else is 422 before the plugin sees it.
    Json(body): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<axum::Json<PluginConfigDto>, ApiError> {
    let config = state
        .integrations
        .put_config(&name, serde_json::Value::Object(body))
        .await
        .map_err(config_error)?;
    tracing::info!(plugin = %name, by = %caller.actor, version = config.version, "plugin configuration stored");
    Ok(axum::Json(config.into()))
}

/// Widget and co-browse plugins have configuration routes of their own: here they are not found.
fn config_error(err: IntegrationError) -> ApiError {
    match err {
        IntegrationError::Plugin(PluginError::WrongKind { .. }) => {
            ApiError::NotFound("integration plugin")
        }
        other => other.into(),
    }
}
