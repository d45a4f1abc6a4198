//! The event-type catalogue: 26 built-ins seeded by migration, custom types.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, TestApp};

both_backends!(catalogue_and_custom_types);

async fn catalogue_and_custom_types(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (status, list) = app.get("/v1/event-types").await;
    assert_eq!(status, StatusCode::OK);
    let data = list["data"].as_array().unwrap();
    // The 26 types of the HrFlow catalogue, plus hookrelay's operational
    // `webhook.disabled`.
    let catalogue: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/event-types.json")).unwrap();
    let mut expected: Vec<&str> = catalogue["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(expected.len(), 26);
    expected.push("webhook.disabled");
    expected.sort();
    let names: Vec<&str> = data.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, expected);
    for t in data {
        assert!(t["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(["low", "medium", "high"].contains(&t["volume"].as_str().unwrap()));
        assert_eq!(t["example"]["type"], t["name"]);
        assert!(t["example"][t["entity"].as_str().unwrap()].is_object());
        assert_eq!(t["builtin"], true);
    }
    let (status, one) = app.get("/v1/event-types/profile.parsing.success").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["entity"], "profile");
    assert_eq!(
        one["example"]["profile"]["key"],
        "d821393853fc32b08c93b8d38590817c72048ec4"
    );

    let (status, created) = app.post("/v1/event-types", &json!({"name": "candidate.hired", "description": "A candidate was hired.", "volume": "medium"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["entity"], "candidate");
    assert_eq!(created["builtin"], false);
    assert!(created["example"]["candidate"].is_object());
    let (status, err) = app
        .post("/v1/event-types", &json!({"name": "candidate.hired"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "event_type_exists");
    for bad in [
        "Candidate.Hired",
        "candidate",
        "candidate..hired",
        "candidate.hired!",
        ".x",
    ] {
        let (status, err) = app.post("/v1/event-types", &json!({"name": bad})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(err["error"]["field"], "name");
    }
    // A custom type can be subscribed to and published at once.
    app.create_webhook(
        json!({"name": "c", "url": "http://127.0.0.1:9/c", "event_types": ["candidate.hired"]}),
    )
    .await;
    let r = app.publish(json!({"type": "candidate.hired", "origin": "ats", "message": "", "candidate": {"id": 7}})).await;
    assert_eq!(r["deliveries"], 1);
    let (status, _) = app.get("/v1/event-types/nope.nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.count_rows("event_types"), 28);
    app.stop().await;
}

both_backends!(every_type_shows_its_schema);

/// Checks each `[schema, example]` pair on stdin with the Python binding of
/// the `jsonschema` crate (installed with schemathesis): the schema is valid
/// draft 2020-12 and the example satisfies it.
const CHECK_SCHEMAS: &str = r#"
import json, sys, jsonschema_rs
for name, schema, example in json.load(sys.stdin):
    jsonschema_rs.Draft202012Validator(schema, validate_formats=True).validate(example)
    print(name)
"#;

/// Issue 27: every built-in type carries a JSON Schema its example
/// satisfies; a custom type keeps the schema it was created with, or none.
async fn every_type_shows_its_schema(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (_, list) = app.get("/v1/event-types").await;
    let types = list["data"].as_array().unwrap();
    let pairs: Vec<serde_json::Value> = types
        .iter()
        .map(|t| {
            assert!(t["schema"].is_object(), "{}: no schema", t["name"]);
            json!([t["name"], t["schema"], t["example"]])
        })
        .collect();
    assert_eq!(pairs.len(), 27);
    if let Some(python) = crate::receivers::python_with("the JSON Schema check", "jsonschema_rs") {
        let out = crate::common::run_python(&python, CHECK_SCHEMAS, &json!(pairs));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 27);
    }

    let schema = json!({"type": "object", "required": ["candidate"], "properties": {"candidate": {"type": "object"}}});
    let (s, v) = app
        .post(
            "/v1/event-types",
            &json!({"name": "candidate.hired", "schema": schema}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, got) = app.get("/v1/event-types/candidate.hired").await;
    assert_eq!(got["schema"], schema);
    let (s, v) = app
        .post("/v1/event-types", &json!({"name": "candidate.left"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["schema"].is_null(), "{v}");
    let (s, v) = app
        .post(
            "/v1/event-types",
            &json!({"name": "candidate.moved", "schema": {"type": 3}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "schema.type");
    app.stop().await;
}
