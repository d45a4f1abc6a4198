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
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // The database's own text names tables and constraints: log
                // it, answer with the API's field name.
                tracing::debug!(detail = %info.message(), "unique violation");
                ApiError::Conflict {
                    code: "conflict",
                    message: unique_message(info.constraint_name(), info.message()),
                }
            }
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

/// Unique constraints by their SQLite message part (`table.column`, first
/// column) and PostgreSQL constraint name, with the API field they guard.
const UNIQUE_FIELDS: &[(&str, &str, &str)] = &[
    ("users.email_key", "users_email_key_key", "email"),
    ("event_types.name", "event_types_pkey", "name"),
    (
        "events.idempotency_key",
        "events_idempotency_key_key",
        "Idempotency-Key",
    ),
    (
        "api_tokens.token_hash",
        "api_tokens_token_hash_key",
        "token",
    ),
    (
        "integration_config.integration_id",
        "integration_config_pkey",
        "key",
    ),
    ("oauth_states.state", "oauth_states_pkey", "state"),
];

/// The 409 message for a unique violation: the field it concerns, never
/// the database's wording.
fn unique_message(constraint: Option<&str>, db_message: &str) -> String {
    let known = UNIQUE_FIELDS.iter().find(|(sqlite, pg, _)| {
        constraint == Some(*pg) || db_message.contains(&format!("failed: {sqlite}"))
    });
    match known {
        Some((_, _, field)) => {
            format!("`{field}` must be unique: another record already has this value")
        }
        // Every other unique key is a generated id.
        None => "`id` must be unique: a record with this id already exists; retry".into(),
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

    /// A database error as SQLite or PostgreSQL report it.
    struct Info(&'static str, Option<&'static str>);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.1
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn unique(info: Info) -> String {
        use diesel::result::{DatabaseErrorKind, Error};
        match ApiError::from(Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(info),
        )) {
            ApiError::Conflict { message, .. } => message,
            other => panic!("not a conflict: {other:?}"),
        }
    }

    #[test]
    fn unique_violations_name_the_field_not_the_database() {
        for (info, field) in [
            (Info("UNIQUE constraint failed: users.email_key", None), "`email`"),
            (
                Info(
                    "duplicate key value violates unique constraint \"users_email_key_key\"",
                    Some("users_email_key_key"),
                ),
                "`email`",
            ),
            (Info("UNIQUE constraint failed: event_types.name", None), "`name`"),
            (
                Info("duplicate key value violates unique constraint \"event_types_pkey\"", Some("event_types_pkey")),
                "`name`",
            ),
            (
                Info("UNIQUE constraint failed: events.idempotency_key", None),
                "`Idempotency-Key`",
            ),
            (
                Info("UNIQUE constraint failed: integration_config.integration_id, integration_config.key", None),
                "`key`",
            ),
            (Info("UNIQUE constraint failed: runs.id", None), "`id`"),
        ] {
            let shown = info.0;
            let message = unique(info);
            assert!(message.contains(field), "{shown} -> {message}");
            for leak in ["UNIQUE", "constraint", "duplicate key", "_pkey", "email_key"] {
                assert!(!message.contains(leak), "{shown} -> {message}");
            }
        }
    }
}
