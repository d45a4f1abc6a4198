//! Issue 16, the operator console: `GET /v1/me` tells a client who it is,
//! and the embedded console is served with its security headers. (The
//! console's pages are tested in a browser: tests/console/.)

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::common::{read, Backend, TestApp, TOKEN};

both_backends!(me_names_the_token_its_scopes_and_organization);

async fn me_names_the_token_its_scopes_and_organization(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let get_me = |token: &str, org: Option<&str>| {
        let mut req = app
            .http
            .get(format!("{}/v1/me", app.base))
            .bearer_auth(token);
        if let Some(o) = org {
            req = req.header("Hookrelay-Organization", o);
        }
        req.send()
    };
    // The bootstrap token: admin and platform, in the default organization.
    let (s, me) = read(get_me(TOKEN, None).await.unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["platform"], true, "{me}");
    assert_eq!(me["organization"]["id"], "org_1", "{me}");
    assert_eq!(me["token"]["name"], "bootstrap", "{me}");
    assert!(me["token"].get("token").is_none(), "never the token: {me}");

    // A platform token acting in another organization sees that one.
    let (_, org) = read(
        app.http
            .post(format!("{}/v1/organizations", app.base))
            .bearer_auth(TOKEN)
            .json(&json!({"name": "Acme"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let org_id = org["id"].as_str().unwrap();
    let (s, me) = read(get_me(TOKEN, Some(org_id)).await.unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(
        me["organization"],
        json!({"id": org_id, "name": "Acme",
            "branding": {"display_name": null, "logo_url": null, "accent_color": null}})
    );
    assert!(me["portal"].is_null(), "{me}");

    // A narrow token needs no scope to ask, and learns its scopes.
    let (s, t) = read(
        app.http
            .post(format!("{}/v1/tokens", app.base))
            .bearer_auth(TOKEN)
            .json(&json!({"name": "Auditor", "scopes": ["history:read"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let narrow = t["token"].as_str().unwrap();
    let (s, me) = read(get_me(narrow, None).await.unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(
        me,
        json!({
            "token": {"id": t["id"], "name": "Auditor", "scopes": ["history:read"]},
            "organization": {"id": "org_1", "name": "Default",
                "branding": {"display_name": null, "logo_url": null, "accent_color": null}},
            "portal": null,
            "platform": false
        })
    );

    // No token, or a revoked one: 401.
    let s = app
        .http
        .get(format!("{}/v1/me", app.base))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let id = t["id"].as_str().unwrap();
    app.http
        .delete(format!("{}/v1/tokens/{id}", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let s = get_me(narrow, None).await.unwrap().status();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[actix_web::test]
async fn the_console_is_served_with_strict_headers() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/", "/console"] {
        let r = http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
        assert_eq!(r.headers()["location"], "/console/", "{path}");
    }
    let r = http
        .get(format!("{}/console/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    let html = r.text().await.unwrap();
    assert!(html.contains("/console/assets/app.js"), "{html}");
    // No inline script: the CSP would block it.
    assert!(!html.contains("<script>"), "{html}");

    // Assets: their type, and a 304 for an unchanged ETag.
    let r = http
        .get(format!("{}/console/assets/app.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let etag = r.headers()["etag"].clone();
    let r = http
        .get(format!("{}/console/assets/app.js", app.base))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(r.headers().contains_key("content-security-policy"));
    let r = http
        .get(format!("{}/console/assets/app.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");

    // Anything else under /console/ is a 404, not the app.
    for path in [
        "/console/x",
        "/console/assets/nope.js",
        "/console/../Cargo.toml",
    ] {
        let (s, _) = read(
            http.get(format!("{}{path}", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    app.stop().await;
}
