//! The benchmark's flags.

use std::path::PathBuf;

use clap::Parser;

/// Benchmark flags.
#[derive(Parser, Clone, Debug)]
#[command(name = "bench", about = "hookrelay end-to-end delivery benchmark")]
pub struct Args {
    /// Deliveries in the end-to-end run (events × webhooks).
    #[arg(long, default_value_t = 20_000)]
    pub deliveries: usize,
    /// Webhooks, all subscribed to every event.
    #[arg(long, default_value_t = 10)]
    pub webhooks: usize,
    /// Requests in flight: the gateway's HOOKRELAY_WORKERS and the ceiling client's concurrency.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// A fixed per-webhook in-flight limit (`concurrency: fixed`,
    /// `max_in_flight`) for the end-to-end, steady and backlog runs; without
    /// it the webhooks run at the gateway's defaults (adaptive).
    #[arg(long)]
    pub in_flight: Option<usize>,
    /// Only the runs against receivers with latency.
    #[arg(long)]
    pub latency_only: bool,
    /// Skip the runs against receivers with latency.
    #[arg(long)]
    pub skip_latency: bool,
    /// Webhook format: form or json.
    #[arg(long, default_value = "form")]
    pub format: String,
    /// Approximate event size in bytes (the entity is padded to reach it).
    #[arg(long, default_value_t = 400)]
    pub body_size: usize,
    /// Events per publish request in the end-to-end run.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Single-event publishes (no batching) and their concurrency.
    #[arg(long, default_value_t = 10_000)]
    pub single_events: usize,
    #[arg(long, default_value_t = 16)]
    pub publishers: usize,
    /// Steady run: events per second and seconds.
    #[arg(long, default_value_t = 1_000)]
    pub steady_rate: usize,
    #[arg(long, default_value_t = 20)]
    pub steady_secs: u64,
    /// Deliveries queued before the backlog drain (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub backlog: usize,
    /// PostgreSQL server for the PostgreSQL runs (a database is created per run).
    #[arg(long, env = "BENCH_PG_URL")]
    pub pg_url: Option<String>,
    /// Shards per distributed table when `--pg-url` is a Citus coordinator
    /// (the database of each run is then created on the whole cluster).
    #[arg(long, default_value_t = 32)]
    pub citus_shards: u32,
    /// Gateway process counts of the PostgreSQL runs, one fresh database
    /// each: e.g. `1,2,3`.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub instances: Vec<usize>,
    /// A content filter (JSONPath) on every web hook, to measure what
    /// filtering costs: e.g. `$[?@.profile.source.key == 'd900ec70c67d43c71027f9bc63ec3b5b3e16c1d8']`,
    /// which every benchmark event matches.
    #[arg(long)]
    pub filter: Option<String>,
    /// Tiny numbers, to check the harness works (used by the test suite).
    #[arg(long)]
    pub smoke: bool,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/bench/report.json")]
    pub out: PathBuf,
}
