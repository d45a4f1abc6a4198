//! What a run produces: its logged steps, its outcome, responses and
//! `exists` answers.

use serde::Serialize;
use serde_json::{Map, Value};

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
    pub(super) fn new(label: &str, url: String, method: &str) -> Step {
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
    /// Waits between polling attempts, holding no slot: the run resumes
    /// from [`RunResult::waiting`]'s checkpoint after the wait.
    Waiting,
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
    /// For [`Outcome::Waiting`]: the wait, and where the run resumes.
    pub waiting: Option<(std::time::Duration, super::Checkpoint)>,
}

/// A completed HTTP exchange. The body is held once: parsed when it is
/// JSON, as text when it is not, and as bytes only for `save_as_file`.
pub struct Response {
    pub status: u16,
    pub json: Option<Value>,
    /// The body as text when it is not JSON ("" otherwise).
    pub text: String,
    /// The raw body, for `save_as_file` items only (empty otherwise).
    pub bytes: Vec<u8>,
    /// The body's size in bytes.
    pub size: usize,
}

/// `exists` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    HasAccess,
    NoAccess,
    Unknown,
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
