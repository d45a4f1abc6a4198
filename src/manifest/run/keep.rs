//! What one run may read and keep (issue 25, item 2): a bound on each
//! response read, and one on everything the run holds until it ends
//! (parsed responses, saved files, a sync's records, its step log). A
//! bound that is hit fails the step, saying which setting it is.

use std::collections::HashMap;

use minijinja::value::Value as JValue;
use serde_json::{Map, Value};

use super::Checkpoint;
use crate::manifest::render::to_template;

/// The bounds of one run (`HOOKRELAY_RUN_MAX_RESPONSE_BYTES`,
/// `HOOKRELAY_RUN_MAX_KEPT_BYTES`).
#[derive(Debug, Clone, Copy)]
pub struct RunBounds {
    /// Bytes of one response read at most.
    pub response_bytes: usize,
    /// Bytes one run keeps at most.
    pub kept_bytes: usize,
}

impl Default for RunBounds {
    fn default() -> Self {
        RunBounds {
            response_bytes: 20 * 1024 * 1024,
            kept_bytes: 32 * 1024 * 1024,
        }
    }
}

/// What one run keeps until it ends, and the bytes that counts as: parsed
/// responses, `store_data` values, `generate` values, saved files. A run
/// that waits between polling attempts carries all of it in its
/// checkpoint.
pub(super) struct Kept {
    /// `responses.N`, converted for templates once each.
    pub(super) responses: Vec<JValue>,
    /// `store_data` values so far.
    pub(super) stored: Map<String, Value>,
    /// This run's `generate` values (kept across a wait).
    pub(super) generated: Map<String, Value>,
    /// Files saved with `save_as_file`.
    pub(super) files: HashMap<String, Vec<u8>>,
    /// Bytes this run keeps (responses, files, records, step log).
    bytes: usize,
    /// At most this many (`HOOKRELAY_RUN_MAX_KEPT_BYTES`).
    limit: usize,
}

impl Kept {
    /// What a run resuming from `resume` had kept (nothing for a new run),
    /// with its `generate` values, under `limit` bytes.
    pub(super) fn resumed(
        resume: &Checkpoint,
        generated: Map<String, Value>,
        limit: usize,
    ) -> Kept {
        Kept {
            responses: resume.responses.iter().map(to_template).collect(),
            stored: Map::new(),
            generated,
            files: resume.files(),
            bytes: resume.kept,
            limit,
        }
    }

    /// Counts `n` more bytes kept by this run (`what` names them), or the
    /// error that fails the step when that passes the bound.
    pub(super) fn keep(&mut self, n: usize, what: &str) -> Result<(), String> {
        let limit = self.limit;
        if self.bytes.saturating_add(n) > limit {
            return Err(format!(
                "the run would keep more than {limit} bytes (HOOKRELAY_RUN_MAX_KEPT_BYTES): {what} \
                 of {n} bytes does not fit beside the {} bytes of responses, files, records and \
                 step log it holds",
                self.bytes
            ));
        }
        self.bytes += n;
        Ok(())
    }

    /// The bytes kept so far.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// About how many bytes `v` takes as JSON text (strings by length): what a
/// record or a response is counted as.
pub fn weight(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 4,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|v| weight(v) + 1).sum::<usize>(),
        Value::Object(o) => object_weight(o),
    }
}

/// [`weight`] of an object (a sync record).
pub fn object_weight(o: &serde_json::Map<String, Value>) -> usize {
    2 + o
        .iter()
        .map(|(k, v)| k.len() + 4 + weight(v))
        .sum::<usize>()
}
