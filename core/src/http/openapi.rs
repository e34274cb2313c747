//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use axum::extract::State;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;
use crate::http::cobrowse;
use crate::http::{
    agents, conversations, dto, error, mail, plugins, rules, sites, tokens, visibility, webhooks,
    widget,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Natter API", description = "Live chat: conversations, agents, tokens, agent links, the widget, plugins."),
    paths(
        conversations::list, conversations::get_one, conversations::post_message,
        conversations::assign, conversations::close,
        agents::list, agents::get_one, agents::create, agents::create_chat_link,
        agents::set_password,
        tokens::create, tokens::list, tokens::revoke,
        sites::list, sites::create, sites::rotate_identity_secret, sites::delete_identity_secret,
        rules::list, rules::builtins, rules::get_one, rules::create, rules::update, rules::delete,
        rules::test,
        visibility::list, visibility::put, visibility::delete, visibility::decide,
        webhooks::list, webhooks::create, webhooks::get_one, webhooks::update, webhooks::delete,
        webhooks::rotate_secret, webhooks::deliveries, webhooks::redeliver,
        widget::get_config, widget::put_config,
        plugins::list, plugins::enable, plugins::get_config, plugins::put_config,
        mail::deliveries, mail::attempts, mail::transcript, mail::offline_message,
        mail::visitor_transcript,
        cobrowse::get_config, cobrowse::put_config, cobrowse::trail,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, dto::AuthorDto)),
    modifiers(&BearerAuth),
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
                        "An API token (`ntr_…`). The scopes each route needs are listed in its security requirement.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`: the built-in routes and those of the loaded integration plugins.
pub async fn document(State(state): State<AppState>) -> Json<serde_json::Value> {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(serde_json::Value::Null);
    crate::http::plugin_routes::add_to_openapi(&mut doc, &state.plugins.plugin_routes());
    Json(doc)
}
