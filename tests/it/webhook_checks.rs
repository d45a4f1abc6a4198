//! What a web hook's create and update check beyond the field syntax
//! (issue 31): a host name that resolves only to refused addresses
//! (`localhost`) is refused like a literal one; a `prefix.*` pattern must
//! match the catalogue, and a typo is answered with the closest name; the
//! `standard` scheme defaults to JSON bodies.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{Backend, TestApp};
use crate::organizations::{call, new_org, org_token};

both_backends!(
    host_names_resolving_only_to_refused_addresses_are_refused,
    patterns_must_match_the_catalogue,
    standard_scheme_defaults_to_json
);

fn hook(url: &str, types: Value) -> Value {
    json!({"name": "n", "url": url, "event_types": types})
}

async fn host_names_resolving_only_to_refused_addresses_are_refused(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.allow_private_targets = false).await else {
        return;
    };
    let (status, err) = app
        .post(
            "/v1/webhooks",
            &hook("http://localhost:9000/hooks", json!(["*"])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "forbidden_target", "{err}");
    assert_eq!(err["error"]["field"], "url", "{err}");
    let message = err["error"]["message"].as_str().unwrap();
    for part in ["localhost", "loopback", "HOOKRELAY_ALLOW_PRIVATE_TARGETS"] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert_eq!(app.count_rows("webhooks"), 0);
    // A name that does not resolve (yet) is accepted; the attempt checks it.
    let w = app
        .create_webhook(hook("http://hookrelay-test.invalid/hooks", json!(["*"])))
        .await;
    let path = format!("/v1/webhooks/{}", w["id"].as_str().unwrap());
    let (status, err) = app
        .patch(&path, &json!({"url": "http://localhost:9000/x"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "forbidden_target", "{err}");
    let (_, still) = app.get(&path).await;
    assert_eq!(still["url"], "http://hookrelay-test.invalid/hooks");
    app.stop().await;

    // With the guard lifted, as the walk-through runs, localhost is fine.
    let app = TestApp::start(backend).await.unwrap();
    app.create_webhook(hook("http://localhost:9000/hooks", json!(["*"])))
        .await;
    app.stop().await;
}

async fn patterns_must_match_the_catalogue(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let url = "http://127.0.0.1:9/hooks";
    for (types, field, hint) in [
        (json!(["profiles.*"]), "event_types[0]", Some("`profile.*`")),
        (
            json!(["job.*", "profile.parsng.*"]),
            "event_types[1]",
            Some("`profile.parsing.*`"),
        ),
        (
            json!(["profile.parsing.sucess"]),
            "event_types[0]",
            Some("`profile.parsing.success`"),
        ),
        (json!(["candidate.*"]), "event_types[0]", None),
    ] {
        let (status, err) = app.post("/v1/webhooks", &hook(url, types.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{types}: {err}");
        assert_eq!(err["error"]["code"], "unknown_event_type", "{err}");
        assert_eq!(err["error"]["field"], field, "{err}");
        let message = err["error"]["message"].as_str().unwrap();
        match hint {
            Some(close) => assert!(
                message.contains(&format!("did you mean {close}?")),
                "{message}"
            ),
            None => assert!(!message.contains("did you mean"), "{message}"),
        }
        assert!(message.contains("GET /v1/event-types"), "{message}");
    }
    assert_eq!(app.count_rows("webhooks"), 0);
    let w = app
        .create_webhook(hook(
            url,
            json!(["profile.*", "profile.parsing.*", "webhook.*", "*"]),
        ))
        .await;
    let path = format!("/v1/webhooks/{}", w["id"].as_str().unwrap());
    let (status, err) = app
        .patch(&path, &json!({"event_types": ["profiles.*"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (_, still) = app.get(&path).await;
    assert_eq!(still["event_types"], w["event_types"]);

    // An organization's custom types are its catalogue too, not another's.
    let acme = new_org(&app, "Acme").await;
    let (_, acme_token) = org_token(&app, &acme).await;
    let globex = new_org(&app, "Globex").await;
    let (_, globex_token) = org_token(&app, &globex).await;
    let (status, t) = call(
        &app,
        &acme_token,
        None,
        Method::POST,
        "/v1/event-types",
        Some(&json!({"name": "candidate.hired"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let create = |token: String| {
        let app = &app;
        async move {
            let body = hook(url, json!(["candidate.*"]));
            call(app, &token, None, Method::POST, "/v1/webhooks", Some(&body)).await
        }
    };
    let (status, v) = create(acme_token.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = create(globex_token.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "unknown_event_type", "{v}");
    app.stop().await;
}

async fn standard_scheme_defaults_to_json(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let url = "http://127.0.0.1:9/hooks";
    for (extra, format) in [
        (json!({}), "form"),
        (json!({"signature_scheme": "both"}), "form"),
        (json!({"signature_scheme": "hrflow"}), "form"),
        (json!({"signature_scheme": "standard"}), "json"),
        (
            json!({"signature_scheme": "standard", "format": "form"}),
            "form",
        ),
    ] {
        let mut body = hook(url, json!(["*"]));
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let w = app.create_webhook(body).await;
        assert_eq!(w["format"], format, "{extra}: {w}");
    }
    app.stop().await;
}
