//! The `hookrelay` binary: `serve` (default) and `migrate`.

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
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,actix_server=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookrelay: {e}");
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
