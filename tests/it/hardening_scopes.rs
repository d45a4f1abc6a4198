//! Issue 13, "every scope means what it says": the bootstrap token, what a
//! publish-only token may start, URL credentials for read scopes, HrFlow
//! secrets and the wording of unique violations.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp, TOKEN};
use crate::security::create_token;

both_backends!(
    revoked_bootstrap_token_stays_revoked,
    publish_only_tokens_do_not_trigger_integrations,
    reserved_origin_is_refused,
    read_scopes_see_urls_without_credentials,
    hrflow_secrets_only_for_the_hrflow_scheme,
    unique_violations_name_the_field
);

/// Item 6: the bootstrap token is inserted only into a database without
/// tokens, so revoking it lasts; a short one stops the start.
async fn revoked_bootstrap_token_stays_revoked(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (_, list) = app.get("/v1/tokens").await;
    let bootstrap = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "bootstrap")
        .expect("the bootstrap token exists")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The bootstrap token is a platform token: an organization's admin
    // does not see it and cannot revoke it (404); a platform token can.
    let (_, org_admin) = create_token(&app, "org admin", &["admin"]).await;
    let (_, seen) = app
        .call_as(&org_admin, Method::GET, "/v1/tokens", None)
        .await;
    let listed = seen["data"].as_array().unwrap();
    assert!(
        !listed.iter().any(|t| t["id"] == bootstrap.as_str()),
        "an admin token lists the platform token: {seen}"
    );
    for method in [Method::GET, Method::DELETE] {
        let (status, v) = app
            .call_as(&org_admin, method, &format!("/v1/tokens/{bootstrap}"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    }
    let (_, ops) = create_token(&app, "ops", &["admin", "platform"]).await;
    let (status, v) = app
        .call_as(
            &ops,
            Method::DELETE,
            &format!("/v1/tokens/{bootstrap}"),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {v}");

    // Restarted with HOOKRELAY_BOOTSTRAP_TOKEN still set: it stays revoked.
    let app = app.restart_with(|_| {}).await.expect("restarts");
    let (status, _) = app.get("/v1/tokens").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the revoked bootstrap token came back"
    );
    let (status, _) = app.call_as(&ops, Method::GET, "/v1/tokens", None).await;
    assert_eq!(status, StatusCode::OK);

    // A short bootstrap token is a clear start-up error.
    let err = match app
        .restart_with(|c| c.bootstrap_token = Some("hr_short_token".into()))
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("a 14-character bootstrap token was accepted"),
    };
    assert!(
        err.contains("HOOKRELAY_BOOTSTRAP_TOKEN") && err.contains("at least 32"),
        "{err}"
    );
}

/// An integration triggered by `user.updated`, and a user it can run for.
async fn triggered_integration(app: &TestApp, rx: &Receiver) {
    let manifest = json!({"execute": [{"url": rx.url("/welcome"), "method": "POST"}]});
    let (status, v) = app
        .post(
            "/v1/integrations",
            &json!({"name": "welcome", "kind": "webhook", "manifest": manifest,
                "triggers": [{"event_type": "user.updated"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = app
        .post(
            "/v1/users",
            &json!({"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

fn user_updated() -> Value {
    json!({"type": "user.updated", "origin": "api", "message": "user updated",
        "user": {"email": "jane@example.com"}})
}

/// Item 7: a publish-only token records and delivers `user.updated`, but
/// starts no integration run; with `integrations:run` it does.
async fn publish_only_tokens_do_not_trigger_integrations(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    app.create_webhook(
        json!({"name": "users", "url": rx.url("/users"), "event_types": ["user.updated"]}),
    )
    .await;
    triggered_integration(&app, &rx).await;
    // Creating the user ran the trigger once (hookrelay's own event).
    let runs = app.count_rows("runs");
    assert_eq!(runs, 1);

    let (_, publisher) = create_token(&app, "publisher", &["events:write"]).await;
    let (status, v) = app
        .call_as(
            &publisher,
            Method::POST,
            "/v1/events",
            Some(&user_updated()),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let batch = json!({"events": [user_updated()]});
    let (status, v) = app
        .call_as(&publisher, Method::POST, "/v1/events/batch", Some(&batch))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    // Runs are queued before the answer, so none can still be on its way.
    assert_eq!(
        app.count_rows("runs"),
        runs,
        "a publish-only token queued a run"
    );
    // Still recorded and delivered: the user's own event and both publishes.
    rx.wait_for("/users", 3).await;

    let (_, runner) = create_token(&app, "runner", &["events:write", "integrations:run"]).await;
    let (status, v) = app
        .call_as(&runner, Method::POST, "/v1/events", Some(&user_updated()))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(app.count_rows("runs"), runs + 1);
    rx.stop().await;
    app.stop().await;
}

/// Item 7: `"origin": "hookrelay"` marks hookrelay's own events.
async fn reserved_origin_is_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let before = app.count_rows("events");
    let mut e = user_updated();
    e["origin"] = json!("hookrelay");
    let (status, v) = app.post("/v1/events", &e).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "reserved_origin");
    assert_eq!(v["error"]["field"], "origin");
    let (status, v) = app
        .post("/v1/events/batch", &json!({"events": [user_updated(), e]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "events[1].origin");
    e["origin"] = json!(" HookRelay");
    let (status, v) = app.post("/v1/events", &e).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        app.count_rows("events"),
        before,
        "a refused publish wrote an event"
    );
    app.stop().await;
}

/// Low item: `webhooks:read` and `history:read` see URLs with their
/// credentials masked; `webhooks:write` (and `admin`) see them whole.
async fn read_scopes_see_urls_without_credentials(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let url = rx
        .url("/hook?token=s3cret&v=1")
        .replacen("http://", "http://alice:pa55word@", 1);
    let hook = app
        .create_webhook(json!({"name": "creds", "url": url, "event_types": ["*"]}))
        .await;
    let id = hook["id"].as_str().unwrap();
    let e = app.publish(event("profile.parsing.success", "k")).await;
    app.wait_event_deliveries(e["id"].as_str().unwrap(), |d| {
        d.iter().all(|d| d["status"] == "succeeded")
    })
    .await;

    let (_, reader) = create_token(&app, "reader", &["webhooks:read", "history:read"]).await;
    let (_, writer) = create_token(
        &app,
        "writer",
        &["webhooks:read", "webhooks:write", "history:read"],
    )
    .await;
    let shown = |v: &Value| v.to_string();
    let get = |token: String, path: String| {
        let app = &app;
        async move {
            let (status, v) = app.call_as(&token, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {v}");
            v
        }
    };
    let (_, history) = app.get(&format!("/v1/history?webhook_id={id}")).await;
    let history_id = history["data"][0]["id"].as_str().unwrap().to_string();
    for path in [
        format!("/v1/webhooks/{id}"),
        "/v1/webhooks".to_string(),
        format!("/v1/history/{history_id}"),
        "/v1/history".to_string(),
    ] {
        let v = get(reader.clone(), path.clone()).await;
        let text = shown(&v);
        assert!(
            !text.contains("pa55word") && !text.contains("s3cret") && !text.contains("alice"),
            "{path} shows credentials to a reader: {text}"
        );
        assert!(
            text.contains("http://***:***@127.0.0.1") && text.contains("/hook?token=***&v=***"),
            "{path}: {text}"
        );
    }
    // Nor can a reader find credentials by searching for them, one guess
    // at a time; names still match.
    for path in ["/v1/webhooks?q=s3cret", "/v1/history?q=pa55"] {
        let v = get(reader.clone(), path.to_string()).await;
        assert_eq!(
            v["data"],
            json!([]),
            "{path} matched a credential for a reader"
        );
        let v = get(writer.clone(), path.to_string()).await;
        assert_eq!(v["data"].as_array().unwrap().len(), 1, "{path}: {v}");
    }
    let v = get(reader.clone(), "/v1/webhooks?q=cred".to_string()).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    // Whoever may change the webhook sees its URL whole.
    let v = get(writer.clone(), format!("/v1/webhooks/{id}")).await;
    assert_eq!(v["url"], url);
    let v = get(writer, format!("/v1/history/{history_id}")).await;
    assert_eq!(v["url"], url);
    let v = get(TOKEN.to_string(), format!("/v1/webhooks/{id}")).await;
    assert_eq!(v["url"], url);
    rx.stop().await;
    app.stop().await;
}

/// A secret as HrFlow.ai issues them (from the HrFlow signature vectors).
const HRFLOW_SECRET: &str = "wsk_8f1c2e0d4b7a49c3a1e6f5d2c9b8a7e6";

/// The receiver sample of HrFlow's webhook documentation (form bodies), and
/// its raw-body variant for JSON.
const HRFLOW_PYTHON: &str = r#"
import hmac, hashlib, json, sys, urllib.parse
def check_signature(secret, signature, body_str):
    body_dict = urllib.parse.parse_qs(body_str)
    body_dict = {key: value[0] for key, value in body_dict.items()}
    encoded_body = json.dumps(body_dict, separators=(',', ':'))
    hasher = hmac.new(secret.encode('utf8'), encoded_body.encode('utf8'), hashlib.sha256)
    return hmac.compare_digest(hasher.hexdigest(), signature)
def check_raw(secret, signature, body):
    return hmac.compare_digest(hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest(), signature)
cases = json.load(sys.stdin)
bad = [c for c in cases if not (check_signature if c['form'] else check_raw)(c['secret'], c['signature'], c['body'])]
print(len(cases), len(bad))
sys.exit(1 if bad else 0)
"#;

/// Migration from HrFlow: an `hrflow`-scheme webhook keeps the secret
/// HrFlow issued, and HrFlow's Python receiver verifies what it signs;
/// other schemes keep `whsec_`.
async fn hrflow_secrets_only_for_the_hrflow_scheme(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    for format in ["form", "json"] {
        let hook = app
            .create_webhook(json!({"name": format, "url": rx.url(&format!("/{format}")),
                "event_types": ["*"], "format": format, "signature_scheme": "hrflow",
                "secret": HRFLOW_SECRET}))
            .await;
        assert_eq!(hook["secret"], HRFLOW_SECRET);
    }
    let mut e = event("profile.parsing.success", "k");
    e["message"] = json!("Zoë a reçu 😀");
    app.publish(e).await;
    let mut cases = Vec::new();
    for format in ["form", "json"] {
        let r = &rx.wait_for(&format!("/{format}"), 1).await[0];
        cases.push(
            json!({"form": format == "form", "secret": HRFLOW_SECRET, "body": r.body,
            "signature": r.header("HTTP-HRFLOW-SIGNATURE").expect("signed")}),
        );
    }
    let python = std::env::var("HOOKRELAY_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = crate::common::run_python(&python, HRFLOW_PYTHON, &Value::Array(cases));
    assert!(
        out.status.success(),
        "HrFlow's Python receiver rejected the signature: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Other schemes, and secrets not in HrFlow's form, are refused.
    let before = app.count_rows("webhooks");
    for (scheme, secret) in [
        ("both", HRFLOW_SECRET),
        ("standard", HRFLOW_SECRET),
        ("hrflow", "wsk_tooshort"),
        ("hrflow", "wsk_with a space_0123456789"),
    ] {
        let (status, v) = app
            .post(
                "/v1/webhooks",
                &json!({"name": "x", "url": rx.url("/x"), "event_types": ["*"],
                "signature_scheme": scheme, "secret": secret}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{scheme} {secret}: {v}"
        );
        assert_eq!(v["error"]["field"], "secret");
    }
    assert_eq!(app.count_rows("webhooks"), before);

    // Rotation follows the webhook's scheme.
    let both = app
        .create_webhook(json!({"name": "both", "url": rx.url("/both"), "event_types": ["*"]}))
        .await;
    let path = format!(
        "/v1/webhooks/{}/rotate-secret",
        both["id"].as_str().unwrap()
    );
    let (status, v) = app.post(&path, &json!({"secret": HRFLOW_SECRET})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let hrflow = app
        .create_webhook(
            json!({"name": "h", "url": rx.url("/h"), "event_types": ["*"],
            "signature_scheme": "hrflow"}),
        )
        .await;
    let hid = hrflow["id"].as_str().unwrap();
    let (status, v) = app
        .post(
            &format!("/v1/webhooks/{hid}/rotate-secret"),
            &json!({"secret": HRFLOW_SECRET, "grace_period": "0s"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["secret"], HRFLOW_SECRET);
    // An HrFlow secret cannot sign Standard Webhooks: the scheme stays.
    let (status, v) = app
        .patch(
            &format!("/v1/webhooks/{hid}"),
            &json!({"signature_scheme": "both"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "signature_scheme");
    let (_, v) = app.get(&format!("/v1/webhooks/{hid}")).await;
    assert_eq!(v["signature_scheme"], "hrflow");
    rx.stop().await;
    app.stop().await;
}

/// Low item: concurrent creations race past the handlers' own checks into
/// the database's unique constraints; the 409 names the field, never the
/// database's text.
async fn unique_violations_name_the_field(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (_, writer) = create_token(&app, "writer", &["admin"]).await;
    // Up to 20 rounds of 16 concurrent creations; the first round that
    // reaches the constraint is enough.
    let mut raced = false;
    for round in 0..20 {
        let name = format!("race.round_{round}");
        let body = json!({"name": name});
        let tries = (0..16).map(|_| {
            let (app, body, writer) = (&app, body.clone(), writer.clone());
            async move {
                app.call_as(&writer, Method::POST, "/v1/event-types", Some(&body))
                    .await
            }
        });
        let answers = futures_util::future::join_all(tries).await;
        let created = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "{answers:?}");
        for (status, v) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
            assert_eq!(*status, StatusCode::CONFLICT, "{v}");
            let message = v["error"]["message"].as_str().unwrap();
            for leak in ["UNIQUE", "constraint", "duplicate key", "_pkey"] {
                assert!(
                    !message.contains(leak),
                    "the database's text leaked: {message}"
                );
            }
            // Either the handler's own check or the constraint: both name it.
            raced |= message.contains("`name`");
            assert!(
                message.contains(&name) || message.contains("`name`"),
                "{message}"
            );
        }
        if raced {
            break;
        }
    }
    // SQLite serialises writers, so only PostgreSQL gets to the constraint.
    if backend == Backend::Postgres && !raced {
        crate::common::notice("note: no creation reached the unique constraint this time");
    }
    app.stop().await;
}
