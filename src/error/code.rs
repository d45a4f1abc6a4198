//! Every error code the API answers with, in one registry: a code is never
//! a string typed by hand, and `openapi.yaml` lists exactly these (a test
//! checks both ways). The HTTP status of each lives at the edge
//! (`api::error`).

use serde::Serialize;

macro_rules! codes {
    ($($variant:ident => $text:literal,)*) => {
        /// A stable, snake_case error code (`{"error": {"code": …}}`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum ErrorCode {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in registry order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as clients see it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    // The request as a whole.
    MalformedJson => "malformed_json",
    MalformedBody => "malformed_body",
    InvalidQuery => "invalid_query",
    InvalidPath => "invalid_path",
    InvalidBody => "invalid_body",
    PayloadTooLarge => "payload_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    // Credentials.
    Unauthorized => "unauthorized",
    PortalLinkExpired => "portal_link_expired",
    PortalLinkRevoked => "portal_link_revoked",
    Forbidden => "forbidden",
    // One field of the input.
    InvalidField => "invalid_field",
    InvalidUrl => "invalid_url",
    ForbiddenTarget => "forbidden_target",
    UnknownEventType => "unknown_event_type",
    ReservedEventType => "reserved_event_type",
    ReservedOrigin => "reserved_origin",
    InvalidEvent => "invalid_event",
    MissingEntity => "missing_entity",
    InvalidEntity => "invalid_entity",
    UnknownUser => "unknown_user",
    InvalidManifest => "invalid_manifest",
    // Stored state.
    NotFound => "not_found",
    Conflict => "conflict",
    EventTypeExists => "event_type_exists",
    IdempotencyKeyReused => "idempotency_key_reused",
    WebhookDeleted => "webhook_deleted",
    WebhookDisabled => "webhook_disabled",
    CannotResendBatchAsForm => "cannot_resend_batch_as_form",
    EmailTaken => "email_taken",
    CannotRevoke => "cannot_revoke",
    CannotRerun => "cannot_rerun",
    NoOauth => "no_oauth",
    OauthFailed => "oauth_failed",
    OrganizationNotEmpty => "organization_not_empty",
    // Per-organization limits (issue #18).
    LimitReached => "limit_reached",
    RateLimited => "rate_limited",
    // The gateway itself.
    Unavailable => "unavailable",
    StorageFull => "storage_full",
    Internal => "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
