//! The agent session cookie: reading it, setting and clearing it, and the extractor of the routes
//! the console calls with it. Agent links and sign-in both end in the same cookie.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};

use crate::app::AppState;
use crate::domain::model::Agent;
use crate::http::error::ApiError;

pub const SESSION_COOKIE: &str = "natter_session";

/// The session cookie's value, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for a new session: HttpOnly (scripts never see it), SameSite=Lax (other sites'
/// forms and scripts do not send it), Secure when the server is reached over https.
pub fn set_cookie(
    state: &AppState,
    session: &str,
    max_age_seconds: u64,
) -> Result<HeaderValue, ApiError> {
    let cookie = format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_seconds}{}",
        secure(state)
    );
    HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `Set-Cookie` that makes the browser drop the session.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let cookie = format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        secure(state)
    );
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("natter_session=; Max-Age=0"))
}

fn secure(state: &AppState) -> &'static str {
    if state.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The signed-in agent behind the session cookie: 401 without a live session.
pub struct SessionAgent {
    pub agent: Agent,
}

impl FromRequestParts<AppState> for SessionAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = session_cookie(&parts.headers).ok_or(ApiError::Unauthorized(
            "sign in or open an agent chat URL first",
        ))?;
        let agent = state.links.session_agent(session).await?;
        Ok(SessionAgent { agent })
    }
}

/// The address of the client's end of the connection. Behind a reverse proxy this is the proxy:
/// sign-in throttling then counts the proxy's clients together.
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // A router served without connection info (a test calling it in-process) counts as one client.
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip()),
        ))
    }
}

/// Refuses requests a browser marks as coming from another site (`Sec-Fetch-Site: cross-site`):
/// another site must not sign an agent in or out. SameSite=Lax already keeps the cookie off such
/// requests; this also stops a cross-site form from planting a session of the attacker's.
pub fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site") => Err(ApiError::CrossSite(
            "sign in and out from the console's own pages",
        )),
        _ => Ok(()),
    }
}
