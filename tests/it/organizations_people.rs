//! Issue 18, organizations on the manifest side: people, integrations,
//! their config and forms, OAuth, runs, access and the organization
//! profile belong to one organization. Another organization's ids answer
//! 404 for every verb, lists never mix, emails are unique per organization,
//! an event fires only its own organization's triggers, and scheduled syncs
//! and OAuth callbacks write into the integration's organization.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::receiver::Receiver;
use crate::common::wait::until;
use crate::common::{read, Backend, TestApp};
use crate::integrations::point_at;
use crate::organizations::{acme_and_globex, call, OrgPair};

both_backends!(
    emails_are_unique_per_organization,
    another_organizations_ids_answer_404,
    a_person_of_another_organization_is_no_one,
    lists_never_mix,
    access_and_changes_stay_in_their_organization,
    events_fire_only_their_organizations_triggers,
    organization_profile_is_per_organization,
    syncs_and_oauth_write_into_their_organization,
);

/// A webhook manifest with every part an id can be used with: config,
/// form, OAuth, execute, exists and revoke.
fn full_manifest(fake: &FakeApi) -> Value {
    point_at(
        r#"{"initial_data_form": [{"id": "TOKEN", "name": "Token", "description": "d"}],
            "oauth": {"authenticate_url": "FAKE/authorize?x=1",
                      "access_token": {"url": "FAKE/token", "method": "POST"}},
            "form": [{"id": "TEAM", "name": "Team", "type": "input"}],
            "execute": [{"url": "FAKE/run", "method": "POST", "data": {"who": "{{ email }}"}}],
            "exists": {"url": "FAKE/exists", "method": "GET", "expected": "{{ email }}"},
            "revoke": [{"url": "FAKE/revoke", "method": "DELETE", "status_code": ["204"]}]}"#,
        fake,
    )
}

/// Creates a user in the token's organization; its id.
async fn user_in(app: &TestApp, token: &str, email: &str, first: &str) -> String {
    let (s, v) = call(
        app,
        token,
        None,
        Method::POST,
        "/v1/users",
        Some(&json!({"email": email, "first_name": first, "last_name": "L"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Creates an integration in the token's organization; its id.
async fn integration_in(app: &TestApp, token: &str, body: Value) -> String {
    let (s, v) = call(
        app,
        token,
        None,
        Method::POST,
        "/v1/integrations",
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {v}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until `$cond` (which may `.await`) holds, for up to 20 seconds.
macro_rules! eventually {
    ($what:expr, $cond:expr) => {
        until($what, Duration::from_secs(20), async || {
            ($cond).then_some(())
        })
        .await
    };
}

/// Two organizations, each with a person of the same email and the same
/// integration; A's integration has its config set and one run.
struct TwoOrgs {
    app: TestApp,
    fake: FakeApi,
    /// B's organization id; the tokens of A and B.
    b: String,
    tok_a: String,
    tok_b: String,
    /// A's and B's person, integration; A's run.
    ua: String,
    ub: String,
    ia: String,
    ib: String,
    ra: String,
}

impl TwoOrgs {
    async fn stop(self) {
        self.fake.stop().await;
        self.app.stop().await;
    }
}

/// Sets up [`TwoOrgs`]; on the way, a second person with the same email in
/// one organization is refused.
async fn two_orgs(backend: Backend) -> Option<TwoOrgs> {
    let app = TestApp::start(backend).await?;
    let fake = FakeApi::start().await;
    fake.script("POST", "/run", vec![Answer::json(200, json!({}))]);
    fake.script("GET", "/exists", vec![Answer::json(200, json!({}))]);
    fake.script("DELETE", "/revoke", vec![Answer::json(204, json!({}))]);
    let OrgPair {
        b, tok_a, tok_b, ..
    } = acme_and_globex(&app).await;

    // The same email in both organizations: two independent people; a
    // second one in the same organization is refused.
    let ua = user_in(&app, &tok_a, "same@example.com", "Ann").await;
    let ub = user_in(&app, &tok_b, "Same@Example.com", "Bob").await;
    assert_ne!(ua, ub);
    let (s, v) = call(
        &app,
        &tok_a,
        None,
        Method::POST,
        "/v1/users",
        Some(&json!({"email": "SAME@example.com", "first_name": "X", "last_name": "Y"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "email_taken", "{v}");

    let body = json!({"name": "full", "kind": "webhook", "manifest": full_manifest(&fake)});
    let ia = integration_in(&app, &tok_a, body.clone()).await;
    let ib = integration_in(&app, &tok_b, body).await;
    let (s, v) = call(
        &app,
        &tok_a,
        None,
        Method::PUT,
        &format!("/v1/integrations/{ia}/config"),
        Some(&json!({"values": {"TOKEN": "a-secret"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, ra) = call(
        &app,
        &tok_a,
        None,
        Method::POST,
        &format!("/v1/integrations/{ia}/runs?wait=true"),
        Some(&json!({"user_id": ua, "form": {"TEAM": "x"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ra}");
    assert_eq!(fake.seen_on("POST", "/run").len(), 1, "{ra}");
    let ra = ra["id"].as_str().unwrap().to_string();

    Some(TwoOrgs {
        app,
        fake,
        b,
        tok_a,
        tok_b,
        ua,
        ub,
        ia,
        ib,
        ra,
    })
}

async fn emails_are_unique_per_organization(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    // Two independent people (checked in `two_orgs`), one each.
    for (tok, id) in [(&t.tok_a, &t.ua), (&t.tok_b, &t.ub)] {
        let (_, v) = call(&t.app, tok, None, Method::GET, "/v1/users", None).await;
        assert_eq!(ids(&v), vec![id.clone()]);
    }
    t.stop().await;
}

async fn another_organizations_ids_answer_404(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    let TwoOrgs {
        app,
        fake: _,
        b: _,
        tok_a,
        tok_b,
        ua,
        ub,
        ia,
        ib,
        ra,
    } = &t;
    // Every verb on A's ids, from B: 404, never 403, and nothing changes.
    let patch_user = json!({"first_name": "Mallory"});
    let patch_int = json!({"name": "taken"});
    let config = json!({"values": {"TOKEN": "b-secret"}});
    let run = json!({"user_id": ub});
    let cases: Vec<(Method, String, Option<&Value>)> = vec![
        (Method::GET, format!("/v1/users/{ua}"), None),
        (Method::PATCH, format!("/v1/users/{ua}"), Some(&patch_user)),
        (Method::DELETE, format!("/v1/users/{ua}"), None),
        (Method::GET, format!("/v1/users/{ua}/access"), None),
        (
            Method::POST,
            format!("/v1/users/{ua}/access/{ia}/revoke"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/users/{ub}/access/{ia}/revoke"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/users/{ua}/access/{ib}/revoke"),
            None,
        ),
        (Method::GET, format!("/v1/integrations/{ia}"), None),
        (
            Method::PATCH,
            format!("/v1/integrations/{ia}"),
            Some(&patch_int),
        ),
        (Method::DELETE, format!("/v1/integrations/{ia}"), None),
        (Method::GET, format!("/v1/integrations/{ia}/config"), None),
        (
            Method::PUT,
            format!("/v1/integrations/{ia}/config"),
            Some(&config),
        ),
        (Method::GET, format!("/v1/integrations/{ia}/form"), None),
        (
            Method::POST,
            format!("/v1/integrations/{ia}/runs"),
            Some(&run),
        ),
        (
            Method::GET,
            format!("/v1/integrations/{ia}/oauth/authorize"),
            None,
        ),
        (Method::GET, format!("/v1/runs/{ra}"), None),
        (Method::POST, format!("/v1/runs/{ra}/rerun"), None),
    ];
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, path, body) in cases {
        let mut req = no_redirect
            .request(method.clone(), format!("{}{path}", app.base))
            .bearer_auth(tok_b);
        if let Some(b) = body {
            req = req.json(b);
        }
        let (s, v) = read(req.send().await.unwrap()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], "not_found", "{method} {path}: {v}");
    }
    // A's rows are intact; A's config is A's alone.
    let (s, v) = call(
        app,
        tok_a,
        None,
        Method::GET,
        &format!("/v1/users/{ua}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["first_name"], "Ann");
    let (s, v) = call(
        app,
        tok_a,
        None,
        Method::GET,
        &format!("/v1/integrations/{ia}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "full");
    assert_eq!(v["config"]["set"], json!(["TOKEN"]), "{v}");
    let (_, v) = call(
        app,
        tok_b,
        None,
        Method::GET,
        &format!("/v1/integrations/{ib}"),
        None,
    )
    .await;
    assert_eq!(v["config"]["set"], json!([]), "{v}");

    t.stop().await;
}

async fn a_person_of_another_organization_is_no_one(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    let TwoOrgs {
        app,
        tok_b,
        ua,
        ub,
        ib,
        ..
    } = &t;
    // A's user is no one in B: not a run's user, nor a manager.
    let (s, v) = call(
        app,
        tok_b,
        None,
        Method::POST,
        &format!("/v1/integrations/{ib}/runs"),
        Some(&json!({"user_id": ua})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "user_id", "{v}");
    let (s, v) = call(
        app,
        tok_b,
        None,
        Method::PATCH,
        &format!("/v1/users/{ub}"),
        Some(&json!({"manager_id": ua})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "manager_id", "{v}");

    t.stop().await;
}

async fn lists_never_mix(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    let TwoOrgs {
        app,
        b,
        tok_a,
        tok_b,
        ua,
        ub,
        ib,
        ra,
        ..
    } = &t;
    // Lists never show the other's rows; a platform token with the header
    // sees that organization's.
    let (_, v) = call(app, tok_b, None, Method::GET, "/v1/users", None).await;
    assert_eq!(ids(&v), vec![ub.clone()]);
    let (_, v) = call(app, tok_a, None, Method::GET, "/v1/users?q=same", None).await;
    assert_eq!(ids(&v), vec![ua.clone()]);
    let (_, v) = call(app, tok_b, None, Method::GET, "/v1/integrations", None).await;
    assert_eq!(ids(&v), vec![ib.clone()]);
    let (_, v) = call(app, tok_b, None, Method::GET, "/v1/runs", None).await;
    assert_eq!(ids(&v), Vec::<String>::new(), "{v}");
    let (_, v) = call(app, tok_a, None, Method::GET, "/v1/runs", None).await;
    assert_eq!(ids(&v), vec![ra.clone()]);
    let (_, v) = call(
        app,
        crate::common::TOKEN,
        Some(b),
        Method::GET,
        "/v1/integrations",
        None,
    )
    .await;
    assert_eq!(ids(&v), vec![ib.clone()]);
    // The default organization sees neither.
    let (_, v) = call(
        app,
        crate::common::TOKEN,
        None,
        Method::GET,
        "/v1/users",
        None,
    )
    .await;
    assert_eq!(ids(&v), Vec::<String>::new(), "{v}");

    t.stop().await;
}

async fn access_and_changes_stay_in_their_organization(backend: Backend) {
    let Some(t) = two_orgs(backend).await else {
        return;
    };
    let TwoOrgs {
        app,
        tok_a,
        tok_b,
        ua,
        ub,
        ib,
        ra,
        ..
    } = &t;
    // Access in B runs B's checks only, recorded in B.
    let (s, v) = call(
        app,
        tok_b,
        None,
        Method::GET,
        &format!("/v1/users/{ub}/access"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let checked: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["integration_id"].as_str().unwrap())
        .collect();
    assert_eq!(checked, [ib.as_str()], "{v}");
    let (_, runs_a) = call(app, tok_a, None, Method::GET, "/v1/runs", None).await;
    assert_eq!(
        ids(&runs_a),
        vec![ra.clone()],
        "B's checks are not A's runs"
    );

    // Changing B's person leaves A's namesake alone.
    let (s, v) = call(
        app,
        tok_b,
        None,
        Method::PATCH,
        &format!("/v1/users/{ub}"),
        Some(&json!({"email": "new@example.com"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = call(
        app,
        tok_a,
        None,
        Method::GET,
        &format!("/v1/users/{ua}"),
        None,
    )
    .await;
    assert_eq!(v["email"], "same@example.com");
    t.stop().await;
}

async fn events_fire_only_their_organizations_triggers(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    fake.script("POST", "/a", vec![Answer::json(200, json!({}))]);
    fake.script("POST", "/b", vec![Answer::json(200, json!({}))]);
    let OrgPair { tok_a, tok_b, .. } = acme_and_globex(&app).await;
    let trigger = |path: &str| {
        json!({"name": "welcome", "kind": "webhook",
            "manifest": point_at(&format!(r#"{{"execute": [{{"url": "FAKE{path}", "method": "POST", "data": {{"who": "{{{{ first_name }}}}"}}}}]}}"#), &fake),
            "triggers": [{"event_type": "user.updated"}]})
    };
    integration_in(&app, &tok_a, trigger("/a")).await;
    integration_in(&app, &tok_b, trigger("/b")).await;

    // Creating a person publishes user.updated in their organization: it
    // runs that organization's integration only, for that person.
    user_in(&app, &tok_a, "same@example.com", "Ann").await;
    eventually!("A's trigger ran", fake.seen_on("POST", "/a").len() == 1);
    user_in(&app, &tok_b, "same@example.com", "Bob").await;
    eventually!("B's trigger ran", fake.seen_on("POST", "/b").len() == 1);
    assert_eq!(fake.seen_on("POST", "/b")[0].json(), json!({"who": "Bob"}));

    // An event published in A fires A's trigger (for A's person) and not
    // B's, though B has a person with the same email.
    let (s, v) = call(
        &app,
        &tok_a,
        None,
        Method::POST,
        "/v1/events",
        Some(&json!({"type": "user.updated", "user": {"email": "same@example.com"}})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    eventually!(
        "A's trigger ran again",
        fake.seen_on("POST", "/a").len() == 2
    );
    assert_eq!(fake.seen_on("POST", "/a")[1].json(), json!({"who": "Ann"}));
    // B's runs: only the one its own person's creation caused, even after
    // A's run is finished.
    eventually!("A's runs finished", {
        let (_, v) = call(
            &app,
            &tok_a,
            None,
            Method::GET,
            "/v1/runs?status=succeeded",
            None,
        )
        .await;
        v["data"].as_array().unwrap().len() == 2
    });
    let (_, v) = call(&app, &tok_b, None, Method::GET, "/v1/runs", None).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(fake.seen_on("POST", "/b").len(), 1);
    fake.stop().await;
    app.stop().await;
}

async fn organization_profile_is_per_organization(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let OrgPair {
        a, b, tok_a, tok_b, ..
    } = acme_and_globex(&app).await;
    for (tok, path) in [(&tok_a, "/a"), (&tok_b, "/b")] {
        let (s, v) = call(
            &app,
            tok,
            None,
            Method::POST,
            "/v1/webhooks",
            Some(&json!({"name": "org", "url": rx.url(path), "event_types": ["organization.updated"], "format": "json"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = call(
        &app,
        &tok_a,
        None,
        Method::PUT,
        "/v1/organization",
        Some(&json!({"name": "Acme Corp"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"], a.as_str(), "{v}");
    assert_eq!(v["name"], "Acme Corp", "{v}");
    let got = rx.wait_for("/a", 1).await;
    let event: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(event["type"], "organization.updated");
    assert_eq!(event["organization"], json!({"id": a, "name": "Acme Corp"}));
    let (_, v) = call(&app, &tok_a, None, Method::GET, "/v1/organization", None).await;
    assert_eq!(v["name"], "Acme Corp", "{v}");
    let (_, v) = call(&app, &tok_b, None, Method::GET, "/v1/organization", None).await;
    assert_eq!((&v["id"], &v["name"]), (&json!(b), &json!("Globex")), "{v}");

    // B's rename reaches B only, carrying B's id; A got exactly one.
    let (s, v) = call(
        &app,
        &tok_b,
        None,
        Method::PUT,
        "/v1/organization",
        Some(&json!({"name": "Globex Inc"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let got = rx.wait_for("/b", 1).await;
    let event: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(
        event["organization"],
        json!({"id": b, "name": "Globex Inc"})
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.received_on("/a").len(), 1);
    assert_eq!(rx.received_on("/b").len(), 1);
    // The platform's list shows the names the profiles set.
    let (_, v) = call(
        &app,
        crate::common::TOKEN,
        None,
        Method::GET,
        &format!("/v1/organizations/{a}"),
        None,
    )
    .await;
    assert_eq!(v["name"], "Acme Corp", "{v}");
    rx.stop().await;
    app.stop().await;
}

async fn syncs_and_oauth_write_into_their_organization(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let rx = Receiver::start().await;
    let OrgPair { tok_a, tok_b, .. } = acme_and_globex(&app).await;
    for (tok, path) in [(&tok_a, "/a"), (&tok_b, "/b")] {
        let (s, v) = call(
            &app,
            tok,
            None,
            Method::POST,
            "/v1/webhooks",
            Some(&json!({"name": "people", "url": rx.url(path), "event_types": ["user.updated"], "format": "json"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // A already knows the person; the sync of B's schedule must not touch A.
    let ua = user_in(&app, &tok_a, "hire@example.com", "Ann").await;
    rx.wait_for("/a", 1).await;
    fake.script(
        "GET",
        "/people",
        vec![Answer::json(
            200,
            json!([{"mail": "hire@example.com", "first": "Hugo", "last": "H"}]),
        )],
    );
    // Every second (seconds come last).
    let sync = point_at(
        r#"{"schedule": "* * * * * *", "execute": [{"url": "FAKE/people", "method": "GET"}], "data_from": "",
            "data_structure": {"email": "mail", "first_name": "first", "last_name": "last"}}"#,
        &fake,
    );
    integration_in(
        &app,
        &tok_b,
        json!({"name": "hr", "kind": "sync_users", "manifest": sync}),
    )
    .await;
    eventually!("B's sync imported the person", {
        let (_, v) = call(&app, &tok_b, None, Method::GET, "/v1/users", None).await;
        v["data"].as_array().unwrap().len() == 1
    });
    let (_, v) = call(&app, &tok_b, None, Method::GET, "/v1/users", None).await;
    assert_eq!(v["data"][0]["first_name"], "Hugo");
    let got = rx.wait_for("/b", 1).await;
    assert!(got[0].body.contains("hire@example.com"), "{}", got[0].body);
    let (_, v) = call(&app, &tok_a, None, Method::GET, "/v1/users", None).await;
    assert_eq!(ids(&v), vec![ua.clone()]);
    assert_eq!(v["data"][0]["first_name"], "Ann");
    assert_eq!(rx.received_on("/a").len(), 1, "A heard only its own person");

    // OAuth: the state B's authorize hands out connects B's integration,
    // through the unauthenticated callback.
    let oauth = point_at(
        r#"{"oauth": {"authenticate_url": "FAKE/authorize?x=1",
                      "access_token": {"url": "FAKE/token", "method": "POST"}},
            "execute": [{"url": "FAKE/me", "method": "GET"}]}"#,
        &fake,
    );
    let body = json!({"name": "oauth", "kind": "webhook", "manifest": oauth});
    let ia = integration_in(&app, &tok_a, body.clone()).await;
    let ib = integration_in(&app, &tok_b, body).await;
    fake.script(
        "POST",
        "/token",
        vec![Answer::json(200, json!({"access_token": "at-b"}))],
    );
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirect
        .get(format!("{}/v1/integrations/{ib}/oauth/authorize", app.base))
        .bearer_auth(&tok_b)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let (s, v) = read(
        reqwest::get(format!("{}/oauth/callback?code=c&state={state}", app.base))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["integration_id"], ib.as_str(), "{v}");
    let run = v["run_id"].as_str().unwrap().to_string();
    let (_, v) = call(
        &app,
        &tok_b,
        None,
        Method::GET,
        &format!("/v1/integrations/{ib}"),
        None,
    )
    .await;
    assert_eq!(v["oauth"]["connected"], true, "{v}");
    let (_, v) = call(
        &app,
        &tok_a,
        None,
        Method::GET,
        &format!("/v1/integrations/{ia}"),
        None,
    )
    .await;
    assert_eq!(v["oauth"]["connected"], false, "{v}");
    // The exchange is B's run, not A's.
    let (s, _) = call(
        &app,
        &tok_b,
        None,
        Method::GET,
        &format!("/v1/runs/{run}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &app,
        &tok_a,
        None,
        Method::GET,
        &format!("/v1/runs/{run}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    rx.stop().await;
    fake.stop().await;
    app.stop().await;
}
