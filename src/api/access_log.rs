//! The request span every access-log line carries (tracing-actix-web's
//! default), except that `/oauth/callback` is logged without its query:
//! its `code` and `state` are one-time credentials.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::field::Empty;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

/// The public route whose query must not reach the logs.
const CALLBACK: &str = "/oauth/callback";

/// [`RootSpanBuilder`] for `TracingLogger`.
pub struct AccessSpan;

impl RootSpanBuilder for AccessSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        if request.path() != CALLBACK {
            return DefaultRootSpanBuilder::on_request_start(request);
        }
        let agent = request
            .headers()
            .get("User-Agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = CALLBACK,
            http.target = CALLBACK,
            http.user_agent = %agent,
            http.status_code = Empty,
            otel.kind = "server",
            otel.status_code = Empty,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
