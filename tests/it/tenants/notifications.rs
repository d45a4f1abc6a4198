//! Item 4, notifications: the emails and text messages manifests send are
//! limited per organization (`HOOKRELAY_NOTIFICATIONS_PER_MINUTE_PER_ORG`):
//! past the allowance a notification is not sent and its step says why;
//! another organization keeps its own allowance.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::smtp::SmtpSink;
use crate::common::{Backend, TestApp};
use crate::fairness::{call_in, new_org};
use crate::integrations::point_at;

both_backends!(notifications_are_limited_per_organization);

/// A run of `integration` for `user` in `org`, waited for: its steps'
/// errors, by label.
async fn notification_errors(
    app: &TestApp,
    org: &str,
    integration: &str,
    user: &str,
) -> Vec<Option<String>> {
    let (s, run) = call_in(
        app,
        org,
        Method::POST,
        &format!("/v1/integrations/{integration}/runs?wait=true"),
        Some(&json!({"user_id": user})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{run}");
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["label"]
                .as_str()
                .unwrap()
                .starts_with("post_execute_notification")
        })
        .map(|s| s["error"].as_str().map(String::from))
        .collect()
}

async fn notifications_are_limited_per_organization(backend: Backend) {
    let smtp = SmtpSink::start().await;
    let smtp_url = smtp.url.clone();
    let fake = FakeApi::start().await;
    let sms_url = format!("{}/sms", fake.base);
    let Some(app) = TestApp::start_with(backend, |c| {
        c.smtp_url = Some(smtp_url);
        c.sms_url = Some(sms_url);
        // A slow refill: a loaded machine must not see a token come back.
        c.limits.notifications_per_minute_per_org = 4;
    })
    .await
    else {
        return;
    };
    fake.script("GET", "/ping", vec![Answer::json(200, json!({}))]);
    fake.script("POST", "/sms", vec![Answer::json(200, json!({}))]);
    let manifest = point_at(
        r#"{"execute": [{"url": "FAKE/ping", "method": "GET"}],
            "post_execute_notification": [
                {"type": "email", "to": "{{ email }}", "subject": "Welcome", "message": "hi"},
                {"type": "email", "to": "it@example.com", "subject": "Created", "message": "done"},
                {"type": "text", "to": "{{ phone }}", "subject": "-", "message": "hi"}
            ]}"#,
        &fake,
    );
    let mut setup = Vec::new();
    for name in ["A", "B"] {
        let org = new_org(&app, name).await;
        let body = json!({"name": "n", "kind": "webhook", "manifest": manifest});
        let (s, i) = call_in(&app, &org, Method::POST, "/v1/integrations", Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{i}");
        let person = json!({"email": "p@example.com", "first_name": "P", "last_name": "Q", "phone": "+3212345678"});
        let (s, u) = call_in(&app, &org, Method::POST, "/v1/users", Some(&person)).await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        let id = |v: &Value| v["id"].as_str().unwrap().to_string();
        setup.push((org, id(&i), id(&u)));
    }
    let (a, b) = (&setup[0], &setup[1]);
    // A's first run sends its three; the second only one more.
    let first = notification_errors(&app, &a.0, &a.1, &a.2).await;
    assert_eq!(first, [None, None, None]);
    let second = notification_errors(&app, &a.0, &a.1, &a.2).await;
    assert_eq!(second[0], None, "{second:?}");
    for refused in &second[1..] {
        let e = refused.as_deref().expect("refused");
        assert!(
            e.contains("not sent") && e.contains("HOOKRELAY_NOTIFICATIONS_PER_MINUTE_PER_ORG"),
            "{e}"
        );
    }
    assert_eq!(smtp.mails().len(), 3);
    assert_eq!(fake.seen_on("POST", "/sms").len(), 1);
    // B has its own allowance.
    let third = notification_errors(&app, &b.0, &b.1, &b.2).await;
    assert_eq!(third, [None, None, None]);
    assert_eq!(smtp.mails().len(), 5);
    assert_eq!(fake.seen_on("POST", "/sms").len(), 2);
    fake.stop().await;
    app.stop().await;
}
