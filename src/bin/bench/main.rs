//! hookrelay's benchmark harness (`cargo build --release && ./target/release/bench`;
//! it starts the `hookrelay` binary built beside it).
//!
//! One run measures, on this machine: the raw HTTP ceiling (a plain reqwest
//! client against the same loopback receiver), hookrelay end to end (publish
//! through the API → signed delivery → history row), single-event publish
//! throughput, a steady-rate run, a backlog drain, and optionally the same
//! on PostgreSQL with one, two (`--instances`) … gateway processes, each
//! run with its CPU split (gateways, PostgreSQL, the bench, the machine).
//! It prints a table and writes `target/bench/report.json`. Timings are
//! reported, never asserted.

mod args;
mod backlog;
mod cpu;
mod gateway;
mod gateway_runs;
mod harness;
mod latency;
mod postgres;
mod postgres_runs;
mod receiver;
mod runs;
mod stats;
mod steady;

use args::Args;
use clap::{CommandFactory, Parser};

fn main() {
    let mut args = Args::parse();
    if args.instances.contains(&0) {
        Args::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                "--instances: process counts start at 1",
            )
            .exit();
    }
    if args.smoke {
        args.deliveries = 200;
        args.webhooks = 2;
        args.single_events = 100;
        args.steady_rate = 50;
        args.steady_secs = 1;
        args.backlog = args.backlog.min(400);
        args.batch = 50;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(runs::all(args.clone()));
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("\nreport written to {}", args.out.display());
}
