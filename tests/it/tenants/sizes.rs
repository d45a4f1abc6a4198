//! Item 4, sizes: event-type descriptions and examples and people's fields
//! are capped (a 900 KB description was accepted), with a 422 naming the
//! field and nothing written; `GET /v1/event-types` pages by name.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{Backend, TestApp};

both_backends!(oversized_fields_are_refused, event_types_are_paginated);

/// Asserts a 422 naming `field`.
fn assert_field(s: StatusCode, v: &Value, field: &str) {
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], field, "{v}");
}

async fn oversized_fields_are_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let types_before = app.count_rows("event_types");
    let (s, v) = app
        .post(
            "/v1/event-types",
            &json!({"name": "candidate.big", "description": "d".repeat(900 * 1024)}),
        )
        .await;
    assert_field(s, &v, "description");
    let big_example =
        json!({"type": "candidate.big", "candidate": {"notes": "n".repeat(20 * 1024)}});
    let (s, v) = app
        .post(
            "/v1/event-types",
            &json!({"name": "candidate.big", "example": big_example}),
        )
        .await;
    assert_field(s, &v, "example");
    assert_eq!(
        app.count_rows("event_types"),
        types_before,
        "nothing written"
    );
    // At the caps, accepted.
    let (s, v) = app
        .post(
            "/v1/event-types",
            &json!({"name": "candidate.fits", "description": "d".repeat(2000)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // People: large extra fields, on create and on change (the other
    // fields were capped already: 200 characters, emails 254).
    let person = json!({"email": "p@example.com", "first_name": "P", "last_name": "Q"});
    let mut big_extra = person.clone();
    big_extra["extra_fields"] = json!({"notes": "n".repeat(20 * 1024)});
    let (s, v) = app.post("/v1/users", &big_extra).await;
    assert_field(s, &v, "extra_fields");
    assert_eq!(app.count_rows("users"), 0, "nothing written");
    let (s, u) = app.post("/v1/users", &person).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let path = format!("/v1/users/{}", u["id"].as_str().unwrap());
    let (s, v) = app
        .patch(
            &path,
            &json!({"extra_fields": {"notes": "n".repeat(20 * 1024)}}),
        )
        .await;
    assert_field(s, &v, "extra_fields");
    let (_, after) = app.get(&path).await;
    assert_eq!(after["extra_fields"], json!({}), "{after}");
    app.stop().await;
}

async fn event_types_are_paginated(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    for i in 0..3 {
        let (s, v) = app
            .post(
                "/v1/event-types",
                &json!({"name": format!("candidate.step{i}")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // The default page holds every type: clients reading one page miss none.
    let (s, all) = app.get("/v1/event-types").await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(all["next_cursor"], Value::Null, "{all}");
    let names = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let expected = names(&all);
    assert!(expected.len() > 20, "{all}");
    assert!(expected.iter().any(|n| n == "candidate.step2"));
    // Pages of 7, by name, followed with `next_cursor`: the same list.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/event-types?limit=7&cursor={c}"),
            None => "/v1/event-types?limit=7".to_string(),
        };
        let (s, v) = app.call(Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(v["data"].as_array().unwrap().len() <= 7);
        seen.extend(names(&v));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    let (s, v) = app.get("/v1/event-types?cursor=%%%").await;
    assert_field(s, &v, "cursor");
    let (s, v) = app.get("/v1/event-types?limit=0").await;
    assert_field(s, &v, "limit");
    app.stop().await;
}
