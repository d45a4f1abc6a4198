//! Waiting between polling attempts without holding a slot (issue 25, item
//! 1): a run that would sleep gives its slot back and is rescheduled, with
//! a checkpoint of what it had done and kept, so that it resumes where it
//! stopped: earlier requests are never sent again.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Runner;

/// Where and for how long a run stopped to wait.
pub(super) struct Parked {
    /// The execute item being polled.
    pub(super) item: usize,
    /// Requests made for it so far.
    pub(super) made: u64,
    /// The wait before the next request.
    pub(super) after: Duration,
}

/// What a waiting run resumes from: stored sealed with the run, since it
/// holds responses and generated secrets.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The execute item being polled, and the requests made for it.
    pub item: usize,
    pub made: u64,
    /// The earlier items' parsed responses (`responses.N`).
    pub responses: Vec<Value>,
    /// `store_data` values so far.
    pub stored: Map<String, Value>,
    /// The run's `generate` values, sent already and kept to the end.
    pub generated: Map<String, Value>,
    /// Files saved with `save_as_file`, base64.
    pub files: BTreeMap<String, String>,
    /// Bytes kept so far (counted against the run's bound).
    pub kept: usize,
    /// Whether the run already refreshed its OAuth token.
    pub refreshed: bool,
    /// Set on checkpoints the runner made: a default one resumes nothing.
    pub parked: bool,
}

impl Checkpoint {
    /// The item and request count to resume at, if any.
    pub(super) fn position(&self) -> Option<(usize, u64)> {
        self.parked.then_some((self.item, self.made))
    }

    /// The saved files, decoded.
    pub(super) fn files(&self) -> HashMap<String, Vec<u8>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        self.files
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), b64.decode(v).ok()?)))
            .collect()
    }
}

impl Runner<'_> {
    /// Whether a wait of `wait` gives the slot back rather than sleeping.
    pub(super) fn parks(&self, wait: Duration) -> bool {
        self.park_by
            .is_some_and(|deadline| std::time::Instant::now() + wait > deadline)
    }

    /// The checkpoint of a run stopped at `p`.
    pub(super) fn checkpoint(&self, p: &Parked) -> Checkpoint {
        let b64 = base64::engine::general_purpose::STANDARD;
        Checkpoint {
            item: p.item,
            made: p.made,
            responses: self
                .responses
                .iter()
                .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                .collect(),
            stored: self.stored.clone(),
            generated: self.generated.clone(),
            files: self
                .files
                .iter()
                .map(|(k, v)| (k.clone(), b64.encode(v)))
                .collect(),
            kept: self.kept,
            refreshed: self.refreshed,
            parked: true,
        }
    }
}
