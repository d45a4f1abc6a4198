//! Sending one manifest request: redirects are followed here, by hand, so
//! that credentials never leave the origin the manifest named.
//!
//! reqwest's own policy strips only `Authorization` and cookies on a
//! cross-host hop; manifests carry keys in any header (`X-Api-Key`,
//! `PRIVATE-TOKEN`) and 307/308 resend the body. So a redirect to another
//! origin is refused unless the item sets `allow_cross_origin_redirects`,
//! and then it is followed without the manifest's headers or body; an
//! https → http hop is always refused.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use super::describe::describe;
use super::guard::TargetPolicy;

/// Hops followed at most.
pub const MAX_REDIRECTS: usize = 5;

/// A request body, kept so that it can be sent again on a redirect.
#[derive(Clone)]
pub enum Body {
    None,
    Text(String),
    /// Text fields, then files `(field, file name, bytes)`.
    Multipart {
        fields: Vec<(String, String)>,
        files: Vec<(String, String, Vec<u8>)>,
    },
}

/// A request ready to go.
pub struct Outgoing {
    pub method: Method,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub timeout: Option<Duration>,
    /// The item's `allow_cross_origin_redirects`.
    pub cross_origin: bool,
}

/// Sends `out`, following up to [`MAX_REDIRECTS`] redirects under the rules
/// above; every hop is checked by the SSRF guard (and resolved through it).
pub async fn send(
    http: &reqwest::Client,
    policy: &TargetPolicy,
    out: Outgoing,
) -> Result<reqwest::Response, String> {
    let origin = out.url.origin();
    let (mut method, mut url, mut body) = (out.method, out.url, out.body);
    let mut with_headers = true;
    for hop in 0..=MAX_REDIRECTS {
        let mut req = http.request(method.clone(), url.clone());
        if let Some(t) = out.timeout {
            req = req.timeout(t);
        }
        if with_headers {
            for (k, v) in &out.headers {
                if matches!(body, Body::Multipart { .. }) && k.eq_ignore_ascii_case("content-type")
                {
                    // Multipart sets its own Content-Type (with the boundary).
                    continue;
                }
                req = req.header(k.as_str(), v.as_str());
            }
        }
        req = attach(req, &body);
        let resp = req.send().await.map_err(|e| describe(&e))?;
        let status = resp.status();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok());
        let (true, Some(location)) = (status.is_redirection(), location) else {
            return Ok(resp);
        };
        if hop == MAX_REDIRECTS {
            return Err(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let next = url
            .join(location)
            .map_err(|e| format!("HTTP {status} redirects to an invalid URL ({e})"))?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(format!(
                "HTTP {status} redirects to a {} URL",
                next.scheme()
            ));
        }
        if url.scheme() == "https" && next.scheme() == "http" {
            return Err(format!(
                "refused the redirect from https to http ({next}): it would send the request unencrypted"
            ));
        }
        policy.check_literal(&next)?;
        let keeps_body = matches!(
            status,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
        );
        if next.origin() != origin {
            if !out.cross_origin {
                return Err(format!(
                    "refused the redirect to another origin ({next}): the request's headers and body would follow it; set \"allow_cross_origin_redirects\": true on this item to follow such redirects without them"
                ));
            }
            if keeps_body && !matches!(body, Body::None) {
                return Err(format!(
                    "refused HTTP {status} to another origin ({next}): it would send the request body there"
                ));
            }
            with_headers = false;
        }
        if !keeps_body && method != Method::HEAD {
            // 301/302/303: the next request is a GET without a body, as browsers do.
            method = Method::GET;
            body = Body::None;
        }
        url = next;
    }
    unreachable!("the loop returns on its last hop")
}

fn attach(req: reqwest::RequestBuilder, body: &Body) -> reqwest::RequestBuilder {
    match body {
        Body::None => req,
        Body::Text(t) => req.body(t.clone()),
        Body::Multipart { fields, files } => {
            let mut form = reqwest::multipart::Form::new();
            for (k, v) in fields {
                form = form.text(k.clone(), v.clone());
            }
            for (field, name, bytes) in files {
                form = form.part(
                    field.clone(),
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.clone()),
                );
            }
            req.multipart(form)
        }
    }
}
