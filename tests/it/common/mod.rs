//! Test harness: the real gateway over real HTTP on loopback, on a fresh
//! SQLite file or a fresh PostgreSQL database (or a database on a Citus
//! cluster), plus a recording receiver.

pub mod citus;
pub mod collector;
pub mod external;
pub mod fake_api;
pub mod gateway;
pub mod receiver;
pub mod smtp;
pub mod wait;

use std::io::Write;
use std::sync::Once;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use hookrelay::app::{self, Running};
use hookrelay::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The token every test app accepts.
pub const TOKEN: &str = "hr_test_bootstrap_token_0123456789abcdef";

/// Master key of PostgreSQL test gateways (SQLite ones generate a key file,
/// which exercises that path).
pub const MASTER_KEY: &str = "dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmchISE=";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// PostgreSQL on a Citus coordinator with workers (`TEST_CITUS_URL`):
    /// the tables distributed by organization.
    Citus,
}

impl Backend {
    /// PostgreSQL, plain or Citus.
    pub fn is_postgres(self) -> bool {
        self != Backend::Sqlite
    }
}

/// `mod $name` with one test per `variant => Backend` pair, each running
/// `async fn $name(backend: Backend)` on that backend.
#[macro_export]
macro_rules! backend_variants {
    ($name:ident: $($variant:ident => $backend:ident),*) => {
        mod $name {$(
            #[actix_web::test]
            async fn $variant() {
                super::$name($crate::common::Backend::$backend).await
            }
        )*}
    };
}

/// Runs a scenario once per backend: `both_backends!(name);` next to
/// `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        $crate::backend_variants!($name: sqlite => Sqlite, postgres => Postgres);
    )*};
}

/// Runs a scenario on SQLite, PostgreSQL and Citus: `all_backends!(name);`
/// is `both_backends!` plus a `citus` variant (skipped, with a notice,
/// without `TEST_CITUS_URL`; `.ci/citus` runs them).
#[macro_export]
macro_rules! all_backends {
    ($($name:ident),* $(,)?) => {$(
        $crate::backend_variants!($name: sqlite => Sqlite, postgres => Postgres, citus => Citus);
    )*};
}

/// Runs scenarios on Citus only: `on_citus!(name, …);` adds
/// `citus::name` for each (for scenarios whose other variants are
/// written apart).
#[macro_export]
macro_rules! on_citus {
    ($($name:ident),* $(,)?) => {
        mod citus {$(
            #[actix_web::test]
            async fn $name() {
                super::$name($crate::common::Backend::Citus).await
            }
        )*}
    };
}

static SKIP_NOTICE: Once = Once::new();
static SKIP_CITUS_NOTICE: Once = Once::new();

/// Writes straight to the process's stderr: libtest captures `eprintln!`,
/// and a skip must be visible in the run's output.
pub fn notice(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// A fresh, empty database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    dir: Option<tempfile::TempDir>,
    pg: Option<PgDrop>,
}

/// A new SQLite file, or a new PostgreSQL database; `None` (with a printed
/// reason) when the backend is PostgreSQL and `TEST_DATABASE_URL` is unset.
pub fn fresh_database(backend: Backend) -> Option<TestDb> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("hookrelay.db").display());
            Some(TestDb {
                url,
                dir: Some(dir),
                pg: None,
            })
        }
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                SKIP_NOTICE.call_once(|| {
                    notice("SKIPPED: PostgreSQL variants of the integration tests: TEST_DATABASE_URL is not set (see docs/testing.md)")
                });
                return None;
            };
            let (url, guard) = fresh_pg_database(&admin_url);
            Some(TestDb {
                url,
                dir: None,
                pg: Some(guard),
            })
        }
        Backend::Citus => {
            let Ok(admin_url) = std::env::var("TEST_CITUS_URL") else {
                SKIP_CITUS_NOTICE.call_once(|| {
                    notice("SKIPPED: Citus variants of the integration tests: TEST_CITUS_URL is not set (.ci/citus sets up a coordinator with two workers; see docs/testing.md)")
                });
                return None;
            };
            let name = test_database_name();
            let url = citus::create(&admin_url, &name);
            Some(TestDb {
                url,
                dir: None,
                pg: Some(PgDrop {
                    admin_url,
                    name,
                    citus: true,
                }),
            })
        }
    }
}

/// A running gateway and what it needs to be torn down.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub database_url: String,
    /// The configuration it was started with.
    pub config: Config,
    running: Option<Running>,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<PgDrop>,
}

/// Drops a per-test PostgreSQL database when the test ends.
struct PgDrop {
    admin_url: String,
    name: String,
    /// On a Citus cluster: dropped on every node.
    citus: bool,
}

impl Drop for PgDrop {
    fn drop(&mut self) {
        if self.citus {
            return citus::drop(&self.admin_url, &self.name);
        }
        if let Ok(mut c) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut c);
        }
    }
}

impl TestApp {
    /// Starts a gateway with test defaults, or `None` (with a printed reason)
    /// when the backend is PostgreSQL and `TEST_DATABASE_URL` is unset.
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(backend, |_| {}).await
    }

    /// Same, with a hook to adjust the configuration.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let TestDb {
            url: database_url,
            dir,
            pg,
        } = fresh_database(backend)?;
        let mut config = Config::from_env();
        config.bind = "127.0.0.1:0".into();
        config.database_url = database_url.clone();
        config.bootstrap_token = Some(TOKEN.into());
        config.workers = 32;
        config.poll_interval_ms = 50;
        config.request_timeout_secs = 5;
        config.allow_private_targets = true;
        config.require_https = false;
        config.shutdown_grace_secs = 5;
        config.db_pool_size = 4;
        if backend.is_postgres() {
            config.master_key = Some(MASTER_KEY.into());
        }
        adjust(&mut config);
        let running = app::start(config.clone()).await.expect("gateway starts");
        Some(TestApp {
            base: format!("http://{}", running.addr),
            http: reqwest::Client::new(),
            database_url,
            config,
            running: Some(running),
            _dir: dir,
            pg_drop: pg,
        })
    }

    /// The gateway's own database pools.
    pub fn db(&self) -> &hookrelay::db::Db {
        &self.running.as_ref().expect("the gateway is running").db
    }

    /// The gateway's metrics.
    pub fn metrics(&self) -> std::sync::Arc<hookrelay::metrics::Metrics> {
        self.running
            .as_ref()
            .expect("the gateway is running")
            .metrics
            .clone()
    }

    /// Stops the gateway gracefully.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        drop(self.pg_drop.take());
    }

    /// Stops the gateway and starts it again on the same database, with
    /// `adjust` applied to its configuration; the start-up error if it fails.
    pub async fn restart_with(
        mut self,
        adjust: impl FnOnce(&mut Config),
    ) -> Result<TestApp, String> {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let mut config = self.config.clone();
        config.bind = "127.0.0.1:0".into();
        adjust(&mut config);
        // The stopped gateway's last tasks let go of the SQLite lock shortly.
        let running = wait::until_ok(
            "the stopped gateway to let go of the database",
            Duration::from_secs(10),
            async || match app::start(config.clone()).await {
                Err(e) if e.contains("in use by another") => Err(e),
                other => Ok(other),
            },
        )
        .await?;
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
        self.config = config;
        Ok(self)
    }

    /// Sends a request with the test token; returns status and JSON body
    /// (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        self.call_as(TOKEN, method, path, body).await
    }

    /// Same, with another bearer token.
    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        read(req.send().await.expect("request reaches the gateway")).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// Creates a webhook; returns its JSON (with `secret`).
    pub async fn create_webhook(&self, body: Value) -> Value {
        let (status, v) = self.post("/v1/webhooks", &body).await;
        assert_eq!(status, StatusCode::CREATED, "create webhook: {v}");
        v
    }

    /// Publishes one event; returns `{id, deliveries}`.
    pub async fn publish(&self, event: Value) -> Value {
        let (status, v) = self.post("/v1/events", &event).await;
        assert_eq!(status, StatusCode::ACCEPTED, "publish: {v}");
        v
    }

    /// Polls until `check` holds for the event's deliveries, or panics.
    pub async fn wait_event_deliveries(
        &self,
        event_id: &str,
        check: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        wait::until_ok(
            &format!("the deliveries of {event_id} to reach the expected state"),
            Duration::from_secs(20),
            async || {
                let (status, v) = self.get(&format!("/v1/events/{event_id}")).await;
                assert_eq!(status, StatusCode::OK, "{v}");
                let list = v["deliveries"].as_array().cloned().unwrap_or_default();
                if check(&list) {
                    Ok(list)
                } else {
                    Err(list)
                }
            },
        )
        .await
    }

    /// Every history row matching `query`, following cursors.
    pub async fn all_history(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if query.is_empty() { "" } else { "&" };
            let path = match &cursor {
                Some(c) => format!("/v1/history?{query}{sep}cursor={c}"),
                None => format!("/v1/history?{query}"),
            };
            let (status, v) = self.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            out.extend(v["data"].as_array().cloned().unwrap_or_default());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    /// Counts rows of a table straight from the database (for "nothing was
    /// written" checks).
    /// PostgreSQL's activity counters of `table`, read afresh (the shared
    /// statistics lag the transactions by up to a second or so).
    pub fn pg_table_stats(&self, table: &str) -> PgTableStats {
        let mut c = PgConnection::establish(&self.database_url).expect("connect to PostgreSQL");
        diesel::sql_query(
            "SELECT n_tup_upd, n_tup_hot_upd, vacuum_count FROM pg_stat_user_tables \
             WHERE relname = $1",
        )
        .bind::<diesel::sql_types::Text, _>(table)
        .get_result(&mut c)
        .expect("read pg_stat_user_tables")
    }

    /// The text of `GET /metrics`.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    pub fn count_rows(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        if let Some(path) = self.database_url.strip_prefix("sqlite://") {
            let mut c = diesel::SqliteConnection::establish(path).expect("open sqlite");
            diesel::sql_query(sql)
                .get_result::<N>(&mut c)
                .expect("count")
                .n
        } else {
            let mut c = PgConnection::establish(&self.database_url).expect("open pg");
            diesel::sql_query(sql)
                .get_result::<N>(&mut c)
                .expect("count")
                .n
        }
    }
}

impl TestApp {
    /// Every text value stored in `table`, straight from the database (for
    /// "no secret in clear" checks).
    pub fn table_text(&self, table: &str) -> String {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        if let Some(path) = self.database_url.strip_prefix("sqlite://") {
            let mut c = diesel::SqliteConnection::establish(path).expect("open sqlite");
            let cols: Vec<Row> = diesel::sql_query(format!(
                "SELECT name AS t FROM pragma_table_info('{table}')"
            ))
            .load(&mut c)
            .expect("columns");
            let expr = cols
                .iter()
                .map(|c| format!("COALESCE(CAST({} AS TEXT), '')", c.t))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let rows: Vec<Row> = diesel::sql_query(format!("SELECT {expr} AS t FROM {table}"))
                .load(&mut c)
                .expect("rows");
            rows.into_iter().map(|r| r.t).collect::<Vec<_>>().join("\n")
        } else {
            let mut c = PgConnection::establish(&self.database_url).expect("open pg");
            let rows: Vec<Row> =
                diesel::sql_query(format!("SELECT row_to_json(x)::text AS t FROM {table} x"))
                    .load(&mut c)
                    .expect("rows");
            rows.into_iter().map(|r| r.t).collect::<Vec<_>>().join("\n")
        }
    }

    /// Runs one statement on the database directly.
    pub fn execute_sql(&self, sql: &str) {
        if let Some(path) = self.database_url.strip_prefix("sqlite://") {
            let mut c = diesel::SqliteConnection::establish(path).expect("open sqlite");
            diesel::sql_query(sql).execute(&mut c).expect("sql");
        } else {
            let mut c = PgConnection::establish(&self.database_url).expect("open pg");
            diesel::sql_query(sql).execute(&mut c).expect("sql");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // A test that panicked never called stop(): drop the server without
        // waiting; the database guard still cleans up.
        self.running.take();
    }
}

/// Sends a request; returns status and JSON body.
pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

/// A new database's name, unique to the test.
fn test_database_name() -> String {
    format!(
        "hookrelay_test_{}",
        hookrelay::db::new_id("db").trim_start_matches("db_")
    )
}

fn fresh_pg_database(admin_url: &str) -> (String, PgDrop) {
    let name = test_database_name();
    let mut c = PgConnection::establish(admin_url)
        .expect("TEST_DATABASE_URL must point at a reachable PostgreSQL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .expect("create test database");
    let url = match admin_url.rfind('/') {
        Some(i) if i > "postgres://".len() => {
            let (base, rest) = admin_url.split_at(i);
            let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
            format!("{base}/{name}{query}")
        }
        _ => format!("{admin_url}/{name}"),
    };
    (
        url,
        PgDrop {
            admin_url: admin_url.to_string(),
            name,
            citus: false,
        },
    )
}

/// Runs a Python `script` with `input` as JSON on stdin; its output.
pub fn run_python(python: &str, script: &str, input: &Value) -> std::process::Output {
    run_with_stdin(python, &["-c", script], input)
}

/// Runs `program` with `args`, `input` as JSON on its stdin; its output.
pub fn run_with_stdin(program: &str, args: &[&str], input: &Value) -> std::process::Output {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// An HrFlow-style event of `event_type` whose entity carries `key`.
pub fn event(event_type: &str, key: &str) -> Value {
    let entity = event_type.split('.').next().unwrap();
    serde_json::json!({
        "type": event_type,
        "origin": "api",
        "message": format!("{event_type} for {key}"),
        entity: {"key": key, "source": {"key": "src-1"}, "name": "Zoë Ørsted"},
    })
}

/// A table's counters from `pg_stat_user_tables` (see `TestApp::pg_table_stats`).
#[derive(diesel::QueryableByName, Debug, Clone, Copy)]
pub struct PgTableStats {
    /// Rows updated, and of those, HOT (heap-only) updates.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n_tup_upd: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n_tup_hot_upd: i64,
    /// Manual vacuums (autovacuum's are counted apart).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub vacuum_count: i64,
}
