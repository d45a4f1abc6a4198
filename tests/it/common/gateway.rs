//! The real binary as a child process (`hookrelay serve`), for the tests
//! of crashes, shutdown, logs and the first start.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::wait::until_ok;
use super::{read, TOKEN};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `hookrelay serve` child process, killed when dropped.
pub struct Gateway {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Gateway {
    /// `hookrelay serve` on `database_url` with `extra` variables, its
    /// logs (at `warn`) on the test's stderr; once it answers `/readyz`.
    pub async fn spawn(database_url: &str, extra: &[(&str, &str)]) -> Gateway {
        Self::spawn_logging(database_url, extra, Stdio::inherit()).await
    }

    /// Same, with the child's stderr (its logs) sent to `stderr`.
    pub async fn spawn_logging(
        database_url: &str,
        extra: &[(&str, &str)],
        stderr: Stdio,
    ) -> Gateway {
        let port = free_port();
        let mut cmd = Self::command(database_url, port);
        cmd.stderr(stderr);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        Self::start(cmd, port).await
    }

    /// The command [`Self::spawn`] runs, to adjust before [`Self::start`]:
    /// test settings, the test token, logs at `warn`, stdout discarded.
    pub fn command(database_url: &str, port: u16) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookrelay"));
        cmd.arg("serve")
            .env("HOOKRELAY_BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("HOOKRELAY_BOOTSTRAP_TOKEN", TOKEN)
            .env("HOOKRELAY_ALLOW_PRIVATE_TARGETS", "true")
            .env("HOOKRELAY_POLL_INTERVAL_MS", "50")
            .env("HOOKRELAY_SHUTDOWN_GRACE_SECS", "10")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        if database_url.starts_with("postgres") {
            // Processes sharing a PostgreSQL database share one master key.
            cmd.env("HOOKRELAY_MASTER_KEY", crate::common::MASTER_KEY);
        }
        cmd
    }

    /// Runs `cmd` and waits until the gateway on `port` is ready.
    pub async fn start(mut cmd: Command, port: u16) -> Gateway {
        let child = cmd.spawn().expect("start hookrelay");
        let g = Gateway {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        until_ok(
            "hookrelay to become ready",
            Duration::from_secs(60),
            async || match g.http.get(format!("{}/readyz", g.base)).send().await {
                Ok(r) if r.status() == 200 => Ok(()),
                Ok(r) => Err(format!("/readyz answered {}", r.status())),
                Err(e) => Err(e.to_string()),
            },
        )
        .await;
        g
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.post_as(TOKEN, path, body).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        read(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        self.child.wait().unwrap()
    }

    /// Sends SIGTERM and waits for the exit; panics if it has not exited
    /// after `timeout` (a safety net: a shutdown that hangs).
    pub async fn terminate_within(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let child = &mut self.child;
        super::wait::until("the gateway to exit after SIGTERM", timeout, async || {
            child.try_wait().unwrap()
        })
        .await
    }

    /// Queue size in `state`, read through the API (first page is enough to tell empty).
    pub async fn count(&self, state: &str) -> usize {
        let (_, v) = self
            .get(&format!("/v1/deliveries?status={state}&limit=500"))
            .await;
        v["data"].as_array().map(Vec::len).unwrap_or(0)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
