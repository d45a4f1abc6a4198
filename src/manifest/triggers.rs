//! Event triggers: an integration listing an event type in `triggers` runs
//! for the user whose email the event's entity carries. A leaf below the
//! run queue: it writes queued run rows and knows nothing of how they run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::db::integrations::Integration;
use crate::db::runs::{Run, RunKind, TriggeredBy};
use crate::db::users::User;
use crate::db::Db;
use crate::error::Result;

/// Event type → integrations it triggers, with their form.
pub type TriggerIndex = HashMap<String, Vec<(String, Value)>>;

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
                    idx.entry(et.to_string())
                        .or_default()
                        .push((i.id.clone(), form));
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

/// Queues, in the caller's transaction, the runs `events` trigger: a
/// change and the runs it causes commit together.
pub fn queue_in(
    c: &mut crate::db::DbConn,
    index: &TriggerIndex,
    events: &[(String, Value)],
) -> Result<usize> {
    let raw: Vec<(&str, Option<&Value>, &str)> = events
        .iter()
        .map(|(t, p)| (t.as_str(), Some(p), ""))
        .collect();
    queue_wanted(c, wanted_runs(index, &raw))
}

/// Queues the runs that published events (type, payload text) trigger, in
/// their own transaction, after the events committed. Payloads are parsed
/// only when their type triggers something. How many were queued.
pub async fn queue_texts(db: &Db, index: &TriggerIndex, events: &[(&str, &str)]) -> Result<usize> {
    let raw: Vec<(&str, Option<&Value>, &str)> =
        events.iter().map(|(t, p)| (*t, None, *p)).collect();
    let wanted = wanted_runs(index, &raw);
    if wanted.is_empty() {
        return Ok(0);
    }
    db.write(move |c| queue_wanted(c, wanted)).await
}

/// The runs `events` ask for: (integration, form, the entity's email).
fn wanted_runs(
    index: &TriggerIndex,
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
        for (integration_id, form) in targets {
            wanted.push((integration_id.clone(), form.clone(), email.to_string()));
        }
    }
    wanted
}

/// Inserts the wanted runs for users that exist; how many.
fn queue_wanted(c: &mut crate::db::DbConn, wanted: Vec<(String, Value, String)>) -> Result<usize> {
    let mut n = 0;
    for (integration_id, form, email) in wanted {
        if let Some(u) = User::find_by_email(c, &email)? {
            let form = form.as_object().cloned().unwrap_or_default();
            Run::queued(
                &integration_id,
                Some(u.id),
                RunKind::Execute,
                &form,
                TriggeredBy::Event,
            )
            .insert(c)?;
            n += 1;
        }
    }
    Ok(n)
}
