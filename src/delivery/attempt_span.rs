//! The span of one attempt, automatic or asked for (re-send, test send):
//! at `debug` in the log (a line when it closes) and, with traces
//! exported, an OpenTelemetry CLIENT span with the HTTP semantic
//! conventions' attributes. Its parent is the trace its (first) event was
//! published in, when one was stored; otherwise the current span (a test
//! send's API request). Its URL is redacted: no credentials, no query
//! values; the web hook's secret and headers never appear.

use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::send::Exchange;
use crate::db::webhooks::Webhook;

/// A new attempt span for `webhook` carrying `events` events (`event_id`
/// names the first, when there is one; `traceparent` is its stored trace
/// context).
pub fn attempt_span(
    webhook: &Webhook,
    event_id: Option<&str>,
    events: usize,
    traceparent: Option<&str>,
) -> tracing::Span {
    let span = tracing::debug_span!(
        "delivery",
        otel.name = "POST",
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        webhook_id = %webhook.id,
        event_id = event_id.unwrap_or(""),
        events,
        http.request.method = "POST",
        url.full = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
        attempt = tracing::field::Empty,
    );
    if crate::telemetry::enabled() && !span.is_disabled() {
        span.record("url.full", crate::redact::redact_url(&webhook.url));
        if let Some(stored) = traceparent {
            // Refused only for a span the layer does not see.
            let _ = span.set_parent(crate::telemetry::stored_context(stored));
        }
    }
    span
}

/// The attempt's number and outcome on the current span.
pub fn record_on_span(attempt: i32, ex: &Exchange) {
    let span = tracing::Span::current();
    span.record("attempt", attempt);
    if let Some(code) = ex.status {
        span.record("http.response.status_code", code);
    }
    // HTTP client spans: an error is a failure to get an answer, or 4xx/5xx.
    match (ex.status, &ex.error) {
        (Some(code), _) if code >= 400 => {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", code.to_string());
        }
        (None, Some(_)) => {
            span.record("otel.status_code", "ERROR");
            span.record(
                "error.type",
                if ex.overloaded {
                    "overloaded"
                } else {
                    "failed"
                },
            );
        }
        _ => {}
    }
}
