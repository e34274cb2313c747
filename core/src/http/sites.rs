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
    let allowed_origins = body
        .allowed_origins
        .iter()
        .enumerate()
        .map(|(i, origin)| {
            as_browsers_send(origin).ok_or_else(|| {
                DomainError::invalid(
                    format!("allowed_origins[{i}]"),
                    "must be an origin like https://example.com",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let site = state
        .store
        .create_site(name, &allowed_origins, &body.timezone)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SiteDto::new(&site, &state.base_url)),
    ))
}

/// An origin (scheme, host and port, nothing more) as a browser writes it in `Origin`, which the
/// widget's socket compares it with: the host in lower case (and an international name in its ASCII
/// form), without the scheme's default port. `None` for anything else.
fn as_browsers_send(origin: &str) -> Option<String> {
    let url = url::Url::parse(origin).ok()?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.path() == "/"
        && !origin.ends_with('/')
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    bare.then(|| url.origin().ascii_serialization())
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

#[cfg(test)]
mod tests {
    use super::as_browsers_send;

    #[test]
    fn an_allowed_origin_is_kept_as_browsers_send_it() {
        for (given, kept) in [
            ("https://shop.example", "https://shop.example"),
            ("https://Shop.EXAMPLE", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://shop.example:80", "http://shop.example"),
            ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
            ("https://bücher.example", "https://xn--bcher-kva.example"),
        ] {
            assert_eq!(as_browsers_send(given).as_deref(), Some(kept), "{given}");
        }
    }

    #[test]
    fn anything_more_or_less_than_an_origin_is_refused() {
        for given in [
            "shop.example",
            "https://shop.example/",
            "https://shop.example/shop",
            "https://shop.example?x=1",
            "https://shop.example#top",
            "https://user:pass@shop.example",
            "ftp://shop.example",
            "null",
            "",
        ] {
            assert_eq!(as_browsers_send(given), None, "{given}");
        }
    }
}
