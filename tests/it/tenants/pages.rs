//! Item 5, big pages: a history list carries a bounded excerpt of each
//! request and response body; the detail view has them as kept.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};

both_backends!(history_lists_carry_excerpts);

/// Characters of a body in a list row.
const EXCERPT: usize = 1024;

async fn history_lists_carry_excerpts(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    // The receiver answers 64 KiB; the events carry about as much.
    rx.set_body_size("/big", 64 * 1024);
    app.create_webhook(json!({"name": "big", "url": rx.url("/big"), "event_types": ["profile.*"], "format": "json"}))
        .await;
    let n = 5;
    for i in 0..n {
        let mut e = event("profile.parsing.success", &format!("k{i}"));
        e["profile"]["notes"] = json!("ñ".repeat(30 * 1024));
        app.publish(e).await;
    }
    rx.wait_for("/big", n).await;
    let rows = crate::common::wait::until(
        "every attempt in history",
        std::time::Duration::from_secs(30),
        || async {
            let (s, v) = app.get("/v1/history?limit=500").await;
            assert_eq!(s, StatusCode::OK, "{v}");
            (v["data"].as_array().unwrap().len() == n).then_some(v)
        },
    )
    .await;
    // The whole page stays small: five excerpts, not five times 120 KiB.
    let page_size = rows.to_string().len();
    assert!(
        page_size < 32 * 1024,
        "a page of {n} rows is {page_size} bytes"
    );
    let chars = |v: &Value| v.as_str().unwrap().chars().count();
    for r in rows["data"].as_array().unwrap() {
        assert_eq!(chars(&r["request"]["body"]), EXCERPT, "{r}");
        assert_eq!(r["request"]["body_excerpt"], true);
        assert!(
            r["request"]["body_size"].as_i64().unwrap() > 60 * 1024,
            "{r}"
        );
        assert_eq!(chars(&r["response"]["body"]), EXCERPT);
        assert_eq!(r["response"]["body_excerpt"], true);
        // The detail view has the bodies as kept, and the excerpt is their start.
        let (s, d) = app
            .get(&format!("/v1/history/{}", r["id"].as_str().unwrap()))
            .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!(d["request"]["body_excerpt"], false);
        assert_eq!(d["response"]["body_excerpt"], false);
        let full = d["request"]["body"].as_str().unwrap();
        assert!(full.len() > 60 * 1024);
        assert!(full.starts_with(r["request"]["body"].as_str().unwrap()));
        assert_eq!(d["response"]["body"].as_str().unwrap().len(), 64 * 1024);
    }
    rx.stop().await;
    app.stop().await;
}
