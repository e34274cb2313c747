//! `/api/v1/sites`: the websites the widget is embedded on, with their snippet.

use axum::extract::State;
use axum::http::StatusCode;

use crate::app::AppState;
use crate::domain::DomainError;
use crate::http::auth::{Caller, need};
use crate::http::dto::{CreateSite, SiteDto};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::Json;

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
