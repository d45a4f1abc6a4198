//! `/v1/integrations/{id}/oauth/authorize` (scripts: a 302 to the provider),
//! `/v1/integrations/{id}/oauth/start` (a browser: the provider URL as
//! JSON, asked for with the bearer token) and the public `/oauth/callback`,
//! which answers a small HTML page to a browser and JSON to a script.

use actix_web::http::header::{self, Accept, Header, Quality};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::{IntegrationsWrite, Need};
use crate::error::Result;
use crate::manifest::integrations::Callback;
use crate::state::AppState;

/// Redirects the admin to the provider, with a `state` checked on return.
pub async fn authorize(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let url = state
        .integrations
        .authorize_url(need.caller.organization.clone(), id.into_inner())
        .await?;
    Ok(HttpResponse::Found()
        .insert_header(("Location", url.to_string()))
        .json(json!({"location": url.to_string()})))
}

/// The provider URL the console navigates to: a browser cannot send the
/// bearer token on a navigation, so it asks for the URL first.
pub async fn oauth_start(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let url = state
        .integrations
        .authorize_url(need.caller.organization.clone(), id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(json!({"authorize_url": url.to_string()})))
}

/// Query of the OAuth callback.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Public: the provider sends the admin back here with `code` and `state`.
/// Every answer, JSON or page, success or error, is `no-store` (the URL
/// carried a code and a state) and may not be framed: the page speaks on
/// hookrelay's origin.
pub async fn oauth_callback(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let resp = match callback(&state, &req).await {
        Ok(resp) => resp,
        Err(e) => e.error_response(),
    };
    harden(resp)
}

async fn callback(state: &AppState, req: &HttpRequest) -> Result<HttpResponse> {
    // Parsed here rather than by the extractor, so that a malformed query's
    // answer gets the same headers as every other.
    let q = web::Query::<CallbackQuery>::from_query(req.query_string())
        .map_err(|e| {
            crate::error::Error::invalid(
                crate::error::ErrorCode::InvalidQuery,
                format!("invalid query string: {e}"),
            )
        })?
        .into_inner();
    let callback = Callback {
        code: q.code,
        state: q.state,
        error: q.error,
    };
    // Answers only once the token and its run are committed: whoever reads
    // the integration after this answer sees it connected.
    let done = state.integrations.complete_oauth(callback).await;
    if !wants_html(req) {
        let done = done?;
        return Ok(HttpResponse::Ok().json(
            json!({"connected": true, "integration_id": done.integration_id, "run_id": done.run_id}),
        ));
    }
    Ok(match done {
        Ok(done) => {
            let back = format!("/console/#/integrations/{}", done.integration_id);
            page(
                HttpResponse::Ok(),
                "Connected",
                "The integration is connected.",
                &back,
            )
        }
        // The error's message is what the JSON answer carries: secrets in
        // it were masked by the runner, and a provider's `error` was reduced
        // to a short code.
        Err(e) => page(
            HttpResponse::build(e.status_code()),
            "Not connected",
            &e.to_string(),
            "/console/#/integrations",
        ),
    })
}

/// The callback's headers on any answer: not stored by any cache, not
/// framed by any page, no referrer (the URL holds the code and state).
fn harden(mut resp: HttpResponse) -> HttpResponse {
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    resp
}

/// The page's policy: nothing loaded from anywhere, its own inline style,
/// and no page may frame it.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

/// Whether the request prefers HTML (a browser navigating) to JSON.
fn wants_html(req: &HttpRequest) -> bool {
    let Ok(accept) = Accept::parse(req) else {
        return false;
    };
    let html = quality(&accept, "text", "html");
    html > Quality::ZERO && html > quality(&accept, "application", "json")
}

/// The quality the Accept header gives `kind/sub` (its most specific match).
fn quality(accept: &Accept, kind: &str, sub: &str) -> Quality {
    let mut best: Option<(u8, Quality)> = None;
    for item in accept.iter() {
        let (t, s) = (item.item.type_().as_str(), item.item.subtype().as_str());
        let specificity = match (t == kind, s == sub, t == "*", s == "*") {
            (true, true, _, _) => 3,
            (true, false, _, true) => 2,
            (false, _, true, true) => 1,
            _ => continue,
        };
        if best.is_none_or(|(sp, _)| specificity > sp) {
            best = Some((specificity, item.quality));
        }
    }
    best.map_or(Quality::ZERO, |(_, q)| q)
}

/// Characters of message a page shows at most.
const PAGE_TEXT: usize = 400;

/// A self-contained page (no scripts, styles or images from elsewhere),
/// every text escaped.
fn page(
    mut builder: actix_web::HttpResponseBuilder,
    title: &str,
    text: &str,
    back: &str,
) -> HttpResponse {
    // Whatever reaches the page is one short line of text.
    let text: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(PAGE_TEXT)
        .collect();
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} · hookrelay</title>\
         <style>body{{font:16px system-ui,sans-serif;margin:4em auto;max-width:36em;padding:0 1em}}</style>\
         </head><body><h1>{title}</h1><p>{text}</p>\
         <p><a href=\"{back}\">Back to the integration in the console</a></p></body></html>\n",
        title = escape(title),
        text = escape(&text),
        back = escape(back),
    );
    builder.content_type("text/html; charset=utf-8").body(body)
}

/// HTML-escapes text for an element or a quoted attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
