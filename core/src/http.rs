//! HTTP: the route table, REST handlers (one module per resource) and the one mapping from errors to
//! statuses; the JSON shapes they send are in `crate::wire`. The only module that knows axum besides `ws`.

pub mod agents;
pub mod audit;
pub mod auth;
pub mod cobrowse;
pub mod console;
pub mod console_api;
pub mod console_assets;
pub mod conversations;
pub mod error;
pub mod extract;
pub mod health;
pub mod mail;
pub mod openapi;
pub mod plugin_routes;
pub mod plugins;
pub mod precompressed;
pub mod rules;
pub mod session;
pub mod sign_in;
pub mod sites;
pub mod sockets;
pub mod stats;
pub mod tokens;
pub mod visibility;
pub mod webhooks;
pub mod widget;
pub mod widget_preview;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, Request};
use axum::routing::{get, post, put};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/conversations", get(conversations::list))
        .route("/conversations/{id}", get(conversations::get_one))
        .route(
            "/conversations/{id}/messages",
            post(conversations::post_message),
        )
        .route("/conversations/{id}/assign", post(conversations::assign))
        .route("/conversations/{id}/close", post(conversations::close))
        .route("/agents", get(agents::list).post(agents::create))
        .route("/agents/{id}", get(agents::get_one))
        .route("/agents/{id}/password", put(agents::set_password))
        .route("/agents/{id}/role", put(agents::set_role))
        .route("/audit", get(audit::list))
        .route("/agents/{id}/chat-links", post(agents::create_chat_link))
        .route("/auth/token", post(tokens::create))
        .route("/auth/tokens", get(tokens::list))
        .route("/auth/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/sites", get(sites::list).post(sites::create))
        .route(
            "/sites/{id}/identity-secret",
            post(sites::rotate_identity_secret).delete(sites::delete_identity_secret),
        )
        .route("/rules", get(rules::list).post(rules::create))
        .route("/rules/builtins", get(rules::builtins))
        .route("/rules/test", post(rules::test))
        .route("/rules/compile", post(rules::compile))
        .route("/rules/order", put(rules::reorder))
        .route("/rules/timezones", get(rules::timezones))
        .route(
            "/rules/{id}",
            get(rules::get_one).put(rules::update).delete(rules::delete),
        )
        .route(
            "/visibility",
            get(visibility::list)
                .put(visibility::put)
                .delete(visibility::delete),
        )
        .route("/visibility/decide", get(visibility::decide))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            get(webhooks::get_one)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(
            "/webhooks/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route(
            "/widget/config",
            get(widget::get_config).put(widget::put_config),
        )
        .route("/widget/preview", get(widget_preview::script))
        .route(
            "/cobrowse/config",
            get(cobrowse::get_config).put(cobrowse::put_config),
        )
        .route("/conversations/{id}/cobrowse", get(cobrowse::trail))
        .route("/plugins", get(plugins::list))
        .route("/plugins/{name}/enable", post(plugins::enable))
        .route(
            "/plugins/{name}/config",
            get(plugins::get_config).put(plugins::put_config),
        )
        .route("/mail/deliveries", get(mail::deliveries))
        .route("/mail/deliveries/{id}/attempts", get(mail::attempts))
        .route("/mail/test", post(mail::test))
        .route("/conversations/{id}/transcript", post(mail::transcript))
        .route("/stats", get(stats::get))
        .route("/openapi.json", get(openapi::document))
        // Configuration changes are recorded with who made them.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        // A plugin route more specific than a built-in template takes its path (`/agents/sync`).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            plugin_routes::claim,
        ))
        // Integration plugins' routes: only what no built-in route took.
        .fallback(plugin_routes::not_found)
        .method_not_allowed_fallback(plugin_routes::method_not_allowed)
        // Called by the widget from the site's own pages: cross-origin, no credentials. Merged after the
        // method-not-allowed fallback is set, which would otherwise replace the CORS layer's answer to a
        // preflight `OPTIONS`.
        .merge(
            Router::new()
                .route("/widget/offline-messages", post(mail::offline_message))
                .route("/widget/transcripts", post(mail::visitor_transcript))
                .layer(mail::widget_cors()),
        );

    let body_limit = state.config.server.max_body_bytes;
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        // Served on every page view of every site: sent compressed to browsers that accept it.
        .route(
            "/widget.js",
            get(widget::script).layer(CompressionLayer::new().no_br()),
        )
        .route("/ws/visitor", get(sockets::visitor))
        .route("/ws/agent", get(sockets::agent))
        .route("/agent/link/{token}", get(console::open_link))
        .route("/agent/", get(console::page))
        .route("/agent/console.js", get(console::script))
        .route("/agent/console.css", get(console::styles))
        .route("/agent", get(console::redirect_home))
        .route(
            "/agent/login",
            get(console::login_page).post(sign_in::sign_in),
        )
        .route("/agent/login.js", get(console::login_script))
        .route("/agent/logout", post(sign_in::sign_out))
        .route("/agent/api/me", get(console_api::me))
        .route("/agent/api/agents", get(console_api::agents))
        .route("/agent/api/customers/{id}", get(console_api::customer))
        .route("/agent/api/visitors/{id}", get(console_api::visitor))
        .route(
            "/agent/api/conversations/{id}/cobrowse",
            get(cobrowse::console_trail),
        )
        .route("/agent/cobrowse.js", get(console::cobrowse_script))
        .route("/agent/replay", get(console::replay_page))
        .route("/agent/admin", get(console_assets::page))
        .route("/agent/admin/", get(console_assets::page))
        .route("/agent/admin/{*path}", get(console_assets::asset))
        .route("/agent/admin/preview", get(widget_preview::page))
        // What a visitor loads when a session starts, and the agent's replayer: sent compressed.
        .route(
            "/cobrowse/recorder.js",
            get(cobrowse::recorder).layer(CompressionLayer::new()),
        )
        .route(
            "/cobrowse/viewer.js",
            get(cobrowse::viewer).layer(CompressionLayer::new()),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request<_>| {
                            let route = request
                                .extensions()
                                .get::<MatchedPath>()
                                .map_or("-", MatchedPath::as_str);
                            let id = request
                                .headers()
                                .get(&REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            // The route pattern, never the path itself: paths and queries carry link tokens.
                            tracing::info_span!("request", id, method = %request.method(), route)
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}
