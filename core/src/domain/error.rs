//! What can go wrong in the domain. The HTTP layer maps each variant to one status and code.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that is well-formed but not acceptable; `field` names what to fix.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// A rule script that does not compile.
    #[error("script: line {line}, column {column}: {message}")]
    Script {
        line: usize,
        column: usize,
        message: String,
    },
    /// The link or session is unknown, expired or already used.
    #[error("link or session is invalid, expired or already used")]
    LinkInvalid,
    #[error("too many messages, slow down")]
    RateLimited,
    /// An email and password that do not sign anyone in. Deliberately says no more than that.
    #[error("the email or password is not right")]
    SignInFailed,
    /// Something on our side failed that is not storage (a worker thread stopped). Logged once.
    #[error("internal: {0}")]
    Internal(String),
    /// Mail is not configured (`[mail]` has no `smtp_url`).
    #[error("mail is not configured on this server")]
    MailDisabled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
