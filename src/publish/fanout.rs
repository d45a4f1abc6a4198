//! Fan-out: which active web hooks get an event — their organization's,
//! subscribed to its type, and selected by their content filter.

use std::sync::Arc;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::{filter, ValidEvent};
use crate::db::webhooks::Webhook;
use crate::db::DbConn;
use crate::error::Result;

/// Whether a webhook's subscription list covers `event_type`.
/// Entries are exact names, `*`, or prefixes ending in `.*` (`profile.*`).
pub fn subscribes(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == event_type
            || p.strip_suffix(".*").is_some_and(|prefix| {
                event_type.len() > prefix.len()
                    && event_type.starts_with(prefix)
                    && event_type.as_bytes()[prefix.len()] == b'.'
            })
    })
}

/// An active webhook as fan-out sees it.
pub struct Subscriber {
    pub webhook: Webhook,
    /// Its subscription patterns, parsed.
    pub patterns: Vec<String>,
    /// Its content filter, compiled (`None`: every subscribed event).
    pub filter: Option<Arc<JsonPath>>,
}

/// Whether a web hook gets an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Yes,
    /// Not its organization's, or not a type it subscribes to.
    No,
    /// Subscribed, but its content filter passed over the event.
    FilteredOut,
}

impl Subscriber {
    /// Whether this web hook gets `ev`, published in `org`: its
    /// organization's, subscribed to its type, and selected by its filter.
    /// `document` is the event as filters read it, parsed on first need
    /// (once per event, and only if some candidate has a filter).
    pub(super) fn wants(
        &self,
        org: &str,
        ev: &ValidEvent,
        document: &mut Option<Option<Value>>,
    ) -> Wanted {
        if self.webhook.organization_id != org || !subscribes(&self.patterns, &ev.event_type) {
            return Wanted::No;
        }
        let Some(query) = &self.filter else {
            return Wanted::Yes;
        };
        // Never unparsable (validated on publish); if it were, deliver.
        let selected = match document.get_or_insert_with(|| filter::document(&ev.payload)) {
            Some(doc) => filter::selects(query, doc),
            None => true,
        };
        if selected {
            Wanted::Yes
        } else {
            Wanted::FilteredOut
        }
    }
}

/// The fan-out candidates.
pub type Subscribers = Vec<Subscriber>;

/// Loads the fan-out candidates of the publishing organizations `orgs`;
/// filters come compiled from [`filter::COMPILED`], so each is compiled
/// once, not once per publish.
pub fn subscribers(conn: &mut DbConn, orgs: &[&str]) -> Result<Subscribers> {
    Ok(Webhook::active_in(conn, orgs)?
        .into_iter()
        .map(|webhook| Subscriber {
            patterns: serde_json::from_str(&webhook.event_types).unwrap_or_default(),
            filter: webhook
                .filter
                .as_deref()
                .and_then(|f| filter::COMPILED.get(&webhook.id, f)),
            webhook,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::subscribes;

    #[test]
    fn patterns() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(subscribes(&p(&["*"]), "job.parsing.success"));
        assert!(subscribes(&p(&["profile.*"]), "profile.parsing.success"));
        assert!(subscribes(
            &p(&["profile.parsing.*"]),
            "profile.parsing.error"
        ));
        assert!(!subscribes(&p(&["profile.*"]), "profiles.x"));
        assert!(!subscribes(&p(&["profile.*"]), "job.parsing.success"));
        assert!(subscribes(&p(&["user.updated"]), "user.updated"));
        assert!(!subscribes(&p(&["user.updated"]), "user.updated.more"));
    }
}
