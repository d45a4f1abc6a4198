//! Runs a manifest: `execute` (with polling, continue_if, store_data,
//! files and notifications), `exists`, `revoke`, OAuth token calls and form
//! option fetches. Every HTTP exchange becomes a [`Step`], with secrets
//! masked. Storage is the caller's business: this module only computes.

mod body;
mod execute;
mod keep;
mod notify;
mod oauth;
mod park;
mod request;
mod step;

pub use keep::{object_weight, weight, RunBounds};
pub use park::Checkpoint;
pub use step::{Access, Outcome, Response, RunResult, Step};

use keep::Kept;
use park::Parking;

use std::time::{Duration, Instant};

use minijinja::value::Value as JValue;
use serde_json::{Map, Value};

use super::mask::Masker;
use super::notify::Notifier;
use super::render::{plain_text, Renderer, Scope};
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
    /// What one run may read and keep.
    pub bounds: RunBounds,
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
    /// Where a run that waited between polling attempts resumes.
    pub resume: Option<Checkpoint>,
}

/// One run in progress.
pub struct Runner<'a> {
    svc: &'a Services,
    organization: String,
    manifest: Value,
    /// The template variables, shared with the blocking threads templates
    /// render on; each value converted once, when set.
    scope: Scope,
    /// Context keys nothing may replace once set (config values, `oauth`…).
    protected: Vec<String>,
    masker: Masker,
    steps: Vec<Step>,
    /// Responses, `store_data` and `generate` values, files: what the run
    /// keeps until it ends, within its bound.
    kept: Kept,
    oauth: Option<Value>,
    oauth_changed: bool,
    refreshed: bool,
    phone: String,
    /// Per-request timeout, when shorter than the client's (access checks).
    timeout: Option<Duration>,
    /// Where the last request went (sync pagination stays on its origin).
    last_url: Option<url::Url>,
    /// Whether a polling wait gives the slot back, where a resumed run
    /// picks up, and where it stopped.
    parking: Parking,
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
    /// the caller's host. A resumed run gets back what it had kept.
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
        let resume = input.resume.unwrap_or_default();
        // `generate` items: a fresh value every run (the same one after a
        // wait), masked like any secret.
        let mut generated = Map::new();
        for item in list(&input.manifest, "initial_data_form") {
            if item.get("name").and_then(Value::as_str) == Some("generate") {
                if let Some(id) = item.get("id").and_then(Value::as_str) {
                    let value = resume
                        .generated
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| Value::String(generated_value()));
                    generated.insert(id.to_string(), value);
                }
            }
        }
        config.extend(generated.clone());
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
        let mut scope = Scope::from_map(&ctx);
        let kept = Kept::resumed(&resume, generated, svc.bounds.kept_bytes);
        scope.set_converted("responses", JValue::from(kept.responses.clone()));
        let mut runner = Runner {
            svc,
            organization: input.organization,
            manifest: input.manifest,
            scope,
            protected,
            masker,
            steps: Vec::new(),
            kept,
            oauth: input.oauth,
            oauth_changed: false,
            refreshed: resume.refreshed,
            phone: user.phone,
            timeout: None,
            last_url: None,
            parking: Parking::resuming(resume.position()),
        };
        for (k, v) in resume.stored {
            runner.set(&k, v.clone());
            runner.kept.stored.insert(k, v);
        }
        runner
    }

    /// Waits between polling attempts that would end after `deadline` give
    /// the run's slot back (the run waits in the queue) instead of sleeping.
    pub fn park_by(&mut self, deadline: Instant) {
        self.parking.by(deadline);
    }

    /// A context value (sync runs set `NEXT_PAGE_TOKEN`); config values,
    /// `oauth`, `redirect_url` and `responses` are never replaced.
    pub fn set(&mut self, key: &str, v: Value) {
        if !self.protected.iter().any(|p| p == key) {
            self.scope.set(key, &v);
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
            .text_off_runtime(template.to_string(), self.scope.clone())
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
    pub fn finish(mut self, outcome: Outcome, last: Option<Value>) -> RunResult {
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
        let refreshed = self.refreshed;
        let waiting = self
            .parking
            .take()
            .map(|p| (p.after, Checkpoint::new(&p, &self.kept, refreshed)));
        RunResult {
            outcome,
            steps: self.steps,
            stored: self.kept.stored,
            oauth: self.oauth_changed.then_some(self.oauth).flatten(),
            last_response: last,
            waiting,
        }
    }

    /// The steps logged so far (for callers that run several parts).
    pub fn into_steps(self) -> Vec<Step> {
        self.steps
    }

    /// Counts `n` more bytes kept by this run (`what` names them: a sync's
    /// records), or the error that fails the step when that passes the
    /// bound (see [`RunBounds`]).
    pub(crate) fn keep(&mut self, n: usize, what: &str) -> Result<(), String> {
        self.kept.keep(n, what)
    }

    /// Marks the step just logged as failed with `error` (a bound its
    /// response passed once read).
    pub(crate) fn fail_last_step(&mut self, error: &str) {
        if let Some(step) = self.steps.last_mut() {
            step.error = Some(self.masker.mask(error));
        }
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
fn generated_value() -> String {
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
