//! What a request carries: its body (`data` rendered as a tree, `files`
//! as multipart), its headers (Basic credentials encoded) and Pritunl's
//! signature headers.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::Value;

use super::Step;
use crate::manifest::mask::Masker;
use crate::manifest::render::{plain_text, Renderer, Scope};
use crate::manifest::validate::targets::header_refusal;
use crate::outbound::redirects::Body;

/// What a request's parts are made from, borrowed from its run: the
/// templates and their variables, the manifest (its default headers), the
/// files saved earlier, and the masker, which learns Basic credentials.
pub(super) struct Parts<'r> {
    pub(super) renderer: &'r Renderer,
    pub(super) scope: &'r Scope,
    pub(super) manifest: &'r Value,
    pub(super) files: &'r HashMap<String, Vec<u8>>,
    pub(super) masker: &'r mut Masker,
}

impl Parts<'_> {
    /// Renders a template with the run's variables (off the async runtime).
    async fn render(&self, template: &str) -> Result<String, String> {
        self.renderer
            .text_off_runtime(template.to_string(), self.scope.clone())
            .await
    }

    /// The item's body (`data` rendered as a tree, `files`), logged in
    /// `step`; a JSON body without a Content-Type gets one in `headers`.
    pub(super) async fn body(
        &self,
        item: &Value,
        step: &mut Step,
        headers: &mut Vec<(String, String)>,
    ) -> Result<Body, String> {
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.to_ascii_lowercase());
        let files: Vec<(String, String)> = item
            .get("files")
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), plain_text(v))).collect())
            .unwrap_or_default();
        let data = match item.get("data") {
            Some(d) => Some(
                self.renderer
                    .tree_off_runtime(d.clone(), self.scope.clone())
                    .await?,
            ),
            None => None,
        };
        if !files.is_empty() {
            let fields = match &data {
                Some(Value::Object(fields)) => fields
                    .iter()
                    .map(|(k, v)| (k.clone(), plain_text(v)))
                    .collect(),
                _ => Vec::new(),
            };
            let mut described = Vec::new();
            let mut parts = Vec::new();
            for (field, name) in files {
                let bytes = self.files.get(&name).cloned().ok_or_else(|| {
                    format!("`{name}` could not be found in the files saved earlier in this run")
                })?;
                described.push(format!("{field}={name} ({} bytes)", bytes.len()));
                parts.push((field, name, bytes));
            }
            step.request_body = format!(
                "multipart: {}{}",
                data.as_ref().map(|d| format!("{d} + ")).unwrap_or_default(),
                described.join(", ")
            );
            return Ok(Body::Multipart {
                fields,
                files: parts,
            });
        }
        let cast = item
            .get("cast_data_to_json")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let text = match data {
            None => return Ok(Body::None),
            // A text body (not a JSON tree) goes out as written.
            Some(Value::String(text)) => text,
            Some(d) => match content_type.as_deref() {
                Some(ct) if ct.contains("x-www-form-urlencoded") => form_encode(&d),
                // JSON, or nothing said: JSON (with its Content-Type).
                None if cast => {
                    headers.push(("Content-Type".into(), "application/json".into()));
                    d.to_string()
                }
                _ => d.to_string(),
            },
        };
        step.request_body = text.clone();
        Ok(Body::Text(text))
    }

    /// Effective headers: the item's own if it has any, else the
    /// manifest's (replacement, not merge); names and values rendered;
    /// `Authorization: Basic user:pass` base64-encoded.
    pub(super) async fn headers(&mut self, item: &Value) -> Result<Vec<(String, String)>, String> {
        let own = item
            .get("headers")
            .and_then(Value::as_object)
            .filter(|h| !h.is_empty());
        let source = match own {
            Some(h) => h.clone(),
            None => self
                .manifest
                .get("headers")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        };
        let mut out = Vec::with_capacity(source.len());
        for (k, v) in &source {
            let raw = plain_text(v);
            let name = self.render(k).await?;
            // A name may be a template: what it renders to is checked too.
            if let Some(why) = header_refusal(&name) {
                return Err(why);
            }
            let value = match raw.strip_prefix("Basic ") {
                Some(creds) if name == "Authorization" => {
                    let creds = self.render(creds).await?;
                    self.masker.add_basic(&creds);
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(creds)
                    )
                }
                _ => self.render(&raw).await?,
            };
            out.push((name, value));
        }
        Ok(out)
    }

    /// `extra_headers: "pritunl"`: Pritunl's API signature headers, from
    /// the config values `API_TOKEN`/`API_SECRET` (or `PRITUNL_API_*`).
    pub(super) fn pritunl_headers(
        &self,
        method: &str,
        url: &url::Url,
    ) -> Result<Vec<(String, String)>, String> {
        use hmac::{Hmac, Mac};
        let value = |a: &str, b: &str| self.scope.text(a).or_else(|| self.scope.text(b));
        let (Some(token), Some(secret)) = (
            value("API_TOKEN", "PRITUNL_API_TOKEN"),
            value("API_SECRET", "PRITUNL_API_SECRET"),
        ) else {
            return Err(
                "extra_headers pritunl needs the config values API_TOKEN and API_SECRET".into(),
            );
        };
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let nonce = format!("{:032x}", rand::random::<u128>());
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let message = [
            token.as_str(),
            &timestamp,
            &nonce,
            &method.to_uppercase(),
            &path,
        ]
        .join("&");
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(message.as_bytes());
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        Ok(vec![
            ("Auth-Token".into(), token),
            ("Auth-Timestamp".into(), timestamp),
            ("Auth-Nonce".into(), nonce),
            ("Auth-Signature".into(), signature),
        ])
    }
}

fn form_encode(v: &Value) -> String {
    let pairs: Vec<(String, String)> = match v {
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), plain_text(v))).collect(),
        _ => Vec::new(),
    };
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}
