//! Integration manifests in the ChiefOnboarding format: validation,
//! template rendering, the runner and user sync. See docs/manifests.md for
//! every key and where hookrelay differs from the reference runtime.
//!
//! Layers, top to bottom: the services handlers call (`integrations`,
//! `people`, and the run queue `queue`, which the other two and the run
//! worker use), what they share (`inputs`, `triggers`, `access`), the
//! runner itself (`run`), and leaves (`render`, `mask`, `validate`, `form`,
//! `import`, `pkce`, `sync`, `notify`).

pub mod access;
pub mod form;
pub mod import;
pub mod inputs;
pub mod integrations;
pub mod mask;
pub mod notify;
pub mod people;
pub mod pkce;
pub mod queue;
pub mod render;
pub mod run;
pub mod sync;
pub mod triggers;
pub mod validate;

use serde_json::Value;

use crate::db::integrations::Integration;

/// What a manifest does, chosen by the integration (not by its JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Provisioning: `execute` (and `exists`, `revoke`) for a user.
    Webhook,
    /// Imports or updates users from an HR system.
    SyncUsers,
}

impl Kind {
    /// The kind `s` names (`webhook`, `sync_users`).
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "webhook" => Some(Kind::Webhook),
            "sync_users" => Some(Kind::SyncUsers),
            _ => None,
        }
    }

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::SyncUsers => "sync_users",
        }
    }

    /// For tools given a bare file: sync manifests say how records map to users.
    pub fn guess(manifest: &Value) -> Kind {
        if manifest.get("data_structure").is_some() || manifest.get("action").is_some() {
            Kind::SyncUsers
        } else {
            Kind::Webhook
        }
    }
}

impl Integration {
    /// A webhook manifest with a non-empty `exists`.
    pub fn has_exists(&self) -> bool {
        self.kind() == Kind::Webhook
            && self
                .manifest_value()
                .get("exists")
                .and_then(Value::as_object)
                .is_some_and(|o| !o.is_empty())
    }

    /// The manifest as JSON.
    pub fn manifest_value(&self) -> Value {
        serde_json::from_str(&self.manifest).unwrap_or(Value::Null)
    }

    /// The integration's [`Kind`] (webhook when the column says otherwise).
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Webhook)
    }
}
