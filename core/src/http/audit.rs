//! The audit layer and `GET /api/v1/audit`. Every successful change to the server's configuration
//! through `/api/v1` is recorded with who made it; conversation traffic (messages, assignments,
//! transcripts, chat links) is the product working, not configuration, and is not.

use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::AppState;
use crate::domain::audit::{AuditEntry, NewAuditEntry};
use crate::http::auth::{ActorSlot, Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::Query;

/// Routes whose calls change no configuration.
const NOT_AUDITED: &[&str] = &[
    "/api/v1/conversations",
    "/api/v1/rules/test",
    "/api/v1/agents/{id}/chat-links",
];

/// Records the change a request made, once it succeeded, with the caller the route's extractor
/// found. A failed write of the record is logged and does not undo the change.
pub async fn record(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_string());
    let Some(route) = route.filter(|route| audited(&method, route)) else {
        return next.run(request).await;
    };
    // Inside the nested API router the URI lost its `/api/v1` prefix; the original keeps it.
    let path = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |original| original.path())
        .to_string();
    let slot = ActorSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let status = response.status();
    if let Some(actor) = slot.take().filter(|_| status.is_success()) {
        let entry = NewAuditEntry {
            actor,
            action: format!("{method} {route}"),
            target: path,
            status: status.as_u16(),
        };
        if let Err(e) = state.store.append_audit(entry).await {
            tracing::error!(error = %e, route, "the audit log could not record a change");
        }
    }
    response
}

fn audited(method: &Method, route: &str) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !NOT_AUDITED.iter().any(|prefix| route.starts_with(prefix))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// At most this many entries, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// Only entries older than this (RFC 3339): pass the oldest `at` of a page to get the next.
    pub before: Option<DateTime<Utc>>,
}

/// `GET /api/v1/audit`: configuration changes, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Vec<AuditEntry>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
    Query(query): Query<AuditQuery>,
) -> Result<axum::Json<Vec<AuditEntry>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be 1 to 200".into()));
    }
    Ok(axum::Json(
        state.store.list_audit(limit, query.before).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_changes_are_audited_and_conversation_traffic_is_not() {
        assert!(audited(&Method::PUT, "/api/v1/widget/config"));
        assert!(audited(&Method::DELETE, "/api/v1/auth/tokens/{id}"));
        assert!(audited(&Method::POST, "/api/v1/agents/{id}/role"));
        assert!(!audited(&Method::GET, "/api/v1/webhooks"));
        assert!(!audited(
            &Method::POST,
            "/api/v1/conversations/{id}/messages"
        ));
        assert!(!audited(&Method::POST, "/api/v1/rules/test"));
        assert!(!audited(&Method::POST, "/api/v1/agents/{id}/chat-links"));
    }
}
