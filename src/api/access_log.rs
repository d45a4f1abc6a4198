//! The access log: one short line per request at `info` (method, path,
//! status, duration, request id, and a client error's message, once), and
//! the full request span of tracing-actix-web at `debug`.
//!
//! The span is created at `debug` so that, at the default level, it neither
//! prints its own ~600-character close line nor prefixes every event logged
//! inside the request with its fields. tracing-actix-web's own error event
//! is switched off in Cargo.toml (`default-features = false`): with it, a
//! 4xx message was logged four times. `/oauth/callback` is logged without
//! its query (`code` and `state` are one-time credentials); the access line
//! never carries a query at all.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::field::Empty;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, Level, RequestId, RootSpanBuilder};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The public route whose query must not reach the logs.
const CALLBACK: &str = "/oauth/callback";

/// [`RootSpanBuilder`] for `TracingLogger`.
pub struct AccessSpan;

/// When the request started, for the access line's duration (the span is
/// disabled at the default level, so its timings are not available).
#[derive(Clone, Copy)]
struct Started(Instant);

impl RootSpanBuilder for AccessSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Started(Instant::now()));
        if request.path() != CALLBACK {
            let span = tracing_actix_web::root_span!(level = Level::DEBUG, request);
            continue_trace(&span, request);
            return span;
        }
        let agent = request
            .headers()
            .get("User-Agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::debug_span!(
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
        match outcome {
            Ok(response) => access_line(response),
            // A failure that never became a response: no request to name.
            Err(e) => tracing::info!(
                target: "hookrelay::access",
                status = e.as_response_error().status_code().as_u16(),
                error = %e,
            ),
        }
    }
}

/// With traces exported, a request carrying W3C `traceparent` (and
/// `tracestate`) continues that trace: its span, and so a publish's events
/// and their deliveries, join it. Without one, the request starts a trace.
fn continue_trace(span: &Span, request: &ServiceRequest) {
    if !crate::telemetry::enabled() {
        return;
    }
    let header = |name| request.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(parent) = header("traceparent") {
        let cx = crate::telemetry::context_from(parent, header("tracestate"));
        // Refused only for a span the layer does not see: nothing to join.
        let _ = span.set_parent(cx);
    }
}

/// Logs the request's one line.
fn access_line<B>(response: &ServiceResponse<B>) {
    let request = response.request();
    let extensions = request.extensions();
    let duration_ms = extensions
        .get::<Started>()
        .map(|s| (s.0.elapsed().as_secs_f64() * 10_000.0).round() / 10.0);
    let request_id = extensions
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let status = response.status();
    // A client error's message says what to fix; a server error's detail
    // was logged where it happened (`api::error`), once.
    let error = status
        .is_client_error()
        .then(|| response.response().error().map(ToString::to_string))
        .flatten();
    tracing::info!(
        target: "hookrelay::access",
        method = %request.method(),
        path = %request.path(),
        status = status.as_u16(),
        duration_ms,
        request_id = %request_id,
        error,
    );
}
