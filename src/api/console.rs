//! The operator console: the single-page app built from `console/` into
//! `console/dist/`, embedded in the binary and served at `/console/`.
//!
//! The server only serves files: the app routes by URL hash
//! (`#/webhooks/…`), so any path that is not a file is a 404. The console
//! is a client of the `/v1` API like any other, not part of the API
//! contract, so its routes are registered here rather than in the API's
//! route table (and are not in `openapi.yaml`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

use crate::error::Error;
use crate::state::AppState;

/// `console/dist/`, built by `npm run build` in `console/` and committed,
/// so a fresh clone builds the binary without Node. `debug-embed` embeds
/// it in debug builds too: tests serve exactly what a release serves.
#[derive(RustEmbed)]
#[folder = "console/dist/"]
struct Assets;

/// The console's Content-Security-Policy: only its own scripts, styles and
/// API; no inline script, no framing (clickjacking), no `<base>` tricks.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The customer portal's policy: the console's, except that the origins in
/// `HOOKRELAY_PORTAL_FRAME_ANCESTORS` may frame it and a branding logo may
/// come from any https origin.
fn portal_csp(frame_ancestors: &str) -> String {
    format!("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'self'")
}

/// Registers `/`, `/console`, `/console/…` and the customer portal's
/// `/portal/` (the same app, which reads its mode from the path; its
/// assets load from `/console/assets/…`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(to_console))
        .route("/console", web::get().to(to_console))
        .route("/console/", web::get().to(index))
        .route("/console/{file:.*}", web::get().to(file))
        .route("/portal", web::get().to(to_portal))
        .route("/portal/", web::get().to(portal));
}

/// `/portal` → `/portal/`; a fragment stays with the browser.
async fn to_portal() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/portal/"))
        .finish()
}

/// The portal's page: the console's `index.html` under the portal's policy.
async fn portal(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let mut res = serve(&req, "index.html")?;
    let csp = portal_csp(&state.config.portal_frame_ancestors.csp());
    let value = HeaderValue::from_str(&csp).map_err(Error::internal)?;
    res.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, value);
    Ok(res)
}

/// `/` and `/console` → `/console/` (308: a bookmark may keep it).
async fn to_console() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

async fn index(req: HttpRequest) -> Result<HttpResponse, Error> {
    serve(&req, "index.html")
}

async fn file(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, Error> {
    serve(&req, &path.into_inner())
}

/// One embedded file with its content type, ETag and security headers.
///
/// Caching: the build gives assets fixed names (`assets/app.js`), so that
/// rebuilding gives byte-identical output CI can compare with what is
/// committed. Fixed names cannot be cached for long (a new binary would
/// keep serving stale code), so every file is `no-cache` with a strong
/// ETag (the SHA-256 of its content): the browser revalidates and gets a
/// 304 without a body while the file is unchanged.
fn serve(req: &HttpRequest, path: &str) -> Result<HttpResponse, Error> {
    let Some(content_type) = content_type(path) else {
        return Err(not_found(path));
    };
    let asset = Assets::get(path).ok_or_else(|| not_found(path))?;
    let etag = format!("\"{}\"", hex::encode(asset.metadata.sha256_hash()));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag));
    let mut res = if fresh {
        res.finish()
    } else {
        res.body(asset.data.into_owned())
    };
    secure(res.headers_mut());
    Ok(res)
}

/// The headers every console response carries.
fn secure(h: &mut actix_web::http::header::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// The content types of what the build emits; anything else is not served.
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

fn not_found(path: &str) -> Error {
    Error::NotFound(format!("the console has no file {path:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_file_types_are_served() {
        assert_eq!(
            content_type("assets/app.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type("index.html"), Some("text/html; charset=utf-8"));
        assert_eq!(content_type("Cargo.toml"), None);
        assert_eq!(content_type("noext"), None);
    }

    #[test]
    fn the_built_console_is_embedded() {
        assert!(
            Assets::get("index.html").is_some(),
            "run npm run build in console/"
        );
        assert!(Assets::get("assets/app.js").is_some());
        assert!(Assets::get("assets/app.css").is_some());
    }
}
