//! What one run may read and keep (issue 25, item 2): a bound on each
//! response read, and one on everything the run holds until it ends
//! (parsed responses, saved files, a sync's records, its step log). A
//! bound that is hit fails the step, saying which setting it is.

use serde_json::Value;

use super::Runner;

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

impl Runner<'_> {
    /// Counts `n` more bytes kept by this run (`what` names them), or the
    /// error that fails the step when that passes the bound.
    pub(crate) fn keep(&mut self, n: usize, what: &str) -> Result<(), String> {
        let limit = self.svc.bounds.kept_bytes;
        if self.kept.saturating_add(n) > limit {
            return Err(format!(
                "the run would keep more than {limit} bytes (HOOKRELAY_RUN_MAX_KEPT_BYTES): {what} \
                 of {n} bytes does not fit beside the {} bytes of responses, files, records and \
                 step log it holds",
                self.kept
            ));
        }
        self.kept += n;
        Ok(())
    }

    /// Marks the step just logged as failed with `error` (a bound its
    /// response passed once read).
    pub(crate) fn fail_last_step(&mut self, error: &str) {
        if let Some(step) = self.steps.last_mut() {
            step.error = Some(self.masker.mask(error));
        }
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
