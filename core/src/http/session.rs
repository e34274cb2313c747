//! The agent session cookie: reading it, setting and clearing it, the extractor of the routes the
//! console calls with it, and which pages may use it (`refuse_foreign_page`). Agent links and sign-in
//! both end in the same cookie.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri};

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

/// Refuses requests a browser marks as coming from another site (`Sec-Fetch-Site: cross-site`).
/// SameSite=Lax already keeps the cookie off most of them; this also stops a cross-site form from
/// planting a session of the attacker's. `what` says what such a page may not do.
pub fn refuse_cross_site(headers: &HeaderMap, what: &'static str) -> Result<(), ApiError> {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site") => Err(ApiError::CrossSite(what)),
        _ => Ok(()),
    }
}

/// Refuses what a browser sends from a page that is not the console's: another site's (see
/// [`refuse_cross_site`]), or another origin's of the same site, which the cookie goes to as well
/// (a sibling subdomain, where the widget may well be embedded). For what has no other guard: a
/// socket (WebSockets have no CORS) and the sign-in and sign-out forms.
pub fn refuse_foreign_page(
    headers: &HeaderMap,
    uri: &Uri,
    base_url: &str,
    what: &'static str,
) -> Result<(), ApiError> {
    refuse_cross_site(headers, what)?;
    if from_this_server(headers, uri, base_url) {
        Ok(())
    } else {
        Err(ApiError::CrossSite(what))
    }
}

/// Whether the page a request comes from is this server's. A browser names its page's origin on a
/// WebSocket upgrade and on every POST; it must be this server as the browser reached it (the host
/// it asked for, with its scheme) or as `public_url` names it. A request without `Origin` is not a
/// browser's from another page (or is a same-origin read), so it carries no one's cookie but its own.
fn from_this_server(headers: &HeaderMap, uri: &Uri, base_url: &str) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    // `null` (a sandboxed frame, a file) is no origin at all.
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let asked_for =
        host.and_then(|host| url::Url::parse(&format!("{}://{host}", origin.scheme())).ok());
    let public = url::Url::parse(base_url).ok();
    [asked_for, public]
        .into_iter()
        .flatten()
        .any(|server| server.origin() == origin.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_page(origin: Option<&str>, host: &str, public_url: &str) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(
                ORIGIN,
                HeaderValue::from_str(origin).expect("a header value"),
            );
        }
        headers.insert(HOST, HeaderValue::from_str(host).expect("a header value"));
        from_this_server(&headers, &Uri::from_static("/ws/agent"), public_url)
    }

    #[test]
    fn a_page_of_this_server_as_the_browser_reached_it_or_as_configured_is_the_consoles() {
        let local = "http://127.0.0.1:8080";
        assert!(from_page(Some(local), "127.0.0.1:8080", local));
        // Reached by another name than the configured one, as a browser on the machine may.
        assert!(from_page(
            Some("http://localhost:8080"),
            "localhost:8080",
            local
        ));
        // Behind a proxy that ends TLS and passes the host on; and one that rewrites the host.
        let public = "https://chat.example.com";
        assert!(from_page(Some(public), "chat.example.com", ""));
        assert!(from_page(Some(public), "natter:8080", public));
        // A client that is not a browser names no origin.
        assert!(from_page(None, "127.0.0.1:8080", local));
    }

    #[test]
    fn a_page_of_any_other_origin_is_foreign() {
        let public = "https://chat.example.com";
        // A sibling subdomain: same site, so the cookie would go along.
        assert!(!from_page(
            Some("https://shop.example.com"),
            "chat.example.com",
            public
        ));
        assert!(!from_page(
            Some("https://chat.example.com:8443"),
            "chat.example.com",
            public
        ));
        assert!(!from_page(
            Some("http://chat.example.com"),
            "natter:8080",
            public
        ));
        assert!(!from_page(Some("null"), "chat.example.com", public));
        assert!(!from_page(Some("not an origin"), "chat.example.com", ""));
    }

    #[test]
    fn a_request_marked_cross_site_is_foreign_whatever_its_origin_says() {
        let mut headers = HeaderMap::new();
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        let uri = Uri::from_static("/agent/login");
        let refused = refuse_foreign_page(&headers, &uri, "http://127.0.0.1:8080", "sign in here");
        assert!(matches!(refused, Err(ApiError::CrossSite("sign in here"))));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(refuse_foreign_page(&headers, &uri, "http://127.0.0.1:8080", "x").is_ok());
    }
}
