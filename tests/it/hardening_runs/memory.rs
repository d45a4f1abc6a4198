//! What a run reads and keeps is bounded, and the step that passes a
//! bound fails, naming its setting.

use serde_json::{json, Value};

use super::one_get;
use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::{Backend, TestApp};
use crate::integrations::{create_integration, point_at, run_wait};

both_backends!(a_run_keeps_a_bounded_amount);

/// A JSON answer of about `mib` MiB.
fn big_json(mib: usize) -> Answer {
    Answer::json(200, json!({"blob": "j".repeat(mib * 1024 * 1024)}))
}

async fn a_run_keeps_a_bounded_amount(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    // A sync's records count too: 20 pages of 2 MiB of records each,
    // built first (building them takes longer than a connection stays
    // idle in the gateway).
    let sync = point_at(
        r#"{"action": "create", "execute": [{"url": "FAKE/people/1", "method": "GET"}],
            "data_from": "people", "next_page_from": "next", "amount_pages_to_fetch": 20,
            "data_structure": {"email": "mail", "first_name": "f", "last_name": "l", "bio": "bio"}}"#,
        &fake,
    );
    for page in 1..=20 {
        let people: Vec<Value> = (0..5)
            .map(|i| json!({"mail": format!("p{page}-{i}@example.com"), "f": "F", "l": "L", "bio": "b".repeat(400 * 1024)}))
            .collect();
        let next = format!("{}/people/{}", fake.base, page + 1);
        fake.script(
            "GET",
            &format!("/people/{page}"),
            vec![Answer::json(200, json!({"people": people, "next": next}))],
        );
    }
    // Every answer is scripted before the first request.
    fake.script("GET", "/one", vec![big_json(12)]);
    fake.script(
        "GET",
        "/file",
        vec![Answer::bytes(&vec![7u8; 12 * 1024 * 1024])],
    );
    fake.script("GET", "/two", vec![big_json(12)]);
    fake.script("GET", "/huge", vec![big_json(21)]);
    // Three 12 MiB answers kept (two parsed, one saved as a file) pass the
    // default 32 MiB a run may keep: the third fails its step.
    let manifest = point_at(
        r#"{"execute": [{"url": "FAKE/one", "method": "GET"},
                        {"url": "FAKE/file", "method": "GET", "save_as_file": "f.bin"},
                        {"url": "FAKE/two", "method": "GET"},
                        {"url": "FAKE/never", "method": "GET"}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    let run = run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "failed", "{}", run["error"]);
    let error = run["error"].as_str().unwrap();
    assert!(error.starts_with("execute[2]: the run would keep more than 33554432 bytes (HOOKRELAY_RUN_MAX_KEPT_BYTES)"), "{error}");
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert!(steps[2]["error"]
        .as_str()
        .unwrap()
        .contains("HOOKRELAY_RUN_MAX_KEPT_BYTES"));
    assert!(fake.seen_on("GET", "/never").is_empty());

    // One answer past what a run reads fails its step, naming the setting.
    let huge = create_integration(&app, "webhook", one_get(&fake, "/huge")).await;
    let run = run_wait(&app, &huge, json!({})).await;
    assert_ne!(run["status"], "succeeded");
    let step_error = run["steps"][0]["error"].as_str().unwrap();
    assert!(
        step_error.contains("larger than 20971520 bytes (HOOKRELAY_RUN_MAX_RESPONSE_BYTES)"),
        "{step_error}"
    );

    // The sync's 20 pages, scripted above.
    let sync = create_integration(&app, "sync_users", sync).await;
    let run = run_wait(&app, &sync, json!({})).await;
    assert_eq!(run["status"], "failed", "{}", run["error"]);
    let error = run["error"].as_str().unwrap();
    assert!(
        error.starts_with("page ") && error.contains("HOOKRELAY_RUN_MAX_KEPT_BYTES"),
        "{error}"
    );
    assert!(fake.seen_on("GET", "/people/20").is_empty());
    assert_eq!(app.count_rows("users"), 0, "a failed sync imports nobody");
    fake.stop().await;
    app.stop().await;
}
