//! The error type of services and `db`: what went wrong, with a stable
//! [`ErrorCode`], a message that says what to fix and, where it applies,
//! the offending field. It knows nothing of HTTP: `api::error` turns it
//! into a status and the JSON body at the edge. Anything unexpected is an
//! `Internal` (logged there, answered generically) or, when the database is
//! unreachable, `Unavailable`.

mod code;
mod db;

pub use code::ErrorCode;

/// `Result` with this module's error by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem of an invalid manifest, with its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A failure a service or the database reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is wrong: the request as a whole or one field of it.
    #[error("{message}")]
    Invalid {
        code: ErrorCode,
        message: String,
        field: Option<String>,
    },
    /// A manifest with problems, every one listed with its JSON path.
    #[error("{message}")]
    InvalidManifest {
        message: String,
        problems: Vec<Problem>,
    },
    /// No or unknown credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials that were good but no longer are: an expired or revoked
    /// customer portal link (the code says which, so the portal can).
    #[error("{message}")]
    Denied { code: ErrorCode, message: String },
    /// The token lacks a scope.
    #[error("{0}")]
    Forbidden(String),
    /// The named resource does not exist (or is not the caller's to see).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with stored state.
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// Over a rate limit: try again after `retry_after_secs`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The database (or another dependency) is unreachable right now;
    /// nothing was written.
    #[error("{0}")]
    Unavailable(String),
    /// The database refused a write for lack of space (a full disk or
    /// volume); nothing was written. It recovers once space is freed.
    #[error("{0}")]
    StorageFull(String),
    /// A bug or an unexpected failure; the detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A field whose value is wrong (`invalid_field`).
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::field_code(ErrorCode::InvalidField, field, message)
    }

    /// A field whose value is wrong, with a specific code.
    pub fn field_code(
        code: ErrorCode,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A problem with the request as a whole (its body, query or path).
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// A conflict with stored state.
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    /// `limit_reached`: the organization has `max` of `what` already, the
    /// most `variable` allows.
    pub fn limit_reached(what: &str, max: i64, variable: &str) -> Self {
        Error::conflict(
            ErrorCode::LimitReached,
            format!("this organization already has {max} {what}, the most allowed ({variable}); delete one first"),
        )
    }

    /// `what` with `id` does not exist.
    pub fn not_found(what: &str, id: &str) -> Self {
        Error::NotFound(format!("{what} '{id}' does not exist"))
    }

    /// An unexpected failure, from any displayable cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    /// The code clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid { code, .. }
            | Error::Conflict { code, .. }
            | Error::Denied { code, .. } => *code,
            Error::InvalidManifest { .. } => ErrorCode::InvalidManifest,
            Error::Unauthorized(_) => ErrorCode::Unauthorized,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::StorageFull(_) => ErrorCode::StorageFull,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Unavailable(e.to_string())
    }
}
