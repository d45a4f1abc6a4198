//! Content filters (issue 28): a web hook's RFC 9535 JSONPath query decides
//! at fan-out which events it gets; a filtered-out event leaves no delivery
//! and no history; `POST /v1/webhooks/filter-test` tries a filter.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp};
use crate::security::create_token;

both_backends!(
    filters_route_by_source_and_board_key,
    filter_functions_select_events,
    filtered_out_event_leaves_no_delivery_and_no_history,
    invalid_filters_are_refused_and_nothing_written,
    patch_null_clears_the_filter,
    batch_publish_filters_each_event,
    filter_test_tries_events_and_examples,
);

/// A profile event from source `source`, with `message`.
fn profile(source: &str, message: &str) -> Value {
    json!({"type": "profile.parsing.success", "origin": "api", "message": message,
        "profile": {"key": "p-1", "source": {"key": source}, "tags": ["a", "b", "c"]}})
}

/// A job event on board `board`.
fn job(board: &str) -> Value {
    json!({"type": "job.parsing.success", "origin": "api", "message": "job parsing succeed",
        "job": {"key": "j-1", "board": {"key": board}}})
}

/// Web hook `name` on the receiver's `/{name}`, with `filter` when given.
async fn hook(app: &TestApp, rx: &Receiver, name: &str, filter: Option<&str>) -> String {
    let mut body = json!({"name": name, "url": rx.url(&format!("/{name}")), "event_types": ["*"]});
    if let Some(f) = filter {
        body["filter"] = json!(f);
    }
    let w = app.create_webhook(body).await;
    assert_eq!(w["filter"], json!(filter), "{w}");
    w["id"].as_str().unwrap().to_string()
}

/// The web hooks an event has deliveries for, as recorded at fan-out.
async fn delivered_to(app: &TestApp, event_id: &str) -> BTreeSet<String> {
    let (status, v) = app.get(&format!("/v1/events/{event_id}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["webhook_id"].as_str().unwrap().to_string())
        .collect()
}

/// Publishes `event`; returns its id and the answer's `deliveries`.
async fn publish(app: &TestApp, event: Value) -> (String, u64) {
    let r = app.publish(event).await;
    (
        r["id"].as_str().unwrap().to_string(),
        r["deliveries"].as_u64().unwrap(),
    )
}

/// Publishes each event; checks the web hooks it is recorded for, and the
/// answer's `deliveries`.
async fn fans_out_as(app: &TestApp, cases: &[(Value, BTreeSet<String>)]) {
    for (event, want) in cases {
        let (id, n) = publish(app, event.clone()).await;
        assert_eq!(n as usize, want.len(), "{event}");
        assert_eq!(&delivered_to(app, &id).await, want, "{event}");
    }
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn filters_route_by_source_and_board_key(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let by_source = hook(
        &app,
        &rx,
        "src1",
        Some("$[?@.profile.source.key == 'src1']"),
    )
    .await;
    let by_board = hook(&app, &rx, "b1", Some("$[?@.job.board.key == 'b1']")).await;
    let plain = hook(&app, &rx, "all", None).await;

    let cases = [
        (
            profile("src1", "profile parsing succeed"),
            set(&[&by_source, &plain]),
        ),
        (profile("src2", "profile parsing succeed"), set(&[&plain])),
        (job("b1"), set(&[&by_board, &plain])),
        (job("b2"), set(&[&plain])),
    ];
    fans_out_as(&app, &cases).await;
    rx.wait_for("/all", 4).await;
    assert_eq!(rx.wait_for("/src1", 1).await.len(), 1);
    assert_eq!(rx.wait_for("/b1", 1).await.len(), 1);
    assert!(
        rx.received_on("/b1")[0].body.contains("b1"),
        "the board web hook got the b1 event"
    );
    rx.stop().await;
    app.stop().await;
}

async fn filter_functions_select_events(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let matched = hook(
        &app,
        &rx,
        "match",
        Some("$[?match(@.message, 'profile (parsing|storing) .*')]"),
    )
    .await;
    let searched = hook(&app, &rx, "search", Some("$[?search(@.message, 'urgent')]")).await;
    let length = hook(&app, &rx, "length", Some("$[?length(@.profile.tags) >= 3]")).await;
    let count = hook(
        &app,
        &rx,
        "count",
        Some("$[?count(@.profile.tags[*]) == 1]"),
    )
    .await;

    let mut one_tag = profile("s", "profile scoring done, urgent");
    one_tag["profile"]["tags"] = json!(["x"]);
    let cases = [
        // `match` is the whole string; `search` any part of it.
        (
            profile("s", "profile parsing succeed"),
            set(&[&matched, &length]),
        ),
        (
            profile("s", "profile storing failed: urgent"),
            set(&[&matched, &searched, &length]),
        ),
        (one_tag, set(&[&searched, &count])),
        // No `message` and no `profile`: the functions select nothing.
        (job("b"), set(&[])),
    ];
    fans_out_as(&app, &cases).await;
    rx.stop().await;
    app.stop().await;
}

async fn filtered_out_event_leaves_no_delivery_and_no_history(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let filtered = hook(
        &app,
        &rx,
        "filtered",
        Some("$[?@.profile.source.key == 'src1']"),
    )
    .await;
    let plain = hook(&app, &rx, "plain", None).await;

    let (id, n) = publish(&app, profile("other", "profile parsing succeed")).await;
    assert_eq!(n, 1, "only the web hook without a filter gets it");
    let deliveries = app
        .wait_event_deliveries(&id, |d| {
            !d.is_empty() && d.iter().all(|d| d["status"] == "succeeded")
        })
        .await;
    let hooks: Vec<&str> = deliveries
        .iter()
        .map(|d| d["webhook_id"].as_str().unwrap())
        .collect();
    assert_eq!(hooks, [plain.as_str()]);
    let history = app.all_history(&format!("event_id={id}")).await;
    assert_eq!(history.len(), 1, "{history:#?}");
    assert_eq!(history[0]["webhook_id"], json!(plain));
    assert!(app
        .all_history(&format!("webhook_id={filtered}"))
        .await
        .is_empty());
    rx.wait_for("/plain", 1).await;
    assert!(rx.received_on("/filtered").is_empty());
    // Operators see what filters pass over.
    let metrics = app.metrics_text().await;
    assert!(
        metrics
            .contains("hookrelay_events_filtered_total{event_type=\"profile.parsing.success\"} 1"),
        "{metrics}"
    );
    rx.stop().await;
    app.stop().await;
}

async fn invalid_filters_are_refused_and_nothing_written(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let long = format!("$[?@.message == '{}']", "a".repeat(2000));
    for bad in [
        "profile.source.key == 'x'",
        "$[?@.a ==]",
        "$[?nope(@.a)]",
        "$[?match(@.message, 'profile [')]",
        long.as_str(),
    ] {
        let (s, b) = app
            .post(
                "/v1/webhooks",
                &json!({"name": "bad", "url": "https://example.com/h", "event_types": ["*"], "filter": bad}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {b}");
        assert_eq!(b["error"]["code"], "invalid_field", "{b}");
        assert_eq!(b["error"]["field"], "filter", "{b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("filter "),
            "{b}"
        );
    }
    assert_eq!(app.count_rows("webhooks"), 0, "nothing written");

    let good = "$[?@.profile.source.key == 'src1']";
    let w = app
        .create_webhook(json!({"name": "ok", "url": "https://example.com/h", "event_types": ["*"], "filter": good}))
        .await;
    let path = format!("/v1/webhooks/{}", w["id"].as_str().unwrap());
    let (s, b) = app.patch(&path, &json!({"filter": "$[?@.a =="})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["field"], "filter", "{b}");
    assert_eq!(
        app.get(&path).await.1["filter"],
        good,
        "the stored filter is kept"
    );
    let (s, b) = app.patch(&path, &json!({"filter": 7})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    app.stop().await;
}

async fn patch_null_clears_the_filter(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let id = hook(&app, &rx, "h", Some("$[?@.profile.source.key == 'src1']")).await;
    let path = format!("/v1/webhooks/{id}");
    assert_eq!(publish(&app, profile("src2", "m")).await.1, 0);

    // A PATCH that leaves `filter` out keeps it.
    let (s, v) = app.patch(&path, &json!({"name": "renamed"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["filter"], "$[?@.profile.source.key == 'src1']");
    assert_eq!(publish(&app, profile("src2", "m")).await.1, 0);

    let (s, v) = app.patch(&path, &json!({"filter": null})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["filter"], Value::Null);
    let (event, n) = publish(&app, profile("src2", "m")).await;
    assert_eq!(n, 1, "with no filter every subscribed event is delivered");
    assert_eq!(delivered_to(&app, &event).await, set(&[&id]));
    rx.wait_for("/h", 1).await;

    // And a filter can be set on a web hook that had none.
    let (s, v) = app.patch(&path, &json!({"filter": "$[?@.job]"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(publish(&app, profile("src2", "m")).await.1, 0);
    assert_eq!(publish(&app, job("b")).await.1, 1);
    rx.stop().await;
    app.stop().await;
}

async fn batch_publish_filters_each_event(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let id = hook(&app, &rx, "h", Some("$[?@.profile.source.key == 'src1']")).await;
    let events = [
        profile("src1", "a"),
        profile("src2", "b"),
        job("b1"),
        profile("src1", "c"),
    ];
    let (s, r) = app
        .post("/v1/events/batch", &json!({ "events": events }))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["deliveries"], 2, "{r}");
    let per_event: Vec<u64> = r["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deliveries"].as_u64().unwrap())
        .collect();
    assert_eq!(per_event, [1, 0, 0, 1]);
    for (d, want) in r["data"].as_array().unwrap().iter().zip(&per_event) {
        let to = delivered_to(&app, d["id"].as_str().unwrap()).await;
        assert_eq!(to.len() as u64, *want);
        assert!(to.iter().all(|w| *w == id));
    }
    let got = rx.wait_for("/h", 2).await;
    let messages: BTreeSet<String> = got
        .iter()
        .map(|r| r.body.clone())
        .filter(|b| b.contains("src1"))
        .collect();
    assert_eq!(messages.len(), 2, "both src1 events arrived: {got:#?}");
    rx.stop().await;
    app.stop().await;
}

async fn filter_test_tries_events_and_examples(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let try_it = async |body: Value| app.post("/v1/webhooks/filter-test", &body).await;
    let event = profile("src1", "profile parsing succeed");
    let (s, v) =
        try_it(json!({"filter": "$[?@.profile.source.key == 'src1']", "event": event})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"matches": true, "nodes": [event]}));
    let (_, v) = try_it(json!({"filter": "$[*].profile.source.key", "event": event})).await;
    assert_eq!(v, json!({"matches": true, "nodes": ["src1"]}));
    let (_, v) = try_it(json!({"filter": "$[?@.job]", "event": event})).await;
    assert_eq!(v, json!({"matches": false, "nodes": []}));

    // An event type's example (the built-in catalogue's source key).
    let source = "d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8";
    let (s, v) = try_it(
        json!({"filter": format!("$[?@.profile.source.key == '{source}']"),
        "event_type": "profile.parsing.success"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["matches"], true, "{v}");
    assert_eq!(v["nodes"][0]["type"], "profile.parsing.success");
    let (_, v) = try_it(
        json!({"filter": format!("$[?@.profile.source.key == '{source}']"),
        "event_type": "job.parsing.success"}),
    )
    .await;
    assert_eq!(v["matches"], false, "{v}");

    for (body, field) in [
        (json!({"filter": "$[?", "event": event}), "filter"),
        (json!({"filter": "$"}), "event"),
        (
            json!({"filter": "$", "event": event, "event_type": "job.parsing.success"}),
            "event",
        ),
        (json!({"filter": "$", "event": [1]}), "event"),
        (
            json!({"filter": "$", "event_type": "nope.nothing"}),
            "event_type",
        ),
    ] {
        let (s, v) = try_it(body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }

    // Reading web hooks is enough; nothing is stored or sent.
    let (_, reader) = create_token(&app, "reader", &["webhooks:read"]).await;
    let (s, v) = app
        .call_as(
            &reader,
            Method::POST,
            "/v1/webhooks/filter-test",
            Some(&json!({"filter": "$", "event": event})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["matches"], true);
    let (_, publisher) = create_token(&app, "publisher", &["events:write"]).await;
    let (s, _) = app
        .call_as(
            &publisher,
            Method::POST,
            "/v1/webhooks/filter-test",
            Some(&json!({"filter": "$", "event": event})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.stop().await;
}
