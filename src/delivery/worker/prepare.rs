//! From claims to jobs: loads the claimed events and webhooks, settles what
//! cannot be sent, and groups the rest into requests.

use std::collections::HashMap;
use std::sync::Arc;

use super::Job;
use crate::db::deliveries::{Claimed, Delivery, DeliveryStatus, Settlement};
use crate::db::events::Event;
use crate::db::webhooks::Webhook;
use crate::db::{time, Db};
use crate::delivery::cache::{CachedEvent, EventCache};
use crate::delivery::payload::{signer_for, EventDoc};
use crate::delivery::recorder::{Record, Recorder};
use crate::delivery::send::Target;
use crate::outbound::HttpClients;
use crate::signing::Signer;
use crate::vault::Vault;

/// A claimed webhook, its signer (or why its secret cannot be opened) and
/// where its requests go.
type LoadedHook = (
    Arc<Webhook>,
    Result<Option<Arc<Signer>>, String>,
    Arc<Target>,
);

/// Loads the events and webhooks of a claim and groups them into requests.
pub(super) async fn prepare(
    db: &Db,
    claimed: Vec<Claimed>,
    recorder: &Recorder,
    cache: &EventCache,
    vault: &Vault,
    clients: &HttpClients,
    max_batch_bytes: usize,
) -> crate::error::Result<Vec<Job>> {
    let mut docs: HashMap<String, CachedEvent> = HashMap::with_capacity(claimed.len());
    let mut event_ids: Vec<String> = Vec::new();
    for c in &claimed {
        if docs.contains_key(&c.event_id) {
            continue;
        }
        match cache.get(&c.event_id) {
            Some(hit) => {
                docs.insert(c.event_id.clone(), hit);
            }
            None => event_ids.push(c.event_id.clone()),
        }
    }
    event_ids.sort();
    event_ids.dedup();
    let mut webhook_ids: Vec<String> = claimed.iter().map(|c| c.webhook_id.clone()).collect();
    webhook_ids.sort();
    webhook_ids.dedup();
    let (events, hooks) = db
        .read(move |c| {
            let events = if event_ids.is_empty() {
                Vec::new()
            } else {
                Event::find_many(c, &event_ids)?
            };
            Ok((events, Webhook::find_many(c, &webhook_ids)?))
        })
        .await?;
    for e in events {
        match EventDoc::from_payload(&e.payload) {
            Ok(mut doc) => {
                doc.traceparent = e.traceparent;
                docs.insert(e.id, (Arc::new(doc), e.event_type));
            }
            Err(err) => {
                tracing::error!(event_id = %e.id, error = %err, "stored event cannot be rendered")
            }
        }
    }
    let now = time::now();
    let hooks: HashMap<String, LoadedHook> = hooks
        .into_iter()
        .map(|w| {
            let signer = signer_for(&w, vault, now).map(|s| s.map(Arc::new));
            let target = Arc::new(Target::new(clients, &w.url, w.verify_ssl));
            (w.id.clone(), (Arc::new(w), signer, target))
        })
        .collect();

    let mut per_hook: HashMap<String, Vec<Claimed>> = HashMap::new();
    let mut unusable = Vec::new();
    let mut unsigned: Vec<String> = Vec::new();
    let mut unsigned_why = String::new();
    for c in claimed {
        match hooks.get(&c.webhook_id) {
            Some((w, ..)) if !w.active => unusable.push(dead(&c, "webhook is disabled")),
            Some((w, Err(e), _)) => {
                // Not this delivery's fault (e.g. this process lacks the
                // master key its secret is sealed with): back to the queue.
                tracing::error!(webhook_id = %w.id, error = %e, "cannot sign deliveries");
                unsigned_why.clone_from(e);
                unsigned.push(c.id);
            }
            Some(_) if docs.contains_key(&c.event_id) => {
                per_hook.entry(c.webhook_id.clone()).or_default().push(c)
            }
            Some(_) => unusable.push(dead(&c, "event cannot be rendered")),
            // Deleted meanwhile: its deliveries were deleted with it.
            None => {}
        }
    }
    if !unsigned.is_empty() {
        let retry_at = now + chrono::Duration::seconds(30);
        db.write(move |c| {
            Ok(Delivery::unclaim(
                c,
                &unsigned,
                retry_at,
                &unsigned_why,
                time::now(),
            )?)
        })
        .await?;
    }
    if !unusable.is_empty() {
        recorder.submit(Record::Settle(unusable));
    }
    let mut jobs = Vec::new();
    for (hook_id, list) in per_hook {
        let (webhook, signer, target) = match &hooks[&hook_id] {
            (w, Ok(signer), target) => (w.clone(), signer.clone(), target.clone()),
            (_, Err(_), _) => unreachable!("unsignable webhooks were settled above"),
        };
        let per_request = webhook.max_events_per_request.max(1) as usize;
        let size = |c: &Claimed| docs[&c.event_id].0.text_len;
        for deliveries in group(list, per_request, max_batch_bytes, size) {
            let docs_for: Vec<Arc<EventDoc>> = deliveries
                .iter()
                .map(|d| docs[&d.event_id].0.clone())
                .collect();
            let event_type = docs[&deliveries[0].event_id].1.clone();
            jobs.push(Job {
                webhook: webhook.clone(),
                target: target.clone(),
                signer: signer.clone(),
                deliveries,
                docs: docs_for,
                event_type,
            });
        }
    }
    Ok(jobs)
}

/// Splits one webhook's deliveries into requests, in order: at most
/// `per_request` events and `max_bytes` of event text each, but always at
/// least one event (an oversized one travels alone).
fn group<T>(
    list: Vec<T>,
    per_request: usize,
    max_bytes: usize,
    size: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut bytes = 0;
    for item in list {
        let n = size(&item);
        match out.last_mut() {
            Some(cur) if cur.len() < per_request && bytes + n <= max_bytes => {
                bytes += n;
                cur.push(item);
            }
            _ => {
                bytes = n;
                out.push(vec![item]);
            }
        }
    }
    out
}

fn dead(c: &Claimed, why: &str) -> Settlement {
    Settlement {
        delivery_id: c.id.clone(),
        status: DeliveryStatus::Dead,
        next_attempt_at: time::now(),
        status_code: None,
        error: Some(why.to_string()),
        lease: Some(c.lease),
        organization_id: c.organization_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn groups_by_count() {
        let g = group(vec![1, 1, 1, 1, 1], 2, 1000, |n| *n);
        assert_eq!(g, vec![vec![1, 1], vec![1, 1], vec![1]]);
    }

    #[test]
    fn groups_by_bytes() {
        // 256 events of 400 KiB under a 1 MiB bound: two per request.
        let kib = 1024;
        let g = group(vec![400 * kib; 256], 256, 1024 * kib, |n| *n);
        assert_eq!(g.len(), 128);
        assert!(g.iter().all(|r| r.len() == 2));
    }

    #[test]
    fn oversized_event_travels_alone() {
        let g = group(vec![10, 5000, 10, 10], 10, 100, |n| *n);
        assert_eq!(g, vec![vec![10], vec![5000], vec![10, 10]]);
    }
}
