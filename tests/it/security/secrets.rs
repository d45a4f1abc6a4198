//! Secrets at rest: sealed in the database, re-sealed when the master key
//! rotates.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::create_token;
use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};

both_backends!(secrets_are_sealed_at_rest);

async fn secrets_are_sealed_at_rest(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let hook = app
        .create_webhook(
            json!({"name": "h", "url": rx.url("/h"), "event_types": ["*"], "format": "json"}),
        )
        .await;
    let id = hook["id"].as_str().unwrap().to_string();
    let first = hook["secret"].as_str().unwrap().to_string();
    let (_, rotated) = app
        .post(&format!("/v1/webhooks/{id}/rotate-secret"), &json!({}))
        .await;
    let second = rotated["secret"].as_str().unwrap().to_string();
    let (_, token) = create_token(&app, "t", &["events:write"]).await;
    app.publish(event("profile.parsing.success", "k")).await;
    rx.wait_for("/h", 1).await;

    // No secret or token in clear, in any table (or, on SQLite, anywhere in
    // the database files).
    let needles = [&first, &second, &token, &crate::common::TOKEN.to_string()];
    for table in ["webhooks", "api_tokens", "history", "events"] {
        let text = app.table_text(table);
        for n in needles {
            assert!(
                !text.contains(n.as_str()),
                "{table} holds a secret in clear"
            );
        }
    }
    let stored = app.table_text("webhooks");
    assert!(stored.contains("sealed:v1:"), "{stored}");
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
        }
        for n in needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                "the SQLite files hold a secret in clear"
            );
        }
        // The generated key file sits beside the database, owner-only.
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(format!("{path}.key")).expect("key file generated");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    // A secret stored in clear (before encryption existed) is sealed at the
    // next start, and still signs.
    app.execute_sql(&format!(
        "UPDATE webhooks SET secret = '{first}', previous_secret = NULL WHERE id = '{id}'"
    ));
    let app = app.restart_with(|_| {}).await.expect("restarts");
    assert!(!app.table_text("webhooks").contains(&first));
    let (_, s) = app.get(&format!("/v1/webhooks/{id}/secret")).await;
    assert_eq!(s["secret"], first.as_str());

    // A wrong master key is refused at start-up, naming the key in use.
    let err = match app
        .restart_with(|c| c.master_key = Some("ab".repeat(32)))
        .await
    {
        Ok(_) => panic!("started with the wrong master key"),
        Err(e) => e,
    };
    assert!(err.contains("sealed with master key"), "{err}");
    rx.stop().await;
}
/// Rotating the master key re-seals every stored secret (webhook secrets
/// and integration config values) at start-up; afterwards the old key is
/// not needed, and alone it is refused.
#[actix_web::test]
async fn master_key_rotation_reseals_everything() {
    use crate::common::fake_api::{Answer, FakeApi};
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let fake = FakeApi::start().await;
    let hook = app
        .create_webhook(json!({"name": "h", "url": "https://example.com/h", "event_types": ["*"]}))
        .await;
    let (status, integration) = app
        .post(
            "/v1/integrations",
            &json!({"name": "i", "kind": "webhook", "manifest": {
                "initial_data_form": [{"id": "TOKEN", "name": "Token", "description": "d"}],
                "headers": {"Authorization": "Bearer {{ TOKEN }}"},
                "execute": [{"url": format!("{}/ping", fake.base), "method": "GET"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{integration}");
    let iid = integration["id"].as_str().unwrap().to_string();
    app.call(
        Method::PUT,
        &format!("/v1/integrations/{iid}/config"),
        Some(&json!({"values": {"TOKEN": "rotate-me-token"}})),
    )
    .await;
    let path = app.database_url.trim_start_matches("sqlite://").to_string();
    let old = std::fs::read_to_string(format!("{path}.key"))
        .unwrap()
        .trim()
        .to_string();
    let new = hookrelay::vault::generate_key();
    let old_id = hookrelay::vault::key_id(&hookrelay::vault::parse_key(&old).unwrap());
    let new_id = hookrelay::vault::key_id(&hookrelay::vault::parse_key(&new).unwrap());
    assert!(app.table_text("integration_config").contains(&old_id));

    let (n1, o1) = (new.clone(), old.clone());
    let app = app
        .restart_with(move |c| {
            c.master_key = Some(n1);
            c.previous_master_keys = o1;
        })
        .await
        .expect("starts with the new key and the old one as previous");
    for table in ["webhooks", "integration_config"] {
        let text = app.table_text(table);
        assert!(
            text.contains(&new_id) && !text.contains(&old_id),
            "{table} not re-sealed"
        );
    }
    let n2 = new.clone();
    let app = app
        .restart_with(move |c| {
            c.master_key = Some(n2);
            c.previous_master_keys = String::new();
        })
        .await
        .expect("the old key is no longer needed");
    let (_, s) = app
        .get(&format!(
            "/v1/webhooks/{}/secret",
            hook["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s["secret"], hook["secret"]);
    fake.script("GET", "/ping", vec![Answer::json(200, json!({}))]);
    let (status, run) = app
        .post(
            &format!("/v1/integrations/{iid}/runs?wait=true"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(
        fake.seen_on("GET", "/ping")[0].header("authorization"),
        Some("Bearer rotate-me-token")
    );
    let err = match app.restart_with(move |c| c.master_key = Some(old)).await {
        Ok(_) => panic!("started with the retired key"),
        Err(e) => e,
    };
    assert!(err.contains(&new_id), "{err}");
    fake.stop().await;
}
