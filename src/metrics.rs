//! Prometheus metrics (`GET /metrics`), per process.
//!
//! Counters and the latency histogram are updated where things happen;
//! queue depth and the oldest due delivery's age are read from the database
//! at scrape time, so every process of a PostgreSQL deployment reports the
//! shared queue.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::db::deliveries::{DeliveryStatus, QueueStats};
use crate::db::history::Trigger;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventTypeLabel {
    event_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    /// `succeeded`, `failed` (will be retried) or `dead` (given up).
    outcome: String,
    /// `auto`, `resend` or `test`.
    trigger: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    /// `execute`, `exists`, `revoke`, `sync`.
    kind: String,
    /// `succeeded`, `failed`, `blocked`, `retry_scheduled`.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabel {
    /// `history`, `deliveries` or `events`.
    table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabel {
    /// `slow_start`, `steady` or `paused`.
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitBucket {
    le: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabel {
    webhook_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    /// `up` or `down`.
    direction: String,
    /// `slow_start`, `increase`, `back_pressure`, `rtt_rising`.
    reason: String,
}

/// Upper bounds of the lane-limit distribution.
const LIMIT_BUCKETS: [usize; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1000];

/// Lanes shown one by one (the busiest); the rest only in the distribution,
/// so thousands of webhooks do not make thousands of series.
pub const BUSIEST_LANES: usize = 10;

/// Attempt latency buckets, in seconds: 5 ms to 30 s.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// One webhook lane as `/metrics` shows it (the engine builds these, so
/// metrics need not know the engine).
#[derive(Debug, Clone)]
pub struct LaneSample {
    pub webhook_id: String,
    /// `slow_start`, `steady` or `paused`.
    pub phase: &'static str,
    pub limit: usize,
    pub in_flight: usize,
    pub held: usize,
    pub rtt: Option<Duration>,
}

/// This process's metrics.
pub struct Metrics {
    registry: Registry,
    events_accepted: Family<EventTypeLabel, Counter>,
    events_filtered: Family<EventTypeLabel, Counter>,
    attempts: Family<AttemptLabels, Counter>,
    attempt_seconds: Histogram,
    queue_depth: Family<StateLabel, Gauge>,
    oldest_due_seconds: Gauge<f64, AtomicU64>,
    workers: Gauge,
    workers_busy: Gauge,
    worker_busy_seconds: Counter<f64, AtomicU64>,
    integration_runs: Family<RunLabels, Counter>,
    lanes: Family<PhaseLabel, Gauge>,
    lanes_by_limit: Family<LimitBucket, Gauge>,
    lane_limit: Family<WebhookLabel, Gauge>,
    lane_in_flight: Family<WebhookLabel, Gauge>,
    lane_rtt_seconds: Family<WebhookLabel, Gauge<f64, AtomicU64>>,
    lane_changes: Family<ChangeLabels, Counter>,
    retention_deleted: Family<TableLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("hookrelay");
        let m = Metrics {
            events_accepted: Family::default(),
            events_filtered: Family::default(),
            attempts: Family::default(),
            attempt_seconds: Histogram::new(LATENCY_BUCKETS),
            queue_depth: Family::default(),
            oldest_due_seconds: Gauge::default(),
            workers: Gauge::default(),
            workers_busy: Gauge::default(),
            worker_busy_seconds: Counter::default(),
            integration_runs: Family::default(),
            lanes: Family::default(),
            lanes_by_limit: Family::default(),
            lane_limit: Family::default(),
            lane_in_flight: Family::default(),
            lane_rtt_seconds: Family::default(),
            lane_changes: Family::default(),
            retention_deleted: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "events_accepted",
            "Events accepted through the API, by type",
            m.events_accepted.clone(),
        );
        registry.register(
            "events_filtered",
            "Deliveries not made because a web hook's content filter passed over the event, by type",
            m.events_filtered.clone(),
        );
        registry.register(
            "delivery_attempts",
            "Delivery attempts, by outcome and trigger",
            m.attempts.clone(),
        );
        registry.register(
            "delivery_attempt_duration_seconds",
            "Time from sending a delivery request to its full response",
            m.attempt_seconds.clone(),
        );
        registry.register(
            "queue_depth",
            "Deliveries waiting (pending), waiting for a retry (retrying) or in flight (delivering), across all processes",
            m.queue_depth.clone(),
        );
        registry.register(
            "oldest_due_delivery_age_seconds",
            "How long the longest-waiting due delivery has been due (0 when none is)",
            m.oldest_due_seconds.clone(),
        );
        registry.register(
            "workers",
            "Delivery worker slots in this process",
            m.workers.clone(),
        );
        registry.register(
            "workers_busy",
            "Delivery worker slots sending right now",
            m.workers_busy.clone(),
        );
        registry.register(
            "worker_busy_seconds",
            "Total time worker slots spent sending; rate() over workers is utilisation",
            m.worker_busy_seconds.clone(),
        );
        registry.register(
            "retention_deleted_rows",
            "Rows the retention job of this process deleted, by table",
            m.retention_deleted.clone(),
        );
        registry.register(
            "integration_runs",
            "Integration runs finished by this process, by kind and outcome",
            m.integration_runs.clone(),
        );
        registry.register(
            "lanes",
            "Webhook lanes in this process, by phase (slow_start, steady, paused by Retry-After)",
            m.lanes.clone(),
        );
        registry.register(
            "lanes_by_limit",
            "Lanes whose current concurrency limit is at most `le` (cumulative)",
            m.lanes_by_limit.clone(),
        );
        registry.register(
            "lane_limit",
            "Current concurrency limit of the busiest lanes (most requests held)",
            m.lane_limit.clone(),
        );
        registry.register(
            "lane_in_flight",
            "Requests open now on the busiest lanes",
            m.lane_in_flight.clone(),
        );
        registry.register(
            "lane_rtt_seconds",
            "Smoothed round-trip time of the busiest lanes",
            m.lane_rtt_seconds.clone(),
        );
        registry.register(
            "lane_limit_changes",
            "Changes of adaptive lane limits, by direction and reason",
            m.lane_changes.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts a change of an adaptive limit: `up` or not, and why
    /// (`slow_start`, `increase`, `back_pressure`, `rtt_rising`).
    pub fn lane_changed(&self, up: bool, reason: &'static str) {
        let direction = if up { "up" } else { "down" };
        self.lane_changes
            .get_or_create(&ChangeLabels {
                direction: direction.into(),
                reason: reason.into(),
            })
            .inc();
    }

    /// Sets the lane gauges from this process's lanes.
    fn set_lanes(&self, lanes: &[LaneSample]) {
        let mut phases = [("slow_start", 0), ("steady", 0), ("paused", 0)];
        for l in lanes {
            if let Some(p) = phases.iter_mut().find(|(name, _)| *name == l.phase) {
                p.1 += 1;
            }
        }
        for (phase, n) in phases {
            self.lanes
                .get_or_create(&PhaseLabel {
                    phase: phase.into(),
                })
                .set(n);
        }
        for le in LIMIT_BUCKETS
            .map(|b| b.to_string())
            .into_iter()
            .chain(["+Inf".to_string()])
        {
            let bound = le.parse::<usize>().unwrap_or(usize::MAX);
            let n = lanes.iter().filter(|l| l.limit <= bound).count();
            self.lanes_by_limit
                .get_or_create(&LimitBucket { le })
                .set(n as i64);
        }
        let mut busiest: Vec<&LaneSample> = lanes.iter().collect();
        busiest.sort_by_key(|l| std::cmp::Reverse((l.held, l.in_flight)));
        busiest.truncate(BUSIEST_LANES);
        self.lane_limit.clear();
        self.lane_in_flight.clear();
        self.lane_rtt_seconds.clear();
        for l in busiest {
            let label = WebhookLabel {
                webhook_id: l.webhook_id.clone(),
            };
            self.lane_limit.get_or_create(&label).set(l.limit as i64);
            self.lane_in_flight
                .get_or_create(&label)
                .set(l.in_flight as i64);
            if let Some(rtt) = l.rtt {
                self.lane_rtt_seconds
                    .get_or_create(&label)
                    .set(rtt.as_secs_f64());
            }
        }
    }

    /// Counts rows the retention job deleted from `table`.
    pub fn retention_deleted(&self, table: &str, n: u64) {
        self.retention_deleted
            .get_or_create(&TableLabel {
                table: table.to_string(),
            })
            .inc_by(n);
    }

    /// Counts accepted events.
    pub fn event_accepted(&self, event_type: &str, n: u64) {
        self.events_accepted
            .get_or_create(&EventTypeLabel {
                event_type: event_type.to_string(),
            })
            .inc_by(n);
    }

    /// Counts web hooks whose content filter passed over an accepted event.
    pub fn event_filtered(&self, event_type: &str, n: u64) {
        self.events_filtered
            .get_or_create(&EventTypeLabel {
                event_type: event_type.to_string(),
            })
            .inc_by(n);
    }

    /// Records one finished attempt.
    pub fn attempt(&self, outcome: DeliveryStatus, trigger: Trigger, took: Duration) {
        self.attempts
            .get_or_create(&AttemptLabels {
                outcome: outcome.as_str().to_string(),
                trigger: trigger.as_str().to_string(),
            })
            .inc();
        self.attempt_seconds.observe(took.as_secs_f64());
    }

    /// Counts a finished integration run.
    pub fn run_finished(&self, kind: &str, status: &str) {
        self.integration_runs
            .get_or_create(&RunLabels {
                kind: kind.to_string(),
                status: status.to_string(),
            })
            .inc();
    }

    /// The worker pool's size.
    pub fn set_workers(&self, n: usize) {
        self.workers.set(n as i64);
    }

    /// Marks a worker slot busy until the guard drops.
    pub fn busy(&self) -> BusyGuard<'_> {
        self.workers_busy.inc();
        BusyGuard {
            metrics: self,
            since: std::time::Instant::now(),
        }
    }

    /// Renders every metric in the Prometheus/OpenMetrics text format,
    /// after setting the queue gauges from `queue`.
    pub fn render(&self, queue: &QueueStats, lanes: &[LaneSample]) -> String {
        self.set_lanes(lanes);
        for (state, n) in [
            (DeliveryStatus::Pending.as_str(), queue.pending),
            // Failed deliveries wait for their retry: the gauge says so.
            ("retrying", queue.retrying),
            (DeliveryStatus::Delivering.as_str(), queue.delivering),
        ] {
            self.queue_depth
                .get_or_create(&StateLabel {
                    state: state.into(),
                })
                .set(n);
        }
        self.oldest_due_seconds.set(queue.oldest_due_secs);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// See [`Metrics::busy`].
pub struct BusyGuard<'a> {
    metrics: &'a Metrics,
    since: std::time::Instant,
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.metrics.workers_busy.dec();
        self.metrics
            .worker_busy_seconds
            .inc_by(self.since.elapsed().as_secs_f64());
    }
}
