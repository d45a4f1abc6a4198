//! The trace of one attempt, automatic or asked for (re-send, test send).
//!
//! With traces exported it is an OpenTelemetry CLIENT span made directly
//! with the tracer, around the request only, with the HTTP semantic
//! conventions' attributes. Its parent is the trace its (first) event was
//! published in, when one was stored; otherwise the current span (a test
//! send's API request). Its URL is redacted: no credentials, no query
//! values; the web hook's secret and headers never appear.
//!
//! Why not a `tracing` span through the OpenTelemetry layer: the layer
//! switches contexts on every poll of the task and adds code and thread
//! attributes to every span, which cost about a fifth of a delivery's CPU.
//! The log keeps its `debug` line per attempt ([`log_span`]), which the
//! layer does not see.

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::payload::EventDoc;
use super::send::Exchange;
use crate::db::webhooks::Webhook;
use crate::telemetry::{self, Propagation, LOG_ONLY};

/// The log's span of one attempt (at `debug`: a line when it closes).
pub fn log_span(webhook: &Webhook, event_id: Option<&str>, events: usize) -> tracing::Span {
    tracing::debug_span!(
        target: LOG_ONLY,
        "delivery",
        webhook_id = %webhook.id,
        event_id = event_id.unwrap_or(""),
        events,
    )
}

/// An attempt's OpenTelemetry span; nothing when traces are off.
pub struct AttemptTrace {
    span: Option<Context>,
}

impl AttemptTrace {
    /// Starts the span of a request to `webhook` carrying `events` events
    /// (`event_id` names the first, when there is one, and `first` is it:
    /// its stored trace is the parent).
    pub fn start(
        webhook: &Webhook,
        event_id: Option<&str>,
        events: usize,
        first: Option<&EventDoc>,
    ) -> AttemptTrace {
        let Some(tracer) = telemetry::tracer() else {
            return AttemptTrace { span: None };
        };
        let parent = match first.and_then(EventDoc::trace_context) {
            Some(stored) => stored.clone(),
            None => tracing::Span::current().context(),
        };
        let mut attributes = Vec::with_capacity(8);
        attributes.push(KeyValue::new("http.request.method", "POST"));
        attributes.push(KeyValue::new(
            "url.full",
            crate::redact::redact_url(&webhook.url),
        ));
        attributes.push(KeyValue::new("webhook_id", webhook.id.clone()));
        if let Some(id) = event_id {
            attributes.push(KeyValue::new("event_id", id.to_string()));
        }
        // A batch's size; one event per request is the rule.
        if events > 1 {
            attributes.push(KeyValue::new("events", events as i64));
        }
        let span = tracer
            .span_builder("POST")
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        AttemptTrace {
            span: Some(parent.with_span(span)),
        }
    }

    /// The W3C `traceparent` and `tracestate` the request carries, so the
    /// receiver continues the trace as a child of this span.
    pub fn propagation(&self) -> Option<Propagation> {
        let cx = self.span.as_ref()?;
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| telemetry::propagation(sc))
    }

    /// Records the attempt's number and outcome, and ends the span.
    pub fn finish(&self, attempt: i32, ex: &Exchange) {
        let Some(cx) = &self.span else { return };
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let mut attributes = vec![KeyValue::new("attempt", i64::from(attempt))];
        if let Some(code) = ex.status {
            attributes.push(KeyValue::new("http.response.status_code", i64::from(code)));
        }
        // HTTP client spans: an error is a failure to get an answer, or 4xx/5xx.
        let error = match (ex.status, &ex.error) {
            (Some(code), _) if code >= 400 => Some(code.to_string()),
            (None, Some(_)) if ex.overloaded => Some("overloaded".to_string()),
            (None, Some(_)) => Some("failed".to_string()),
            _ => None,
        };
        if let Some(kind) = error {
            attributes.push(KeyValue::new("error.type", kind));
            span.set_status(Status::error(""));
        }
        span.set_attributes(attributes);
        span.end();
    }

    /// Runs `f` with the span current, so log lines carry its trace id.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.span {
            Some(cx) => {
                let _guard = cx.clone().attach();
                f()
            }
            None => f(),
        }
    }
}
