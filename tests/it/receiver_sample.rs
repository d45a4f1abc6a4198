//! The sample receiver of docs/signatures.md, run as printed (issue 31,
//! item 4): it verifies a real delivery, saves its body byte for byte and
//! its headers under the `Webhook-Id`, the saved body passes
//! `hookrelay verify`, and a re-send is reported as a dropped duplicate.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::gateway::free_port;
use crate::common::wait::until;
use crate::common::{event, notice, Backend, TestApp};

/// The `receiver.py` block of docs/signatures.md.
fn sample() -> String {
    let page = include_str!("../../docs/signatures.md");
    let section = page
        .split("## Verifying in Python")
        .nth(1)
        .expect("the Verifying in Python section");
    let code = section
        .split("```python\n")
        .nth(1)
        .expect("its python block");
    code.split("```").next().unwrap().to_string()
}

/// How long the receiver (a Python process) gets for each step.
const STEP: Duration = Duration::from_secs(30);

#[actix_web::test]
async fn sample_receiver_saves_deliveries_and_drops_duplicates() {
    let python = std::env::var("HOOKRELAY_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    if Command::new(&python).arg("--version").output().is_err() {
        notice("SKIPPED: the sample receiver of docs/signatures.md: no python3");
        return;
    }
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let port = free_port();
    let hook = app
        .create_webhook(
            json!({"name": "sample", "url": format!("http://127.0.0.1:{port}/hooks"),
                               "event_types": ["profile.*"]}),
        )
        .await;
    let secret = hook["secret"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("receiver.py"), sample()).unwrap();
    let mut child = Command::new(&python)
        .arg("receiver.py")
        .current_dir(dir.path())
        .env("WEBHOOK_SECRET", secret)
        .env("PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let printed = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let (out, printed) = (child.stdout.take().unwrap(), printed.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                printed.lock().unwrap().push(line);
            }
        });
    }
    until("the receiver to listen", STEP, async || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .await;

    let evt = app
        .publish(event("profile.parsing.success", "sample"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body_file = dir.path().join("received").join(format!("{evt}.body"));
    let saved = until("the saved body", STEP, async || {
        std::fs::read(&body_file).ok()
    })
    .await;
    // The history row is written just after the receiver answered.
    let row = until(&format!("a history row for {evt}"), STEP, async || {
        app.all_history(&format!("event_id={evt}")).await.pop()
    })
    .await;
    let (_, full) = app
        .get(&format!("/v1/history/{}", row["id"].as_str().unwrap()))
        .await;
    assert_eq!(saved, full["request"]["body"].as_str().unwrap().as_bytes());
    let headers: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.path()
                .join("received")
                .join(format!("{evt}.headers.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(headers["webhook-id"], evt.as_str(), "{headers}");
    assert!(printed
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.starts_with(&format!("event {evt} "))));

    // The saved files are what `hookrelay verify` takes, as the page says.
    let signature = headers["http-hrflow-signature"].as_str().unwrap();
    let verified = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(["verify", "--secret", secret, "--signature", signature])
        .stdin(std::fs::File::open(&body_file).unwrap())
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // A re-send repeats the Webhook-Id: the receiver says it dropped it.
    let (status, resent) = app
        .post(
            &format!("/v1/history/{}/resend", row["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{resent}");
    assert_eq!(resent["response"]["status"], 204, "{resent}");
    let dropped = format!("dropped duplicate Webhook-Id {evt}");
    until("the duplicate to be reported", STEP, async || {
        printed.lock().unwrap().contains(&dropped).then_some(())
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    app.stop().await;
}
