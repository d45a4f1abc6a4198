//! The benchmark's receiver: a minimal keep-alive HTTP server on loopback
//! that answers 200 with an empty body, verifies nothing, counts requests and
//! records when each `Webhook-Id` arrived.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// Shared counters.
pub struct Tally {
    pub count: AtomicU64,
    /// (Webhook-Id, nanoseconds since `epoch`) when recording is on.
    pub arrivals: Mutex<Vec<(String, u64)>>,
    pub record: AtomicBool,
    pub epoch: Instant,
}

impl Tally {
    /// Clears counts and arrivals.
    pub fn reset(&self, record: bool) {
        self.count.store(0, Ordering::SeqCst);
        self.arrivals.lock().unwrap().clear();
        self.record.store(record, Ordering::SeqCst);
    }
}

/// Starts the receiver on its own thread; returns its address and tally.
pub fn start(epoch: Instant) -> (String, Arc<Tally>) {
    let tally = Arc::new(Tally {
        count: AtomicU64::new(0),
        arrivals: Mutex::new(Vec::new()),
        record: AtomicBool::new(false),
        epoch,
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let t = tally.clone();
    std::thread::spawn(move || {
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
    HttpResponse::Ok().finish()
}
