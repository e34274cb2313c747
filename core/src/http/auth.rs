//! Bearer-token authentication for `/api/v1`: 401 without a usable token, 403 without the scope.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::domain::model::ApiToken;
use crate::domain::scope::Scope;
use crate::domain::tokens::TokenRejection;
use crate::http::error::ApiError;

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

/// The caller's API token, checked for presence, validity and the scope `S`.
pub struct Caller<S: Needs> {
    pub token: ApiToken,
    _scope: PhantomData<S>,
}

impl<S: Needs> FromRequestParts<AppState> for Caller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(presented) = presented else {
            return Err(rejection(TokenRejection::Missing));
        };
        let token = state
            .tokens
            .authenticate(presented)
            .await?
            .map_err(rejection)?;
        if !token.scopes.iter().any(|held| held.grants(S::SCOPE)) {
            return Err(ApiError::Forbidden(S::SCOPE));
        }
        Ok(Caller {
            token,
            _scope: PhantomData,
        })
    }
}

fn rejection(why: TokenRejection) -> ApiError {
    ApiError::Unauthorized(match why {
        TokenRejection::Missing => "send an API token as `Authorization: Bearer ntr_…`",
        TokenRejection::Unknown => "the API token is not valid",
        TokenRejection::Expired => "the API token has expired",
        TokenRejection::Revoked => "the API token has been revoked",
    })
}

/// The caller's API token checked for a scope known only at run time: plugin routes declare theirs.
/// Answers exactly as [`Caller`] does.
pub async fn authenticate(
    headers: &axum::http::HeaderMap,
    state: &AppState,
    scope: Scope,
) -> Result<ApiToken, ApiError> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return Err(rejection(TokenRejection::Missing));
    };
    let token = state
        .tokens
        .authenticate(presented)
        .await?
        .map_err(rejection)?;
    if !token.scopes.iter().any(|held| held.grants(scope)) {
        return Err(ApiError::Forbidden(scope));
    }
    Ok(token)
}
