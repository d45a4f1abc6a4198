//! Issue 18, organizations: custom event types belong to the organization
//! that made them. Another organization neither sees nor publishes them,
//! may make its own of the same name, and built-in names stay reserved.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp, TOKEN};
use crate::organizations::{acme_and_globex, call, new_org, OrgPair};

both_backends!(custom_event_types_are_per_organization);

fn names(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

async fn custom_event_types_are_per_organization(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let OrgPair { tok_a, tok_b, .. } = acme_and_globex(&app).await;
    let hired = |description: &str| {
        json!({"name": "candidate.hired", "description": description,
               "example": {"type": "candidate.hired", "candidate": {"key": "k"}}})
    };
    let post = |tok: &str, path: &'static str, body: Value| {
        let tok = tok.to_string();
        let app = &app;
        async move { call(app, &tok, None, Method::POST, path, Some(&body)).await }
    };

    let (s, v) = post(&tok_a, "/v1/event-types", hired("A's hires")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // B neither sees A's type nor may use it.
    let (s, v) = call(&app, &tok_b, None, Method::GET, "/v1/event-types", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let seen = names(&v);
    assert!(!seen.contains(&"candidate.hired".to_string()), "{seen:?}");
    assert!(
        seen.contains(&"profile.parsing.success".to_string()),
        "built-ins are shared"
    );
    let (s, v) = call(
        &app,
        &tok_b,
        None,
        Method::GET,
        "/v1/event-types/candidate.hired",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let ev = json!({"type": "candidate.hired", "candidate": {"key": "b1"}});
    let (s, v) = post(&tok_b, "/v1/events", ev.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "unknown_event_type", "{v}");
    let hook =
        |path: &str| json!({"name": "h", "url": rx.url(path), "event_types": ["candidate.hired"]});
    let (s, v) = post(&tok_b, "/v1/webhooks", hook("/b")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // B makes its own type of the same name: independent of A's.
    let (s, v) = post(&tok_b, "/v1/event-types", hired("B's hires")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = call(
        &app,
        &tok_a,
        None,
        Method::GET,
        "/v1/event-types/candidate.hired",
        None,
    )
    .await;
    assert_eq!(v["description"], "A's hires", "{v}");
    let (_, v) = call(
        &app,
        &tok_b,
        None,
        Method::GET,
        "/v1/event-types/candidate.hired",
        None,
    )
    .await;
    assert_eq!(v["description"], "B's hires", "{v}");
    let (s, v) = post(&tok_b, "/v1/webhooks", hook("/b")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = post(&tok_b, "/v1/events", ev).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["deliveries"], 1, "{v}");
    let got = rx.wait_for("/b", 1).await;
    assert!(got[0].body.contains("b1"), "{}", got[0].body);

    // Within one organization a name is taken once, and built-in names
    // are nobody's to take.
    let (s, v) = post(&tok_a, "/v1/event-types", hired("again")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let builtin = json!({"name": "profile.parsing.success"});
    let (s, v) = post(&tok_b, "/v1/event-types", builtin).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    // An organization holding only custom types can be deleted; its types
    // go with it.
    let c = new_org(&app, "Initech").await;
    let (s, v) = call(
        &app,
        TOKEN,
        Some(&c),
        Method::POST,
        "/v1/event-types",
        Some(&json!({"name": "shift.started"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = call(
        &app,
        TOKEN,
        None,
        Method::DELETE,
        &format!("/v1/organizations/{c}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(
        app.count_rows("event_types WHERE name = 'shift.started'"),
        0,
        "the deleted organization's types are gone"
    );
}
