//! The OpenAPI document, generated from the handlers' annotations.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;
use crate::http::cobrowse;
use crate::http::{
    agents, audit, conversations, error, mail, plugins, rules, sites, stats, tokens, visibility,
    webhooks, widget, widget_preview,
};
use crate::wire;

#[derive(OpenApi)]
#[openapi(
    info(title = "Natter API", description = "Live chat: conversations, agents, tokens, agent links, the widget, plugins."),
    paths(
        conversations::list, conversations::get_one, conversations::post_message,
        conversations::assign, conversations::close,
        agents::list, agents::get_one, agents::create, agents::create_chat_link,
        agents::set_password, agents::set_role,
        audit::list,
        tokens::create, tokens::list, tokens::revoke,
        sites::list, sites::create, sites::rotate_identity_secret, sites::delete_identity_secret,
        rules::list, rules::builtins, rules::get_one, rules::create, rules::update, rules::delete,
        rules::test, rules::compile, rules::reorder, rules::timezones,
        visibility::list, visibility::put, visibility::delete, visibility::decide,
        webhooks::list, webhooks::create, webhooks::get_one, webhooks::update, webhooks::delete,
        webhooks::rotate_secret, webhooks::deliveries, webhooks::redeliver,
        widget::get_config, widget::put_config, widget_preview::script,
        plugins::list, plugins::enable, plugins::get_config, plugins::put_config,
        mail::deliveries, mail::attempts, mail::test, mail::transcript, mail::offline_message,
        mail::visitor_transcript,
        cobrowse::get_config, cobrowse::put_config, cobrowse::trail,
        stats::get,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, error::FieldProblem, wire::AuthorDto)),
    modifiers(&BearerAuth, &ExtractorErrors),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`ntr_…`). The scopes each route needs are listed in its security requirement. \
                         An agent with the admin role signed in to the console may call these routes with the \
                         console's session cookie instead; a change made that way carries `X-Natter-Console: 1`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// What the extractors answer before a handler runs, added to every operation they can happen to, so
/// each handler's annotation lists only what the handler itself decides: a JSON body can be malformed
/// (400), sent without `Content-Type: application/json` (415) or too large (413); a path id or a query
/// parameter that does not parse is 400 (`crate::http::extract`).
struct ExtractorErrors;

impl Modify for ExtractorErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_extractor_errors(operation);
            }
        }
    }
}

fn add_extractor_errors(operation: &mut Operation) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let parses_query = parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let parses_ids = parameters.iter().any(|p| {
        matches!(p.parameter_in, ParameterIn::Path)
            && serde_json::to_value(&p.schema).is_ok_and(|s| s["format"] == "uuid")
    });
    let has_body = operation.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(error_response(description)));
    };
    if parses_query || parses_ids || has_body {
        add(
            "400",
            "a malformed id in the path, a query parameter that does not parse, or a body that is not JSON",
        );
    }
    if has_body {
        add("413", "the body is larger than `server.max_body_bytes`");
        add(
            "415",
            "the body is not sent as `Content-Type: application/json`",
        );
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// The methods the document lists for a built-in path template (`/api/v1/agents/{id}`), upper case.
pub fn builtin_methods(template: &str) -> Vec<String> {
    static METHODS: LazyLock<BTreeMap<String, Vec<String>>> = LazyLock::new(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .into_iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(method, _)| method.to_string())
                .collect();
                (path, methods)
            })
            .collect()
    });
    METHODS.get(template).cloned().unwrap_or_default()
}

/// `GET /api/v1/openapi.json`: the built-in routes and those of the loaded integration plugins.
pub async fn document(State(state): State<AppState>) -> Json<serde_json::Value> {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(serde_json::Value::Null);
    crate::http::plugin_routes::add_to_openapi(&mut doc, &state.plugins.plugin_routes());
    Json(doc)
}
