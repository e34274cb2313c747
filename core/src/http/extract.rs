//! Extractors whose rejections speak the API's error shape instead of axum's plain text.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

/// A JSON body. Malformed JSON is 400, a body of the wrong shape 422, a too large one 413.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::BadRequest(format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            let field = field_of(&text);
            ApiError::Validation {
                field,
                message: text,
            }
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge("the request body is larger than the server accepts".into())
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// serde_path_to_error names the failing path before a colon: "Failed to deserialize the JSON
/// body into the target type: scopes[0]: unknown variant …". Unknown or missing fields name
/// the field in backticks.
fn field_of(text: &str) -> String {
    let detail = text.split_once("type: ").map_or(text, |(_, rest)| rest);
    if let Some((path, _)) = detail.split_once(": ")
        && !path.contains(' ')
        && path != "."
    {
        return path.to_string();
    }
    detail
        .split('`')
        .nth(1)
        .map_or_else(|| "body".to_string(), str::to_string)
}

/// Query parameters; a bad one is 400 naming it.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// A page size from the query: `default` when absent, 400 naming `limit` outside 1 to `max` (the
/// bounds the OpenAPI document declares).
pub fn page_limit(limit: Option<u64>, default: u64, max: u64) -> Result<u64, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest(format!("limit: must be 1 to {max}")))
    }
}

/// Path parameters; an id that does not parse (a malformed UUID) is 400 naming the parameter: the
/// request is wrong, not the thing it names missing.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| match e {
                PathRejection::FailedToDeserializePathParams(e) => {
                    ApiError::BadRequest(path_error(e.kind()))
                }
                other => ApiError::BadRequest(other.body_text()),
            })
    }
}

/// Every typed path parameter of the API is an id (a UUID); names are strings and always parse.
fn path_error(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ParseErrorAtKey { key, .. }
        | ErrorKind::DeserializeError { key, .. }
        | ErrorKind::InvalidUtf8InPathParam { key } => {
            format!("{key}: not a valid id (ids are UUIDs)")
        }
        _ => "a path parameter is not a valid id (ids are UUIDs)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{field_of, path_error};
    use axum::extract::path::ErrorKind;

    #[test]
    fn names_the_malformed_path_parameter() {
        let kind = ErrorKind::DeserializeError {
            key: "id".into(),
            value: "nope".into(),
            message: "invalid character".into(),
        };
        assert_eq!(path_error(&kind), "id: not a valid id (ids are UUIDs)");
    }

    #[test]
    fn names_the_failing_field() {
        assert_eq!(
            field_of(
                "Failed to deserialize the JSON body into the target type: scopes[0]: unknown variant `x`"
            ),
            "scopes[0]"
        );
        assert_eq!(
            field_of(
                "Failed to deserialize the JSON body into the target type: unknown field `nmae`, expected one of `name`"
            ),
            "nmae"
        );
        assert_eq!(
            field_of(
                "Failed to deserialize the JSON body into the target type: missing field `body` at line 1 column 2"
            ),
            "body"
        );
    }
}
