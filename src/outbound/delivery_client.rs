//! The HTTP client of deliveries: hyper's pooled client, driven directly.
//!
//! reqwest (integration runs keep it: they need its redirects, forms and
//! JSON) wraps every request in redirect, retry and timeout layers and
//! parses its URL twice more; a delivery needs none of that, and those
//! layers cost about a tenth of the gateway's instructions per delivery
//! (callgrind, docs/performance.md). Same guarantees as before: the SSRF
//! guard resolves every host name, no proxy, no redirect followed, one
//! deadline for the answer and its body, certificates checked unless the
//! webhook opted out.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use super::describe::innermost;
use super::guard::{resolve_guarded, TargetPolicy};
use super::read::RESPONSE_BODY_CAP;

type Connector = HttpsConnector<HttpConnector<GuardedNames>>;

/// A pooled HTTP/1.1 client for webhook requests.
#[derive(Clone)]
pub struct DeliveryClient {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

/// An answer: its status, headers and body (up to [`RESPONSE_BODY_CAP`]).
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub truncated: bool,
    /// Reading the body failed midway (what was read is kept).
    pub body_error: Option<String>,
}

/// No answer: why, in one line, and whether it means the receiver is not
/// keeping up (a timeout, or a connection refused, reset or closed early).
pub struct Failed {
    pub message: String,
    pub overloaded: bool,
}

impl DeliveryClient {
    /// `insecure`: accept any certificate (webhooks with `verify_ssl = false`).
    pub fn new(
        policy: Arc<TargetPolicy>,
        timeout: Duration,
        insecure: bool,
    ) -> Result<Self, String> {
        let mut http = HttpConnector::new_with_resolver(GuardedNames { policy });
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout.min(Duration::from_secs(10))));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(super::tls::client_config(insecure)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build(https);
        Ok(DeliveryClient { client, timeout })
    }

    /// POSTs `body` with `headers` (the caller's, whole: nothing is added
    /// but `Host` and `Content-Length`), within the client's timeout.
    pub async fn post(
        &self,
        uri: hyper::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Answer, Failed> {
        let deadline = Instant::now() + self.timeout;
        let mut req = hyper::Request::post(uri)
            .body(Full::new(body))
            .map_err(|e| Failed {
                message: format!("request error: {e}"),
                overloaded: false,
            })?;
        *req.headers_mut() = headers;
        let resp = match tokio::time::timeout_at(deadline, self.client.request(req)).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                let kind = if e.is_connect() {
                    "connection failed"
                } else {
                    "request error"
                };
                return Err(Failed {
                    message: format!("{kind}: {}", innermost(&e)),
                    overloaded: overloaded(&e),
                });
            }
            Err(_) => return Err(timed_out()),
        };
        let (parts, body) = resp.into_parts();
        let (body, truncated, body_error) = read_capped(body, deadline).await;
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            truncated,
            body_error,
        })
    }
}

fn timed_out() -> Failed {
    Failed {
        message: "timeout: operation timed out".into(),
        overloaded: true,
    }
}

/// At most [`RESPONSE_BODY_CAP`] bytes of `body` as text, whether it was
/// cut, and the error if reading failed (or ran past `deadline`) midway.
async fn read_capped(mut body: Incoming, deadline: Instant) -> (String, bool, Option<String>) {
    let mut buf = Vec::new();
    let text = |buf: &[u8]| String::from_utf8_lossy(buf).into_owned();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                let why = "reading response body: operation timed out";
                return (text(&buf), false, Some(why.into()));
            }
            Ok(None) => return (text(&buf), false, None),
            Ok(Some(Err(e))) => {
                let why = format!("reading response body: {}", innermost(&e));
                return (text(&buf), false, Some(why));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers carry nothing history keeps.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let room = RESPONSE_BODY_CAP - buf.len();
        if data.len() > room {
            buf.extend_from_slice(&data[..room]);
            return (text(&buf), true, None);
        }
        buf.extend_from_slice(&data);
    }
}

/// Whether a failed request means the receiver is not keeping up (rather
/// than, say, a certificate or DNS problem).
fn overloaded(e: &(dyn StdError + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::TimedOut
            ) {
                return true;
            }
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_timeout() {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// hyper's resolver, through the SSRF guard: refused addresses are dropped
/// after resolving, on every new connection.
#[derive(Clone)]
pub struct GuardedNames {
    policy: Arc<TargetPolicy>,
}

impl tower_service::Service<Name> for GuardedNames {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = Box<dyn StdError + Send + Sync>;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs = resolve_guarded(&policy, name.as_str()).await?;
            Ok(addrs.into_iter())
        })
    }
}
