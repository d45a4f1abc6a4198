//! One error type for the whole HTTP surface.
//!
//! Every failure a client can cause maps to a 4xx with a stable snake_case
//! `code`, a `message` that says what to fix and, where it applies, the
//! offending `field`. Anything else is logged and answered with a generic 500
//! (or 503 when the database is unreachable) so internals never leak.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

/// Result alias used by handlers and services.
pub type ApiResult<T> = Result<T, ApiError>;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400/413/415/422-class problems with the request itself.
    #[error("{message}")]
    Invalid {
        status: StatusCode,
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// 422: a manifest with problems, every one listed with its JSON path.
    #[error("{message}")]
    InvalidManifest {
        message: String,
        problems: Vec<crate::manifest::validate::Problem>,
    },
    /// 401: no or unknown credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token lacks a scope.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the named resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with stored state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 503: the database (or another dependency) is unreachable right now.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; the detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 422 for a field whose value is wrong.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field",
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// 422 with a specific code for a field.
    pub fn field_code(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A request-level problem with an explicit status and code.
    pub fn bad_request(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 404 for `what` with `id`.
    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::NotFound(format!("{what} '{id}' does not exist"))
    }

    /// 500 from any displayable cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid { code, .. } | ApiError::Conflict { code, .. } => code,
            ApiError::InvalidManifest { .. } => "invalid_manifest",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Every problem of an invalid manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [crate::manifest::validate::Problem]>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid { status, .. } => *status,
            ApiError::InvalidManifest { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error; the gateway logged the details".to_string()
            }
            ApiError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "dependency unavailable");
                "the database is unavailable; retry shortly (nothing was written)".to_string()
            }
            other => other.to_string(),
        };
        let (field, problems) = match self {
            ApiError::Invalid { field, .. } => (field.as_deref(), None),
            ApiError::InvalidManifest { problems, .. } => (
                problems.first().map(|p| p.path.as_str()),
                Some(problems.as_slice()),
            ),
            _ => (None, None),
        };
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.json(Body {
            error: Detail {
                code: self.code(),
                message,
                field,
                problems,
            },
        })
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::NotFound("no such record".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => ApiError::Conflict {
                code: "conflict",
                message: format!("already exists: {}", info.message()),
            },
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                ApiError::Unavailable("database connection closed".into())
            }
            Error::DatabaseError(_, ref info) if is_outage(info.message()) => {
                ApiError::Unavailable(info.message().to_string())
            }
            Error::BrokenTransactionManager => {
                ApiError::Unavailable("database connection broken".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Messages of a database that is restarting, unreachable, busy or that
/// chose this transaction as a deadlock victim: the client should retry,
/// and nothing was written.
fn is_outage(message: &str) -> bool {
    const SIGNS: &[&str] = &[
        "database is locked",
        "terminating connection",
        "server closed the connection",
        "connection to server",
        "could not connect",
        "the database system is",
        "no connection to the server",
        "SSL connection has been closed",
        // Transient conflicts: retrying succeeds.
        "deadlock detected",
        "could not serialize access",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn error_json_shape_is_stable() {
        let resp = ApiError::field("url", "must be an absolute http(s) URL").error_response();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = to_bytes(resp.into_body()).await.unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"error":{"code":"invalid_field","message":"must be an absolute http(s) URL","field":"url"}}"#
        );
    }

    #[actix_web::test]
    async fn internal_errors_do_not_leak_details() {
        let resp = ApiError::internal("secret stack detail").error_response();
        let body = to_bytes(resp.into_body()).await.unwrap();
        assert!(!std::str::from_utf8(&body)
            .unwrap()
            .contains("secret stack detail"));
    }
}
