//! Issue 17's API: the import preview (`dry_run`) and partial import
//! (`only`) of a sync, OAuth started from a browser with its HTML callback
//! page, and form values checked against options fetched for the person.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;
use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp};

both_backends!(
    a_create_preview_writes_nothing,
    an_update_preview_shows_the_changes,
    only_imports_the_picked,
    preview_and_only_are_for_syncs,
    oauth_start_and_the_callback_page,
    form_values_are_checked_against_fetched_options,
);

/// The marks of a preview's candidates, by email.
fn marks(run: &Value) -> Vec<(String, String)> {
    run["result"]["candidates"]
        .as_array()
        .unwrap_or_else(|| panic!("no candidates: {run}"))
        .iter()
        .map(|c| {
            (
                c["email"].as_str().unwrap().to_string(),
                c["mark"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn emails_of(users: &Value) -> Vec<String> {
    users["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect()
}

/// A person already there, a two-page people API, a create sync over it
/// and a web hook subscribed to `user.updated`.
struct Preview {
    app: TestApp,
    fake: FakeApi,
    rx: Receiver,
    /// The create sync's id; the people before any import.
    create: String,
    before: i64,
}

impl Preview {
    async fn stop(self) {
        self.rx.stop().await;
        self.fake.stop().await;
        self.app.stop().await;
    }
}

async fn preview(backend: Backend) -> Option<Preview> {
    let app = TestApp::start(backend).await?;
    let fake = FakeApi::start().await;
    let rx = Receiver::start().await;
    app.create_webhook(json!({"name": "people", "url": rx.url("/users"), "event_types": ["user.updated"], "format": "json"}))
        .await;
    let (s, v) = app
        .post(
            "/v1/users",
            &json!({"email": "old@example.com", "first_name": "O", "last_name": "P", "extra_fields": {"ID": 1}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    rx.wait_for("/users", 1).await;
    let person = |mail: &str, first: Option<&str>| json!({"mail": mail, "first": first, "last": first.map(|_| "L"), "id": 7});
    // Two pages: the preview fetches every one, as the import does.
    let page2 = format!("{}/people2", fake.base);
    fake.script(
        "GET",
        "/people",
        vec![Answer::json(
            200,
            json!({"users": [person("new1@example.com", Some("N1")), person("Old@Example.com", Some("O")), person("not-an-email", Some("X"))], "next": page2}),
        )],
    );
    fake.script(
        "GET",
        "/people2",
        vec![Answer::json(
            200,
            json!({"users": [person("new2@example.com", Some("N2")), person("nameless@example.com", None), person("new3@example.com", Some("N3"))]}),
        )],
    );
    let create = create_integration(
        &app,
        "sync_users",
        point_at(
            r#"{"execute": [{"url": "FAKE/people", "method": "GET"}], "data_from": "users", "next_page_from": "next",
                "data_structure": {"email": "mail", "first_name": "first", "last_name": "last"}}"#,
            &fake,
        ),
    )
    .await;
    let before = app.count_rows("users");
    Some(Preview {
        app,
        fake,
        rx,
        create,
        before,
    })
}

async fn a_create_preview_writes_nothing(backend: Backend) {
    let Some(t) = preview(backend).await else {
        return;
    };
    let Preview {
        app,
        create,
        before,
        ..
    } = &t;
    let before = *before;
    let (s, run) = app
        .post(
            &format!("/v1/integrations/{create}/runs"),
            &json!({"dry_run": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["dry_run"], true, "{run}");
    assert_eq!(
        marks(&run),
        [
            ("new1@example.com", "new"),
            ("Old@Example.com", "skipped"),
            ("not-an-email", "skipped"),
            ("new2@example.com", "new"),
            ("nameless@example.com", "skipped"),
            ("new3@example.com", "new"),
        ]
        .map(|(e, m)| (e.to_string(), m.to_string()))
    );
    let c = &run["result"]["candidates"];
    assert_eq!(c[0]["record"]["first_name"], "N1", "{run}");
    assert!(
        c[1]["reason"].as_str().unwrap().contains("already"),
        "{run}"
    );
    assert!(c[1]["user_id"].is_string(), "{run}");
    assert!(
        c[4]["reason"].as_str().unwrap().contains("first_name"),
        "{run}"
    );
    assert_eq!(
        run["result"]["counts"],
        json!({"new": 3, "update": 0, "skipped": 3})
    );
    assert_eq!(step_labels(&run).len(), 2, "both pages fetched: {run}");
    // Nothing written, nothing published; the run and its steps recorded.
    assert_eq!(app.count_rows("users"), before);
    let (_, stored) = app
        .get(&format!("/v1/runs/{}", run["id"].as_str().unwrap()))
        .await;
    assert_eq!(stored["dry_run"], true);
    assert_eq!(stored["steps"].as_array().unwrap().len(), 2);
    t.stop().await;
}

async fn an_update_preview_shows_the_changes(backend: Backend) {
    let Some(t) = preview(backend).await else {
        return;
    };
    let Preview {
        app, fake, before, ..
    } = &t;
    let before = *before;
    // The query form, for an update sync: the changed fields, old and new.
    let update = create_integration(
        app,
        "sync_users",
        point_at(
            r#"{"action": "update", "execute": [{"url": "FAKE/ids", "method": "GET"}], "data_from": "",
                "data_structure": {"email": "mail", "ID": "id"}}"#,
            fake,
        ),
    )
    .await;
    fake.script(
        "GET",
        "/ids",
        vec![Answer::json(
            200,
            json!([{"mail": "old@example.com", "id": 7}, {"mail": "zed@example.com", "id": 8}]),
        )],
    );
    let (s, run) = app
        .post(
            &format!("/v1/integrations/{update}/runs?dry_run=true"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{run}");
    let c = &run["result"]["candidates"];
    assert_eq!(c[0]["mark"], "update", "{run}");
    assert_eq!(
        c[0]["changes"],
        json!({"extra_fields.ID": {"old": 1, "new": 7}})
    );
    assert_eq!(c[1]["mark"], "skipped", "{run}");
    let (_, old) = app.get("/v1/users?q=old%40").await;
    assert_eq!(
        old["data"][0]["extra_fields"],
        json!({"ID": 1}),
        "unchanged"
    );
    assert_eq!(app.count_rows("users"), before);

    t.stop().await;
}

async fn only_imports_the_picked(backend: Backend) {
    let Some(t) = preview(backend).await else {
        return;
    };
    let Preview {
        app,
        rx,
        create,
        before,
        ..
    } = &t;
    let before = *before;
    // Import the picked two: exactly them, each published.
    let (s, run) = app
        .post(
            &format!("/v1/integrations/{create}/runs?wait=true"),
            &json!({"only": ["new1@example.com", "NEW3@example.com"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["dry_run"], false);
    assert_eq!(run["only"], json!(["new1@example.com", "NEW3@example.com"]));
    assert_eq!(app.count_rows("users"), before + 2);
    let (_, users) = app.get("/v1/users?sort=email").await;
    assert_eq!(
        emails_of(&users),
        ["new1@example.com", "new3@example.com", "old@example.com"]
    );
    let got = rx.wait_for("/users", 3).await;
    let mut published: Vec<String> = got[1..]
        .iter()
        .map(|r| {
            let e: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(e["type"], "user.updated");
            e["user"]["email"].as_str().unwrap().to_string()
        })
        .collect();
    published.sort();
    assert_eq!(published, ["new1@example.com", "new3@example.com"]);

    t.stop().await;
}

async fn preview_and_only_are_for_syncs(backend: Backend) {
    let Some(t) = preview(backend).await else {
        return;
    };
    let Preview {
        app,
        fake,
        create,
        before,
        ..
    } = &t;
    let before = *before;
    // Both are for syncs only, and `only` lists emails.
    let hook = create_integration(
        app,
        "webhook",
        point_at(r#"{"execute": [{"url": "FAKE/x", "method": "GET"}]}"#, fake),
    )
    .await;
    for (body, field) in [
        (json!({"dry_run": true}), "dry_run"),
        (json!({"only": ["a@example.com"]}), "only"),
    ] {
        let (s, v) = app
            .post(&format!("/v1/integrations/{hook}/runs"), &body)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let (s, v) = app
        .post(
            &format!("/v1/integrations/{create}/runs"),
            &json!({"only": ["a@example.com", "nope"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "only[1]", "{v}");
    assert_eq!(
        app.count_rows("users"),
        before,
        "refused runs wrote nothing"
    );
    t.stop().await;
}

async fn oauth_start_and_the_callback_page(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"oauth": {"authenticate_url": "FAKE/authorize?client=c",
                      "access_token": {"url": "FAKE/token", "method": "POST"}},
            "execute": [{"url": "FAKE/me", "method": "GET"}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    fake.script(
        "POST",
        "/token",
        vec![Answer::json(200, json!({"access_token": "at-1"}))],
    );
    // The console asks for the URL with its bearer token.
    let (s, v) = app
        .post(&format!("/v1/integrations/{id}/oauth/start"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let url = url::Url::parse(v["authorize_url"].as_str().unwrap()).unwrap();
    assert!(url
        .as_str()
        .starts_with(&format!("{}/authorize", fake.base)));
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // The provider sends the browser back: an HTML page, not JSON.
    let browser = |path: String| {
        let base = app.base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}{path}"))
                .header(
                    "Accept",
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let resp = browser(format!("/oauth/callback?code=c1&state={state}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("<h1>Connected</h1>"), "{html}");
    assert!(
        html.contains(&format!("href=\"/console/#/integrations/{id}\"")),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("http"),
        "self-contained: {html}"
    );
    let (_, got) = app.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(got["oauth"]["connected"], true);
    // An error: the page shows it, escaped, with the error's status.
    let resp = browser("/oauth/callback?error=%3Cscript%3Ealert(1)%3C/script%3E".into()).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Not connected"), "{html}");
    // The provider's text is reduced to a code (issue 25, item 10).
    assert!(html.contains("(error code scriptalert1script)"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    // A script (JSON or no preference) still gets JSON.
    let resp = reqwest::Client::new()
        .get(format!("{}/oauth/callback?code=c&state=forged", app.base))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["field"], "state", "{v}");
    // Starting needs integrations:write, like authorize.
    let (_, tok) = app
        .post(
            "/v1/tokens",
            &json!({"name": "runner", "scopes": ["integrations:run"]}),
        )
        .await;
    let (s, _) = app
        .call_as(
            tok["token"].as_str().unwrap(),
            Method::POST,
            &format!("/v1/integrations/{id}/oauth/start"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    fake.stop().await;
    app.stop().await;
}

async fn form_values_are_checked_against_fetched_options(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"form": [{"id": "TEAM", "name": "Team", "type": "choice", "url": "FAKE/teams?who={{ email }}", "data_from": "teams"},
                     {"id": "NOTE", "name": "Note", "type": "input"}],
            "execute": [{"url": "FAKE/run", "method": "POST", "data": {"team": "{{ TEAM }}"}}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    let user = create_user(&app, "ada@example.com").await;
    fake.script(
        "POST",
        "/teams",
        vec![Answer::json(
            200,
            json!({"teams": [{"id": "t1", "name": "One"}, {"id": "t2", "name": "Two"}]}),
        )],
    );
    fake.script("POST", "/run", vec![Answer::json(200, json!({}))]);
    let (s, v) = app
        .post(
            &format!("/v1/integrations/{id}/runs"),
            &json!({"user_id": user, "form": {"TEAM": "t9", "NOTE": "hi"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "form.TEAM", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("t1, t2"),
        "{v}"
    );
    // Fetched for that person; nothing ran.
    let asked = fake.seen_on("POST", "/teams");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].query, "who=ada@example.com");
    assert_eq!(app.count_rows("runs"), 0);
    assert!(fake.seen_on("POST", "/run").is_empty());
    // One of the options runs.
    let run = run_wait(&app, &id, json!({"user_id": user, "form": {"TEAM": "t2"}})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        fake.seen_on("POST", "/run")[0].json(),
        json!({"team": "t2"})
    );
    fake.stop().await;
    app.stop().await;
}
