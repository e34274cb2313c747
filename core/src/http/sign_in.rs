//! Console sign-in and sign-out: `POST /agent/login` (an HTML form or JSON) and `POST /agent/logout`.
//! Both end in the same session cookie an agent chat URL sets.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::domain::DomainError;
use crate::http::console;
use crate::http::error::ApiError;
use crate::http::extract::Json;
use crate::http::session::{self, ClientAddress};
use crate::wire::AgentDto;

/// What a page that is not the console's is told (another site's form must not sign an agent in or
/// out, nor plant a session of its own).
const SIGN_IN_HERE: &str = "sign in and out from the console's own pages";

/// Where the console lives; `next` may only point inside it.
const CONSOLE_HOME: &str = "/agent/";

/// Email and password, as a form (`application/x-www-form-urlencoded`) or JSON. No `Debug`: it
/// holds a password.
#[derive(Deserialize, ToSchema)]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
    /// Where to go after signing in (forms only): a path inside `/agent/`.
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SignedInDto {
    pub agent: AgentDto,
}

/// `POST /agent/login`: signs an agent in with email and password and sets the session cookie.
///
/// A form gets `303` to the console (or `next`), or the sign-in page again with the reason; JSON
/// gets `200 {"agent": …}` or an error. Failures say the same whatever was wrong, and take as long.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(from): ClientAddress,
    request: Request,
) -> Result<Response, ApiError> {
    session::refuse_foreign_page(
        request.headers(),
        request.uri(),
        &state.base_url,
        SIGN_IN_HERE,
    )?;
    let is_form = is_form(request.headers());
    let body = if is_form {
        match axum::Form::<SignInRequest>::from_request(request, &state).await {
            Ok(axum::Form(body)) => body,
            Err(_) => {
                return Ok(form_failure(
                    StatusCode::BAD_REQUEST,
                    "Enter your email and password.",
                ));
            }
        }
    } else {
        Json::<SignInRequest>::from_request(request, &state)
            .await?
            .0
    };
    let signed_in = match state
        .logins
        .sign_in(&body.email, &body.password, from)
        .await
    {
        Ok(signed_in) => signed_in,
        Err(DomainError::SignInFailed) if is_form => {
            return Ok(form_failure(
                StatusCode::UNAUTHORIZED,
                "That email and password do not match an agent.",
            ));
        }
        Err(DomainError::RateLimited) if is_form => {
            return Ok(form_failure(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts. Wait a few minutes and try again.",
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let cookie = session::set_cookie(
        &state,
        &signed_in.session.session,
        signed_in.session.max_age_seconds,
    )?;
    let mut response = if is_form {
        let next = body
            .next
            .filter(|n| is_console_path(n))
            .unwrap_or_else(|| CONSOLE_HOME.into());
        (StatusCode::SEE_OTHER, [(LOCATION, next)]).into_response()
    } else {
        let status = state.chat.agent_status(signed_in.agent.id);
        axum::Json(SignedInDto {
            agent: AgentDto::new(&signed_in.agent, status),
        })
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(SET_COOKIE, cookie);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /agent/logout`: ends the session and clears the cookie. `204` for scripts, `303` to the
/// sign-in page for forms.
pub async fn sign_out(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    session::refuse_foreign_page(&headers, &uri, &state.base_url, SIGN_IN_HERE)?;
    if let Some(session) = session::session_cookie(&headers) {
        state.logins.sign_out(session).await?;
    }
    let wants_json = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let mut response = if wants_json {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::SEE_OTHER, [(LOCATION, "/agent/login")]).into_response()
    };
    response
        .headers_mut()
        .insert(SET_COOKIE, session::clear_cookie(&state));
    Ok(response)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// A path inside the console, never another host (`//evil.example`) or scheme.
fn is_console_path(next: &str) -> bool {
    next.starts_with(CONSOLE_HOME)
        && !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
}

fn form_failure(status: StatusCode, message: &'static str) -> Response {
    console::login_failed(status, message)
}

#[cfg(test)]
mod tests {
    use super::is_console_path;

    #[test]
    fn next_stays_inside_the_console() {
        assert!(is_console_path("/agent/"));
        assert!(is_console_path("/agent/#conversation=0193"));
        assert!(!is_console_path("//evil.example/agent/"));
        assert!(!is_console_path("/agent//evil.example"));
        assert!(!is_console_path("https://evil.example/agent/"));
        assert!(!is_console_path("/agent/\\evil"));
        assert!(!is_console_path("/api/v1/agents"));
    }
}
