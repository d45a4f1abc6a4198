//! OpenTelemetry (issue 28): the real binary exporting to an OTLP/HTTP
//! collector inside the test. A publish continuing a caller's trace, its
//! delivery attempt a CLIENT span of that trace, the receiver handed the
//! trace on; with the collector down, deliveries not delayed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::collector::Collector;
use crate::common::gateway::{free_port, Gateway};
use crate::common::receiver::Receiver;
use crate::common::{event, fresh_database, notice, Backend, TOKEN};

/// The variables that point the gateway at `endpoint`, exporting quickly.
fn otel_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_string()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=test".into(),
        ),
    ]
}

async fn create_webhook(g: &Gateway, name: &str, url: &str) -> String {
    let (status, w) = g
        .post(
            "/v1/webhooks",
            &json!({"name": name, "url": url, "event_types": ["*"], "retry_schedule": ["1h"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    w["id"].as_str().unwrap().to_string()
}

crate::both_backends!(a_publish_and_its_delivery_are_one_trace);

async fn a_publish_and_its_delivery_are_one_trace(backend: Backend) {
    let Some(db) = fresh_database(backend) else {
        return;
    };
    let collector = Collector::start();
    let rx = Receiver::start().await;
    rx.set_status("/failing", 500);
    let log = tempfile::NamedTempFile::new().unwrap();
    let port = free_port();
    let mut cmd = Gateway::command(&db.url, port);
    for (k, v) in otel_env(&collector.base) {
        cmd.env(k, v);
    }
    cmd.env("HOOKRELAY_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::from(log.reopen().unwrap()));
    let mut g = Gateway::start(cmd, port).await;
    // Credentials in the URL: the span's `url.full` must mask them.
    let hostport = rx.url("").trim_start_matches("http://").to_string();
    let traced = create_webhook(
        &g,
        "traced",
        &format!("http://alice:pw-secret@{hostport}/traced?token=q-secret"),
    )
    .await;
    create_webhook(&g, "failing", &rx.url("/failing")).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let answer = g
        .http
        .post(format!("{}/v1/events", g.base))
        .bearer_auth(TOKEN)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .header("tracestate", "vendor=opaque")
        .json(&event("profile.parsing.success", "otel-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);

    // The receiver continues the trace, as a child of the attempt's span.
    let got = rx.wait_for("/traced", 1).await;
    let parent = got[0].header("traceparent").expect("traceparent sent");
    let parts: Vec<&str> = parent.split('-').collect();
    assert_eq!(
        (parts[0], parts[1], parts[3]),
        ("00", trace_id, "01"),
        "{parent}"
    );
    assert_eq!(got[0].header("tracestate"), Some("vendor=opaque"));
    let attempt_span = parts[2].to_string();

    let spans = collector
        .trace(trace_id, |spans| {
            spans.iter().any(|s| s.kind == 2) && spans.iter().filter(|s| s.kind == 3).count() >= 2
        })
        .await;
    let publish = spans
        .iter()
        .find(|s| s.kind == 2)
        .expect("the publish's SERVER span");
    assert_eq!(publish.parent_span_id, caller_span, "{publish:#?}");
    assert_eq!(publish.name, "POST /v1/events", "{publish:#?}");
    assert_eq!(publish.service, "hookrelay", "the default service name");
    let delivery = spans
        .iter()
        .find(|s| s.span_id == attempt_span)
        .unwrap_or_else(|| panic!("the attempt's span {attempt_span} in {spans:#?}"));
    assert_eq!(delivery.kind, 3, "CLIENT");
    assert_eq!(delivery.name, "POST");
    assert_eq!(delivery.parent_span_id, publish.span_id, "{spans:#?}");
    let a = &delivery.attributes;
    assert_eq!(a["http.request.method"], "POST");
    assert_eq!(a["http.response.status_code"], "200");
    assert_eq!(a["attempt"], "1");
    assert_eq!(a["webhook_id"], traced);
    let url = &a["url.full"];
    assert!(
        url.contains("/traced") && !url.contains("q-secret"),
        "{url}"
    );
    assert!(
        !url.contains("pw-secret") && !url.contains("alice:"),
        "{url}"
    );
    let failed = spans
        .iter()
        .find(|s| s.kind == 3 && s.span_id != attempt_span)
        .unwrap();
    assert_eq!(failed.attributes["http.response.status_code"], "500");
    // No secret anywhere: not the token, not the URL's credentials.
    for s in collector.spans.lock().unwrap().iter() {
        for (k, v) in &s.attributes {
            for secret in [TOKEN, "pw-secret", "q-secret"] {
                assert!(!v.contains(secret), "{k}={v} in {s:#?}");
            }
        }
    }

    // A re-send is a CLIENT span of its own in the event's trace.
    let history: Value = g
        .http
        .get(format!("{}/v1/history?webhook_id={traced}", g.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = history["data"][0]["id"].as_str().unwrap().to_string();
    let resent = g
        .http
        .post(format!("{}/v1/history/{row}/resend", g.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), StatusCode::CREATED);
    let again = rx.wait_for("/traced", 2).await;
    let resend_span = again[1]
        .header("traceparent")
        .unwrap()
        .split('-')
        .nth(2)
        .unwrap()
        .to_string();
    let spans = collector
        .trace(trace_id, |spans| {
            spans.iter().any(|s| s.span_id == resend_span)
        })
        .await;
    let resend = spans.iter().find(|s| s.span_id == resend_span).unwrap();
    assert_eq!(resend.kind, 3, "CLIENT: {resend:#?}");
    assert_eq!(resend.parent_span_id, publish.span_id, "{resend:#?}");
    assert_eq!(resend.attributes["webhook_id"], traced);
    assert_eq!(resend.attributes["http.response.status_code"], "200");

    // The failed attempt's log line (inside its span) carries the trace id.
    assert!(g.terminate().success());
    let lines = std::fs::read_to_string(log.path()).unwrap();
    let failed_line: Value = lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "delivery attempt failed")
        .unwrap_or_else(|| panic!("no failed attempt logged in {lines}"));
    assert_eq!(failed_line["trace_id"], trace_id, "{failed_line}");
    collector.handle.stop(false).await;
}

/// With the collector's port closed, 200 events reach their receiver as
/// fast as they would without traces: no attempt waits on the exporter.
#[actix_web::test]
async fn a_collector_that_is_down_delays_no_delivery() {
    let plain = two_hundred_deliveries(None).await;
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let traced = two_hundred_deliveries(Some(&endpoint)).await;
    assert_not_delayed(plain, traced);
}

/// A collector that accepts connections and never answers (a hung proxy):
/// deliveries still do not wait on it, and shutdown gives up on it.
#[actix_web::test]
async fn a_collector_that_never_answers_delays_no_delivery() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accept and hold every connection open, reading nothing, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let plain = two_hundred_deliveries(None).await;
    let traced = two_hundred_deliveries(Some(&endpoint)).await;
    assert_not_delayed(plain, traced);
}

/// Generous: a loaded CI machine is noisy, an exporter in the way is not
/// (it would cost a connection per attempt, or its timeout).
fn assert_not_delayed(plain: Duration, traced: Duration) {
    assert!(
        traced < plain * 3 + Duration::from_secs(2),
        "without traces {plain:?}, with the collector out of order {traced:?}"
    );
}

/// How long 200 deliveries take on SQLite, exporting to `endpoint` (or
/// not exporting); asserts no attempt waited and shutdown did not hang.
async fn two_hundred_deliveries(endpoint: Option<&str>) -> Duration {
    let db = fresh_database(Backend::Sqlite).unwrap();
    let rx = Receiver::start().await;
    let env = endpoint.map(otel_env).unwrap_or_default();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut g = Gateway::spawn_logging(&db.url, &env, Stdio::null()).await;
    create_webhook(&g, "down", &rx.url("/down")).await;
    let evs: Vec<Value> = (0..200)
        .map(|i| event("profile.parsing.success", &format!("down-{i}")))
        .collect();
    let started = Instant::now();
    let (status, body) = g.post("/v1/events/batch", &json!({"events": evs})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    rx.wait_for("/down", 200).await;
    let elapsed = started.elapsed();
    let (_, history) = g.get("/v1/history?limit=200").await;
    let slowest = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["duration_ms"].as_i64().unwrap())
        .max()
        .unwrap();
    notice(&format!(
        "collector {endpoint:?}: 200 deliveries in {elapsed:?}, slowest attempt {slowest} ms"
    ));
    assert!(slowest < 1000, "an attempt took {slowest} ms");
    let stop = Instant::now();
    assert!(g.terminate_within(Duration::from_secs(20)).await.success());
    assert!(
        stop.elapsed() < Duration::from_secs(15),
        "shutdown waited on the exporter for {:?}",
        stop.elapsed()
    );
    elapsed
}
