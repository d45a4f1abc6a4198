//! Publishing through the API: validate, record (group-committed), hand the
//! events to the delivery engine, wake it, and queue the integration runs
//! the events trigger.

use serde_json::Value;
use tokio::sync::Notify;

use super::{validate, EventTypeCache, Published, Publisher, ValidEvent};

/// Takes events as soon as they are recorded, so the delivery engine need
/// not read them back. Implemented by the engine's cache; a trait, so that
/// publishing does not depend on delivery (delivery depends on publishing).
pub trait Handoff: Send + Sync {
    fn put(&self, id: String, event_type: String, payload: &str, traceparent: Option<&str>);
}
use crate::config::MAX_BATCH;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// What a publish needs. `trigger` queues integration runs for
/// `(type, payload)` pairs; `None` when the caller may not trigger them.
pub struct Intake<'a> {
    /// The organization publishing: only its webhooks receive the events.
    pub organization: &'a str,
    pub db: &'a Db,
    pub types: &'a EventTypeCache,
    pub publisher: &'a Publisher,
    pub metrics: &'a Metrics,
    /// Where just-published events go (the engine's cache).
    pub events: &'a dyn Handoff,
    /// Wakes the dispatcher.
    pub notify: &'a Notify,
}

impl Intake<'_> {
    /// Publishes one event (`body`), once per idempotency key.
    pub async fn publish_one<T>(
        &self,
        body: Value,
        key: Option<String>,
        trigger: Option<T>,
    ) -> Result<Published>
    where
        T: AsyncFn(&[(&str, &str)]) -> Result<usize>,
    {
        let ev = validate(body, "", self.organization, self.types, self.db).await?;
        Ok(self.record(vec![ev], key, trigger).await?.remove(0))
    }

    /// Publishes `{"events": [...]}`: 1 to [`MAX_BATCH`] events, all or none.
    pub async fn publish_batch<T>(&self, body: Value, trigger: Option<T>) -> Result<Vec<Published>>
    where
        T: AsyncFn(&[(&str, &str)]) -> Result<usize>,
    {
        let shape = || {
            Error::field(
                "events",
                "the body must be {\"events\": [ ... ]} and nothing else",
            )
        };
        let list = match body {
            Value::Object(mut o) => match (o.remove("events"), o.is_empty()) {
                (Some(Value::Array(a)), true) => a,
                _ => return Err(shape()),
            },
            _ => return Err(shape()),
        };
        if list.is_empty() || list.len() > MAX_BATCH {
            return Err(Error::field(
                "events",
                format!("a batch holds 1 to {MAX_BATCH} events, not {}", list.len()),
            ));
        }
        let mut valid = Vec::with_capacity(list.len());
        for (i, v) in list.into_iter().enumerate() {
            valid.push(
                validate(
                    v,
                    &format!("events[{i}]."),
                    self.organization,
                    self.types,
                    self.db,
                )
                .await?,
            );
        }
        self.record(valid, None, trigger).await
    }

    /// Writes the events, retrying once when a concurrent publish with the
    /// same idempotency key won the race (the retry then finds and returns it).
    async fn record<T>(
        &self,
        mut events: Vec<ValidEvent>,
        key: Option<String>,
        trigger: Option<T>,
    ) -> Result<Vec<Published>>
    where
        T: AsyncFn(&[(&str, &str)]) -> Result<usize>,
    {
        // Before anything is written: a rate-limited publish leaves nothing.
        self.publisher.rate.admit(self.organization, events.len())?;
        // The request's trace, which each delivery attempt will continue.
        if let Some(cx) = crate::telemetry::current() {
            for e in &mut events {
                e.traceparent = Some(cx.clone());
            }
        }
        let mut res = self
            .publisher
            .publish(self.organization.to_string(), events.clone(), key.clone())
            .await;
        if key.is_some()
            && matches!(
                res,
                Err(Error::Conflict {
                    code: crate::error::ErrorCode::Conflict,
                    ..
                })
            )
        {
            res = self
                .publisher
                .publish(self.organization.to_string(), events.clone(), key)
                .await;
        }
        let published = res?;
        // Hand the parsed events to the engine before waking it.
        let mut fresh = false;
        for (p, e) in published.iter().zip(&events) {
            if !p.replayed {
                let label = self.types.metric_label(&e.event_type);
                self.metrics.event_accepted(label, 1);
                if p.filtered > 0 {
                    self.metrics.event_filtered(label, p.filtered as u64);
                }
            }
            if p.deliveries > 0 && !p.replayed {
                self.events.put(
                    p.id.clone(),
                    e.event_type.clone(),
                    &e.payload,
                    e.traceparent.as_deref(),
                );
                fresh = true;
            }
        }
        if fresh {
            self.notify.notify_one();
        }
        let Some(trigger) = trigger else {
            return Ok(published);
        };
        // Integrations these events trigger (after the commit: the events are safe).
        let texts: Vec<(&str, &str)> = published
            .iter()
            .zip(&events)
            .filter(|(p, _)| !p.replayed)
            .map(|(_, e)| (e.event_type.as_str(), e.payload.as_str()))
            .collect();
        if let Err(e) = trigger(&texts).await {
            tracing::warn!(error = %e, "queueing triggered integration runs failed");
        }
        Ok(published)
    }
}
