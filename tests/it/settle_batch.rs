//! One flush's settlements, stored together (on PostgreSQL in one
//! statement, issue #19): each result lands on its own row, a result whose
//! claim lost its lease does not, and of two results for one delivery the
//! first wins, in either order, on both backends.

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
    let mut org = String::new();
    for i in 0..7 {
        let e = app
            .publish(event("profile.parsing.success", &format!("s{i}")))
            .await;
        let event_id = e["id"].as_str().unwrap().to_string();
        let rows = app
            .db()
            .write_blocking(|c| Ok(Delivery::for_event(c, &event_id)?))
            .unwrap();
        ids.push(rows[0].id.clone());
        org = rows[0].organization_id.clone();
    }
    // All claimed under one lease.
    app.execute_sql(
        "UPDATE delivery_queue SET claimed_by = 'other', attempts = 1, \
         lease_until = '2030-01-01 00:00:00'",
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
        organization_id: org.clone(),
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
        // Twice the other way round: the first still wins.
        s(6, Succeeded, Some(200), None, Some(lease)),
        s(6, Failed, Some(500), Some("second"), Some(lease)),
    ];
    app.db()
        .write_blocking(|c| Ok(Delivery::settle_all(c, flush.iter(), now)?))
        .unwrap();

    let expect = [
        (0, Succeeded, Some(200), None, 1),
        (1, Failed, Some(503), Some("busy"), 1),
        (2, Dead, None, Some("timed out"), 1),
        (3, Delivering, None, None, 1),
        (4, Succeeded, Some(204), None, 1),
        (5, Failed, Some(500), Some("first"), 1),
        (6, Succeeded, Some(200), None, 1),
    ];
    for (i, status, code, error, attempts) in expect {
        let id = ids[i].clone();
        let d = app
            .db()
            .write_blocking(move |c| {
                let all = Delivery::list(
                    c,
                    &hookrelay::db::deliveries::DeliveryQuery {
                        organization: hookrelay::db::organizations::DEFAULT_ORG.into(),
                        status: None,
                        webhook_id: None,
                        event_id: None,
                        before_id: None,
                        limit: 100,
                    },
                )?;
                Ok(all.into_iter().find(|d| d.id == id))
            })
            .unwrap()
            .unwrap_or_else(|| panic!("row {i} exists"));
        assert_eq!(d.status, status, "row {i}: {d:?}");
        assert_eq!(d.attempts, attempts, "row {i}: {d:?}");
        if status != Delivering {
            assert_eq!(d.last_status_code, code, "row {i}: {d:?}");
            assert_eq!(d.last_error.as_deref(), error, "row {i}: {d:?}");
            assert_eq!(d.claimed_by, None, "row {i} is no longer claimed: {d:?}");
        }
        if status == Failed {
            assert_eq!(d.next_attempt_at, retry, "row {i} waits for its retry");
        }
    }
    // Finished deliveries leave the queue; the retries and the one still
    // claimed stay in it.
    assert_eq!(app.count_rows("delivery_queue"), 3);
    app.stop().await;
}
