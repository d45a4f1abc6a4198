//! A webhook receiver on loopback that records every request and verifies
//! signatures the way HrFlow's receiver samples do, written independently of
//! the gateway's own signing code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::wait::until_ok;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    /// Answered 503 for being over the path's capacity.
    pub refused: bool,
    /// The status it was answered with (unless it hangs).
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Status to answer per path (default 200).
    status: HashMap<String, u16>,
    /// Response body size per path (default: the two bytes "ok").
    body_size: HashMap<String, usize>,
    /// Extra response headers per path.
    headers: HashMap<String, Vec<(String, String)>>,
    /// Paths that never answer.
    hang: Vec<String>,
    /// Paths that answer after a delay.
    delay: HashMap<String, Duration>,
    /// Paths that answer only once released (see [`Receiver::hold`]).
    held: HashMap<String, Arc<tokio::sync::Semaphore>>,
    /// Paths that answer 503 to requests beyond this many open at once.
    capacity: HashMap<String, usize>,
    /// Requests open now, and the most ever open, per path.
    open: HashMap<String, usize>,
    max_open: HashMap<String, usize>,
}

/// The running receiver.
pub struct Receiver {
    pub base: String,
    shared: Arc<Mutex<Shared>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    /// A plain-HTTP receiver.
    pub async fn start() -> Receiver {
        Self::start_inner(false)
    }

    /// An HTTPS receiver whose certificate is self-signed (so invalid for
    /// any client that checks certificates).
    pub async fn start_tls() -> Receiver {
        Self::start_inner(true)
    }

    fn start_inner(tls: bool) -> Receiver {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals();
        let server = if tls {
            server
                .bind_rustls_0_23("127.0.0.1:0", self_signed())
                .expect("bind tls receiver")
        } else {
            server.bind("127.0.0.1:0").expect("bind receiver")
        };
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        let scheme = if tls { "https" } else { "http" };
        Receiver {
            base: format!("{scheme}://{addr}"),
            shared,
            handle,
        }
    }

    /// Full URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set_status(&self, path: &str, status: u16) {
        self.shared
            .lock()
            .unwrap()
            .status
            .insert(path.to_string(), status);
    }

    /// Answers `path` with a body of `size` bytes.
    pub fn set_body_size(&self, path: &str, size: usize) {
        self.shared
            .lock()
            .unwrap()
            .body_size
            .insert(path.to_string(), size);
    }

    /// Adds a response header on `path`.
    pub fn set_header(&self, path: &str, name: &str, value: &str) {
        let mut s = self.shared.lock().unwrap();
        s.headers
            .entry(path.to_string())
            .or_default()
            .push((name.to_string(), value.to_string()));
    }

    /// `path` answers only after `delay`.
    pub fn set_delay(&self, path: &str, delay: Duration) {
        self.shared
            .lock()
            .unwrap()
            .delay
            .insert(path.to_string(), delay);
    }

    /// `path` answers 503 at once to a request that finds `n` open.
    pub fn set_capacity(&self, path: &str, n: usize) {
        self.shared
            .lock()
            .unwrap()
            .capacity
            .insert(path.to_string(), n);
    }

    /// The most requests `path` ever had open at once.
    pub fn max_open(&self, path: &str) -> usize {
        let s = self.shared.lock().unwrap();
        s.max_open.get(path).copied().unwrap_or(0)
    }

    /// How many requests `path` has open (received, not yet answered) now.
    pub fn open(&self, path: &str) -> usize {
        let s = self.shared.lock().unwrap();
        s.open.get(path).copied().unwrap_or(0)
    }

    /// Stops adding a header that `set_header` added on `path`.
    pub fn clear_headers(&self, path: &str) {
        self.shared.lock().unwrap().headers.remove(path);
    }

    /// `path` accepts requests and never answers.
    /// Requests to `path` wait (after being recorded) until [`Receiver::release`].
    pub fn hold(&self, path: &str) {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        self.shared
            .lock()
            .unwrap()
            .held
            .insert(path.to_string(), gate);
    }

    /// Lets the requests held on `path` (and every later one) be answered.
    pub fn release(&self, path: &str) {
        if let Some(gate) = self.shared.lock().unwrap().held.remove(path) {
            gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
        }
    }

    pub fn hang(&self, path: &str) {
        self.shared.lock().unwrap().hang.push(path.to_string());
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    pub fn received_on(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// How many distinct `Webhook-Id`s `path` received, and how many requests.
    pub fn unique_ids(&self, path: &str) -> (usize, usize) {
        let s = self.shared.lock().unwrap();
        let mut ids: Vec<&str> = s
            .received
            .iter()
            .filter(|r| r.path == path)
            .filter_map(|r| r.headers.get("webhook-id").map(String::as_str))
            .collect();
        let total = ids.len();
        ids.sort_unstable();
        ids.dedup();
        (ids.len(), total)
    }

    /// Waits until `path` got at least `n` requests.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        until_ok(
            &format!("{n} requests on {path}"),
            Duration::from_secs(20),
            async || {
                let got = self.received_on(path);
                if got.len() >= n {
                    Ok(got)
                } else {
                    Err(format!("{} requests", got.len()))
                }
            },
        )
        .await
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn record(
    req: HttpRequest,
    body: web::Bytes,
    data: web::Data<Arc<Mutex<Shared>>>,
) -> HttpResponse {
    let path = req.path().to_string();
    let (status, size, headers, hang, delay, over, held) = {
        let mut s = data.lock().unwrap();
        let open = {
            let n = s.open.entry(path.clone()).or_default();
            *n += 1;
            *n
        };
        let most = s.max_open.entry(path.clone()).or_default();
        *most = (*most).max(open);
        let over = s.capacity.get(&path).is_some_and(|cap| open > *cap);
        let answer = s.status.get(&path).copied().unwrap_or(200);

        s.received.push(Received {
            path: path.clone(),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        v.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            refused: over,
            status: if over { 503 } else { answer },
        });
        (
            s.status.get(&path).copied().unwrap_or(200),
            s.body_size.get(&path).copied(),
            s.headers.get(&path).cloned().unwrap_or_default(),
            s.hang.contains(&path),
            s.delay.get(&path).copied(),
            over,
            s.held.get(&path).cloned(),
        )
    };
    // Counts the request as open until this handler ends (or is dropped).
    let _open = Open(data.get_ref().clone(), path.clone());
    if over {
        return HttpResponse::ServiceUnavailable().body("over capacity");
    }
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    if let Some(gate) = held {
        let _ = gate.acquire().await;
    }
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let body = match size {
        Some(n) => "x".repeat(n),
        None => "ok".to_string(),
    };
    let mut resp = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    for (k, v) in headers {
        resp.insert_header((k, v));
    }
    resp.body(body)
}

/// One open request of a path, counted down when it ends.
struct Open(Arc<Mutex<Shared>>, String);

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(n) = self.0.lock().unwrap().open.get_mut(&self.1) {
            *n -= 1;
        }
    }
}

/// What the HrFlow samples sign: for a form body, `json.dumps` of the
/// parsed fields (first value of each, blanks dropped, compact, ASCII
/// escaped); for JSON, the raw body.
pub fn signed_message(content_type: &str, body: &str) -> String {
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return body.to_string();
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        if v.is_empty() || seen.iter().any(|(sk, _)| *sk == k) {
            continue;
        }
        seen.push((k.into_owned(), v.into_owned()));
    }
    let mut out = String::from("{");
    for (i, (k, v)) in seen.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        py_string(k, &mut out);
        out.push(':');
        py_string(v, &mut out);
    }
    out.push('}');
    out
}

/// Python's `json.dumps` string encoding with `ensure_ascii=True`.
fn py_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
        }
    }
    out.push('"');
}

/// Checks a received request's `HTTP-HRFLOW-SIGNATURE` against `secret`.
pub fn verify(r: &Received, secret: &str) -> bool {
    let Some(sig) = r.header("HTTP-HRFLOW-SIGNATURE") else {
        return false;
    };
    let msg = signed_message(r.header("content-type").unwrap_or(""), &r.body);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(msg.as_bytes());
    hex::encode(mac.finalize().into_bytes()) == sig
}

fn self_signed() -> rustls::ServerConfig {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert = ck.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap()
}
