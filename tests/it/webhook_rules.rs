//! The web hook rules hold under concurrent changes (issue #26, item 3):
//! a change is validated against the row it changes, in one transaction, so
//! two PATCHes that each fit the stored web hook but not each other cannot
//! both land (a form web hook with several events per request), and
//! neither overwrites what the other wrote.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, TestApp};

both_backends!(concurrent_patches_keep_the_rules);

async fn concurrent_patches_keep_the_rules(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    for round in 0..20 {
        let hook = app
            .create_webhook(
                json!({"name": format!("r{round}"), "url": "https://example.com/h",
                "event_types": ["*"], "format": "json"}),
            )
            .await;
        let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
        // Each fits the stored web hook (json, one event per request); not both.
        let (to_form, to_batch) = (
            json!({"format": "form"}),
            json!({"max_events_per_request": 10}),
        );
        let ((s1, v1), (s2, v2)) =
            tokio::join!(app.patch(&path, &to_form), app.patch(&path, &to_batch));
        let (_, now) = app.get(&path).await;
        let shape = (
            now["format"].as_str().unwrap(),
            now["max_events_per_request"].as_i64().unwrap(),
        );
        assert!(
            !(shape.0 == "form" && shape.1 > 1),
            "round {round}: a form web hook with {} events per request ({s1} {v1}; {s2} {v2})",
            shape.1
        );
        let statuses = [s1, s2];
        assert!(
            statuses.contains(&StatusCode::OK)
                && statuses.contains(&StatusCode::UNPROCESSABLE_ENTITY),
            "round {round}: one change lands and the other is refused, got {s1} {v1} and {s2} {v2}"
        );
        // What landed is what is stored: no lost update.
        let expected = if s1 == StatusCode::OK {
            ("form", 1)
        } else {
            ("json", 10)
        };
        assert_eq!(shape, expected, "round {round}");
    }
    app.stop().await;
}

/// One check of event-type names, one wording: a web hook's subscription,
/// a publish, a test send and an integration's trigger answer an unknown
/// name alike, with the closest name when there is one.
#[actix_web::test]
async fn one_event_type_check_everywhere() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let hook = app
        .create_webhook(json!({"name": "h", "url": "https://example.com/h", "event_types": ["*"]}))
        .await;
    let test_path = format!("/v1/webhooks/{}/test", hook["id"].as_str().unwrap());
    let manifest = json!({"execute": [{"url": "https://example.com/x", "method": "POST"}]});
    let asks = [
        (
            "/v1/webhooks",
            json!({"name": "w", "url": "https://example.com/w", "event_types": ["profile.parsing.sucess"]}),
            "event_types[0]",
        ),
        (
            "/v1/events",
            json!({"type": "profile.parsing.sucess", "profile": {"key": "k"}}),
            "type",
        ),
        (
            test_path.as_str(),
            json!({"event_type": "profile.parsing.sucess"}),
            "event_type",
        ),
        (
            "/v1/integrations",
            json!({"name": "i", "kind": "webhook", "manifest": manifest,
            "triggers": [{"event_type": "profile.parsing.sucess"}]}),
            "triggers[0].event_type",
        ),
    ];
    for (path, body, field) in asks {
        let (status, v) = app.post(path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert_eq!(v["error"]["code"], "unknown_event_type", "{path}: {v}");
        assert_eq!(v["error"]["field"], field, "{path}: {v}");
        assert_eq!(
            v["error"]["message"],
            "event type 'profile.parsing.sucess' does not exist; did you mean `profile.parsing.success`? \
             GET /v1/event-types lists the event types (built-in and this organization's), POST /v1/event-types adds one",
            "{path}"
        );
    }
    app.stop().await;
}
