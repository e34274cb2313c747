//! API tokens: created with scopes and shown once, stored hashed, checked on every request.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::DomainError;
use crate::domain::clock::Clock;
use crate::domain::ids::TokenId;
use crate::domain::model::ApiToken;
use crate::domain::scope::Scope;
use crate::domain::secret;
use crate::store::Store;
use crate::store::tokens::NewToken;

/// The recognisable start of every API token, so secret scanners and people can spot one.
pub const TOKEN_PREFIX: &str = "ntr_";

/// A token just created: the only moment its secret is known.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// Why a presented token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

#[derive(Clone)]
pub struct Tokens {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Tokens {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn create(
        &self,
        name: &str,
        scopes: Vec<Scope>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<CreatedToken, DomainError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(DomainError::invalid("name", "must be 1 to 100 characters"));
        }
        if scopes.is_empty() {
            return Err(DomainError::invalid(
                "scopes",
                "at least one scope is required",
            ));
        }
        let now = self.clock.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(DomainError::invalid("expires_at", "must be in the future"));
        }
        let generated = secret::generate(TOKEN_PREFIX);
        let token = self
            .store
            .insert_token(
                NewToken {
                    name: name.to_string(),
                    prefix: generated.plain[..TOKEN_PREFIX.len() + 6].to_string(),
                    hash: generated.hash,
                    scopes,
                    expires_at,
                },
                now,
            )
            .await?;
        Ok(CreatedToken {
            token,
            secret: generated.plain,
        })
    }

    pub async fn list(&self) -> Result<Vec<ApiToken>, DomainError> {
        Ok(self.store.list_tokens().await?)
    }

    pub async fn revoke(&self, id: TokenId) -> Result<(), DomainError> {
        if self.store.revoke_token(id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(DomainError::NotFound("token"))
        }
    }

    /// The active token behind a presented secret. Records when it was last used.
    pub async fn authenticate(
        &self,
        presented: &str,
    ) -> Result<Result<ApiToken, TokenRejection>, DomainError> {
        if !presented.starts_with(TOKEN_PREFIX) {
            return Ok(Err(TokenRejection::Unknown));
        }
        let Some(token) = self.store.token_by_hash(&secret::hash(presented)).await? else {
            return Ok(Err(TokenRejection::Unknown));
        };
        let now = self.clock.now();
        if token.revoked_at.is_some() {
            return Ok(Err(TokenRejection::Revoked));
        }
        if !token.is_active(now) {
            return Ok(Err(TokenRejection::Expired));
        }
        // Only write when the stored time is stale, so busy integrations do not write on every call.
        if token
            .last_used_at
            .is_none_or(|at| now - at > chrono::Duration::minutes(1))
        {
            self.store.touch_token(token.id, now).await?;
        }
        Ok(Ok(token))
    }
}
