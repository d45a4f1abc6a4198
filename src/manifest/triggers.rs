//! Event triggers: an integration listing an event type in `triggers` runs
//! for the user whose email the event's entity carries, when the event is
//! published in the integration's own organization (and the user is one of
//! its people). A leaf below the
//! run queue: it writes queued run rows and knows nothing of how they run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::Limit;
use crate::db::integrations::Integration;
use crate::db::runs::{Run, RunKind, TriggeredBy};
use crate::db::users::User;
use crate::db::Db;
use crate::error::Result;

/// One integration a trigger runs: its organization, its id, the form.
#[derive(Debug, Clone)]
pub struct TriggerTarget {
    pub organization: String,
    pub integration_id: String,
    pub form: Value,
}

/// Event type → integrations it triggers (of every organization; matching
/// keeps the event's own).
pub type TriggerIndex = HashMap<String, Vec<TriggerTarget>>;

/// The trigger index, cached for a few seconds: other processes change
/// integrations too, so it is reloaded now and then.
#[derive(Default)]
pub struct TriggerCache(Mutex<Option<(Instant, Arc<TriggerIndex>)>>);

impl TriggerCache {
    fn fresh(&self) -> Option<Arc<TriggerIndex>> {
        match self.0.lock().expect("trigger cache lock").as_ref() {
            Some((at, idx)) if at.elapsed() < Duration::from_secs(5) => Some(idx.clone()),
            _ => None,
        }
    }

    fn set(&self, idx: Option<Arc<TriggerIndex>>) {
        *self.0.lock().expect("trigger cache lock") = idx.map(|i| (Instant::now(), i));
    }
}

impl TriggerCache {
    /// The current trigger index (cached; other processes' changes show
    /// within 5 seconds).
    pub async fn snapshot(&self, db: &Db) -> Result<Arc<TriggerIndex>> {
        if let Some(idx) = self.fresh() {
            return Ok(idx);
        }
        let all = db.read(|c| Ok(Integration::all(c)?)).await?;
        let mut idx: TriggerIndex = HashMap::new();
        for i in all {
            let list: Vec<Value> = serde_json::from_str(&i.triggers).unwrap_or_default();
            for t in list {
                if let Some(et) = t.get("event_type").and_then(Value::as_str) {
                    let form = t.get("form").cloned().unwrap_or(json!({}));
                    idx.entry(et.to_string()).or_default().push(TriggerTarget {
                        organization: i.organization_id.clone(),
                        integration_id: i.id.clone(),
                        form,
                    });
                }
            }
        }
        let idx = Arc::new(idx);
        self.set(Some(idx.clone()));
        Ok(idx)
    }

    /// Forgets the cached index (an integration changed).
    pub fn invalidate(&self) {
        self.set(None);
    }
}

/// Queues, in the caller's transaction, the runs `events` (published in
/// organization `org`) trigger: a change and the runs it causes commit
/// together.
/// Runs beyond `limit` (`HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG`) are recorded
/// `failed` with the reason instead.
pub fn queue_in(
    c: &mut crate::db::DbConn,
    index: &TriggerIndex,
    limit: Option<Limit>,
    org: &str,
    events: &[(String, Value)],
) -> Result<usize> {
    let raw: Vec<(&str, Option<&Value>, &str)> = events
        .iter()
        .map(|(t, p)| (t.as_str(), Some(p), ""))
        .collect();
    queue_wanted(c, limit, org, wanted_runs(index, org, &raw))
}

/// Queues the runs that events published in `org` (type, payload text)
/// trigger, in their own transaction, after the events committed. Payloads
/// are parsed only when their type triggers something. How many were
/// queued.
pub async fn queue_texts(
    db: &Db,
    index: &TriggerIndex,
    limit: Option<Limit>,
    org: &str,
    events: &[(&str, &str)],
) -> Result<usize> {
    let raw: Vec<(&str, Option<&Value>, &str)> =
        events.iter().map(|(t, p)| (*t, None, *p)).collect();
    let wanted = wanted_runs(index, org, &raw);
    if wanted.is_empty() {
        return Ok(0);
    }
    let org = org.to_string();
    db.write(move |c| queue_wanted(c, limit, &org, wanted))
        .await
}

/// The runs `events` of organization `org` ask for: (integration, form,
/// the entity's email). Only `org`'s integrations are candidates.
fn wanted_runs(
    index: &TriggerIndex,
    org: &str,
    events: &[(&str, Option<&Value>, &str)],
) -> Vec<(String, Value, String)> {
    let mut wanted = Vec::new();
    if index.is_empty() {
        return wanted;
    }
    for (event_type, parsed, text) in events {
        let Some(targets) = index.get(*event_type) else {
            continue;
        };
        if !targets.iter().any(|t| t.organization == org) {
            continue;
        }
        let owned;
        let payload = match parsed {
            Some(p) => *p,
            None => {
                owned = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
                &owned
            }
        };
        let entity = event_type.split('.').next().unwrap_or_default();
        let Some(email) = payload
            .get(entity)
            .and_then(|e| e.get("email"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        for t in targets.iter().filter(|t| t.organization == org) {
            wanted.push((t.integration_id.clone(), t.form.clone(), email.to_string()));
        }
    }
    wanted
}

/// Inserts the wanted runs for users of `org` that exist; how many were
/// queued (past `limit`, they are recorded `failed`).
fn queue_wanted(
    c: &mut crate::db::DbConn,
    limit: Option<Limit>,
    org: &str,
    wanted: Vec<(String, Value, String)>,
) -> Result<usize> {
    let mut n = 0;
    for (integration_id, form, email) in wanted {
        if let Some(u) = User::find_by_email(c, org, &email)? {
            let form = form.as_object().cloned().unwrap_or_default();
            let run = Run::queued(
                org,
                &integration_id,
                Some(u.id),
                RunKind::Execute,
                &form,
                TriggeredBy::Event,
            );
            if super::queue::quota::queue_or_skip(c, limit, run)? {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Queueing, inside a transaction, the runs of the events it records: the
/// trigger index taken before it and the waiting-runs quota (see
/// `RunQueue::triggers`).
pub struct Triggers {
    index: Arc<TriggerIndex>,
    limit: Option<Limit>,
}

impl Triggers {
    pub(super) fn new(index: Arc<TriggerIndex>, limit: Option<Limit>) -> Triggers {
        Triggers { index, limit }
    }

    /// [`queue_in`] with this index and quota.
    pub fn queue_in(
        &self,
        c: &mut crate::db::DbConn,
        org: &str,
        events: &[(String, Value)],
    ) -> Result<usize> {
        queue_in(c, &self.index, self.limit, org, events)
    }
}
