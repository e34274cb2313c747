//! `/api/v1/sites`: the websites the widget is embedded on, with their snippet and identity secret.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::DomainError;
use crate::domain::ids::SiteId;
use crate::http::auth::{Caller, need};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};
use crate::wire::{CreateSite, SiteDto};

/// `GET /api/v1/sites`: every site with its widget key and snippet.
#[utoipa::path(get, path = "/api/v1/sites", tag = "sites",
    security(("bearer" = ["sites:read"])),
    responses((status = 200, body = Vec<SiteDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller<need::SitesRead>,
) -> Result<axum::Json<Vec<SiteDto>>, ApiError> {
    let sites = state.store.list_sites().await?;
    Ok(axum::Json(
        sites
            .iter()
            .map(|s| SiteDto::new(s, &state.base_url))
            .collect(),
    ))
}

/// `POST /api/v1/sites`: add a site.
#[utoipa::path(post, path = "/api/v1/sites", tag = "sites",
    request_body = CreateSite,
    security(("bearer" = ["admin"])),
    responses((status = 201, body = SiteDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
    Json(body): Json<CreateSite>,
) -> Result<(StatusCode, axum::Json<SiteDto>), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters").into());
    }
    if body.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(DomainError::invalid("timezone", "is not an IANA time zone").into());
    }
    for (i, origin) in body.allowed_origins.iter().enumerate() {
        let valid = url::Url::parse(origin).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.path() == "/" && !origin.ends_with('/')
        });
        if !valid {
            return Err(DomainError::invalid(
                format!("allowed_origins[{i}]"),
                "must be an origin like https://example.com",
            )
            .into());
        }
    }
    let site = state
        .store
        .create_site(name, &body.allowed_origins, &body.timezone)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SiteDto::new(&site, &state.base_url)),
    ))
}

/// A site's identity secret, shown once: the key the site's backend signs customer ids with.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitySecretDto {
    pub site_id: Uuid,
    /// Compute `hex(HMAC-SHA256(secret, customer id))` on your server and pass it to the widget as
    /// `customer.hash` with `customer.id`. Never put the secret itself in a page.
    pub secret: String,
}

/// `POST /api/v1/sites/{id}/identity-secret`: make a new identity secret (the old one stops working).
/// Until a site has one, the widget's customer identities are refused.
#[utoipa::path(post, path = "/api/v1/sites/{id}/identity-secret", tag = "sites",
    params(("id" = Uuid, Path, description = "site id")),
    security(("bearer" = ["admin"])),
    responses((status = 201, body = IdentitySecretDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_identity_secret(
    State(state): State<AppState>,
    caller: Caller<need::Admin>,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<IdentitySecretDto>), ApiError> {
    let site = state
        .store
        .site(SiteId(id))
        .await?
        .ok_or(ApiError::NotFound("site"))?;
    let secret = state.store.rotate_identity_secret(site.id).await?;
    tracing::info!(site = %site.id, by = %caller.actor, "identity secret rotated");
    Ok((
        StatusCode::CREATED,
        axum::Json(IdentitySecretDto {
            site_id: site.id.0,
            secret: secret.expose().to_string(),
        }),
    ))
}

/// `DELETE /api/v1/sites/{id}/identity-secret`: stop accepting customer identities from the site.
#[utoipa::path(delete, path = "/api/v1/sites/{id}/identity-secret", tag = "sites",
    params(("id" = Uuid, Path, description = "site id")),
    security(("bearer" = ["admin"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_identity_secret(
    State(state): State<AppState>,
    _caller: Caller<need::Admin>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_identity_secret(SiteId(id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("identity secret"))
    }
}
