//! A fake third-party API on loopback for integration runs: answers are
//! scripted per `METHOD /path` (a queue; the last answer repeats), and every
//! request is recorded with its headers and raw body. A route can be held:
//! its requests are recorded, then wait unanswered until it is released
//! (a slow API, with no clock in the test).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A scripted answer.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// Extra response headers (e.g. `Location`).
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn json(status: u16, v: Value) -> Answer {
        Answer {
            status,
            body: v.to_string().into_bytes(),
            content_type: "application/json",
            headers: Vec::new(),
        }
    }

    /// A redirect (`301`, `302`, `307`…) to `location`.
    pub fn redirect(status: u16, location: &str) -> Answer {
        Answer {
            status,
            body: Vec::new(),
            content_type: "text/plain",
            headers: vec![("Location", location.to_string())],
        }
    }

    pub fn bytes(body: &[u8]) -> Answer {
        Answer {
            status: 200,
            body: body.to_vec(),
            content_type: "application/octet-stream",
            headers: Vec::new(),
        }
    }
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    script: HashMap<String, Vec<Answer>>,
    /// `METHOD /path` whose requests wait for [`FakeApi::release`].
    held: HashSet<String>,
}

/// The state, and a signal sent whenever a held route is released.
struct Shared {
    state: Mutex<State>,
    released: tokio::sync::watch::Sender<()>,
}

pub struct FakeApi {
    pub base: String,
    state: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl FakeApi {
    pub async fn start() -> FakeApi {
        let state = Arc::new(Shared {
            state: Mutex::new(State::default()),
            released: tokio::sync::watch::channel(()).0,
        });
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(shared.clone()))
                .app_data(web::PayloadConfig::new(50 * 1024 * 1024))
                .default_service(web::to(answer))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeApi {
            base: format!("http://{addr}"),
            state,
            handle,
        }
    }

    /// Answers `METHOD path` with these, in turn (the last repeats).
    pub fn script(&self, method: &str, path: &str, answers: Vec<Answer>) {
        self.state
            .state
            .lock()
            .unwrap()
            .script
            .insert(format!("{method} {path}"), answers);
    }

    /// Holds `METHOD path`: its requests are recorded, then wait, unanswered,
    /// until [`FakeApi::release`].
    pub fn hold(&self, method: &str, path: &str) {
        let mut st = self.state.state.lock().unwrap();
        st.held.insert(format!("{method} {path}"));
    }

    /// Answers the held requests of `METHOD path`, and later ones at once.
    pub fn release(&self, method: &str, path: &str) {
        let mut st = self.state.state.lock().unwrap();
        st.held.remove(&format!("{method} {path}"));
        drop(st);
        self.state.released.send_replace(());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.state.lock().unwrap().seen.clone()
    }

    pub fn seen_on(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == method && s.path == path)
            .collect()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Shared>>,
) -> HttpResponse {
    let key = format!("{} {}", req.method(), req.path());
    // Subscribed before the route is looked at: a release in between is seen.
    let mut released = shared.released.subscribe();
    shared.state.lock().unwrap().seen.push(Seen {
        method: req.method().to_string(),
        path: req.path().to_string(),
        query: req.query_string().to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.to_vec(),
    });
    while shared.state.lock().unwrap().held.contains(&key) {
        if released.changed().await.is_err() {
            break;
        }
    }
    let mut st = shared.state.lock().unwrap();
    let a = match st.script.get_mut(&key) {
        Some(list) if list.len() > 1 => list.remove(0),
        Some(list) if !list.is_empty() => list[0].clone(),
        _ => Answer::json(
            404,
            serde_json::json!({"error": format!("no script for {key}")}),
        ),
    };
    drop(st);
    let mut resp = HttpResponse::build(actix_web::http::StatusCode::from_u16(a.status).unwrap());
    resp.content_type(a.content_type);
    for (k, v) in &a.headers {
        resp.insert_header((*k, v.as_str()));
    }
    resp.body(a.body)
}
