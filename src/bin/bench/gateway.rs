//! The gateway under test: the real `hookrelay serve` binary as a child
//! process, so its CPU time and peak memory can be read from /proc.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Token the benchmark's gateways accept.
pub const TOKEN: &str = "hr_bench_token_0123456789abcdef0123456789";

/// A running `hookrelay serve`.
pub struct Gateway {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

/// Master key of the benchmark's gateways (throwaway databases).
const BENCH_MASTER_KEY: &str = "YmVuY2htYXJrLW1hc3Rlci1rZXktMzItYnl0ZXMhISE=";

impl Gateway {
    /// Starts the binary next to this one with `env`, waits for `/readyz`.
    pub async fn spawn(database_url: &str, env: &[(&str, String)]) -> Gateway {
        let exe = std::env::current_exe().unwrap().with_file_name("hookrelay");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(&exe);
        cmd.arg("serve")
            .env("HOOKRELAY_BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("HOOKRELAY_BOOTSTRAP_TOKEN", TOKEN)
            .env("HOOKRELAY_ALLOW_PRIVATE_TARGETS", "true")
            // The bench measures the gateway, not the per-organization quota.
            .env("HOOKRELAY_PUBLISH_RATE_PER_ORG", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // Every gateway process of a run shares one master key (PostgreSQL
        // runs start several on one database).
        cmd.env("HOOKRELAY_MASTER_KEY", BENCH_MASTER_KEY);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (build it with cargo build --release)",
                exe.display()
            )
        });
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        let g = Gateway {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = g.http.get(format!("{}/readyz", g.base)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "gateway did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        g
    }

    /// POSTs JSON with the token; panics unless 2xx.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// GETs a path with the token; `Value::Null` unless 2xx JSON.
    pub async fn get(&self, path: &str) -> Value {
        match self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => r.json().await.unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// User + system CPU time so far.
    pub fn cpu(&self) -> Duration {
        let ticks = crate::cpu::process_ticks(self.pid()).unwrap_or(0);
        Duration::from_secs_f64(ticks as f64 / crate::cpu::CLOCK_TICKS)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }

    /// SIGTERM and wait (graceful drain).
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
