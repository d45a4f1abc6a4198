//! What a run starts from: the integration's config and OAuth token
//! (opened from the vault), the user as templates see them, the form.

use std::collections::HashMap;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::run::{RunInput, UserContext};
use crate::db::integrations::{ConfigValue, Integration};
use crate::db::users::User;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::vault::{integration_config_label, integration_oauth_label, Vault};

/// Loads what a run starts from; the run queue and the integrations
/// service (OAuth, form options) share one.
#[derive(Clone)]
pub struct Inputs {
    db: Db,
    vault: Arc<Vault>,
    /// Public base URL (for `redirect_url`).
    public_url: String,
}

impl Inputs {
    pub fn new(db: Db, vault: Arc<Vault>, public_url: String) -> Inputs {
        Inputs {
            db,
            vault,
            public_url,
        }
    }

    /// Where OAuth providers send the admin back.
    pub fn redirect_url(&self) -> String {
        format!("{}/oauth/callback", self.public_url.trim_end_matches('/'))
    }

    /// The run's inputs: opened config and token, the user as templates
    /// see them, the form.
    pub async fn load(
        &self,
        integration: &Integration,
        user: Option<&User>,
        form: Map<String, Value>,
    ) -> Result<RunInput> {
        let id = integration.id.clone();
        // Managers and buddies are people of the integration's organization.
        let org = integration.organization_id.clone();
        let manager_ids: Vec<String> = user
            .map(|u| {
                [u.manager_id.clone(), u.buddy_id.clone()]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .unwrap_or_default();
        let (values, people) = self
            .db
            .read(move |c| {
                let values = ConfigValue::for_integration(c, &id)?;
                let mut people = HashMap::new();
                for pid in manager_ids {
                    if let Some(p) = User::find(c, &org, &pid)? {
                        people.insert(pid, p);
                    }
                }
                Ok((values, people))
            })
            .await?;
        let mut config = Map::new();
        for v in values {
            let clear = self
                .vault
                .open(&v.value, &integration_config_label(&integration.id, &v.key))
                .map_err(Error::internal)?;
            config.insert(v.key, Value::String(clear));
        }
        let oauth = match &integration.oauth_token {
            Some(sealed) => Some(
                serde_json::from_str(
                    &self
                        .vault
                        .open(sealed, &integration_oauth_label(&integration.id))
                        .map_err(Error::internal)?,
                )
                .map_err(Error::internal)?,
            ),
            None => None,
        };
        Ok(RunInput {
            organization: integration.organization_id.clone(),
            manifest: integration.manifest_value(),
            user: user.map(|u| user_context(u, &people)),
            config,
            oauth,
            form,
            redirect_url: self.redirect_url(),
            resume: None,
        })
    }
}

/// The user as templates see them (§1.1 built-ins).
pub fn user_context(u: &User, people: &HashMap<String, User>) -> UserContext {
    let person = |id: &Option<String>| id.as_ref().and_then(|i| people.get(i));
    let full = |p: Option<&User>| {
        p.map(|p| format!("{} {}", p.first_name, p.last_name))
            .unwrap_or_default()
    };
    let email = |p: Option<&User>| p.map(|p| p.email.clone()).unwrap_or_default();
    let manager = person(&u.manager_id);
    let buddy = person(&u.buddy_id);
    let builtins = json!({
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "position": u.position,
        "department": u.department,
        "start": u.start_date.map(|d| d.to_string()).unwrap_or_default(),
        "manager": full(manager),
        "manager_email": email(manager),
        "buddy": full(buddy),
        "buddy_email": email(buddy),
        "phone": u.phone,
    });
    UserContext {
        builtins: builtins.as_object().cloned().unwrap_or_default(),
        extra_fields: serde_json::from_str(&u.extra_fields).unwrap_or_default(),
        phone: u.phone.clone(),
    }
}
