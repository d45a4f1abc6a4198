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
        fmt.event_format(TraceIdJson(tracing_subscriber::fmt::format().json()))
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .with_filter(env_filter())
            .boxed()
    } else {
        fmt.with_filter(env_filter()).boxed()
    };
    tracing_subscriber::registry()
        .with(fmt)
        .with(telemetry.layer())
        .init();
}

/// The JSON format with `"trace_id"` first while an OpenTelemetry span is
/// active (the OpenTelemetry layer makes its context current on entry).
struct TraceIdJson<F>(F);

impl<S, N, F> FormatEvent<S, N> for TraceIdJson<F>
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
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(writer, "{{\"trace_id\":\"{trace_id}\",{rest}"),
            None => writer.write_str(&line),
        }
    }
}
