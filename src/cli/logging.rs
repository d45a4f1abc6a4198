//! Logging set-up: `text` or `json` lines on stderr, filtered by
//! `RUST_LOG`; with traces exported ([`Telemetry`]), the OpenTelemetry
//! layer beside them and each JSON line inside a traced span carrying its
//! `trace_id`.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{FmtSpan, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;
use crate::telemetry::{active_trace_id, Telemetry};

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,actix_server=warn".into())
}

/// Installs the subscriber; with `telemetry`, its layer too.
pub(super) fn init(format: &LogFormat, telemetry: Option<&Telemetry>) {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let Some(telemetry) = telemetry else {
        // Traces off: exactly the subscriber hookrelay always had.
        // A line when each span closes: per request at info (the access log,
        // with its duration), per delivery at debug.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(env_filter())
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(ansi)
            .with_writer(std::io::stderr);
        if *format == LogFormat::Json {
            builder.json().init();
        } else {
            builder.init();
        }
        return;
    };
    // Each layer has its own filter: `RUST_LOG` decides what is logged, and
    // the OpenTelemetry layer sees hookrelay's spans whatever their level.
    let fmt = tracing_subscriber::fmt::layer()
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let fmt = if *format == LogFormat::Json {
        fmt.event_format(WithTraceId {
            inner: tracing_subscriber::fmt::format().json(),
            json: true,
        })
        .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
        .with_filter(env_filter())
        .boxed()
    } else {
        fmt.event_format(WithTraceId {
            inner: tracing_subscriber::fmt::format(),
            json: false,
        })
        .with_filter(env_filter())
        .boxed()
    };
    tracing_subscriber::registry()
        .with(fmt)
        .with(telemetry.layer())
        .init();
}

/// A format that names the trace while an OpenTelemetry span is active
/// (the OpenTelemetry layer, or an attempt's trace, makes its context
/// current): `"trace_id"` first in a JSON line, `trace_id=…` last on a text
/// line.
struct WithTraceId<F> {
    inner: F,
    json: bool,
}

impl<S, N, F> FormatEvent<S, N> for WithTraceId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(trace_id) = active_trace_id() else {
            return self.inner.format_event(ctx, writer, event);
        };
        // Into a string first (without colours: only the formatter's own
        // writer may carry them), to place the trace id.
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        if self.json {
            if let Some(rest) = line.strip_prefix('{') {
                return write!(writer, "{{\"trace_id\":\"{trace_id}\",{rest}");
            }
            return writer.write_str(&line);
        }
        let body = line.trim_end_matches('\n');
        writeln!(writer, "{body} trace_id={trace_id}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;

    /// The lines `json` or `text` writes for one event, inside a trace.
    fn lines_in_trace(json: bool) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let writer = move || Sink(sink.clone());
        let subscriber: Box<dyn Subscriber + Send + Sync> = if json {
            Box::new(
                tracing_subscriber::fmt()
                    .with_writer(writer)
                    .event_format(WithTraceId {
                        inner: tracing_subscriber::fmt::format().json(),
                        json: true,
                    })
                    .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                    .finish(),
            )
        } else {
            Box::new(
                tracing_subscriber::fmt()
                    .with_writer(writer)
                    .with_ansi(false)
                    .event_format(WithTraceId {
                        inner: tracing_subscriber::fmt::format(),
                        json: false,
                    })
                    .finish(),
            )
        };
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside");
            let _in_trace = opentelemetry::Context::new()
                .with_remote_span_context(sc)
                .attach();
            tracing::info!("inside");
        });
        let bytes = out.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_inside_a_trace_name_it_in_both_formats() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let json = lines_in_trace(true);
        let json: Vec<&str> = json.lines().collect();
        assert_eq!(json.len(), 2, "{json:?}");
        assert!(!json[0].contains("trace_id"), "{}", json[0]);
        let inside: serde_json::Value = serde_json::from_str(json[1]).unwrap();
        assert_eq!(inside["trace_id"], id, "{inside}");
        assert_eq!(inside["fields"]["message"], "inside");

        let text = lines_in_trace(false);
        let text: Vec<&str> = text.lines().collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(!text[0].contains("trace_id"), "{}", text[0]);
        assert!(text[1].contains("inside"), "{}", text[1]);
        assert!(text[1].ends_with(&format!(" trace_id={id}")), "{}", text[1]);
    }
}
