//! Webhook CRUD, listing (search, sort, cursor pagination) and validation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{Backend, TestApp};

both_backends!(crud_and_secret_handling, list_search_sort_paginate);

async fn crud_and_secret_handling(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let w = app.create_webhook(json!({"name": "Payroll", "url": "https://payroll.example.com/hook", "event_types": ["user.updated"]})).await;
    let id = w["id"].as_str().unwrap();
    assert_eq!(w["format"], "form");
    assert_eq!(w["active"], true);
    assert_eq!(w["verify_ssl"], true);
    assert_eq!(w["signing"], true);
    assert_eq!(w["max_events_per_request"], 1);
    assert_eq!(w["state"], "active");
    assert!(w["last_triggered_at"].is_null());

    let (status, got) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got.get("secret").is_none());

    let (status, patched) = app
        .patch(&format!("/v1/webhooks/{id}"), &json!({"name": "Payroll v2", "format": "json", "max_events_per_request": 10, "active": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Payroll v2");
    assert_eq!(patched["max_events_per_request"], 10);
    assert_eq!(patched["state"], "disabled");
    assert!(patched["disabled_reason"].is_string());
    let (_, back) = app
        .patch(&format!("/v1/webhooks/{id}"), &json!({"active": true}))
        .await;
    assert_eq!(back["state"], "active");
    assert!(back["disabled_reason"].is_null());

    // Going back to form while batching is refused, and nothing changes.
    let (status, err) = app
        .patch(&format!("/v1/webhooks/{id}"), &json!({"format": "form"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "max_events_per_request");
    let (_, still) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(still["format"], "json");

    let (status, rotated) = app
        .post(&format!("/v1/webhooks/{id}/rotate-secret"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(rotated["secret"], w["secret"]);

    let (status, _) = app
        .call(Method::DELETE, &format!("/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "not_found");
    let (status, _) = app
        .call(Method::DELETE, &format!("/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn list_search_sort_paginate(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let names = [
        "delta", "Alpha", "charlie", "bravo", "echo", "foxtrot", "golf",
    ];
    for (i, n) in names.iter().enumerate() {
        let url = if i % 2 == 0 {
            format!("https://even.example.com/{n}")
        } else {
            format!("https://odd.example.org/{n}")
        };
        app.create_webhook(json!({"name": n, "url": url, "event_types": ["*"]}))
            .await;
    }
    // Cursor pagination visits every webhook exactly once, in created order.
    let mut seen = Vec::new();
    let mut path = "/v1/webhooks?limit=3".to_string();
    loop {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 3);
        seen.extend(data.iter().map(|w| w["name"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/webhooks?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, names);

    let names_of = |v: &Value| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (_, by_name) = app.get("/v1/webhooks?sort=name&order=desc").await;
    assert_eq!(
        names_of(&by_name),
        ["golf", "foxtrot", "echo", "delta", "charlie", "bravo", "Alpha"]
    );
    let (_, by_url) = app.get("/v1/webhooks?sort=url").await;
    assert_eq!(names_of(&by_url)[0], "charlie");
    // Search is case-insensitive over name and url.
    let (_, found) = app.get("/v1/webhooks?q=ALPHA").await;
    assert_eq!(names_of(&found), ["Alpha"]);
    let (_, odd) = app.get("/v1/webhooks?q=odd.example&sort=name").await;
    assert_eq!(names_of(&odd), ["Alpha", "bravo", "foxtrot"]);
    // LIKE wildcards in q are literal.
    let (_, none) = app.get("/v1/webhooks?q=%25").await;
    assert_eq!(names_of(&none).len(), 0);
    for sort in ["last_triggered_at", "state", "created_at"] {
        let (status, _) = app
            .get(&format!("/v1/webhooks?sort={sort}&order=asc"))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    app.stop().await;
}
