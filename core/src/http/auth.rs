//! Authentication for `/api/v1`: an API token (`Authorization: Bearer …`), or the console's session
//! cookie of an agent with the `admin` role. 401 without usable credentials, 403 without the scope.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use crate::app::AppState;
use crate::domain::DomainError;
use crate::domain::audit::AuditActor;
use crate::domain::model::{Agent, AgentRole, ApiToken};
use crate::domain::scope::Scope;
use crate::domain::tokens::TokenRejection;
use crate::http::error::ApiError;
use crate::http::session;

/// The header every change the console makes with its session carries. Browsers do not let another
/// site's page add it to a request to this server without a CORS preflight, which is never granted.
pub const CONSOLE_HEADER: &str = "x-natter-console";

/// A scope a route needs, as a type, so the check happens during extraction: before the body is
/// read, and impossible to forget in a handler.
pub trait Needs: Send + Sync {
    const SCOPE: Scope;
}

/// The marker types, one per scope.
pub mod need {
    use crate::domain::scope::Scope;
    use crate::http::auth::Needs;

    macro_rules! needs {
        ($($name:ident),*) => {$(
            pub struct $name;
            impl Needs for $name {
                const SCOPE: Scope = Scope::$name;
            }
        )*};
    }

    needs!(
        Admin,
        ConversationsRead,
        ConversationsWrite,
        AgentsRead,
        AgentsWrite,
        AgentLinksCreate,
        SitesRead,
        RulesRead,
        RulesWrite,
        VisibilityRead,
        VisibilityWrite,
        WebhooksRead,
        WebhooksWrite,
        WidgetRead,
        WidgetWrite
    );
}

/// Who is calling: an API token, or an admin signed in to the console.
#[derive(Debug, Clone)]
pub enum Actor {
    Token(ApiToken),
    Admin(Agent),
}

impl Actor {
    /// Whether the caller may do what `scope` allows. An admin's session holds every scope.
    pub fn holds(&self, scope: Scope) -> bool {
        match self {
            Actor::Token(token) => token.scopes.iter().any(|held| held.grants(scope)),
            Actor::Admin(_) => true,
        }
    }

    pub fn audit(&self) -> AuditActor {
        match self {
            Actor::Token(token) => AuditActor::token(token),
            Actor::Admin(agent) => AuditActor::agent(agent),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Token(token) => write!(f, "token {}", token.id),
            Actor::Admin(agent) => write!(f, "admin {}", agent.id),
        }
    }
}

/// The caller, checked for valid credentials and the scope `S`.
pub struct Caller<S: Needs> {
    pub actor: Actor,
    _scope: PhantomData<S>,
}

impl<S: Needs> FromRequestParts<AppState> for Caller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = actor_of(&parts.method, &parts.headers, state).await?;
        if !actor.holds(S::SCOPE) {
            return Err(ApiError::Forbidden(S::SCOPE));
        }
        if let Some(slot) = parts.extensions.get::<ActorSlot>() {
            slot.fill(&actor);
        }
        Ok(Caller {
            actor,
            _scope: PhantomData,
        })
    }
}

/// Where the audit layer learns who made a change: the extractor fills it, the layer reads it
/// after the handler answered.
#[derive(Clone, Default)]
pub struct ActorSlot(Arc<Mutex<Option<AuditActor>>>);

impl ActorSlot {
    fn fill(&self, actor: &Actor) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(actor.audit());
        }
    }

    pub fn take(&self) -> Option<AuditActor> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The credentials of a request: the bearer token when one is sent (never falling back to the
/// cookie, so a bad token is always reported as such), else the console session.
async fn actor_of(
    method: &Method,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Actor, ApiError> {
    if headers.contains_key(AUTHORIZATION) {
        return Ok(Actor::Token(token_of(headers, state).await?));
    }
    let Some(session) = session::session_cookie(headers) else {
        return Err(rejection(TokenRejection::Missing));
    };
    session::refuse_cross_site(
        headers,
        "the API takes a console session from the console's own pages",
    )?;
    let agent = match state.links.session_agent(session).await {
        Ok(agent) => agent,
        Err(DomainError::LinkInvalid) => {
            return Err(ApiError::Unauthorized(
                "the console session has expired: sign in again",
            ));
        }
        Err(other) => return Err(other.into()),
    };
    if agent.role != AgentRole::Admin {
        return Err(ApiError::NotAdmin);
    }
    let reads_only = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let marked = headers
        .get(CONSOLE_HEADER)
        .is_some_and(|value| value.as_bytes() == b"1");
    if !reads_only && !marked {
        return Err(ApiError::ConsoleHeaderMissing);
    }
    Ok(Actor::Admin(agent))
}

async fn token_of(headers: &HeaderMap, state: &AppState) -> Result<ApiToken, ApiError> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return Err(rejection(TokenRejection::Missing));
    };
    state
        .tokens
        .authenticate(presented)
        .await?
        .map_err(rejection)
}

fn rejection(why: TokenRejection) -> ApiError {
    ApiError::Unauthorized(match why {
        TokenRejection::Missing => {
            "send an API token as `Authorization: Bearer ntr_…` (or sign in to the console as an admin)"
        }
        TokenRejection::Unknown => "the API token is not valid",
        TokenRejection::Expired => "the API token has expired",
        TokenRejection::Revoked => "the API token has been revoked",
    })
}

/// The caller's API token checked for a scope known only at run time: plugin routes declare theirs.
/// Plugin routes serve integrations, so they take tokens only. Answers as [`Caller`] does.
pub async fn authenticate(
    headers: &HeaderMap,
    state: &AppState,
    scope: Scope,
) -> Result<ApiToken, ApiError> {
    let token = token_of(headers, state).await?;
    if !token.scopes.iter().any(|held| held.grants(scope)) {
        return Err(ApiError::Forbidden(scope));
    }
    Ok(token)
}
