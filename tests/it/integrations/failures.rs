//! Runs that fail: retried once later; and what their logs must not show
//! (Basic credentials, generated secrets).

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::smtp::SmtpSink;
use crate::common::{Backend, TestApp};

both_backends!(
    failed_run_is_retried_once_later,
    basic_auth_and_generated_values_are_masked,
);

async fn failed_run_is_retried_once_later(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"execute": [{"url": "FAKE/flaky", "method": "POST", "status_code": [200, "201"]}],
            "exists": {"url": "FAKE/exists", "method": "GET", "expected": "{{ email }}"},
            "revoke": [{"url": "FAKE/revoke/{{ email }}", "method": "DELETE", "status_code": ["204"]}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    let user = create_user(&app, "retry@example.com").await;
    fake.script(
        "POST",
        "/flaky",
        vec![Answer::json(500, json!({})), Answer::json(201, json!({}))],
    );
    let (status, queued) = app
        .post(
            &format!("/v1/integrations/{id}/runs"),
            &json!({"user_id": user}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let run_id = queued["id"].as_str().unwrap().to_string();
    let run = wait_run(&app, &run_id, |r| r["status"] == "retry_scheduled").await;
    assert!(
        run["error"].as_str().unwrap().contains("status code 500"),
        "{run}"
    );
    let at = chrono::DateTime::parse_from_rfc3339(run["next_run_at"].as_str().unwrap()).unwrap();
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        (3500..=3600).contains(&wait.num_seconds()),
        "retry in {wait}"
    );
    // The hour passes (the clock is the row's next_run_at).
    app.execute_sql(&format!(
        "UPDATE runs SET next_run_at = '2000-01-01 00:00:00' WHERE id = '{run_id}'"
    ));
    let run = wait_run(&app, &run_id, |r| r["status"] == "succeeded").await;
    assert_eq!(run["attempt"], 2);
    assert_eq!(fake.seen_on("POST", "/flaky").len(), 2);

    // Only once: a second failure is final.
    fake.script("POST", "/flaky", vec![Answer::json(500, json!({}))]);
    let (_, queued) = app
        .post(
            &format!("/v1/integrations/{id}/runs"),
            &json!({"user_id": user}),
        )
        .await;
    let run_id = queued["id"].as_str().unwrap().to_string();
    wait_run(&app, &run_id, |r| r["status"] == "retry_scheduled").await;
    app.execute_sql(&format!(
        "UPDATE runs SET next_run_at = '2000-01-01 00:00:00' WHERE id = '{run_id}'"
    ));
    let run = wait_run(&app, &run_id, |r| r["status"] == "failed").await;
    assert_eq!(run["attempt"], 2);

    // Access and revoke.
    fake.script(
        "GET",
        "/exists",
        vec![Answer::json(200, json!({"users": ["someone@else"]}))],
    );
    let (_, access) = app.get(&format!("/v1/users/{user}/access")).await;
    assert_eq!(access["data"][0]["access"], "no_access");
    assert_eq!(access["data"][0]["can_revoke"], true);
    fake.script("GET", "/exists", vec![Answer::json(500, json!({}))]);
    fake.script(
        "DELETE",
        "/revoke/retry@example.com",
        vec![Answer {
            status: 204,
            body: Vec::new(),
            content_type: "text/plain",
            headers: Vec::new(),
        }],
    );
    let (status, run) = app
        .post(
            &format!("/v1/users/{user}/access/{id}/revoke?wait=true"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["kind"], "revoke");
    assert_eq!(fake.seen_on("DELETE", "/revoke/retry@example.com").len(), 1);
    fake.stop().await;
    app.stop().await;
}

async fn basic_auth_and_generated_values_are_masked(backend: Backend) {
    let smtp = SmtpSink::start().await;
    let smtp_url = smtp.url.clone();
    let fake = FakeApi::start().await;
    let sms_url = format!("{}/sms", fake.base);
    let Some(app) = TestApp::start_with(backend, |c| {
        c.smtp_url = Some(smtp_url);
        c.sms_url = Some(sms_url);
        c.sms_token = Some("sms-token".into());
    })
    .await
    else {
        return;
    };
    let manifest = point_at(
        r#"{"headers": {"Authorization": "Basic {{ADMIN_EMAIL}}:{{TOKEN}}", "Content-Type": "application/json"},
            "initial_data_form": [{"id": "ADMIN_EMAIL", "name": "Admin", "description": "d"}, {"id": "TOKEN", "name": "Token", "description": "d"}, {"id": "PASSWORD", "name": "generate"},
                {"id": "API_TOKEN", "name": "Pritunl token", "description": "d"}, {"id": "API_SECRET", "name": "Pritunl secret", "description": "d"}],
            "execute": [{"url": "FAKE/accounts", "method": "POST", "data": {"user": "{{ email }}", "password": "{{ PASSWORD }}"}},
                        {"url": "FAKE/pritunl?org=1", "method": "GET", "extra_headers": "pritunl"}],
            "post_execute_notification": [
                {"type": "email", "to": "{{ email }}", "subject": "Welcome {{ first_name }}", "message": "Your password: {{ PASSWORD }}"},
                {"type": "email", "to": "it@example.com", "subject": "Created {{ email }}", "message": "done"},
                {"type": "text", "to": "{{ phone }}", "subject": "-", "message": "Hi {{ first_name }}, check your email"}
            ]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    app.call(
        Method::PUT,
        &format!("/v1/integrations/{id}/config"),
        Some(&json!({"values": {"ADMIN_EMAIL": "admin@corp.test", "TOKEN": "basic-tok-123", "API_TOKEN": "ptok", "API_SECRET": "psecret"}})),
    )
    .await;
    let user = create_user(&app, "gen@example.com").await;
    fake.script("POST", "/accounts", vec![Answer::json(200, json!({}))]);
    fake.script("GET", "/pritunl", vec![Answer::json(200, json!({}))]);
    fake.script(
        "POST",
        "/sms",
        vec![Answer::json(200, json!({"queued": true}))],
    );
    let run = run_wait(&app, &id, json!({"user_id": user})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let seen = &fake.seen_on("POST", "/accounts")[0];
    let expected =
        base64::engine::general_purpose::STANDARD.encode("admin@corp.test:basic-tok-123");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Basic {expected}").as_str())
    );
    let password = seen.json()["password"].as_str().unwrap().to_string();
    assert!(password.len() >= 12, "generated: {password}");
    // Pritunl's signature: HMAC-SHA256 over token&timestamp&nonce&METHOD&path.
    let p = &fake.seen_on("GET", "/pritunl")[0];
    assert_eq!(p.header("auth-token"), Some("ptok"));
    let message = format!(
        "ptok&{}&{}&GET&/pritunl?org=1",
        p.header("auth-timestamp").unwrap(),
        p.header("auth-nonce").unwrap()
    );
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"psecret").unwrap();
    mac.update(message.as_bytes());
    let expected_sig =
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(p.header("auth-signature"), Some(expected_sig.as_str()));
    // Both notifications went out (the reference stops after the first email).
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[0].to, ["gen@example.com"]);
    assert!(mails[0].data.contains(&password));
    // The log knows none of the secrets.
    let text = run.to_string();
    for secret in [
        password.as_str(),
        "basic-tok-123",
        expected.as_str(),
        "admin@corp.test",
    ] {
        assert!(!text.contains(secret), "log holds {secret}: {text}");
    }
    assert!(text.contains("***PASSWORD***"));
    assert_eq!(
        run["steps"][0]["request_headers"]["Authorization"],
        "Basic ***basic credentials***"
    );
    let labels = step_labels(&run);
    assert_eq!(
        labels,
        [
            "execute[0]",
            "execute[1]",
            "post_execute_notification[0]",
            "post_execute_notification[1]",
            "post_execute_notification[2]"
        ]
    );
    // The text message went to the SMS endpoint, for the user's phone.
    let sms = &fake.seen_on("POST", "/sms")[0];
    assert_eq!(
        sms.json(),
        json!({"to": "+3212345678", "message": "Hi Ada, check your email"})
    );
    assert_eq!(sms.header("authorization"), Some("Bearer sms-token"));
    fake.stop().await;
    app.stop().await;
}
