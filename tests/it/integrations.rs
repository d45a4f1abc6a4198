//! Integration manifests run against a fake third-party API on loopback:
//! the real Asana manifest end to end, polling, store_data, files, OAuth,
//! revoke, retries, Basic auth, generated secrets, validation, triggers and
//! user sync.

use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::receiver::Receiver;
use crate::common::smtp::SmtpSink;
use crate::common::{Backend, TestApp};

both_backends!(
    asana_manifest_end_to_end,
    polling_and_continue_if,
    store_data_feeds_later_items_and_runs,
    files_travel_from_download_to_upload,
    oauth_connect_expire_refresh_and_401,
    failed_run_is_retried_once_later,
    basic_auth_and_generated_values_are_masked,
    users_events_trigger_integrations,
    sync_users_create_and_update,
);

/// The manifest with every `FAKE` replaced by the fake API's base URL.
pub(crate) fn point_at(manifest: &str, fake: &FakeApi) -> Value {
    serde_json::from_str(&manifest.replace("FAKE", &fake.base)).unwrap()
}

async fn create_user(app: &TestApp, email: &str) -> String {
    let (status, u) = app
        .post(
            "/v1/users",
            &json!({"email": email, "first_name": "Ada", "last_name": "O'Brien", "phone": "+3212345678"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    u["id"].as_str().unwrap().to_string()
}

pub(crate) async fn create_integration(app: &TestApp, kind: &str, manifest: Value) -> String {
    let (status, v) = app
        .post(
            "/v1/integrations",
            &json!({"name": "test", "kind": kind, "manifest": manifest}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Starts the OAuth flow; the URL the admin is sent to.
pub(crate) async fn authorize(app: &TestApp, id: &str) -> url::Url {
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirect
        .get(format!("{}/v1/integrations/{id}/oauth/authorize", app.base))
        .bearer_auth(crate::common::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

pub(crate) async fn run_wait(app: &TestApp, integration: &str, body: Value) -> Value {
    let (status, run) = app
        .post(
            &format!("/v1/integrations/{integration}/runs?wait=true"),
            &body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run
}

async fn asana_manifest_end_to_end(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let raw = include_str!("../fixtures/manifests/docs-asana-add-user-to-team.json")
        .replace("https://app.asana.com", "FAKE");
    let id = create_integration(&app, "webhook", point_at(&raw, &fake)).await;
    let user = create_user(&app, "ada@example.com").await;

    // Config: both ids are asked for, set values are never shown.
    let (_, got) = app.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(got["config"]["missing"], json!(["TOKEN", "ORG"]));
    let (status, v) = app
        .call(
            Method::PUT,
            &format!("/v1/integrations/{id}/config"),
            Some(&json!({"values": {"TOKEN": "tok-s3cret-value", "ORG": "org1"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["missing"], json!([]));
    let (status, v) = app
        .call(
            Method::PUT,
            &format!("/v1/integrations/{id}/config"),
            Some(&json!({"values": {"NOPE": "x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "values.NOPE");
    assert!(!app
        .table_text("integration_config")
        .contains("tok-s3cret-value"));
    let (_, cfg) = app.get(&format!("/v1/integrations/{id}/config")).await;
    assert!(!cfg.to_string().contains("tok-s3cret-value"));

    // Form options fetched with data_from / choice_value / choice_name.
    fake.script(
        "POST",
        "/api/1.0/organizations/org1/teams",
        vec![Answer::json(
            200,
            json!({"data": [{"gid": "t1", "name": "Team One"}, {"gid": "t2", "name": "Two"}]}),
        )],
    );
    let (status, form) = app
        .get(&format!("/v1/integrations/{id}/form?user_id={user}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert_eq!(
        form["items"][0]["options"],
        json!([{"value": "t1", "name": "Team One"}, {"value": "t2", "name": "Two"}])
    );

    // exists: the user is there → has_access; the overview renders it.
    fake.script(
        "GET",
        "/api/1.0/users/ada@example.com",
        vec![Answer::json(
            200,
            json!({"data": {"email": "ada@example.com"}}),
        )],
    );
    let (status, access) = app.get(&format!("/v1/users/{user}/access")).await;
    assert_eq!(status, StatusCode::OK, "{access}");
    assert_eq!(access["data"][0]["access"], "has_access");
    assert_eq!(access["overview"], "test (has access)");

    // Both execute calls, with the right bodies and the Bearer header.
    for path in [
        "/api/1.0/workspaces/org1/addUser",
        "/api/1.0/teams/t1/addUser",
    ] {
        fake.script("POST", path, vec![Answer::json(200, json!({"data": {}}))]);
    }
    let run = run_wait(
        &app,
        &id,
        json!({"user_id": user, "form": {"TEAM_ID": "t1"}}),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    for path in [
        "/api/1.0/workspaces/org1/addUser",
        "/api/1.0/teams/t1/addUser",
    ] {
        let seen = fake.seen_on("POST", path);
        assert_eq!(seen.len(), 1, "{path}");
        assert_eq!(seen[0].json(), json!({"data": {"user": "ada@example.com"}}));
        assert_eq!(
            seen[0].header("authorization"),
            Some("Bearer tok-s3cret-value")
        );
        assert_eq!(seen[0].header("content-type"), Some("application/json"));
    }
    // The step log names the URL and masks the token.
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(
        steps[1]["url"],
        format!("{}/api/1.0/teams/t1/addUser", fake.base)
    );
    assert_eq!(
        steps[1]["request_headers"]["Authorization"],
        "Bearer ***TOKEN***"
    );
    assert!(!run.to_string().contains("tok-s3cret-value"));

    // access_overview renders every exists check, as the docs describe.
    let notify = create_integration(
        &app,
        "webhook",
        point_at(r#"{"execute": [{"url": "FAKE/overview", "method": "POST", "data": {"o": "{{ access_overview }}"}}]}"#, &fake),
    )
    .await;
    fake.script("POST", "/overview", vec![Answer::json(200, json!({}))]);
    let run = run_wait(&app, &notify, json!({"user_id": user})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        fake.seen_on("POST", "/overview")[0].json(),
        json!({"o": "test (has access)"})
    );
    fake.stop().await;
    app.stop().await;
}

async fn polling_and_continue_if(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"execute": [{"url": "FAKE/job", "method": "GET", "polling": {"interval": 0.1, "amount": 3},
            "continue_if": {"response_notation": "state.value", "value": "done"}}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    let pending = Answer::json(200, json!({"state": {"value": "pending"}}));
    let done = Answer::json(200, json!({"state": {"value": "done"}}));
    fake.script("GET", "/job", vec![pending.clone(), pending.clone(), done]);
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(fake.seen_on("GET", "/job").len(), 3);
    let labels = step_labels(&run);
    assert_eq!(
        labels,
        ["execute[0]", "execute[0] poll 2", "execute[0] poll 3"]
    );

    // Never done: three requests, then blocked.
    fake.script("GET", "/job", vec![pending]);
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "blocked", "{run}");
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"hookrelay_integration_runs_total{kind="execute",status="succeeded"} 1"#,
        r#"hookrelay_integration_runs_total{kind="execute",status="blocked"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from {metrics}");
    }
    // Re-run the blocked run: a new run, same inputs, pointing back.
    let done = Answer::json(200, json!({"state": {"value": "done"}}));
    fake.script("GET", "/job", vec![done]);
    let (status, again) = app
        .post(
            &format!("/v1/runs/{}/rerun?wait=true", run["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "succeeded");
    assert_eq!(again["rerun_of"], run["id"]);
    assert_eq!(again["triggered_by"], "rerun");
    let (_, listed) = app
        .get(&format!("/v1/runs?integration_id={id}&status=blocked"))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(run["error"].as_str().unwrap().contains("continue_if"));
    // 3 (succeeded) + 3 (blocked) + 1 (the re-run, done at once).
    assert_eq!(fake.seen_on("GET", "/job").len(), 7);
    fake.stop().await;
    app.stop().await;
}

async fn store_data_feeds_later_items_and_runs(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"execute": [
            {"url": "FAKE/create", "method": "POST", "data": {"email": "{{ email }}"}, "store_data": {"REMOTE_ID": "user.id"}},
            {"url": "FAKE/users/{{ REMOTE_ID }}/groups", "method": "POST", "data": {"id": "{{ REMOTE_ID }}", "first": "{{ responses.0.user.id }}"}}
        ]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    let user = create_user(&app, "sd@example.com").await;
    fake.script(
        "POST",
        "/create",
        vec![Answer::json(201, json!({"user": {"id": 4242}}))],
    );
    fake.script(
        "POST",
        "/users/4242/groups",
        vec![Answer::json(200, json!({}))],
    );
    let run = run_wait(&app, &id, json!({"user_id": user})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    // A single {{ expr }} keeps the number's type.
    assert_eq!(
        fake.seen_on("POST", "/users/4242/groups")[0].json(),
        json!({"id": 4242, "first": 4242})
    );
    let (_, u) = app.get(&format!("/v1/users/{user}")).await;
    assert_eq!(u["extra_fields"]["REMOTE_ID"], 4242);

    // A later run (another manifest) sees it in extra_fields.
    let later = create_integration(
        &app,
        "webhook",
        point_at(
            r#"{"execute": [{"url": "FAKE/later/{{ REMOTE_ID }}", "method": "GET"}]}"#,
            &fake,
        ),
    )
    .await;
    fake.script("GET", "/later/4242", vec![Answer::json(200, json!({}))]);
    let run = run_wait(&app, &later, json!({"user_id": user})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(fake.seen_on("GET", "/later/4242").len(), 1);

    // A notation that is not there fails the run, without a retry.
    fake.script(
        "POST",
        "/create",
        vec![Answer::json(201, json!({"other": 1}))],
    );
    let run = run_wait(&app, &id, json!({"user_id": user})).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("user.id"), "{run}");
    fake.stop().await;
    app.stop().await;
}

async fn files_travel_from_download_to_upload(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let raw = include_str!("../fixtures/manifests/reference-test-save-as-file-and-files.json")
        .replace("http://localhost/", "FAKE/file");
    let id = create_integration(&app, "webhook", point_at(&raw, &fake)).await;
    let png: Vec<u8> = (0u8..=255).cycle().take(3000).collect();
    fake.script("GET", "/file", vec![Answer::bytes(&png)]);
    fake.script(
        "POST",
        "/file",
        vec![Answer::json(200, json!({"ok": true}))],
    );
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let upload = &fake.seen_on("POST", "/file")[0];
    let ct = upload.header("content-type").unwrap();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    let body = &upload.body;
    let header = b"Content-Disposition: form-data; name=\"file\"; filename=\"test.png\"";
    let at = body
        .windows(header.len())
        .position(|w| w == header)
        .expect("file part");
    assert!(
        body[at..].windows(png.len()).any(|w| w == png.as_slice()),
        "file bytes intact"
    );
    assert!(run["steps"][0]["response_body"]
        .as_str()
        .unwrap()
        .contains("saved as a file"));
    fake.stop().await;
    app.stop().await;
}

async fn oauth_connect_expire_refresh_and_401(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{
        "oauth": {
            "authenticate_url": "FAKE/authorize?client_id={{ CLIENT_ID }}&redirect_uri={{ redirect_url|urlencode }}",
            "access_token": {"url": "FAKE/token?grant=code", "method": "POST", "data": {"client_secret": "{{ CLIENT_SECRET }}"}},
            "refresh": {"url": "FAKE/token?grant=refresh", "method": "POST", "data": {"refresh_token": "{{ oauth.refresh_token }}"}}
        },
        "initial_data_form": [{"id": "CLIENT_ID", "name": "Client id", "description": "d"}, {"id": "CLIENT_SECRET", "name": "Client secret", "description": "d"}],
        "headers": {"Authorization": "Bearer {{ oauth.access_token }}"},
        "execute": [{"url": "FAKE/me", "method": "GET"}]
    }"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    app.call(
        Method::PUT,
        &format!("/v1/integrations/{id}/config"),
        Some(&json!({"values": {"CLIENT_ID": "cid", "CLIENT_SECRET": "csecret"}})),
    )
    .await;
    // authorize → redirect to the provider with our state.
    let location = authorize(&app, &id).await;
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "cid");
    assert!(q["redirect_uri"].ends_with("/oauth/callback"));
    let state = q["state"].clone();

    // A wrong state is refused; the right one gets a token, which expires soon.
    let (status, _) = crate::common::read(
        reqwest::get(format!("{}/oauth/callback?code=abc&state=forged", app.base))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A callback without its code is refused and leaves the state usable.
    let (status, v) = crate::common::read(
        reqwest::get(format!("{}/oauth/callback?state={state}", app.base))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "code");
    fake.script(
        "POST",
        "/token",
        vec![
            Answer::json(
                200,
                json!({"access_token": "at-first", "refresh_token": "rt-refresh-1", "expires_in": 30}),
            ),
            Answer::json(
                200,
                json!({"access_token": "at-second", "expires_in": 3600}),
            ),
            Answer::json(200, json!({"access_token": "at-third", "expires_in": 3600})),
        ],
    );
    let (status, v) = crate::common::read(
        reqwest::get(format!(
            "{}/oauth/callback?code=the-code&state={state}",
            app.base
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let token_call = &fake.seen_on("POST", "/token")[0];
    assert!(
        token_call.query.contains("code=the-code"),
        "{}",
        token_call.query
    );
    assert_eq!(token_call.json(), json!({"client_secret": "csecret"}));
    assert!(
        !app.table_text("integrations").contains("at-first"),
        "token stored in clear"
    );
    let (_, runs) = app
        .get(&format!("/v1/runs?integration_id={id}&kind=oauth"))
        .await;
    let (_, oauth_run) = app
        .get(&format!(
            "/v1/runs/{}",
            runs["data"][0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(oauth_run["status"], "succeeded", "{oauth_run}");
    let logged = oauth_run.to_string();
    for secret in ["at-first", "rt-refresh-1", "the-code", "csecret"] {
        assert!(
            !logged.contains(secret),
            "the OAuth run log holds {secret}: {logged}"
        );
    }
    // The state is single-use.
    let (status, _) = crate::common::read(
        reqwest::get(format!(
            "{}/oauth/callback?code=again&state={state}",
            app.base
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Expires within 60 s: refreshed before the run; refresh_token kept.
    fake.script("GET", "/me", vec![Answer::json(200, json!({"me": 1}))]);
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let refresh = &fake.seen_on("POST", "/token")[1];
    assert!(refresh.query.contains("grant=refresh"));
    assert_eq!(refresh.json(), json!({"refresh_token": "rt-refresh-1"}));
    assert_eq!(
        fake.seen_on("GET", "/me")[0].header("authorization"),
        Some("Bearer at-second")
    );
    assert_eq!(run["steps"][0]["label"], "oauth.refresh");
    assert!(!run.to_string().contains("at-second"));

    // A 401 triggers one refresh and one retry of the request.
    fake.script(
        "GET",
        "/me",
        vec![
            Answer::json(401, json!({"error": "expired"})),
            Answer::json(200, json!({"me": 1})),
        ],
    );
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let me = fake.seen_on("GET", "/me");
    assert_eq!(
        me[me.len() - 1].header("authorization"),
        Some("Bearer at-third")
    );
    let labels = step_labels(&run);
    assert_eq!(
        labels,
        ["execute[0]", "oauth.refresh", "execute[0] after refresh"]
    );
    fake.stop().await;
    app.stop().await;
}

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

/// The labels of a run's steps, in order.
fn step_labels(run: &Value) -> Vec<&str> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect()
}

async fn wait_run(app: &TestApp, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, r) = app.get(&format!("/v1/runs/{id}")).await;
        if check(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "run never reached the state: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

async fn users_events_trigger_integrations(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let rx = Receiver::start().await;
    app.create_webhook(json!({"name": "users", "url": rx.url("/users"), "event_types": ["user.updated", "organization.updated"], "format": "json"}))
        .await;
    let (status, v) = app
        .post(
            "/v1/integrations",
            &json!({"name": "welcome", "kind": "webhook",
                "manifest": point_at(r#"{"form": [{"id": "TEAM", "name": "Team", "type": "input"}], "execute": [{"url": "FAKE/welcome", "method": "POST", "data": {"who": "{{ email }}", "team": "{{ TEAM }}"}}]}"#, &fake),
                "triggers": [{"event_type": "user.updated", "form": {"TEAM": "blue"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    fake.script("POST", "/welcome", vec![Answer::json(200, json!({}))]);

    // Creating a user publishes user.updated: delivered, and the trigger runs.
    create_user(&app, "new.hire@example.com").await;
    let got = rx.wait_for("/users", 1).await;
    let event: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(event["type"], "user.updated");
    assert_eq!(event["user"]["email"], "new.hire@example.com");
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.seen_on("POST", "/welcome").is_empty() {
        assert!(Instant::now() < deadline, "the trigger never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        fake.seen_on("POST", "/welcome")[0].json(),
        json!({"who": "new.hire@example.com", "team": "blue"})
    );
    // The run is recorded as succeeded just after the call returns.
    let runs = loop {
        let (_, runs) = app.get("/v1/runs?status=succeeded").await;
        if !runs["data"][0].is_null() {
            break runs;
        }
        assert!(Instant::now() < deadline, "the run never succeeded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(runs["data"][0]["triggered_by"], "event");

    // A published event naming an unknown email runs nothing.
    let (status, _) = app
        .post(
            "/v1/events",
            &json!({"type": "user.updated", "user": {"email": "nobody@example.com"}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // organization.updated too; bad input is refused with nothing written.
    let (status, _) = app
        .call(
            Method::PUT,
            "/v1/organization",
            Some(&json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // (user.updated for the new hire, the published one, then this.)
    let got = rx.wait_for("/users", 3).await;
    assert!(got.iter().any(|r| r.body.contains("organization.updated")));
    let before = app.count_rows("users");
    let (status, v) = app
        .post(
            "/v1/users",
            &json!({"email": "NEW.HIRE@example.com", "first_name": "A", "last_name": "B"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, v) = app
        .post("/v1/users", &json!({"email": "x@example.com", "first_name": "A", "last_name": "B", "start_date": "31/01/2026"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "start_date");
    assert_eq!(app.count_rows("users"), before);

    // Broken manifests: 422 listing every problem with its path.
    let (status, v) = app
        .post(
            "/v1/integrations",
            &json!({"name": "bad", "kind": "webhook", "manifest": {
                "execute": [{"url": "https://x", "method": "GET"}, {"url": "https://x", "method": "GET", "polling": {"interval": 99999, "amount": 2}, "continue_if": {"response_notation": "a", "value": "b"}}],
                "exists": {"url": "https://x", "method": "DELETE", "expected": "x"},
                "colour": "blue"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "invalid_manifest");
    let paths: Vec<&str> = v["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["colour", "execute[1].polling.interval", "exists.method"],
        "{v}"
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("execute[1].polling.interval: must be"));
    rx.stop().await;
    fake.stop().await;
    app.stop().await;
}

async fn sync_users_create_and_update(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let raw = include_str!(
        "../fixtures/manifests/reference-test-sync-paginated-token-nested-data-from.json"
    )
    .replace("http://localhost/test_api/users", "FAKE/users")
    .replace("https://localhost/test_api/users", "FAKE/users");
    let id = create_integration(&app, "sync_users", point_at(&raw, &fake)).await;
    let page = |emails: &[&str], token: Option<&str>| {
        let employees: Vec<Value> = emails
            .iter()
            .map(|e| json!({"detail": {"workEmail": e, "firstName": "F", "lastName": "L"}}))
            .collect();
        let mut v = json!({"directory": {"employees": employees}});
        if let Some(t) = token {
            v["nextPageToken"] = json!(t);
        }
        Answer::json(200, v)
    };
    fake.script(
        "GET",
        "/users",
        vec![
            page(&["a@example.com", "b@example.com"], Some("p2")),
            page(&["c@example.com"], None),
        ],
    );
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["kind"], "sync");
    let seen = fake.seen_on("GET", "/users");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].query, "pt=p2");
    // Paginated: two, then the rest.
    let (_, first) = app.get("/v1/users?sort=email&limit=2").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .get(&format!("/v1/users?sort=email&limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["data"][0]["email"], "c@example.com");
    assert!(rest["next_cursor"].is_null());
    let (_, users) = app.get("/v1/users?sort=email").await;
    let emails: Vec<&str> = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["a@example.com", "b@example.com", "c@example.com"]);

    // update: records merge into extra_fields of matching users.
    let update = point_at(
        r#"{"action": "update", "execute": [{"url": "FAKE/ids", "method": "GET"}], "data_from": "",
            "data_structure": {"email": "mail", "EMPLOYEE_ID": "id"}}"#,
        &fake,
    );
    let uid = create_integration(&app, "sync_users", update).await;
    fake.script(
        "GET",
        "/ids",
        vec![Answer::json(
            200,
            json!([{"mail": "B@example.com", "id": 7}, {"mail": "zed@example.com", "id": 8}]),
        )],
    );
    let run = run_wait(&app, &uid, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, users) = app.get("/v1/users?q=b%40example").await;
    assert_eq!(users["data"][0]["extra_fields"], json!({"EMPLOYEE_ID": 7}));
    assert_eq!(app.count_rows("users"), 3);

    // A schedule (every second: seconds come last) queues sync runs by itself.
    let (status, v) = app
        .patch(
            &format!("/v1/integrations/{uid}"),
            &json!({"manifest": point_at(
                r#"{"action": "update", "schedule": "* * * * * *", "execute": [{"url": "FAKE/ids", "method": "GET"}], "data_from": "",
                    "data_structure": {"email": "mail", "EMPLOYEE_ID": "id"}}"#, &fake)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["next_sync_at"].is_string(), "{v}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, runs) = app
            .get(&format!("/v1/runs?integration_id={uid}&status=succeeded"))
            .await;
        if runs["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["triggered_by"] == "schedule")
        {
            break;
        }
        assert!(Instant::now() < deadline, "no scheduled sync ran: {runs}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    fake.stop().await;
    app.stop().await;
}

/// `hookrelay manifest validate|run`: for manifest authors, no database.
#[actix_web::test]
async fn manifest_cli_validates_and_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    // Async: the fake API is served by this test's runtime.
    async fn cli(args: &[&str]) -> (Option<i32>, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookrelay"))
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .await
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    }
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/manifests");
    for entry in std::fs::read_dir(fixtures).unwrap() {
        let path = entry.unwrap().path();
        let (code, out) = cli(&["manifest", "validate", path.to_str().unwrap()]).await;
        assert_eq!(code, Some(0), "{}: {out}", path.display());
    }
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"execute": [{"url": "https://x", "method": "GET", "polling": {"interval": 0, "amount": 1}, "continue_if": {"response_notation": "a", "value": "b"}}]}"#).unwrap();
    let (code, out) = cli(&["manifest", "validate", broken.to_str().unwrap()]).await;
    assert_eq!(code, Some(1));
    assert!(
        out.contains("error: execute[0].polling.interval: must be"),
        "{out}"
    );

    let fake = FakeApi::start().await;
    fake.script("POST", "/hire", vec![Answer::json(200, json!({"id": 5}))]);
    let manifest = dir.path().join("m.json");
    std::fs::write(
        &manifest,
        r#"{"headers": {"Authorization": "Bearer {{ TOKEN }}"}, "form": [{"id": "TEAM", "name": "Team", "type": "input"}], "execute": [{"url": "FAKE/hire", "method": "POST", "data": {"email": "{{ email }}", "team": "{{ TEAM }}"}, "store_data": {"REMOTE": "id"}}]}"#
            .replace("FAKE", &fake.base),
    )
    .unwrap();
    let user = dir.path().join("user.json");
    std::fs::write(&user, r#"{"email": "cli@example.com", "first_name": "C"}"#).unwrap();
    let (code, out) = cli(&[
        "manifest",
        "run",
        manifest.to_str().unwrap(),
        "--config",
        "TOKEN=cli-secret",
        "--form",
        "TEAM=red",
        "--user",
        user.to_str().unwrap(),
        "--allow-private-targets",
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("#0 execute[0]: POST"), "{out}");
    assert!(out.contains("Bearer ***TOKEN***"), "{out}");
    assert!(!out.contains("cli-secret"), "{out}");
    assert!(out.contains(r#"stored: {"REMOTE":5}"#), "{out}");
    assert_eq!(
        fake.seen_on("POST", "/hire")[0].json(),
        json!({"email": "cli@example.com", "team": "red"})
    );
    // Without --allow-private-targets the SSRF guard refuses loopback.
    let (code, out) = cli(&[
        "manifest",
        "run",
        manifest.to_str().unwrap(),
        "--config",
        "TOKEN=x",
    ])
    .await;
    assert_eq!(code, Some(1), "{out}");
    fake.stop().await;
}
