//! Event triggers: an integration listing an event type in `triggers` runs
//! for the user whose email the event's entity carries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::jobs::Integrations;
use crate::db::integrations::Integration;
use crate::db::users::User;
use crate::error::ApiResult;

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

impl Integrations {
    /// Queues the runs that events published through the API trigger: an
    /// integration listing an event type in `triggers` runs for the user
    /// whose email the event's entity carries. Runs after the events are
    /// committed (changes hookrelay makes itself use [`Self::queue_in`],
    /// inside their transaction). Payloads are text, parsed only when their
    /// type triggers something.
    pub async fn trigger_texts(&self, events: &[(&str, &str)]) -> ApiResult<usize> {
        let raw: Vec<(&str, Option<&Value>, &str)> =
            events.iter().map(|(t, p)| (*t, None, *p)).collect();
        self.trigger_any(&raw).await
    }

    async fn trigger_any(&self, events: &[(&str, Option<&Value>, &str)]) -> ApiResult<usize> {
        let index = self.trigger_snapshot().await?;
        let wanted = wanted_runs(&index, events);
        if wanted.is_empty() {
            return Ok(0);
        }
        let n = self.db.write(move |c| queue_wanted(c, wanted)).await?;
        if n > 0 {
            self.wake.notify_one();
        }
        Ok(n)
    }

    /// Queues, in the caller's transaction, the runs `events` trigger: a
    /// change and the runs it causes commit together.
    pub fn queue_in(
        c: &mut crate::db::DbConn,
        index: &TriggerIndex,
        events: &[(String, Value)],
    ) -> ApiResult<usize> {
        let raw: Vec<(&str, Option<&Value>, &str)> = events
            .iter()
            .map(|(t, p)| (t.as_str(), Some(p), ""))
            .collect();
        queue_wanted(c, wanted_runs(index, &raw))
    }

    /// Forgets the cached trigger index (an integration changed).
    pub fn invalidate_triggers(&self) {
        self.triggers.set(None);
    }

    /// The current trigger index (cached; other processes' changes show
    /// within 5 seconds).
    pub async fn trigger_snapshot(&self) -> ApiResult<Arc<TriggerIndex>> {
        if let Some(idx) = self.triggers.fresh() {
            return Ok(idx);
        }
        let all = self.db.read(|c| Ok(Integration::all(c)?)).await?;
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
        self.triggers.set(Some(idx.clone()));
        Ok(idx)
    }
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
fn queue_wanted(
    c: &mut crate::db::DbConn,
    wanted: Vec<(String, Value, String)>,
) -> ApiResult<usize> {
    let mut n = 0;
    for (integration_id, form, email) in wanted {
        if let Some(u) = User::find_by_email(c, &email)? {
            let form = form.as_object().cloned().unwrap_or_default();
            Integrations::new_run(&integration_id, Some(u.id), "execute", &form, "event")
                .insert(c)?;
            n += 1;
        }
    }
    Ok(n)
}
