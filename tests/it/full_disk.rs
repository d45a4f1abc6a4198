//! A full disk fails safe (issue #25, item 12): with the database on a
//! small file system that fills up, a publish answers 503 `storage_full`
//! with `Retry-After` and writes nothing, `/readyz` reports not ready, an
//! attempt whose history cannot be written is kept (its delivery stays
//! claimed) and lands once space is freed, and everything recovers by
//! itself. SQLite lives on a small tmpfs; PostgreSQL gets a tablespace on
//! one (its WAL stays on the server's own disk). Mounting needs root: the
//! test says it is skipped otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::wait::until;
use crate::common::{event, notice, Backend, TestApp};

both_backends!(a_full_disk_fails_safe_and_recovers);

async fn a_full_disk_fails_safe_and_recovers(backend: Backend) {
    let Some(disk) = SmallDisk::mount(48) else {
        return;
    };
    let Some(store) = Store::on(backend, &disk) else {
        return;
    };
    let url = store.url.clone();
    let app = TestApp::start_with(backend, move |c| c.database_url = url)
        .await
        .unwrap();
    let rx = Receiver::start().await;
    let hook = app
        .create_webhook(json!({"name": "held", "url": rx.url("/held"),
            "event_types": ["profile.parsing.success"], "format": "json"}))
        .await;
    let hook = hook["id"].as_str().unwrap().to_string();

    // One delivery in flight, its answer held back while the disk fills.
    rx.hold("/held");
    let first = app
        .publish(event("profile.parsing.success", "in-flight"))
        .await;
    let first = first["id"].as_str().unwrap().to_string();
    rx.wait_for("/held", 1).await;

    // Fill the file system, then publish (to no web hook) until a write is
    // refused: SQLite first reuses the slack of its WAL. Smaller and
    // smaller events, each until refused, so that no write the size of a
    // history row still fits (one refused 256 KiB write left room for them
    // on a loaded machine).
    disk.fill();
    let mut refused = None;
    for size in [256 * 1024, 16 * 1024, 1024, 16] {
        for i in 0..200 {
            let mut e = event("job.storing.success", &format!("filler-{size}-{i}"));
            e["job"]["notes"] = json!("n".repeat(size));
            let resp = app
                .http
                .post(format!("{}/v1/events", app.base))
                .bearer_auth(crate::common::TOKEN)
                .json(&e)
                .send()
                .await
                .unwrap();
            if resp.status() != StatusCode::ACCEPTED {
                refused = Some(resp);
                break;
            }
        }
    }
    let resp = refused.expect("a publish is refused once the disk is full");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after = resp.headers().get("retry-after").cloned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_full", "{body}");
    assert_eq!(retry_after.unwrap().to_str().unwrap(), "30");
    let (status, ready) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["error"]["code"], "storage_full");

    // The held answer arrives now: its history cannot be written, and the
    // delivery stays claimed (reads still work).
    rx.release("/held");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(app
        .all_history(&format!("webhook_id={hook}"))
        .await
        .is_empty());
    let (_, e) = app.get(&format!("/v1/events/{first}")).await;
    assert_eq!(e["deliveries"][0]["status"], "delivering", "{e}");

    // Space is freed: everything recovers by itself.
    disk.free();
    until(
        "/readyz to report ready",
        Duration::from_secs(60),
        || async { (app.get("/readyz").await.0 == StatusCode::OK).then_some(()) },
    )
    .await;
    app.publish(event("profile.parsing.success", "after")).await;
    let rows = until(
        "both attempts in history",
        Duration::from_secs(60),
        || async {
            let rows = app.all_history(&format!("webhook_id={hook}")).await;
            (rows.len() == 2).then_some(rows)
        },
    )
    .await;
    assert!(
        rows.iter().all(|r| r["response"]["status"] == 200),
        "{rows:?}"
    );
    let (_, e) = app.get(&format!("/v1/events/{first}")).await;
    assert_eq!(e["deliveries"][0]["status"], "succeeded", "{e}");
    assert_eq!(e["deliveries"][0]["attempts"], 1, "sent once: {e}");
    assert_eq!(rx.received_on("/held").len(), 2, "nothing sent twice");
    rx.stop().await;
    app.stop().await;
    drop(store);
}

/// A tmpfs of a few MiB, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0777"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            notice("SKIPPED: full-disk test: cannot mount a small tmpfs (needs root; .ci/run runs as root)");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn filler(&self) -> PathBuf {
        self.path().join("filler")
    }

    /// Writes a file until the file system has no space left.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0xa5u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        // The last partial chunks: down to the byte.
        while f.write_all(&chunk[..512]).is_ok() {}
        let _ = f.sync_all();
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}

/// The database on the small disk: a SQLite file there, or a PostgreSQL
/// database in a tablespace there (dropped with it).
struct Store {
    url: String,
    pg: Option<(String, String)>,
}

impl Store {
    fn on(backend: Backend, disk: &SmallDisk) -> Option<Store> {
        if backend == Backend::Sqlite {
            let url = format!("sqlite://{}", disk.path().join("hookrelay.db").display());
            return Some(Store { url, pg: None });
        }
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            notice("SKIPPED: full-disk test on PostgreSQL: TEST_DATABASE_URL is not set");
            return None;
        };
        // The server's own user must own the tablespace's directory.
        let dir = disk.path().join("pg");
        std::fs::create_dir(&dir).unwrap();
        let owned = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if !owned {
            notice("SKIPPED: full-disk test on PostgreSQL: cannot give the tablespace directory to the postgres user");
            return None;
        }
        let name = format!(
            "hookrelay_full_{}",
            hookrelay::db::new_id("x").trim_start_matches("x_")
        );
        let mut c = PgConnection::establish(&admin).unwrap();
        let create = format!("CREATE TABLESPACE {name} LOCATION '{}'", dir.display());
        if let Err(e) = diesel::sql_query(create).execute(&mut c) {
            notice(&format!("SKIPPED: full-disk test on PostgreSQL: CREATE TABLESPACE failed ({e}); the server must run on this machine as a superuser's"));
            return None;
        }
        diesel::sql_query(format!("CREATE DATABASE {name} TABLESPACE {name}"))
            .execute(&mut c)
            .unwrap();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(Store {
            url: format!("{base}/{name}"),
            pg: Some((admin, name)),
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut c) = PgConnection::establish(admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c);
                let _ =
                    diesel::sql_query(format!("DROP TABLESPACE IF EXISTS {name}")).execute(&mut c);
            }
        }
    }
}
