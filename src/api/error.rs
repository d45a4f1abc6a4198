//! The HTTP edge of [`Error`]: each code's status, and the JSON body
//! `{"error": {"code", "message", "field"?, "problems"?}}`. Internal and
//! unavailable errors are logged here with their cause and answered
//! without it.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::{Error, ErrorCode, Problem};

/// `Retry-After` of a write refused for lack of space: freeing space takes
/// an operator, so clients should not hammer a full database.
pub const STORAGE_FULL_RETRY_SECS: u64 = 30;

/// The HTTP status of each code.
pub fn status(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        MalformedJson | MalformedBody | InvalidQuery | InvalidPath => StatusCode::BAD_REQUEST,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Unauthorized | PortalLinkExpired | PortalLinkRevoked => StatusCode::UNAUTHORIZED,
        Forbidden => StatusCode::FORBIDDEN,
        NotFound => StatusCode::NOT_FOUND,
        InvalidBody | InvalidField | InvalidUrl | ForbiddenTarget | UnknownEventType
        | ReservedEventType | ReservedOrigin | InvalidEvent | MissingEntity | InvalidEntity
        | UnknownUser | InvalidManifest => StatusCode::UNPROCESSABLE_ENTITY,
        Conflict
        | EventTypeExists
        | IdempotencyKeyReused
        | WebhookDeleted
        | WebhookDisabled
        | CannotResendBatchAsForm
        | EmailTaken
        | CannotRevoke
        | CannotRerun
        | NoOauth
        | OauthFailed
        | OrganizationNotEmpty
        | LimitReached => StatusCode::CONFLICT,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Unavailable | StorageFull => StatusCode::SERVICE_UNAVAILABLE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: ErrorCode,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Every problem of an invalid manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [Problem]>,
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status(self.code())
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error; the gateway logged the details".to_string()
            }
            Error::Unavailable(detail) => {
                tracing::warn!(error = %detail, "dependency unavailable");
                "the database is unavailable; retry shortly (nothing was written)".to_string()
            }
            Error::StorageFull(detail) => {
                tracing::error!(error = %detail, "the database has no space left for writes");
                format!("the database has no space left to write (nothing was written): the operator must free disk space; retry in {STORAGE_FULL_RETRY_SECS} s")
            }
            other => other.to_string(),
        };
        let (field, problems) = match self {
            Error::Invalid { field, .. } => (field.as_deref(), None),
            Error::InvalidManifest { problems, .. } => (
                problems.first().map(|p| p.path.as_str()),
                Some(problems.as_slice()),
            ),
            _ => (None, None),
        };
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, Error::Unauthorized(_) | Error::Denied { .. }) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        match self {
            Error::RateLimited {
                retry_after_secs, ..
            } => {
                resp.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            Error::StorageFull(_) => {
                resp.insert_header(("Retry-After", STORAGE_FULL_RETRY_SECS.to_string()));
            }
            _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn error_json_shape_is_stable() {
        let resp = Error::field("url", "must be an absolute http(s) URL").error_response();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = to_bytes(resp.into_body()).await.unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"error":{"code":"invalid_field","message":"must be an absolute http(s) URL","field":"url"}}"#
        );
    }

    #[actix_web::test]
    async fn internal_errors_do_not_leak_details() {
        let resp = Error::internal("secret stack detail").error_response();
        let body = to_bytes(resp.into_body()).await.unwrap();
        assert!(!std::str::from_utf8(&body)
            .unwrap()
            .contains("secret stack detail"));
    }

    /// Every code: its status and JSON shape, pinned; and `openapi.yaml`
    /// lists exactly the registry's codes.
    #[actix_web::test]
    async fn every_code_has_its_status_and_shape() {
        let expected: &[(&str, u16)] = &[
            ("malformed_json", 400),
            ("malformed_body", 400),
            ("invalid_query", 400),
            ("invalid_path", 400),
            ("invalid_body", 422),
            ("payload_too_large", 413),
            ("unsupported_media_type", 415),
            ("unauthorized", 401),
            ("portal_link_expired", 401),
            ("portal_link_revoked", 401),
            ("forbidden", 403),
            ("invalid_field", 422),
            ("invalid_url", 422),
            ("forbidden_target", 422),
            ("unknown_event_type", 422),
            ("reserved_event_type", 422),
            ("reserved_origin", 422),
            ("invalid_event", 422),
            ("missing_entity", 422),
            ("invalid_entity", 422),
            ("unknown_user", 422),
            ("invalid_manifest", 422),
            ("not_found", 404),
            ("conflict", 409),
            ("event_type_exists", 409),
            ("idempotency_key_reused", 409),
            ("webhook_deleted", 409),
            ("webhook_disabled", 409),
            ("cannot_resend_batch_as_form", 409),
            ("email_taken", 409),
            ("cannot_revoke", 409),
            ("cannot_rerun", 409),
            ("no_oauth", 409),
            ("oauth_failed", 409),
            ("organization_not_empty", 409),
            ("limit_reached", 409),
            ("rate_limited", 429),
            ("unavailable", 503),
            ("storage_full", 503),
            ("internal", 500),
        ];
        let got: Vec<(&str, u16)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str(), status(*c).as_u16()))
            .collect();
        assert_eq!(got, expected);
        for code in ErrorCode::ALL {
            let e = match status(*code) {
                StatusCode::CONFLICT => Error::conflict(*code, "m"),
                _ => Error::field_code(*code, "f", "m"),
            };
            let resp = e.error_response();
            assert_eq!(resp.status(), status(*code));
            let body = to_bytes(resp.into_body()).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], code.as_str(), "{v}");
            assert!(v["error"]["message"].is_string(), "{v}");
        }
        let spec = include_str!("../../openapi.yaml");
        let listed = spec
            .split("              enum:\n")
            .nth(1)
            .and_then(|rest| rest.split("            message:").next())
            .expect("the Error schema's code enum");
        let listed: Vec<&str> = listed
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- "))
            .collect();
        let mut registry: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut in_spec = listed.clone();
        registry.sort_unstable();
        in_spec.sort_unstable();
        assert_eq!(
            registry, in_spec,
            "openapi.yaml's error codes differ from the registry"
        );
    }
}
