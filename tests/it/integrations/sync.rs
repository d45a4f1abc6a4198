//! Events triggering integrations for a user, and user sync from an HR
//! system.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;
use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::receiver::Receiver;
use crate::common::wait::{until, until_ok};
use crate::common::{Backend, TestApp};

both_backends!(
    users_events_trigger_integrations,
    sync_users_create_and_update,
);

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
    until("the trigger to run", Duration::from_secs(20), async || {
        (!fake.seen_on("POST", "/welcome").is_empty()).then_some(())
    })
    .await;
    assert_eq!(
        fake.seen_on("POST", "/welcome")[0].json(),
        json!({"who": "new.hire@example.com", "team": "blue"})
    );
    // The run is recorded as succeeded just after the call returns.
    let runs = until_ok("the run to succeed", Duration::from_secs(20), async || {
        let (_, runs) = app.get("/v1/runs?status=succeeded").await;
        if runs["data"][0].is_null() {
            Err(runs)
        } else {
            Ok(runs)
        }
    })
    .await;
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
    let id = create_integration(&app, "sync_users", sync_manifest(&fake)).await;
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
    until_ok(
        "a scheduled sync to run",
        Duration::from_secs(20),
        async || {
            let (_, runs) = app
                .get(&format!("/v1/runs?integration_id={uid}&status=succeeded"))
                .await;
            if runs["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["triggered_by"] == "schedule")
            {
                Ok(())
            } else {
                Err(runs)
            }
        },
    )
    .await;
    fake.stop().await;
    app.stop().await;
}
