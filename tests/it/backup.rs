//! `hookrelay backup` (issue 31, item 11): taken while the gateway runs and
//! writes, the copy opens, passes `PRAGMA integrity_check`, holds the rows
//! committed before it started, and a gateway started on it (with the key
//! file copied beside it) reads the web hook's secret and delivers.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn backup(database_url: &str, dest: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .arg("backup")
        .arg(dest)
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[actix_web::test]
async fn backup_of_a_running_gateway_restores() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let rx = Receiver::start().await;
    let hook = app
        .create_webhook(json!({"name": "b", "url": rx.url("/b"), "event_types": ["profile.*"]}))
        .await;
    let id = hook["id"].as_str().unwrap().to_string();
    for i in 0..20 {
        app.publish(event("profile.parsing.success", &format!("before{i}")))
            .await;
    }
    // Keep publishing (and delivering) while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, http, base) = (stop.clone(), app.http.clone(), app.base.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let resp = http
                    .post(format!("{base}/v1/events"))
                    .bearer_auth(crate::common::TOKEN)
                    .json(&event("profile.parsing.success", &format!("during{n}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::ACCEPTED);
                n += 1;
            }
            n
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("copy.db");
    let url = app.database_url.clone();
    let (code, err) = {
        let dest = dest.clone();
        tokio::task::spawn_blocking(move || backup(&url, &dest))
            .await
            .unwrap()
    };
    stop.store(true, Ordering::Relaxed);
    let during = writer.await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("copy.db.key"), "{err}");

    {
        let mut c = SqliteConnection::establish(dest.to_str().unwrap()).unwrap();
        let check: Check = diesel::sql_query("PRAGMA integrity_check")
            .get_result(&mut c)
            .unwrap();
        assert_eq!(check.integrity_check, "ok");
        let events: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM events")
            .get_result(&mut c)
            .unwrap();
        assert!(events.n >= 20, "{} events in the backup", events.n);
        assert!(events.n <= 20 + during as i64, "{}", events.n);
    }
    let key = dir.path().join("copy.db.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second backup never overwrites the first.
    let (code, err) = backup(&app.database_url, &dest);
    assert_eq!(code, Some(1));
    assert!(err.contains("already exists"), "{err}");
    let (_, secret) = app.get(&format!("/v1/webhooks/{id}/secret")).await;
    app.stop().await;

    // A gateway on the copy finds its key beside it and signs with the secret.
    let copy_url = format!("sqlite://{}", dest.display());
    let restored = TestApp::start_with(Backend::Sqlite, |c| c.database_url = copy_url)
        .await
        .unwrap();
    let (status, restored_secret) = restored.get(&format!("/v1/webhooks/{id}/secret")).await;
    assert_eq!(status, StatusCode::OK, "{restored_secret}");
    assert_eq!(restored_secret["secret"], secret["secret"]);
    let (status, row) = restored
        .post(
            &format!("/v1/webhooks/{id}/test"),
            &json!({"event_type": "profile.parsing.success"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{row}");
    assert_eq!(row["response"]["status"], 200, "{row}");
    let test = rx.wait_for("/b", 1).await;
    let secret = secret["secret"].as_str().unwrap();
    assert!(test
        .iter()
        .all(|r| crate::common::receiver::verify(r, secret)));
    restored.stop().await;
    rx.stop().await;
}

#[test]
fn backup_of_postgres_points_at_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = backup("postgres://nobody@127.0.0.1:1/x", &dir.path().join("x.db"));
    assert_eq!(code, Some(1));
    assert!(err.contains("pg_dump"), "{err}");
}
