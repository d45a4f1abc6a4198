//! Runtime configuration: environment variables, mirrored by `serve` flags.
//!
//! Every variable is listed in the README's configuration table; keep the two
//! in step.

use std::time::Duration;

use clap::{ArgAction, Args};

/// How hookrelay runs. Built by clap from flags and `HOOKRELAY_*` variables.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address the HTTP API listens on.
    #[arg(long, env = "HOOKRELAY_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// `sqlite://path` (default, embedded) or `postgres://…` (scale-out).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://hookrelay.db")]
    pub database_url: String,

    /// Operator token ensured at start-up (scripts, tests). Never logged.
    #[arg(long, env = "HOOKRELAY_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<String>,

    /// Master key sealing secrets at rest: 32 bytes, base64 or hex
    /// (`hookrelay keygen`). Without it (and without a key file) SQLite
    /// deployments generate `<database>.key`; PostgreSQL ones must set it.
    #[arg(long, env = "HOOKRELAY_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,

    /// File holding the master key, instead of HOOKRELAY_MASTER_KEY.
    #[arg(long, env = "HOOKRELAY_MASTER_KEY_FILE")]
    pub master_key_file: Option<std::path::PathBuf>,

    /// Earlier master keys (comma-separated): they open old secrets, which
    /// start-up re-seals under the current key.
    #[arg(
        long,
        env = "HOOKRELAY_PREVIOUS_MASTER_KEYS",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub previous_master_keys: String,

    /// Deliveries in flight at once in this process.
    #[arg(long, env = "HOOKRELAY_WORKERS", default_value_t = 256)]
    pub workers: usize,

    /// Per-request timeout of a delivery attempt, in seconds.
    #[arg(long, env = "HOOKRELAY_REQUEST_TIMEOUT_SECS", default_value_t = 15)]
    pub request_timeout_secs: u64,

    /// Largest accepted API request body, in bytes.
    #[arg(long, env = "HOOKRELAY_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Allow deliveries to loopback and private addresses (development, tests).
    #[arg(long, env = "HOOKRELAY_ALLOW_PRIVATE_TARGETS", default_value_t = false, action = ArgAction::Set)]
    pub allow_private_targets: bool,

    /// Extra CIDRs deliveries may reach although private (e.g. `10.1.0.0/16,fd00::/8`).
    #[arg(long, env = "HOOKRELAY_ALLOWED_CIDRS", default_value = "")]
    pub allowed_cidrs: String,

    /// Refuse webhook URLs that are not https.
    #[arg(long, env = "HOOKRELAY_REQUIRE_HTTPS", default_value_t = false, action = ArgAction::Set)]
    pub require_https: bool,

    /// Database connections per process (SQLite: readers; writes use one more).
    #[arg(long, env = "HOOKRELAY_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,

    /// SQLite `synchronous` pragma: NORMAL survives a process crash, FULL also power loss.
    #[arg(long, env = "HOOKRELAY_SQLITE_SYNCHRONOUS", default_value = "NORMAL")]
    pub sqlite_synchronous: String,

    /// How often an idle worker looks for due deliveries (ms); publishes wake it at once.
    #[arg(long, env = "HOOKRELAY_POLL_INTERVAL_MS", default_value_t = 500)]
    pub poll_interval_ms: u64,

    /// Most deliveries claimed in one statement.
    #[arg(long, env = "HOOKRELAY_CLAIM_BATCH", default_value_t = 256)]
    pub claim_batch: usize,

    /// Delays after each failed attempt; after the last one a delivery is dead.
    #[arg(
        long,
        env = "HOOKRELAY_RETRY_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,10h"
    )]
    pub retry_schedule: String,

    /// A webhook failing without a success for this long is disabled.
    #[arg(long, env = "HOOKRELAY_DISABLE_AFTER", default_value = "5d")]
    pub disable_after: String,

    /// Requests in flight per webhook, for webhooks that do not set their own.
    #[arg(long, env = "HOOKRELAY_MAX_IN_FLIGHT_PER_WEBHOOK", default_value_t = 4)]
    pub max_in_flight_per_webhook: i32,

    /// Name of this process in delivery claims (default: host-pid).
    #[arg(long, env = "HOOKRELAY_INSTANCE_ID")]
    pub instance_id: Option<String>,

    /// `all` (API and delivery) or `api` (API only; other processes deliver).
    #[arg(long, env = "HOOKRELAY_ROLE", default_value = "all")]
    pub role: String,

    /// Base URL this gateway is reached at from outside (OAuth `redirect_url`
    /// is `<this>/oauth/callback`). Default: `http://<HOOKRELAY_BIND>`.
    #[arg(long, env = "HOOKRELAY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Delays before re-running a failed integration run (one retry an hour later by default).
    #[arg(
        long,
        env = "HOOKRELAY_INTEGRATION_RETRY_SCHEDULE",
        default_value = "1h"
    )]
    pub integration_retry_schedule: String,

    /// SMTP server for `email` notifications, e.g. `smtp://mail.internal:25`
    /// or `smtps://user:pass@smtp.example.com` (lettre URL syntax).
    #[arg(long, env = "HOOKRELAY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of notification emails.
    #[arg(
        long,
        env = "HOOKRELAY_SMTP_FROM",
        default_value = "hookrelay <hookrelay@localhost>"
    )]
    pub smtp_from: String,

    /// HTTP endpoint for `text` notifications: POSTed `{"to", "message"}` as JSON.
    #[arg(long, env = "HOOKRELAY_SMS_URL")]
    pub sms_url: Option<String>,

    /// Bearer token for the SMS endpoint.
    #[arg(long, env = "HOOKRELAY_SMS_TOKEN", hide_env_values = true)]
    pub sms_token: Option<String>,

    /// When set, `GET /metrics` requires `Authorization: Bearer <this>`.
    #[arg(long, env = "HOOKRELAY_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// `text` or `json` logs.
    #[arg(long, env = "HOOKRELAY_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// Seconds in-flight deliveries get to finish on SIGTERM/SIGINT.
    #[arg(long, env = "HOOKRELAY_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,

    /// `?wait=true` runs executing at once in this process; with none free,
    /// such a request is queued instead (202).
    #[arg(long, env = "HOOKRELAY_INLINE_RUNS", default_value_t = 8)]
    pub inline_runs: usize,

    /// Longest a `?wait=true` request waits for its run, in seconds; then it
    /// answers 202 and the run finishes in the background.
    #[arg(long, env = "HOOKRELAY_INLINE_RUN_WAIT_SECS", default_value_t = 60)]
    pub inline_run_wait_secs: u64,
}

impl Config {
    /// Defaults plus whatever the environment sets, without reading argv.
    pub fn from_env() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        <Wrapper as clap::Parser>::parse_from(["hookrelay"]).config
    }

    /// Checks values that clap cannot; called once at start-up.
    pub fn validate(&self) -> Result<(), String> {
        if self.workers == 0 {
            return Err("HOOKRELAY_WORKERS must be at least 1".into());
        }
        if self.request_timeout_secs == 0 {
            return Err("HOOKRELAY_REQUEST_TIMEOUT_SECS must be at least 1".into());
        }
        if self.claim_batch == 0 {
            return Err("HOOKRELAY_CLAIM_BATCH must be at least 1".into());
        }
        if !matches!(
            self.sqlite_synchronous.to_ascii_uppercase().as_str(),
            "NORMAL" | "FULL" | "EXTRA"
        ) {
            return Err("HOOKRELAY_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA".into());
        }
        if !matches!(self.role.as_str(), "all" | "api") {
            return Err("HOOKRELAY_ROLE must be all or api".into());
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err("HOOKRELAY_LOG_FORMAT must be text or json".into());
        }
        if !(1..=1000).contains(&self.max_in_flight_per_webhook) {
            return Err("HOOKRELAY_MAX_IN_FLIGHT_PER_WEBHOOK must be 1 to 1000".into());
        }
        self.disable_after()?;
        self.integration_retry_delays()?;
        self.allowed_networks()?;
        self.retry_delays().map(|_| ())
    }

    /// How long a webhook may fail before it is disabled.
    pub fn disable_after(&self) -> Result<Duration, String> {
        humantime::parse_duration(self.disable_after.trim()).map_err(|e| {
            format!(
                "HOOKRELAY_DISABLE_AFTER: '{}' is not a duration ({e})",
                self.disable_after
            )
        })
    }

    /// Parsed `HOOKRELAY_ALLOWED_CIDRS`.
    pub fn allowed_networks(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.allowed_cidrs
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|e| format!("HOOKRELAY_ALLOWED_CIDRS: '{s}' is not a CIDR ({e})"))
            })
            .collect()
    }

    /// The retry schedule as durations.
    pub fn retry_delays(&self) -> Result<Vec<Duration>, String> {
        delays(&self.retry_schedule, "HOOKRELAY_RETRY_SCHEDULE")
    }

    /// The integration retry schedule as durations.
    pub fn integration_retry_delays(&self) -> Result<Vec<Duration>, String> {
        delays(
            &self.integration_retry_schedule,
            "HOOKRELAY_INTEGRATION_RETRY_SCHEDULE",
        )
    }

    /// The public base URL.
    pub fn public_base(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }

    /// Per-attempt timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// This process's claim name.
    pub fn instance_name(&self) -> String {
        self.instance_id.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
            format!("{host}-{}", std::process::id())
        })
    }
}

/// A comma-separated list of durations (`5s,5m,1h`); errors name `var`.
fn delays(list: &str, var: &str) -> Result<Vec<Duration>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            humantime::parse_duration(s)
                .map_err(|e| format!("{var}: '{s}' is not a duration ({e})"))
        })
        .collect()
}
