//! Recently published events, parsed and ready to render.
//!
//! Most deliveries are claimed moments after their event was published by
//! this same process; keeping the parsed event saves reading and parsing it
//! again for every claim. Misses (other processes, restarts, old retries)
//! fall back to the database.

use std::sync::Arc;

use super::payload::EventDoc;

/// Memory the cache may hold, by the estimate below. At ~400-byte events
/// that is ~15,000 events, many seconds of publishing at full speed; a few
/// large events cannot push it past the budget.
const BUDGET_BYTES: u64 = 24 * 1024 * 1024;

/// A parsed event and its type.
pub type CachedEvent = (Arc<EventDoc>, String);

/// Estimated memory of an entry: the parsed document is about twice its
/// JSON text, and its rendered bodies (form or JSON) about as much again.
#[derive(Clone)]
struct EventWeight;

impl quick_cache::Weighter<String, CachedEvent> for EventWeight {
    fn weight(&self, id: &String, (doc, event_type): &CachedEvent) -> u64 {
        (id.len() + event_type.len() + 4 * doc.text_len) as u64
    }
}

/// Shared between the publishing API and the dispatcher.
#[derive(Clone)]
pub struct EventCache {
    inner: Arc<quick_cache::sync::Cache<String, CachedEvent, EventWeight>>,
}

impl Default for EventCache {
    fn default() -> Self {
        EventCache {
            inner: Arc::new(quick_cache::sync::Cache::with_weighter(
                10_000,
                BUDGET_BYTES,
                EventWeight,
            )),
        }
    }
}

impl crate::publish::Handoff for EventCache {
    /// Remembers a just-recorded event.
    fn put(&self, id: String, event_type: String, payload: &str, traceparent: Option<&str>) {
        if let Ok(mut doc) = EventDoc::from_payload(payload) {
            doc.traceparent = traceparent.map(str::to_string);
            self.inner.insert(id, (Arc::new(doc), event_type));
        }
    }
}

impl EventCache {
    /// A remembered event, if still held.
    pub fn get(&self, id: &str) -> Option<CachedEvent> {
        self.inner.get(id)
    }
}
