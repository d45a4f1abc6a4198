//! Runtime configuration: environment variables, mirrored by `serve` flags
//! (all but `HOOKRELAY_BOOTSTRAP_TOKEN`, which would show in process lists).
//!
//! Every variable is listed in the configuration table of
//! docs/operations.md; keep the two in step.

use std::time::Duration;

use clap::{ArgAction, Args};

mod debug;
mod limits;
mod runs;
mod values;

pub use limits::{Limit, OrgLimits, MAX_BATCH};
pub use runs::RunLimits;

use values::{parse_cidrs, parse_duration, parse_frame_ancestors, parse_schedule};
pub use values::{Cidrs, Citus, FrameAncestors, LogFormat, Role, Schedule, Synchronous};

/// `DATABASE_URL` when unset: the SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://hookrelay.db";

/// Shortest accepted `HOOKRELAY_BOOTSTRAP_TOKEN`, in characters.
pub const MIN_BOOTSTRAP_TOKEN_CHARS: usize = 32;

/// How hookrelay runs. Built by clap from flags and `HOOKRELAY_*` variables.
/// `Debug` is written by hand below: it redacts every secret.
#[derive(Clone, Args)]
pub struct Config {
    /// Address the HTTP API listens on.
    #[arg(long, env = "HOOKRELAY_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// `sqlite://path` (default, embedded) or `postgres://…` (scale-out).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Operator token inserted at start-up while the database holds no token
    /// (scripts, tests). Never logged. Read from `HOOKRELAY_BOOTSTRAP_TOKEN`
    /// only: a flag would show the token in every process list.
    #[arg(skip = bootstrap_from_env())]
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
    #[arg(long, env = "HOOKRELAY_ALLOWED_CIDRS", default_value = "", value_parser = parse_cidrs)]
    pub allowed_cidrs: Cidrs,

    /// Refuse webhook URLs that are not https.
    #[arg(long, env = "HOOKRELAY_REQUIRE_HTTPS", default_value_t = false, action = ArgAction::Set)]
    pub require_https: bool,

    /// Database connections per process (SQLite: readers; writes use one more).
    #[arg(long, env = "HOOKRELAY_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,

    /// SQLite `synchronous` pragma: NORMAL survives a process crash, FULL also power loss.
    #[arg(long, env = "HOOKRELAY_SQLITE_SYNCHRONOUS", value_enum, ignore_case = true, default_value_t = Synchronous::Normal)]
    pub sqlite_synchronous: Synchronous,

    /// PostgreSQL: distribute the tables on Citus (auto: when the extension is installed).
    #[arg(long, env = "HOOKRELAY_CITUS", value_enum, ignore_case = true, default_value_t = Citus::Auto)]
    pub citus: Citus,

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
        default_value = "5s,5m,30m,2h,5h,10h,10h",
        value_parser = parse_schedule
    )]
    pub retry_schedule: Schedule,

    /// A webhook failing without a success for this long is disabled.
    #[arg(long, env = "HOOKRELAY_DISABLE_AFTER", default_value = "5d", value_parser = parse_duration)]
    pub disable_after: Duration,

    /// `max_in_flight` of webhooks that do not set their own: the ceiling of
    /// their adaptive limit (or, in `fixed` mode, the limit), per process.
    #[arg(
        long,
        env = "HOOKRELAY_MAX_IN_FLIGHT_PER_WEBHOOK",
        default_value_t = 256
    )]
    pub max_in_flight_per_webhook: i32,

    /// Name of this process in delivery claims (default: host-pid).
    #[arg(long, env = "HOOKRELAY_INSTANCE_ID")]
    pub instance_id: Option<String>,

    /// `all` (API and delivery) or `api` (API only; other processes deliver).
    #[arg(long, env = "HOOKRELAY_ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,

    /// Base URL this gateway is reached at from outside (OAuth `redirect_url`
    /// is `<this>/oauth/callback`). Default: `http://<HOOKRELAY_BIND>`.
    #[arg(long, env = "HOOKRELAY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Origins allowed to embed the customer portal in a frame (its CSP
    /// `frame-ancestors`), space- or comma-separated, e.g.
    /// `https://app.example.com`. Unset: the portal cannot be framed. The
    /// operator console can never be.
    #[arg(
        long,
        env = "HOOKRELAY_PORTAL_FRAME_ANCESTORS",
        default_value = "",
        value_parser = parse_frame_ancestors
    )]
    pub portal_frame_ancestors: FrameAncestors,

    /// Delays before re-running a failed integration run (one retry an hour later by default).
    #[arg(
        long,
        env = "HOOKRELAY_INTEGRATION_RETRY_SCHEDULE",
        default_value = "1h",
        value_parser = parse_schedule
    )]
    pub integration_retry_schedule: Schedule,

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
    #[arg(long, env = "HOOKRELAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Seconds in-flight deliveries and integration runs get to finish on
    /// SIGTERM/SIGINT; runs still going are then handed back to the queue.
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

    /// Per-organization limits: web hooks, tokens, publish rate.
    #[command(flatten)]
    pub limits: OrgLimits,

    /// Run slots, their share per organization, a run's memory bounds.
    #[command(flatten)]
    pub runs: RunLimits,

    /// Days of delivery history kept; older attempts, succeeded deliveries
    /// and events left without deliveries are deleted (`0`: keep everything).
    #[arg(long, env = "HOOKRELAY_RETENTION_DAYS", default_value_t = 30)]
    pub retention_days: u32,
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
        self.check_bootstrap_token()?;
        if self.workers == 0 {
            return Err("HOOKRELAY_WORKERS must be at least 1".into());
        }
        if self.request_timeout_secs == 0 {
            return Err("HOOKRELAY_REQUEST_TIMEOUT_SECS must be at least 1".into());
        }
        if self.claim_batch == 0 {
            return Err("HOOKRELAY_CLAIM_BATCH must be at least 1".into());
        }
        if !(1..=1000).contains(&self.max_in_flight_per_webhook) {
            return Err("HOOKRELAY_MAX_IN_FLIGHT_PER_WEBHOOK must be 1 to 1000".into());
        }
        self.limits.validate()?;
        self.runs.validate()
    }

    /// A bootstrap token is an `admin` credential: refuse guessable ones.
    fn check_bootstrap_token(&self) -> Result<(), String> {
        match &self.bootstrap_token {
            Some(t) if t.chars().count() < MIN_BOOTSTRAP_TOKEN_CHARS => Err(format!(
                "HOOKRELAY_BOOTSTRAP_TOKEN must be at least {MIN_BOOTSTRAP_TOKEN_CHARS} characters (it has {}); `hookrelay token create` or `openssl rand -base64 32` make good ones",
                t.chars().count()
            )),
            _ => Ok(()),
        }
    }

    /// Whether this process delivers and runs integrations (`all`).
    pub fn delivers(&self) -> bool {
        self.role == Role::All
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

/// `HOOKRELAY_BOOTSTRAP_TOKEN`, unset when empty.
fn bootstrap_from_env() -> Option<String> {
    std::env::var("HOOKRELAY_BOOTSTRAP_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        config: Config,
    }

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        <Wrapper as clap::Parser>::try_parse_from(args).map(|w| w.config)
    }

    #[test]
    fn bootstrap_token_is_not_a_flag() {
        let err = parse(&["hookrelay", "--bootstrap-token", "x".repeat(40).as_str()])
            .expect_err("--bootstrap-token is refused");
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn short_bootstrap_tokens_are_refused_at_start() {
        let mut c = parse(&["hookrelay"]).unwrap();
        c.bootstrap_token = Some("hr_short".into());
        let err = c.validate().unwrap_err();
        assert!(
            err.contains("HOOKRELAY_BOOTSTRAP_TOKEN") && err.contains("32"),
            "{err}"
        );
        c.bootstrap_token = Some("x".repeat(MIN_BOOTSTRAP_TOKEN_CHARS));
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn values_are_typed_once_at_load() {
        let c = parse(&[
            "hookrelay",
            "--role",
            "api",
            "--sqlite-synchronous",
            "full",
            "--retry-schedule",
            "5s, 1m,2h",
            "--allowed-cidrs",
            "10.1.0.0/16,fd00::/8",
            "--disable-after",
            "1h 30m",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(c.role, Role::Api);
        assert!(!c.delivers());
        assert_eq!(c.sqlite_synchronous.pragma(), "FULL");
        assert_eq!(
            c.retry_schedule.0,
            [5, 60, 7200].map(Duration::from_secs).to_vec()
        );
        assert_eq!(c.allowed_cidrs.0.len(), 2);
        assert_eq!(c.disable_after, Duration::from_secs(5400));
        assert_eq!(c.log_format, LogFormat::Json);
        for bad in [
            ["--role", "worker"],
            ["--sqlite-synchronous", "OFF"],
            ["--retry-schedule", "5s,soon"],
            ["--allowed-cidrs", "10.1.0.0/33"],
            ["--disable-after", "forever"],
        ] {
            let err = parse(&["hookrelay", bad[0], bad[1]]).err();
            assert!(err.is_some(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let mut c = parse(&["hookrelay"]).unwrap();
        c.bootstrap_token = Some("SECRET-bootstrap-0123456789abcdef".into());
        c.master_key = Some("SECRET-master".into());
        c.previous_master_keys = "SECRET-old1,SECRET-old2".into();
        c.smtp_url = Some("smtps://mailer:SECRET-smtp@smtp.example.com".into());
        c.sms_token = Some("SECRET-sms".into());
        c.metrics_token = Some("SECRET-metrics".into());
        c.database_url = "postgres://app:SECRET-db@db.internal/hookrelay".into();
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        // Still useful: the non-secret parts are there.
        assert!(
            shown.contains("smtp.example.com") && shown.contains("db.internal"),
            "{shown}"
        );
        assert!(
            shown.contains("bootstrap_token: Some(<redacted>)"),
            "{shown}"
        );
    }
}
