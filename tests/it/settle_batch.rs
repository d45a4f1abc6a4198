//! One flush's settlements, stored together (on PostgreSQL in one
//! statement, issue #19): each result lands on its own row, a result whose
//! claim lost its lease does not, and of two results for one delivery the
//! first wins.

use chrono::NaiveDate;
use hookrelay::db::deliveries::{Delivery, DeliveryStatus, Settlement};
use serde_json::json;

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};

both_backends!(a_flush_settles_each_row_under_its_lease);

async fn a_flush_settles_each_row_under_its_lease(backend: Backend) {
    // No worker: the test plays the claim and the recorder.
    let Some(app) = TestApp::start_with(backend, |c| c.role = hookrelay::config::Role::Api).await
    else {
        return;
    };
    let rx = Receiver::start().await;
    app.create_webhook(json!({"name": "s", "url": rx.url("/s"), "event_types": ["*"]}))
        .await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let e = app
            .publish(event("profile.parsing.success", &format!("s{i}")))
            .await;
        let event_id = e["id"].as_str().unwrap().to_string();
        let rows = app
            .db()
            .write_blocking(|c| Ok(Delivery::for_event(c, &event_id)?))
            .unwrap();
        ids.push(rows[0].id.clone());
    }
    // All claimed under one lease.
    app.execute_sql(
        "UPDATE deliveries SET status = 'delivering', claimed_by = 'other', \
         lease_until = '2030-01-01 00:00:00', next_attempt_at = '2030-01-01 00:00:00'",
    );
    let day = |d| {
        NaiveDate::from_ymd_opt(2030, 1, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    let (lease, stale, retry, now) = (day(1), day(2), day(3), day(4));
    let s = |i: usize, status, code, error: Option<&str>, lease| Settlement {
        delivery_id: ids[i].clone(),
        status,
        next_attempt_at: if status == DeliveryStatus::Failed {
            retry
        } else {
            now
        },
        status_code: code,
        error: error.map(str::to_string),
        lease,
    };
    use DeliveryStatus::*;
    let flush = [
        s(0, Succeeded, Some(200), None, Some(lease)),
        s(1, Failed, Some(503), Some("busy"), Some(lease)),
        s(2, Dead, None, Some("timed out"), Some(lease)),
        // Its claim's lease ran out and the row was claimed again.
        s(3, Succeeded, Some(200), None, Some(stale)),
        // A result without a lease (a manual path) lands on any claim.
        s(4, Succeeded, Some(204), None, None),
        // Twice: the first result wins.
        s(5, Failed, Some(500), Some("first"), Some(lease)),
        s(5, Succeeded, Some(200), None, Some(lease)),
    ];
    app.db()
        .write_blocking(|c| Ok(Delivery::settle_all(c, flush.iter(), now)?))
        .unwrap();

    let rows = app.table_text("deliveries");
    let expect = [
        (0, "succeeded", "200", "-"),
        (1, "failed", "503", "busy"),
        (2, "dead", "-", "timed out"),
        (3, "delivering", "-", "-"),
        (4, "succeeded", "204", "-"),
        (5, "failed", "500", "first"),
    ];
    for (i, status, code, error) in expect {
        let mut conn_rows = rows.lines().filter(|l| l.contains(&ids[i]));
        let line = conn_rows
            .next()
            .unwrap_or_else(|| panic!("row {i}: {rows}"));
        assert!(line.contains(status), "row {i} is {status}: {line}");
        if code != "-" {
            assert!(line.contains(code), "row {i} has code {code}: {line}");
        }
        if error != "-" {
            assert!(line.contains(error), "row {i} has error {error}: {line}");
        }
        if status != "delivering" {
            assert!(
                !line.contains("other"),
                "row {i} is no longer claimed: {line}"
            );
        }
    }
    app.stop().await;
}
