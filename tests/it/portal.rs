//! Issue 27, the customer portal's API: links minted for one organization
//! act in it only, with at most the web hook and history scopes; revoked
//! and expired links answer 401 saying which; the per-organization limit;
//! branding; the portal page's framing policy.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::wait::until;
use crate::common::{Backend, TestApp, TOKEN};
use crate::organizations::{call, new_org, org_token};

both_backends!(
    a_link_acts_in_its_organization_only,
    minting_needs_admin_and_checks_its_input,
    revoked_and_expired_links_say_which,
    live_links_are_limited_per_organization,
    branding_is_set_by_the_platform
);

/// Mints a link for `org` with the platform token; (status, body).
async fn mint(app: &TestApp, org: &str, body: Option<&Value>) -> (StatusCode, Value) {
    call(
        app,
        TOKEN,
        Some(org),
        Method::POST,
        "/v1/portal/sessions",
        body,
    )
    .await
}

/// `org`'s live links, listed with the platform token; (status, body).
async fn live(app: &TestApp, org: &str) -> (StatusCode, Value) {
    call(
        app,
        TOKEN,
        Some(org),
        Method::GET,
        "/v1/portal/sessions",
        None,
    )
    .await
}

/// The secret of a minted link, read from its URL's fragment.
fn secret_of(minted: &Value) -> String {
    let url = minted["url"].as_str().unwrap();
    let (_, secret) = url
        .split_once("#session=")
        .expect("the secret is in the fragment");
    assert!(secret.starts_with("hrp_") && secret.len() == 47, "{url}");
    secret.to_string()
}

fn ids(v: &Value) -> Vec<&str> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect()
}

async fn a_link_acts_in_its_organization_only(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (a, b) = (new_org(&app, "Acme").await, new_org(&app, "Globex").await);
    let (s, minted) = mint(&app, &a, None).await;
    assert_eq!(s, StatusCode::CREATED, "{minted}");
    assert!(
        minted["id"].as_str().unwrap().starts_with("ps_"),
        "{minted}"
    );
    let url = minted["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/portal/#session=", app.config.public_base())),
        "{url}"
    );
    let secret = secret_of(&minted);
    assert_eq!(
        minted["scopes"],
        json!([
            "history:read",
            "history:resend",
            "webhooks:read",
            "webhooks:write"
        ])
    );

    let (s, me) = call(&app, &secret, None, Method::GET, "/v1/me", None).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["organization"]["id"], a.as_str());
    assert_eq!(me["organization"]["name"], "Acme");
    assert_eq!(me["token"]["name"], "Portal link");
    assert_eq!(me["platform"], false);
    assert!(me["portal"]["expires_at"].is_string(), "{me}");

    // A web hook added through the link lands in its organization only.
    let hook = json!({"name": "h", "url": "https://example.com/h", "event_types": ["profile.parsing.success"]});
    let (s, v) = call(
        &app,
        &secret,
        None,
        Method::POST,
        "/v1/webhooks",
        Some(&hook),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap();
    let (_, in_a) = call(&app, TOKEN, Some(&a), Method::GET, "/v1/webhooks", None).await;
    assert_eq!(ids(&in_a), vec![id]);
    let (_, in_b) = call(&app, TOKEN, Some(&b), Method::GET, "/v1/webhooks", None).await;
    assert!(ids(&in_b).is_empty(), "{in_b}");
    // Naming another organization is answered as if it did not exist.
    let (s, v) = call(&app, &secret, Some(&b), Method::GET, "/v1/webhooks", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // The catalogue with schemas, and nothing beyond web hooks and history.
    let (s, t) = call(
        &app,
        &secret,
        None,
        Method::GET,
        "/v1/event-types/profile.parsing.success",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(
        t["schema"]["properties"]["type"]["const"],
        "profile.parsing.success"
    );
    let (s, _) = call(&app, &secret, None, Method::GET, "/v1/history", None).await;
    assert_eq!(s, StatusCode::OK);
    let event = json!({"type": "profile.parsing.success", "profile": {"key": "k"}});
    for (method, path, body) in [
        (Method::GET, "/v1/tokens", None),
        (Method::GET, "/v1/integrations", None),
        (Method::GET, "/v1/users", None),
        (Method::GET, "/v1/organizations", None),
        (Method::POST, "/v1/events", Some(&event)),
        (Method::POST, "/v1/portal/sessions", None),
        (Method::GET, "/v1/portal/sessions", None),
    ] {
        let (s, v) = call(&app, &secret, None, method.clone(), path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], "forbidden");
    }

    // Listed for its organization, never with its secret.
    let (s, list) = live(&app, &a).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![minted["id"].as_str().unwrap()]);
    assert!(list["data"][0].get("url").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret));
    let (_, other) = live(&app, &b).await;
    assert!(ids(&other).is_empty(), "{other}");
    // Another organization cannot revoke it.
    let path = format!("/v1/portal/sessions/{}", minted["id"].as_str().unwrap());
    let (s, _) = call(&app, TOKEN, Some(&b), Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&app, &secret, None, Method::GET, "/v1/me", None).await;
    assert_eq!(s, StatusCode::OK);
    // Only its hash is stored.
    assert!(!app.table_text("portal_sessions").contains(&secret));
    app.stop().await;
}

async fn minting_needs_admin_and_checks_its_input(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let a = new_org(&app, "Acme").await;
    let (_, writer) = call(
        &app,
        TOKEN,
        Some(&a),
        Method::POST,
        "/v1/tokens",
        Some(&json!({"name": "writer", "scopes": ["webhooks:write", "history:resend"]})),
    )
    .await;
    let writer = writer["token"].as_str().unwrap();
    let (s, v) = call(
        &app,
        writer,
        None,
        Method::POST,
        "/v1/portal/sessions",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"]["message"], "this token lacks the `admin` scope");
    // An organization's admin token mints for its own organization.
    let (_, admin) = org_token(&app, &a).await;
    let (s, v) = call(
        &app,
        &admin,
        None,
        Method::POST,
        "/v1/portal/sessions",
        Some(&json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, me) = call(&app, &secret_of(&v), None, Method::GET, "/v1/me", None).await;
    assert_eq!(me["organization"]["id"], a.as_str());

    for (body, field) in [
        (json!({"expires_in": 0}), "expires_in"),
        (json!({"expires_in": 86_401}), "expires_in"),
        (json!({"scopes": []}), "scopes"),
        (json!({"scopes": ["webhooks:read", "admin"]}), "scopes[1]"),
        (json!({"scopes": ["events:write"]}), "scopes[0]"),
    ] {
        let (s, v) = mint(&app, &a, Some(&body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let (s, v) = mint(&app, &a, Some(&json!({"expires": 60}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "invalid_body");
    assert_eq!(
        app.count_rows("portal_sessions"),
        1,
        "a refused mint writes nothing"
    );

    // A read-only link reads web hooks and cannot change them or re-send.
    let (s, v) = mint(
        &app,
        &a,
        Some(&json!({"expires_in": 60, "scopes": ["webhooks:read", "history:read"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let reader = secret_of(&v);
    let (s, _) = call(&app, &reader, None, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(s, StatusCode::OK);
    let hook = json!({"name": "h", "url": "https://example.com/h", "event_types": ["*"]});
    let (s, _) = call(
        &app,
        &reader,
        None,
        Method::POST,
        "/v1/webhooks",
        Some(&hook),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(
        &app,
        &reader,
        None,
        Method::POST,
        "/v1/history/hst_x/resend",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.stop().await;
}

async fn revoked_and_expired_links_say_which(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let a = new_org(&app, "Acme").await;
    let (_, minted) = mint(&app, &a, None).await;
    let secret = secret_of(&minted);
    let path = format!("/v1/portal/sessions/{}", minted["id"].as_str().unwrap());
    let (s, _) = call(&app, TOKEN, Some(&a), Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let resp = app
        .http
        .get(format!("{}/v1/me", app.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "portal_link_revoked", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("open the portal again"),
        "{v}"
    );
    let (s, _) = call(&app, TOKEN, Some(&a), Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a revoked link is revoked once");

    let (_, short) = mint(&app, &a, Some(&json!({"expires_in": 1}))).await;
    let short_secret = secret_of(&short);
    let v = until(
        "the one-second link to expire",
        Duration::from_secs(30),
        || async {
            let (s, v) = call(&app, &short_secret, None, Method::GET, "/v1/webhooks", None).await;
            (s == StatusCode::UNAUTHORIZED).then_some(v)
        },
    )
    .await;
    assert_eq!(v["error"]["code"], "portal_link_expired", "{v}");

    let unknown = format!("hrp_{}", "A".repeat(43));
    let (s, v) = call(&app, &unknown, None, Method::GET, "/v1/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "unauthorized");
    let (_, list) = live(&app, &a).await;
    assert!(
        ids(&list).is_empty(),
        "neither the revoked nor the expired link is live: {list}"
    );
    app.stop().await;
}

async fn live_links_are_limited_per_organization(backend: Backend) {
    let Some(app) =
        TestApp::start_with(backend, |c| c.limits.max_portal_sessions_per_org = 2).await
    else {
        return;
    };
    let (a, b) = (new_org(&app, "Acme").await, new_org(&app, "Globex").await);
    let (_, first) = mint(&app, &a, None).await;
    let (s, _) = mint(&app, &a, None).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = mint(&app, &a, None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "limit_reached");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HOOKRELAY_MAX_PORTAL_SESSIONS_PER_ORG"),
        "{v}"
    );
    // Another organization is not affected; revoking makes room.
    let (s, _) = mint(&app, &b, None).await;
    assert_eq!(s, StatusCode::CREATED);
    let path = format!("/v1/portal/sessions/{}", first["id"].as_str().unwrap());
    call(&app, TOKEN, Some(&a), Method::DELETE, &path, None).await;
    let (s, v) = mint(&app, &a, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.stop().await;
}

async fn branding_is_set_by_the_platform(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let a = new_org(&app, "Acme").await;
    let path = format!("/v1/organizations/{a}/branding");
    let branding = json!({"display_name": "Acme Recruiting", "logo_url": "https://acme.example/logo.svg", "accent_color": "#0B7285"});
    let (s, v) = call(&app, TOKEN, None, Method::PUT, &path, Some(&branding)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["branding"]["accent_color"], "#0b7285");
    let (_, minted) = mint(&app, &a, None).await;
    let (_, me) = call(&app, &secret_of(&minted), None, Method::GET, "/v1/me", None).await;
    assert_eq!(
        me["organization"]["branding"]["display_name"],
        "Acme Recruiting"
    );
    assert_eq!(
        me["organization"]["branding"]["logo_url"],
        "https://acme.example/logo.svg"
    );

    for (body, field) in [
        (json!({"accent_color": "teal"}), "accent_color"),
        (
            json!({"logo_url": "http://acme.example/logo.svg"}),
            "logo_url",
        ),
        (
            json!({"logo_url": "https://user:pw@acme.example/logo.svg"}),
            "logo_url",
        ),
        (json!({"display_name": "  "}), "display_name"),
    ] {
        let (s, v) = call(&app, TOKEN, None, Method::PUT, &path, Some(&body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let (_, kept) = call(
        &app,
        TOKEN,
        None,
        Method::GET,
        &format!("/v1/organizations/{a}"),
        None,
    )
    .await;
    assert_eq!(
        kept["branding"]["display_name"], "Acme Recruiting",
        "a refused change writes nothing"
    );
    let (_, admin) = org_token(&app, &a).await;
    let (s, _) = call(&app, &admin, None, Method::PUT, &path, Some(&json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the platform brands");
    // All three back to the default.
    let (s, v) = call(&app, TOKEN, None, Method::PUT, &path, Some(&json!({}))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["branding"],
        json!({"display_name": null, "logo_url": null, "accent_color": null})
    );
    app.stop().await;
}

/// The portal page may be framed by the configured origins only; the
/// operator console never.
#[actix_web::test]
async fn the_portal_page_is_framed_only_where_allowed() {
    let csp = |resp: &reqwest::Response| {
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string()
    };
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let resp = app
        .http
        .get(format!("{}/portal/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        csp(&resp).contains("frame-ancestors 'none'"),
        "{}",
        csp(&resp)
    );
    let app = app
        .restart_with(|c| {
            c.portal_frame_ancestors =
                hookrelay::config::FrameAncestors(vec!["https://app.example.com".into()]);
        })
        .await
        .unwrap();
    let resp = app
        .http
        .get(format!("{}/portal/", app.base))
        .send()
        .await
        .unwrap();
    let policy = csp(&resp);
    assert!(
        policy.contains("frame-ancestors https://app.example.com;"),
        "{policy}"
    );
    assert!(policy.contains("img-src 'self' data: https:"), "{policy}");
    assert!(resp.headers().get("x-frame-options").is_none());
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("/console/assets/app.js"),
        "the portal is the console's app"
    );
    let console = app
        .http
        .get(format!("{}/console/", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        csp(&console).contains("frame-ancestors 'none'"),
        "{}",
        csp(&console)
    );
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/portal", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers()["location"], "/portal/");
    app.stop().await;
}
