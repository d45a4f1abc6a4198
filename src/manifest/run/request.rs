//! One HTTP exchange per docs/manifests.md §1.3: URL rendered and checked
//! against the target policy, sent through `outbound`, logged as a masked
//! step; a 401 retried once after an OAuth refresh.

use std::time::Instant;

use serde_json::Value;

use super::body::Parts;
use super::{Response, Runner, Step, Target, LOG_CAP};
use crate::manifest::render::plain_text;
use crate::manifest::validate::targets::url_refusal;
use crate::outbound::read::read_limited;
use crate::outbound::redirects::{self, Body, Outgoing};

impl Runner<'_> {
    /// One request, retried once after an OAuth refresh if it got a 401.
    pub async fn request(&mut self, item: &Value, label: &str) -> Result<Response, String> {
        self.request_to(item, label, Target::Template).await
    }

    /// [`Runner::request`] to `target`.
    pub(super) async fn request_to(
        &mut self,
        item: &Value,
        label: &str,
        target: Target<'_>,
    ) -> Result<Response, String> {
        let result = self.request_once(item, label, target).await;
        // The step just logged says what came back, whatever `status_code` made of it.
        let unauthorized = self.steps.last().is_some_and(|s| s.status == Some(401));
        if unauthorized
            && !self.refreshed
            && self.oauth.is_some()
            && self.manifest.pointer("/oauth/refresh").is_some()
        {
            self.refresh().await?;
            return self
                .request_once(item, &format!("{label} after refresh"), target)
                .await;
        }
        result
    }

    /// A further page of a sync: a `GET` of `url`, used as written (never
    /// rendered: it may come from the third party's answer), with the
    /// manifest's headers, only on the origin of the request that gave the
    /// first page. Anything else is refused and logged as a failed step.
    pub async fn page(&mut self, url: &str, label: &str) -> Result<Response, String> {
        let first = self.last_url.clone();
        let resolved = match &first {
            Some(f) => f.join(url.trim()),
            None => url::Url::parse(url.trim()),
        };
        let refusal = match (&resolved, &first) {
            (Err(e), _) => Some(format!("the next page URL is invalid ({e}): {url}")),
            (Ok(next), Some(f)) if next.origin() != f.origin() => Some(format!(
                "the next page URL {next} is not on the first page's origin ({}); pages are only fetched from there, so the manifest's credentials stay with it",
                f.origin().ascii_serialization()
            )),
            _ => None,
        };
        if let Some(error) = refusal {
            let error = self.masker.mask(&error);
            let mut step = Step::new(label, self.masker.mask(url), "GET");
            step.error = Some(error.clone());
            self.steps.push(step);
            return Err(error);
        }
        let next = resolved.expect("refused above").to_string();
        let item = serde_json::json!({"method": "GET"});
        let result = self.request_to(&item, label, Target::Literal(&next)).await;
        // Every page is measured against the first one's origin.
        self.last_url = first;
        result
    }

    /// One HTTP exchange per §1.3, logged as a step.
    pub(super) async fn request_once(
        &mut self,
        item: &Value,
        label: &str,
        target: Target<'_>,
    ) -> Result<Response, String> {
        let started = Instant::now();
        let method = item.get("method").and_then(Value::as_str).unwrap_or("POST");
        let mut step = Step::new(label, String::new(), &method.to_uppercase());
        let result = self.exchange(item, &mut step, target).await;
        step.duration_ms = started.elapsed().as_millis() as i64;
        if let Err(e) = &result {
            step.error = Some(self.masker.mask(e));
        }
        step.url = self.masker.mask(&step.url);
        step.request_body = self.masker.mask(&step.request_body);
        for v in step.request_headers.values_mut() {
            if let Value::String(s) = v {
                *s = self.masker.mask(s);
            }
        }
        // The step log is kept until the run ends: it counts as kept.
        let logged = step.url.len() + step.request_body.len() + step.response_body.len();
        let result = match self.kept.keep(logged, &format!("the step log of {label}")) {
            Ok(()) => result,
            Err(e) => {
                step.error = Some(e.clone());
                Err(e)
            }
        };
        self.steps.push(step);
        // Errors quote rendered URLs: masked here, where every request's
        // error is produced, so no caller can store or answer one in clear.
        result.map_err(|e| self.masker.mask(&e))
    }

    pub(super) async fn exchange(
        &mut self,
        item: &Value,
        step: &mut Step,
        target: Target<'_>,
    ) -> Result<Response, String> {
        let url = match target {
            Target::Template => {
                let template = item.get("url").map(plain_text).unwrap_or_default();
                self.render(&template).await?
            }
            Target::Literal(u) => u.to_string(),
        };
        step.url = url.clone();
        let parsed =
            url::Url::parse(url.trim()).map_err(|e| format!("the url is invalid ({e}): {url}"))?;
        if let Some(why) = url_refusal(&parsed) {
            return Err(format!("the url is invalid ({why}): {url}"));
        }
        self.svc.policy.check_literal(&parsed)?;
        self.last_url = Some(parsed.clone());
        let method = reqwest::Method::from_bytes(step.method.as_bytes())
            .map_err(|_| format!("unknown method {}", step.method))?;
        let mut parts = Parts {
            renderer: &self.svc.renderer,
            scope: &self.scope,
            manifest: &self.manifest,
            files: &self.kept.files,
            masker: &mut self.masker,
        };
        let mut headers = parts.headers(item).await?;
        if item.get("extra_headers").and_then(Value::as_str) == Some("pritunl") {
            let extra = parts.pritunl_headers(&step.method, &parsed)?;
            headers.retain(|(k, _)| !extra.iter().any(|(e, _)| e.eq_ignore_ascii_case(k)));
            headers.extend(extra);
        }
        let body = parts.body(item, step, &mut headers).await?;
        for (k, v) in &headers {
            if matches!(body, Body::Multipart { .. }) && k.eq_ignore_ascii_case("content-type") {
                continue;
            }
            step.request_headers
                .insert(k.clone(), Value::String(v.clone()));
        }
        let out = Outgoing {
            method,
            url: parsed,
            headers,
            body,
            timeout: self.timeout,
            cross_origin: item.get("allow_cross_origin_redirects") == Some(&Value::Bool(true)),
        };
        let resp = redirects::send(&self.svc.http, &self.svc.policy, out).await?;
        let status = resp.status().as_u16();
        step.status = Some(status);
        let bytes = read_limited(resp, self.svc.bounds.response_bytes)
            .await
            .map_err(|e| format!("{e} (HOOKRELAY_RUN_MAX_RESPONSE_BYTES)"))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        step.response_body = if item.get("save_as_file").is_some() {
            format!("({} bytes, saved as a file)", bytes.len())
        } else {
            // Masked before it is cut: a secret at the cut is masked whole.
            let (logged, cut) = self.masker.mask_capped(&text, LOG_CAP);
            step.response_truncated = cut;
            logged
        };
        check_status(item, status)?;
        let size = bytes.len();
        // One copy of the body is kept, in the form it is used in.
        let keep_bytes = item.get("save_as_file").is_some();
        Ok(Response {
            status,
            text: if json.is_none() { text } else { String::new() },
            json,
            bytes: if keep_bytes { bytes } else { Vec::new() },
            size,
        })
    }
}

/// `status_code` (numbers or numeric strings): the allowed statuses; when
/// absent every completed exchange counts, as in the reference.
fn check_status(item: &Value, status: u16) -> Result<(), String> {
    let Some(Value::Array(allowed)) = item.get("status_code") else {
        return Ok(());
    };
    if allowed.is_empty() {
        return Ok(());
    }
    let codes: Vec<u64> = allowed
        .iter()
        .filter_map(|c| match c {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .collect();
    if codes.contains(&u64::from(status)) {
        Ok(())
    } else {
        Err(format!(
            "status code {status} not in the allowed list {codes:?}"
        ))
    }
}
