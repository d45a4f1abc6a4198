//! OAuth: connecting, token expiry, refresh and a 401 answered by a refresh.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::{Backend, TestApp};

both_backends!(oauth_connect_expire_refresh_and_401,);

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
