//! Waiting between polling attempts without holding a slot (issue 25, item
//! 1): a run that would sleep gives its slot back and is rescheduled, with
//! a checkpoint of what it had done and kept, so that it resumes where it
//! stopped: earlier requests are never sent again.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::keep::Kept;

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

    /// The checkpoint of a run stopped at `p`, with what it had kept.
    pub(super) fn new(p: &Parked, kept: &Kept, refreshed: bool) -> Checkpoint {
        let b64 = base64::engine::general_purpose::STANDARD;
        Checkpoint {
            item: p.item,
            made: p.made,
            responses: kept
                .responses
                .iter()
                .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                .collect(),
            stored: kept.stored.clone(),
            generated: kept.generated.clone(),
            files: kept
                .files
                .iter()
                .map(|(k, v)| (k.clone(), b64.encode(v)))
                .collect(),
            kept: kept.bytes(),
            refreshed,
            parked: true,
        }
    }
}

/// Whether and where a run stops to wait: the deadline past which a wait
/// gives the slot back, where a resumed run picks up, and where it stopped.
#[derive(Default)]
pub(super) struct Parking {
    /// A polling wait that would end after this gives the slot back
    /// instead (`None`: always waits in place, as the CLI does).
    by: Option<Instant>,
    /// Where a resumed run picks up: an execute item and its requests made.
    resume_at: Option<(usize, u64)>,
    /// Set when the run stops to wait between polling attempts.
    parked: Option<Parked>,
}

impl Parking {
    /// A run resuming at `resume_at` (`None`: from the start).
    pub(super) fn resuming(resume_at: Option<(usize, u64)>) -> Parking {
        Parking {
            resume_at,
            ..Parking::default()
        }
    }

    /// Waits that would end after `deadline` give the slot back.
    pub(super) fn by(&mut self, deadline: Instant) {
        self.by = Some(deadline);
    }

    /// Where to resume, once (the first pass through the items takes it).
    pub(super) fn take_resume(&mut self) -> Option<(usize, u64)> {
        self.resume_at.take()
    }

    /// Whether a wait of `wait` gives the slot back rather than sleeping.
    pub(super) fn parks(&self, wait: Duration) -> bool {
        self.by
            .is_some_and(|deadline| Instant::now() + wait > deadline)
    }

    /// The run stops at `p` to wait.
    pub(super) fn park(&mut self, p: Parked) {
        self.parked = Some(p);
    }

    /// Where the run stopped, if it did.
    pub(super) fn take(&mut self) -> Option<Parked> {
        self.parked.take()
    }
}
