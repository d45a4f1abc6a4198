//! The `hookrelay` command line: `serve` (default), `migrate`, `token`,
//! `backup`, `verify`, `keygen` and `manifest`. `main.rs` only installs the
//! allocator and calls [`run`].
//!
//! Each subcommand takes only the options it uses: the maintenance commands
//! (`migrate`, `token`, `backup`) take the database ([`DbArgs`]), not the
//! forty server options, so their `--help` fits them.

mod backup;
mod logging;
mod manifest;
mod tokens;
mod verify;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Citus, Config, LogFormat, Synchronous, DEFAULT_DATABASE_URL};

/// The command line.
#[derive(Parser)]
#[command(
    name = "hookrelay",
    version,
    about = "Outbound webhook delivery gateway",
    // `hookrelay --bind …` is `hookrelay serve --bind …`; a subcommand
    // after server options is refused rather than silently ignoring them.
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a subcommand, hookrelay serves: these are `serve`'s options.
    #[command(
        flatten,
        next_help_heading = "Server options (hookrelay alone is hookrelay serve)"
    )]
    serve: Config,
}

/// What to do.
#[derive(Subcommand)]
pub enum Command {
    /// Run the API and the delivery workers (the default).
    Serve(Box<Config>),
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
        /// `text` or `json` logs.
        #[arg(long, env = "HOOKRELAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Manage API tokens directly in the database (no server needed).
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Copy a SQLite database into DEST, consistently, while the gateway
    /// runs (SQLite's VACUUM INTO); the master key file is copied beside it.
    Backup(BackupArgs),
    /// Check a received webhook's signature; the body is read from stdin.
    /// Exits 0 when it verifies, 1 (saying why) when it does not.
    Verify(verify::VerifyArgs),
    /// Print a new random master key (for HOOKRELAY_MASTER_KEY).
    Keygen,
    /// Tools for manifest authors: validate, or run once without storing.
    Manifest {
        #[command(subcommand)]
        action: ManifestAction,
    },
}

/// `hookrelay manifest …`.
#[derive(Subcommand)]
pub enum ManifestAction {
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

/// `hookrelay token …`.
#[derive(Subcommand)]
pub enum TokenAction {
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

/// The database a maintenance command works on: the server's own
/// `DATABASE_URL` (and `HOOKRELAY_SQLITE_SYNCHRONOUS`, read but not listed).
#[derive(Clone, Args)]
pub struct DbArgs {
    /// `sqlite://path` (default, embedded) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// As for `serve`: hidden here, since it matters to the server's writes.
    #[arg(long, env = "HOOKRELAY_SQLITE_SYNCHRONOUS", value_enum, ignore_case = true, default_value_t = Synchronous::Normal, hide = true)]
    pub sqlite_synchronous: Synchronous,
    /// As for `serve`: whether the tables are laid out for Citus.
    #[arg(long, env = "HOOKRELAY_CITUS", value_enum, ignore_case = true, default_value_t = Citus::Auto, hide = true)]
    pub citus: Citus,
}

impl DbArgs {
    /// Opens (and migrates) the database with a single connection.
    fn connect(&self) -> Result<crate::db::Db, String> {
        crate::db::Db::connect_with(
            &self.database_url,
            1,
            self.sqlite_synchronous.pragma(),
            self.citus.mode(),
        )
    }
}

/// `hookrelay backup` arguments.
#[derive(Args)]
pub struct BackupArgs {
    /// The backup file to write; it must not exist yet. The master key file
    /// (`<database>.key`), when there is one, is copied to `DEST.key`.
    pub dest: std::path::PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(cli.serve)));
    let result = match command {
        Command::Serve(config) => serve(*config),
        Command::Migrate { db, log_format } => {
            logging::init(&log_format, None);
            db.connect().map(|_| {
                eprintln!("hookrelay: migrations applied");
            })
        }
        Command::Token { action, db } => tokens::main(action, &db),
        Command::Backup(args) => backup::main(&args),
        Command::Verify(args) => return verify::main(args),
        Command::Keygen => {
            println!("{}", crate::vault::generate_key());
            Ok(())
        }
        Command::Manifest { action } => return manifest::main(action),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookrelay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> Result<(), String> {
    let telemetry = crate::telemetry::Telemetry::from_env()?;
    logging::init(&config.log_format, telemetry.as_ref());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let served = rt.block_on(async move {
        let running = crate::app::start(config).await?;
        wait_for_signal().await;
        tracing::info!("shutting down: finishing deliveries in flight");
        running.stop().await;
        tracing::info!("stopped");
        Ok(())
    });
    // Outside the runtime: flushing blocks until the exporter is done.
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    served
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
