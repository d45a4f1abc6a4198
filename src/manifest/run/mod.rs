//! Runs a manifest: `execute` (with polling, continue_if, store_data,
//! files and notifications), `exists`, `revoke`, OAuth token calls and form
//! option fetches. Every HTTP exchange becomes a [`Step`], with secrets
//! masked. Storage is the caller's business: this module only computes.

mod body;
mod execute;
mod notify;
mod oauth;
mod request;
mod step;

pub use step::{Access, Outcome, Response, RunResult, Step};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::mask::Masker;
use super::notify::Notifier;
use super::render::{plain_text, Renderer};
use crate::outbound::guard::TargetPolicy;

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
    /// The organization the run is for (its notification allowance).
    pub organization: String,
    pub manifest: Value,
    pub user: Option<UserContext>,
    /// `initial_data_form` values (secret).
    pub config: Map<String, Value>,
    /// The stored OAuth token object, if connected.
    pub oauth: Option<Value>,
    pub form: Map<String, Value>,
    pub redirect_url: String,
}

/// One run in progress.
pub struct Runner<'a> {
    svc: &'a Services,
    organization: String,
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
            organization: input.organization,
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

    /// The steps logged so far (for callers that run several parts).
    pub fn into_steps(self) -> Vec<Step> {
        self.steps
    }
}

fn failed(error: String, retryable: bool) -> Outcome {
    Outcome::Failed { error, retryable }
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
