//! The state every HTTP handler shares: the services and caches it calls.
//! Built once by `app::start` (the composition root); handlers depend on
//! this, never on `app`.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::Config;
use crate::db::Db;
use crate::delivery::cache::EventCache;
use crate::manifest::integrations::Integrations;
use crate::manifest::people::People;
use crate::manifest::queue::RunQueue;
use crate::metrics::Metrics;
use crate::outbound::HttpClients;
use crate::publish::{EventTypeCache, Publisher};
use crate::vault::Vault;

/// State shared by every handler.
pub struct AppState {
    pub db: Db,
    pub config: Config,
    pub clients: HttpClients,
    /// Wakes the dispatcher when new deliveries are written.
    pub notify: Arc<Notify>,
    pub types: EventTypeCache,
    /// How long a webhook may fail before it is disabled.
    pub disable_after: chrono::Duration,
    /// Just-published events, handed to the delivery engine.
    pub events: EventCache,
    /// Group commit of publishes.
    pub publisher: Publisher,
    /// Seals and opens secrets at rest.
    pub vault: Arc<Vault>,
    pub metrics: Arc<Metrics>,
    /// The run queue: runs submitted, performed, read; event triggers.
    pub runs: Arc<RunQueue>,
    /// Integrations, their config, forms, OAuth and access checks.
    pub integrations: Integrations,
    /// The people integrations run for.
    pub people: People,
    /// Tokens recently looked up (see `tokens::TRUSTED_FOR`).
    pub tokens: crate::tokens::TokenCache,
    /// This process's delivery lanes (their adaptive limits), for the API.
    pub lanes: crate::delivery::lanes::Lanes,
}
