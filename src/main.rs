//! The `hookrelay` binary: `serve` (default), `migrate`, `token`, `verify`
//! and `keygen`.

use clap::{Parser, Subcommand};
use hookrelay::config::Config;

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

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,actix_server=warn".into());
    // A line when each span closes: per request at info (the access log,
    // with its duration), per delivery at debug.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == "json" {
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
            hookrelay::db::Db::connect(&config.database_url, 1, &config.sqlite_synchronous).map(
                |_| {
                    eprintln!("hookrelay: migrations applied");
                },
            )
        }
        Command::Token { action, config } => token(action, &config),
        Command::Verify(args) => return verify(args),
        Command::Keygen => {
            println!("{}", hookrelay::vault::generate_key());
            Ok(())
        }
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
    let db = hookrelay::db::Db::connect(&config.database_url, 1, &config.sqlite_synchronous)?;
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
