//! Runs a manifest: `execute` (with polling, continue_if, store_data,
//! files and notifications), `exists`, `revoke`, OAuth token calls and form
//! option fetches. Every HTTP exchange becomes a [`Step`], with secrets
//! masked. Storage is the caller's business: this module only computes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use super::mask::Masker;
use super::notify::Notifier;
use super::outbound::{self, Body, Outgoing};
use super::render::{lookup, plain_text, Renderer};
use crate::delivery::guard::TargetPolicy;

/// Response bodies are logged up to this size.
const LOG_CAP: usize = 64 * 1024;
/// How long an `exists` check may take.
const EXISTS_TIMEOUT: Duration = Duration::from_secs(8);

/// What a run needs besides the manifest.
pub struct Services {
    pub http: reqwest::Client,
    pub policy: TargetPolicy,
    pub notifier: Notifier,
    pub renderer: Renderer,
}

/// Where a request goes.
#[derive(Clone, Copy)]
enum Target<'t> {
    /// The item's `url`, rendered.
    Template,
    /// A URL taken as it is (a next page from a response): never rendered.
    Literal(&'t str),
}

/// The user a run is for, as templates see them.
#[derive(Clone, Default)]
pub struct UserContext {
    /// `email, first_name, last_name, position, department, start, manager,
    /// manager_email, buddy, buddy_email, access_overview`.
    pub builtins: Map<String, Value>,
    pub extra_fields: Map<String, Value>,
    pub phone: String,
}

/// Inputs of one run.
pub struct RunInput {
    pub manifest: Value,
    pub user: Option<UserContext>,
    /// `initial_data_form` values (secret).
    pub config: Map<String, Value>,
    /// The stored OAuth token object, if connected.
    pub oauth: Option<Value>,
    pub form: Map<String, Value>,
    pub redirect_url: String,
}

/// One logged exchange (or notification).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `execute[0]`, `execute[0] poll 2`, `exists`, `oauth.refresh`, `post_execute_notification[1]`…
    pub label: String,
    pub url: String,
    pub method: String,
    pub request_headers: Map<String, Value>,
    pub request_body: String,
    pub status: Option<u16>,
    pub response_body: String,
    pub response_truncated: bool,
    pub duration_ms: i64,
    pub error: Option<String>,
}

impl Step {
    /// A step before anything was sent: its label, URL and method.
    fn new(label: &str, url: String, method: &str) -> Step {
        Step {
            label: label.to_string(),
            url,
            method: method.to_string(),
            request_headers: Map::new(),
            request_body: String::new(),
            status: None,
            response_body: String::new(),
            response_truncated: false,
            duration_ms: 0,
            error: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// A request failed; `retryable` when another attempt may succeed.
    Failed {
        error: String,
        retryable: bool,
    },
    /// A `continue_if` condition did not hold.
    Blocked {
        reason: String,
    },
}

/// Everything a run produced.
pub struct RunResult {
    pub outcome: Outcome,
    pub steps: Vec<Step>,
    /// `store_data` values, for the user's `extra_fields`.
    pub stored: Map<String, Value>,
    /// The OAuth token after a refresh, to be stored.
    pub oauth: Option<Value>,
    /// The last response (sync runs read users from it).
    pub last_response: Option<Value>,
}

/// A completed HTTP exchange.
pub struct Response {
    pub status: u16,
    pub json: Option<Value>,
    pub text: String,
    pub bytes: Vec<u8>,
}

/// `exists` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    HasAccess,
    NoAccess,
    Unknown,
}

/// One run in progress.
pub struct Runner<'a> {
    svc: &'a Services,
    manifest: Value,
    /// Shared with the blocking threads templates render on; changed
    /// copy-on-write between renders.
    ctx: Arc<Map<String, Value>>,
    /// Context keys nothing may replace once set (config values, `oauth`…).
    protected: Vec<String>,
    masker: Masker,
    steps: Vec<Step>,
    files: HashMap<String, Vec<u8>>,
    responses: Vec<Value>,
    stored: Map<String, Value>,
    oauth: Option<Value>,
    oauth_changed: bool,
    refreshed: bool,
    has_user: bool,
    phone: String,
    /// Per-request timeout, when shorter than the client's (access checks).
    timeout: Option<Duration>,
    /// Where the last request went (sync pagination stays on its origin).
    last_url: Option<url::Url>,
}

impl<'a> Runner<'a> {
    /// Builds the template context (docs/manifests.md §3.3) and the masker.
    ///
    /// Values a caller or a third party can influence go in first: user
    /// fields, form values (only ids of the manifest's `form`), then the
    /// user's `extra_fields` (which other integrations' `store_data` write).
    /// Config values, generated values, `oauth` and `redirect_url` come last
    /// and are protected: nothing set later in the run replaces them either.
    /// Otherwise a form value `DOMAIN` could send `Bearer {{ API_TOKEN }}` to
    /// the caller's host.
    pub fn new(svc: &'a Services, input: RunInput) -> Runner<'a> {
        let mut ctx = Map::new();
        let mut masker = Masker::default();
        let has_user = input.user.is_some();
        let user = input.user.unwrap_or_default();
        ctx.extend(user.builtins);
        let form_ids = form_ids(&input.manifest);
        ctx.extend(
            input
                .form
                .into_iter()
                .filter(|(k, _)| form_ids.iter().any(|id| id == k)),
        );
        ctx.extend(user.extra_fields);
        let mut config = input.config;
        // `generate` items: a fresh value every run, masked like any secret.
        for item in list(&input.manifest, "initial_data_form") {
            if item.get("name").and_then(Value::as_str) == Some("generate") {
                if let Some(id) = item.get("id").and_then(Value::as_str) {
                    config.insert(id.to_string(), Value::String(generated()));
                }
            }
        }
        masker.add_config(&config);
        let mut protected: Vec<String> = config.keys().cloned().collect();
        protected.extend(["oauth", "redirect_url", "responses"].map(String::from));
        ctx.extend(config);
        match &input.oauth {
            Some(o) => {
                masker.add_tree("oauth", o);
                ctx.insert("oauth".into(), o.clone());
            }
            // A user field named `oauth` must not pose as the token either.
            None => {
                ctx.remove("oauth");
            }
        }
        ctx.insert("redirect_url".into(), Value::String(input.redirect_url));
        ctx.insert("responses".into(), Value::Array(Vec::new()));
        Runner {
            svc,
            manifest: input.manifest,
            ctx: Arc::new(ctx),
            protected,
            masker,
            steps: Vec::new(),
            files: HashMap::new(),
            responses: Vec::new(),
            stored: Map::new(),
            oauth: input.oauth,
            oauth_changed: false,
            refreshed: false,
            has_user,
            phone: user.phone,
            timeout: None,
            last_url: None,
        }
    }

    /// A context value (sync runs set `NEXT_PAGE_TOKEN`); config values,
    /// `oauth`, `redirect_url` and `responses` are never replaced.
    pub fn set(&mut self, key: &str, v: Value) {
        if !self.protected.iter().any(|p| p == key) {
            Arc::make_mut(&mut self.ctx).insert(key.to_string(), v);
        }
    }

    /// The text with this run's secrets masked (for errors built outside
    /// the runner from what it rendered).
    pub fn mask(&self, text: &str) -> String {
        self.masker.mask(text)
    }

    /// Renders a template with this run's context (off the async runtime).
    pub async fn render(&self, template: &str) -> Result<String, String> {
        self.svc
            .renderer
            .text_off_runtime(template.to_string(), self.ctx.clone())
            .await
    }

    /// Renders a template, or keeps it as written if it does not render.
    async fn render_or_keep(&self, template: String) -> String {
        match self.render(&template).await {
            Ok(t) => t,
            Err(_) => template,
        }
    }

    /// Ends the run: its outcome with everything logged.
    pub fn finish(self, outcome: Outcome, last: Option<Value>) -> RunResult {
        // Errors quote rendered URLs and responses: mask them like steps.
        let outcome = match outcome {
            Outcome::Failed { error, retryable } => Outcome::Failed {
                error: self.masker.mask(&error),
                retryable,
            },
            Outcome::Blocked { reason } => Outcome::Blocked {
                reason: self.masker.mask(&reason),
            },
            ok => ok,
        };
        RunResult {
            outcome,
            steps: self.steps,
            stored: self.stored,
            oauth: self.oauth_changed.then_some(self.oauth).flatten(),
            last_response: last,
        }
    }

    /// The `execute` items in order, then the notifications.
    pub async fn execute(mut self) -> RunResult {
        let (outcome, last) = self.execute_items(true).await;
        self.finish(outcome, last)
    }

    /// The `execute` items (and, with `notify`, the notifications): the
    /// outcome and the last response.
    pub async fn execute_items(&mut self, notify: bool) -> (Outcome, Option<Value>) {
        if let Err(e) = self.refresh_if_due().await {
            return (failed(e, true), None);
        }
        let items: Vec<Value> = list(&self.manifest, "execute").cloned().collect();
        let mut last = None;
        for (i, item) in items.iter().enumerate() {
            let label = format!("execute[{i}]");
            let mut result = self.request(item, &label).await;
            if let Some(polling) = item.get("polling") {
                result = self.poll(item, polling, &label, result).await;
            }
            if let Some(cond) = item.get("continue_if") {
                if !self.condition_holds(cond, result.as_ref().ok()).await {
                    let shown = match &result {
                        Ok(r) => self.masker.mask(&r.text_or_json()),
                        Err(e) => e.clone(),
                    };
                    let reason = format!(
                        "{label}: continue_if {} == {:?} did not hold; response: {}",
                        cond.get("response_notation")
                            .map(plain_text)
                            .unwrap_or_default(),
                        cond.get("value").map(plain_text).unwrap_or_default(),
                        cap(&shown, 2000)
                    );
                    return (Outcome::Blocked { reason }, None);
                }
            }
            let response = match result {
                Ok(r) => r,
                Err(e) => return (failed(format!("{label}: {e}"), true), None),
            };
            if let Some(name) = item.get("save_as_file").and_then(Value::as_str) {
                self.files.insert(name.to_string(), response.bytes.clone());
            }
            let parsed = response.json.clone().unwrap_or(Value::Object(Map::new()));
            self.responses.push(parsed.clone());
            Arc::make_mut(&mut self.ctx)
                .insert("responses".into(), Value::Array(self.responses.clone()));
            if let Some(Value::Object(store)) = item.get("store_data") {
                for (prop, notation) in store {
                    let notation = plain_text(notation);
                    match lookup(&parsed, &notation) {
                        Some(v) => {
                            self.stored.insert(prop.clone(), v.clone());
                            self.set(prop, v.clone());
                        }
                        None => {
                            let shown = self.masker.mask(&parsed.to_string());
                            let error = format!(
                                "{label}: store_data {prop}: '{notation}' not found in the response {}",
                                cap(&shown, 2000)
                            );
                            return (failed(error, false), None);
                        }
                    }
                }
            }
            last = Some(parsed);
        }
        if notify {
            self.notify().await;
        }
        (Outcome::Succeeded, last)
    }

    /// Polls until `continue_if` holds or `amount` requests were made.
    async fn poll(
        &mut self,
        item: &Value,
        polling: &Value,
        label: &str,
        first: Result<Response, String>,
    ) -> Result<Response, String> {
        let interval = polling
            .get("interval")
            .and_then(Value::as_f64)
            .unwrap_or(5.0);
        let amount = polling.get("amount").and_then(Value::as_u64).unwrap_or(1);
        let cond = item.get("continue_if").cloned().unwrap_or(Value::Null);
        let mut result = first;
        let mut made = 1;
        while made < amount && !self.condition_holds(&cond, result.as_ref().ok()).await {
            tokio::time::sleep(Duration::from_secs_f64(interval.clamp(0.0, 3600.0))).await;
            made += 1;
            result = self.request(item, &format!("{label} poll {made}")).await;
        }
        result
    }

    /// `continue_if`: the rendered `value` equals the text at
    /// `response_notation` (compared as text, so `5` matches `"5"`). A failed
    /// or non-JSON response never satisfies it.
    async fn condition_holds(&self, cond: &Value, response: Option<&Response>) -> bool {
        let Some(json) = response.and_then(|r| r.json.as_ref()) else {
            return false;
        };
        let notation = cond
            .get("response_notation")
            .map(plain_text)
            .unwrap_or_default();
        let value = cond.get("value").map(plain_text).unwrap_or_default();
        let expected = self.render_or_keep(value).await;
        lookup(json, &notation).is_some_and(|found| plain_text(found) == expected)
    }

    /// Sends every `post_execute_notification`, logging each as a step.
    async fn notify(&mut self) {
        let items: Vec<Value> = list(&self.manifest, "post_execute_notification")
            .cloned()
            .collect();
        for (i, n) in items.iter().enumerate() {
            let field = |k: &str| n.get(k).map(plain_text).unwrap_or_default();
            let to = self.render_or_keep(field("to")).await;
            let subject = self.render_or_keep(field("subject")).await;
            let message = self.render_or_keep(field("message")).await;
            let kind = n.get("type").and_then(Value::as_str).unwrap_or("email");
            let started = Instant::now();
            let (url, result) = if kind == "text" {
                // The user's phone, as the reference does; `to` when they have none.
                let phone = if self.phone.is_empty() {
                    to.clone()
                } else {
                    self.phone.clone()
                };
                let r = self.svc.notifier.text(&phone, &message).await;
                (format!("sms:{phone}"), r.map(|s| format!("HTTP {s}")))
            } else {
                (
                    format!("mailto:{to}"),
                    self.svc.notifier.email(&to, &subject, &message).await,
                )
            };
            let body = if kind == "text" {
                message
            } else {
                format!("Subject: {subject}\n\n{message}")
            };
            let (response_body, error) = match result {
                Ok(r) => (r, None),
                Err(e) => (String::new(), Some(e)),
            };
            self.steps.push(Step {
                label: format!("post_execute_notification[{i}]"),
                url: self.masker.mask(&url),
                method: kind.to_uppercase(),
                request_headers: Map::new(),
                request_body: self.masker.mask(&body),
                status: None,
                response_body: self.masker.mask(&response_body),
                response_truncated: false,
                duration_ms: started.elapsed().as_millis() as i64,
                error: error.map(|e| self.masker.mask(&e)),
            });
        }
    }

    /// `exists`: has_access when the response contains the rendered
    /// `expected`, no_access when it does not, unknown when the request fails.
    pub async fn exists(mut self) -> (Access, RunResult) {
        let Some(item) = self
            .manifest
            .get("exists")
            .cloned()
            .filter(|e| e.as_object().is_some_and(|o| !o.is_empty()))
        else {
            return (Access::Unknown, self.finish(Outcome::Succeeded, None));
        };
        if let Err(e) = self.refresh_if_due().await {
            return (Access::Unknown, self.finish(failed(e, false), None));
        }
        // Someone is waiting for the answer: an unreachable service is
        // `unknown` after a few seconds, not after the full timeout.
        self.timeout = Some(EXISTS_TIMEOUT);
        // The documented legacy switch: `true` makes a 4xx/5xx answer a failed
        // check (unknown); `false` or absent reads any answer for `expected`.
        let fail_on_error_status =
            item.get("fail_when_4xx_response_code") == Some(&Value::Bool(true));
        let access = match self.request(&item, "exists").await {
            Err(_) => Access::Unknown,
            Ok(r) if fail_on_error_status && r.status >= 400 => Access::Unknown,
            Ok(r) => {
                if self.expected_found(&item, &r).await {
                    Access::HasAccess
                } else {
                    Access::NoAccess
                }
            }
        };
        (access, self.finish(Outcome::Succeeded, None))
    }

    /// `expected` rendered, then a substring test on the raw response (the
    /// unmasked one: masking first makes a secret-bearing answer miss).
    async fn expected_found(&self, item: &Value, r: &Response) -> bool {
        let expected = item.get("expected").map(plain_text).unwrap_or_default();
        let expected = self.render_or_keep(expected).await;
        if expected.is_empty() {
            return true;
        }
        r.text_or_json().contains(&expected)
    }

    /// Every `revoke` item in order; stops at the first failure or missing
    /// `expected`.
    pub async fn revoke(mut self) -> RunResult {
        if let Err(e) = self.refresh_if_due().await {
            return self.finish(failed(e, false), None);
        }
        let items: Vec<Value> = list(&self.manifest, "revoke").cloned().collect();
        for (i, item) in items.iter().enumerate() {
            let label = format!("revoke[{i}]");
            match self.request(item, &label).await {
                Err(e) => return self.finish(failed(format!("{label}: {e}"), false), None),
                Ok(r) if item.get("expected").is_some() && !self.expected_found(item, &r).await => {
                    let error = format!(
                        "{label}: the response does not contain the expected text: {}",
                        cap(&self.masker.mask(&r.text_or_json()), 2000)
                    );
                    return self.finish(failed(error, false), None);
                }
                Ok(_) => {}
            }
        }
        self.finish(Outcome::Succeeded, None)
    }

    /// Runs `oauth.access_token` with the callback's `code` (or without one)
    /// and returns the token object to store.
    /// With PKCE, `verifier` is appended as `code_verifier` the same way as
    /// the code, and templates see it as `{{ code_verifier }}`.
    pub async fn oauth_access(
        mut self,
        code: Option<&str>,
        verifier: Option<&str>,
    ) -> (Result<Value, String>, Vec<Step>) {
        let Some(mut item) = self.manifest.pointer("/oauth/access_token").cloned() else {
            return (
                Err("the manifest has no oauth.access_token".into()),
                self.steps,
            );
        };
        let params = [("code", code), ("code_verifier", verifier)];
        for (name, value) in params {
            let (Some(value), Some(Value::String(url))) = (value, item.get("url").cloned()) else {
                continue;
            };
            let sep = if url.contains('?') { '&' } else { '?' };
            item["url"] = Value::String(format!("{url}{sep}{name}={}", urlencode(value)));
            self.masker.add(value, &format!("oauth {name}"));
        }
        if let Some(v) = verifier {
            Arc::make_mut(&mut self.ctx).insert("code_verifier".into(), Value::from(v));
        }
        let result = match self.request(&item, "oauth.access_token").await {
            Ok(r) => match r.json {
                Some(Value::Object(token)) if (200..300).contains(&r.status) => {
                    let token = stamp_expiry(Value::Object(token), None);
                    self.masker.add_tree("oauth", &token);
                    if let Some(step) = self.steps.last_mut() {
                        step.response_body = self.masker.mask(&step.response_body);
                    }
                    Ok(token)
                }
                _ => Err(format!(
                    "the token endpoint answered HTTP {} without a JSON object",
                    r.status
                )),
            },
            Err(e) => Err(e),
        };
        (result, self.steps)
    }

    /// Refreshes the OAuth token when it expires within 60 s.
    async fn refresh_if_due(&mut self) -> Result<(), String> {
        let Some(token) = &self.oauth else {
            return Ok(());
        };
        let due = token
            .get("expires_at")
            .and_then(Value::as_i64)
            .is_some_and(|at| at - chrono::Utc::now().timestamp() < 60);
        if due && self.manifest.pointer("/oauth/refresh").is_some() {
            self.refresh().await?;
        }
        Ok(())
    }

    /// Runs `oauth.refresh` and merges its answer into the token.
    async fn refresh(&mut self) -> Result<(), String> {
        self.refreshed = true;
        let item = self
            .manifest
            .pointer("/oauth/refresh")
            .cloned()
            .ok_or("the manifest has no oauth.refresh")?;
        let r = self
            .request_once(&item, "oauth.refresh", Target::Template)
            .await
            .map_err(|e| format!("refreshing the OAuth token failed: {e}"))?;
        let Some(Value::Object(fresh)) = r.json.filter(|_| (200..300).contains(&r.status)) else {
            return Err(format!(
                "refreshing the OAuth token failed: HTTP {} without a JSON object",
                r.status
            ));
        };
        let mut token = self.oauth.clone().unwrap_or(Value::Object(Map::new()));
        if let Value::Object(t) = &mut token {
            t.extend(fresh);
        }
        let token = stamp_expiry(token, None);
        self.masker.add_tree("oauth", &token);
        // The refresh step was logged before its tokens were known secrets.
        if let Some(step) = self.steps.last_mut() {
            step.response_body = self.masker.mask(&step.response_body);
        }
        Arc::make_mut(&mut self.ctx).insert("oauth".into(), token.clone());
        self.oauth = Some(token);
        self.oauth_changed = true;
        Ok(())
    }

    /// One request, retried once after an OAuth refresh if it got a 401.
    pub async fn request(&mut self, item: &Value, label: &str) -> Result<Response, String> {
        self.request_to(item, label, Target::Template).await
    }

    /// [`Runner::request`] to `target`.
    async fn request_to(
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
    async fn request_once(
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
        step.response_body = self.masker.mask(&step.response_body);
        self.steps.push(step);
        // Errors quote rendered URLs: masked here, where every request's
        // error is produced, so no caller can store or answer one in clear.
        result.map_err(|e| self.masker.mask(&e))
    }

    async fn exchange(
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
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "the url is invalid (scheme must be http or https): {url}"
            ));
        }
        self.svc.policy.check_literal(&parsed)?;
        self.last_url = Some(parsed.clone());
        let method = reqwest::Method::from_bytes(step.method.as_bytes())
            .map_err(|_| format!("unknown method {}", step.method))?;
        let mut headers = self.headers(item).await?;
        if item.get("extra_headers").and_then(Value::as_str) == Some("pritunl") {
            let extra = self.pritunl_headers(&step.method, &parsed)?;
            headers.retain(|(k, _)| !extra.iter().any(|(e, _)| e.eq_ignore_ascii_case(k)));
            headers.extend(extra);
        }
        let body = self.body(item, step, &mut headers).await?;
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
        let resp = outbound::send(&self.svc.http, &self.svc.policy, out).await?;
        let status = resp.status().as_u16();
        step.status = Some(status);
        let bytes = outbound::read_capped(resp).await?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        step.response_truncated = bytes.len() > LOG_CAP;
        step.response_body = if item.get("save_as_file").is_some() {
            format!("({} bytes, saved as a file)", bytes.len())
        } else {
            cap(&text, LOG_CAP)
        };
        check_status(item, status)?;
        Ok(Response {
            status,
            json,
            text,
            bytes,
        })
    }

    /// The item's body (`data` rendered as a tree, `files`), logged in
    /// `step`; a JSON body without a Content-Type gets one in `headers`.
    async fn body(
        &mut self,
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
                self.svc
                    .renderer
                    .tree_off_runtime(d.clone(), self.ctx.clone())
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
    async fn headers(&mut self, item: &Value) -> Result<Vec<(String, String)>, String> {
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
    fn pritunl_headers(
        &self,
        method: &str,
        url: &url::Url,
    ) -> Result<Vec<(String, String)>, String> {
        use hmac::{Hmac, Mac};
        let value = |a: &str, b: &str| {
            self.ctx
                .get(a)
                .or_else(|| self.ctx.get(b))
                .map(plain_text)
                .filter(|v| !v.is_empty())
        };
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

    /// Fetches a form item's options: `[{value, name}]`.
    pub async fn form_options(&mut self, item: &Value) -> Result<Vec<Value>, String> {
        let source = match item.get("items") {
            Some(Value::Array(items)) => Value::Array(items.clone()),
            _ => {
                let r = self.request(item, "form options").await?;
                let json = r.json.ok_or("the options URL did not answer JSON")?;
                let from = item.get("data_from").map(plain_text).unwrap_or_default();
                lookup(&json, &from)
                    .cloned()
                    .ok_or_else(|| format!("'{from}' not found in the options response"))?
            }
        };
        let Value::Array(list) = source else {
            return Err("the options are not a list".into());
        };
        let value_key = item
            .get("choice_value")
            .map(plain_text)
            .unwrap_or_else(|| "id".into());
        let name_key = item
            .get("choice_name")
            .map(plain_text)
            .unwrap_or_else(|| "name".into());
        Ok(list
            .iter()
            .map(|o| {
                serde_json::json!({
                    "value": lookup(o, &value_key).cloned().unwrap_or(Value::Null),
                    "name": lookup(o, &name_key).cloned().unwrap_or(Value::Null),
                })
            })
            .collect())
    }

    /// The steps logged so far (for callers that run several parts).
    pub fn into_steps(self) -> Vec<Step> {
        self.steps
    }

    /// Whether a user is in this run's context.
    pub fn has_user(&self) -> bool {
        self.has_user
    }
}

impl Response {
    /// The body as text: the raw text, or for JSON its compact form.
    pub fn text_or_json(&self) -> String {
        match &self.json {
            Some(v) => v.to_string(),
            None => self.text.clone(),
        }
    }
}

fn failed(error: String, retryable: bool) -> Outcome {
    Outcome::Failed { error, retryable }
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

/// Adds `expires_at` (unix seconds) from `expires_in`, so expiry survives storage.
fn stamp_expiry(mut token: Value, now: Option<i64>) -> Value {
    let now = now.unwrap_or_else(|| chrono::Utc::now().timestamp());
    if let Some(secs) = token.get("expires_in").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    }) {
        token["expires_at"] = Value::from(now + secs);
    }
    token
}

/// The ids of the manifest's `form` items: the only form keys a run takes.
pub fn form_ids(manifest: &Value) -> Vec<String> {
    list(manifest, "form")
        .filter_map(|i| i.get("id").map(plain_text))
        .collect()
}

fn list<'v>(manifest: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    manifest
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A `generate` value: 16 random alphanumerics.
fn generated() -> String {
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

fn form_encode(v: &Value) -> String {
    let pairs: Vec<(String, String)> = match v {
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), plain_text(v))).collect(),
        _ => Vec::new(),
    };
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn cap(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
