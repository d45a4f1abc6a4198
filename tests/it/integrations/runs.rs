//! Runs end to end against a fake third-party API on loopback: the real
//! Asana manifest, polling and `continue_if`, `store_data`, files.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::{Backend, TestApp};

both_backends!(
    asana_manifest_end_to_end,
    polling_and_continue_if,
    store_data_feeds_later_items_and_runs,
    files_travel_from_download_to_upload,
);

async fn asana_manifest_end_to_end(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let raw = include_str!("../../fixtures/manifests/docs-asana-add-user-to-team.json")
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
    let metrics = app.metrics_text().await;
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
    let raw = include_str!("../../fixtures/manifests/reference-test-save-as-file-and-files.json")
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
