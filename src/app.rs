//! Wiring (the composition root): opens the database, builds the shared
//! state (`state::AppState`), and starts the HTTP server, the delivery
//! engine and the run worker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use tokio::sync::Notify;

use crate::config::Config;
use crate::db::Db;
use crate::delivery::cache::EventCache;
use crate::delivery::worker::{EngineDeps, WorkerSettings};
use crate::delivery::Engine;
use crate::manifest::inputs::Inputs;
use crate::manifest::integrations::Integrations;
use crate::manifest::notify::Notifier;
use crate::manifest::people::People;
use crate::manifest::queue::{RunQueue, RunSettings};
use crate::manifest::render::Renderer;
use crate::manifest::run::{RunBounds, Services};
use crate::metrics::Metrics;
use crate::outbound::guard::TargetPolicy;
use crate::outbound::retry::RetryPolicy;
use crate::outbound::HttpClients;
use crate::publish::rate::OrgRate;
use crate::publish::{EventTypeCache, Publisher};
use crate::sealed::open_vault;
use crate::state::AppState;
use crate::vault::Vault;
use tokio_util::sync::CancellationToken;

/// A started gateway: HTTP server plus delivery engine.
pub struct Running {
    pub addr: SocketAddr,
    /// The database pools it serves from (tests and embedders read through them).
    pub db: Db,
    server: actix_web::dev::ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    engine: Option<Engine>,
    runs: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
    /// The run queue (its runs are drained at shutdown).
    run_queue: Arc<RunQueue>,
    /// How long runs and deliveries in flight get at shutdown.
    grace: Duration,
    /// Its metrics (tests run the retention job against them).
    pub metrics: Arc<Metrics>,
    retention: Option<crate::retention::Job>,
}

/// Binds the listener, opens the database (migrating it), ensures an
/// operator token and starts serving and delivering.
pub async fn start(config: Config) -> Result<Running, String> {
    config.validate()?;
    // Listen first: a start that fails on a taken port has done nothing,
    // and above all has not spent the first operator token.
    let listener = listen(&config.bind)?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let db = {
        let (url, size, sync, citus) = (
            config.database_url.clone(),
            config.db_pool_size,
            config.sqlite_synchronous.pragma(),
            config.citus.mode(),
        );
        tokio::task::spawn_blocking(move || Db::connect_with(&url, size, sync, citus))
            .await
            .map_err(|e| e.to_string())??
    };
    let vault = {
        // Start-up writes run off the async runtime like every other query.
        let (db, config) = (db.clone(), config.clone());
        tokio::task::spawn_blocking(move || {
            let vault = open_vault(&db, &config)?;
            crate::delivery::release_stale_claims(&db, config.instance_id.as_deref())?;
            Ok::<_, String>(Arc::new(vault))
        })
        .await
        .map_err(|e| e.to_string())??
    };
    let policy = TargetPolicy {
        allow_private: config.allow_private_targets,
        allowed: config.allowed_cidrs.0.clone(),
    };
    let clients = HttpClients::new(config.request_timeout(), policy)?;
    let disable_after =
        chrono::Duration::from_std(config.disable_after).map_err(|e| e.to_string())?;
    let notify = Arc::new(Notify::new());
    let settings = WorkerSettings {
        instance: config.instance_name(),
        workers: config.workers,
        claim_batch: config.claim_batch,
        poll_interval: Duration::from_millis(config.poll_interval_ms),
        // A claimed delivery may wait for one round of its webhook's
        // requests and one of all webhooks' (see `HELD_ROUNDS`), then run
        // its own, then be recorded.
        lease: config.request_timeout() * 3 + Duration::from_secs(30),
        request_timeout: config.request_timeout(),
        grace: Duration::from_secs(config.shutdown_grace_secs),
        retry: RetryPolicy::new(config.retry_schedule.0.clone()),
        max_batch_bytes: config.max_body_bytes,
    };
    let deps = EngineDeps {
        db: db.clone(),
        clients: clients.clone(),
        notify: notify.clone(),
        events: EventCache::default(),
        vault: vault.clone(),
        metrics: Arc::new(Metrics::new()),
        lanes: Default::default(),
    };
    let (run_queue, integrations, people) =
        manifest_services(&config, &db, &vault, &clients, &notify, &deps.metrics)?;
    // The last fallible step before tasks start, so that the generated
    // first token is printed only by a start that goes on to serve.
    {
        let (db, bootstrap) = (db.clone(), config.bootstrap_token.clone());
        tokio::task::spawn_blocking(move || {
            crate::tokens::ensure_first_token(&db, bootstrap.as_deref())
        })
        .await
        .map_err(|e| e.to_string())??;
    }
    // An API-only node records events; other processes deliver them.
    let engine = config
        .delivers()
        .then(|| Engine::start(deps.clone(), settings, disable_after));
    let runs = config.delivers().then(|| {
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run_queue.clone().work(
            cancel.clone(),
            Duration::from_millis(config.poll_interval_ms.max(100)),
        ));
        (cancel, task)
    });
    // History retention: one job per process (see `retention`).
    let retention =
        crate::retention::Job::spawn(db.clone(), deps.metrics.clone(), config.retention_days);
    let state = web::Data::new(AppState {
        db,
        config: config.clone(),
        clients,
        notify,
        types: EventTypeCache::default(),
        disable_after,
        publisher: Publisher::spawn(deps.db.clone()).with_rate(OrgRate::publish(
            config.limits.publish_rate_per_org,
            config.limits.publish_burst_per_org,
        )),
        events: deps.events,
        vault,
        metrics: deps.metrics,
        runs: run_queue.clone(),
        integrations,
        people,
        tokens: Default::default(),
        lanes: deps.lanes.clone(),
    });
    let db = state.db.clone();
    let metrics = state.metrics.clone();
    let server = HttpServer::new(move || {
        App::new()
            // One span per request (method, route, status, request id).
            .wrap(tracing_actix_web::TracingLogger::<
                crate::api::access_log::AccessSpan,
            >::new())
            .configure(|cfg| crate::api::configure(cfg, state.clone()))
    })
    .listen(listener)
    .map_err(|e| e.to_string())?
    .disable_signals()
    .shutdown_timeout(10)
    .run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    tracing::info!(%addr, "hookrelay listening");
    Ok(Running {
        addr,
        db,
        server: handle,
        server_task,
        engine,
        runs,
        run_queue,
        grace: Duration::from_secs(config.shutdown_grace_secs),
        metrics,
        retention,
    })
}

impl Running {
    /// Graceful stop: refuse new connections, finish requests, then give
    /// the runs and deliveries in flight the grace period, together, and
    /// hand back what is unfinished.
    pub async fn stop(self) {
        self.server.stop(true).await;
        let _ = self.server_task.await;
        if let Some((cancel, task)) = self.runs {
            cancel.cancel();
            let _ = task.await;
        }
        if let Some(job) = self.retention {
            job.stop().await;
        }
        let engine = async {
            if let Some(engine) = self.engine {
                engine.shutdown().await;
            }
        };
        tokio::join!(self.run_queue.drain(self.grace), engine);
    }
}

/// Binds the API's address; when that fails, says how to choose another.
fn listen(bind: &str) -> Result<std::net::TcpListener, String> {
    std::net::TcpListener::bind(bind).map_err(|e| {
        // Suggest the next port on the same host (8081 for a taken 8080).
        let other = bind
            .parse::<SocketAddr>()
            .map(|mut a| {
                a.set_port(a.port().wrapping_add(1).max(1));
                a.to_string()
            })
            .unwrap_or_else(|_| "127.0.0.1:8081".into());
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "another process listens there; choose another address",
            _ => "choose an address this machine can listen on",
        };
        format!("cannot listen on {bind}: {e}; {why} with HOOKRELAY_BIND={other} or `hookrelay serve --bind {other}`")
    })
}

/// The manifest services: the run queue, and the integrations and people
/// services that queue runs through it.
fn manifest_services(
    config: &Config,
    db: &Db,
    vault: &Arc<Vault>,
    clients: &HttpClients,
    deliveries: &Arc<Notify>,
    metrics: &Arc<Metrics>,
) -> Result<(Arc<RunQueue>, Integrations, People), String> {
    let notifier = Notifier::new(
        config.smtp_url.as_deref(),
        &config.smtp_from,
        config.sms_url.as_deref(),
        config.sms_token.as_deref(),
        reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?,
    )?
    .limited(OrgRate::notifications(
        config.limits.notifications_per_minute_per_org,
    ));
    let services = Arc::new(Services {
        http: clients.integrations().clone(),
        policy: TargetPolicy {
            allow_private: config.allow_private_targets,
            allowed: config.allowed_cidrs.0.clone(),
        },
        notifier,
        renderer: Renderer::new(),
        bounds: RunBounds {
            response_bytes: config.runs.run_max_response_bytes,
            kept_bytes: config.runs.run_max_kept_bytes,
        },
    });
    let inputs = Inputs::new(db.clone(), vault.clone(), config.public_base());
    let runs = Arc::new(RunQueue::new(
        db.clone(),
        vault.clone(),
        services.clone(),
        inputs.clone(),
        RunSettings {
            instance: config.instance_name(),
            retry: RetryPolicy::new(config.integration_retry_schedule.0.clone()).without_jitter(),
            inline_runs: config.inline_runs,
            inline_wait: Duration::from_secs(config.inline_run_wait_secs),
            limits: config.limits.clone(),
            slots: config.runs.run_slots,
            per_org: config.runs.per_org(),
        },
        deliveries.clone(),
        metrics.clone(),
    ));
    let integrations = Integrations::new(
        db.clone(),
        vault.clone(),
        services,
        inputs,
        runs.clone(),
        config.limits.clone(),
    );
    let people = People::new(db.clone(), runs.clone(), config.limits.users());
    Ok((runs, integrations, people))
}
