//! The one mapping from what went wrong to an HTTP status and a `{"error":{"code","message"}}` body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::DomainError;
use crate::domain::integrations::IntegrationError;
use crate::domain::scope::Scope;
use crate::domain::widget::WidgetError;
use crate::plugins::PluginError;
use crate::store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// No usable credentials: missing, unknown, expired or revoked.
    Unauthorized(&'static str),
    /// Valid credentials without the scope this route needs.
    Forbidden(Scope),
    /// A console session of an agent without the `admin` role on an admin route.
    NotAdmin,
    /// A console session changing something without the console's request header: another site's
    /// page may be driving the browser.
    ConsoleHeaderMissing,
    NotFound(&'static str),
    /// Like `NotFound`, for what a plugin route names at run time (`agent`).
    Missing(String),
    /// A browser on a page whose origin the site does not allow.
    OriginNotAllowed,
    /// A browser on a page that is not the console's (another site's, or another origin's): what it
    /// may not do there.
    CrossSite(&'static str),
    /// The body or query is not what the route takes (malformed JSON, a bad parameter).
    BadRequest(String),
    /// Well-formed input that is not acceptable; names the field.
    Validation {
        field: String,
        message: String,
    },
    /// A document a plugin refused: every offending field with its own message, in the plugin's order.
    InvalidFields(Vec<FieldProblem>),
    /// A rule script that does not compile, with where.
    Script {
        line: usize,
        column: usize,
        message: String,
    },
    PayloadTooLarge(String),
    UnsupportedMediaType,
    /// The path exists, not with this method; the response's `Allow` header lists the methods.
    MethodNotAllowed,
    Conflict(String),
    RateLimited,
    /// A plugin the route needs is missing, disabled or failed this call. The host logged the detail.
    PluginUnavailable(String),
    /// Something failed on our side. The detail is logged once and never sent.
    Internal(String),
    /// A mail route on a server without `[mail]` configured.
    MailDisabled,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code, e.g. `not_found` or `validation_failed`.
    pub code: &'static str,
    pub message: String,
    /// The offending field, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every offending field of a document a plugin validated (`validation_failed` from the widget,
    /// co-browse and integration plugins' configuration routes), so a form can show each message next
    /// to its field. `field` above is the first of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldProblem>>,
    /// Where in a script, for `script_invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// One field a plugin refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's path in the document: property names joined with `.`, array items by index
    /// (`color`, `mask_selectors.1`); empty for the document as a whole.
    pub field: String,
    pub message: String,
}

impl ApiError {
    fn parts(self) -> (StatusCode, &'static str, String, Option<String>) {
        match self {
            ApiError::Script {
                line,
                column,
                message,
            } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "script_invalid",
                format!("script: line {line}, column {column}: {message}"),
                Some("script".into()),
            ),
            ApiError::Unauthorized(why) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                why.to_string(),
                None,
            ),
            ApiError::Forbidden(scope) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this token lacks the `{scope}` scope"),
                None,
            ),
            ApiError::NotAdmin => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "this needs an agent with the admin role".into(),
                None,
            ),
            ApiError::ConsoleHeaderMissing => (
                StatusCode::FORBIDDEN,
                "csrf",
                "a change made with the console's session must carry the header `X-Natter-Console: 1`"
                    .into(),
                None,
            ),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
                None,
            ),
            ApiError::Missing(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
                None,
            ),
            ApiError::OriginNotAllowed => (
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "this page's origin may not open the chat of this site".into(),
                None,
            ),
            ApiError::CrossSite(why) => (
                StatusCode::FORBIDDEN,
                "cross_site",
                why.into(),
                None,
            ),
            ApiError::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, "bad_request", message, None)
            }
            ApiError::Validation { field, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("{field}: {message}"),
                Some(field),
            ),
            ApiError::InvalidFields(problems) => {
                let field = problems
                    .first()
                    .map(|p| p.field.clone())
                    .filter(|f| !f.is_empty())
                    .unwrap_or_else(|| "body".to_string());
                let message = problems
                    .iter()
                    .map(|p| match p.field.as_str() {
                        "" => p.message.clone(),
                        name => format!("{name}: {}", p.message),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    message,
                    Some(field),
                )
            }
            ApiError::PayloadTooLarge(message) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                message,
                None,
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`".into(),
                None,
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take this method; the `Allow` header lists the ones it takes"
                    .into(),
                None,
            ),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, "conflict", message, None),
            ApiError::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests, slow down".into(),
                None,
            ),
            ApiError::PluginUnavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "plugin_unavailable",
                message,
                None,
            ),
            ApiError::MailDisabled => (
                StatusCode::SERVICE_UNAVAILABLE,
                "mail_disabled",
                "mail is not configured on this server: set [mail] smtp_url".into(),
                None,
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on the server; it has been logged".into(),
                    None,
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let position = match &self {
            ApiError::Script { line, column, .. } => (Some(*line), Some(*column)),
            _ => (None, None),
        };
        let fields = match &self {
            ApiError::InvalidFields(problems) => Some(problems.clone()),
            _ => None,
        };
        let (status, code, message, field) = self.parts();
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                field,
                fields,
                line: position.0,
                column: position.1,
            },
        };
        (status, Json(body)).into_response()
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound(what) => ApiError::NotFound(what),
            DomainError::Invalid { field, message } => ApiError::Validation { field, message },
            DomainError::Conflict(message) => ApiError::Conflict(message),
            DomainError::Script {
                line,
                column,
                message,
            } => ApiError::Script {
                line,
                column,
                message,
            },
            DomainError::LinkInvalid => ApiError::Unauthorized("session is invalid or expired"),
            DomainError::RateLimited => ApiError::RateLimited,
            DomainError::SignInFailed => {
                ApiError::Unauthorized("the email or password is not right")
            }
            DomainError::Internal(detail) => ApiError::Internal(detail),
            DomainError::MailDisabled => ApiError::MailDisabled,
            DomainError::Store(store) => store.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Closed => ApiError::Conflict("conversation is closed".into()),
            StoreError::Db(_) | StoreError::Corrupt(_) => ApiError::Internal(err.to_string()),
        }
    }
}

impl From<PluginError> for ApiError {
    fn from(err: PluginError) -> Self {
        match err {
            PluginError::NotFound(_) => ApiError::NotFound("plugin"),
            PluginError::Host(detail) => ApiError::Internal(detail),
            PluginError::Call { .. }
            | PluginError::ApiVersion { .. }
            | PluginError::Invalid { .. }
            | PluginError::Disabled(_)
            | PluginError::WrongKind { .. } => ApiError::PluginUnavailable(err.to_string()),
        }
    }
}

impl From<IntegrationError> for ApiError {
    fn from(err: IntegrationError) -> Self {
        match err {
            IntegrationError::Invalid(errors) => WidgetError::Invalid(errors).into(),
            IntegrationError::Plugin(plugin) => plugin.into(),
            IntegrationError::Store(store) => store.into(),
        }
    }
}

impl From<WidgetError> for ApiError {
    fn from(err: WidgetError) -> Self {
        match err {
            WidgetError::UnknownSite => ApiError::NotFound("site"),
            WidgetError::Invalid(errors) => ApiError::InvalidFields(
                errors
                    .into_iter()
                    .map(|e| FieldProblem {
                        field: e.field,
                        message: e.message,
                    })
                    .collect(),
            ),
            // The widget route needs its plugin: a missing one is the server's state, not the caller's path.
            WidgetError::Plugin(PluginError::NotFound(name)) => {
                ApiError::PluginUnavailable(format!("the widget plugin \"{name}\" is not loaded"))
            }
            WidgetError::Plugin(plugin) => plugin.into(),
            WidgetError::Store(store) => store.into(),
        }
    }
}

impl From<crate::domain::cobrowse::CobrowseError> for ApiError {
    fn from(err: crate::domain::cobrowse::CobrowseError) -> Self {
        use crate::domain::cobrowse::CobrowseError;
        match err {
            // The same shape as the widget's: the plugin's field errors become one 422.
            CobrowseError::Invalid(errors) => WidgetError::Invalid(errors).into(),
            CobrowseError::Plugin(PluginError::NotFound(name)) => ApiError::PluginUnavailable(
                format!("the co-browse plugin \"{name}\" is not loaded"),
            ),
            CobrowseError::Plugin(plugin) => plugin.into(),
            CobrowseError::Domain(domain) => domain.into(),
        }
    }
}
