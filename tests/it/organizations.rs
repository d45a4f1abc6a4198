//! Issue 18, organizations: two organizations' web hooks, events,
//! deliveries, history and tokens never meet; a platform token acts in
//! any organization with the `Hookrelay-Organization` header, in the
//! default one without it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::receiver::Receiver;
use crate::common::wait::{throughout, until_ok};
use crate::common::{event, read, Backend, TestApp, TOKEN};

crate::all_backends!(
    each_organization_gets_its_own_events,
    another_organizations_ids_answer_404,
    listings_never_mix,
    an_organization_token_stays_in_its_organization,
    platform_token_acts_in_any_organization,
    renaming_publishes_to_its_own_organization_only,
    only_empty_organizations_are_deleted,
);

/// A request with a bearer token and, optionally, the organization header.
pub(crate) async fn call(
    app: &TestApp,
    token: &str,
    org: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token);
    if let Some(o) = org {
        req = req.header("Hookrelay-Organization", o);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    read(req.send().await.expect("request reaches the gateway")).await
}

/// Creates an organization with the platform token; its id.
pub(crate) async fn new_org(app: &TestApp, name: &str) -> String {
    let (s, v) = call(
        app,
        TOKEN,
        None,
        Method::POST,
        "/v1/organizations",
        Some(&json!({ "name": name })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["id"].as_str().unwrap().starts_with("org_"), "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Organizations "Acme" (A) and "Globex" (B), each with an admin token.
pub(crate) struct OrgPair {
    pub a: String,
    pub b: String,
    pub tok_a_id: String,
    pub tok_a: String,
    pub tok_b: String,
}

/// Creates [`OrgPair`] with the platform token.
pub(crate) async fn acme_and_globex(app: &TestApp) -> OrgPair {
    let a = new_org(app, "Acme").await;
    let b = new_org(app, "Globex").await;
    let (tok_a_id, tok_a) = org_token(app, &a).await;
    let (_, tok_b) = org_token(app, &b).await;
    OrgPair {
        a,
        b,
        tok_a_id,
        tok_a,
        tok_b,
    }
}

/// An `admin` token of `org`, made by the platform token with the header:
/// (id, token).
pub(crate) async fn org_token(app: &TestApp, org: &str) -> (String, String) {
    let (s, v) = call(
        app,
        TOKEN,
        Some(org),
        Method::POST,
        "/v1/tokens",
        Some(&json!({"name": "org admin", "scopes": ["admin"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// The organization's history rows, once there are `n`.
async fn history_of(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    until_ok(
        &format!("{n} history rows"),
        std::time::Duration::from_secs(20),
        async || {
            let (s, v) = call(app, token, None, Method::GET, "/v1/history", None).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let rows = v["data"].as_array().unwrap().clone();
            if rows.len() >= n {
                Ok(rows)
            } else {
                Err(v)
            }
        },
    )
    .await
}

/// Two organizations, A and B, each with an admin token and a web hook;
/// each has published one event under the same idempotency key.
struct TwoOrgs {
    app: TestApp,
    rx: Receiver,
    a: String,
    b: String,
    tok_a_id: String,
    tok_a: String,
    tok_b: String,
    /// A's and B's web hooks; A's event.
    wa: String,
    wb: String,
    ev_a: String,
}

impl TwoOrgs {
    async fn stop(self) {
        self.app.stop().await;
        self.rx.stop().await;
    }
}

/// Sets up [`TwoOrgs`]; on the way, the idempotency key is checked to be
/// per organization.
async fn two_orgs(backend: Backend) -> Option<TwoOrgs> {
    let app = TestApp::start(backend).await?;
    let rx = Receiver::start().await;
    let OrgPair {
        a,
        b,
        tok_a_id,
        tok_a,
        tok_b,
    } = acme_and_globex(&app).await;
    let hook =
        |path: &str| json!({"name": "hook", "url": rx.url(path), "event_types": ["profile.*"]});
    let (s, wa) = call(
        &app,
        &tok_a,
        None,
        Method::POST,
        "/v1/webhooks",
        Some(&hook("/a")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{wa}");
    let (s, wb) = call(
        &app,
        &tok_b,
        None,
        Method::POST,
        "/v1/webhooks",
        Some(&hook("/b")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{wb}");
    let wa = wa["id"].as_str().unwrap().to_string();
    let wb = wb["id"].as_str().unwrap().to_string();

    // The same idempotency key in both organizations: two independent events.
    let publish = |token: &str, key: &str, ev: Value| {
        let req = app
            .http
            .post(format!("{}/v1/events", app.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&ev);
        async move { read(req.send().await.unwrap()).await }
    };
    let (s, ev_a) = publish(&tok_a, "same", event("profile.parsing.success", "ka")).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{ev_a}");
    assert_eq!(ev_a["deliveries"], 1, "only A's web hook: {ev_a}");
    let (s, ev_b) = publish(&tok_b, "same", event("profile.parsing.success", "kb")).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{ev_b}");
    assert_eq!(ev_b["deliveries"], 1, "only B's web hook: {ev_b}");
    assert_ne!(ev_a["id"], ev_b["id"]);
    // Within A the key still means the first event.
    let (s, again) = publish(&tok_a, "same", event("profile.parsing.success", "ka")).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["id"], ev_a["id"]);
    let ev_a = ev_a["id"].as_str().unwrap().to_string();

    Some(TwoOrgs {
        app,
        rx,
        a,
        b,
        tok_a_id,
        tok_a,
        tok_b,
        wa,
        wb,
        ev_a,
    })
}

async fn each_organization_gets_its_own_events(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    let TwoOrgs {
        app,
        rx,
        tok_a,
        tok_b,
        wa,
        ..
    } = &t;
    // A's event reaches only A's receiver, B's only B's.
    let got_a = rx.wait_for("/a", 1).await;
    let got_b = rx.wait_for("/b", 1).await;
    assert!(got_a[0].body.contains("ka") && !got_a[0].body.contains("kb"));
    assert!(got_b[0].body.contains("kb") && !got_b[0].body.contains("ka"));
    throughout(
        "one event for each receiver",
        std::time::Duration::from_millis(300),
        async || match (rx.received_on("/a").len(), rx.received_on("/b").len()) {
            (1, 1) => Ok(()),
            seen => Err(seen),
        },
    )
    .await;

    let hist_a = history_of(app, tok_a, 1).await;
    let hist_b = history_of(app, tok_b, 1).await;
    assert_eq!(hist_a.len(), 1);
    assert_eq!(hist_b.len(), 1);
    assert_eq!(hist_a[0]["webhook_id"], wa.as_str());
    t.stop().await;
}

async fn another_organizations_ids_answer_404(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    let TwoOrgs {
        app,
        tok_a_id,
        tok_a,
        tok_b,
        wa,
        ev_a,
        ..
    } = &t;
    let h_a = history_of(app, tok_a, 1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // B's token: every one of A's ids is 404, never 403.
    let body = json!({});
    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/webhooks/{wa}"), None),
        (
            Method::PATCH,
            format!("/v1/webhooks/{wa}"),
            Some(json!({"name": "x"})),
        ),
        (Method::GET, format!("/v1/webhooks/{wa}/secret"), None),
        (
            Method::POST,
            format!("/v1/webhooks/{wa}/rotate-secret"),
            Some(body.clone()),
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{wa}/test"),
            Some(json!({"event_type": "profile.parsing.success"})),
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{wa}/recover"),
            Some(json!({"since": "2020-01-01T00:00:00Z"})),
        ),
        (Method::GET, format!("/v1/history/{h_a}"), None),
        (Method::POST, format!("/v1/history/{h_a}/resend"), None),
        (Method::GET, format!("/v1/events/{ev_a}"), None),
        (Method::GET, format!("/v1/tokens/{tok_a_id}"), None),
        (
            Method::PATCH,
            format!("/v1/tokens/{tok_a_id}"),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, format!("/v1/tokens/{tok_a_id}"), None),
        (Method::DELETE, format!("/v1/webhooks/{wa}"), None),
    ];
    for (method, path, body) in probes {
        let (s, v) = call(app, tok_b, None, method.clone(), &path, body.as_ref()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path} as B: {v}");
        assert_eq!(v["error"]["code"], "not_found", "{v}");
    }
    // A's things are all still there, for A.
    let (s, v) = call(
        app,
        tok_a,
        None,
        Method::GET,
        &format!("/v1/webhooks/{wa}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(
        app,
        tok_a,
        None,
        Method::GET,
        &format!("/v1/tokens/{tok_a_id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    t.stop().await;
}

async fn listings_never_mix(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    let TwoOrgs {
        app,
        a,
        tok_a,
        tok_b,
        wa,
        wb,
        ev_a,
        ..
    } = &t;
    // Listings never show the other's rows.
    for (token, own_hook, other_hook) in [(tok_a, wa, wb), (tok_b, wb, wa)] {
        let (_, v) = call(app, token, None, Method::GET, "/v1/webhooks", None).await;
        assert_eq!(ids(&v), vec![own_hook.clone()], "{v}");
        let (_, v) = call(app, token, None, Method::GET, "/v1/history", None).await;
        assert!(
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["webhook_id"] == own_hook.as_str()),
            "{v}"
        );
        let (_, v) = call(app, token, None, Method::GET, "/v1/deliveries", None).await;
        let rows = v["data"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{v}");
        assert!(
            rows.iter().all(|d| d["webhook_id"] != other_hook.as_str()),
            "{v}"
        );
        let (_, v) = call(app, token, None, Method::GET, "/v1/events", None).await;
        assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
        let (_, v) = call(app, token, None, Method::GET, "/v1/tokens", None).await;
        assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    }
    let (_, v) = call(app, tok_a, None, Method::GET, "/v1/events", None).await;
    assert_eq!(ids(&v), vec![ev_a.clone()]);

    // People, integrations and runs are per organization too (see
    // organizations_people.rs): B's lists are its own, empty ones.
    for path in ["/v1/users", "/v1/integrations", "/v1/runs"] {
        let (s, v) = call(app, tok_b, None, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        assert_eq!(v["data"], json!([]), "{path}: {v}");
    }
    let (s, v) = call(app, TOKEN, Some(a), Method::GET, "/v1/organization", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"], a.as_str(), "{v}");

    t.stop().await;
}

async fn an_organization_token_stays_in_its_organization(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    let TwoOrgs {
        app, a, b, tok_b, ..
    } = &t;
    // An organization token cannot step into another organization, manage
    // organizations, or mint platform tokens.
    let (s, _) = call(app, tok_b, Some(a), Method::GET, "/v1/webhooks", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = call(app, tok_b, Some(b), Method::GET, "/v1/webhooks", None).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "naming its own organization is fine: {v}"
    );
    let (s, _) = call(app, tok_b, None, Method::GET, "/v1/organizations", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = call(
        app,
        tok_b,
        None,
        Method::POST,
        "/v1/tokens",
        Some(&json!({"name": "up", "scopes": ["platform"]})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    t.stop().await;
}

/// The default organization with a web hook, and organizations A and B,
/// each with a web hook subscribed to `organization.updated`, all made by
/// the platform token.
struct Platform {
    app: TestApp,
    rx: Receiver,
    default_hook: Value,
    a: String,
    b: String,
    wa: Value,
}

impl Platform {
    async fn stop(self) {
        self.app.stop().await;
        self.rx.stop().await;
    }
}

async fn platform(backend: Backend) -> Option<Platform> {
    let app = TestApp::start(backend).await?;
    let rx = Receiver::start().await;
    // The default organization exists from the start and holds what a
    // platform token makes without the header.
    let (s, v) = call(&app, TOKEN, None, Method::GET, "/v1/organizations", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), vec!["org_1".to_string()]);
    let default_hook = app
        .create_webhook(
            json!({"name": "d", "url": rx.url("/d"), "event_types": ["organization.updated"]}),
        )
        .await;
    let a = new_org(&app, "Acme").await;
    let b = new_org(&app, "Globex").await;
    let sub = json!({"name": "h", "url": rx.url("/a"), "event_types": ["organization.updated"], "format": "json"});
    let (s, wa) = call(
        &app,
        TOKEN,
        Some(&a),
        Method::POST,
        "/v1/webhooks",
        Some(&sub),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{wa}");
    let sub_b = json!({"name": "h", "url": rx.url("/b"), "event_types": ["organization.updated"], "format": "json"});
    let (s, _) = call(
        &app,
        TOKEN,
        Some(&b),
        Method::POST,
        "/v1/webhooks",
        Some(&sub_b),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    Some(Platform {
        app,
        rx,
        default_hook,
        a,
        b,
        wa,
    })
}

async fn platform_token_acts_in_any_organization(backend: Backend) {
    let Some(t) = platform(backend).await else {
        return;
    };
    let Platform {
        app,
        default_hook,
        a,
        wa,
        ..
    } = &t;
    // With the header the platform token sees A; without it the default.
    let (_, v) = call(app, TOKEN, Some(a), Method::GET, "/v1/webhooks", None).await;
    assert_eq!(ids(&v), vec![wa["id"].as_str().unwrap().to_string()]);
    let (_, v) = call(app, TOKEN, None, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(
        ids(&v),
        vec![default_hook["id"].as_str().unwrap().to_string()]
    );
    // An unknown organization is 404.
    let (s, v) = call(
        app,
        TOKEN,
        Some("org_nope"),
        Method::GET,
        "/v1/webhooks",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // The bootstrap token holds `platform` (and `admin`, as before).
    let (_, v) = call(app, TOKEN, None, Method::GET, "/v1/tokens", None).await;
    assert_eq!(v["data"][0]["scopes"], json!(["admin", "platform"]), "{v}");
    t.stop().await;
}

async fn renaming_publishes_to_its_own_organization_only(backend: Backend) {
    let Some(t) = platform(backend).await else {
        return;
    };
    let Platform { app, rx, a, .. } = &t;
    // Renaming A publishes organization.updated to A's web hooks only.
    let (s, v) = call(
        app,
        TOKEN,
        None,
        Method::PATCH,
        &format!("/v1/organizations/{a}"),
        Some(&json!({"name": "Acme Corp"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Acme Corp");
    let got = rx.wait_for("/a", 1).await;
    assert!(
        got[0].body.contains("Acme Corp") && got[0].body.contains(a.as_str()),
        "{}",
        got[0].body
    );
    throughout(
        "nothing for the other organizations",
        std::time::Duration::from_millis(300),
        async || match (rx.received_on("/b").len(), rx.received_on("/d").len()) {
            (0, 0) => Ok(()),
            seen => Err(seen),
        },
    )
    .await;
    let (s, v) = call(
        app,
        TOKEN,
        None,
        Method::GET,
        &format!("/v1/organizations/{a}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "Acme Corp");

    t.stop().await;
}

async fn only_empty_organizations_are_deleted(backend: Backend) {
    let Some(t) = platform(backend).await else {
        return;
    };
    let Platform { app, b, .. } = &t;
    // Deleting: only an empty organization; never the default one.
    let (s, v) = call(
        app,
        TOKEN,
        None,
        Method::DELETE,
        &format!("/v1/organizations/{b}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "organization_not_empty");
    let (s, _) = call(
        app,
        TOKEN,
        None,
        Method::DELETE,
        "/v1/organizations/org_1",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let c = new_org(app, "Empty").await;
    let (s, _) = call(
        app,
        TOKEN,
        None,
        Method::DELETE,
        &format!("/v1/organizations/{c}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        app,
        TOKEN,
        None,
        Method::GET,
        &format!("/v1/organizations/{c}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(app, TOKEN, Some(&c), Method::GET, "/v1/webhooks", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    t.stop().await;
}
