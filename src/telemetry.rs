//! OpenTelemetry traces, exported over OTLP/HTTP (protobuf) when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; without it, nothing here runs.
//!
//! The SDK reads the standard variables itself: the endpoint (`/v1/traces`
//! is appended), `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`, the
//! sampler (`OTEL_TRACES_SAMPLER`, `_ARG`), `OTEL_EXPORTER_OTLP_HEADERS`,
//! `_TIMEOUT`, and the batch processor's `OTEL_BSP_*`. The batch processor
//! exports from its own thread, out of a bounded queue that drops spans when
//! full: a collector that is down or slow never holds up a request or a
//! delivery, it costs the exporter's error line.
//!
//! Trace context travels as W3C `traceparent`/`tracestate`: read from a
//! request (`api::access_log`), stored with each event (`events.traceparent`,
//! see [`current`]), made the parent of every delivery attempt's span and
//! sent to the receiver ([`propagation`]).

use std::sync::OnceLock;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::{Level, Metadata};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;

/// The standard variables that configure traces, each documented in the
/// configuration table of docs/operations.md (`tests/it/defaults.rs`).
pub const VARIABLES: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_HEADERS",
];

/// The tracer, once traces are exported: the one check the hot paths make
/// before any work for traces. Delivery attempts make their spans with it
/// directly (`delivery::attempt_span`), not through the `tracing` layer.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// How long an exit waits for the last spans to be exported (the SDK's
/// default, named here because docs/operations.md promises it): a collector
/// that accepts and never answers holds a restart no longer.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The instrumentation scope of hookrelay's spans.
const SCOPE: &str = "hookrelay";

/// The service name when neither `OTEL_SERVICE_NAME` nor a `service.name`
/// resource attribute gives one.
const SERVICE_NAME: &str = "hookrelay";

/// Separates `traceparent` from `tracestate` in the stored column (a
/// `tracestate` may hold spaces and commas, never a line break).
const STATE_SEPARATOR: char = '\n';

/// Whether traces are exported (set once, at start-up, by [`Telemetry::from_env`]).
pub fn enabled() -> bool {
    TRACER.get().is_some()
}

/// The tracer, when traces are exported.
pub fn tracer() -> Option<&'static SdkTracer> {
    TRACER.get()
}

/// The tracer provider: its batch processor and exporter thread. Shut it
/// down at exit, so the spans still queued are sent.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// `None` when no OTLP endpoint is configured (or `OTEL_SDK_DISABLED`
    /// is `true`); an error for a protocol other than `http/protobuf`.
    pub fn from_env() -> Result<Option<Telemetry>, String> {
        let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
        let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if endpoint.is_none() || disabled {
            return Ok(None);
        }
        for name in [
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ] {
            if let Some(p) = set(name).filter(|p| p != "http/protobuf") {
                return Err(format!(
                    "{name}={p}: hookrelay exports traces over http/protobuf only"
                ));
            }
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| format!("OpenTelemetry exporter: {e}"))?;
        let named = set("OTEL_SERVICE_NAME").is_some()
            || set("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| a.contains("service.name="));
        let mut resource = Resource::builder();
        if !named {
            resource = resource.with_service_name(SERVICE_NAME);
        }
        // The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based,
        // always on); the batch processor's limits from OTEL_BSP_*.
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        // A second provider (tests start several gateways in one process
        // only as child processes) would keep the first one's tracer.
        let _ = TRACER.set(provider.tracer(SCOPE));
        Ok(Some(Telemetry { provider }))
    }

    /// The `tracing` layer that turns hookrelay's spans into OpenTelemetry
    /// spans. It sees only hookrelay's own spans (whatever their level:
    /// the request and delivery spans are at `debug`, out of the log) and
    /// its warnings and errors, which become span events.
    pub fn layer<S>(&self) -> impl Layer<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let tracer = self.provider.tracer(SCOPE);
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(
                // The hint keeps `trace` call sites (the libraries' many,
                // and `log` records) off at their cheapest check, as the
                // log's own level does without traces.
                tracing_subscriber::filter::filter_fn(traced)
                    .with_max_level_hint(tracing::level_filters::LevelFilter::DEBUG),
            )
    }

    /// Sends the spans still queued, waiting for the exporter at most
    /// [`SHUTDOWN_WAIT`]. Call outside the async runtime: it blocks.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN_WAIT) {
            tracing::warn!(error = %e, "OpenTelemetry: spans not flushed at shutdown");
        }
    }
}

/// The target of spans that only the log sees: a delivery attempt's
/// OpenTelemetry span is made directly with the tracer, which costs a
/// fraction of the layer's (no per-poll context switch, no code.* and
/// thread.* attributes), so the layer must not make a second one.
pub const LOG_ONLY: &str = "hookrelay::log_only";

/// What the OpenTelemetry layer sees: hookrelay's spans (at `debug` and
/// up; none is at `trace`), but [`LOG_ONLY`] ones, and its events from
/// `warn` up (libraries' spans, the exporter's
/// own HTTP client among them, would feed back into the exporter).
fn traced(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    target.starts_with("hookrelay")
        && target != LOG_ONLY
        && (meta.is_span() || *meta.level() <= Level::WARN)
}

/// A stored or received `traceparent` and `tracestate`, read in place.
struct Carrier<'a> {
    parent: &'a str,
    state: Option<&'a str>,
}

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => Some(self.parent.trim()),
            "tracestate" => self.state.map(str::trim),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

/// The trace context a stored value (see [`current`]) or a request's
/// headers name; an empty context when there is none or it is malformed.
pub fn context_from(traceparent: &str, tracestate: Option<&str>) -> Context {
    let carrier = Carrier {
        parent: traceparent,
        state: tracestate,
    };
    TraceContextPropagator::new().extract(&carrier)
}

/// The W3C headers that carry a span's context onward.
pub struct Propagation {
    pub traceparent: String,
    /// `None` when empty.
    pub tracestate: Option<String>,
}

/// The headers that carry `sc` onward: version 00, trace id, span id,
/// flags.
pub fn propagation(sc: &SpanContext) -> Propagation {
    let state = sc.trace_state().header();
    Propagation {
        traceparent: format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        ),
        tracestate: (!state.is_empty()).then_some(state),
    }
}

/// The context stored with an event, as a parent for its deliveries.
pub fn stored_context(stored: &str) -> Context {
    match stored.split_once(STATE_SEPARATOR) {
        Some((parent, state)) => context_from(parent, Some(state)),
        None => context_from(stored, None),
    }
}

/// The current span's context, as stored with an event: `traceparent`,
/// then `tracestate` after a line break when there is one. `None` when
/// traces are off or no span is active.
pub fn current() -> Option<String> {
    if !enabled() {
        return None;
    }
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let p = propagation(sc);
    Some(match p.tracestate {
        Some(state) => format!("{}{STATE_SEPARATOR}{state}", p.traceparent),
        None => p.traceparent,
    })
}

/// The trace id of the active OpenTelemetry span, for log lines.
pub fn active_trace_id() -> Option<String> {
    let cx = Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_contexts_parse_back() {
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let cx = stored_context(&format!("{parent}\nrojo=00f067aa0ba902b7, congo=t61"));
        let sc = cx.span().span_context().clone();
        assert!(sc.is_remote() && sc.is_sampled());
        assert_eq!(
            sc.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(sc.trace_state().get("congo"), Some("t61"));
        assert!(!stored_context("garbage").span().span_context().is_valid());
    }

    #[test]
    fn propagation_writes_what_the_propagator_writes() {
        use opentelemetry::propagation::TextMapPropagator;
        for stored in [
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\nrojo=00f067aa0ba902b7",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        ] {
            let cx = stored_context(stored);
            let mut injected = std::collections::HashMap::new();
            TraceContextPropagator::new().inject_context(&cx, &mut injected);
            let p = propagation(cx.span().span_context());
            assert_eq!(Some(&p.traceparent), injected.get("traceparent"));
            assert_eq!(
                p.tracestate.as_ref(),
                injected.get("tracestate").filter(|s| !s.is_empty())
            );
        }
    }
}
