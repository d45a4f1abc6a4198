//! Recently published events, parsed and ready to render.
//!
//! Most deliveries are claimed moments after their event was published by
//! this same process; keeping the parsed event saves reading and parsing it
//! again for every claim. Misses (other processes, restarts, old retries)
//! fall back to the database.

use std::sync::Arc;

use super::payload::EventDoc;

/// Events kept at most.
const CAPACITY: usize = 50_000;

/// A parsed event and its type.
pub type CachedEvent = (Arc<EventDoc>, String);

/// Shared between the publishing API and the dispatcher.
#[derive(Clone)]
pub struct EventCache {
    inner: Arc<quick_cache::sync::Cache<String, CachedEvent>>,
}

impl Default for EventCache {
    fn default() -> Self {
        EventCache {
            inner: Arc::new(quick_cache::sync::Cache::new(CAPACITY)),
        }
    }
}

impl EventCache {
    /// Remembers a just-recorded event.
    pub fn put(&self, id: String, event_type: String, payload: &str) {
        if let Ok(doc) = EventDoc::from_payload(payload) {
            self.inner.insert(id, (Arc::new(doc), event_type));
        }
    }

    /// A remembered event, if still held.
    pub fn get(&self, id: &str) -> Option<CachedEvent> {
        self.inner.get(id)
    }
}
