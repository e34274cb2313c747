//! Plugin routes: requests under `/api/v1` that no built-in route took, served by integration plugins.
//!
//! Built-in routes are matched first by axum, so they always win; what is left comes here (as the router's
//! fallback and its method-not-allowed fallback) and is matched against the routes the loaded integration
//! plugins declared. A matched route is authenticated exactly like a built-in one (bearer token, the route's
//! scope), its body must be JSON, and the plugin's answer or refusal is sent in the API's usual shapes.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::auth;
use crate::http::error::ApiError;
use crate::plugins::integration::{
    HttpMethod, PluginRoute, RouteCaller, RouteRefusal, RouteRequest, RouteResponse,
};

/// Where the API is mounted; the fallback sees the path with or without it depending on nesting.
const PREFIX: &str = "/api/v1";

/// The router's fallback: a plugin route, else 404.
pub async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    match serve(&state, request).await {
        Some(answer) => answer,
        None => ApiError::NotFound("route").into_response(),
    }
}

/// A built-in path with another method: a plugin route with that method, else 405 as before.
pub async fn method_not_allowed(State(state): State<AppState>, request: Request) -> Response {
    match serve(&state, request).await {
        Some(answer) => answer,
        None => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

/// `None` when no plugin route matches.
async fn serve(state: &AppState, request: Request) -> Option<Response> {
    let method = HttpMethod::parse(request.method().as_str())?;
    let path = request.uri().path();
    let path = path.strip_prefix(PREFIX).unwrap_or(path).to_string();
    let (route, params) = state.plugins.route_for(method, &path)?;
    Some(match call(state, route, params, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    })
}

async fn call(
    state: &AppState,
    route: PluginRoute,
    params: Vec<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let token = auth::authenticate(request.headers(), state, route.scope).await?;
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let headers = request.headers().clone();
    let body = json_body(
        &headers,
        request.into_body(),
        state.config.server.max_body_bytes,
    )
    .await?;
    let plugin = route.plugin.clone();
    let answer = state
        .integrations
        .handle_route(
            &plugin,
            RouteRequest {
                method: route.method,
                route: route.path,
                params,
                query,
                body,
                caller: RouteCaller {
                    token_id: token.id.0.to_string(),
                    token_name: token.name,
                    scopes: token.scopes.iter().map(|s| s.to_string()).collect(),
                },
            },
        )
        .await?;
    match answer {
        Ok(response) => respond(&plugin, response),
        Err(refusal) => Err(refused(refusal)),
    }
}

/// The body as JSON text; `None` when there is none.
async fn json_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Option<String>, ApiError> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(format!("the body is over {limit} bytes")))?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(Some(text))
}

fn respond(plugin: &str, response: RouteResponse) -> Result<Response, ApiError> {
    let status = match response.status {
        200 => StatusCode::OK,
        201 => StatusCode::CREATED,
        202 => StatusCode::ACCEPTED,
        204 => return Ok(StatusCode::NO_CONTENT.into_response()),
        other => {
            return Err(ApiError::PluginUnavailable(format!(
                "plugin \"{plugin}\" answered with status {other}; plugin routes answer 200, 201, 202 or 204"
            )));
        }
    };
    if serde_json::from_str::<serde_json::Value>(&response.body).is_err() {
        return Err(ApiError::PluginUnavailable(format!(
            "plugin \"{plugin}\" answered with a body that is not JSON"
        )));
    }
    Ok((status, [(CONTENT_TYPE, "application/json")], response.body).into_response())
}

fn refused(refusal: RouteRefusal) -> ApiError {
    match refusal {
        RouteRefusal::Invalid(errors) => {
            let field = errors
                .first()
                .map(|e| e.field.clone())
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| "body".to_string());
            let message = errors
                .iter()
                .enumerate()
                .map(|(i, e)| match i {
                    0 => e.message.clone(),
                    _ => format!("{}: {}", e.field, e.message),
                })
                .collect::<Vec<_>>()
                .join("; ");
            ApiError::Validation { field, message }
        }
        RouteRefusal::NotFound(what) => ApiError::Missing(what),
        RouteRefusal::Conflict(why) => ApiError::Conflict(why),
        RouteRefusal::BadRequest(why) => ApiError::BadRequest(why),
    }
}

/// Adds the plugin routes to the served OpenAPI document (as JSON): one operation per route, tagged with
/// the plugin's name, under the built-in path of the same shape if there is one (OpenAPI forbids two
/// templates that differ only in parameter names). A method a built-in path already has is left out: the
/// built-in route answers it.
pub fn add_to_openapi(doc: &mut serde_json::Value, routes: &[PluginRoute]) {
    use serde_json::{Map, Value, json};

    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for route in routes {
        let wanted = crate::plugins::integration::shape_of(&format!("{PREFIX}{}", route.path));
        let key = paths
            .keys()
            .find(|k| crate::plugins::integration::shape_of(k) == wanted)
            .cloned()
            .unwrap_or_else(|| format!("{PREFIX}{}", route.path));
        let item = paths
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        let method = route.method.as_str();
        if item.contains_key(method) {
            continue;
        }
        let plugin_names = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
        let parameters: Vec<Value> = key
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .zip(plugin_names)
            .map(|(name, own)| {
                json!({
                    "name": name,
                    "in": "path",
                    "required": true,
                    "schema": { "type": "string" },
                    "description": format!("`{own}` (plugin route parameter)")
                })
            })
            .collect();
        let error = json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } } });
        let mut operation = json!({
            "tags": [route.plugin],
            "summary": route.summary,
            "description": format!("Served by the integration plugin `{}`.", route.plugin),
            "operationId": format!("{}_{}_{}", route.plugin, method, route.path.replace(['/', '{', '}'], "_")),
            "parameters": parameters,
            "security": [{ "bearer": [route.scope.as_str()] }],
            "responses": {
                "200": {
                    "description": "success",
                    "content": { "application/json": { "schema": route.response_schema } }
                },
                "401": { "description": "no usable token", "content": error["content"] },
                "403": { "description": "the token lacks the scope", "content": error["content"] },
                "422": { "description": "invalid input, naming the field", "content": error["content"] },
                "503": { "description": "the plugin is disabled or failed", "content": error["content"] }
            }
        });
        if let Some(schema) = &route.request_schema {
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": schema } }
            });
        }
        item.insert(method.to_string(), operation);
    }
}
