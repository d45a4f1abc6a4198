//! Issue 25, items 8–11: a manifest cannot send a browser or a request
//! outside http(s), cannot set the headers that route a request, the OAuth
//! callback cannot be made to speak for a provider or be framed and answers
//! once connected, and run logs mask what they used to leak.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::{read, Backend, TestApp};
use crate::integrations::{authorize, create_integration, point_at, run_wait};

both_backends!(
    non_http_urls_are_refused,
    routing_headers_are_refused,
    callback_errors_are_neutral_and_never_framed,
    callback_answers_once_the_token_is_committed,
    masking_gaps_are_closed,
);

pub(crate) async fn set_config(app: &TestApp, id: &str, values: Value) {
    let path = format!("/v1/integrations/{id}/config");
    let body = json!({ "values": values });
    let (status, v) = app.call(Method::PUT, &path, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// Posts an integration that must be refused; its problems' paths.
async fn refused(app: &TestApp, manifest: Value) -> (Vec<String>, Value) {
    let body = json!({"name": "refused", "kind": "webhook", "manifest": manifest});
    let (status, v) = app.post("/v1/integrations", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "invalid_manifest", "{v}");
    let paths = v["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect();
    (paths, v)
}

async fn non_http_urls_are_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (paths, v) = refused(
        &app,
        json!({
            "oauth": {"authenticate_url": "javascript:alert(document.domain)//",
                      "access_token": {"url": "https://p.example/token"}},
            "execute": [{"url": "file:///etc/passwd", "method": "GET"},
                        {"url": "JavaScript:alert(1)//{{ X }}", "method": "GET"}],
            "revoke": [{"url": "data:text/html,<script>alert(1)</script>"}],
        }),
    )
    .await;
    for p in [
        "oauth.authenticate_url",
        "execute[0].url",
        "execute[1].url",
        "revoke[0].url",
    ] {
        assert!(paths.contains(&p.to_string()), "{p} missing: {v}");
    }
    assert!(v.to_string().contains("http or https"), "{v}");
    assert_eq!(app.count_rows("integrations"), 0);

    // A template can only be judged once rendered: at the authorize step
    // (nothing stored, no state issued) and at a request.
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"initial_data_form": [{"id": "START", "name": "s"}, {"id": "TARGET", "name": "t"}],
            "oauth": {"authenticate_url": "{{ START }}", "access_token": {"url": "FAKE/token"}},
            "execute": [{"url": "{{ TARGET }}/x", "method": "GET"}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    set_config(
        &app,
        &id,
        json!({"START": "javascript:alert(document.domain)//", "TARGET": "file:///etc"}),
    )
    .await;
    let path = format!("/v1/integrations/{id}/oauth/start");
    let (status, v) = app.post(&path, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["field"], "manifest.oauth.authenticate_url",
        "{v}"
    );
    assert!(!v.to_string().contains("alert("), "{v}");
    assert_eq!(app.count_rows("oauth_states"), 0);
    let run = run_wait(&app, &id, json!({})).await;
    assert_ne!(run["status"], "succeeded", "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(error.contains("only http and https"), "{error}");
    // A change to such a URL is refused, and changes nothing.
    let patch =
        json!({"manifest": {"execute": [{"url": "ftp://files.example/x", "method": "GET"}]}});
    let (status, v) = app.patch(&format!("/v1/integrations/{id}"), &patch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "execute[0].url", "{v}");
    let (_, now) = app.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(now["manifest"]["execute"][0]["url"], "{{ TARGET }}/x");
    assert!(fake.seen().is_empty());
    fake.stop().await;
    app.stop().await;
}

async fn routing_headers_are_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (paths, v) = refused(
        &app,
        json!({
            "headers": {"Host": "internal.example", "Authorization": "Bearer x"},
            "execute": [{"url": "https://a.example", "method": "POST",
                         "headers": {"transfer-encoding": "chunked"}}],
            "exists": {"url": "https://a.example", "method": "GET", "expected": "x",
                       "headers": {"Connection": "Upgrade"}},
            "oauth": {"refresh": {"url": "https://a.example/t", "headers": {"Content-Length": "0"}}},
        }),
    )
    .await;
    assert_eq!(
        paths,
        [
            "execute[0].headers.transfer-encoding",
            "headers.Host",
            "oauth.refresh.headers.Content-Length",
            "exists.headers.Connection"
        ],
        "{v}"
    );
    assert_eq!(v["error"]["field"], "execute[0].headers.transfer-encoding");
    let host = &v["error"]["problems"][1]["message"];
    assert!(host.as_str().unwrap().contains("Host"), "{v}");
    assert_eq!(app.count_rows("integrations"), 0);

    // A header name that is a template is checked once rendered.
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"initial_data_form": [{"id": "H", "name": "h"}],
            "execute": [{"url": "FAKE/x", "method": "GET", "headers": {"{{ H }}": "evil.example"}}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    set_config(&app, &id, json!({"H": "host"})).await;
    fake.script("GET", "/x", vec![Answer::json(200, json!({}))]);
    let run = run_wait(&app, &id, json!({})).await;
    assert_ne!(run["status"], "succeeded", "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(
        error.contains("header ***H***") || error.contains("header host"),
        "{error}"
    );
    assert!(fake.seen().is_empty(), "the request went out");
    fake.stop().await;
    app.stop().await;
}

/// GET of the public callback, as a browser (`html`) or a script.
async fn callback(app: &TestApp, query: &str, html: bool) -> reqwest::Response {
    let mut req = app.http.get(format!("{}/oauth/callback?{query}", app.base));
    if html {
        req = req.header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    }
    req.send().await.unwrap()
}

/// The headers every callback answer carries.
fn assert_hardened(resp: &reqwest::Response) {
    let h = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(h("cache-control").as_deref(), Some("no-store"));
    assert_eq!(h("x-frame-options").as_deref(), Some("DENY"));
    let csp = h("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h("referrer-policy").as_deref(), Some("no-referrer"));
}

async fn callback_errors_are_neutral_and_never_framed(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let phish = "Your account is locked. Call +1 555 0100 now <b>urgent</b>\n";
    let query = format!(
        "state=st_x&error={}",
        url::form_urlencoded::byte_serialize(phish.as_bytes()).collect::<String>()
    );
    let resp = callback(&app, &query, true).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_hardened(&resp);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Not connected"), "{page}");
    // Reduced to a short code: no sentence, no markup, no line break.
    for shown in [
        "Your account",
        "is locked",
        "+1 555",
        "<b>",
        "&lt;b",
        "urgent</",
    ] {
        assert!(!page.contains(shown), "{shown} shown: {page}");
    }
    assert!(
        page.contains("(error code Youraccountislocked.Call15550100nowburge)"),
        "{page}"
    );
    // A script gets JSON, with the same headers and message.
    let resp = callback(&app, &query, false).await;
    assert_hardened(&resp);
    let (status, v) = read(resp).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "error");
    assert!(!v.to_string().contains("is locked"), "{v}");
    // Standard codes say what they mean; codes are capped.
    let (_, v) = read(callback(&app, "error=access_denied", false).await).await;
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("access was denied (error code access_denied)"),
        "{message}"
    );
    let long = "e".repeat(5000);
    let (_, v) = read(callback(&app, &format!("error={long}"), false).await).await;
    assert!(!v.to_string().contains(&"e".repeat(41)), "{v}");
    // Any other answer is hardened too: an unknown state, a bad query.
    let resp = callback(&app, "code=c&state=st_unknown", true).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_hardened(&resp);
    assert_hardened(&callback(&app, "code=a&code=b", false).await);
    app.stop().await;
}

async fn callback_answers_once_the_token_is_committed(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"oauth": {"authenticate_url": "FAKE/authorize", "access_token": {"url": "FAKE/token"}},
            "execute": [{"url": "FAKE/me", "method": "GET"}]}"#,
        &fake,
    );
    fake.script(
        "POST",
        "/token",
        vec![Answer::json(200, json!({"access_token": "at-committed-1"}))],
    );
    let id = create_integration(&app, "webhook", manifest.clone()).await;
    let state = |u: &url::Url| {
        u.query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .to_string()
    };
    let location = authorize(&app, &id).await;
    let resp = callback(&app, &format!("code=c&state={}", state(&location)), true).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_hardened(&resp);
    assert!(resp.text().await.unwrap().contains("Connected"));
    let (_, i) = app.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(i["oauth"]["connected"], true, "{i}");

    // Deleted while the provider answers: nothing is kept, and the answer
    // says so instead of "Connected".
    let gone = create_integration(&app, "webhook", manifest).await;
    let location = authorize(&app, &gone).await;
    fake.hold("POST", "/token");
    let url = format!(
        "{}/oauth/callback?code=c&state={}",
        app.base,
        state(&location)
    );
    let pending = tokio::spawn(async move { read(reqwest::get(url).await.unwrap()).await });
    crate::common::wait::until(
        "the token request",
        std::time::Duration::from_secs(60),
        || async { (fake.seen_on("POST", "/token").len() == 2).then_some(()) },
    )
    .await;
    let (status, v) = app
        .call(Method::DELETE, &format!("/v1/integrations/{gone}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
    fake.release("POST", "/token");
    let (status, v) = pending.await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["code"], "not_found", "{v}");
    // Only the first connection's run is recorded.
    assert_eq!(app.count_rows("runs"), 1);
    fake.stop().await;
    app.stop().await;
}

async fn masking_gaps_are_closed(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| {
        // The SMS endpoint's address carries a key, and nothing listens.
        c.sms_url = Some("http://127.0.0.1:9/sms?key=sms-url-secret-42".into());
    })
    .await
    else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"initial_data_form": [{"id": "TOKEN", "name": "t"}],
            "oauth": {"authenticate_url": "FAKE/authorize", "access_token": {"url": "FAKE/token"}},
            "execute": [{"url": "FAKE/big", "method": "GET"},
                        {"url": "FAKE/echo", "method": "GET", "headers": {"Authorization": "Bearer {{ oauth.access_token }}"}}],
            "post_execute_notification": [{"type": "text", "to": "+3200000000", "message": "hi"}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    let secret = "zq-SECRET-7f3k9w";
    set_config(&app, &id, json!({"TOKEN": secret})).await;
    // A non-JSON token answer, with a short access token.
    fake.script(
        "POST",
        "/token",
        vec![Answer {
            status: 200,
            body: b"access_token=k7Q%21&scope=repo&token_type=bearer".to_vec(),
            content_type: "application/x-www-form-urlencoded",
            headers: Vec::new(),
        }],
    );
    let location = authorize(&app, &id).await;
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1;
    let (status, v) =
        read(callback(&app, &format!("code=c0de-7d1e9&state={state}"), false).await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a form-encoded token is a token: {v}"
    );
    // Every gap is looked for, then all that leaked are listed at once.
    let mut leaks: Vec<String> = Vec::new();
    let (_, oauth_run) = app
        .get(&format!("/v1/runs/{}", v["run_id"].as_str().unwrap()))
        .await;
    let logged = oauth_run["steps"][0]["response_body"].as_str().unwrap();
    if logged.contains("k7Q") || !logged.contains("***oauth.access_token***") {
        leaks.push(format!(
            "the form-encoded token answer is logged as {logged}"
        ));
    }

    // The secret straddles the 64 KiB cut of the logged body.
    let mut big = "x".repeat(64 * 1024 - 5).into_bytes();
    big.extend_from_slice(format!("{secret} and after").as_bytes());
    fake.script("GET", "/big", vec![Answer::bytes(&big)]);
    fake.script(
        "GET",
        "/echo",
        vec![Answer::json(200, json!({"auth": "Bearer k7Q!"}))],
    );
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps[0]["response_truncated"], true);
    let body = steps[0]["response_body"].as_str().unwrap();
    if body.contains("zq-S") {
        leaks.push(format!(
            "part of a secret at the cut: …{}",
            &body[body.len() - 20..]
        ));
    }
    assert_eq!(
        fake.seen_on("GET", "/echo")[0].header("authorization"),
        Some("Bearer k7Q!")
    );
    let echo = steps[1].to_string();
    if echo.contains("k7Q") {
        leaks.push(format!("a short OAuth token in clear: {echo}"));
    }
    // The text message failed: its error does not name the endpoint.
    let sms = steps[2]["error"].as_str().unwrap();
    if sms.contains("sms-url-secret") || sms.contains("127.0.0.1:9") {
        leaks.push(format!("the SMS error names HOOKRELAY_SMS_URL: {sms}"));
    }
    let text = app.table_text("run_steps");
    for leak in ["k7Q", "sms-url-secret", "zq-S"] {
        if text.contains(leak) {
            leaks.push(format!("{leak} is stored in run_steps"));
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
    fake.stop().await;
    app.stop().await;
}
