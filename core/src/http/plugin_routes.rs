//! Plugin routes: requests under `/api/v1` that no built-in route took, served by integration plugins.
//!
//! Built-in routes are matched first by axum, so a built-in route wins over a plugin route of the same
//! shape; what is left comes here (as the router's fallback and its method-not-allowed fallback) and is
//! matched against the routes the loaded integration plugins declared. A matched route is authenticated
//! exactly like a built-in one (bearer token, the route's scope), its body must be JSON, and the plugin's
//! answer or refusal is sent in the API's usual shapes.
//!
//! Which routes answer a path follows OpenAPI's rule: the most specific template owns it. A plugin route
//! with more literal segments than the built-in template axum matched (`/agents/sync` over
//! `/agents/{id}`) takes every method there ([`claim`]). A method nobody serves on a path is 405 with an
//! `Allow` header listing what the served document lists for that path.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::auth;
use crate::http::error::{ApiError, FieldProblem};
use crate::plugins::integration::{
    HttpMethod, PluginRoute, RouteCaller, RouteRefusal, RouteRequest, RouteResponse,
};

/// Where the API is mounted; the fallback sees the path with or without it depending on nesting.
const PREFIX: &str = "/api/v1";

/// Who answers a path below `/api/v1`.
#[derive(Debug, PartialEq)]
enum Owner {
    /// The built-in template axum matched (if any), with the plugin methods of the same shape (listed
    /// under the built-in path in the OpenAPI document).
    BuiltIn(Vec<HttpMethod>),
    /// Plugin routes more specific than any built-in template: the methods of the most specific shape.
    Plugins(Vec<HttpMethod>),
}

/// `template` is the built-in route axum matched (below `/api/v1`), if any.
fn owner(routes: &[PluginRoute], path: &str, template: Option<&str>) -> Owner {
    let matching: Vec<&PluginRoute> = routes
        .iter()
        .filter(|r| r.matches(path).is_some())
        .collect();
    let most_specific = matching.iter().max_by_key(|r| literals(&r.path));
    let methods_of = |shape: &str| {
        matching
            .iter()
            .filter(|r| r.shape() == shape)
            .map(|r| r.method)
            .collect::<Vec<_>>()
    };
    match (template, most_specific) {
        (_, None) => Owner::BuiltIn(Vec::new()),
        (Some(template), Some(best)) if literals(template) >= literals(&best.path) => {
            Owner::BuiltIn(methods_of(&crate::plugins::integration::shape_of(template)))
        }
        (_, Some(best)) => Owner::Plugins(methods_of(&best.shape())),
    }
}

fn literals(template: &str) -> usize {
    template
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .count()
}

/// A layer on the built-in routes: a plugin route more specific than the matched template answers instead.
pub async fn claim(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    // Only a template with a parameter can be beaten by a plugin route's literal.
    let Some(template) = template.filter(|t| t.contains('{')) else {
        return next.run(request).await;
    };
    let path = below_prefix(request.uri().path());
    let routes = state.plugins.plugin_routes();
    match owner(&routes, &path, Some(below_prefix(&template).as_str())) {
        Owner::Plugins(methods) => plugin_resource(&state, request, &methods).await,
        Owner::BuiltIn(_) => next.run(request).await,
    }
}

/// The router's fallback: a plugin route; 405 if plugin routes serve the path with other methods; else 404.
pub async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = below_prefix(request.uri().path());
    match owner(&state.plugins.plugin_routes(), &path, None) {
        Owner::Plugins(methods) => plugin_resource(&state, request, &methods).await,
        Owner::BuiltIn(_) => ApiError::NotFound("route").into_response(),
    }
}

/// A built-in path with another method: a plugin route with that method, else 405 listing the built-in
/// methods and the plugin ones of the same shape.
pub async fn method_not_allowed(State(state): State<AppState>, request: Request) -> Response {
    let path = below_prefix(request.uri().path());
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let routes = state.plugins.plugin_routes();
    let plugin_methods = match owner(
        &routes,
        &path,
        template.as_deref().map(below_prefix).as_deref(),
    ) {
        Owner::Plugins(methods) => return plugin_resource(&state, request, &methods).await,
        Owner::BuiltIn(methods) => methods,
    };
    if let Some(answer) = serve(&state, request).await {
        return answer;
    }
    let mut refusal = ApiError::MethodNotAllowed.into_response();
    // Without plugin methods, axum's own `Allow` (the built-in methods) is right and is added for us.
    if let Some(template) = template
        && !plugin_methods.is_empty()
    {
        let mut allowed = crate::http::openapi::builtin_methods(&template);
        if allowed.iter().any(|m| m == "GET") {
            allowed.push("HEAD".into());
        }
        allowed.extend(plugin_methods.iter().map(|m| m.as_str().to_uppercase()));
        set_allow(&mut refusal, &allowed);
    }
    refusal
}

/// A path the plugins own: the plugin route for the method, else 405 with the methods they serve there.
async fn plugin_resource(state: &AppState, request: Request, methods: &[HttpMethod]) -> Response {
    let wanted = HttpMethod::parse(request.method().as_str());
    if wanted.is_some_and(|m| methods.contains(&m))
        && let Some(answer) = serve(state, request).await
    {
        return answer;
    }
    let mut refusal = ApiError::MethodNotAllowed.into_response();
    let allowed: Vec<String> = methods.iter().map(|m| m.as_str().to_uppercase()).collect();
    set_allow(&mut refusal, &allowed);
    refusal
}

fn set_allow(response: &mut Response, methods: &[String]) {
    if let Ok(value) = HeaderValue::from_str(&methods.join(",")) {
        response.headers_mut().insert(ALLOW, value);
    }
}

fn below_prefix(path: &str) -> String {
    path.strip_prefix(PREFIX).unwrap_or(path).to_string()
}

/// `None` when no plugin route matches.
async fn serve(state: &AppState, request: Request) -> Option<Response> {
    let method = HttpMethod::parse(request.method().as_str())?;
    let path = below_prefix(request.uri().path());
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
        // Every field the plugin named, as the configuration routes report them.
        RouteRefusal::Invalid(errors) => ApiError::InvalidFields(
            errors
                .into_iter()
                .map(|e| FieldProblem {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        ),
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
            // What `respond` and `refused` can send: the plugin picks 200, 201 or 202 (or 204 without
            // a body) and may refuse with 400, 404, 409 or 422.
            "responses": {
                "200": {
                    "description": "success",
                    "content": { "application/json": { "schema": route.response_schema } }
                },
                "201": {
                    "description": "created",
                    "content": { "application/json": { "schema": route.response_schema } }
                },
                "202": {
                    "description": "accepted",
                    "content": { "application/json": { "schema": route.response_schema } }
                },
                "204": { "description": "done, nothing to answer" },
                "400": { "description": "a body that is not JSON, or refused by the plugin as malformed", "content": error["content"] },
                "401": { "description": "no usable token", "content": error["content"] },
                "403": { "description": "the token lacks the scope", "content": error["content"] },
                "404": { "description": "what the path names does not exist", "content": error["content"] },
                "409": { "description": "refused by the plugin as conflicting", "content": error["content"] },
                "422": { "description": "invalid input, naming the field", "content": error["content"] },
                "503": { "description": "the plugin is disabled or failed", "content": error["content"] }
            }
        });
        if let Some(schema) = &route.request_schema {
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": schema } }
            });
            operation["responses"]["413"] = json!({ "description": "the body is larger than `server.max_body_bytes`", "content": error["content"] });
            operation["responses"]["415"] = json!({ "description": "the body is not sent as `Content-Type: application/json`", "content": error["content"] });
        }
        item.insert(method.to_string(), operation);
    }
}

#[cfg(test)]
mod tests {
    use super::{Owner, owner};
    use crate::plugins::integration::{HttpMethod, PluginRoute, RouteSpec};

    fn route(method: HttpMethod, path: &str) -> PluginRoute {
        let spec = RouteSpec {
            method,
            path: path.into(),
            summary: String::new(),
            scope: "agents:write".into(),
            request_schema: None,
            response_schema: "{}".into(),
        };
        PluginRoute::check("p", spec).expect("a valid route")
    }

    #[test]
    fn the_most_specific_template_owns_a_path() {
        let routes = [
            route(HttpMethod::Put, "/agents/sync"),
            route(HttpMethod::Put, "/agents/{externalId}"),
            route(HttpMethod::Delete, "/agents/{externalId}"),
            route(HttpMethod::Get, "/customers/{id}"),
        ];
        let built_in = Some("/agents/{id}");
        assert_eq!(
            owner(&routes, "/agents/sync", built_in),
            Owner::Plugins(vec![HttpMethod::Put])
        );
        assert_eq!(
            owner(&routes, "/agents/a-1", built_in),
            Owner::BuiltIn(vec![HttpMethod::Put, HttpMethod::Delete])
        );
        assert_eq!(
            owner(&routes, "/customers/c-1", None),
            Owner::Plugins(vec![HttpMethod::Get])
        );
        assert_eq!(
            owner(&routes, "/rules/builtins", Some("/rules/builtins")),
            Owner::BuiltIn(Vec::new())
        );
        assert_eq!(owner(&routes, "/nothing", None), Owner::BuiltIn(Vec::new()));
    }
}
