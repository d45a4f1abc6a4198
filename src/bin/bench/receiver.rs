//! The benchmark's receiver: a minimal keep-alive HTTP server on loopback
//! that answers 200 with an empty body, verifies nothing, counts requests and
//! records when each `Webhook-Id` arrived.
//!
//! Paths can ask for a real receiver's behaviour: `/lat/{ms}/…` answers
//! after `ms` milliseconds; `/cap/{n}/{ms}/…` likewise, but answers 503 at
//! once to a request that finds `n` already open; `/hang/…` never answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// Shared counters.
pub struct Tally {
    pub count: AtomicU64,
    /// (Webhook-Id, nanoseconds since `epoch`) when recording is on.
    pub arrivals: Mutex<Vec<(String, u64)>>,
    pub record: AtomicBool,
    pub epoch: Instant,
    /// 2xx answers of `/lat/` and `/cap/` paths, and 503s of `/cap/` paths.
    pub ok: AtomicU64,
    pub refused: AtomicU64,
    /// Requests open now per path, and the most ever open per path.
    open: Mutex<HashMap<String, usize>>,
    pub max_open: Mutex<HashMap<String, usize>>,
}

impl Tally {
    /// Clears counts and arrivals.
    pub fn reset(&self, record: bool) {
        self.count.store(0, Ordering::SeqCst);
        self.arrivals.lock().unwrap().clear();
        self.record.store(record, Ordering::SeqCst);
        self.ok.store(0, Ordering::SeqCst);
        self.refused.store(0, Ordering::SeqCst);
        self.max_open.lock().unwrap().clear();
    }

    /// Counts a request open on `path`; its count of open ones.
    fn enter(&self, path: &str) -> usize {
        let mut open = self.open.lock().unwrap();
        let n = open.entry(path.to_string()).or_default();
        *n += 1;
        let n = *n;
        drop(open);
        let mut most = self.max_open.lock().unwrap();
        let m = most.entry(path.to_string()).or_default();
        *m = (*m).max(n);
        n
    }

    fn leave(&self, path: &str) {
        if let Some(n) = self.open.lock().unwrap().get_mut(path) {
            *n -= 1;
        }
    }
}

/// What a path asks the receiver to do.
enum Behaviour {
    Plain,
    Latency(Duration),
    Capacity(usize, Duration),
    Hang,
}

fn behaviour(path: &str) -> Behaviour {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let num = |i: usize| parts.get(i).and_then(|p| p.parse::<u64>().ok());
    match parts.first().copied() {
        Some("lat") => Behaviour::Latency(Duration::from_millis(num(1).unwrap_or(0))),
        Some("cap") => Behaviour::Capacity(
            num(1).unwrap_or(1) as usize,
            Duration::from_millis(num(2).unwrap_or(0)),
        ),
        Some("hang") => Behaviour::Hang,
        _ => Behaviour::Plain,
    }
}

/// Counts a request as open until dropped (a hanging one never is).
struct Open<'a>(&'a Tally, &'a str);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.leave(self.1);
    }
}

/// Starts the receiver on its own thread; returns its address and tally.
pub fn start(epoch: Instant) -> (String, Arc<Tally>) {
    let tally = Arc::new(Tally {
        count: AtomicU64::new(0),
        arrivals: Mutex::new(Vec::new()),
        record: AtomicBool::new(false),
        epoch,
        ok: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        open: Mutex::default(),
        max_open: Mutex::default(),
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let t = tally.clone();
    // Named, so the ceiling's CPU split can leave it out (`cpu::client_ticks`).
    let thread = std::thread::Builder::new().name("bench-receiver".into());
    let _ = thread.spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let data = web::Data::new(t);
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .default_service(web::to(hit))
            })
            .workers(1)
            .backlog(4096)
            .max_connections(100_000)
            .disable_signals()
            .bind("127.0.0.1:0")
            .expect("bind receiver");
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        })
    });
    let addr = rx.recv().unwrap();
    (format!("http://{addr}"), tally)
}

async fn hit(req: HttpRequest, _body: web::Bytes, tally: web::Data<Arc<Tally>>) -> HttpResponse {
    tally.count.fetch_add(1, Ordering::Relaxed);
    if tally.record.load(Ordering::Relaxed) {
        let at = tally.epoch.elapsed().as_nanos() as u64;
        if let Some(id) = req
            .headers()
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
        {
            tally.arrivals.lock().unwrap().push((id.to_string(), at));
        }
    }
    let path = req.path();
    let wait = match behaviour(path) {
        Behaviour::Plain => return HttpResponse::Ok().finish(),
        Behaviour::Hang => Duration::from_secs(3600),
        Behaviour::Latency(d) => d,
        Behaviour::Capacity(cap, d) => {
            let _open = Open(&tally, path);
            if tally.enter(path) > cap {
                tally.refused.fetch_add(1, Ordering::Relaxed);
                return HttpResponse::ServiceUnavailable().finish();
            }
            tokio::time::sleep(d).await;
            tally.ok.fetch_add(1, Ordering::Relaxed);
            return HttpResponse::Ok().finish();
        }
    };
    let _open = Open(&tally, path);
    tally.enter(path);
    tokio::time::sleep(wait).await;
    tally.ok.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok().finish()
}
