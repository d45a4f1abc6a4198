//! Integration manifests in the ChiefOnboarding format: validation,
//! template rendering, the runner and user sync. See docs/manifests.md for
//! every key and where hookrelay differs from the reference runtime.

pub mod form;
pub mod jobs;
pub mod mask;
pub mod notify;
pub mod outbound;
pub mod pkce;
pub mod render;
pub mod run;
pub mod sync;
pub mod triggers;
pub mod validate;

use serde_json::Value;

/// What a manifest does, chosen by the integration (not by its JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Provisioning: `execute` (and `exists`, `revoke`) for a user.
    Webhook,
    /// Imports or updates users from an HR system.
    SyncUsers,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "webhook" => Some(Kind::Webhook),
            "sync_users" => Some(Kind::SyncUsers),
            _ => None,
        }
    }

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
