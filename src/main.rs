//! The `hookrelay` binary: `serve` (default), `migrate`, `token`, `verify`
//! and `keygen`.

use clap::{Parser, Subcommand};
use hookrelay::config::Config;

/// See Cargo.toml: jemalloc over glibc malloc for the many small,
/// cross-thread allocations of request handling.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "hookrelay",
    version,
    about = "Outbound webhook delivery gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the delivery workers (the default).
    Serve(Config),
    /// Apply database migrations and exit.
    Migrate(Config),
    /// Manage API tokens directly in the database (no server needed).
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[command(flatten)]
        config: Config,
    },
    /// Check a received webhook's signature; the body is read from stdin.
    /// Exits 0 when it verifies, 1 (saying why) when it does not.
    Verify(VerifyArgs),
    /// Print a new random master key (for HOOKRELAY_MASTER_KEY).
    Keygen,
    /// Tools for manifest authors: validate, or run once without storing.
    Manifest {
        #[command(subcommand)]
        action: ManifestAction,
    },
}

#[derive(Subcommand)]
enum ManifestAction {
    /// Check a manifest; lists every problem with its JSON path.
    Validate {
        file: std::path::PathBuf,
        /// webhook or sync_users (default: guessed from the keys).
        #[arg(long)]
        kind: Option<String>,
    },
    /// Run a manifest once and print its step log (nothing is stored).
    Run {
        file: std::path::PathBuf,
        #[arg(long)]
        kind: Option<String>,
        /// An initial_data_form value, `ID=value` (repeat).
        #[arg(long = "config", value_name = "K=V")]
        config: Vec<String>,
        /// A form value, `ID=value` (repeat).
        #[arg(long = "form", value_name = "K=V")]
        form: Vec<String>,
        /// JSON file with the user: email, first_name, … and extra_fields.
        #[arg(long)]
        user: Option<std::path::PathBuf>,
        /// Allow requests to loopback and private addresses.
        #[arg(long, default_value_t = false)]
        allow_private_targets: bool,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print it (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// Repeat or comma-separate: events:write, webhooks:read, … admin.
        #[arg(long = "scope", required = true, value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The webhook's signing secret (`whsec_…`).
    #[arg(long, env = "HOOKRELAY_VERIFY_SECRET", hide_env_values = true)]
    secret: String,
    /// `HTTP-HRFLOW-SIGNATURE`, or `webhook-signature` for `--scheme standard`.
    #[arg(long)]
    signature: String,
    #[arg(long, value_parser = ["hrflow", "standard"], default_value = "hrflow")]
    scheme: String,
    /// HrFlow only: how the body was sent (`auto` looks at it).
    #[arg(long, value_parser = ["form", "json", "auto"], default_value = "auto")]
    format: String,
    /// Standard only: the `webhook-id` header.
    #[arg(long)]
    webhook_id: Option<String>,
    /// Standard only: the `webhook-timestamp` header.
    #[arg(long)]
    timestamp: Option<String>,
    /// Standard only: how far the timestamp may be from now.
    #[arg(long, default_value = "5m")]
    tolerance: humantime::Duration,
}

fn init_logging(format: &hookrelay::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,actix_server=warn".into());
    // A line when each span closes: per request at info (the access log,
    // with its duration), per delivery at debug.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if *format == hookrelay::config::LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Config::from_env()));
    let result = match command {
        Command::Serve(config) => {
            init_logging(&config.log_format);
            serve(config)
        }
        Command::Migrate(config) => {
            init_logging(&config.log_format);
            hookrelay::db::Db::connect(&config.database_url, 1, config.sqlite_synchronous.pragma())
                .map(|_| {
                    eprintln!("hookrelay: migrations applied");
                })
        }
        Command::Token { action, config } => token(action, &config),
        Command::Verify(args) => return verify(args),
        Command::Keygen => {
            println!("{}", hookrelay::vault::generate_key());
            Ok(())
        }
        Command::Manifest { action } => return manifest_tool::main(action),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookrelay: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn token(action: TokenAction, config: &Config) -> Result<(), String> {
    use hookrelay::db::tokens::ApiToken;
    let db =
        hookrelay::db::Db::connect(&config.database_url, 1, config.sqlite_synchronous.pragma())?;
    let fail = |e: hookrelay::error::ApiError| e.to_string();
    match action {
        TokenAction::Create { name, scopes } => {
            let (row, token) = db
                .write_blocking(|c| hookrelay::tokens::create(c, &name, &scopes))
                .map_err(fail)?;
            eprintln!(
                "created token {} ({}) with scopes: {}. It is shown once:",
                row.id, row.name, row.scopes
            );
            println!("{token}");
        }
        TokenAction::List => {
            let rows = db
                .write_blocking(|c| Ok(ApiToken::list(c, None, i64::MAX)?))
                .map_err(fail)?;
            println!("{:<34} {:<24} {:<20} SCOPES", "ID", "NAME", "LAST USED");
            for t in rows {
                let used = t
                    .last_used_at
                    .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "never".into());
                println!("{:<34} {:<24} {:<20} {}", t.id, t.name, used, t.scopes);
            }
        }
        TokenAction::Revoke { id } => {
            let n = db
                .write_blocking(|c| Ok(ApiToken::delete(c, &id)?))
                .map_err(fail)?;
            if n == 0 {
                return Err(format!(
                    "no token with id '{id}' (`hookrelay token list` shows them)"
                ));
            }
            eprintln!("revoked token {id}");
        }
    }
    Ok(())
}

fn verify(args: VerifyArgs) -> std::process::ExitCode {
    use hookrelay::verify::{self, BodyFormat, StandardHeaders};
    use std::io::Read;
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut body) {
        eprintln!("hookrelay verify: cannot read the body from stdin: {e}");
        return std::process::ExitCode::from(2);
    }
    let result = if args.scheme == "standard" {
        let (Some(id), Some(timestamp)) = (args.webhook_id.as_deref(), args.timestamp.as_deref())
        else {
            eprintln!("hookrelay verify: --scheme standard needs --webhook-id and --timestamp (the webhook-id and webhook-timestamp headers)");
            return std::process::ExitCode::from(2);
        };
        let headers = StandardHeaders {
            id,
            timestamp,
            signature: &args.signature,
        };
        let now = chrono::Utc::now().timestamp();
        verify::standard(&args.secret, &body, &headers, *args.tolerance, now)
    } else {
        let format = match args.format.as_str() {
            "form" => BodyFormat::Form,
            "json" => BodyFormat::Json,
            _ => BodyFormat::Auto,
        };
        verify::hrflow(&args.secret, &body, &args.signature, format)
    };
    match result {
        Ok(()) => {
            println!(
                "valid: the {} signature matches ({} body bytes)",
                args.scheme,
                body.len()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let running = hookrelay::app::start(config).await?;
        wait_for_signal().await;
        tracing::info!("shutting down: finishing deliveries in flight");
        running.stop().await;
        tracing::info!("stopped");
        Ok(())
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

mod manifest_tool {
    //! `hookrelay manifest validate|run`.

    use std::process::ExitCode;

    use hookrelay::manifest::run::{Outcome, RunInput, Runner, Services, UserContext};
    use hookrelay::manifest::{validate, Kind};
    use serde_json::{Map, Value};

    use super::ManifestAction;

    pub fn main(action: ManifestAction) -> ExitCode {
        match action {
            ManifestAction::Validate { file, kind } => match load(&file, kind.as_deref()) {
                Ok((manifest, kind)) => {
                    let report = validate::validate(&manifest, kind);
                    for w in &report.warnings {
                        println!("warning: {w}");
                    }
                    for e in &report.errors {
                        println!("error: {e}");
                    }
                    if report.is_ok() {
                        println!("{}: a valid {} manifest", file.display(), kind.as_str());
                        ExitCode::SUCCESS
                    } else {
                        println!("{}: {} problem(s)", file.display(), report.errors.len());
                        ExitCode::FAILURE
                    }
                }
                Err(e) => fail(&e),
            },
            ManifestAction::Run {
                file,
                kind,
                config,
                form,
                user,
                allow_private_targets,
            } => {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                match rt.block_on(run(file, kind, config, form, user, allow_private_targets)) {
                    Ok(true) => ExitCode::SUCCESS,
                    Ok(false) => ExitCode::FAILURE,
                    Err(e) => fail(&e),
                }
            }
        }
    }

    fn fail(e: &str) -> ExitCode {
        eprintln!("hookrelay manifest: {e}");
        ExitCode::from(2)
    }

    fn load(file: &std::path::Path, kind: Option<&str>) -> Result<(Value, Kind), String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let manifest: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
        let kind = match kind {
            Some(k) => Kind::parse(k).ok_or("--kind is webhook or sync_users")?,
            None => Kind::guess(&manifest),
        };
        Ok((manifest, kind))
    }

    fn pairs(list: &[String], flag: &str) -> Result<Map<String, Value>, String> {
        list.iter()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .ok_or_else(|| format!("--{flag} takes ID=value, not '{kv}'"))
            })
            .collect()
    }

    async fn run(
        file: std::path::PathBuf,
        kind: Option<String>,
        config: Vec<String>,
        form: Vec<String>,
        user: Option<std::path::PathBuf>,
        allow_private: bool,
    ) -> Result<bool, String> {
        let (manifest, kind) = load(&file, kind.as_deref())?;
        let report = validate::validate(&manifest, kind);
        if !report.is_ok() {
            for e in &report.errors {
                println!("error: {e}");
            }
            return Ok(false);
        }
        let user = match user {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let mut fields: Map<String, Value> = serde_json::from_str(&text)
                    .map_err(|e| format!("{} is not a JSON object: {e}", path.display()))?;
                let extra = match fields.remove("extra_fields") {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                };
                let phone = fields
                    .get("phone")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                Some(UserContext {
                    builtins: fields,
                    extra_fields: extra,
                    phone,
                })
            }
            None => None,
        };
        let policy = hookrelay::delivery::guard::TargetPolicy {
            allow_private,
            allowed: Vec::new(),
        };
        let clients = hookrelay::delivery::send::HttpClients::new(
            std::time::Duration::from_secs(30),
            hookrelay::delivery::guard::TargetPolicy {
                allow_private,
                allowed: Vec::new(),
            },
        )?;
        let env = |k: &str| std::env::var(k).ok();
        let notifier = hookrelay::manifest::notify::Notifier::new(
            env("HOOKRELAY_SMTP_URL").as_deref(),
            &env("HOOKRELAY_SMTP_FROM").unwrap_or_else(|| "hookrelay <hookrelay@localhost>".into()),
            env("HOOKRELAY_SMS_URL").as_deref(),
            env("HOOKRELAY_SMS_TOKEN").as_deref(),
            reqwest::Client::new(),
        )?;
        let services = Services {
            http: clients.integrations().clone(),
            policy,
            notifier,
            renderer: hookrelay::manifest::render::Renderer::new(),
        };
        let form = pairs(&form, "form")?;
        hookrelay::manifest::form::check(&manifest, &form)
            .map_err(|p| format!("--form {}: {}", p.key, p.message))?;
        let input = RunInput {
            manifest: manifest.clone(),
            user,
            config: pairs(&config, "config")?,
            oauth: None,
            form,
            redirect_url: "http://127.0.0.1:8080/oauth/callback".into(),
        };
        let runner = Runner::new(&services, input);
        let (result, records) = match kind {
            Kind::Webhook => (runner.execute().await, None),
            Kind::SyncUsers => hookrelay::manifest::sync::fetch(runner, &manifest).await,
        };
        for (i, s) in result.steps.iter().enumerate() {
            let status = s
                .status
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into());
            println!(
                "#{i} {}: {} {} -> {status} ({} ms)",
                s.label, s.method, s.url, s.duration_ms
            );
            for (k, v) in &s.request_headers {
                println!("    > {k}: {}", v.as_str().unwrap_or_default());
            }
            if !s.request_body.is_empty() {
                println!("    > {}", s.request_body);
            }
            if !s.response_body.is_empty() {
                let body: String = s.response_body.chars().take(2000).collect();
                println!("    < {body}");
            }
            if let Some(e) = &s.error {
                println!("    ! {e}");
            }
        }
        if !result.stored.is_empty() {
            println!("stored: {}", Value::Object(result.stored.clone()));
        }
        if let Some(records) = records {
            for r in records {
                println!("record: {}", Value::Object(r));
            }
        }
        match result.outcome {
            Outcome::Succeeded => {
                println!("succeeded");
                Ok(true)
            }
            Outcome::Blocked { reason } => {
                println!("blocked: {reason}");
                Ok(false)
            }
            Outcome::Failed { error, .. } => {
                println!("failed: {error}");
                Ok(false)
            }
        }
    }
}
